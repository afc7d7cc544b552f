"""Exit statuses shared by every command, their one help text, and the one way to exit.

Scripts and monitoring depend on these numbers, so a number never changes meaning. README's
exit-status table is :data:`MEANINGS`; ``tests/test_cli_shell.py`` walks it, producing each
status with a real invocation. ``--nagios`` runs use the monitoring-plugin statuses instead
(:class:`saslscope.smtp.report.NagiosState`: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NoReturn

import click


class Exit(IntEnum):
    OK = 0
    AUTH_FAILED = 1        # the server (or the SASL exchange) rejected the credentials
    USAGE = 2              # bad options or arguments (click's own usage errors use 2 too)
    CONNECT = 3            # could not connect, connection lost, or timed out
    TLS = 4                # TLS handshake or certificate verification failed
    SMTP_REFUSED = 5       # the server refused EHLO, MAIL, RCPT or DATA
    PROTOCOL = 6           # the peer broke the protocol (malformed reply, STARTTLS injection...)
    BAD_INPUT = 7          # data given by the user is malformed (base64, challenge, header, file)
    NO_SECRET = 8          # a password or token was needed and none could be read
    FINDINGS = 9           # logs alerts --fail-on: a finding at or above the given severity
    INTERRUPTED = 130      # Ctrl-C (SIGINT), the shell convention 128 + 2


#: what each status means, for every command: README's table and each command's --help
MEANINGS: dict[Exit, str] = {
    Exit.OK: "success",
    Exit.AUTH_FAILED: "authentication rejected",
    Exit.USAGE: "usage error, or refused by policy (password over cleartext, mechanism or AUTH not offered)",
    Exit.CONNECT: "connection failure or timeout",
    Exit.TLS: "TLS failure, including certificate verification",
    Exit.SMTP_REFUSED: "the server refused EHLO, MAIL, RCPT or DATA",
    Exit.PROTOCOL: "protocol error from the peer (malformed reply, STARTTLS injection)",
    Exit.BAD_INPUT: "malformed or unreadable input (base64, challenge, log file, message file)",
    Exit.NO_SECRET: "a password or token was needed and none could be read",
    Exit.FINDINGS: "`logs alerts --fail-on SEVERITY`: a finding at or above that severity",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
}

NAGIOS_HELP = (
    "With --nagios: exactly one status line, and 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN "
    "(usage and set-up errors included)."
)


def status_help(*statuses: Exit, nagios: bool = False) -> str:
    """The ``Exit statuses: ...`` paragraph for a command that can end with ``statuses``."""
    text = "Exit statuses: " + ", ".join(f"{int(s)} {MEANINGS[s]}" for s in sorted(statuses)) + "."
    return f"{text} {NAGIOS_HELP}" if nagios else text


def fail_line(message: str) -> None:
    """The one-line error on standard error, with the one prefix every command uses."""
    click.echo(f"saslscope: {message}", err=True)


def finish(status: int) -> NoReturn:
    """End the running command with ``status`` (the one way commands exit with a status)."""
    click.get_current_context().exit(int(status))
    raise AssertionError("unreachable: Context.exit raises")  # for type checkers
