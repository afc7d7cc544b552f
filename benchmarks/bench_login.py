#!/usr/bin/env python3
"""Time ``saslscope login`` against ``swaks --quit-after AUTH`` on the same real Postfix.

Both tools do the same work per run, start-up included: a fresh process, TCP connect to
the lab Postfix, STARTTLS with certificate verification against the lab CA, EHLO, one
CRAM-MD5 exchange with Dovecot behind Postfix, QUIT. Runs alternate between the tools so
that drift on the machine hits both alike. swaks is the anchor: the printed ratio is
saslscope / swaks (below 1.0 means saslscope is faster).

    sudo .venv/bin/python benchmarks/bench_login.py            # starts and stops the lab
    sudo .venv/bin/python benchmarks/bench_login.py --runs 50 --mech PLAIN
    sudo .venv/bin/python benchmarks/bench_login.py --against /path/to/other/checkout/src

``--against SRC`` adds a third command, this saslscope run with another source tree on
PYTHONPATH (another branch's ``src``, say), interleaved with the others: a before/after of a
change measured under the same load, printed as a ratio.

Needs root and the Debian packages of scripts/bootstrap (the lab is tests/interop/lab.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "interop"))

from lab import CENTOS7, LabError, PostfixLab, lab_unavailable_reason  # noqa: E402

SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
PASSWORD_ENV = "SASLSCOPE_BENCH_PASSWORD"


def commands(lab: PostfixLab, mech: str) -> dict[str, list[str]]:
    port, ca = str(lab.ports.submission), str(lab.ca_path)
    return {
        "saslscope login": [
            SASLSCOPE, "login", lab.host, "--port", port, "--cafile", ca,
            "--user", CENTOS7.address, "--mech", mech, "--password-env", PASSWORD_ENV,
        ],
        "swaks --quit-after AUTH": [
            "swaks", "--server", lab.host, "--port", port, "--tls", "--tls-verify", "--tls-ca-path", ca,
            "--auth", mech, "--auth-user", CENTOS7.address, "--auth-password", CENTOS7.password,
            "--quit-after", "AUTH",
        ],
    }


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed (exit {result.returncode}):\n{result.stdout.decode(errors='replace')[-2000:]}")
    return elapsed


def p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10, method="inclusive")[8]


AGAINST = "saslscope login (--against)"


def measure(lab: PostfixLab, mech: str, runs: int, warmup: int, against: str | None) -> dict[str, list[float]]:
    env = {**os.environ, PASSWORD_ENV: CENTOS7.password}
    argvs = commands(lab, mech)
    envs = dict.fromkeys(argvs, env)
    if against is not None:
        argvs[AGAINST] = argvs["saslscope login"]
        envs[AGAINST] = {**env, "PYTHONPATH": against}
    for name, argv in argvs.items():  # warm the page cache and Postfix's smtpd processes
        for _ in range(warmup):
            timed(argv, envs[name])
    samples: dict[str, list[float]] = {name: [] for name in argvs}
    for _ in range(runs):
        for name, argv in argvs.items():
            samples[name].append(timed(argv, envs[name]))
    return samples


def report(samples: dict[str, list[float]], mech: str, runs: int) -> None:
    print(f"{mech} login, quit after AUTH, STARTTLS + verification, {runs} runs each (start-up included)")
    print(f"{'command':<26}{'median':>10}{'p90':>10}{'min':>10}")
    for name, values in samples.items():
        print(f"{name:<26}{statistics.median(values) * 1000:>8.1f}ms{p90(values) * 1000:>8.1f}ms{min(values) * 1000:>8.1f}ms")
    ours, anchor = samples["saslscope login"], samples["swaks --quit-after AUTH"]
    median_ratio = statistics.median(ours) / statistics.median(anchor)
    print(f"ratio saslscope/swaks: median {median_ratio:.2f}, p90 {p90(ours) / p90(anchor):.2f}")
    print("target: saslscope no slower than swaks ->", "met" if median_ratio <= 1.0 else "NOT met")
    if AGAINST in samples:
        other = samples[AGAINST]
        print(f"ratio this tree/--against tree: median {statistics.median(ours) / statistics.median(other):.3f}, "
              f"p90 {p90(ours) / p90(other):.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per tool (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per tool first (default 2)")
    parser.add_argument("--mech", default="CRAM-MD5", choices=("CRAM-MD5", "PLAIN", "LOGIN"), help="a mechanism swaks has too")
    parser.add_argument("--against", metavar="SRC", help="also time saslscope with this source tree on PYTHONPATH")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2")
    reason = lab_unavailable_reason() or (None if shutil.which("swaks") else "swaks is not installed")
    if reason:
        print(f"bench_login: cannot run: {reason}", file=sys.stderr)
        return 2
    try:
        with PostfixLab() as lab:
            samples = measure(lab, args.mech, args.runs, args.warmup, args.against)
    except LabError as exc:
        print(f"bench_login: the Postfix lab did not start: {exc}", file=sys.stderr)
        return 2
    report(samples, args.mech, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
