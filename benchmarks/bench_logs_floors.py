"""What a ``logs summary`` of a 1,000,000-line log cannot go below, here, in Python.

Issue 5 asks for at least 10x pflogsumm's throughput. This script measures, on the log that
``bench_logs.py`` generates and in the same run as pflogsumm, the cost of steps that any
Python implementation must pay before it has read a single field, and prints each as a share
of the 10x budget (pflogsumm's time / 10):

* ``python -c pass`` and the import of the command (interpreter and ``saslscope.maillog``);
* reading the file and counting its lines (the I/O floor);
* one pass of CPython's ``re`` over every line with the simplest header pattern;
* with ``--engines-python PY`` (an interpreter that has polars and duckdb, e.g. a scratch
  venv: ``python3 -m venv /tmp/engines && /tmp/engines/bin/pip install polars duckdb``):
  polars' import, its CSV reader turning the file into a column of lines, one split of the
  syslog header and one ``str.contains`` classification pass; duckdb's import and load.

Usage::

    .venv/bin/python benchmarks/bench_logs_floors.py [--lines 1000000] [--engines-python PY]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genlog  # noqa: E402  (benchmarks/ is not a package)

HEADER = r"[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d [^ :\[\]]+ [^ \[\]:]+\[\d+\]: "

STEPS: dict[str, str] = {
    "interpreter (python -c pass)": "pass",
    "import saslscope.maillog + click": "import click, saslscope.maillog.analysis",
    "read file, count lines": "open(LOG, 'rb').read().count(b'\\n')",
    "re: header pattern, every line": (
        "import re; p = re.compile(rb'(?m)^" + HEADER + "'); "
        "sum(1 for _ in p.finditer(open(LOG, 'rb').read()))"),
}
ENGINE_STEPS: dict[str, str] = {
    "polars: import": "import polars",
    "polars: import + lines column": (
        "import polars as pl; pl.read_csv(LOG, has_header=False, separator='\\x00', quote_char=None, "
        "new_columns=['line'], encoding='utf8-lossy', schema_overrides={'line': pl.Utf8})"),
    "polars: + header split + 1 contains": (
        "import polars as pl; d = pl.read_csv(LOG, has_header=False, separator='\\x00', quote_char=None, "
        "new_columns=['line'], encoding='utf8-lossy', schema_overrides={'line': pl.Utf8}); "
        "l = pl.col('line'); d.select(l.str.slice(16).str.splitn(' ', 3).alias('fields'), "
        "l.str.contains(r'smtpd\\[\\d+\\]: (?:connect|disconnect) from ').alias('kind'))"),
    "duckdb: import": "import duckdb",
    "duckdb: import + lines table": (
        "import duckdb; c = duckdb.connect(); c.execute(\"create table l as select line from read_csv('\" + LOG + "
        "\"', columns={'line': 'VARCHAR'}, delim='\\x01', quote='', escape='', header=false, "
        "auto_detect=false)\")"),
}


def best_of(argv: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="runs per step; the best is reported")
    parser.add_argument("--engines-python", help="an interpreter with polars and duckdb installed")
    args = parser.parse_args()
    if not shutil.which("pflogsumm"):
        sys.exit("bench_logs_floors: pflogsumm not found (scripts/bootstrap installs it)")
    log = Path(tempfile.gettempdir()) / f"saslscope-bench-{args.lines}-{args.seed}.log"
    if not log.exists():
        with open(str(log) + ".part", "w") as out:
            genlog.generate(args.lines, args.seed, out)
        Path(str(log) + ".part").replace(log)
    anchor = best_of(["pflogsumm", str(log)], args.runs)
    budget = anchor / 10
    print(f"log: {log} ({log.stat().st_size / 1e6:.0f} MB); pflogsumm {anchor:.2f} s; "
          f"10x budget {budget:.3f} s")
    print(f"{'step':40} {'seconds':>8} {'of budget':>10}")
    steps = [(sys.executable, name, code) for name, code in STEPS.items()]
    if args.engines_python:
        steps += [(args.engines_python, name, code) for name, code in ENGINE_STEPS.items()]
    for python, name, code in steps:
        seconds = best_of([python, "-c", f"LOG = {str(log)!r}\n{code}"], args.runs)
        print(f"{name:40} {seconds:8.3f} {seconds / budget:9.0%}")


if __name__ == "__main__":
    main()
