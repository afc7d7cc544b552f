"""``saslscope logs alerts`` end to end: the write-up's log, JSON shape, --fail-on, config
errors, hostile text, compressed and stdin inputs, and arbitrary bytes."""

from __future__ import annotations

import gzip
import json
import sys
import unicodedata
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from saslscope.cli.logs import logs
from saslscope.detect import DetectConfig
from saslscope.detect.alerts import run
from saslscope.detect.from_maillog import MaillogSignals

ROOT = Path(__file__).resolve().parents[2]
WRITEUP = ROOT / "tests" / "headers" / "samples" / "writeup-mail.log"
sys.path.insert(0, str(ROOT / "benchmarks"))
import gen_incidents  # noqa: E402


def alerts(*args: str, input: bytes | None = None):  # noqa: A002
    return CliRunner().invoke(logs, ["alerts", *args], input=input)


def test_the_writeup_test_login_is_local_login_at_info_and_nothing_louder() -> None:
    result = alerts("--json", "--year", "2018", str(WRITEUP))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(f["kind"], f["severity"], f["username"]) for f in data["findings"]] == [
        ("local_login", "info", "centos7@phoenixknight.jp")]
    assert data["findings"][0]["evidence"][0]["line"] == 3
    assert data["accounts"] == [{"username": "centos7@phoenixknight.jp", "verdict": "normal", "score": 0.0,
                                 "kinds": ["local_login"], "findings": [0]}]
    assert alerts("--fail-on", "low", "--year", "2018", str(WRITEUP)).exit_code == 0
    assert alerts("--fail-on", "info", "--year", "2018", str(WRITEUP)).exit_code == 9
    text = alerts("--year", "2018", str(WRITEUP)).output
    assert "centos7@phoenixknight.jp: local_login (info)" in text


def _cells(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def test_month_text_output_verdicts_first_in_80_columns(tmp_path: Path) -> None:
    log = tmp_path / "month.log.gz"
    log.write_bytes(gzip.compress(gen_incidents.generate(seed=1).text().encode()))
    result = alerts("--year", "2026", "--fail-on", "high", str(log))
    assert result.exit_code == 9
    lines = result.output.splitlines()
    assert lines[0].startswith("3 compromised, 1 suspicious")
    assert lines[3].startswith("COMPROMISED score 13.5  user07@example.org")
    assert max(map(_cells, lines)) <= 80
    assert "... and " in result.output            # long lists are cut with a count of the rest
    assert "ADDRESSES" in result.output and "45.155.205.99" in result.output


def test_hostile_names_are_printed_as_literal_text() -> None:
    user = "\x1b[31m[bold]evil[/bold]\u202e@example.org"
    lines = [f"Nov  2 10:00:{n:02d} mail postfix/submission/smtpd[{100 + n}]: warning: unknown[192.0.2.{n}]: "
             f"SASL LOGIN authentication failed: authentication failure, sasl_username={user}" for n in range(12)]
    result = alerts("--year", "2026", "-", input="\n".join(lines).encode() + b"\n")
    assert result.exit_code == 0, result.output
    assert "\\x1b[31m[bold]evil[/bold]\\u202e@example.org" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    data = json.loads(alerts("--json", "--year", "2026", "-", input="\n".join(lines).encode()).output)
    assert data["findings"][0]["username"] == user       # JSON keeps the value itself


def test_config_errors_and_print_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[bruteforce]\nfailure = 3\n")
    result = alerts("--config", str(bad), str(WRITEUP))
    assert result.exit_code == 2 and "unknown key 'failure'" in result.output
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[many_ips]\nseverity = "urgent"\n')
    assert "unknown severity 'urgent'" in alerts("--config", str(wrong), str(WRITEUP)).output
    printed = alerts("--print-config").output
    assert "[sender_mismatch]" in printed and max(map(len, printed.splitlines())) <= 80
    good = tmp_path / "good.toml"
    good.write_text(printed.replace("failures = 10", "failures = 3"))
    assert DetectConfig.load(good).bruteforce.failures == 3
    assert alerts("--year", "2018", "/nonexistent/mail.log").exit_code == 7


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300) | st.sampled_from(gen_incidents.generate(seed=3).lines[:400]).map(
    lambda s: s.encode()), max_size=60))
def test_arbitrary_bytes_never_crash_alerts(lines: list[bytes]) -> None:
    source = MaillogSignals(year=2026)
    report = run(source.read_lines(lines), DetectConfig())
    assert source.counts.total == len(lines)
    assert report.signals >= 0


def test_binary_junk_file_through_the_command(tmp_path: Path) -> None:
    junk = tmp_path / "junk.log"
    data = bytes(range(256)) * 40 + b"\n\x00\xff client=, sasl_username=x\n{\"MESSAGE\": [\n"
    junk.write_bytes(data)
    result = alerts("--json", str(junk))
    assert result.exit_code == 0, result.output
    lines = json.loads(result.output)["lines"]
    total = data.count(b"\n")
    assert lines["total"] == total and lines["unparsed"] == 2 and lines["skipped"] == total - 2


def test_journald_json_and_a_rotated_directory(tmp_path: Path) -> None:
    lines = []
    for n in range(12):
        message = (f"warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: authentication failure, "
                   f"sasl_username=alice@example.test")
        lines.append(json.dumps({"__REALTIME_TIMESTAMP": str(1795869689000000 + n * 1_000_000),
                                 "SYSLOG_IDENTIFIER": "postfix/submission/smtpd", "_PID": str(100 + n),
                                 "_HOSTNAME": "mail", "MESSAGE": message}))
    data = json.loads(alerts("--json", "-", input=("\n".join(lines) + "\n").encode()).output)
    assert [(f["kind"], f["evidence_total"]) for f in data["findings"]] == [("bruteforce", 10)]
    # a directory of rotated logs: read oldest first, one month across two files
    month = gen_incidents.generate(seed=1).lines
    rotated = tmp_path / "logs"
    rotated.mkdir()
    half = len(month) // 2
    (rotated / "mail.log.1.gz").write_bytes(gzip.compress(("\n".join(month[:half]) + "\n").encode()))
    (rotated / "mail.log").write_text("\n".join(month[half:]) + "\n")
    report = json.loads(alerts("--json", "--year", "2026", str(rotated)).output)
    guess = next(f for f in report["findings"] if f["kind"] == "guessed_password")
    assert guess["evidence"][0]["source"].endswith("mail.log")
    assert guess["evidence"][0]["line"] == gen_incidents.generate(seed=1).incident_lines["guessed"][0] - half
