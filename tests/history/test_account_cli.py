from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from saslscope.cli import cli as main
from saslscope.history import HistoryStore, ingest

EVIL = "evil\x1b[2J<script>@x.test"


def _db(tmp_path: Path) -> Path:
    log = tmp_path / "mail.log"
    lines = [f"2026-09-0{d}T10:0{i}:00Z mail postfix/submission/smtpd[{d}{i}]: 3F2A{n}{d}{i}: client=h[192.0.2.{i + 1}], "
             f"sasl_method=PLAIN, sasl_username={user}\n2026-09-0{d}T10:0{i}:01Z mail postfix/qmgr[9]: 3F2A{n}{d}{i}: "
             f"from=<{user}>, size=9, nrcpt=2 (queue active)\n" for d in (1, 2) for i in range(3)
             for n, user in enumerate(("alice@x.test", EVIL))]
    lines.append("2026-09-02T11:00:00Z mail postfix/smtpd[9]: warning: unknown[203.0.113.5]: SASL LOGIN "
                 "authentication failed: UGFzc3dvcmQ6, sasl_username=alice@x.test\n")
    log.write_text("".join(lines))
    with HistoryStore(tmp_path / "h.db") as store:
        ingest(store, [str(log)])
    return tmp_path / "h.db"


def test_dossier_as_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["logs", "account", "alice@x.test", "--db", str(_db(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["logins"], data["failures"]) == (6, 1)
    assert data["baseline"]["network"]["top"][0] == {"value": "192.0.2.0/24", "count": 6,
                                                     "first_seen": "2026-09-01T10:00:00+00:00",
                                                     "last_seen": "2026-09-02T10:02:00+00:00"}
    assert data["volume"]["messages"]["total"] == 6
    assert data["recent"]["failures_by_ip"] == [{"ip": "203.0.113.5", "failures": 1}]
    assert data["volume"]["recipients"]["total"] == 12
    assert data["recent"]["last_logins"][0]["line"] == 21


def test_text_shows_untrusted_names_as_inert_text(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["logs", "account", EVIL, "--db", str(_db(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "account evil\\x1b[2J<script>@x.test" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_unknown_account_and_missing_store_exit_7(tmp_path: Path) -> None:
    db = _db(tmp_path)
    unknown = CliRunner().invoke(main, ["logs", "account", "nobody@x.test", "--db", str(db)])
    assert unknown.exit_code == 7 and "not in the history store" in unknown.output
    missing = CliRunner().invoke(main, ["logs", "account", "a", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 7 and "no history store" in missing.output
