from __future__ import annotations

from pathlib import Path

import pytest

from saslscope.detect.findings import Verdict
from saslscope.enforce.sasl_access import Account, SaslAccessError, main_cf_lines, render, write_table

ACCOUNTS = [Account("bob@x.test", Verdict.COMPROMISED, ("guessed_password", "volume_spike")),
            Account("carol@x.test", Verdict.SUSPICIOUS, ("new_network",)),
            Account("dave@x.test", Verdict.NORMAL),
            Account("evil user\nREJECT@x", Verdict.COMPROMISED), Account("#x@x.test", Verdict.COMPROMISED)]


def test_only_accounts_at_or_above_the_verdict_and_only_usable_keys() -> None:
    text, written, refused = render(ACCOUNTS, at_least=Verdict.SUSPICIOUS, action="HOLD")
    assert written == ["bob@x.test", "carol@x.test"]
    assert refused == ["#x@x.test", "evil user\nREJECT@x"]
    assert "bob@x.test HOLD saslscope compromised (guessed_password,volume_spike)\n" in text
    assert "carol@x.test HOLD saslscope suspicious (new_network)\n" in text
    rejecting, written, _ = render(ACCOUNTS, at_least=Verdict.COMPROMISED, action="REJECT")
    assert written == ["bob@x.test"] and "bob@x.test REJECT 5.7.1 " in rejecting
    with pytest.raises(ValueError, match="HOLD, REJECT"):
        render(ACCOUNTS, at_least=Verdict.COMPROMISED, action="DISCARD")


def test_main_cf_line_keeps_the_existing_restrictions() -> None:
    assert main_cf_lines("/etc/postfix/saslscope", existing=["permit_mynetworks"]) == [
        "smtpd_sender_restrictions = check_sasl_access hash:/etc/postfix/saslscope, permit_mynetworks"]


def test_failed_postmap_leaves_the_old_table_and_no_temporary_files(tmp_path: Path) -> None:
    table = tmp_path / "access"
    table.write_text("old\n")
    with pytest.raises(SaslAccessError, match="postmap"):
        write_table(str(table), ACCOUNTS, postmap="/bin/false")
    assert table.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["access"]


def test_postmap_compiles_it_with_a_config_directory(tmp_path: Path) -> None:
    config = tmp_path / "etc"
    config.mkdir()
    (config / "main.cf").write_text("compatibility_level = 3.6\n")
    table = tmp_path / "access"
    result = write_table(str(table), ACCOUNTS, postmap="postmap", config_dir=str(config))
    assert result.compiled and (tmp_path / "access.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["access", "access.db", "etc"]
    import subprocess

    found = subprocess.run(["postmap", "-c", str(config), "-q", "bob@x.test", f"hash:{table}"],
                           capture_output=True, text=True, check=True).stdout
    assert found.startswith("HOLD saslscope compromised")
