"""The columnar wire format between a chunk's worker process and the parent (see :mod:`.parallel`).

A chunk's result is tens of thousands of small records (slots dataclasses with datetimes)
and, for a later chunk, a :class:`~saslscope.maillog.correlate.Boundary` of as many entries.
Pickled, they are slow to send: pickle memoizes every object and rebuilds each dataclass
through a Python-level ``__reduce__``. So a worker sends one bytes object instead: every
record list as columns of plain values (str, int, None, tuple, dict) written by marshal,
which has no per-object memo, and every datetime as an index into a table of the chunk's
distinct datetimes (records of the same second share one), each sent once as integers. The
few objects with a graph behind them (open messages, unparsed lines) and the time zones are
pickled inside it. The cyclic garbage collector is paused meanwhile: every object made is
kept, and its passes over them would cost most of an unpack. docs/logs.md has the numbers.
"""

from __future__ import annotations

import marshal
import pickle
from dataclasses import dataclass, fields
from datetime import datetime, timezone, tzinfo
from operator import attrgetter
from typing import Any, cast

from saslscope.maillog import events as ev
from saslscope.maillog.correlate import AuthOnlySession, Boundary, Failure, Login, Message, Results, SessionStart
from saslscope.maillog.feed import LineCounts, UnparsedLine
from saslscope.maillog.gcpause import cyclic_gc_paused

YearState = tuple[int | None, int]     # a YearTracker's (year, last_month)


@dataclass
class ChunkResult:
    results: Results
    boundary: Boundary | None
    own_ips: set[str]
    counts: LineCounts
    unparsed: list[UnparsedLine]               # line numbers counted from the chunk's start
    warnings: list[str]
    long_lines: int                            # lines cut at the line cap
    first_stamp: tuple[int, int] | None        # (month, day) of the first BSD stamp read
    years: YearState                           # where the chunk left the year inference


# the Results lists (traced stays empty: chunks never keep raw lines) and their record types
RECORD_TYPES: dict[str, type] = {
    "logins": Login, "failures": Failure, "auth_only": AuthOnlySession, "dovecot": ev.DovecotLogin,
    "dovecot_failures": ev.DovecotAuthFailure, "rejects_with_sasl": ev.Reject}

_DATETIME_FIELDS = ("year", "month", "day", "hour", "minute", "second", "microsecond")


def _field_names(record_type: type) -> tuple[list[str], set[str]]:
    """A record type's fields in __init__ order, and those holding datetimes."""
    names = [f.name for f in fields(record_type)]
    return names, {f.name for f in fields(record_type) if "datetime" in str(f.type)}


class _TimeTable:
    """The distinct datetime objects of a chunk's records; position 0 is None.

    Written with map() and dict builders rather than a loop per value: 150,000 values a chunk.
    """

    def __init__(self) -> None:
        self.times: list[datetime | None] = [None]
        self._positions: dict[int, int] = {id(None): 0}    # by identity: equal instants may differ in zone

    def positions(self, values: list[datetime | None]) -> list[int]:
        positions, times = self._positions, self.times
        ids = list(map(id, values))
        for key, value in dict(zip(ids, values)).items():     # each distinct object once
            if key not in positions:
                positions[key] = len(times)
                times.append(value)       # kept alive, so its id is not reused
        return list(map(positions.__getitem__, ids))

    def pack(self) -> tuple[list[list[int]], list[int], list[int], list[tzinfo | None]]:
        """The datetimes as columns of their fields and of zone indexes, the positions whose
        fold is 1, and the zones."""
        stamps = self.times[1:]
        zones: list[tzinfo | None] = []
        zone_positions: dict[Any, int] = {}
        zone_column = []
        for zone in map(attrgetter("tzinfo"), stamps):
            # timezone objects are equal whatever their name; their init args tell them apart
            key = cast(Any, zone).__getinitargs__() if type(zone) is timezone else zone
            position = zone_positions.get(key)
            if position is None:
                position = zone_positions[key] = len(zones)
                zones.append(zone)
            zone_column.append(position)
        folded = [n for n, fold in enumerate(map(attrgetter("fold"), stamps), start=1) if fold]
        return [list(map(attrgetter(name), stamps)) for name in _DATETIME_FIELDS], zone_column, folded, zones


def _unpack_times(columns: list[list[int]], zone_column: list[int], folded: list[int],
                  zones: list[tzinfo | None]) -> list[datetime | None]:
    times: list[datetime | None] = [None, *map(datetime, *columns, map(zones.__getitem__, zone_column))]
    for position in folded:
        times[position] = times[position].replace(fold=1)    # type: ignore[union-attr]
    return times


def _pack_records(records: list[Any], record_type: type, table: _TimeTable) -> list[list[Any]]:
    names, time_names = _field_names(record_type)
    columns = [list(map(attrgetter(name), records)) for name in names]
    return [table.positions(column) if name in time_names else column for name, column in zip(names, columns)]


def _unpack_records(columns: list[list[Any]], record_type: type, times: list[datetime | None]) -> list[Any]:
    names, time_names = _field_names(record_type)
    values = [list(map(times.__getitem__, column)) if name in time_names else column
              for name, column in zip(names, columns)]
    return list(map(record_type, *values))


def pack(outcome: ChunkResult) -> bytes:
    """A chunk's result as one bytes object for :func:`unpack` (see the wire comment above)."""
    with cyclic_gc_paused():
        return _pack(outcome)


def unpack(data: bytes) -> ChunkResult:
    """The :class:`ChunkResult` that :func:`pack` was given (a message begun before the chunk
    carries only its queue id, sender, size and nrcpt: all the merge reads of it)."""
    with cyclic_gc_paused():
        return _unpack(data)


def _pack(outcome: ChunkResult) -> bytes:
    table = _TimeTable()
    res = outcome.results
    records = [_pack_records(getattr(res, name), record_type, table) for name, record_type in RECORD_TYPES.items()]
    boundary = outcome.boundary
    if boundary is None:
        boundary_parts = None
        open_messages: list[Message] = []
    else:
        # of a message begun before the chunk, the merge reads only what qmgr's from= line said
        message_starts = [None if m is None else (m.sender, m.size, m.nrcpt)
                          for m in boundary.message_starts.values()]
        boundary_parts = (list(boundary.session_starts),
                          _pack_records(list(boundary.session_starts.values()), SessionStart, table),
                          list(boundary.message_starts), message_starts, boundary.open_sessions)
        open_messages = boundary.open_messages
    time_columns, zone_column, folded, zones = table.pack()
    objects = pickle.dumps((zones, open_messages, outcome.counts, outcome.unparsed), pickle.HIGHEST_PROTOCOL)
    return marshal.dumps((objects, time_columns, zone_column, folded, records, res.sasl_messages, boundary_parts,
                          outcome.own_ips, outcome.warnings, outcome.long_lines, outcome.first_stamp, outcome.years))


def _unpack(data: bytes) -> ChunkResult:
    (objects, time_columns, zone_column, folded, records, sasl_messages, boundary_parts, own_ips, warnings,
     long_lines, first_stamp, years) = marshal.loads(data)
    zones, open_messages, counts, unparsed = pickle.loads(objects)
    times = _unpack_times(time_columns, zone_column, folded, zones)
    res = Results(sasl_messages=sasl_messages)
    for (name, record_type), columns in zip(RECORD_TYPES.items(), records):
        setattr(res, name, _unpack_records(columns, record_type, times))
    boundary = None
    if boundary_parts is not None:
        session_keys, session_starts, queue_ids, message_starts, open_sessions = boundary_parts
        boundary = Boundary(
            dict(zip(session_keys, _unpack_records(session_starts, SessionStart, times))),
            {qid: None if seen is None else Message(qid, None, sender=seen[0], size=seen[1], nrcpt=seen[2])
             for qid, seen in zip(queue_ids, message_starts)},
            open_sessions, open_messages)
    return ChunkResult(res, boundary, own_ips, counts, unparsed, warnings, long_lines, first_stamp, years)


