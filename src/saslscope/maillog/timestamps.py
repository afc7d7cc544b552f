"""Timestamps of mail-log lines: BSD syslog, RFC 3339, postlogd and journald.

Formats (see docs/logs.md and notes/postfix-log-formats.md §1):

* BSD syslog ``Sep 17 12:49:26`` (day space-padded) and Postfix's own ``maillog_file``
  (postlogd, ``strftime("%b %d ...")``: day zero-padded ``Sep 07``). No year and no zone:
  the year is inferred (``YearTracker``) and the zone is the one given (default: this
  machine's local zone).
* RFC 3339 as written by rsyslog's ``RSYSLOG_FileFormat`` and ``journalctl -o short-iso``:
  ``2026-11-28T12:00:00.123456+09:00``, ``...+0900`` (no colon) or ``...Z``; 0-9 fraction digits.
* journald ``__REALTIME_TIMESTAMP`` (microseconds since the epoch), see :func:`from_journal_usec`.
* daemontools/runit/s6 ``multilog``/``svlogd -tt`` TAI64N labels ``@400000004c91b044077a9e94``,
  see :func:`from_tai64n`.

All results are timezone-aware :class:`datetime` objects so that lines from different
formats compare and sort together.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

MONTHS = {m.encode(): i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}

# "Sep 17 12:49:26" / "Sep  7 12:49:26" / "Sep 07 12:49:26" (exactly 15 bytes)
BSD_RE = re.compile(rb"([A-Z][a-z]{2}) ([ 0-3]?\d) (\d\d):(\d\d):(\d\d)")
RFC3339_RE = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|z|[+-]\d\d:?\d\d)?")


class YearTracker:
    """Infer the missing year of BSD syslog timestamps while reading lines in time order.

    The first timestamp gets ``year`` if given (``--year``); otherwise the current year, or
    the previous one when that would put the line more than a day in the future (a log from
    December read in January). Afterwards the year advances whenever the month goes back
    (the December -> January turn, or a new year inside a long rotated set).
    """

    def __init__(self, year: int | None = None, now: datetime | None = None) -> None:
        self.year = year
        self.now = now
        self.last_month = 0
        self.guessed: int | None = None     # the year given to the first stamp when none was given

    def year_for(self, month: int, day: int) -> int:
        if self.year is None:
            now = self.now or datetime.now()
            self.year = now.year
            try:
                if datetime(now.year, month, day) > now + timedelta(days=1):
                    self.year -= 1
            except ValueError:  # Feb 29 in a non-leap current year
                self.year -= 1
            self.guessed = self.year
        elif month < self.last_month - 1:
            # A step back of more than one month is a year turn; a step of exactly one
            # month back is lines slightly out of order around a month end.
            self.year += 1
        self.last_month = month
        return self.year


class TimestampParser:
    """Parse line-start timestamps, caching the last few because consecutive lines share them."""

    def __init__(self, year: int | None = None, tz: tzinfo | None = None, now: datetime | None = None,
                 years: YearTracker | None = None) -> None:
        self.years = years if years is not None else YearTracker(year, now)
        self.tz = tz
        self._cache: dict[bytes, datetime | None] = {}

    def bsd(self, text: bytes) -> datetime | None:
        """Parse the first 15 bytes of a BSD/postlogd line (``Mmm dd hh:mm:ss``)."""
        key = text[:15]
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        m = BSD_RE.match(key)
        if m is None:
            return None
        month = MONTHS.get(m.group(1))
        if month is None:
            return None
        day = int(m.group(2))
        try:
            year = self.years.year_for(month, day)
            stamp = datetime(year, month, day, int(m.group(3)), int(m.group(4)), int(m.group(5)))
        except ValueError:
            return None
        stamp = stamp.replace(tzinfo=self.tz) if self.tz else stamp.astimezone()
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = stamp
        return stamp

    def rfc3339(self, text: bytes) -> datetime | None:
        return parse_rfc3339(text)


def parse_rfc3339(text: bytes) -> datetime | None:
    """Parse an RFC 3339 / ISO 8601 timestamp at the start of ``text`` (``None`` if not one)."""
    m = RFC3339_RE.match(text)
    if m is None:
        return None
    frac = m.group(7) or b""
    micro = int((frac + b"000000")[:6]) if frac else 0
    zone = m.group(8)
    if zone is None:
        tz: tzinfo | None = None
    elif zone in (b"Z", b"z"):
        tz = UTC
    else:
        sign = -1 if zone[:1] == b"-" else 1
        digits = zone[1:].replace(b":", b"")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        stamp = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)),
                         int(m.group(4)), int(m.group(5)), int(m.group(6)), micro, tzinfo=tz)
    except ValueError:
        return None
    return stamp if tz else stamp.astimezone()


def from_journal_usec(usec: str | int) -> datetime | None:
    """journald's ``__REALTIME_TIMESTAMP``: microseconds since the epoch, as a decimal string."""
    try:
        return datetime.fromtimestamp(int(usec) / 1_000_000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


# daemontools' tai64n writes 2**62 + 10 + the Unix time (libtai's TAI - UTC offset of 1970,
# leap seconds ignored); tai64nlocal subtracts the same.
TAI64_UNIX_OFFSET = 2**62 + 10


def from_tai64n(label: bytes) -> datetime | None:
    """A TAI64N label without its ``@`` (24 hex digits: 16 of seconds, 8 of nanoseconds)."""
    try:
        seconds = int(label[:16], 16) - TAI64_UNIX_OFFSET
        nanos = int(label[16:24], 16)
        return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=nanos // 1000)
    except (ValueError, OverflowError, OSError):
        return None


def parse_when(text: str) -> datetime:
    """Parse a ``--since``/``--until`` value: RFC 3339, ``YYYY-MM-DD[ HH:MM[:SS]]``.

    Values without a zone are taken in this machine's local zone. Raises ``ValueError``.
    """
    raw = text.strip()
    if re.fullmatch(r"\d{4}-\d\d-\d\d", raw):
        raw += "T00:00:00"
    elif re.fullmatch(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d", raw):
        raw += ":00"
    stamp = parse_rfc3339(raw.encode())
    if stamp is None:
        raise ValueError(f"not a date/time: {text!r} (use e.g. 2026-11-28 or 2026-11-28T12:00:00+09:00)")
    return stamp
