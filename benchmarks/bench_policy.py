#!/usr/bin/env python3
"""Decisions per second and latency of ``saslscope policy serve`` (memory and Redis state)
against policyd-rate-limit with the same rule, under a C load client with persistent connections.

The load client (``benchmarks/policyload.c``, compiled here with ``cc -O2``) keeps
``--connections`` connections open, as that many busy smtpd processes do, each sending one
DATA request of Postfix 3.7 (28 attributes) and waiting for its answer before the next. Its
own ceiling is measured in the same run against a trivial C server that answers DUNNO
without reading the request: a service measured far below that ceiling is not limited by
the client.

The rule everywhere: at most 1,000,000 messages per account per hour (never reached, so
every request is counted and answered DUNNO, as on a normal day), 1,000 accounts.

* saslscope, memory:  ``policy serve --user-messages 1000000/1h``
* saslscope, Redis:   the same with ``--redis`` (a private redis-server, started here)
* policyd-rate-limit: PyPI's, SQLite backend (its file on disk, as installed, and on /dev/shm:
  no fsync cost, the anchor at its fastest), ``limits: [[1000000, 3600]]``,
  ``limit_by_sasl: True``, ``count_mode: 1`` (count at DATA); installed by pip into a
  virtualenv under ``--cache`` the first time.

Also printed: CPU seconds each server used per 1,000 answers (``/proc/PID/stat``; Redis's own
CPU for the Redis backend), the figure that survives a machine shared with other work.

    .venv/bin/python benchmarks/bench_policy.py                   # 5 s per target, 50 connections
    .venv/bin/python benchmarks/bench_policy.py --seconds 10 --connections 100 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_server import RedisServer, free_port  # noqa: E402

SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
USERS = 1000
RULE = "1000000/1h"
PRL_CONFIG = """\
debug: False
user: "root"
group: "root"
pidfile: "{dir}/prl.pid"
backend: 0
sqlite_config:
    database: "{db}"
SOCKET: ["127.0.0.1", {port}]
limits:
    - [1000000, 3600]
limits_by_id: {{}}
sql_limits_by_id: ""
limit_by_sasl: True
limit_by_sender: False
limit_by_ip: False
limited_networks: []
success_action: "dunno"
fail_action: "defer_if_permit Rate limit reach, retry later"
db_error_action: "dunno"
report: False
delay_to_close: 300
count_mode: 1
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout:.0f} s")


@contextmanager
def started(argv: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def policyd_rate_limit(cache: Path) -> Path:
    venv = cache / "policyd-rate-limit-venv"
    binary = venv / "bin" / "policyd-rate-limit"
    if not binary.exists():
        print(f"installing policyd-rate-limit into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "policyd-rate-limit"], check=True)
    return binary


def load(client: Path, port: int, args: argparse.Namespace, connections: int) -> dict[str, float]:
    result = subprocess.run([str(client), "client", "127.0.0.1", str(port), str(connections), str(args.seconds),
                             str(args.warmup), str(USERS)], capture_output=True, text=True, check=True,
                            timeout=args.seconds + args.warmup + 60)
    return dict(json.loads(result.stdout))


def measure(name: str, client: Path, port: int, pids: list[int], args: argparse.Namespace) -> dict[str, float | str]:
    """Throughput with ``--connections``, then latency at ``--latency-connections`` (a closed
    loop's latency at saturation is only queueing: connections / rate)."""
    if args.latency_connections:
        light = load(client, port, args, args.latency_connections)
    before = sum(cpu_seconds(p) for p in pids)
    stats = load(client, port, args, args.connections)
    used = sum(cpu_seconds(p) for p in pids) - before
    # CPU over warm-up and measurement, per answer of the measured part scaled to the whole run
    total_answers = stats["rate"] * (args.seconds + args.warmup)
    stats["cpu_ms_per_1000"] = 1000 * used / total_answers * 1000 if total_answers else float("nan")
    if args.latency_connections:
        stats.update({"light_rate": light["rate"], "light_p50_us": light["p50_us"], "light_p99_us": light["p99_us"]})
    return {"target": name, **stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--latency-connections", type=int, default=4,
                        help="also measure latency with this many connections (0: skip)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "saslscope-bench")
    parser.add_argument("--skip", action="append", default=[], choices=["redis", "policyd-rate-limit"])
    args = parser.parse_args()
    if not shutil.which("cc"):
        sys.exit("bench_policy: needs a C compiler (cc) for the load client")
    work = Path(tempfile.mkdtemp(prefix="bench-policy-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    client = work / "policyload"
    subprocess.run(["cc", "-O2", "-o", str(client), str(ROOT / "benchmarks" / "policyload.c")], check=True)
    prl = None if "policyd-rate-limit" in args.skip else policyd_rate_limit(args.cache)

    targets: list[tuple[str, Callable[[], dict[str, float | str]]]] = []

    def trivial() -> dict[str, float | str]:
        port = free_port()
        with started([str(client), "serve", str(port)], port, work / "trivial.log") as p:
            return measure("trivial C server (client ceiling)", client, port, [p.pid], args)

    def memory() -> dict[str, float | str]:
        port = free_port()
        argv = [SASLSCOPE, "policy", "serve", "--listen", f"127.0.0.1:{port}", "--user-messages", RULE]
        with started(argv, port, work / "memory.log") as p:
            return measure("saslscope policy serve, memory", client, port, [p.pid], args)

    def redis() -> dict[str, float | str]:
        server = RedisServer(work / "redis")
        server.start()
        try:
            port = free_port()
            argv = [SASLSCOPE, "policy", "serve", "--listen", f"127.0.0.1:{port}", "--user-messages", RULE,
                    "--redis", server.url]
            with started(argv, port, work / "redis-service.log") as p:
                assert server.process is not None
                return measure("saslscope policy serve, redis", client, port, [p.pid, server.process.pid], args)
        finally:
            server.stop()

    def rate_limit(tmpfs: bool) -> dict[str, float | str]:
        assert prl is not None
        port = free_port()
        # on disk, as its README installs it (/var/lib/...), or on tmpfs: no fsync, at its fastest
        db_dir = Path("/dev/shm") if tmpfs else work
        db = db_dir / f"bench-policy-prl-{os.getpid()}.sqlite3"
        db.unlink(missing_ok=True)
        config = work / "prl.yaml"
        config.write_text(PRL_CONFIG.format(dir=work, port=port, db=db))
        try:
            with started([str(prl), "--file", str(config)], port, work / "prl.log") as p:
                where = "tmpfs" if tmpfs else "disk"
                return measure(f"policyd-rate-limit 1.2 (sqlite, {where})", client, port, [p.pid], args)
        finally:
            db.unlink(missing_ok=True)

    targets = [("trivial", trivial), ("memory", memory)]
    if "redis" not in args.skip:
        targets.append(("redis", redis))
    if prl is not None:
        targets.append(("policyd-rate-limit-disk", lambda: rate_limit(False)))
        if Path("/dev/shm").is_dir():
            targets.append(("policyd-rate-limit-tmpfs", lambda: rate_limit(True)))
    results: dict[str, list[dict[str, float | str]]] = {}
    for _ in range(args.rounds):
        for key, run in targets:
            results.setdefault(key, []).append(run())
    print(f"{args.connections} persistent connections, {args.seconds:g} s measured after {args.warmup:g} s warm-up, "
          f"{USERS} accounts, load average before: {os.getloadavg()[0]:.2f}")
    light = f" | {args.latency_connections} conns: {'answers/s':>9} {'p50 ms':>7} {'p99 ms':>7}" if args.latency_connections else ""
    print(f"{'target':36} {'answers/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/1000':>11} {'non-DUNNO':>9} {'errors':>6}{light}")
    best: dict[str, dict[str, float | str]] = {}
    for key, rows in results.items():
        for row in rows:
            tail = (f" | {'':>8} {row['light_rate']:>9.0f} {float(row['light_p50_us']) / 1000:>7.2f} "
                    f"{float(row['light_p99_us']) / 1000:>7.2f}") if args.latency_connections else ""
            print(f"{row['target']:36} {row['rate']:>9.0f} {float(row['p50_us']) / 1000:>7.2f} "
                  f"{float(row['p99_us']) / 1000:>7.2f} {row['cpu_ms_per_1000']:>11.1f} {row['other']:>9.0f} {row['errors']:>6.0f}{tail}")
        best[key] = max(rows, key=lambda r: float(r["rate"]))
    for anchor_key in ("policyd-rate-limit-disk", "policyd-rate-limit-tmpfs"):
        if anchor_key not in best:
            continue
        anchor = float(best[anchor_key]["rate"])
        anchor_cpu = float(best[anchor_key]["cpu_ms_per_1000"])
        for key in ("memory", "redis"):
            if key in best and anchor:
                print(f"ratio {key} / {anchor_key}: answers/s {float(best[key]['rate']) / anchor:.1f}x, "
                      f"CPU per answer {anchor_cpu / float(best[key]['cpu_ms_per_1000']):.1f}x less")
    print(f"ceiling share: memory uses {float(best['memory']['rate']) / float(best['trivial']['rate']):.0%} "
          "of what the load client can drive")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
