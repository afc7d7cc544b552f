"""The history-backed state answers Seen and seeds Window from earlier runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from saslscope.detect.findings import Evidence
from saslscope.detect.state import Baseline, Seen, SeenAnswer, Window, WindowCount
from saslscope.history import BaselineReader, HistoryState, HistoryStore, ingest

DAY = 86400.0


def _log(path: Path, lines: list[tuple[str, str, str]]) -> Path:
    """RFC 3339 client= lines and their qmgr lines (a message each): (time, user, ip)."""
    text = "".join(
        f"{when} mail postfix/submission/smtpd[{100 + i}]: {i + 0x3F2A1000:X}: client=h[{ip}], sasl_method=PLAIN, "
        f"sasl_username={user}\n{when} mail postfix/qmgr[9]: {i + 0x3F2A1000:X}: from=<{user}>, size=9, nrcpt=1 "
        f"(queue active)\n" for i, (when, user, ip) in enumerate(lines))
    path.write_text(text)
    return path


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_seen_is_known_from_an_earlier_run_and_the_learning_period_starts_there(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with HistoryStore(db) as store:
        ingest(store, [str(_log(tmp_path / "a.log", [("2026-09-01T10:00:00Z", "alice@x.test", "192.0.2.5"),
                                                       ("2026-09-20T10:00:00Z", "alice@x.test", "192.0.2.9")]))])
    reader = BaselineReader(db)
    state = HistoryState(reader)
    now = _ts("2026-10-01T09:00:00+00:00")
    ref = Baseline("alice@x.test", "network")
    old, new, far = state.apply([Seen("net:alice", "192.0.2.0/24", 30 * DAY, ref),
                                 Seen("net:alice", "203.0.113.0/24", 30 * DAY, ref),
                                 Seen("net:alice", "192.0.2.0/24", 5 * DAY, ref)], now)
    assert isinstance(old, SeenAnswer) and old.known and old.first == _ts("2026-09-01T10:00:00+00:00")
    assert isinstance(new, SeenAnswer) and not new.known and new.members == 2
    assert isinstance(far, SeenAnswer) and far.known   # seen by memory a moment ago
    # memory alone (no store) knows nothing of September
    alone = HistoryState(None).apply([Seen("net:alice", "192.0.2.0/24", 30 * DAY, ref)], now)[0]
    assert isinstance(alone, SeenAnswer) and not alone.known


def test_window_is_seeded_once_with_hourly_counts_inside_it(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    earlier = [(f"2026-09-{d:02d}T10:{m:02d}:00Z", "bob@x.test", "192.0.2.5") for d in (1, 25, 28) for m in (1, 2)]
    with HistoryStore(db) as store:
        ingest(store, [str(_log(tmp_path / "b.log", earlier))])
    state = HistoryState(BaselineReader(db))
    now = _ts("2026-09-30T10:00:00+00:00")
    evidence = Evidence("-", 1, "x", datetime.fromtimestamp(now, UTC))
    op = Window("msg:bob", 7 * DAY, keep=evidence, baseline=Baseline("bob@x.test", "messages"))
    first = state.apply([op], now)[0]
    second = state.apply([op], now + 1)[0]
    assert isinstance(first, WindowCount) and first.total == 4 + 1      # Sept 25 and 28 are inside 7 days
    assert isinstance(second, WindowCount) and second.total == 4 + 2    # not seeded twice


def test_a_store_that_does_not_answer_in_time_falls_back_to_memory(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with HistoryStore(db) as store:
        ingest(store, [str(_log(tmp_path / "a.log", [("2026-09-01T10:00:00Z", "alice@x.test", "192.0.2.5")]))])
    reader = BaselineReader(db, budget=-1.0)        # every query is over budget at once
    answer = HistoryState(reader).apply(
        [Seen("k", "192.0.2.0/24", 30 * DAY, Baseline("alice@x.test", "network"))], _ts("2026-09-02T00:00:00+00:00"))[0]
    assert isinstance(answer, SeenAnswer) and not answer.known
    assert reader.failures == 1


def test_seeded_keys_of_windows_long_idle_are_forgotten(tmp_path: Path) -> None:
    """A follower running for days keeps no key for an address seen once."""
    db = tmp_path / "h.db"
    with HistoryStore(db) as store:
        ingest(store, [str(_log(tmp_path / "a.log", [("2026-09-01T10:00:00Z", "alice@x.test", "192.0.2.5")]))])
    state = HistoryState(BaselineReader(db))
    start = _ts("2026-09-02T00:00:00+00:00")
    sizes = []
    for n in range(3000):                                   # a new address every 10 s, one-hour windows
        now = start + n * 10
        state.apply([Window(f"bf:203.0.{n // 250}.{n % 250}\0alice@x.test", 3600.0,
                            baseline=Baseline("alice@x.test", "failures", f"203.0.{n // 250}.{n % 250}"))], now)
        sizes.append(len(state))
    assert max(sizes[-1000:]) <= 2 * (3600 // 10) + 100     # bounded by the window, not the run


def test_the_reader_answers_from_several_threads(tmp_path: Path) -> None:
    """``policy serve`` may ask from worker threads; the shared connection is used by one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    db = tmp_path / "h.db"
    with HistoryStore(db) as store:
        ingest(store, [str(_log(tmp_path / "a.log", [("2026-09-01T10:00:00Z", f"u{n}@x.test", f"192.0.2.{n}")
                                                       for n in range(1, 60)]))])
    reader = BaselineReader(db, budget=5.0, cache=1)       # no cache: every call queries
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda n: reader.seen(f"u{n}@x.test", "network"), [n % 59 + 1 for n in range(400)]))
    assert all(values is not None and "192.0.2.0/24" in values for values in found)
    assert reader.failures == 0
