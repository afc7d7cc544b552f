"""``logs watch --db``: a restart without a state file resumes where the history store says,
and what was read is recorded in the store (counts, findings). (Without ``--state`` the
engine's windows start empty after a restart: a burst cut in two by it is judged in halves;
``--state`` keeps them, tests/watch/test_watch_process.py.)"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from saslscope.history.store import BaselineReader

USER = "victim@example.org"


def failure(n: int) -> str:
    return (f"Mar  1 10:{n // 60:02d}:{n % 60:02d} mx postfix/submission/smtpd[77]: warning: unknown[203.0.113.5]: "
            f"SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={USER}")


def login(n: int) -> str:
    return (f"Mar  1 09:00:{n:02d} mx postfix/submission/smtpd[88]: {0xA00000 + n:X}: client=office[192.0.2.10], "
            f"sasl_method=PLAIN, sasl_username={USER}")


def run_watch(log: Path, db: Path, tmp: Path, name: str, *extra: str) -> tuple[str, str]:
    out, err = tmp / f"{name}.out", tmp / f"{name}.err"
    proc = subprocess.Popen([sys.executable, "-m", "saslscope", "logs", "watch", "--json", "--db", str(db),
                             "--poll-interval", "0.05s", *extra, str(log)],
                            stdout=open(out, "wb"), stderr=open(err, "wb"), stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not re.search(r": (opened|resumed): ", err.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None, err.read_text()
        time.sleep(0.05)
    time.sleep(0.3)            # a few more polls: everything present is read in the first one
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, err.read_text()
    return out.read_text(), err.read_text()


def lines_read(err: str) -> int:
    match = re.search(r"stopped: (\d+) lines read", err)
    assert match, err
    return int(match[1])


def test_restart_resumes_from_the_store_and_records_what_was_read(tmp_path: Path) -> None:
    log, db = tmp_path / "mail.log", tmp_path / "history.db"
    log.write_text("".join(login(n) + "\n" for n in range(5)) + "".join(failure(n) + "\n" for n in range(6)))
    out, err = run_watch(log, db, tmp_path, "first", "--from-start")
    assert lines_read(err) == 11 and out == ""
    with open(log, "a") as handle:                     # a burst while watch is down
        handle.write("".join(failure(n) + "\n" for n in range(6, 16)))
    out, err = run_watch(log, db, tmp_path, "second")  # no --state, no --from-start: the store says where
    assert "resumed: at line 11" in err
    assert lines_read(err) == 10                       # neither re-read nor skipped
    assert '"kind": "bruteforce"' in out
    reader = BaselineReader(str(db))
    try:
        _first, _last, logins, failures = reader.account(USER)  # type: ignore[misc]
        assert (logins, failures) == (5, 16)
        assert reader.findings(USER)                   # the finding of the second run was kept
    finally:
        reader.close()
