"""``logs alerts --db``: detection over only what is new, against baselines of every earlier run.

One run: the files' new bytes (:class:`~saslscope.history.ingest.Ingest`) become signals once;
each is recorded for the baselines and fed to the detectors, whose state answers from memory and
from the store as it was before this run (:class:`~saslscope.history.state.HistoryState`: a
reader sees only committed data, so nothing of this run is counted twice). The findings are
stored with the counts and positions in the run's one transaction.

A rerun with nothing new reads no log line: it reports no new finding. The accounts that a
``check_sasl_access`` table holds are judged over the stored findings of the last
``[history] enforce_for`` (log time) as well, so an account flagged yesterday stays held.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from saslscope.detect import alerts as detect_alerts
from saslscope.detect.addresses import Grouping
from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.detect.from_maillog import MaillogSignals
from saslscope.detect.geolookup import GeoLookup
from saslscope.detect.verdicts import AccountVerdict, judge_accounts
from saslscope.history.ingest import Ingest
from saslscope.history.state import HistoryState
from saslscope.history.store import BaselineReader, HistoryStore
from saslscope.maillog.sources import check_readable, expand


@dataclass
class HistoryRun:
    """What the run read and kept."""

    lines: int
    bytes: int
    files_skipped: int
    findings_stored: int

    def note(self, db: str) -> str:
        if not self.lines:
            return (f"history {db}: nothing new since the last run ({self.files_skipped} file(s) done); "
                    "earlier findings: saslscope logs account USER --db")
        return (f"history {db}: read {self.lines} new line(s) ({self.bytes} bytes), {self.files_skipped} "
                f"file(s) had nothing new; {self.findings_stored} finding(s) stored")


def alerts_with_history(paths: Iterable[str], config: DetectConfig, db: str, *, geo: GeoLookup | None = None,
                        year: int | None = None, syslog_name: str | None = None, own_addresses: Iterable[str] = (),
                        now: datetime | None = None) -> tuple[detect_alerts.AlertsReport, HistoryRun]:
    """:func:`saslscope.detect.alerts.run` over the new lines of ``paths``, with the store at ``db``.
    Raises :class:`~saslscope.history.store.StoreError` and
    :class:`~saslscope.maillog.sources.LogInputError`."""
    paths = expand(list(paths))
    check_readable(paths)                   # fail before minutes of reading, not after
    source = MaillogSignals(year=year, syslog_name=syslog_name, own_addresses=own_addresses, now=now,
                            loopback_is_local=config.networks.loopback_is_local)
    with HistoryStore(db) as store:
        run = Ingest(store, source, grouping=Grouping(config.networks), geo=geo, year=year, now=now)
        reader = BaselineReader(db, budget=config.history.read_budget)
        try:
            report = detect_alerts.run(run.signals(paths), config, state=HistoryState(reader), geo=geo)
            run.commit(report.findings, retention=config.history.retention())
        except BaseException:
            run.abort()
            raise
        finally:
            reader.close()
    report.lines = source.counts
    report.warnings = list(run.warnings.messages)
    if reader.failures:
        report.warnings.append(f"history {db}: {reader.failures} baseline read(s) took longer than "
                               f"{config.history.read_budget:g} s and were judged from memory alone")
    return report, HistoryRun(run.lines_read, run.bytes_read, run.files_skipped, len(report.findings))


def finding_from_dict(data: dict[str, Any]) -> Finding:
    """A stored finding (:meth:`Finding.to_dict`'s shape) as a :class:`Finding` again."""
    def when(value: object) -> datetime | None:
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    evidence = tuple(Evidence(str(e["source"]), e["line"], str(e["text"]), when(e["time"])) for e in data["evidence"])
    return Finding(kind=Kind(data["kind"]), severity=Severity.parse(str(data["severity"])), reason=str(data["reason"]),
                   start=when(data["start"]), end=when(data["end"]), username=data["username"], ip=data["ip"],
                   metrics=dict(data["metrics"]), evidence=evidence, evidence_total=int(data["evidence_total"]))


def recent_verdicts(db: str, config: DetectConfig) -> list[AccountVerdict]:
    """Verdicts over the stored findings of the last ``[history] enforce_for`` before the newest."""
    with HistoryStore(db) as store:
        newest = store.newest()
        if newest is None:
            return []
        rows = store.conn.execute("SELECT data FROM findings WHERE time >= ? AND username IS NOT NULL",
                                  (newest - config.history.enforce_for,)).fetchall()
    return judge_accounts((finding_from_dict(json.loads(data)) for (data,) in rows), config.verdicts)
