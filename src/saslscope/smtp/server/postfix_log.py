"""Writing log lines in Postfix's own format, so every Postfix log reader applies to ``serve``.

The formats are those of the Postfix source (see ``notes/postfix-log-formats.md``): a
``maillog_file`` prefix ``Mmm dd hh:mm:ss host program[pid]: `` (``msg_logger.c``: zero-padded
day, first label of the host name) or an RFC 3339 prefix as rsyslog's ``RSYSLOG_FileFormat``
writes it; ``warning:`` after the prefix for warnings; short queue IDs (``mail_queue.h``);
``delay=``/``delays=`` values rounded the way ``log_adhoc.c`` does; per-command counters on the
``disconnect from`` line as ``smtpd_format_cmd_stats()`` builds them.
"""

from __future__ import annotations

import datetime
import enum
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

from saslscope.smtp.private_files import open_append_private


class TimestampStyle(enum.Enum):
    """How each line starts."""

    #: ``Nov 28 09:05:01``: Postfix's own ``maillog_file`` (local time, zero-padded day)
    BSD = "bsd"
    #: ``2026-11-28T09:05:01.123456+00:00``: rsyslog ``RSYSLOG_FileFormat``
    RFC3339 = "rfc3339"


def format_timestamp(moment: datetime.datetime, style: TimestampStyle) -> str:
    """``moment`` (timezone-aware) as the line prefix of ``style`` wants it."""
    local = moment.astimezone()
    if style is TimestampStyle.BSD:
        # msg_logger.c uses strftime("%b %d %H:%M:%S"); %b is locale-dependent, Postfix runs
        # in the C locale, so spell the English month ourselves.
        return f"{_MONTHS[local.month - 1]} {local:%d %H:%M:%S}"
    return local.isoformat(timespec="microseconds")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_delay(seconds: float) -> str:
    """A ``delay=`` or ``delays=`` component as Postfix prints it.

    ``log_adhoc.c`` keeps two significant digits for small values and whole seconds from
    ten seconds up; anything below the 10 ms resolution is ``0``. Seen in real logs:
    ``delay=76``, ``delays=75/0.36/0.17/0.21``, ``delay=0.03, delays=0.01/0.01/0/0``.
    """
    if seconds >= 10:
        return str(round(seconds))
    precision = 1 if seconds >= 1 else 2
    text = f"{seconds:.{precision}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "0", "-0") else "0"


def new_queue_id(now: float | None = None) -> str:
    """A short-format queue ID: 5 hex digits of microseconds, then the queue file's inode.

    Postfix's ``%05X%lX`` (``mail_queue.h``). There is no queue file here, so a random
    inode-sized number stands in for the inode; the result has the shape log readers expect
    (upper-case hex, usually 10-12 characters).
    """
    moment = time.time() if now is None else now
    microseconds = int((moment % 1) * 1_000_000)
    inode = 0x100000 + secrets.randbelow(0xFFFFFFF - 0x100000)
    return f"{microseconds:05X}{inode:X}"


#: smtpd's command table order (``smtpd.c`` ``smtpd_cmd_table``): the order of the counters on
#: the ``disconnect from`` line. Commands not in it count as ``unknown``.
SMTPD_COMMANDS: tuple[str, ...] = (
    "HELO", "EHLO", "XCLIENT", "XFORWARD", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT",
    "RSET", "NOOP", "VRFY", "ETRN", "QUIT",
)
UNKNOWN_COMMAND = "UNKNOWN"


def counter_name(command: str) -> str:
    """The counter a command line's verb is counted under (``unknown`` for the rest)."""
    upper = command.upper()
    return upper if upper in SMTPD_COMMANDS else UNKNOWN_COMMAND


@dataclass
class CommandCounters:
    """Success and total counts per SMTP command, for the ``disconnect from`` line."""

    success: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)

    def started(self, command: str) -> None:
        """Count ``command`` as sent (smtpd counts before running it: a lost connection in
        the middle of AUTH leaves ``auth=0/1``)."""
        name = counter_name(command)
        self.total[name] = self.total.get(name, 0) + 1

    def succeeded(self, command: str) -> None:
        name = counter_name(command)
        self.success[name] = self.success.get(name, 0) + 1

    def format(self) -> str:
        """`` ehlo=1 auth=0/1 quit=1 commands=2/3`` (``smtpd_format_cmd_stats()``).

        Each command that was sent: `` name=success``, plus ``/total`` if some failed; then
        `` commands=success`` plus ``/total`` when they differ or no command was sent at all
        (``commands=0/0``). Lower case throughout.
        """
        parts: list[str] = []
        all_success = all_total = 0
        for name in (*SMTPD_COMMANDS, UNKNOWN_COMMAND):
            total = self.total.get(name, 0)
            if not total:
                continue
            success = self.success.get(name, 0)
            parts.append(f" {name}={success}" + (f"/{total}" if success != total else ""))
            all_success += success
            all_total += total
        parts.append(f" commands={all_success}")
        if all_success != all_total or all_total == 0:
            parts.append(f"/{all_total}")
        return "".join(parts).lower()


class PostfixLog:
    """Writes Postfix-format lines to a text stream, one ``write`` + ``flush`` per line.

    ``syslog_name`` is the smtpd service's name (``postfix/submission`` gives
    ``postfix/submission/smtpd[pid]``); the queue manager, cleanup and delivery lines use the
    instance name alone (``postfix/qmgr``), as in a real master.cf. ``hostname`` is reduced to
    its first label. Thread-safe: the demo reads the stream while the server writes it.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        hostname: str = "localhost",
        syslog_name: str = "postfix/submission",
        timestamps: TimestampStyle = TimestampStyle.BSD,
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.host_label = hostname.split(".", 1)[0] or "localhost"
        self.syslog_name = syslog_name
        self.instance = syslog_name.split("/", 1)[0]
        self.timestamps = timestamps
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self.pid = os.getpid()
        #: the file the stream was opened from, for :meth:`reopen` (None: a stream given to us)
        self.path: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def to_file(
        cls,
        path: str | os.PathLike[str],
        *,
        hostname: str = "localhost",
        syslog_name: str = "postfix/submission",
        timestamps: TimestampStyle = TimestampStyle.BSD,
    ) -> PostfixLog:
        """A log appended to ``path`` (created 0600 if missing, never through a symlink),
        reopenable after rotation."""
        log = cls(open_append_private(path), hostname=hostname, syslog_name=syslog_name, timestamps=timestamps)
        log.path = os.fspath(path)
        return log

    def reopen(self) -> None:
        """Close and reopen the file (after logrotate moved it away: SIGHUP). OSError if the
        path cannot be opened any more; the old stream is kept in that case."""
        if self.path is None:
            return
        fresh = open_append_private(self.path)
        with self._lock:
            old, self.stream = self.stream, fresh
        old.close()

    def write(self, program: str, pid: int, text: str, *, severity: str | None = None) -> str:
        """Write one line for ``program`` (``smtpd``, ``qmgr``...) and return it (no newline)."""
        name = f"{self.syslog_name}/{program}" if program == "smtpd" else f"{self.instance}/{program}"
        body = f"{severity}: {text}" if severity else text
        line = f"{format_timestamp(self.clock(), self.timestamps)} {self.host_label} {name}[{pid}]: {body}"
        # Postfix never writes a control character into its log (printable() in msg_logger.c);
        # neither do we: a client's bytes end up in some fields.
        line = _printable(line)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()
        return line

    def smtpd(self, pid: int, text: str, *, severity: str | None = None) -> str:
        return self.write("smtpd", pid, text, severity=severity)

    def delivery(self, queue_id: str, lines: Iterable[tuple[str, str]]) -> None:
        """Write the post-queue lines of one message: ``(program, text)`` pairs, in order."""
        for program, text in lines:
            self.write(program, self.pid, f"{queue_id}: {text}")


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else "?" for ch in text)
