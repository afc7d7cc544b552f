"""From log files to the page: the analysis (logins, failures) and the engine's findings."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from saslscope.detect.config import DetectConfig
from saslscope.detect.engine import Engine
from saslscope.detect.findings import Finding
from saslscope.htmlreport import data, page
from saslscope.maillog.follow import Line
from saslscope.maillog.sources import iter_lines
from saslscope.watch.pipeline import ParsedSignals


@dataclass
class Generated:
    html: str
    accounts: int
    findings: int
    lines: int


def findings_from_logs(paths: Sequence[str], config: DetectConfig, year: int | None = None,
                       syslog_name: str | None = None) -> list[Finding]:
    """The engine over every line of ``paths`` in time order (what ``logs alerts`` finds)."""
    engine = Engine(config)
    adapter = ParsedSignals(year=year, syslog_name=syslog_name)
    found: list[Finding] = []
    for source, number, raw in iter_lines(paths):
        for signal in adapter.feed(Line(source, number, raw)):
            found.extend(engine.feed(signal))
    return found


def generate(paths: Sequence[str], config: DetectConfig, year: int | None = None,
             syslog_name: str | None = None) -> Generated:
    from saslscope.maillog import analyze

    analysis = analyze(list(paths), year=year, syslog_name=syslog_name)
    findings = findings_from_logs(paths, config, year, syslog_name)
    verdicts = data.verdicts_from(findings)
    results = analysis.results
    built = data.build(results.logins, results.failures, findings, verdicts, analysis.sources, analysis.lines.total)
    return Generated(page.render(built), len(built.accounts), len(findings), analysis.lines.total)


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
