"""A per-client-network penalty after failed AUTH attempts, applied *before* the next check.

Modelled on Dovecot's auth penalty (``auth-penalty.c``): after a failure the next AUTH from
the same client waits before its credentials are even looked at, so hanging up early and
reconnecting gains nothing (a waiting AUTH is cancelled unchecked with its connection), and a
``235`` after failures waits like a ``535``. Unlike Dovecot, the waits of one client are
*serialised*: each penalised AUTH reserves the next free slot of its network, so 40 parallel
connections get no more checks per second than one patient client does.

* The penalty grows with the failures: ``base`` seconds after the first, doubling, up to ``cap``
  (Dovecot: 2 s doubling to 15 s; Postfix's ``smtpd_error_sleep_time`` is a flat 1 s).
* A client whose slot is further away than ``max_wait`` is refused at once (``454``) instead
  of being held, so a flood neither piles up sleeping sessions nor holds anyone forever.
* IPv6 clients are keyed by their /64 (one customer's allocation, RFC 6177 §2); IPv4 by address
  (IPv4-mapped IPv6 addresses count as IPv4).
* Entries are kept in order of their last failure (an ``OrderedDict``), so forgetting quiet
  clients is amortised O(1) per call, and the table never holds more than ``max_entries``.
* A success does not clear the penalty: otherwise a guesser who owns one account could reset
  it between guesses. It fades after ``forget_after`` seconds without a failure.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

#: seconds; AUTH from a client whose next slot is further away is refused (454), not held
DEFAULT_MAX_WAIT = 30.0
#: addresses remembered at once; the oldest offender is forgotten first beyond this
DEFAULT_MAX_ENTRIES = 100_000


def penalty_key(address: str) -> str:
    """The unit a penalty applies to: an IPv4 address, or an IPv6 /64 network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class _Entry:
    failures: int
    last_failure: float
    #: the earliest time the next AUTH from this client may be checked
    next_slot: float


@dataclass
class FailurePenalty:
    """Counts AUTH failures per client network and schedules its next AUTH.

    ``base=0`` turns the penalty off. ``clock`` is injectable for tests.
    """

    base: float = 1.0
    cap: float = 15.0
    forget_after: float = 300.0
    max_wait: float = DEFAULT_MAX_WAIT
    max_entries: int = DEFAULT_MAX_ENTRIES
    clock: Callable[[], float] = time.monotonic
    _entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict, repr=False)

    def delay_for(self, failures: int) -> float:
        """The spacing between checks after ``failures`` failures."""
        if self.base <= 0 or failures <= 0:
            return 0.0
        return float(min(self.base * 2.0 ** min(failures - 1, 32), self.cap))

    def admit(self, address: str) -> float | None:
        """Called when an AUTH starts, before anything is checked.

        Returns how many seconds to wait before checking it (0.0 for a client with no recent
        failure), having reserved that slot; or None when the wait would exceed ``max_wait``:
        refuse this AUTH unchecked.
        """
        now = self.clock()
        self._expire(now)
        entry = self._entries.get(penalty_key(address))
        if entry is None or self.base <= 0:
            return 0.0
        start = max(now, entry.next_slot)
        if start - now > self.max_wait:
            return None
        entry.next_slot = start + self.delay_for(entry.failures)
        return start - now

    def record_failure(self, address: str) -> float:
        """Note one more failure (wrong credentials, an abort, a malformed exchange) from
        ``address``; returns the spacing now in force for that client, in seconds."""
        now = self.clock()
        self._expire(now)
        key = penalty_key(address)
        entry = self._entries.pop(key, None) or _Entry(0, now, now)
        entry.failures += 1
        entry.last_failure = now
        delay = self.delay_for(entry.failures)
        entry.next_slot = max(entry.next_slot, now + delay)
        self._entries[key] = entry  # most recent failure last
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return delay

    def failures(self, address: str) -> int:
        self._expire(self.clock())
        entry = self._entries.get(penalty_key(address))
        return entry.failures if entry else 0

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self, now: float) -> None:
        # Oldest failure first: stop at the first entry still remembered.
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if now - entry.last_failure <= self.forget_after:
                break
            del self._entries[key]
