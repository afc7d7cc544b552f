#!/usr/bin/env python3
"""What a password guesser and a user enumerator get from ``saslscope serve`` (issue 10 items 3, 4).

Guessing (the audit's hang-up strategy): each attacker connection sends ``AUTH PLAIN`` with a
wrong password, hangs up when no ``235`` arrived within 150 ms, reconnects and guesses again,
at 1, 8 and 40 connections. The anchor is the honest guesser of the same run: one
connection that waits for every reply. Each scenario gets a fresh server with the default
penalty (1 s doubling to 15 s, slots further than 30 s refused), so every one starts
unpenalised. A guess counts when the server *checked* it (a ``wrong password`` log line): a
guess abandoned while the penalty holds it is never checked, so it tells the attacker
nothing. Target: no scenario checks more guesses per second than the honest client.

Enumeration: the time from ``AUTH SCRAM-SHA-256 <client-first>`` to the server-first ``334``
for a user stored with ``{SCRAM-SHA-256}`` keys (i=10000, 24-byte salt, as the audit found),
a user stored as ``{PLAIN}``, and an unknown user; over loopback (interleaved, median) and
in-process (the mechanism alone). Target: real/unknown within 1.2x, and the same ``i=`` and
salt length for all three.

    .venv/bin/python benchmarks/bench_server_attacks.py                 # 20 s per guessing scenario
    .venv/bin/python benchmarks/bench_server_attacks.py --duration 60 --samples 500
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from saslscope.sasl.credentials import MemoryStore, StoredCredential
from saslscope.sasl.registry import server_mechanism
from saslscope.sasl.scram import derive_scram_keys
from saslscope.smtp.server import FailurePenalty, MaildirStore, PostfixLog, ServerConfig, run_in_thread

PLAIN_USER, PASSWORD = "plain@example.test", "the-right-one"
SCRAM_USER = "scram@example.test"
UNKNOWN_USER = "ghost@example.test"
HANG_UP_AFTER = 0.150


class CountingLog:
    """A log stream that counts checked guesses and refusals."""

    def __init__(self) -> None:
        self.checked = 0
        self.refused = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.checked += text.count("authentication failed: wrong password")
            self.refused += text.count("too many recent failures")
        return len(text)

    def flush(self) -> None:
        pass


def store() -> MemoryStore:
    users = MemoryStore()
    users.add(StoredCredential(PLAIN_USER, password=PASSWORD))
    users.add(StoredCredential(SCRAM_USER, scram=(derive_scram_keys("x", "sha256", os.urandom(24), 10_000),)))
    return users


def config(work: Path, log: CountingLog | None, penalty: FailurePenalty) -> ServerConfig:
    return ServerConfig(store=store(), maildir=MaildirStore(work / "mail"), log=PostfixLog(log or CountingLog()),
                        allow_cleartext_auth=True, penalty=penalty, max_connections=0, max_connections_per_ip=0,
                        hard_error_limit=1_000_000)  # the enumerator aborts every exchange with "*"


def read_reply(sock: socket.socket) -> bytes:
    data = b""
    while not any(line[3:4] == b" " for line in data.split(b"\r\n")[:-1]):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def greeted(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    read_reply(sock)
    sock.sendall(b"EHLO attacker.test\r\n")
    read_reply(sock)
    return sock


def plain(password: str) -> bytes:
    return b"AUTH PLAIN " + base64.b64encode(f"\0{PLAIN_USER}\0{password}".encode()) + b"\r\n"


def hang_up_guesser(port: int, until: float, sent: list[int]) -> None:
    guess = 0
    while time.monotonic() < until:
        with greeted(port) as sock:
            sock.sendall(plain(f"guess-{threading.get_ident()}-{guess}"))
            guess += 1
            sent.append(1)
            sock.settimeout(HANG_UP_AFTER)
            try:
                read_reply(sock)
            except TimeoutError:
                pass  # no 235 in 150 ms: take it as a failure, hang up, next guess


def honest_guesser(port: int, until: float, sent: list[int]) -> None:
    with greeted(port) as sock:
        guess = 0
        while time.monotonic() < until:
            sock.settimeout(max(0.1, until - time.monotonic()) + 30)
            sock.sendall(plain(f"honest-{guess}"))
            guess += 1
            sent.append(1)
            try:
                read_reply(sock)
            except TimeoutError:
                break


def guessing_scenario(work: Path, connections: int, duration: float, honest: bool) -> tuple[float, float, int]:
    log = CountingLog()
    with run_in_thread(config(work, log, FailurePenalty())) as server:
        until = time.monotonic() + duration
        sent: list[int] = []
        target = honest_guesser if honest else hang_up_guesser
        threads = [threading.Thread(target=target, args=(server.port, until, sent)) for _ in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return log.checked / duration, len(sent) / duration, log.refused


def server_first_over_the_wire(work: Path, samples: int) -> dict[str, float]:
    """Median ms from AUTH to the server-first 334, per kind of user (interleaved)."""
    times: dict[str, list[float]] = {SCRAM_USER: [], PLAIN_USER: [], UNKNOWN_USER: []}
    shapes: dict[str, set[str]] = {user: set() for user in times}
    with run_in_thread(config(work, None, FailurePenalty(base=0))) as server, greeted(server.port) as sock:
        for _ in range(samples):
            for user in times:
                first = base64.b64encode(f"n,,n={user},r=benchnonce".encode())
                started = time.perf_counter()
                sock.sendall(b"AUTH SCRAM-SHA-256 " + first + b"\r\n")
                reply = read_reply(sock)
                times[user].append((time.perf_counter() - started) * 1000)
                server_first = base64.b64decode(reply[4:].strip()).decode()
                fields = dict(item.split("=", 1) for item in server_first.split(","))
                shapes[user].add(f"i={fields['i']}, salt {len(base64.b64decode(fields['s']))} bytes")
                sock.sendall(b"*\r\n")
                read_reply(sock)
    for user, shape in shapes.items():
        print(f"    {user:22} server-first shape: {', '.join(sorted(shape))}")
    return {user: statistics.median(values) for user, values in times.items()}


def server_first_in_process(samples: int) -> dict[str, float]:
    from saslscope.sasl.decoys import Decoys

    users = store()
    decoys = Decoys.for_store(users)
    decoys.warm(users, ["sha256"])
    times: dict[str, list[float]] = {SCRAM_USER: [], PLAIN_USER: [], UNKNOWN_USER: []}
    for _ in range(samples):
        for user in times:
            mechanism = server_mechanism("SCRAM-SHA-256", users, decoys=decoys)
            message = f"n,,n={user},r=benchnonce".encode()
            started = time.perf_counter()
            mechanism.step(message)
            times[user].append((time.perf_counter() - started) * 1_000_000)
    return {user: statistics.median(values) for user, values in times.items()}


def login_latency_ms(port: int, samples: int) -> float:
    """Median ms of a normal AUTH PLAIN (right password) on a freshly greeted connection."""
    times = []
    for _ in range(samples):
        with greeted(port) as sock:
            started = time.perf_counter()
            sock.sendall(plain(PASSWORD))
            reply = read_reply(sock)
            times.append((time.perf_counter() - started) * 1000)
            assert reply.startswith(b"235"), reply
    return statistics.median(times)


def enumerator(port: int, stop: threading.Event) -> None:
    with greeted(port) as sock:
        n = 0
        while not stop.is_set():
            first = base64.b64encode(f"n,,n=ghost{n}@example.test,r=enumnonce".encode())
            sock.sendall(b"AUTH SCRAM-SHA-256 " + first + b"\r\n")
            read_reply(sock)
            sock.sendall(b"*\r\n")
            read_reply(sock)
            n += 1


def login_under_enumeration(work: Path, samples: int) -> tuple[float, float]:
    """A normal login alone, and while 8 clients run SCRAM server-first for unknown names."""
    with run_in_thread(config(work, None, FailurePenalty(base=0))) as server:
        alone = login_latency_ms(server.port, samples)
        stop = threading.Event()
        threads = [threading.Thread(target=enumerator, args=(server.port, stop)) for _ in range(8)]
        for thread in threads:
            thread.start()
        try:
            loaded = login_latency_ms(server.port, samples)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    return alone, loaded


def big_message_peak_mb(work: Path, size: int, recipients: int) -> float:
    """Peak Python memory (tracemalloc) while the server takes one message of ``size`` bytes."""
    import smtplib
    import tracemalloc

    body = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (size // 1000)
    with run_in_thread(config(work, None, FailurePenalty(base=0))) as server:
        tracemalloc.start()
        tracemalloc.reset_peak()
        with smtplib.SMTP("127.0.0.1", server.port, timeout=120) as client:
            client.ehlo("big.test")
            client.login(PLAIN_USER, PASSWORD)
            client.sendmail(PLAIN_USER, [f"r{i}@example.org" for i in range(recipients)], body)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per guessing scenario")
    parser.add_argument("--samples", type=int, default=300, help="server-first samples per kind of user")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="saslscope-bench-attacks-"))

    print(f"Guessing AUTH PLAIN for one account, {args.duration:.0f} s per scenario, default penalty "
          "(1 s doubling to 15 s, refused beyond 30 s)")
    honest, honest_sent, _ = guessing_scenario(work, 1, args.duration, honest=True)
    print(f"  honest client (anchor), 1 connection : {honest:6.2f} checked/s ({honest_sent:6.2f} sent/s)")
    for connections in (1, 8, 40):
        checked, sent, refused = guessing_scenario(work, connections, args.duration, honest=False)
        verdict = "ok" if checked <= honest else "MORE than the honest client"
        print(f"  hang-up at 150 ms, {connections:2} connection(s): {checked:6.2f} checked/s "
              f"({sent:7.2f} sent/s, {refused} refused unchecked)  ratio {checked / honest:.2f}  {verdict}")

    print(f"SCRAM-SHA-256 server-first, {args.samples} samples per user (median)")
    wire = server_first_over_the_wire(work, args.samples)
    local = server_first_in_process(args.samples * 10)
    for user in (SCRAM_USER, PLAIN_USER):
        print(f"  {user:22} over loopback {wire[user]:6.3f} ms, in-process {local[user]:7.1f} us; "
              f"real/unknown {wire[user] / wire[UNKNOWN_USER]:.2f} (loopback), "
              f"{local[user] / local[UNKNOWN_USER]:.2f} (in-process)")
    print(f"  {UNKNOWN_USER:22} over loopback {wire[UNKNOWN_USER]:6.3f} ms, in-process {local[UNKNOWN_USER]:7.1f} us")

    alone, loaded = login_under_enumeration(work, 50)
    print(f"Normal AUTH PLAIN (median of 50): alone {alone:.2f} ms, while 8 clients enumerate with SCRAM "
          f"server-first {loaded:.2f} ms (ratio {loaded / alone:.2f})")
    for recipients in (1, 5):
        peak = big_message_peak_mb(work, 10_000_000, recipients)
        print(f"10 MB message to {recipients:2} recipient(s): peak Python memory {peak:.0f} MB "
              f"({peak / 10:.1f}x the message; client and server in this process)")
    print(f"  files in {work}")


if __name__ == "__main__":
    main()
