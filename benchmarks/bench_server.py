#!/usr/bin/env python3
"""Time the embedded server (``saslscope serve``) against stock aiosmtpd doing the same work.

Each session, from the same smtplib client: TCP connect, STARTTLS (verified against a
throw-away CA), EHLO, AUTH PLAIN, one message to one recipient, QUIT. The anchor is
aiosmtpd's own SMTP class with its built-in AUTH PLAIN checking a dict and a handler that
writes the message to a Maildir with :mod:`mailbox` -- what a script would build without
saslscope. Ours adds SASL via :mod:`saslscope.sasl`, Postfix-format logging (to a file),
command counters, trace headers and per-client failure tracking. Rounds alternate between
the two so drift hits both alike; the printed ratio is saslscope / aiosmtpd (time per
session, below 1.0 means faster).

    .venv/bin/python benchmarks/bench_server.py                       # 200 sessions x 3 rounds, 4 clients
    .venv/bin/python benchmarks/bench_server.py --sessions 500 --clients 8 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import mailbox
import smtplib
import socket
import ssl
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from saslscope.sasl.credentials import MemoryStore, StoredCredential
from saslscope.smtp.certs import make_test_pki
from saslscope.smtp.server import (
    FailurePenalty,
    MaildirStore,
    PostfixLog,
    ServerConfig,
    run_in_thread,
    server_tls_context,
)

USER, PASSWORD = "bench@example.test", "bench-password"
MESSAGE = "Subject: bench\r\n\r\nCRAM-MD5 テストに成功しました\r\n".encode()


def one_session(port: int, ca: str) -> None:
    context = ssl.create_default_context(cafile=ca)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test", timeout=30) as client:
        client.starttls(context=context)
        client.ehlo()
        client.user, client.password = USER, PASSWORD
        code, _ = client.auth("PLAIN", client.auth_plain)
        assert code == 235, code
        assert client.sendmail(USER, ["rcpt@example.org"], MESSAGE) == {}


def run_sessions(port: int, ca: str, sessions: int, clients: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(one_session, port, ca) for _ in range(sessions)]:
            future.result()
    return time.perf_counter() - started


class MaildirHandler:
    def __init__(self, root: Path) -> None:
        self.box = mailbox.Maildir(root, create=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.box.add(envelope.original_content)
        return "250 OK"


def check_plain(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok)


def free_port() -> int:
    # aiosmtpd's Controller connects to its own port once started, so it cannot take port 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # the anchor's stock AUTH logs a deprecation warning on every login
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    work = Path(tempfile.mkdtemp(prefix="saslscope-bench-server-"))
    pki = make_test_pki(work / "pki")
    tls_context, der = server_tls_context(pki.chain_path, pki.key_path)
    ca = str(pki.ca_cert_path)

    store = MemoryStore()
    store.add(StoredCredential(USER, password=PASSWORD))
    log_file = open(work / "maillog", "a", encoding="utf-8")  # noqa: SIM115
    config = ServerConfig(store=store, maildir=MaildirStore(work / "ours"), log=PostfixLog(log_file),
                          tls_context=tls_context, certificate_der=der, mechanisms=("PLAIN",),
                          penalty=FailurePenalty(base=0))
    anchor = Controller(MaildirHandler(work / "anchor"), hostname="127.0.0.1", port=free_port(),
                        tls_context=tls_context, authenticator=check_plain, auth_require_tls=True,
                        loop=asyncio.new_event_loop())
    anchor.start()
    anchor_port = anchor.port

    ours_times: list[float] = []
    anchor_times: list[float] = []
    with run_in_thread(config) as ours:
        run_sessions(ours.port, ca, 10, args.clients)  # warm-up both
        run_sessions(anchor_port, ca, 10, args.clients)
        for _ in range(args.rounds):
            anchor_times.append(run_sessions(anchor_port, ca, args.sessions, args.clients))
            ours_times.append(run_sessions(ours.port, ca, args.sessions, args.clients))
    anchor.stop()
    log_file.close()

    per_session = lambda seconds: seconds / args.sessions * 1000  # noqa: E731
    ours_ms = statistics.median(per_session(t) for t in ours_times)
    anchor_ms = statistics.median(per_session(t) for t in anchor_times)
    print(f"{args.sessions} sessions x {args.rounds} rounds, {args.clients} concurrent clients "
          "(STARTTLS + AUTH PLAIN + 1 message + QUIT)")
    print(f"  aiosmtpd (anchor): {anchor_ms:7.2f} ms/session  ({1000 / anchor_ms:6.1f} sessions/s)")
    print(f"  saslscope serve  : {ours_ms:7.2f} ms/session  ({1000 / ours_ms:6.1f} sessions/s)")
    print(f"  ratio saslscope/aiosmtpd: {ours_ms / anchor_ms:.2f}")
    print(f"  files in {work}")


if __name__ == "__main__":
    main()
