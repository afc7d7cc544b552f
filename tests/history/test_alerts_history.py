"""``logs alerts --db``: what is new is judged against every earlier run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from saslscope.cli import cli
from tests.history.conftest import asn_db, city_db

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


class Log:
    """RFC 3339 Postfix lines: messages (client= and qmgr lines) and failures."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0

    def message(self, when: datetime, user: str, ip: str, rcpts: int = 1) -> None:
        self.n += 1
        qid = f"3F2A{self.n:06X}"
        stamp = when.isoformat()
        self.lines += [f"{stamp} mail postfix/submission/smtpd[{self.n}]: {qid}: client=h[{ip}], "
                       f"sasl_method=PLAIN, sasl_username={user}",
                       f"{stamp} mail postfix/qmgr[9]: {qid}: from=<{user}>, size=900, nrcpt={rcpts} (queue active)"]

    def failure(self, when: datetime, user: str, ip: str) -> None:
        self.n += 1
        self.lines.append(f"{when.isoformat()} mail postfix/submission/smtpd[{self.n}]: warning: unknown[{ip}]: "
                          f"SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}")

    def write(self, path: Path) -> str:
        path.write_text("\n".join(self.lines) + "\n")
        return str(path)


def alerts(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["logs", "alerts", "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def kinds(data: dict[str, Any], user: str) -> set[str]:
    return {f["kind"] for f in data["findings"] if f["username"] == user}


def two_runs(tmp_path: Path, older: Log, newer: Log, *options: str) -> dict[str, Any]:
    """``older`` as mail.log.1 in one --db run, then ``newer`` as mail.log in the next: the second's report."""
    db = str(tmp_path / "h.db")
    alerts("--db", db, *options, older.write(tmp_path / "mail.log.1"))
    return alerts("--db", db, *options, newer.write(tmp_path / "mail.log"))


def only(data: dict[str, Any], kind: str) -> dict[str, Any]:
    (finding,) = [f for f in data["findings"] if f["kind"] == kind]
    return finding


def test_a_new_network_after_weeks_of_history_in_earlier_runs(tmp_path: Path) -> None:
    weeks, today = Log(), Log()
    for day in range(20):
        weeks.message(START + timedelta(days=day), "alice@x.test", f"192.0.2.{day + 1}")
    today.message(START + timedelta(days=20), "alice@x.test", "203.0.113.9")
    finding = only(two_runs(tmp_path, weeks, today), "new_network")
    assert finding["username"] == "alice@x.test" and "203.0.113.0/24" in finding["reason"]
    assert finding["metrics"]["known_networks"] == 1
    # the same day alone knows no history: the account is still learning
    assert "new_network" not in kinds(alerts(str(tmp_path / "mail.log")), "alice@x.test")
    # a rerun reads nothing and says so
    again = alerts("--db", str(tmp_path / "h.db"), str(tmp_path / "mail.log.1"), str(tmp_path / "mail.log"))
    assert again["findings"] == [] and any("nothing new" in n for n in again["notes"])


def test_the_volume_baseline_spans_earlier_runs(tmp_path: Path) -> None:
    """A busy account's 200 messages in an hour are its normal (50 an hour for two weeks);
    without the history they cross the absolute floor of 100 and look like a spike."""
    weeks, today = Log(), Log()
    for day in range(14):
        for hour in range(10):
            for minute in range(50):
                weeks.message(START + timedelta(days=day, hours=hour, seconds=minute * 60), "bulk@x.test",
                              "192.0.2.7")
    for n in range(200):
        today.message(START + timedelta(days=14, seconds=n * 15), "bulk@x.test", "192.0.2.7")
    assert "volume_spike" not in kinds(two_runs(tmp_path, weeks, today), "bulk@x.test")
    assert "volume_spike" in kinds(alerts(str(tmp_path / "mail.log")), "bulk@x.test")


def test_a_guess_across_a_rotation_cites_the_failures_of_the_older_file(tmp_path: Path) -> None:
    before, after = Log(), Log()
    for n in range(12):
        before.failure(START + timedelta(minutes=50, seconds=n * 30), "carol@x.test", "198.51.100.4")
    after.message(START + timedelta(minutes=58), "carol@x.test", "198.51.100.9")
    guess = only(two_runs(tmp_path, before, after), "guessed_password")
    old = str(tmp_path / "mail.log.1")
    assert guess["username"] == "carol@x.test" and guess["metrics"]["failures"] == 12
    cited = {(e["source"], e["line"]) for e in guess["evidence"]}
    assert (str(tmp_path / "mail.log"), 1) in cited
    assert {(old, n) for n in range(8, 13)} <= cited


def test_the_sasl_access_table_keeps_an_account_flagged_by_an_earlier_run(tmp_path: Path) -> None:
    attack = Log()
    for n in range(12):
        attack.failure(START + timedelta(seconds=n), "dave@x.test", "198.51.100.4")
    attack.message(START + timedelta(seconds=30), "dave@x.test", "198.51.100.4")
    db, table, config = str(tmp_path / "h.db"), tmp_path / "access", tmp_path / "postfix"
    config.mkdir()
    (config / "main.cf").write_text("compatibility_level = 3.6\n")
    options = ["--postfix-sasl-access", str(table), "--postfix-config", str(config), "--db", db]
    log = attack.write(tmp_path / "mail.log")
    first = CliRunner().invoke(cli, ["logs", "alerts", *options, log])
    assert first.exit_code == 0, first.output
    assert "check_sasl_access hash:" in first.stderr
    assert table.read_text().splitlines()[1].startswith("dave@x.test HOLD saslscope compromised")
    again = CliRunner().invoke(cli, ["logs", "alerts", *options, "--sasl-access-action", "reject", log])
    assert again.exit_code == 0, again.output
    assert "nothing new" in again.stdout
    assert table.read_text().splitlines()[1].startswith("dave@x.test REJECT 5.7.1")


def test_geoip_countries_are_learned_and_shown_in_the_dossier(tmp_path: Path) -> None:
    weeks, today = Log(), Log()
    for day in range(20):
        weeks.message(START + timedelta(days=day), "erin@x.test", "192.0.2.8")
    today.message(START + timedelta(days=20), "erin@x.test", "198.51.100.9")
    geo = ["--geoip-db", str(city_db(tmp_path)), "--geoip-db", str(asn_db(tmp_path))]
    later = two_runs(tmp_path, weeks, today, *geo)
    assert not any("GeoIP" in note for note in later["notes"])
    assert only(later, "new_country")["metrics"]["country"] == "DE"
    dossier = CliRunner().invoke(cli, ["logs", "account", "erin@x.test", "--db", str(tmp_path / "h.db"), "--json"])
    data = json.loads(dossier.stdout)
    assert [(c["value"], c["count"]) for c in data["baseline"]["country"]["top"]] == [("JP", 20), ("DE", 1)]
    assert {a["value"] for a in data["baseline"]["asn"]["top"]} == {"64500", "64501"}
    assert data["findings"][0]["kind"] in {"new_country", "new_network"}


def test_a_bad_geoip_file_or_store_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"nope")
    log = Log()
    log.message(START, "a@x.test", "192.0.2.1")
    path = log.write(tmp_path / "mail.log")
    result = CliRunner().invoke(cli, ["logs", "alerts", "--geoip-db", str(bad), path])
    assert result.exit_code == 7 and "bad.mmdb" in result.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"x" * 4096)
    result = CliRunner().invoke(cli, ["logs", "alerts", "--db", str(junk), path])
    assert result.exit_code == 7 and "junk.db" in result.stderr


def test_stdin_is_judged_but_not_kept(tmp_path: Path) -> None:
    attack = Log()
    for n in range(12):
        attack.failure(START + timedelta(seconds=n), "frank@x.test", "198.51.100.4")
    text = "\n".join(attack.lines) + "\n"
    db = str(tmp_path / "h.db")
    for _ in range(2):
        result = CliRunner().invoke(cli, ["logs", "alerts", "--json", "--db", db, "-"], input=text)
        assert result.exit_code == 0, result.output
        assert "bruteforce" in kinds(json.loads(result.stdout), "frank@x.test")
    assert CliRunner().invoke(cli, ["logs", "account", "frank@x.test", "--db", db]).exit_code == 7
