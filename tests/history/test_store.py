from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.history import BaselineReader, HistoryStore, StoreError, ingest
from saslscope.history.schema import SCHEMA_VERSION


def test_created_on_first_use_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db"):
        pass
    conn = sqlite3.connect(tmp_path / "h.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_schema_or_another_file_is_refused_with_the_file_named(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    sqlite3.connect(newer).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=r"newer\.db.*upgrade saslscope"):
        HistoryStore(newer)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"x" * 4096)
    with pytest.raises(StoreError, match=r"junk\.db"):
        HistoryStore(junk)
    with pytest.raises(StoreError, match="no history store"):
        BaselineReader(tmp_path / "absent.db")


def test_a_second_writer_waits_for_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from saslscope.history import store as store_module

    monkeypatch.setattr(store_module, "WRITE_LOCK_TIMEOUT", 0.1)
    with HistoryStore(tmp_path / "h.db") as first, HistoryStore(tmp_path / "h.db") as second:
        first.begin()
        with pytest.raises(StoreError, match="another process holds"):
            second.begin()
        first.commit()
        second.begin()
        second.commit()


def _finding(user: str, end: datetime) -> Finding:
    return Finding(Kind.NEW_NETWORK, Severity.MEDIUM, "logged in from a new network", end - timedelta(minutes=5), end,
                   username=user, ip="203.0.113.9", metrics={"networks": 3},
                   evidence=(Evidence("mail.log", 7, "line <b>7</b>", end),), evidence_total=1)


def test_findings_kept_once_and_old_things_pruned_by_log_time(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(
        "2026-01-01T10:00:00Z mail postfix/smtpd[1]: 3F2A10001: client=h[192.0.2.5], sasl_method=PLAIN, sasl_username=old@x.test\n"
        "2026-06-01T10:00:00Z mail postfix/smtpd[2]: 3F2A10002: client=h[192.0.2.6], sasl_method=PLAIN, sasl_username=new@x.test\n")
    db = tmp_path / "h.db"
    end = datetime(2026, 6, 1, 10, tzinfo=UTC)
    keep_all = DetectConfig.from_table({"history": {"events": "1000d"}})
    with HistoryStore(db) as store:
        run = ingest(store, [str(log)], keep_all)
        assert run.lines_read == 2
        store.begin()
        store.add_findings([_finding("new@x.test", end), _finding("new@x.test", end)])
        store.add_findings([_finding("old@x.test", datetime(2026, 1, 1, 10, tzinfo=UTC))])
        removed = store.prune(events=90 * 86400, baseline=400 * 86400, findings=30 * 86400)
        store.commit()
    assert removed["events"] == 1 and removed["findings"] == 1 and removed["accounts"] == 0
    reader = BaselineReader(db)
    assert [f["username"] for f in reader.findings("new@x.test") or []] == ["new@x.test"]
    assert reader.events("old@x.test") == [] and reader.account("old@x.test") is not None
