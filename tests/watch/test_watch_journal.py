"""``journalctl -f -o json | saslscope logs watch -``: journald entries on stdin; when stdin
ends (journalctl without -f), watch ends too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def entry(n: int, user: str) -> str:
    return json.dumps({
        "__REALTIME_TIMESTAMP": str(1_772_000_000_000_000 + n * 1_000_000), "_HOSTNAME": "mx",
        "SYSLOG_IDENTIFIER": "postfix/submission/smtpd", "_PID": "77",
        "MESSAGE": f"warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}",
    })


def test_journal_entries_on_stdin() -> None:
    lines = [entry(n, "alice@example.org") for n in range(10)] + ["{not json", "\xff"]
    done = subprocess.run([sys.executable, "-m", "saslscope", "logs", "watch", "--json", "-"],
                          input="\n".join(lines).encode("utf-8", "surrogateescape") + b"\n",
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (finding,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert (finding["kind"], finding["username"]) == ("bruteforce", "alice@example.org")
    assert {e["source"] for e in finding["evidence"]} == {"-"} and finding["evidence"][-1]["line"] == 10
    assert b"stopped: 12 lines read (-: 12)" in done.stderr


def test_a_journal_entry_with_a_lone_surrogate_is_read_not_fatal() -> None:
    """JSON may carry a lone surrogate (``\\ud800``), which no UTF-8 encoder takes: it used to end
    watch (and ``logs summary -``) with a UnicodeEncodeError."""
    lines = [entry(n, "a\ud800b") for n in range(10)]
    lines.insert(1, entry(0, "c@example.org").replace("postfix/submission/smtpd", "postfix/smtpd\\ud800"))
    assert all(line.isascii() for line in lines)       # json.dumps wrote the surrogates as \ud800 escapes
    done = subprocess.run([sys.executable, "-m", "saslscope", "logs", "watch", "--json", "-"],
                          input="\n".join(lines).encode() + b"\n", capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (finding,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert finding["username"] == "a\\ud800b"          # kept visible as an escape
    assert b"stopped: 11 lines read" in done.stderr


def test_the_cursor_of_the_last_entry_judged_is_kept_for_journalctl(tmp_path: Path) -> None:
    cursor_file = tmp_path / "journal.cursor"
    lines = [entry(n, "bob@example.org").replace('{"', f'{{"__CURSOR" : "s=5a;i={n + 1:x};b=77", "', 1)
             for n in range(3)] + ["{not json"]
    done = subprocess.run([sys.executable, "-m", "saslscope", "logs", "watch", "--journal-cursor-file",
                           str(cursor_file), "-"], input="\n".join(lines).encode() + b"\n", capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert cursor_file.read_text() == "s=5a;i=3;b=77\n"
    assert oct(cursor_file.stat().st_mode & 0o777) == "0o600"
