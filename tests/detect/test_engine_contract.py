"""The engine's contract: state operations answered in memory, a detector's plan and judgement,
the config loader and printer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saslscope.detect import AuthFailed, ConfigError, DetectConfig, Engine, Evidence, Kind, Severity
from saslscope.detect.config import parse_duration, render_defaults
from saslscope.detect.state import KEEP_EVIDENCE, MemoryState, Once, Seen, SeenAnswer, Swap, Window, WindowCount

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _failure(seconds: float, ip: str = "192.0.2.7", user: str = "alice@example.org", line: int = 1) -> AuthFailed:
    time = T0 + timedelta(seconds=seconds)
    return AuthFailed(time=time, ip=ip, username=user, method="PLAIN", service="smtp",
                      evidence=Evidence("mail.log", line, f"line {line}", time))


def test_window_counts_distinct_members_and_forgets_old_entries() -> None:
    state = MemoryState()
    first = state.apply([Window("k", 60, member="a"), Window("k", 60, member="a"), Window("k", 60, member="b")], 0.0)
    assert first[-1] == WindowCount(total=3, distinct=2, kept=(), kept_total=0, entries=3, first=0.0)
    (later,) = state.apply([Window("k", 60, member="c")], 61.0)
    assert later == WindowCount(total=1, distinct=1, kept=(), kept_total=0, entries=1, first=61.0)
    (peek,) = state.apply([Window("k", 60, weight=0)], 62.0)
    assert peek.total == 1


def test_window_keeps_the_most_recent_evidence_and_counts_the_rest() -> None:
    state = MemoryState()
    answers = state.apply([Window("k", 600, keep=Evidence("f", n, str(n))) for n in range(25)], 0.0)
    last = answers[-1]
    assert isinstance(last, WindowCount)
    assert [e.line for e in last.kept] == list(range(25 - KEEP_EVIDENCE, 25))
    assert last.kept_total == 25


def test_seen_once_swap() -> None:
    state = MemoryState()
    assert state.apply([Seen("net:alice", "192.0.2.0/24", ttl=100)], 0.0) == [SeenAnswer(False, 1, 0.0)]
    assert state.apply([Seen("net:alice", "192.0.2.0/24", ttl=100)], 50.0) == [SeenAnswer(True, 1, 0.0)]
    assert state.apply([Seen("net:alice", "192.0.2.0/24", ttl=100)], 151.0) == [SeenAnswer(False, 1, 0.0)]
    assert state.apply([Once("o", 10), Once("o", 10)], 0.0) == [True, False]
    assert state.apply([Once("o", 10)], 10.5) == [True]
    assert state.apply([Swap("x", "a", 10), Swap("x", "b", 10)], 0.0) == [None, "a"]
    assert state.apply([Swap("x", "c", 10)], 20.0) == [None]


def test_idle_keys_are_swept() -> None:
    state = MemoryState()
    for n in range(1000):
        state.apply([Window(f"ip:{n}", 60, member="x")], float(n % 10))
    assert len(state) == 1000
    state.apply([Window("late", 60)], 10_000.0)
    assert len(state) == 1


def test_bruteforce_reports_once_per_episode_with_its_evidence() -> None:
    engine = Engine(DetectConfig())
    findings = engine.feed_all(_failure(n * 10, line=n + 1) for n in range(30))
    assert len(findings) == 1
    (finding,) = findings
    assert finding.kind is Kind.BRUTEFORCE and finding.severity is Severity.MEDIUM
    assert finding.username == "alice@example.org" and finding.ip == "192.0.2.7"
    assert finding.metrics["failures"] == 10
    assert [e.line for e in finding.evidence] == list(range(1, 11))
    # a different address on the same account is a different episode
    assert [f.ip for f in engine.feed_all(_failure(400 + n, ip="198.51.100.1") for n in range(10))] == ["198.51.100.1"]


def test_config_file_overrides_and_rejects_typos(tmp_path: pytest.TempPathFactory) -> None:
    config = DetectConfig.from_table({"bruteforce": {"failures": 3, "window": "15m"}, "allow": {"networks": ["10.0.0.0/8"]}})
    assert config.bruteforce.failures == 3 and config.bruteforce.window == 900.0
    with pytest.raises(ConfigError, match="unknown key 'failure'"):
        DetectConfig.from_table({"bruteforce": {"failure": 3}})
    with pytest.raises(ConfigError, match="bruteforce.window"):
        DetectConfig.from_table({"bruteforce": {"window": "soon"}})
    with pytest.raises(ConfigError, match="not a network"):
        DetectConfig.from_table({"allow": {"networks": ["nonsense"]}})
    assert parse_duration("2h") == 7200.0


def test_printed_defaults_load_back_to_the_defaults() -> None:
    import tomllib

    text = render_defaults()
    assert "# failures from one address on one account within the window" in text
    assert DetectConfig.from_table(tomllib.loads(text)) == DetectConfig()


def test_hook_gets_the_finding_as_json_and_a_failing_hook_is_counted(tmp_path: pytest.TempPathFactory) -> None:
    import json
    from pathlib import Path

    from saslscope.detect.hook import Hook

    out = Path(str(tmp_path)) / "got.json"
    finding = Engine(DetectConfig()).feed_all(_failure(n, user="[/x]$(reboot)") for n in range(10))[0]
    hook = Hook(f"sh -c 'cat > {out}; test \"$SASLSCOPE_KIND\" = bruteforce'", min_severity=Severity.LOW)
    hook.submit(finding)
    hook.close()
    assert json.loads(out.read_text())["username"] == "[/x]$(reboot)"
    assert hook.stats.started == 1 and hook.stats.failed == 0
    failing = Hook("false", min_severity=Severity.LOW)
    failing.submit(finding)
    failing.close()
    assert failing.stats.failed == 1
    quiet = Hook("false", min_severity=Severity.CRITICAL)
    quiet.submit(finding)
    quiet.close()
    assert quiet.stats.started == 0


def test_short_lived_keys_are_swept_behind_a_long_lived_one() -> None:
    # a 14-day baseline window touched first must not shield the hour-long keys after it
    state = MemoryState()
    state.apply([Window("baseline", 14 * 86400.0)], 0.0)
    for n in range(1000):
        state.apply([Window(f"ip:{n}", 3600.0, member="x"), Seen(f"s:{n}", "a", ttl=3600.0)], float(n))
    state.apply([Window("late", 60)], 20_000.0)
    assert len(state) == 2            # the baseline and "late"
