"""``logs alerts`` as a library: signals in, findings and per-account verdicts out.

>>> from saslscope.detect.alerts import alerts_from_logs
>>> report = alerts_from_logs(["/var/log/mail.log"], DetectConfig())
>>> report.accounts[0].verdict, report.to_dict()["findings"][0]["evidence"]

:func:`run` takes any signals and any state backend, so the history store (``--db``) can hand a
state that remembers networks and baselines across runs, and ``on_finding`` can record each
finding as it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from saslscope.detect.config import DetectConfig
from saslscope.detect.engine import Engine
from saslscope.detect.findings import Finding, Severity
from saslscope.detect.from_maillog import MaillogSignals
from saslscope.detect.geolookup import GeoLookup
from saslscope.detect.signals import Signal
from saslscope.detect.state import State
from saslscope.detect.verdicts import AccountVerdict, judge_accounts
from saslscope.maillog.analysis import LineCounts
from saslscope.maillog.gcpause import cyclic_gc_paused
from saslscope.maillog.sources import Warnings

GEO_NOTE = "no GeoIP database given: new_country, impossible_travel and country/ASN spread were not judged"


@dataclass
class AlertsReport:
    accounts: list[AccountVerdict]
    findings: list[Finding]                  # most severe first, then oldest
    signals: int = 0
    lines: LineCounts | None = None
    skipped: int = 0                         # of lines.ignored: lines no signal can come from
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def to_dict(self) -> dict[str, object]:
        """``--json``: ``accounts`` (each naming its findings by index into ``findings``),
        ``findings`` (:meth:`Finding.to_dict`), ``notes`` and the line counts."""
        index = {id(f): n for n, f in enumerate(self.findings)}
        accounts = [{"username": a.username, "verdict": str(a.verdict), "score": a.score, "kinds": a.kinds,
                     "findings": [index[id(f)] for f in a.findings]} for a in self.accounts]
        data: dict[str, object] = {"accounts": accounts, "findings": [f.to_dict() for f in self.findings],
                                   "signals": self.signals, "notes": self.notes}
        if self.lines is not None:
            data["lines"] = {"total": self.lines.total, "parsed": self.lines.parsed,
                             "ignored": self.lines.ignored, "unparsed": self.lines.unparsed,
                             "skipped": self.skipped}
        return data


def _order(finding: Finding) -> tuple[int, float]:
    return (-finding.severity, finding.start.timestamp() if finding.start else 0.0)


def run(signals: Iterable[Signal], config: DetectConfig, *, state: State | None = None,
        geo: GeoLookup | None = None, on_finding: Callable[[Finding], None] | None = None,
        on_signal: Callable[[Signal], None] | None = None) -> AlertsReport:
    """Feed ``signals`` (in time order) through every detector and judge the accounts.

    ``on_signal`` sees each signal before the detectors (a history store records the logins
    and failures it learns from), ``on_finding`` each finding as it is made."""
    engine = Engine(config, state=state, geo=geo)
    findings: list[Finding] = []
    count = 0
    # the windows hold 10^5 small objects without cycles; the cyclic collector walking them
    # again and again cost more than the detectors (1M-line bench log: 23 -> ~12 s CPU)
    with cyclic_gc_paused():
        for signal in signals:
            count += 1
            if on_signal is not None:
                on_signal(signal)
            for finding in engine.feed(signal):
                findings.append(finding)
                if on_finding is not None:
                    on_finding(finding)
    findings.sort(key=_order)
    notes = [] if geo is not None else [GEO_NOTE]
    return AlertsReport(judge_accounts(findings, config.verdicts), findings, count, notes=notes)


def alerts_from_logs(paths: Iterable[str], config: DetectConfig, *, year: int | None = None,
                     syslog_name: str | None = None, own_addresses: Iterable[str] = (),
                     now: datetime | None = None, state: State | None = None, geo: GeoLookup | None = None,
                     on_finding: Callable[[Finding], None] | None = None,
                     on_signal: Callable[[Signal], None] | None = None) -> AlertsReport:
    """:func:`run` over mail logs (files, rotated sets, compressed, ``-``; journald JSON lines).
    Raises :class:`~saslscope.maillog.sources.LogInputError` for an unreadable input."""
    source = MaillogSignals(year=year, syslog_name=syslog_name, own_addresses=own_addresses, now=now,
                            loopback_is_local=config.networks.loopback_is_local)
    warnings = Warnings()
    report = run(source.read(paths, warnings), config, state=state, geo=geo, on_finding=on_finding,
                 on_signal=on_signal)
    report.lines = source.counts
    report.skipped = source.skipped
    report.warnings = list(warnings.messages)
    if source.counts.unparsed:
        report.notes.append(f"{source.counts.unparsed} lines were not understood and skipped "
                            "(saslscope logs summary --show-unparsed lists them)")
    return report
