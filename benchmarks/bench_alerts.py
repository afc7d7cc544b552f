"""``saslscope logs alerts`` beside ``logs summary`` and pflogsumm on the same log, same run.

Uses bench_logs.py's generated 1,000,000-line log (benchmarks/genlog.py, cached in the temp
directory) and its ``measure`` (wall seconds and peak RSS under ``/usr/bin/time -v``). Every
run is its own process; rounds are interleaved so machine load hits every command alike, and
the best wall time of the rounds is reported with the ratio to ``summary`` (the anchor) and
to pflogsumm. Targets (issue 15): peak memory under 500 MB; with ``--db`` (history store), a
cold run at most 2x ``summary`` and a warm rerun at most 0.1x the cold run. Usage::

    .venv/bin/python benchmarks/bench_alerts.py [--lines 1000000] [--seed 1] [--repeat 3]

Other runs join through :data:`EXTRA_RUNS`: a module that adds ``Run`` entries (for example
the history store's cold and warm ``--db`` runs, each with a ``before`` step that removes or
keeps the database) is imported with ``--extra MODULE`` and its ``runs(log, workdir)``
function called.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genlog  # noqa: E402  (benchmarks/ is not a package)
from bench_logs import measure  # noqa: E402

SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
TARGET_PEAK_MB = 500.0


@dataclass
class Run:
    name: str
    argv: list[str]
    before: Callable[[], None] | None = None     # run before each round's measurement (not timed)


def log_file(lines: int, seed: int) -> Path:
    """bench_logs.py's cached log (generated on first use)."""
    log = Path(tempfile.gettempdir()) / f"saslscope-bench-{lines}-{seed}.log"
    if not log.exists():
        print(f"generating {lines} lines into {log} ...", file=sys.stderr)
        with open(str(log) + ".part", "w") as out:
            genlog.generate(lines, seed, out)
        os.replace(str(log) + ".part", log)
    return log


def default_runs(log: Path) -> list[Run]:
    return [
        Run("saslscope logs summary", [SASLSCOPE, "logs", "summary", "--json", str(log)]),
        Run("saslscope logs alerts", [SASLSCOPE, "logs", "alerts", "--json", str(log)]),
        Run("pflogsumm", ["pflogsumm", str(log)]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best wall time is reported")
    parser.add_argument("--extra", action="append", default=[], metavar="MODULE",
                        help="a module of benchmarks/ with runs(log, workdir) -> list[Run]")
    args = parser.parse_args()
    for tool in ("/usr/bin/time", "pflogsumm"):
        if not shutil.which(tool):
            sys.exit(f"bench_alerts: {tool} not found (scripts/bootstrap installs pflogsumm)")
    log = log_file(args.lines, args.seed)
    with tempfile.TemporaryDirectory(prefix="saslscope-bench-alerts-") as workdir:
        runs = default_runs(log)
        extras = [importlib.import_module(name) for name in args.extra]
        for module in extras:
            runs += module.runs(log, Path(workdir))
        print(f"log: {log} ({args.lines} lines, {log.stat().st_size / 1e6:.0f} MB); load average before: "
              f"{os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}")
        results: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeat):
            for run in runs:
                if run.before is not None:
                    run.before()
                seconds, peak = measure(run.argv)
                best = results.get(run.name)
                results[run.name] = (min(seconds, best[0]) if best else seconds, max(peak, best[1]) if best else peak)
    anchor = results["saslscope logs summary"][0]
    pflogsumm = results["pflogsumm"][0]
    print(f"{'command':30} {'seconds':>8} {'x summary':>10} {'x pflogsumm':>12} {'peak MB':>8}")
    for name, (seconds, peak) in results.items():
        print(f"{name:30} {seconds:8.2f} {seconds / anchor:10.2f} {seconds / pflogsumm:12.2f} {peak:8.1f}")
    peak = results["saslscope logs alerts"][1]
    print(f"target: alerts peak < {TARGET_PEAK_MB:.0f} MB -> {peak:.0f} MB "
          f"{'MET' if peak < TARGET_PEAK_MB else 'MISSED'}; load average after: {os.getloadavg()[0]:.2f}")
    for module in extras:            # an extra module may state its own targets
        for line in getattr(module, "report", lambda _: [])(results):
            print(line)


if __name__ == "__main__":
    main()
