"""The report from the history store (``logs report --db PATH``): weeks of logins, failures,
volumes and findings that ``logs alerts --db``/``logs watch --db`` recorded, without the logs.

Read-only (SQLite ``mode=ro``), refused for a schema version this saslscope does not know. The
findings are the ones kept in the store (``Finding.to_dict`` JSON), judged into verdicts with the
given configuration's thresholds.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.detect.verdicts import judge_accounts
from saslscope.history import schema
from saslscope.history.store import StoreError
from saslscope.htmlreport.data import Collector, ReportData


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def finding_from_dict(data: dict[str, Any]) -> Finding:
    """The inverse of :meth:`Finding.to_dict`; ValueError/KeyError/TypeError on another shape."""
    return Finding(
        kind=Kind(data["kind"]), severity=Severity.parse(data["severity"]), reason=str(data["reason"]),
        start=_time(data.get("start")), end=_time(data.get("end")), username=data.get("username"),
        ip=data.get("ip"), metrics=dict(data.get("metrics") or {}),
        evidence=tuple(Evidence(str(e["source"]), e.get("line"), str(e["text"]), _time(e.get("time")))
                       for e in data.get("evidence") or ()),
        evidence_total=int(data.get("evidence_total") or 0))


def from_store(path: str, config: DetectConfig) -> ReportData:
    """Raises :class:`StoreError` when ``path`` is not a readable history store."""
    if not Path(path).is_file():
        raise StoreError(f"{path}: no history store there")
    try:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            schema.check(conn)
            return _read(conn, path, config)
        finally:
            conn.close()
    except (sqlite3.Error, schema.SchemaError) as exc:
        raise StoreError(f"{path}: cannot read the history store ({exc})") from None


def _read(conn: sqlite3.Connection, path: str, config: DetectConfig) -> ReportData:
    collector = Collector()
    sources: set[str] = set()
    for when, kind, account, ip, source, country in conn.execute(
            "SELECT time, kind, account, ip, source, country FROM events ORDER BY time"):
        stamp = datetime.fromtimestamp(when, UTC)
        sources.add(source)
        if kind == "login" and account is not None:
            collector.login(account, stamp, ip, country=country)
        elif kind == "failure":
            collector.failure(account, stamp, ip)
    for account, hour, messages, recipients in conn.execute(
            "SELECT account, hour, messages, recipients FROM volume WHERE messages > 0 OR recipients > 0"):
        collector.volume(account, hour, messages, recipients)
    findings: list[Finding] = []
    damaged = 0
    for (data,) in conn.execute("SELECT data FROM findings ORDER BY time"):
        try:
            findings.append(finding_from_dict(json.loads(data)))
        except (ValueError, KeyError, TypeError):
            damaged += 1
    verdicts = {a.username: a for a in judge_accounts(findings, config.verdicts)}
    notes = [f"{damaged} stored findings could not be read and are left out"] if damaged else []
    return collector.result(findings, verdicts, [path, *sorted(sources)], None, notes)
