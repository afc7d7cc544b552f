"""``saslscope login HOST``: log in with one SASL mechanism, optionally send a test mail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from saslscope.cli.connection_options import (
    OUTCOME_EXIT,
    MonitoredCommand,
    check_output_choice,
    connection_options,
    output_options,
    print_json,
    session_fields,
    show_and_exit,
)
from saslscope.cli.exitcodes import Exit, fail_line, finish, status_help
from saslscope.cli.secrets import read_secret, secret_options

if TYPE_CHECKING:  # imported when a command runs, not when --help is shown
    from saslscope.sasl.base import ClientCredentials
    from saslscope.smtp.client import LoginOptions
    from saslscope.smtp.message import MessageSpec

QUIT_POINTS = ("banner", "ehlo", "tls", "auth", "mail", "rcpt", "data")


#: every status ``login`` can end with (``status_help`` lists them in --help)
LOGIN_STATUSES = (
    Exit.OK, Exit.AUTH_FAILED, Exit.USAGE, Exit.CONNECT, Exit.TLS, Exit.SMTP_REFUSED, Exit.PROTOCOL,
    Exit.BAD_INPUT, Exit.NO_SECRET, Exit.INTERRUPTED,
)


@click.command(cls=MonitoredCommand, epilog=status_help(*LOGIN_STATUSES, nagios=True))
@connection_options
@click.option("--user", "-u", "username", metavar="NAME", help="Authentication identity (authcid).")
@click.option("--authzid", metavar="NAME", default="", help="Authorization identity to act as (PLAIN, SCRAM...).")
@secret_options()
@secret_options("token")
@click.option("--mech", "-m", "mechanism", metavar="MECH", help="SASL mechanism, or 'all' to try each advertised one on its own connection (default: the strongest advertised).")
@click.option("--allow-cleartext-auth", is_flag=True, help="Allow a password or token mechanism without TLS.")
@click.option("--quit-after", type=click.Choice(QUIT_POINTS), help="Where to stop (default: auth, or data when --to is given).")
@click.option("--to", "recipients", multiple=True, metavar="ADDR", help="Send a test message to ADDR (repeatable).")
@click.option("--from", "mail_from", metavar="ADDR", help="Envelope and header sender (default: --user if it is an address).")
@click.option("--subject", default="saslscope test", show_default=True, help="Subject (UTF-8 is fine).")
@click.option("--body", metavar="TEXT|@FILE", default="saslscope test message", help="Body text, or @FILE to read it (UTF-8).")
@click.option("--dsn-notify", metavar="LIST", help="DSN NOTIFY: NEVER, or a comma list of SUCCESS,FAILURE,DELAY (RFC 3461).")
@click.option("--dsn-ret", type=click.Choice(["FULL", "HDRS"], case_sensitive=False), help="DSN RET: return the full message or headers only.")
@click.option("--dsn-envid", metavar="ID", help="DSN envelope identifier.")
@click.option("--show-secrets", is_flag=True, help="Do not mask AUTH payloads that reveal the password or token.")
@click.option("--explain", is_flag=True, help="Add the decoded challenge and answer of each AUTH step.")
@output_options
def login(
    username: str | None,
    authzid: str,
    password_env: str | None,
    password_file: str | None,
    token_env: str | None,
    token_file: str | None,
    mechanism: str | None,
    allow_cleartext_auth: bool,
    quit_after: str | None,
    recipients: tuple[str, ...],
    mail_from: str | None,
    subject: str,
    body: str,
    dsn_notify: str | None,
    dsn_ret: str | None,
    dsn_envid: str | None,
    show_secrets: bool,
    explain: bool,
    as_json: bool,
    nagios: bool,
    **connection: Any,  # the connection_options values, typed by their click.option declarations
) -> None:
    """Log in to an SMTP server with one SASL mechanism and show the transcript.

    The password comes from a prompt (terminal only), --password-env or --password-file,
    never from the command line; an OAuth token (XOAUTH2, OAUTHBEARER) from --token-env or
    --token-file. Password mechanisms are refused without TLS unless --allow-cleartext-auth.
    A failed login is final: no other mechanism is tried on the same connection.
    """
    check_output_choice(as_json, nagios)
    from saslscope.sasl.base import ClientCredentials
    from saslscope.smtp.client import LoginOptions, login as run_login
    from saslscope.smtp.session import QuitAfter

    fields = session_fields(**connection)
    stop = QuitAfter(quit_after) if quit_after else None
    _check_message_options(recipients)
    message = _message_spec(recipients, mail_from, username, subject, body, dsn_notify, dsn_ret, dsn_envid)
    if stop is not None and stop.value in ("mail", "rcpt", "data") and message is None:
        raise click.UsageError(f"--quit-after {stop.value} needs --to")
    needs_auth = stop is None or QUIT_POINTS.index(stop.value) >= QUIT_POINTS.index("auth")
    credentials = ClientCredentials()
    if needs_auth:
        if not username:
            raise click.UsageError("--user is required to log in (or --quit-after tls to stop before AUTH)")
        sources = SecretSources(password_env, password_file, token_env, token_file)
        credentials = _credentials(username, authzid, sources, mechanism)
    options = LoginOptions(
        **fields,
        mechanism=None if mechanism is None or mechanism.lower() == "all" else mechanism.upper(),
        credentials=credentials,
        allow_cleartext_auth=allow_cleartext_auth,
        quit_after=stop,
        message=message,
    )
    if mechanism is not None and mechanism.lower() == "all":
        _login_all(options, as_json, nagios)
        return
    result = run_login(options)
    from saslscope.smtp.report import login_json, login_text

    show_and_exit(
        result,
        nagios=nagios,
        as_json=as_json,
        document=lambda: login_json(result, show_secrets=show_secrets, explain=explain),
        text=lambda: login_text(result, show_secrets=show_secrets, explain=explain),
    )


@dataclass(frozen=True)
class SecretSources:
    """Where ``--password-*`` and ``--token-*`` say the secret is."""

    password_env: str | None
    password_file: str | None
    token_env: str | None
    token_file: str | None


def _credentials(username: str, authzid: str, sources: SecretSources, mechanism: str | None) -> ClientCredentials:
    from saslscope.sasl.base import ClientCredentials

    if sources.token_env or sources.token_file:
        if sources.password_env or sources.password_file:
            raise click.UsageError("give a password or a token, not both")
        token = read_secret(env=sources.token_env, file=sources.token_file, what="token")
        return ClientCredentials(username=username, authzid=authzid, token=token)
    from saslscope.sasl.errors import UnsupportedMechanism
    from saslscope.sasl.registry import client_mechanism_class

    mechanism_class = None
    if mechanism is not None and mechanism.lower() != "all":
        try:
            mechanism_class = client_mechanism_class(mechanism)
        except UnsupportedMechanism as exc:
            raise click.UsageError(f"{exc}, or all") from None
    if mechanism_class is not None and not mechanism_class.needs_password:
        return ClientCredentials(username=username, authzid=authzid)
    password = read_secret(env=sources.password_env, file=sources.password_file, prompt=f"Password for {username}")
    return ClientCredentials(username=username, authzid=authzid, password=password)


def _check_message_options(recipients: tuple[str, ...]) -> None:
    """--subject and --body describe a message: given without --to they would be ignored."""
    if recipients:
        return
    context = click.get_current_context()
    given = [f"--{name}" for name in ("subject", "body")
             if context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    if given:
        raise click.UsageError(f"{' and '.join(given)} describe a message: give --to as well")


def _message_spec(
    recipients: tuple[str, ...],
    mail_from: str | None,
    username: str | None,
    subject: str,
    body: str,
    dsn_notify: str | None,
    dsn_ret: str | None,
    dsn_envid: str | None,
) -> MessageSpec | None:
    if not recipients:
        if mail_from or dsn_notify or dsn_ret or dsn_envid:
            raise click.UsageError("--from and --dsn-* describe a message: give --to as well")
        return None
    from saslscope.smtp.message import MessageSpec

    if "\r" in subject or "\n" in subject:
        raise click.UsageError("--subject must be one line (no CR or LF)")
    sender = mail_from or (username if username and "@" in username else None)
    if sender is None:
        raise click.UsageError("--from is needed when --user is not a mail address")
    notify: tuple[str, ...] = ()
    if dsn_notify:
        notify = tuple(word.strip().upper() for word in dsn_notify.split(","))
        allowed = {"SUCCESS", "FAILURE", "DELAY"}
        if notify != ("NEVER",) and not set(notify) <= allowed:
            raise click.UsageError("--dsn-notify is NEVER or a comma list of SUCCESS, FAILURE, DELAY")
    return MessageSpec(
        mail_from=sender,
        recipients=recipients,
        subject=subject,
        body=_read_body(body),
        dsn_notify=notify,
        dsn_ret=dsn_ret.upper() if dsn_ret else None,
        dsn_envid=dsn_envid,
    )


def _read_body(body: str) -> str:
    if not body.startswith("@"):
        return body
    path = body[1:]
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise BadInput(f"cannot read the body file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"the body file {path} is not UTF-8 text") from None


class BadInput(click.ClickException):
    """A file the user named cannot be used; exits with :attr:`Exit.BAD_INPUT`."""

    exit_code = Exit.BAD_INPUT


def _login_all(options: LoginOptions, as_json: bool, nagios: bool) -> None:
    from saslscope.smtp.client import login_each_mechanism, sweep_failures
    from saslscope.smtp.report import mechanism_table, sweep_json, sweep_nagios_line, terminal_safe

    discovery, results = login_each_mechanism(options)
    if nagios:
        line, state = sweep_nagios_line(discovery, results)
        click.echo(line)
        finish(state)
    failures = sweep_failures(results)
    if not discovery.ok:
        status, error = OUTCOME_EXIT[discovery.outcome], f"{discovery.outcome.value}: {discovery.error}"
    elif not results:
        status, error = Exit.AUTH_FAILED, "the server advertises no mechanism saslscope has a client for"
    elif failures:
        status, error = OUTCOME_EXIT[failures[0].outcome], None
    else:
        status, error = Exit.OK, None
    if as_json:
        print_json(sweep_json(discovery, results))
    elif results:
        click.echo(terminal_safe(mechanism_table(results)))
    if error is not None:
        fail_line(terminal_safe(error))
    finish(status)
