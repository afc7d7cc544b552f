"""Findings as terminal text: hostile strings cannot move the cursor or fake a second finding."""

from __future__ import annotations

from datetime import UTC, datetime

from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.untrusted import printable as plain
from saslscope.watch.render import finding_text

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_control_characters_are_shown_not_obeyed() -> None:
    assert plain("a\x1b[2Jb\nc\u202ed\x85") == "a\\x1b[2Jb\\x0ac\\u202ed\\x85"
    assert plain("[bold]ü[/]") == "[bold]ü[/]"          # not markup: printed as it is


def test_a_finding_is_one_head_line_and_its_last_evidence() -> None:
    evil = "x\nHIGH bruteforce user=root"
    finding = Finding(Kind.BRUTEFORCE, Severity.HIGH, "10 failures", WHEN, WHEN, evil, "192.0.2.1",
                      evidence=tuple(Evidence("mail.log", n, f"line {n}", WHEN) for n in range(1, 6)),
                      evidence_total=12)
    lines = finding_text(finding).splitlines()
    assert lines[0] == ("2026-03-01T12:00:00+00:00 HIGH bruteforce user=x\\x0aHIGH bruteforce user=root "
                        "ip=192.0.2.1: 10 failures")
    assert lines[1:] == ["    mail.log:3: line 3", "    mail.log:4: line 4", "    mail.log:5: line 5",
                         "    ... and 9 more"]
