"""``saslscope logs watch`` as a real process on a log written by a real background writer that
rotates it by rename and by copytruncate while watch is stopped and restarted: every planted
incident is reported exactly once and the lines read add up to the lines written."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

VICTIMS = 12
TOTAL_LINES = 6000
PLANTED_EVERY = 40        # one failure of some victim every 40 lines: bursts span rotations and restarts


def line_text(n: int) -> str:
    stamp = time.strftime("%b %e %H:%M:%S", time.gmtime(1_796_000_000 + n // 4))
    if n % PLANTED_EVERY == 0:
        victim = (n // PLANTED_EVERY) % VICTIMS
        return (f"{stamp} mx postfix/submission/smtpd[{100 + victim}]: warning: unknown[198.51.100.{victim}]: "
                f"SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=victim{victim}@example.org")
    return f"{stamp} mx postfix/smtpd[9]: connect from client{n}.example.net[203.0.113.{n % 250}]"


class Writer(threading.Thread):
    """Appends lines in small batches; performs the rotations asked for between two batches."""

    def __init__(self, log: Path) -> None:
        super().__init__(daemon=True)
        self.log = log
        self.written = 0
        self.rotations: list[str] = []
        self.plan = {1500: "rename", 3000: "copytruncate", 4500: "rename"}
        # the writer stops at these counts until the test lets it go on: watch is stopped at 2200
        # and started again at 2600 (so the copytruncate at 3000 happens while it runs), stopped
        # at 4000 and started at 4800 (so the rename at 4500 happens while it is down)
        self.reached = {n: threading.Event() for n in (2200, 2600, 4000, 4800)}
        self.go = {n: threading.Event() for n in self.reached}

    def run(self) -> None:
        handle = open(self.log, "ab", buffering=0)
        while self.written < TOTAL_LINES:
            batch = "".join(line_text(self.written + i) + "\n" for i in range(50))
            handle.write(batch.encode())
            self.written += 50
            kind = self.plan.get(self.written)
            if kind == "rename":                      # logrotate's default, then the daemon reopens
                for n in (2, 1):
                    older = self.log.with_name(f"{self.log.name}.{n}")
                    if older.exists():
                        os.rename(older, self.log.with_name(f"{self.log.name}.{n + 1}"))
                os.rename(self.log, self.log.with_name(f"{self.log.name}.1"))
                handle.close()
                handle = open(self.log, "ab", buffering=0)
                self.rotations.append(kind)
            elif kind == "copytruncate":
                one = self.log.with_name(f"{self.log.name}.1")
                if one.exists():
                    os.rename(one, self.log.with_name(f"{self.log.name}.2"))
                shutil.copyfile(self.log, one)
                with open(self.log, "r+b") as cut:
                    cut.truncate(0)
                self.rotations.append(kind)
            if self.written in self.reached:
                self.reached[self.written].set()
                self.go[self.written].wait(60)
            time.sleep(0.01)
        handle.close()


def start_watch(log: Path, state: Path, out_dir: Path, run: int) -> tuple[subprocess.Popen[bytes], Path, Path]:
    out, err = out_dir / f"out{run}.jsonl", out_dir / f"err{run}.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "saslscope", "logs", "watch", "--json", "--from-start", "--state", str(state),
         "--poll-interval", "0.05s", "--rotate-grace", "0.5s", str(log)],
        stdout=open(out, "wb"), stderr=open(err, "wb"), stdin=subprocess.DEVNULL)
    return proc, out, err


def wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "bounded wait ran out"
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def lines_read(err: Path) -> int:
    match = re.search(r"stopped: (\d+) lines read", err.read_text())
    assert match, err.read_text()
    return int(match[1])


def test_rotation_and_restart_lose_no_line_and_report_each_incident_once(tmp_path: Path) -> None:
    log, state = tmp_path / "mail.log", tmp_path / "watch.state"
    log.touch()
    writer = Writer(log)
    runs: list[tuple[Path, Path]] = []
    proc, out, err = start_watch(log, state, tmp_path, 0)
    runs.append((out, err))
    wait_for(lambda: "opened" in err.read_text())
    writer.start()
    for run, (down, up) in enumerate(((2200, 2600), (4000, 4800)), start=1):
        wait_for(writer.reached[down].is_set)
        stop(proc)
        writer.go[down].set()                      # the writer goes on while watch is down
        wait_for(writer.reached[up].is_set)
        proc, out, err = start_watch(log, state, tmp_path, run)
        runs.append((out, err))
        wait_for(lambda err=err: "resumed" in err.read_text())     # running (signals handled) before the next stop
        writer.go[up].set()
    writer.join(60)
    assert writer.written == TOTAL_LINES and writer.rotations == ["rename", "copytruncate", "rename"]
    wait_for(lambda: sum(len(o.read_text().splitlines()) for o, _ in runs) >= VICTIMS)
    stop(proc)
    # one more run from the saved state: reads whatever the last one had not read yet, nothing twice
    proc, out, err = start_watch(log, state, tmp_path, 3)
    runs.append((out, err))
    wait_for(lambda: "resumed" in err.read_text())
    stop(proc)

    assert sum(lines_read(e) for _, e in runs) == TOTAL_LINES
    findings = [json.loads(line) for o, _ in runs for line in o.read_text().splitlines()]
    assert sorted(f["username"] for f in findings) == sorted(f"victim{v}@example.org" for v in range(VICTIMS))
    assert {f["kind"] for f in findings} == {"bruteforce"}
    events = [e.read_text() for _, e in runs]
    assert "rotated: renamed away" in events[0]
    assert "truncated: copied and truncated" in events[1]
    assert "resumed: rotated while stopped" in events[2]


def test_a_burst_of_100000_lines_is_read_whole(tmp_path: Path) -> None:
    log, state = tmp_path / "mail.log", tmp_path / "watch.state"
    log.touch()
    proc, out, err = start_watch(log, state, tmp_path, 0)
    wait_for(lambda: "opened" in err.read_text())
    noise = [line_text(n) for n in range(100_000) if n % PLANTED_EVERY]
    sentinel = [line_text(0).replace("victim0@", "sentinel@")] * 10       # a burst after everything else
    log.write_text("".join(line + "\n" for line in noise + sentinel) + "x" * 5000)   # and a cut last line
    wait_for(lambda: "sentinel@example.org" in out.read_text(), timeout=120)
    stop(proc)
    assert lines_read(err) == len(noise) + len(sentinel)         # all of it; the cut line is not a line yet
    assert [json.loads(line)["username"] for line in out.read_text().splitlines()] == ["sentinel@example.org"]
