"""``saslscope probe HOST``: what an SMTP server offers, and what an admin must fix."""

from __future__ import annotations

from typing import Any

import click

from saslscope.cli.connection_options import (
    MonitoredCommand,
    check_output_choice,
    connection_options,
    output_options,
    session_fields,
    show_and_exit,
)
from saslscope.cli.exitcodes import Exit, status_help

#: every status ``probe`` can end with: it sends no credentials (no 1, no 8) and reads no file
#: of its own (no 7). Findings do not change it, however severe: the status says whether the
#: probe could look, the findings say what it saw; --nagios turns findings into a status.
PROBE_STATUSES = (Exit.OK, Exit.USAGE, Exit.CONNECT, Exit.TLS, Exit.SMTP_REFUSED, Exit.PROTOCOL, Exit.INTERRUPTED)


@click.command(cls=MonitoredCommand, epilog=status_help(*PROBE_STATUSES, nagios=True))
@connection_options
@output_options
@click.option("--transcript", is_flag=True, help="Also print the SMTP transcript.")
@click.option(
    "--auth-check",
    is_flag=True,
    help="Also start each advertised mechanism (AUTH MECH) and cancel it with '*', to see whether the server "
    "can run it. This leaves a line per mechanism in the server's log (Postfix: 'authentication aborted').",
)
@click.option("--no-auth-check", is_flag=True, hidden=True, help="The default now; accepted for old scripts.")
@click.option("--no-legacy-tls-check", is_flag=True, help="Do not make the extra connection that checks whether TLS 1.0/1.1 are still accepted.")
def probe(
    transcript: bool, auth_check: bool, no_auth_check: bool, no_legacy_tls_check: bool, as_json: bool, nagios: bool,
    **connection: Any,  # the connection_options values, typed by their click.option declarations
) -> None:
    """Show banner, EHLO before and after TLS in plain language, the TLS protocol and
    cipher, the certificate chain and its verification, and findings (AUTH before TLS,
    PLAIN/LOGIN over cleartext, bad certificates, TLS below 1.2).

    No credentials are sent and, unless --auth-check, no AUTH command either. One more
    connection offers only TLS 1.0/1.1, to see whether the server still accepts them.
    The exit status says whether the probe could look; findings, however severe, are in
    the output (--nagios makes them the status).
    """
    check_output_choice(as_json, nagios)
    if auth_check and no_auth_check:
        raise click.UsageError("choose one of --auth-check and --no-auth-check")
    from saslscope.smtp.probe import probe as run_probe
    from saslscope.smtp.report import probe_json, probe_text
    from saslscope.smtp.session import SessionOptions

    options = SessionOptions(**session_fields(**connection))
    result = run_probe(options, check_mechanisms=auth_check, check_legacy_tls=not no_legacy_tls_check)
    show_and_exit(
        result,
        nagios=nagios,
        as_json=as_json,
        document=lambda: probe_json(result),
        text=lambda: probe_text(result, transcript=transcript),
    )
