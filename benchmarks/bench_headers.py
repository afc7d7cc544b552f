#!/usr/bin/env python3
"""Time ``saslscope.headers`` against the standard library reading the same headers.

The anchor is what a script would do without saslscope: ``email.parser.BytesParser`` with the
modern ``email.policy.default`` over the header only, then fetching every Received value (which
makes the policy parse each field). It does less than we do -- no clause, comment, TLS, date or
verdict parsing -- so the ratio says what the full analysis costs relative to merely reading
the fields. Runs alternate between the two so drift hits both alike.

    .venv/bin/python benchmarks/bench_headers.py                  # all samples, 2000 messages
    .venv/bin/python benchmarks/bench_headers.py --messages 10000 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

from saslscope.headers.chain import analyze_bytes
from saslscope.headers.report import to_dict

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "headers" / "samples"


def stdlib(messages: list[bytes]) -> int:
    parser = BytesParser(policy=policy.default)
    count = 0
    for data in messages:
        message = parser.parsebytes(data, headersonly=True)
        count += len([str(value) for value in message.get_all("Received", [])])
    return count


def saslscope(messages: list[bytes]) -> int:
    count = 0
    for data in messages:
        count += len(to_dict(analyze_bytes(data))["hops"])
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    samples = [path.read_bytes() for path in sorted(SAMPLES.glob("*.eml"))]
    messages = [samples[i % len(samples)] for i in range(args.messages)]
    hops = sum(data.count(b"\nReceived:") for data in messages)
    timings: dict[str, list[float]] = {"stdlib email (anchor)": [], "saslscope headers": []}
    for _ in range(args.rounds):
        for name, run in (("stdlib email (anchor)", stdlib), ("saslscope headers", saslscope)):
            start = time.perf_counter()
            found = run(messages)
            timings[name].append(time.perf_counter() - start)
            assert found == hops, (name, found, hops)
    anchor = statistics.median(timings["stdlib email (anchor)"])
    print(f"{args.messages} messages from {len(samples)} samples, {hops} Received headers, "
          f"median of {args.rounds} rounds")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"  {name:<24} {median:8.3f} s  {hops / median:10.0f} hops/s  ratio {median / anchor:5.2f}")


if __name__ == "__main__":
    main()
