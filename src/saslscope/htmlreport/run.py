"""From log files (or the history store) to the page: logs alerts' findings and the series beside them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from saslscope.detect.config import DetectConfig
from saslscope.detect.geolookup import GeoLookup
from saslscope.htmlreport import data, page


@dataclass
class Generated:
    html: str
    accounts: int
    findings: int
    lines: int | None


def generate(paths: Sequence[str], config: DetectConfig, year: int | None = None,
             syslog_name: str | None = None, own_addresses: Sequence[str] = (), geo: GeoLookup | None = None
             ) -> Generated:
    """One pass over the logs: ``logs alerts``' adapter and engine, the page's series folded
    from the same signals. Raises :class:`~saslscope.maillog.sources.LogInputError`."""
    from saslscope.detect.alerts import run
    from saslscope.detect.from_maillog import MaillogSignals
    from saslscope.maillog.sources import Warnings, expand

    source = MaillogSignals(year=year, syslog_name=syslog_name, own_addresses=own_addresses,
                            loopback_is_local=config.networks.loopback_is_local)
    collector = data.Collector(geo)
    warnings = Warnings()
    alerts = run(collector.observe(source.read(paths, warnings)), config, geo=geo)
    verdicts = {account.username: account for account in alerts.accounts}
    notes = [*alerts.notes, *warnings.messages]
    if source.counts.unparsed:
        notes.append(f"{source.counts.unparsed} lines were not understood and skipped")
    built = collector.result(alerts.findings, verdicts, expand(list(paths)), source.counts.total, notes)
    return Generated(page.render(built), len(built.accounts), len(alerts.findings), source.counts.total)


def generate_from_store(path: str, config: DetectConfig) -> Generated:
    """The page from a history store (see :mod:`.from_store`)."""
    from saslscope.htmlreport.from_store import from_store

    built = from_store(path, config)
    return Generated(page.render(built), len(built.accounts), len(built.findings), None)
