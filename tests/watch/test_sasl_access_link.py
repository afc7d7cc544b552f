"""``--postfix-sasl-access``: the table follows live verdicts, compiled by the real postmap."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Finding, Kind, Severity
from saslscope.watch.sasl_access_link import SaslAccessUpdater

WHEN = datetime(2026, 3, 1, tzinfo=UTC)


def finding(user: str, kind: Kind, severity: Severity) -> Finding:
    return Finding(kind, severity, "r", WHEN, WHEN, user, "203.0.113.5")


def lookup(config: Path, table: Path, key: str) -> str:
    done = subprocess.run(["postmap", "-c", str(config), "-q", key, f"hash:{table}"], capture_output=True, text=True)
    return done.stdout.strip()


def test_compromised_accounts_are_held_and_stay_held_across_a_restart(tmp_path: Path) -> None:
    config = tmp_path / "postfix"
    config.mkdir()
    (config / "main.cf").write_text("")
    table = tmp_path / "sasl_access"
    updater = SaslAccessUpdater(str(table), DetectConfig(), config_dir=str(config))
    updater.submit(finding("alice@example.org", Kind.BRUTEFORCE, Severity.MEDIUM))   # attacked, not yet lost
    updater.submit(finding("bad name@example.org", Kind.GUESSED_PASSWORD, Severity.CRITICAL))
    updater.submit(finding("bob@example.org", Kind.GUESSED_PASSWORD, Severity.CRITICAL))
    updater.close()
    assert updater.failures == 0 and updater.writes >= 1
    assert lookup(config, table, "bob@example.org").startswith("HOLD saslscope compromised")
    assert lookup(config, table, "alice@example.org") == ""
    assert "bad name" not in table.read_text()                     # not a usable key: refused, not written

    again = SaslAccessUpdater(str(table), DetectConfig(), config_dir=str(config))
    again.submit(finding("carol@example.org", Kind.GUESSED_PASSWORD, Severity.CRITICAL))
    again.close()
    assert lookup(config, table, "bob@example.org").startswith("HOLD")      # kept from before the restart
    assert lookup(config, table, "carol@example.org").startswith("HOLD")
