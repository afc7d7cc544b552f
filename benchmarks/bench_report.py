"""``saslscope logs report --html``: generation time, peak memory and page size on the 1M-line log.

Runs, in the same session and each in its own process under ``/usr/bin/time -v``:

* ``saslscope logs report LOG --html OUT``  (the command under test: the analysis, ``logs alerts``'
  engine over every line, and the page)
* ``saslscope logs alerts --json LOG``      (anchor: the engine alone)
* ``saslscope logs summary --json -j 1 LOG`` (anchor: the analysis alone, one process)

and prints seconds, peak RSS, the ratio to the sum of the two anchors (what the report has to do
at least), and the page's size. Usage::

    .venv/bin/python benchmarks/bench_report.py [--lines 1000000] [--seed 1] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genlog  # noqa: E402  (benchmarks/ is not a package)
from bench_logs import SASLSCOPE, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the best is reported")
    args = parser.parse_args()
    log = Path(tempfile.gettempdir()) / f"saslscope-bench-{args.lines}-{args.seed}.log"
    if not log.exists():        # the same cache as bench_logs.py
        print(f"generating {args.lines} lines into {log} ...", file=sys.stderr)
        with open(str(log) + ".part", "w") as out:
            genlog.generate(args.lines, args.seed, out)
        os.replace(str(log) + ".part", log)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        page = Path(tmp) / "report.html"
        runs = {
            "logs report --html": [SASLSCOPE, "logs", "report", str(log), "--html", str(page)],
            "logs alerts --json": [SASLSCOPE, "logs", "alerts", "--json", str(log)],
            "logs summary -j 1": [SASLSCOPE, "logs", "summary", "--json", "-j", "1", str(log)],
        }
        print(f"log: {log} ({args.lines} lines, {log.stat().st_size / 1e6:.0f} MB); "
              f"load average before: {os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}")
        results: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeat):
            for name, argv in runs.items():
                seconds, peak = measure(argv)
                best = results.get(name)
                results[name] = (min(seconds, best[0]) if best else seconds, max(peak, best[1]) if best else peak)
        size = page.stat().st_size
    anchor = results["logs alerts --json"][0] + results["logs summary -j 1"][0]
    print(f"{'command':24} {'seconds':>8} {'peak MB':>8}")
    for name, (seconds, peak) in results.items():
        print(f"{name:24} {seconds:8.2f} {peak:8.1f}")
    print(f"report / (alerts + summary): {results['logs report --html'][0] / anchor:.2f}; "
          f"page: {size / 1e6:.2f} MB; load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
