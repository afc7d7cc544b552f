"""The same SMTP conversations against real Postfix 3.7 (the interop lab) and against `serve`:
the smtpd log lines must have the same shape and the `disconnect from` counters must be equal.

This is the independent check of the log writer: the expected lines are whatever Postfix
itself logs for the identical byte stream, not strings written by hand. Needs root and the
lab's Debian packages, like tests/interop; without them the test is skipped with the reason,
and SASLSCOPE_REQUIRE_LAB=1 makes that a failure (CI).
"""

from __future__ import annotations

import base64
import os
import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from saslscope.sasl.credentials import MemoryStore, StoredCredential
from saslscope.smtp.server import FailurePenalty, MaildirStore, PostfixLog, ServerConfig, run_in_thread
from saslscope.smtp.server import server_tls_context
from tests.interop.lab import CENTOS7, PostfixLab, lab_unavailable_reason
from tests.server.support import SharedLog

GOOD_PLAIN = base64.b64encode(f"\0{CENTOS7.address}\0{CENTOS7.password}".encode()).decode()
BAD_PLAIN = base64.b64encode(f"\0{CENTOS7.address}\0not-the-password".encode()).decode()
MESSAGE = f"From: <{CENTOS7.address}>\r\nSubject: twin\r\n\r\nsame bytes to both\r\n."

#: each conversation: lines to send; "STARTTLS" upgrades the socket, "<close>" hangs up
CONVERSATIONS = {
    "auth and send": ["EHLO client.test", "STARTTLS", "EHLO client.test", f"AUTH PLAIN {GOOD_PLAIN}",
                      f"MAIL FROM:<{CENTOS7.address}>", "RCPT TO:<alice@example.test>", "DATA", MESSAGE, "QUIT"],
    "wrong password": ["EHLO client.test", "STARTTLS", "EHLO client.test", f"AUTH PLAIN {BAD_PLAIN}", "QUIT"],
    "auth aborted": ["EHLO client.test", "STARTTLS", "EHLO client.test", "AUTH LOGIN", "*", "QUIT"],
    "lost in auth": ["EHLO client.test", "STARTTLS", "EHLO client.test", "AUTH LOGIN", "<close>"],
    "junk commands": ["EHLO client.test", "NOOP", "XYZZY", "RSET", "HELP", "FOO bar", "QUIT"],
    "no tls, quit": ["EHLO client.test", "QUIT"],
    "gone after banner": ["<close>"],
    "http probe": ["GET / HTTP/1.0"],
    "auth before tls": ["EHLO client.test", f"AUTH PLAIN {GOOD_PLAIN}", "QUIT"],
    "mail before tls": ["EHLO client.test", "MAIL FROM:<a@example.test>", "RSET", "VRFY x", "NOOP", "QUIT"],
    "rcpt without auth": ["EHLO client.test", "STARTTLS", "EHLO client.test", "MAIL FROM:<a@example.test>",
                          "RCPT TO:<alice@example.test>", "QUIT"],
    "bad base64": ["EHLO client.test", "STARTTLS", "EHLO client.test", "AUTH LOGIN", "%%%", "QUIT"],
    "unknown mechanism": ["EHLO client.test", "STARTTLS", "EHLO client.test", "AUTH NTLM", "AUTH", "QUIT"],
    "auth twice": ["EHLO client.test", "STARTTLS", "EHLO client.test", f"AUTH PLAIN {GOOD_PLAIN}",
                   f"AUTH PLAIN {GOOD_PLAIN}", "QUIT"],
    "lost in data": ["EHLO client.test", "STARTTLS", "EHLO client.test", f"AUTH PLAIN {GOOD_PLAIN}",
                     f"MAIL FROM:<{CENTOS7.address}>", "RCPT TO:<alice@example.test>", "DATA", "<close>"],
}


@dataclass
class Target:
    port: int
    ca_path: Path
    lines: callable  # () -> list[str], the log so far

    def new_smtpd_lines(self, before: int) -> list[str]:
        return [line for line in self.lines()[before:] if re.search(r" postfix/submission/smtpd\[\d+\]: ", line)]


def converse(target: Target, script: list[str]) -> None:
    sock: socket.socket = socket.create_connection(("127.0.0.1", target.port), timeout=30)
    try:
        read_reply(sock)
        for line in script:
            if line == "<close>":
                break
            sock.sendall(line.encode() + b"\r\n")
            reply = read_reply(sock)
            if line == "STARTTLS" and reply.startswith(b"220"):
                context = ssl.create_default_context(cafile=str(target.ca_path))
                sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
            if not reply or reply.startswith(b"221"):
                break
    finally:
        sock.close()


def read_reply(sock: socket.socket) -> bytes:
    data = b""
    while not re.search(rb"(^|\r\n)\d{3} [^\r\n]*\r\n$", data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def shape(line: str) -> str:
    """A log line without what legitimately differs: time, host, pid, client name, queue id,
    the SASL back-end's failure reason and the TLS details."""
    text = line.split("]: ", 1)[1]
    text = re.sub(r"\b(unknown|localhost)\[(127\.0\.0\.1)\]", "CLIENT", text)
    text = re.sub(r"^[0-9A-F]{8,}: ", "QUEUEID: ", text)
    text = re.sub(r"(authentication failed: ).*(, sasl_username=)", r"\1REASON\2", text)
    return re.sub(r"(TLS connection established from CLIENT: ).*", r"\1DETAILS", text)


def wait_for_disconnect(target: Target, before: int) -> list[str]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lines = target.new_smtpd_lines(before)
        if any(": disconnect from " in line for line in lines):
            return lines
        time.sleep(0.05)
    raise AssertionError(f"no disconnect line; got {target.new_smtpd_lines(before)}")


@pytest.fixture(scope="module")
def lab() -> Iterator[PostfixLab]:
    reason = lab_unavailable_reason()
    if reason:
        if os.environ.get("SASLSCOPE_REQUIRE_LAB") == "1":
            pytest.fail(f"SASLSCOPE_REQUIRE_LAB=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    with PostfixLab() as running:
        yield running


@pytest.fixture(scope="module")
def ours(tmp_path_factory, lab) -> Iterator[Target]:
    # the same CA and certificate files as the lab, so both sides present the same chain
    directory = tmp_path_factory.mktemp("twin")
    context, der = server_tls_context(lab.tls_dir / "server-chain.pem", lab.tls_dir / "server.key")
    store = MemoryStore()
    store.add(StoredCredential(CENTOS7.address, password=CENTOS7.password))
    log = SharedLog()
    config = ServerConfig(store=store, maildir=MaildirStore(directory / "mail"), log=PostfixLog(log, hostname="mail.test"),
                          hostname="mail.test", tls_context=context, certificate_der=der,
                          penalty=FailurePenalty(base=0))
    with run_in_thread(config) as running:
        yield Target(running.port, lab.ca_path, lambda: log.lines)


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_smtpd_lines_have_postfix_shape(lab, ours, name):
    postfix = Target(lab.ports.submission, lab.ca_path, lambda: lab.maillog_text().splitlines())
    script = CONVERSATIONS[name]
    seen = {}
    for label, target in (("postfix", postfix), ("saslscope", ours)):
        before = len(target.lines())
        converse(target, script)
        seen[label] = [shape(line) for line in wait_for_disconnect(target, before)]
    assert seen["saslscope"] == seen["postfix"]
