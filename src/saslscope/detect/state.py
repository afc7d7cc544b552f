"""What detectors ask of their state, as data, and the in-memory backend that answers.

Detectors are sans-IO: a detector *plans* a list of operations for a signal, a backend executes
them, and the detector *judges* the answers. The in-memory :class:`MemoryState` answers at once
(``logs alerts``, ``logs watch``, a single ``policy serve``); the Redis backend of the policy
service answers the same operations in one atomic script, so a fleet of services shares the
counters and no two of them both allow the 51st message. Keys are plain strings made by the
detector (they may contain untrusted user names; backends treat them as opaque bytes). A key is
always used with the same window length.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from saslscope.detect.findings import Evidence

#: evidence entries a window keeps (the most recent): enough to show, with a count of the rest
KEEP_EVIDENCE = 10


@dataclass(frozen=True, slots=True)
class Baseline:
    """Names the history-store baseline behind an op's key, for a backend that has one.

    Keys are opaque to backends, so a detector that wants weeks of history says which account
    and which of its dimensions the key follows: ``Seen`` with ``dimension`` ``network``,
    ``address``, ``country``, ``asn``, ``method`` or ``helo``; ``Window`` with ``traffic``
    (messages as entries, their recipients as weight), ``bounced`` or ``deferred`` (one entry
    each), or ``failures`` (the failed logins themselves, with their log lines, from the
    address or network ``within``; members are not kept). A backend without a store ignores it.
    """

    account: str
    dimension: str
    within: str = ""


@dataclass(slots=True)
class Window:
    """Add an entry to the sliding window ``key`` of ``seconds``, then read the window.

    ``member`` ("" for none) is counted distinctly; ``weight`` is added to the total (0 reads
    without adding); ``keep`` is evidence remembered with the entry.
    """

    key: str
    seconds: float
    member: str = ""
    weight: int = 1
    keep: Evidence | None = None
    baseline: Baseline | None = None   # seeded from the store's hourly counts (see Baseline)


@dataclass(slots=True)
class WindowCount:
    total: int                     # sum of weights in the window
    distinct: int                  # distinct non-empty members in the window
    kept: tuple[Evidence, ...]     # the most recent kept evidence, newest last
    kept_total: int                # how many entries in the window carried evidence
    entries: int = 0               # entries in the window (messages, when the weight is recipients)
    first: float | None = None     # time of the oldest entry in the window (a finding's start)


def crossed(count: WindowCount, weight: int, threshold: int) -> bool:
    """True when adding ``weight`` took the window from below ``threshold`` to at or above it."""
    return count.total - weight < threshold <= count.total


@dataclass(slots=True)
class Seen:
    """Record ``member`` under ``key``; answer whether it was known before and how many are known.

    Memory lasts ``ttl`` seconds after a member was last seen (the learning history of an
    account's networks). A backend may also consult the history store's baselines.
    """

    key: str
    member: str
    ttl: float
    baseline: Baseline | None = None   # also known when the store saw it within ttl


@dataclass(slots=True)
class SeenAnswer:
    known: bool          # seen before this signal
    members: int         # distinct members known now, this one included
    first: float | None  # when the key first saw any member (start of its learning period)


@dataclass(slots=True)
class Once:
    """True the first time within ``seconds``: one finding per episode, a block that expires."""

    key: str
    seconds: float


@dataclass(slots=True)
class Swap:
    """Store ``value`` under ``key`` for ``ttl`` seconds; answer the previous live value."""

    key: str
    value: str
    ttl: float


# (The operations and answers are plain slotted dataclasses, not frozen ones: a frozen
# dataclass' __init__ sets each field through object.__setattr__, and a few of them are made
# for every signal; 1M-line bench log: 15 % of the detectors' time.)
Op = Window | Seen | Once | Swap
Answer = WindowCount | SeenAnswer | bool | str | None


class State(Protocol):
    """A synchronous backend: :class:`MemoryState`, or one that also reads the history store."""

    def apply(self, ops: Sequence[Op], now: float) -> list[Answer]:
        """The answers to ``ops`` in order, applied at time ``now`` (seconds since the epoch)."""
        ...


class MemoryState:
    """The operations answered from dictionaries; memory follows the live keys only.

    Entries leave a window when they are older than its length; keys idle for longer than their
    own lifetime are dropped by a sweep that runs as time advances, so a watcher that runs for
    weeks keeps no state for an address seen once.
    """

    def __init__(self) -> None:
        self._windows: dict[str, _WindowState] = {}
        self._seen: dict[str, dict[str, float]] = {}
        self._seen_first: dict[str, float] = {}
        self._once: dict[str, float] = {}
        self._swap: dict[str, tuple[str, float]] = {}
        # lifetime -> {key: expiry} in order of last touch, for the sweep. Keys of one lifetime
        # expire in the order they were last touched; one ordered dict for all lifetimes would
        # let a 14-day key touched early shield every hour-long key behind it from the sweep.
        self._expiry: dict[float, OrderedDict[str, float]] = {}
        self._swept = float("-inf")
        self._handlers: dict[type, Callable[[Any, float], Answer]] = {
            Window: self._window, Seen: self._seen_op, Once: self._once_op, Swap: self._swap_op}

    def __len__(self) -> int:
        """Live keys: what memory grows with."""
        return sum(map(len, self._expiry.values()))

    def apply(self, ops: Sequence[Op], now: float) -> list[Answer]:
        handlers = self._handlers
        answers: list[Answer] = [handlers[type(op)](op, now) for op in ops]
        if now - self._swept > 60.0:
            self.sweep(now)
        return answers

    def _touch(self, key: str, now: float, lifetime: float) -> None:
        bucket = self._expiry.get(lifetime)
        if bucket is None:
            bucket = self._expiry[lifetime] = OrderedDict()
        bucket[key] = now + lifetime
        bucket.move_to_end(key)

    def _window(self, op: Window, now: float) -> WindowCount:
        key = "w:" + op.key
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _WindowState()
        elif window.entries:
            window.expire(now - op.seconds)
        if op.weight or op.member or op.keep is not None:
            window.add(now, op.member, op.weight, op.keep)
        self._touch(key, now, op.seconds)
        entries = window.entries
        return WindowCount(window.total, len(window.members), tuple(window.kept), window.kept_total,
                           len(entries), entries[0][0] if entries else None)

    def _seen_op(self, op: Seen, now: float) -> SeenAnswer:
        key = "s:" + op.key
        members = self._seen.setdefault(key, {})
        first = self._seen_first.setdefault(key, now)
        last = members.pop(op.member, None)  # re-inserted last: dict order is last-seen order
        known = last is not None and last > now - op.ttl
        members[op.member] = now
        horizon = now - op.ttl
        while members:
            oldest_member, oldest = next(iter(members.items()))
            if oldest > horizon:
                break
            del members[oldest_member]
        self._touch(key, now, op.ttl)
        return SeenAnswer(known=known, members=len(members), first=first)

    def _once_op(self, op: Once, now: float) -> bool:
        key = "o:" + op.key
        until = self._once.get(key)
        if until is not None and until > now:
            return False
        self._once[key] = now + op.seconds
        self._touch(key, now, op.seconds)
        return True

    def _swap_op(self, op: Swap, now: float) -> str | None:
        key = "x:" + op.key
        previous = self._swap.get(key)
        self._swap[key] = (op.value, now + op.ttl)
        self._touch(key, now, op.ttl)
        return previous[0] if previous is not None and previous[1] > now else None

    def sweep(self, now: float) -> None:
        """Drop keys whose lifetime ended: per lifetime, oldest touched first, stopping at the
        first live one."""
        self._swept = now
        for bucket in self._expiry.values():
            while bucket:
                key, expiry = next(iter(bucket.items()))
                if expiry > now:
                    break
                del bucket[key]
                self._drop(key)

    def _drop(self, key: str) -> None:
        self._windows.pop(key, None)
        self._seen.pop(key, None)
        self._seen_first.pop(key, None)
        self._once.pop(key, None)
        self._swap.pop(key, None)


class _WindowState:
    """One sliding window: entries in arrival order with running totals, so reads are O(1)."""

    __slots__ = ("entries", "members", "total", "kept", "kept_times", "kept_total")

    def __init__(self) -> None:
        self.entries: deque[tuple[float, str, int, bool]] = deque()
        self.members: dict[str, int] = {}
        self.total = 0
        self.kept: deque[Evidence] = deque()        # the most recent evidence, with its times beside
        self.kept_times: deque[float] = deque()
        self.kept_total = 0

    def add(self, now: float, member: str, weight: int, keep: Evidence | None) -> None:
        self.entries.append((now, member, weight, keep is not None))
        self.total += weight
        if member:
            self.members[member] = self.members.get(member, 0) + 1
        if keep is not None:
            self.kept.append(keep)
            self.kept_times.append(now)
            self.kept_total += 1
            if len(self.kept) > KEEP_EVIDENCE:
                self.kept.popleft()
                self.kept_times.popleft()

    def expire(self, horizon: float) -> None:
        """Forget entries at or before ``horizon`` (entries arrive in time order; a log's few
        out-of-order lines only stay a little longer)."""
        entries = self.entries
        while entries and entries[0][0] <= horizon:
            _, member, weight, kept = entries.popleft()
            self.total -= weight
            if member:
                left = self.members[member] - 1
                if left:
                    self.members[member] = left
                else:
                    del self.members[member]
            if kept:
                self.kept_total -= 1
        while self.kept_times and self.kept_times[0] <= horizon:
            self.kept.popleft()
            self.kept_times.popleft()
