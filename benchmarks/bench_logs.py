"""Throughput and peak memory of ``saslscope logs summary`` against pflogsumm and grep.

Generates (once, cached by size and seed) a realistic Postfix log with benchmarks/genlog.py,
then runs in the same session, each in its own process under ``/usr/bin/time -v``:

* ``saslscope logs summary --json LOG``   (the command under test, its default ``-j``: the usable
  CPUs; also with ``-j 1``, one process)
* ``pflogsumm LOG``                        (the anchor: the Debian package admins already use)
* ``grep -c sasl_username LOG``            (the floor: no parsing at all)

and prints seconds, lines/s, peak RSS and the ratio to pflogsumm. Target (issue 5): summary
at least 10x pflogsumm's throughput with a peak under 300 MB. Usage::

    .venv/bin/python benchmarks/bench_logs.py [--lines 1000000] [--seed 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genlog  # noqa: E402  (benchmarks/ is not a package)

TARGET_RATIO = 10.0
TARGET_PEAK_MB = 300.0
SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))


def measure(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one run; RSS from GNU time's report."""
    with tempfile.NamedTemporaryFile("w+") as report:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-v", "-o", report.name, *argv], check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        text = Path(report.name).read_text()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    assert rss, text
    return seconds, int(rss.group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the best is reported")
    parser.add_argument("--log", type=Path, help="use this log instead of generating one")
    args = parser.parse_args()
    for tool in ("/usr/bin/time", "pflogsumm", "grep"):
        if not shutil.which(tool):
            sys.exit(f"bench_logs: {tool} not found (scripts/bootstrap installs pflogsumm)")

    log = args.log or Path(tempfile.gettempdir()) / f"saslscope-bench-{args.lines}-{args.seed}.log"
    if not log.exists():
        print(f"generating {args.lines} lines into {log} ...", file=sys.stderr)
        with open(str(log) + ".part", "w") as out:
            genlog.generate(args.lines, args.seed, out)
        os.replace(str(log) + ".part", log)
    with open(log, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))

    runs = {
        "saslscope logs summary": [SASLSCOPE, "logs", "summary", "--json", str(log)],
        "saslscope ... -j 1": [SASLSCOPE, "logs", "summary", "--json", "-j", "1", str(log)],
        "pflogsumm": ["pflogsumm", str(log)],
        "grep -c sasl_username": ["grep", "-c", "sasl_username", str(log)],
    }
    print(f"log: {log} ({lines} lines, {log.stat().st_size / 1e6:.0f} MB); load average before: "
          f"{os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}")
    results: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):       # interleaved, so machine load hits every tool alike
        for name, argv in runs.items():
            seconds, peak = measure(argv)
            best = results.get(name)
            results[name] = (min(seconds, best[0]) if best else seconds, max(peak, best[1]) if best else peak)
    anchor = lines / results["pflogsumm"][0]
    print(f"{'tool':28} {'seconds':>8} {'lines/s':>12} {'x pflogsumm':>12} {'peak MB':>8}")
    for name, (seconds, peak) in results.items():
        rate = lines / seconds
        print(f"{name:28} {seconds:8.2f} {rate:12,.0f} {rate / anchor:12.2f} {peak:8.1f}")
    seconds, peak = results["saslscope logs summary"]
    ratio = (lines / seconds) / anchor
    print(f"target: >= {TARGET_RATIO:.0f}x pflogsumm -> {ratio:.2f}x {'MET' if ratio >= TARGET_RATIO else 'MISSED'}; "
          f"peak < {TARGET_PEAK_MB:.0f} MB -> {peak:.0f} MB {'MET' if peak < TARGET_PEAK_MB else 'MISSED'}; "
          f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
