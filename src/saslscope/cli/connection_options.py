"""Connection options shared by ``probe`` and ``login``: host, port, TLS mode, verification.

Turns command-line options into :class:`saslscope.smtp.client.SessionOptions` fields and
maps session outcomes to exit statuses. No protocol logic here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from saslscope.cli.exitcodes import Exit, fail_line, finish
from saslscope.smtp.errors import Outcome
from saslscope.smtp.transport import TLS_VERSION_NAMES, TlsMode, TlsSettings

if TYPE_CHECKING:
    from saslscope.smtp.session import SessionResult

F = TypeVar("F", bound=Callable[..., Any])

#: session outcome -> exit status (documented in --help and README)
OUTCOME_EXIT = {
    Outcome.OK: Exit.OK,
    Outcome.AUTH_FAILED: Exit.AUTH_FAILED,
    Outcome.CONNECT: Exit.CONNECT,
    Outcome.TLS: Exit.TLS,
    Outcome.SMTP_REFUSED: Exit.SMTP_REFUSED,
    Outcome.PROTOCOL: Exit.PROTOCOL,
    Outcome.REFUSED_BY_POLICY: Exit.USAGE,
}

def connection_options(func: F) -> F:
    """``HOST`` and every option about reaching it."""
    decorators = [
        click.argument("host"),
        click.option("--port", "-p", type=click.IntRange(1, 65535), help="Port (default 587; 465 means implicit TLS)."),
        click.option("--tls", "tls_mode", flag_value=TlsMode.IMPLICIT.value, help="Implicit TLS from the first byte (default on port 465)."),
        click.option("--starttls", "tls_mode", flag_value=TlsMode.STARTTLS.value, help="Cleartext greeting, then STARTTLS (default on 587 and 25)."),
        click.option("--no-tls", "tls_mode", flag_value=TlsMode.NONE.value, help="No TLS at all (password mechanisms then need --allow-cleartext-auth)."),
        click.option("--cafile", type=click.Path(exists=True, dir_okay=False), help="Trust the CA certificates in this PEM file (a private CA, a test server)."),
        click.option("--capath", type=click.Path(exists=True, file_okay=False), help="Trust the CA certificates in this hashed directory."),
        click.option("--insecure", is_flag=True, help="Do NOT verify the certificate (chain and host name). Loudly warned."),
        click.option("--client-cert", type=click.Path(exists=True, dir_okay=False), help="Client certificate (PEM) to present."),
        click.option("--client-key", type=click.Path(exists=True, dir_okay=False), help="Private key for --client-cert (if not in the same file)."),
        click.option("--tls-min", type=click.Choice(TLS_VERSION_NAMES), help="Lowest TLS version to accept."),
        click.option("--sni", metavar="NAME", help="Server name to send (SNI) and to verify the certificate against (default: HOST)."),
        click.option("--source-address", metavar="ADDR", help="Connect from this local IP address (like swaks --local-interface), e.g. 127.0.0.2."),
        click.option("--helo", metavar="NAME", help="Name to give in EHLO (default: this host's name, or its address literal)."),
        click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds to wait for each network step."),
        click.option("--cert-warn-days", type=click.FloatRange(min=0), default=14, show_default=True, help="Warn when the certificate expires within this many days."),
    ]
    for decorate in reversed(decorators):
        func = decorate(func)
    return func


def session_fields(
    host: str,
    port: int | None,
    tls_mode: str | None,
    cafile: str | None,
    capath: str | None,
    insecure: bool,
    client_cert: str | None,
    client_key: str | None,
    tls_min: str | None,
    sni: str | None,
    source_address: str | None,
    helo: str | None,
    timeout: float,
    cert_warn_days: float,
) -> dict[str, Any]:
    """Keyword arguments for ``SessionOptions``/``LoginOptions`` from the options above."""
    if insecure and (cafile or capath):
        raise click.UsageError("--insecure switches verification off; it cannot go with --cafile/--capath")
    if client_key and not client_cert:
        raise click.UsageError("--client-key needs --client-cert")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # [::1], the URL/SMTP way of writing an IPv6 literal
    if not host:
        raise click.UsageError("HOST is empty")
    name, colon, port_text = host.rpartition(":")
    if colon and port_text.isdigit() and ":" not in name:
        raise click.UsageError(f"give the port with -p, not after a colon: {name} -p {port_text}")
    if source_address is not None:
        source_address = _ip_literal(source_address)
    if insecure:
        click.secho(
            "WARNING: --insecure: the server's certificate is NOT verified; whoever sits in "
            "between can read everything, including the login.",
            fg="red",
            err=True,
        )
    return {
        "host": host,
        "port": port,
        "tls_mode": TlsMode(tls_mode) if tls_mode else None,
        "tls": TlsSettings(
            verify=not insecure,
            cafile=cafile,
            capath=capath,
            client_cert=client_cert,
            client_key=client_key,
            minimum_version=tls_min,
            server_name=sni,
        ),
        "helo": helo,
        "timeout": timeout,
        "expiry_warning_days": cert_warn_days,
        "source_address": source_address,
    }


def _ip_literal(text: str) -> str:
    """``--source-address``: an IPv4 or IPv6 address (brackets allowed), not a name."""
    import ipaddress

    try:
        return str(ipaddress.ip_address(text[1:-1] if text.startswith("[") and text.endswith("]") else text))
    except ValueError:
        raise click.UsageError(f"--source-address wants an IP address, not {text!r}") from None


def output_options(func: F) -> F:
    func = click.option("--nagios", is_flag=True, help="Print one monitoring-plugin status line with performance data; exit 0/1/2/3.")(func)
    func = click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")(func)
    return func


def check_output_choice(as_json: bool, nagios: bool) -> None:
    if as_json and nagios:
        raise click.UsageError("choose one of --json and --nagios")


def print_json(document: object) -> None:
    import json

    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def show_and_exit(
    result: SessionResult,
    *,
    nagios: bool,
    as_json: bool,
    document: Callable[[], object],
    text: Callable[[], str],
) -> None:
    """Print one session's result the way asked (Nagios line, JSON document or text, plus
    the one-line error on standard error) and exit with the matching status."""
    from saslscope.smtp.report import nagios_line, nagios_state, terminal_safe

    if nagios:
        click.echo(nagios_line(result))
        finish(nagios_state(result))
    if as_json:
        print_json(document())
    else:
        click.echo(terminal_safe(text()))
    if not result.ok and not (not as_json and _one_terminal()):
        # on a terminal the text already ends with the failure; say it once
        fail_line(terminal_safe(f"{result.outcome.value}: {result.error}"))
    finish(OUTCOME_EXIT[result.outcome])


def _one_terminal() -> bool:
    """Standard output and standard error are both the terminal a person is reading."""
    import sys

    return sys.stdout.isatty() and sys.stderr.isatty()


class MonitoredCommand(click.Command):
    """A command with ``--nagios``: every run prints exactly one status line and exits
    0/1/2/3. A usage or set-up error (a missing --cafile, no password source) is UNKNOWN (3)
    with its message on that line, never click's usage text and status 2, which a monitoring
    system would read as CRITICAL."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        nagios = "--nagios" in args  # parsing failed: the flag's value is not known yet
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            if nagios:
                raise NagiosUnknown(exc.format_message()) from None
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if ctx.params.get("nagios"):
                raise NagiosUnknown(exc.format_message()) from None
            raise


class NagiosUnknown(click.ClickException):
    """The one status line of a ``--nagios`` run that could not run its check."""

    exit_code = 3  # NagiosState.UNKNOWN

    def show(self, file: Any = None) -> None:
        text = self.format_message().replace("|", "/").replace("\n", " ")
        click.echo(f"SMTP AUTH UNKNOWN - {text}")
