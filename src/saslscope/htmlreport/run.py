"""From log files to the page: the analysis (logins, failures) and the engine's findings."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from saslscope.detect.config import DetectConfig
from saslscope.htmlreport import data, page


@dataclass
class Generated:
    html: str
    accounts: int
    findings: int
    lines: int


def generate(paths: Sequence[str], config: DetectConfig, year: int | None = None,
             syslog_name: str | None = None) -> Generated:
    """The analysis (logins, failures) and ``logs alerts``' findings and verdicts, as a page."""
    from saslscope.detect.alerts import alerts_from_logs
    from saslscope.maillog import analyze

    analysis = analyze(list(paths), year=year, syslog_name=syslog_name)
    alerts = alerts_from_logs(paths, config, year=year, syslog_name=syslog_name)
    verdicts = {account.username: account for account in alerts.accounts}
    results = analysis.results
    built = data.build(results.logins, results.failures, alerts.findings, verdicts, analysis.sources,
                       analysis.lines.total, notes=alerts.notes)
    return Generated(page.render(built), len(built.accounts), len(alerts.findings), analysis.lines.total)


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it over: a reader never sees half a page."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
