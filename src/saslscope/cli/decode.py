"""``saslscope decode [BLOB]``: say what a base64 SASL blob is, field by field.

Everything is done by :mod:`saslscope.sasl.pasted` and :mod:`saslscope.sasl.transcript`
(reading what was pasted, strict base64) and :mod:`saslscope.sasl.explain`; this module
only reads input and renders.
"""

from __future__ import annotations

import json
import sys

import click

from saslscope.cli.exitcodes import Exit
from saslscope.cli.respond import SaslCommandError, exit_for
from saslscope.sasl.errors import MalformedMessage, SaslError
from saslscope.sasl.explain import explain, mechanism_family
from saslscope.sasl.explanation import Explanation
from saslscope.sasl.pasted import HiddenData, PastedBlob, decode_pasted
from saslscope.sasl.transcript import read_pasted_session


@click.command(
    epilog="Exit statuses: 0 decoded, 2 usage (unknown --mech), 7 malformed base64 or a blob that "
    "does not fit --mech (with standard input: at least one line was bad; the others are still shown)."
)
@click.argument("blob", required=False)
@click.option("--mech", "-m", "mechanism", help="Mechanism the blob belongs to (default: recognise it by its shape).")
@click.option(
    "--from", "direction", type=click.Choice(["server", "client"]), help="Who sent it: server (challenge) or client."
)
@click.option("--show-secrets", is_flag=True, help="Show passwords and tokens instead of masking them.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per blob (JSON Lines).")
def decode(blob: str | None, mechanism: str | None, direction: str | None, show_secrets: bool, as_json: bool) -> None:
    """Explain a base64 SASL BLOB: a challenge or a response of any mechanism.

    BLOB may be bare base64, a whole "334 ..." line, or an "AUTH MECH <base64>" command.
    Without BLOB, standard input is read line by line, so a whole pasted AUTH exchange is
    explained at once ("AUTH CRAM-MD5", "334 ...", the answer, "235 ..."): the output of
    `saslscope login`, swaks, msmtp --debug or `openssl s_client` (2>&1 too) as it is. In such a
    session, lines outside an AUTH exchange are context and skipped; a step the transcript masks
    is shown as hidden.

    \b
      saslscope decode 'PDA3Nzg3NTMyMDgxMzMwMDAuMTUzNzE1MTM2NEBpazEtMzMxLTI1NjQ5LnZzLnNha3VyYS5uZS5qcD4='
      saslscope decode --json 'AHRpbQB0YW5zdGFhZnRhbnN0YWFm'

    Passwords and tokens are masked unless --show-secrets.
    """
    try:
        if mechanism:
            mechanism_family(mechanism)
    except SaslError as exc:
        raise exit_for(exc) from None
    if blob is not None:
        try:
            items: list[tuple[int | None, PastedBlob | MalformedMessage]] = [(None, decode_pasted(blob))]
        except SaslError as exc:
            raise exit_for(exc) from None
    else:
        if sys.stdin is None or sys.stdin.isatty():
            click.echo("Paste the blob(s), one per line; end with Ctrl-D:", err=True)
        items = list(read_pasted_session(sys.stdin)) if sys.stdin is not None else []
        if not items:
            raise SaslCommandError("nothing to decode: no BLOB argument, and no AUTH exchange or base64 on standard input", Exit.BAD_INPUT)
    failures = 0
    for number, item in items:
        where = f"line {number}: " if number is not None else ""
        try:
            if isinstance(item, HiddenData) and number is not None:
                # a transcript that masks a step (msmtp, saslscope login): context, not bad input
                explanation = Explanation("hidden", str(item))
            elif isinstance(item, MalformedMessage):
                raise item
            else:
                assert item.data is not None
                explanation = explain(
                    item.data, mechanism or item.mechanism, direction or item.direction, answering=item.answering
                )
        except SaslError as exc:
            if number is None:
                raise exit_for(exc) from None
            click.echo(f"Error: {where}{exc}", err=True)
            failures += 1
            continue
        if as_json:
            record = explanation.to_dict(show_secrets=show_secrets)
            if number is not None:
                record["line"] = number
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            if number is not None:
                click.echo(f"line {number}: ", nl=False)
            click.echo("\n".join(explanation.lines(show_secrets=show_secrets)))
    if failures:
        sys.exit(Exit.BAD_INPUT)
