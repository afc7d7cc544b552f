"""A state backend that knows weeks of history: memory first, the history store behind it.

Detectors ask the same questions of every backend (:mod:`saslscope.detect.state`); an op that
names a :class:`~saslscope.detect.state.Baseline` is also answered from the store:

* ``Seen`` (has this account used this network/country/method before?): known when memory
  saw it, or when the store saw it within the op's ``ttl``; the learning period starts at the
  store's first sighting of any value of that dimension.
* ``Window`` (messages per hour against a 14-day window; failures of an account from one
  network): on its first use in this process the window is seeded with the store's hourly
  counts, or the stored failures with their log lines, inside it. A baseline spans every
  earlier run, and a finding can cite a line of a file read by an earlier run.

The store is read through a :class:`~saslscope.history.store.BaselineReader` (read-only, every
query bounded in time). When it does not answer in time, the op is answered from memory alone;
the reader counts those fallbacks. What this run ingests is not visible to it until the run
commits, so nothing is counted twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from saslscope.detect.findings import Evidence
from saslscope.detect.state import Answer, MemoryState, Op, Seen, SeenAnswer, Window
from saslscope.history.store import BaselineReader

#: seconds of event time between sweeps of the seeded keys
SWEEP_EVERY = 60.0


class HistoryState:
    """:class:`MemoryState` plus the history store's baselines (``reader`` None: memory only)."""

    def __init__(self, reader: BaselineReader | None, memory: MemoryState | None = None) -> None:
        self.reader = reader
        self.memory = memory if memory is not None else MemoryState()
        # window key -> until when it counts as seeded: its last use plus its length. A window
        # idle for longer holds nothing of what it was seeded with, so it may be seeded again,
        # and a follower running for weeks forgets the keys of addresses seen once.
        self._seeded: dict[str, float] = {}
        self._swept = float("-inf")

    def __len__(self) -> int:
        return len(self.memory) + len(self._seeded)

    def apply(self, ops: Sequence[Op], now: float) -> list[Answer]:
        reader = self.reader
        if reader is not None:
            seeded = self._seeded
            for op in ops:
                if type(op) is Window and op.baseline is not None:
                    if seeded.get(op.key, float("-inf")) < now:
                        self._seed(reader, op, now)
                    seeded[op.key] = now + op.seconds
            if now - self._swept > SWEEP_EVERY:
                self._swept = now
                for key in [key for key, until in seeded.items() if until < now]:
                    del seeded[key]
        answers = self.memory.apply(ops, now)
        if reader is not None:
            for index, op in enumerate(ops):
                if type(op) is Seen and op.baseline is not None:
                    answer = answers[index]
                    assert isinstance(answer, SeenAnswer)
                    answers[index] = self._seen(reader, op, answer, now)
        return answers

    def _seed(self, reader: BaselineReader, op: Window, now: float) -> None:
        ref = op.baseline
        assert ref is not None
        if reader.account(ref.account) is None:      # one cached query answers for a new account
            return
        if ref.dimension == "failures":
            for when, source, line, text in reader.failed_logins(ref.account, ref.within, now - op.seconds) or ():
                if when < now:
                    evidence = Evidence(source, line, text, datetime.fromtimestamp(when, UTC))
                    self.memory.apply([Window(op.key, op.seconds, keep=evidence)], when)
            return
        since = math.ceil((now - op.seconds) / 3600)
        if ref.dimension == "traffic":       # an entry per message, its share of the recipients as weight
            messages = dict(reader.hourly(ref.account, "messages", since) or ())
            recipients = dict(reader.hourly(ref.account, "recipients", since) or ())
            counts = [(hour, n, recipients.get(hour, n)) for hour, n in sorted(messages.items())]
        else:
            counts = [(hour, n, n) for hour, n in reader.hourly(ref.account, ref.dimension, since) or ()]
        for hour, entries, weight in counts:
            if hour * 3600 >= now:
                continue
            share, extra = divmod(weight, entries)
            self.memory.apply([Window(op.key, op.seconds, weight=max(share + (i < extra), 1))
                               for i in range(entries)], hour * 3600.0)

    @staticmethod
    def _seen(reader: BaselineReader, op: Seen, answer: SeenAnswer, now: float) -> SeenAnswer:
        assert op.baseline is not None
        if reader.account(op.baseline.account) is None:
            return answer
        values = reader.seen(op.baseline.account, op.baseline.dimension)
        if not values:
            return answer
        horizon = now - op.ttl
        recent = {value for value, seen in values.items() if seen.last_seen > horizon}
        first = min(seen.first_seen for seen in values.values())
        known = answer.known or op.member in recent
        members = max(answer.members, len(recent | {op.member}))
        return replace(answer, known=known, members=members,
                       first=min(first, answer.first) if answer.first is not None else first)
