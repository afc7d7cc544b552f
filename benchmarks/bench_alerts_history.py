"""The history store's runs for bench_alerts.py: ``logs alerts --db`` cold and warm.

* cold: the store is removed before the run: every line is read, recorded and judged;
* warm: the same command again over the same file with nothing new (the store of the cold run
  of the same round is kept): only the file's first bytes are read to recognise it.

Targets (issue 15): cold at most 2x ``logs summary``, warm at most 0.1x cold, peak under 500 MB.
Usage::

    .venv/bin/python benchmarks/bench_alerts.py --extra bench_alerts_history
"""

from __future__ import annotations

from pathlib import Path

from bench_alerts import SASLSCOPE, Run

COLD = "alerts --db (cold)"
WARM = "alerts --db (warm, nothing new)"


def runs(log: Path, workdir: Path) -> list[Run]:
    db = workdir / "history.db"

    def fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    argv = [SASLSCOPE, "logs", "alerts", "--json", "--db", str(db), str(log)]
    return [Run(COLD, argv, before=fresh), Run(WARM, argv)]


def report(results: dict[str, tuple[float, float]]) -> list[str]:
    """The targets' lines, from the best wall seconds and peak MB of each run."""
    summary, cold, warm = results["saslscope logs summary"][0], results[COLD][0], results[WARM][0]
    peak = max(results[COLD][1], results[WARM][1])
    return [f"target: cold --db <= 2x summary -> {cold / summary:.2f}x {'MET' if cold <= 2 * summary else 'MISSED'}",
            f"target: warm --db <= 0.1x cold -> {warm / cold:.3f}x {'MET' if warm <= 0.1 * cold else 'MISSED'}",
            f"target: --db peak < 500 MB -> {peak:.0f} MB {'MET' if peak < 500 else 'MISSED'}"]
