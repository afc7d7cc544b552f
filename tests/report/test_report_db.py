"""``logs report --db``: the page drawn from the history store that ``logs watch --db`` filled."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.htmlreport.from_store import finding_from_dict
from tests.report import planted


def test_finding_json_round_trip() -> None:
    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    finding = Finding(Kind.VOLUME_SPIKE, Severity.HIGH, "r", when, None, "a@x", None, {"messages": 40},
                      (Evidence("m.log", 3, "<b>", when), Evidence("postfix-policy", None, "x=y")), 7)
    assert finding_from_dict(finding.to_dict()) == finding


def test_report_from_the_store_shows_what_watch_recorded(tmp_path: Path) -> None:
    log, db, page = planted.write(tmp_path / "mail.log"), tmp_path / "history.db", tmp_path / "report.html"
    err = tmp_path / "watch.err"
    watch = subprocess.Popen([sys.executable, "-m", "saslscope", "logs", "watch", "--from-start", "--db", str(db),
                              str(log)], stdout=subprocess.DEVNULL, stderr=open(err, "wb"))
    deadline = time.monotonic() + 120
    while "opened" not in err.read_text():
        assert time.monotonic() < deadline and watch.poll() is None, err.read_text()
        time.sleep(0.05)
    time.sleep(0.5)
    watch.send_signal(signal.SIGTERM)
    assert watch.wait(60) == 0
    assert re.search(r"stopped: 18358 lines read", err.read_text()), err.read_text()

    done = subprocess.run([sys.executable, "-m", "saslscope", "logs", "report", "--db", str(db), "--html", str(page)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert planted.VICTIM in html and "history store" in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;@evil.example" in html and "<script>window" not in html
    assert re.search(r"Verdicts \(3 accounts with findings\)", html)
    assert f"{planted.ACCOUNTS + 3} accounts" in done.stderr


def test_report_wants_files_or_a_store(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "saslscope", "logs", "report", "--db", str(tmp_path / "none.db"),
                           "--html", str(tmp_path / "r.html")], capture_output=True, text=True)
    assert done.returncode == 7 and "no history store" in done.stderr
