"""The same SMTP conversations against real Postfix 3.7 (the interop lab) and against `serve`:
the smtpd log lines must have the same shape and the `disconnect from` counters must be equal.

This is the independent check of the log writer: the expected lines are whatever Postfix
itself logs for the identical byte stream, not strings written by hand. Needs root and the
lab's Debian packages, like tests/interop; without them the test is skipped with the reason,
and CI=true or SASLSCOPE_REQUIRE_LAB=1 makes that a failure (tests/conftest.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import scramp

from saslscope.sasl.credentials import MemoryStore, StoredCredential
from saslscope.smtp.server import FailurePenalty, MaildirStore, PostfixLog, ServerConfig, run_in_thread, server_tls_context
from tests.interop.lab import CENTOS7
from tests.server.support import SharedLog

GOOD_PLAIN = base64.b64encode(f"\0{CENTOS7.address}\0{CENTOS7.password}".encode()).decode()
BAD_PLAIN = base64.b64encode(f"\0{CENTOS7.address}\0not-the-password".encode()).decode()
MESSAGE = f"From: <{CENTOS7.address}>\r\nSubject: twin\r\n\r\nsame bytes to both\r\n."

def cram_answer(password: str):
    """A script step: answer the CRAM-MD5 challenge in the last reply (RFC 2195)."""

    def answer(reply: bytes) -> str:
        challenge = base64.b64decode(reply[4:].strip())
        digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
        return base64.b64encode(f"{CENTOS7.address} {digest}".encode()).decode()

    return answer


def scram_steps(password: str) -> list:
    """Script steps for SCRAM-SHA-256 with scramp (independent of saslscope.sasl)."""
    client = scramp.ScramClient(["SCRAM-SHA-256"], CENTOS7.address, password)

    def first(_: bytes) -> str:
        return "AUTH SCRAM-SHA-256 " + base64.b64encode(client.get_client_first().encode()).decode()

    def final(reply: bytes) -> str:
        client.set_server_first(base64.b64decode(reply[4:].strip()).decode())
        return base64.b64encode(client.get_client_final().encode()).decode()

    def empty(reply: bytes) -> str:
        return ""  # answer to the server-final 334 (RFC 4954 §4)

    return [first, final, empty]


TLS_AND_EHLO = ["EHLO client.test", "STARTTLS", "EHLO client.test"]
SEND = [f"MAIL FROM:<{CENTOS7.address}>", "RCPT TO:<alice@example.test>", "DATA", MESSAGE, "QUIT"]

#: each conversation: lines to send (or functions of the last reply that return the line);
#: "STARTTLS" upgrades the socket, "<close>" hangs up
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
    "cram-md5 as the write-up typed it": [*TLS_AND_EHLO, "auth cram-md5", cram_answer(CENTOS7.password), *SEND],
    "cram-md5 wrong password": [*TLS_AND_EHLO, "AUTH CRAM-MD5", cram_answer("wrong"), "QUIT"],
    # a function: a fresh SCRAM client for each server
    "scram-sha-256": lambda: [*TLS_AND_EHLO, *scram_steps(CENTOS7.password), *SEND],
    "helo then auth": ["HELO client.test", "STARTTLS", "HELO client.test", f"AUTH PLAIN {GOOD_PLAIN}", "QUIT"],
    "two messages": [*TLS_AND_EHLO, f"AUTH PLAIN {GOOD_PLAIN}", *SEND[:4], *SEND],
    "rset mid transaction": [*TLS_AND_EHLO, f"AUTH PLAIN {GOOD_PLAIN}", *SEND[:2], "RSET", "QUIT"],
    "lost in data": ["EHLO client.test", "STARTTLS", "EHLO client.test", f"AUTH PLAIN {GOOD_PLAIN}",
                     f"MAIL FROM:<{CENTOS7.address}>", "RCPT TO:<alice@example.test>", "DATA", "<close>"],
}


@dataclass
class Target:
    port: int
    tls_port: int
    ca_path: Path
    lines: Callable[[], list[str]]  # the log so far
    #: the smtpd program name of the STARTTLS and of the implicit-TLS service
    programs: tuple[str, str] = ("postfix/submission/smtpd", "postfix/submission/smtpd")

    def new_smtpd_lines(self, before: int, implicit: bool) -> list[str]:
        program = re.escape(self.programs[implicit])
        return [line for line in self.lines()[before:] if re.search(rf" {program}\[\d+\]: ", line)]


def tls_wrap(sock: socket.socket, ca_path: Path) -> ssl.SSLSocket:
    return ssl.create_default_context(cafile=str(ca_path)).wrap_socket(sock, server_hostname="127.0.0.1")


def converse(target: Target, script: list, implicit: bool) -> None:
    sock: socket.socket = socket.create_connection(("127.0.0.1", target.tls_port if implicit else target.port),
                                                   timeout=30)
    try:
        if implicit:
            sock = tls_wrap(sock, target.ca_path)
        reply = read_reply(sock)
        for step in script:
            line = step if isinstance(step, str) else step(reply)
            if line == "<close>":
                break
            sock.sendall(line.encode() + b"\r\n")
            reply = read_reply(sock)
            if line == "STARTTLS" and reply.startswith(b"220"):
                sock = tls_wrap(sock, target.ca_path)
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


def wait_for_disconnect(target: Target, before: int, implicit: bool) -> list[str]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lines = target.new_smtpd_lines(before, implicit)
        if any(": disconnect from " in line for line in lines):
            return lines
        time.sleep(0.05)
    raise AssertionError(f"no disconnect line; got {target.new_smtpd_lines(before, implicit)}")


@pytest.fixture(scope="module")
def ours(tmp_path_factory, postfix_lab) -> Iterator[Target]:
    # the same CA and certificate files as the lab, so both sides present the same chain
    directory = tmp_path_factory.mktemp("twin")
    context, der = server_tls_context(postfix_lab.tls_dir / "server-chain.pem", postfix_lab.tls_dir / "server.key")
    store = MemoryStore()
    store.add(StoredCredential(CENTOS7.address, password=CENTOS7.password))
    log = SharedLog()
    config = ServerConfig(store=store, maildir=MaildirStore(directory / "mail"), log=PostfixLog(log, hostname="mail.test"),
                          hostname="mail.test", tls_context=context, certificate_der=der,
                          penalty=FailurePenalty(base=0))
    with run_in_thread(config, implicit_tls=[("127.0.0.1", 0)]) as running:
        yield Target(running.port, running.tls_port, postfix_lab.ca_path, lambda: log.lines)


#: conversations also run over implicit TLS (port 465 style: the lab's postfix/smtps service)
IMPLICIT = ["auth and send", "wrong password", "lost in auth", "junk commands", "gone after banner"]


@pytest.mark.parametrize("name, implicit", [*((name, False) for name in CONVERSATIONS),
                                             *((name, True) for name in IMPLICIT)])
def test_smtpd_lines_have_postfix_shape(postfix_lab, ours, name, implicit):
    lab = postfix_lab
    postfix = Target(lab.ports.submission, lab.ports.submissions, lab.ca_path,
                     lambda: lab.maillog_text().splitlines(), ("postfix/submission/smtpd", "postfix/smtps/smtpd"))
    seen = {}
    for label, target in (("postfix", postfix), ("saslscope", ours)):
        script = CONVERSATIONS[name]
        script = script() if callable(script) else script
        if implicit:  # no STARTTLS: TLS from the first byte
            script = [step for step in script if step not in ("STARTTLS", "EHLO client.test")]
            script = ["EHLO client.test", *script] if script and script[0] != "<close>" else script
        before = len(target.lines())
        converse(target, script, implicit)
        seen[label] = [shape(line) for line in wait_for_disconnect(target, before, implicit)]
    assert seen["saslscope"] == seen["postfix"]
