"""``logs watch`` on the real Postfix lab's live log: a wrong-password burst made with
``saslscope login`` is reported within seconds, and the ``--exec`` hook receives it as JSON."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from saslscope.cli.exitcodes import Exit
from tests.interop.lab import ALICE, PostfixLab

from interop_tools import SASLSCOPE, saslscope_login

pytestmark = pytest.mark.interop

BURST = 5
HOOK = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())"


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} not within {timeout:g} s"
        time.sleep(0.05)


def test_watch_reports_a_wrong_password_burst_and_runs_the_hook(postfix_lab: PostfixLab, tmp_path: Path) -> None:
    lab = postfix_lab
    config = tmp_path / "detect.toml"
    config.write_text(f"[bruteforce]\nfailures = {BURST}\nwindow = \"10m\"\n")
    hooked = tmp_path / "hook.json"
    out, err = tmp_path / "watch.out", tmp_path / "watch.err"
    watch = subprocess.Popen(
        [SASLSCOPE, "logs", "watch", "--json", "--config", str(config), "--poll-interval", "0.1s",
         "--exec", shlex.join([sys.executable, "-c", HOOK, str(hooked)]), "--min-severity", "medium",
         str(lab.maillog_path)],
        stdout=open(out, "wb"), stderr=open(err, "wb"), stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: "following new lines" in err.read_text(), 30, "watch start")
        for _ in range(BURST):
            result = saslscope_login(lab, lab.ports.submission, user=ALICE, mech="PLAIN", password="wrong-password")
            assert result.returncode == Exit.AUTH_FAILED, result.stdout + result.stderr
        # the burst's last failure is in the log once login has returned; watch must report it soon
        wait_for(lambda: out.read_text().strip(), 5.0, "the finding on stdout")
        finding = json.loads(out.read_text().splitlines()[0])
        assert (finding["kind"], finding["username"], finding["ip"]) == ("bruteforce", ALICE.address, lab.host)
        assert finding["evidence_total"] == BURST
        assert all(e["source"] == str(lab.maillog_path) and "authentication failed" in e["text"]
                   and ALICE.address in e["text"] for e in finding["evidence"])
        wait_for(lambda: hooked.exists() and hooked.read_bytes().endswith(b"\n"), 10, "the hook's input")
        assert json.loads(hooked.read_text()) == finding
    finally:
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(30) == 0
    assert "1 findings; hook: 1 run, 0 failed, 0 dropped" in err.read_text()
