"""Helpers shared by the server tests: users, a log sink, a server runner, client shortcuts."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from saslscope.smtp.server import (
    FailurePenalty,
    MaildirStore,
    PostfixLog,
    RunningServer,
    ServerConfig,
    load_passwd_file,
    run_in_thread,
    server_tls_context,
)

#: user -> (doveadm scheme, password): every scheme the reader supports, written by Dovecot itself
USERS = {
    "centos7@phoenixknight.jp": ("PLAIN", "zaq12345"),
    "cram@example.test": ("CRAM-MD5", "cram-secret"),
    "scram1@example.test": ("SCRAM-SHA-1", "scram1-secret"),
    "scram256@example.test": ("SCRAM-SHA-256", "scram256-secret"),
    "b64@example.test": ("PLAIN.b64", "pässwörd"),
}


class SharedLog:
    """A thread-safe text sink the server logs to; tests wait for lines to appear."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._partial = ""
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            self._partial += text
            *complete, self._partial = self._partial.split("\n")
            self._lines.extend(complete)
            self._changed.notify_all()
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def lines(self) -> list[str]:
        with self._changed:
            return list(self._lines)

    def wait_for(self, fragment: str, count: int = 1, timeout: float = 10.0) -> list[str]:
        """Wait until ``count`` lines contain ``fragment`` and return all matching lines;
        fail the test if they do not appear within ``timeout`` seconds."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: sum(fragment in line for line in self._lines) >= count, timeout
            )
            matching = [line for line in self._lines if fragment in line]
        assert found, f"expected {count} log line(s) with {fragment!r}, got {matching} in:\n" + "\n".join(self.lines)
        return matching


def doveadm_pw(scheme: str, password: str) -> str:
    return subprocess.run(
        ["doveadm", "pw", "-s", scheme, "-p", password], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


@dataclass
class ServerUnderTest:
    running: RunningServer
    log: SharedLog
    maildir: Path
    ca_path: Path

    @property
    def port(self) -> int:
        return self.running.port

    @property
    def tls_port(self) -> int:
        return self.running.tls_port


@contextmanager
def started_server(tmp_path: Path, pki, passwd_path: Path, **overrides) -> Iterator[ServerUnderTest]:
    """A server on 127.0.0.1 (STARTTLS and implicit TLS ports) with ServerConfig ``overrides``."""
    tls_context, der = server_tls_context(pki.chain_path, pki.key_path)
    log = SharedLog()
    users = load_passwd_file(passwd_path)
    assert users.problems == []
    settings = dict(
        store=users.store,
        maildir=MaildirStore(tmp_path / "maildir"),
        log=PostfixLog(log, hostname="mail.test"),
        hostname="mail.test",
        tls_context=tls_context,
        certificate_der=der,
        penalty=FailurePenalty(base=0.01, cap=0.05),
    )
    settings.update(overrides)
    with run_in_thread(ServerConfig(**settings), implicit_tls=[("127.0.0.1", 0)]) as running:
        yield ServerUnderTest(running, log, tmp_path / "maildir", pki.ca_cert_path)



CRAM_USER = "cram@example.test"
PLAIN_USER = "centos7@phoenixknight.jp"


def password(user: str) -> str:
    return USERS[user][1]


def tls_client(server: ServerUnderTest, *, tls12: bool = False) -> smtplib.SMTP:
    """smtplib after STARTTLS (certificate verified against the test CA) and a second EHLO;
    ``tls12`` caps the client at TLS 1.2 (where the server offers SCRAM-*-PLUS)."""
    context = ssl.create_default_context(cafile=str(server.ca_path))
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    client = smtplib.SMTP("127.0.0.1", server.port, local_hostname="client.test", timeout=30)
    client.starttls(context=context)
    client.ehlo()
    return client


SASLSCOPE = [sys.executable, "-m", "saslscope"]


class ServeProcess:
    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.stderr_path = tmp_path / "serve.err"
        self.log_path = tmp_path / "maillog"
        self.stderr_file = open(self.stderr_path, "w")
        self.process = subprocess.Popen(
            [*SASLSCOPE, "serve", "--listen", "127.0.0.1:0", "--tls-port", "0", "--log", str(self.log_path),
             "--pki-dir", str(tmp_path / "pki"), "--maildir", str(tmp_path / "mail"),
             "--auth-failure-delay", "0.01", *args],
            stdout=subprocess.DEVNULL, stderr=self.stderr_file, env={**os.environ, **(env or {})},
        )
        self.ports = self._wait_for_ports()
        self.ca_path = tmp_path / "pki" / "ca.pem"

    def _wait_for_ports(self) -> dict[str, int]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = self.stderr_path.read_text()
            if "ready;" in text:
                return {mode: int(port) for port, mode in
                        re.findall(r"listening on 127\.0\.0\.1:(\d+) \((STARTTLS|implicit TLS)\)", text)}
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited early ({self.process.returncode}): {text}")
            time.sleep(0.05)
        raise AssertionError("serve did not start: " + self.stderr_path.read_text())

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self.stderr_file.close()
        return code
