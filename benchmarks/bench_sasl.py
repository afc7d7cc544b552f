#!/usr/bin/env python3
"""Time saslscope's SASL arithmetic against independent anchors measured in the same run.

* SCRAM-SHA-256 (4096 iterations): one full client+server exchange with saslscope.sasl
  against the same exchange with scramp 1.5 (ratio saslscope / scramp; PBKDF2 dominates,
  so both should be close to 1.0 and any overhead of ours shows above it).
* CRAM-MD5 server check from a Dovecot ``{CRAM-MD5}`` context (pure-Python MD5 finish)
  against a check from the plaintext password with hashlib's C HMAC-MD5 (the anchor):
  the price of not storing the password.

    .venv/bin/python benchmarks/bench_sasl.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from collections.abc import Callable

import scramp

from saslscope.sasl import ClientCredentials, MemoryStore, StoredCredential
from saslscope.sasl.cram import cram_md5_context
from saslscope.sasl.registry import client_mechanism, server_mechanism
from saslscope.sasl.scram import derive_scram_keys

CHALLENGE_B64 = "PDA3Nzg3NTMyMDgxMzMwMDAuMTUzNzE1MTM2NEBpazEtMzMxLTI1NjQ5LnZzLnNha3VyYS5uZS5qcD4="
CHALLENGE = base64.b64decode(CHALLENGE_B64)
USER = "centos7@phoenixknight.jp"
ANSWER = base64.b64decode("Y2VudG9zN0BwaG9lbml4a25pZ2h0LmpwIDFjODg0OGZjZjczNGRkNTI4YjkxOWVhNzUzYzEzNzRi")


def ours_scram(store: MemoryStore) -> Callable[[], None]:
    def run() -> None:
        client = client_mechanism("SCRAM-SHA-256", ClientCredentials("user", "pencil"))
        server = server_mechanism("SCRAM-SHA-256", store)
        first = server.step(client.initial_response())
        outcome = server.step(client.respond(first.data))
        client.respond(outcome.final_data)

    return run


def scramp_scram() -> Callable[[], None]:
    mechanism = scramp.ScramMechanism("SCRAM-SHA-256")
    auth_info = mechanism.make_auth_info("pencil", iteration_count=4096)

    def run() -> None:
        client = scramp.ScramClient(["SCRAM-SHA-256"], "user", "pencil")
        server = mechanism.make_server(lambda username: auth_info)
        server.set_client_first(client.get_client_first())
        client.set_server_first(server.get_server_first())
        server.set_client_final(client.get_client_final())
        client.set_server_final(server.get_server_final())

    return run


def cram_check(credential: StoredCredential) -> Callable[[], None]:
    store = MemoryStore()
    store.add(credential)

    def run() -> None:
        server = server_mechanism("CRAM-MD5", store, challenge=CHALLENGE)
        server.step(None)
        server.step(ANSWER)

    return run


def median_seconds(function: Callable[[], None], rounds: int, inner: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(inner):
            function()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def compare(label: str, ours: Callable[[], None], anchor: Callable[[], None], rounds: int, inner: int) -> None:
    ours(), anchor()  # warm up
    # Alternate so that drift on the machine hits both alike.
    ours_times, anchor_times = [], []
    for _ in range(rounds):
        ours_times.append(median_seconds(ours, 1, inner))
        anchor_times.append(median_seconds(anchor, 1, inner))
    mine, theirs = statistics.median(ours_times), statistics.median(anchor_times)
    print(f"{label:<48} ours {mine * 1e6:10.1f} us   anchor {theirs * 1e6:10.1f} us   ratio {mine / theirs:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    scram_store = MemoryStore()
    scram_store.add(StoredCredential("user", scram=(derive_scram_keys("pencil", "sha256", b"0123456789abcdef", 4096),)))
    compare("SCRAM-SHA-256 exchange (vs scramp)", ours_scram(scram_store), scramp_scram(), rounds, 3)
    compare(
        "CRAM-MD5 check: {CRAM-MD5} context (vs password)",
        cram_check(StoredCredential(USER, cram_md5_context=cram_md5_context("zaq12345"))),
        cram_check(StoredCredential(USER, password="zaq12345")),
        rounds,
        200,
    )


if __name__ == "__main__":
    main()
