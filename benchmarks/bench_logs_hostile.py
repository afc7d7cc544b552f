"""The cost of hostile log lines: the longest time for one line of up to 64 KiB through
``logs summary`` and ``logs logins``, and the peak memory on a decompression bomb.

Each crafted line (the shapes tests/maillog/test_hostile_input.py checks for linear growth:
a delivery line cut inside its detail that repeats ``>, status=a (``, long runs in a Dovecot
login or auth line, ``[`` runs in an AUTH failure, counter runs, client= keys in a sender,
sasl keys in a HELO) fills one file of 64 KiB; each command runs in its own process under
``/usr/bin/time -v``, beside the same command on a one-line honest log (the anchor: start-up
and import). The bomb is tests/maillog/data/bomb-100mb.bz2 (113 bytes -> 100 MiB, no newline).
Usage::

    .venv/bin/python benchmarks/bench_logs_hostile.py [--timeout 120]

Set PYTHONPATH to another checkout's src/ to measure that one (the "before" numbers).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SASLSCOPE = [sys.executable, "-m", "saslscope"]
BOMB = HERE.parent / "tests" / "maillog" / "data" / "bomb-100mb.bz2"
sys.path.insert(0, str(BOMB.parent.parent))
from hostile_lines import CRAFTED, HEAD  # noqa: E402  (the tests' own table of crafted lines)

HONEST = f"{HEAD}connect from a[192.0.2.1]"


def measure(argv: list[str], timeout: float) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB); seconds is inf when the run passed ``timeout``."""
    with tempfile.NamedTemporaryFile("w+") as report:
        start = time.perf_counter()
        try:
            subprocess.run(["/usr/bin/time", "-v", "-o", report.name, *argv], check=False, timeout=timeout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return float("inf"), float("nan")
        seconds = time.perf_counter() - start
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(report.name).read_text())
    return seconds, int(rss.group(1)) / 1024 if rss else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=120.0, help="give up on one run after this many seconds")
    parser.add_argument("--size", type=int, default=65536, help="bytes per crafted line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        honest = Path(work) / "honest.log"
        honest.write_text(HONEST + "\n")
        anchors = {command: measure([*SASLSCOPE, "logs", command, str(honest)], args.timeout)[0]
                   for command in ("summary", "logins")}
        print(f"{'line (' + str(args.size) + ' bytes)':28} {'command':8} {'seconds':>8} {'x honest line':>14}")
        worst = 0.0
        for name, (head, unit) in CRAFTED.items():
            path = Path(work) / "crafted.log"
            path.write_bytes((head + unit * (args.size // len(unit))).encode()[:args.size] + b"\n")
            for command in ("summary", "logins"):
                seconds, _ = measure([*SASLSCOPE, "logs", command, str(path)], args.timeout)
                worst = max(worst, seconds)
                print(f"{name:28} {command:8} {seconds:8.2f} {seconds / anchors[command]:14.2f}")
        print(f"longest: {worst:.2f} s (one-line honest log: summary {anchors['summary']:.2f} s, "
              f"logins {anchors['logins']:.2f} s)")
        _, small_peak = measure([*SASLSCOPE, "logs", "summary", str(honest)], args.timeout)
        seconds, peak = measure([*SASLSCOPE, "logs", "summary", str(BOMB)], args.timeout)
        print(f"bomb {BOMB.name} ({BOMB.stat().st_size} bytes -> 100 MiB): {seconds:.2f} s, peak {peak:.0f} MB "
              f"(one-line honest log: {small_peak:.0f} MB)")


if __name__ == "__main__":
    main()
