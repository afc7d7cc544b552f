"""``saslscope logs watch``: sustained throughput on an appended log, and line-to-finding delay.

Two measurements, each on a real ``watch`` process following a real file:

* **throughput**: ``--lines`` lines of benchmarks/genlog.py's realistic log, then a planted
  brute-force burst (the sentinel), are appended to the watched file as fast as the disk takes
  them; throughput = lines / (time from the first byte written to the sentinel's finding on
  watch's stdout). Anchor, in the same run: ``saslscope logs alerts`` (the same engine in batch)
  on the same lines, start-up included.
* **delay**: a writer paced at ``--rate`` lines/s (a busy server writes ~2,000) for
  ``--seconds``, genlog's lines stamped with the current time, plus a brute-force burst every
  ``--every`` lines (each against its own account and address); for every burst, the time from
  the write of its threshold-crossing line to its finding on stdout. p50/p99 reported.

Targets (issue 12): throughput >= 40,000 lines/s (20x a busy server); p99 delay < 1 s. Usage::

    .venv/bin/python benchmarks/bench_watch.py [--lines 400000] [--rate 2000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genlog  # noqa: E402  (benchmarks/ is not a package)

SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
TARGET_RATE = 40_000
TARGET_P99 = 1.0
STAMP = len("Sep  1 00:00:00 ")


def genlog_lines(count: int, seed: int) -> list[str]:
    buffer = io.StringIO()
    genlog.generate(count, seed, buffer)
    return buffer.getvalue().splitlines()


def burst(stamp: str, user: str, ip: str, tries: int = 10) -> list[str]:
    return [f"{stamp} mail postfix/submission/smtpd[4242]: warning: unknown[{ip}]: SASL LOGIN authentication "
            f"failed: UGFzc3dvcmQ6, sasl_username={user}" for _ in range(tries)]


class Watch:
    """A ``logs watch --json`` process on ``log``; findings' arrival times by user name."""

    def __init__(self, log: Path) -> None:
        self.proc = subprocess.Popen([SASLSCOPE, "logs", "watch", "--json", str(log)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.seen: dict[str, float] = {}
        self.started = threading.Event()
        self.stderr: list[str] = []
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        if not self.started.wait(30):
            sys.exit("bench_watch: watch did not start: " + "".join(self.stderr))

    def _out(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            now = time.monotonic()
            user = json.loads(raw).get("username")
            if user is not None:
                self.seen.setdefault(user, now)

    def _err(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr.append(raw.decode(errors="replace"))
            if b"following new lines" in raw:
                self.started.set()

    def wait_for(self, user: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while user not in self.seen:
            if time.monotonic() > deadline:
                sys.exit(f"bench_watch: no finding for {user} within {timeout:g} s: {''.join(self.stderr)[-500:]}")
            time.sleep(0.002)
        return self.seen[user]

    def cpu(self) -> float:
        """CPU seconds (user + system) the process has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> float:
        """Stop it; return its peak RSS in MB."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        return peak


def throughput(folder: Path, count: int, seed: int) -> tuple[float, float, float]:
    lines = genlog_lines(count, seed)
    lines += burst(lines[-1][:STAMP - 1], "sentinel@bench.example", "192.0.2.250")
    data = ("\n".join(lines) + "\n").encode()
    log = folder / "throughput.log"
    log.touch()
    watch = Watch(log)
    cpu_before = watch.cpu()
    with open(log, "ab") as out:
        start = time.monotonic()
        for at in range(0, len(data), 1 << 20):
            out.write(data[at:at + (1 << 20)])
            out.flush()
    done = watch.wait_for("sentinel@bench.example", 600)
    cpu = watch.cpu() - cpu_before
    peak = watch.stop()
    rate = len(lines) / (done - start)
    batch = folder / "batch.log"
    batch.write_bytes(data)
    began = time.monotonic()
    subprocess.run([SASLSCOPE, "logs", "alerts", "--json", str(batch)], stdout=subprocess.DEVNULL, check=False)
    anchor = len(lines) / (time.monotonic() - began)
    return rate, anchor, peak, len(lines) / cpu


def delays(folder: Path, rate: int, seconds: float, every: int, seed: int) -> list[float]:
    noise = [line[STAMP:] for line in genlog_lines(int(rate * seconds) + 1000, seed + 1)]
    log = folder / "delay.log"
    log.touch()
    watch = Watch(log)
    written: dict[str, float] = {}
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    start = time.monotonic()
    n = k = 0
    with open(log, "ab", buffering=0) as out:
        while n < rate * seconds:
            stamp = time.strftime("%b %e %H:%M:%S")
            batch = [f"{stamp} {line}" for line in noise[n:n + per_tick]]
            n += per_tick
            planted = None
            if n // every > k:
                k += 1
                planted = f"victim{k}@bench.example"
                batch += burst(stamp, planted, f"198.18.{k // 250}.{k % 250 + 1}")
            out.write(("\n".join(batch) + "\n").encode())
            if planted is not None:
                written[planted] = time.monotonic()
            pause = start + n / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    result = [watch.wait_for(user, 30) - at for user, at in written.items()]
    watch.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--rate", type=int, default=2000, help="lines/s of the paced writer")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--every", type=int, default=200, help="a planted burst every this many lines")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        rate, anchor, peak, per_cpu = throughput(Path(tmp), args.lines, args.seed)
        print(f"throughput: {rate:,.0f} lines/s appended and judged ({args.lines:,} genlog lines + a burst); "
              f"{per_cpu:,.0f} lines per CPU second of watch (what a quiet core would give); "
              f"logs alerts on the same lines: {anchor:,.0f} lines/s (start-up included); "
              f"ratio watch/alerts {rate / anchor:.2f}; watch peak RSS {peak:.0f} MB")
        found = delays(Path(tmp), args.rate, args.seconds, args.every, args.seed)
    found.sort()
    p50, p99 = statistics.median(found), found[min(len(found) - 1, int(len(found) * 0.99))]
    print(f"delay line -> finding over {len(found)} bursts at {args.rate} lines/s: p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {found[-1] * 1000:.0f} ms")
    print(f"targets: >= {TARGET_RATE:,} lines/s -> {'MET' if rate >= TARGET_RATE else 'MISSED'}; "
          f"p99 < {TARGET_P99:g} s -> {'MET' if p99 < TARGET_P99 else 'MISSED'}; "
          f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
