#!/usr/bin/env python3
"""``saslscope headers`` on a hostile header: 16 MB with about 92,000 ``Received:`` lines (issue 10 item 21).

A sender can put as many Received lines below the real ones as the receiving server lets through
(Postfix's header_size_limit is 100 KiB by default, but a Maildir or mbox copy, or another MTA,
may hold more; saslscope reads up to 16 MiB of header). Each command runs in a fresh process, as
a user runs it; its wall time and peak memory (ru_maxrss of that child) are printed with the
ratio to the anchor: the stdlib ``email`` parser reading the same header and fetching every
Received value, in a fresh process too, in the same run.

    .venv/bin/python benchmarks/bench_headers_hostile.py [--lines 92000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOP = ("Received: from host{n}.example.net (host{n}.example.net [192.0.2.{m}])\n"
       "\tby mx{m}.example.org (Postfix) with ESMTPS id 4Q{n:08X}\n\tfor <victim@example.org>; "
       "Mon, 17 Sep 2018 12:{s:02d}:00 +0900\n")

ANCHOR = """
import sys
from email import policy
from email.parser import BytesParser
with open(sys.argv[1], "rb") as handle:
    message = BytesParser(policy=policy.default).parse(handle, headersonly=True)
print(len([str(v) for v in message.get_all("Received", [])]))
"""


def make_header(path: Path, lines: int) -> int:
    with path.open("w") as out:
        out.write("Subject: hostile\nFrom: a@example.net\n")
        for n in range(lines):
            out.write(HOP.format(n=n, m=n % 250 + 1, s=n % 60))
        out.write("\nbody\n")
    return path.stat().st_size


def run(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB of this child, bytes written to stdout."""
    start = time.perf_counter()
    # A fresh process per command: ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so
    # each measurement goes through its own wrapper process that reports only its own child.
    wrapper = ("import resource, subprocess, sys; "
               "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE); "
               "print(len(p.stdout), p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    size, status, peak_kb = (int(x) for x in done.stdout.split())
    assert status == 0, (command, status, done.stderr)
    return elapsed, peak_kb / 1024, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=92_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hostile.eml"
        size = make_header(path, args.lines)
        saslscope = [sys.executable, "-m", "saslscope", "headers", str(path)]
        commands = {
            "stdlib email (anchor)": [sys.executable, "-c", ANCHOR, str(path)],
            "saslscope headers": saslscope,
            "saslscope headers --json": [*saslscope, "--json"],
        }
        print(f"{size / 1e6:.1f} MB header, {args.lines} Received lines ({os.uname().nodename}); saslscope reads "
              "the first 16 MiB of a header")
        results = {name: run(command) for name, command in commands.items()}
    anchor = results["stdlib email (anchor)"][0]
    for name, (elapsed, peak, out) in results.items():
        print(f"  {name:<26} {elapsed:8.2f} s  ratio {elapsed / anchor:6.2f}  peak {peak:7.0f} MB  "
              f"output {out / 1e6:8.2f} MB")


if __name__ == "__main__":
    main()
