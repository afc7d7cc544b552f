"""``saslscope serve``: an SMTP submission server for testing that really checks SASL."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from saslscope.cli.exitcodes import Exit
from saslscope.cli.secrets import read_secret, secret_options
from saslscope.smtp.server.setup import ServeOptions

if TYPE_CHECKING:
    from saslscope.smtp.server import SubmissionServer


class UnusableFile(click.ClickException):
    """A file or directory given to ``serve``/``demo`` cannot be used (exit 7)."""

    exit_code = Exit.BAD_INPUT


class CannotListen(click.ClickException):
    """The server cannot bind its address (exit 3)."""

    exit_code = Exit.CONNECT


@click.command()
@click.option("--listen", "listen", multiple=True, metavar="HOST:PORT",
              help="Address for SMTP with STARTTLS (repeatable; default 127.0.0.1:2587; port 0 = any free port).")
@click.option("--tls-port", "tls_listen", multiple=True, metavar="[HOST:]PORT",
              help="Address for implicit TLS, port 465 style (repeatable; host defaults to 127.0.0.1).")
@click.option("--cert", type=click.Path(dir_okay=False), help="Server certificate (PEM, leaf first, then the chain).")
@click.option("--key", type=click.Path(dir_okay=False), help="Private key of --cert (PEM, unencrypted).")
@click.option("--pki-dir", type=click.Path(file_okay=False),
              help="Without --cert: write the throw-away CA and server certificate here (default: a temporary directory).")
@click.option("--no-tls", is_flag=True, help="Offer no TLS at all (then AUTH needs --allow-cleartext-auth).")
@click.option("--tls12-only", is_flag=True,
              help="Cap TLS at 1.2, where SCRAM-*-PLUS is offered (tls-unique, tls-server-end-point); "
                   "on TLS 1.3 it is not, for lack of tls-exporter in Python's ssl module.")
@click.option("--hostname", metavar="NAME", help="Name in the banner, the CRAM-MD5 challenge and the log (default: this host's name).")
@click.option("--passwd-file", type=click.Path(dir_okay=False), help="Dovecot passwd-file with the users ({PLAIN}, {CRAM-MD5}, {SCRAM-SHA-1}, {SCRAM-SHA-256}).")
@click.option("--user", "username", metavar="NAME", help="Add one user (password from --password-env/--password-file or a prompt).")
@secret_options()
@click.option("--maildir", type=click.Path(file_okay=False), help="Store accepted mail here (default: a temporary directory).")
@click.option("--maildir-layout", type=click.Choice(["per-domain", "single"]), default="per-domain", show_default=True,
              help="One Maildir per recipient domain (DIR/example.com/), or DIR itself for everything.")
@click.option("--log", "log_target", default="-", show_default=True, metavar="FILE|-",
              help="Write the Postfix-format log here (appended); '-' is standard output.")
@click.option("--log-timestamps", type=click.Choice(["bsd", "rfc3339"]), default="bsd", show_default=True,
              help="bsd: 'Nov 28 09:05:01' as Postfix's maillog_file; rfc3339: as rsyslog's RSYSLOG_FileFormat.")
@click.option("--syslog-name", default="postfix/submission", show_default=True,
              help="Program name prefix of the smtpd lines (postfix/submission/smtpd[pid]).")
@click.option("--mech", "mechanisms", multiple=True, metavar="MECH",
              help="Offer this SASL mechanism (repeatable; default PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256, and their -PLUS on TLS 1.2).")
@click.option("--allow-cleartext-auth", is_flag=True, help="Offer and accept AUTH before TLS.")
@click.option("--lenient-cram", is_flag=True, help="Accept a CRAM-MD5 answer with a trailing newline (echo | base64), as Dovecot does.")
@click.option("--auth-failure-delay", type=click.FloatRange(min=0), default=ServeOptions.failure_delay, show_default=True, metavar="SECONDS",
              help="After a failed AUTH, the client's next AUTH waits this long before it is checked (235 or 535 "
                   "alike); doubles per failure from the same address or IPv6 /64; one check per interval "
                   "however many connections; 454 when the wait would exceed 30 s (0 = off).")
@click.option("--auth-failure-delay-max", type=click.FloatRange(min=0), default=ServeOptions.failure_delay_max, show_default=True, metavar="SECONDS",
              help="Upper bound of that delay.")
@click.option("--max-message-size", type=click.IntRange(min=1), default=ServeOptions.max_message_size, show_default=True, metavar="BYTES",
              help="SIZE limit advertised and enforced.")
@click.option("--idle-timeout", type=click.FloatRange(min=1), default=ServeOptions.idle_timeout, show_default=True, metavar="SECONDS",
              help="Drop a client silent this long (421 4.4.2, logged as 'timeout after ...').")
@click.option("--max-connections", type=click.IntRange(min=0), default=ServeOptions.max_connections, show_default=True, metavar="N",
              help="Sessions open at once, from all clients (421 4.3.2 beyond; 0 = no limit).")
def serve(
    listen: tuple[str, ...],
    tls_listen: tuple[str, ...],
    cert: str | None,
    key: str | None,
    pki_dir: str | None,
    no_tls: bool,
    tls12_only: bool,
    hostname: str | None,
    passwd_file: str | None,
    username: str | None,
    password_env: str | None,
    password_file: str | None,
    maildir: str | None,
    maildir_layout: str,
    log_target: str,
    log_timestamps: str,
    syslog_name: str,
    mechanisms: tuple[str, ...],
    allow_cleartext_auth: bool,
    lenient_cram: bool,
    auth_failure_delay: float,
    auth_failure_delay_max: float,
    max_message_size: int,
    idle_timeout: float,
    max_connections: int,
) -> None:
    """Run an SMTP submission server on loopback that checks passwords for real.

    AUTH is verified against a Dovecot passwd-file and/or one --user; accepted mail is
    stored in a Maildir and never relayed; every session is logged in Postfix's format, so
    `saslscope logs` and any Postfix log tool can read it. Stop with Ctrl-C or SIGTERM.

    \b
    Examples:
      saslscope serve --user alice@example.test --password-env PW --pki-dir ./pki
      swaks --server 127.0.0.1:2587 --tls --tls-ca-path ./pki/ca.pem --auth CRAM-MD5 ...
      saslscope serve --passwd-file users --tls-port 2465 --log maillog

    Without --pki-dir the throw-away CA lives in a temporary directory removed at exit;
    without --maildir mail goes to a temporary directory, kept (and named) if mail arrived.

    Exit statuses: 0 stopped by SIGTERM, 130 stopped by Ctrl-C (SIGINT), 2 usage error
    (including an invalid --hostname), 3 cannot listen, 7 unusable passwd-file, certificate,
    --pki-dir, --maildir or --log, 8 no password for --user.
    """
    from saslscope.smtp.server import TimestampStyle, parse_address
    from saslscope.smtp.server.setup import SetupError, TemporaryDirectories, build_server

    status = _status_printer()
    try:
        listen_addresses = [parse_address(text) for text in (listen or ("127.0.0.1:2587",))]
        tls_addresses = [parse_address(text) for text in tls_listen]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    users = {}
    if username:
        users[username] = read_secret(env=password_env, file=password_file, prompt=f"Password for {username}")
    options = ServeOptions(
        listen=listen_addresses,
        implicit_tls=tls_addresses,
        cert=cert,
        key=key,
        pki_dir=pki_dir,
        no_tls=no_tls,
        hostname=hostname,
        passwd_file=passwd_file,
        users=users,
        maildir=maildir,
        per_domain=maildir_layout == "per-domain",
        log_path=log_target,
        timestamps=TimestampStyle(log_timestamps),
        syslog_name=syslog_name,
        mechanisms=mechanisms,
        allow_cleartext_auth=allow_cleartext_auth,
        lenient_cram=lenient_cram,
        failure_delay=auth_failure_delay,
        failure_delay_max=auth_failure_delay_max,
        max_message_size=max_message_size,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
        tls12_only=tls12_only,
    )
    temporary = TemporaryDirectories()
    try:
        try:
            server = build_server(options, status, temporary)
        except SetupError as exc:
            if exc.bad_input:
                raise UnusableFile(str(exc)) from None
            raise click.UsageError(str(exc)) from None
        stopped_by = asyncio.run(_run(server, status))
    finally:
        temporary.clean_up(status)
    if stopped_by == signal.SIGINT:
        raise SystemExit(Exit.INTERRUPTED)  # the shell's 128 + 2, as the exit-status table says


async def _run(server: SubmissionServer, status: Callable[[str], None]) -> int:
    from saslscope.smtp.server import serve_until_signalled

    try:
        endpoints = await server.start()
    except OSError as exc:
        raise CannotListen(f"cannot listen: {exc.strerror or exc}") from None
    for endpoint in endpoints:
        mode = "implicit TLS" if endpoint.implicit_tls else ("STARTTLS" if server.config.tls_context else "no TLS")
        status(f"listening on {endpoint.host}:{endpoint.port} ({mode})")
    status(f"AUTH mechanisms: {' '.join(server.config.mechanisms)}"
           + ("" if server.config.allow_cleartext_auth else " (after TLS only)"))
    config = server.config
    status(f"limits: {config.max_connections or 'no limit'} sessions, {config.max_connections_per_ip or 'no limit'} "
           f"per client address, {config.max_recipients} recipients per message (one copy each), "
           f"{config.max_fanout_bytes} bytes of copies per message")
    status("ready; stop with Ctrl-C or SIGTERM")
    signum = await serve_until_signalled(server, (signal.SIGINT, signal.SIGTERM), reopen_on=signal.SIGHUP)
    status("stopped")
    return signum


def _status_printer() -> Callable[[str], None]:
    def status(text: str) -> None:
        click.echo(f"saslscope serve: {text}", err=True)

    return status
