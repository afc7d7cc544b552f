"""``saslscope probe HOST``: what an SMTP server offers, and what an admin must fix."""

from __future__ import annotations

import click

from saslscope.cli.connection_options import (
    EXIT_HELP,
    check_output_choice,
    connection_options,
    output_options,
    session_fields,
    show_and_exit,
)


@click.command(epilog=EXIT_HELP)
@connection_options
@output_options
@click.option("--transcript", is_flag=True, help="Also print the SMTP transcript.")
@click.option("--no-auth-check", is_flag=True, help="Do not start each advertised mechanism (AUTH MECH, then '*').")
@click.option("--no-legacy-tls-check", is_flag=True, help="Do not make the extra connection that checks whether TLS 1.0/1.1 are still accepted.")
def probe(transcript: bool, no_auth_check: bool, no_legacy_tls_check: bool, as_json: bool, nagios: bool, **connection: object) -> None:
    """Show banner, EHLO before and after TLS in plain language, the TLS protocol and
    cipher, the certificate chain and its verification, and findings (AUTH before TLS,
    PLAIN/LOGIN over cleartext, bad certificates, TLS below 1.2, broken mechanisms).

    No credentials are sent. Each advertised mechanism is started with AUTH and cancelled
    with '*' at once, to see whether the server can actually run it; one more connection
    offers only TLS 1.0/1.1, to see whether the server still accepts them.
    """
    check_output_choice(as_json, nagios)
    from saslscope.smtp.probe import probe as run_probe
    from saslscope.smtp.session import SessionOptions
    from saslscope.smtp.report import probe_json, probe_text

    options = SessionOptions(**session_fields(**connection))  # type: ignore[arg-type]
    result = run_probe(options, check_mechanisms=not no_auth_check, check_legacy_tls=not no_legacy_tls_check)
    show_and_exit(
        result,
        nagios=nagios,
        as_json=as_json,
        document=lambda: probe_json(result),
        text=lambda: probe_text(result, transcript=transcript),
    )
