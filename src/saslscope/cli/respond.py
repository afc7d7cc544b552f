"""``saslscope respond MECH [CHALLENGE]``: compute the answer to a server's SASL challenge.

The replacement for ``openssl dgst -hmac`` plus ``echo ... | base64``: the answer alone on
standard output (no trailing-newline trap), the working on standard error with ``--explain``.
"""

from __future__ import annotations

import base64
import sys

import click

from saslscope.cli.exitcodes import Exit
from saslscope.cli.secrets import read_secret, secret_options
from saslscope.sasl.base import ClientCredentials, ClientMechanism
from saslscope.sasl.errors import AuthenticationFailed, SaslError, UnsupportedMechanism
from saslscope.sasl.explain import explain
from saslscope.sasl.explanation import Explanation, printable
from saslscope.sasl.pasted import decode_pasted
from saslscope.sasl.registry import client_mechanism, client_mechanism_class


class SaslCommandError(click.ClickException):
    """One line on standard error and a documented exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        # click's stubs make exit_code a ClassVar; the status here is per error
        self.exit_code = exit_code  # type: ignore[misc]


def exit_for(error: SaslError) -> SaslCommandError:
    """Map a library error to the exit statuses of :class:`Exit`."""
    if isinstance(error, UnsupportedMechanism):
        return SaslCommandError(str(error), Exit.USAGE)
    if isinstance(error, AuthenticationFailed):
        return SaslCommandError(str(error), Exit.AUTH_FAILED)
    return SaslCommandError(str(error), Exit.BAD_INPUT)


def mechanism_class(name: str) -> type[ClientMechanism]:
    try:
        return client_mechanism_class(name)
    except UnsupportedMechanism as exc:
        raise exit_for(exc) from None


def _read_challenge_line(uses_stdin_for_secret: bool) -> str:
    if uses_stdin_for_secret:
        raise SaslCommandError(
            "the challenge and --password-file - cannot both come from standard input; give CHALLENGE as an argument",
            Exit.USAGE,
        )
    if sys.stdin is None:
        raise SaslCommandError("no CHALLENGE argument and no standard input to read it from", Exit.USAGE)
    if sys.stdin.isatty():
        click.echo("Paste the server's challenge (the whole 334 line is fine):", err=True)
    line = sys.stdin.readline()
    if not line.strip():
        raise SaslCommandError("no challenge: the CHALLENGE argument is missing and standard input is empty", Exit.BAD_INPUT)
    return line


def _echo_explanation(label: str, data: bytes, explanation: Explanation | str, show_secrets: bool) -> None:
    secret = isinstance(explanation, Explanation) and explanation.has_secrets and not show_secrets
    click.echo(f"{label} (decoded): {'********' if secret else printable(data)}", err=True)
    lines = explanation.lines(show_secrets=show_secrets) if isinstance(explanation, Explanation) else [explanation]
    for line in lines:
        click.echo(f"  {line}", err=True)


def _safe_explain(data: bytes, mechanism: str, direction: str, answering: bytes | None = None) -> Explanation | str:
    try:
        return explain(data, mechanism, direction, answering=answering)
    except SaslError as exc:
        return f"(not explained: {exc})"


@click.command(
    epilog="Exit statuses: 0 answer printed, 2 usage (unknown mechanism, missing --user), "
    "7 malformed challenge or base64, 8 no password/token available."
)
@click.argument("mechanism")
@click.argument("challenge", required=False)
@click.option("--user", "-u", help="Authentication identity (user name).")
@click.option("--authzid", default="", help="Authorization identity to act as (PLAIN, DIGEST-MD5, OAUTHBEARER).")
@click.option("--host", help="Server host name: DIGEST-MD5 digest-uri (default: the realm), OAUTHBEARER host=.")
@click.option("--port", type=click.IntRange(1, 65535), help="Server port for OAUTHBEARER port=.")
@click.option("--service", default="smtp", show_default=True, help="DIGEST-MD5 digest-uri service.")
@click.option("--realm", help="DIGEST-MD5 realm (default: the server's first).")
@click.option("--explain", "explain_flag", is_flag=True, help="Show the decoded challenge, the digest and the decoded answer on stderr.")
@click.option("--show-secrets", is_flag=True, help="Do not mask passwords and tokens in --explain output.")
@secret_options("password")
@secret_options("token")
def respond(
    mechanism: str,
    challenge: str | None,
    user: str | None,
    authzid: str,
    host: str | None,
    port: int | None,
    service: str,
    realm: str | None,
    explain_flag: bool,
    show_secrets: bool,
    password_env: str | None,
    password_file: str | None,
    token_env: str | None,
    token_file: str | None,
) -> None:
    """Print the base64 answer to a server's SASL CHALLENGE for MECHANISM.

    CHALLENGE is the base64 the server sent, or the whole "334 ..." line as pasted
    from a session; without it, one line is read from standard input. Mechanisms that
    speak first (PLAIN, XOAUTH2, OAUTHBEARER, EXTERNAL, ANONYMOUS) need no challenge and
    print their initial response; an OAuth JSON error challenge gets its acknowledgement.

    \b
      saslscope respond cram-md5 --user centos7@phoenixknight.jp --password-env PW \\
          'PDA3Nzg3NTMyMDgxMzMwMDAuMTUzNzE1MTM2NEBpazEtMzMxLTI1NjQ5LnZzLnNha3VyYS5uZS5qcD4='

    The password comes from a prompt (terminal only), --password-env or --password-file,
    never from the command line.
    """
    cls = mechanism_class(mechanism)
    if cls.name.startswith("SCRAM-"):
        raise SaslCommandError(
            f"{cls.name} needs a live exchange (its answers depend on our own nonce); use `saslscope login`",
            Exit.USAGE,
        )
    if not user and (cls.needs_password or cls.needs_token):
        raise SaslCommandError(f"{cls.name} needs --user", Exit.USAGE)
    try:
        challenge_bytes = None
        if challenge is not None or cls.server_speaks_first:
            text = challenge if challenge is not None else _read_challenge_line("-" in (password_file, token_file))
            challenge_bytes = decode_pasted(text).data
            if cls.server_speaks_first and not challenge_bytes:
                raise SaslCommandError(f"the {cls.name} challenge is empty", Exit.BAD_INPUT)
    except SaslError as exc:
        raise exit_for(exc) from None
    password = read_secret(env=password_env, file=password_file) if cls.needs_password else None
    token = read_secret(env=token_env, file=token_file, what="token") if cls.needs_token else None
    credentials = ClientCredentials(user or "", password, authzid, token)
    try:
        client = client_mechanism(cls.name, credentials, host=host, port=port, service=service, realm=realm)
        initial = client.initial_response()
        # A challenge after the initial response is answered too (an OAuth JSON error).
        answer = client.respond(challenge_bytes or b"") if initial is None or challenge_bytes else initial
    except SaslError as exc:
        raise exit_for(exc) from None
    encoded = base64.b64encode(answer).decode("ascii")
    if explain_flag:
        if challenge_bytes:
            _echo_explanation("challenge", challenge_bytes, _safe_explain(challenge_bytes, cls.name, "server"), show_secrets)
        explanation = _safe_explain(answer, cls.name, "client", challenge_bytes)
        _echo_explanation("answer", answer, explanation, show_secrets)
        click.echo(f"answer (base64): {encoded if show_secrets or not cls.reveals_secret else '(on stdout)'}", err=True)
    click.echo(encoded)
