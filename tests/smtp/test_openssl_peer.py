"""TLS verification and version limits against a real, independent TLS peer: ``openssl s_server``.

``openssl s_server`` does not speak SMTP, but the cases here end in the handshake, before
any SMTP byte: that is exactly what they test.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from saslscope.sasl.base import ClientCredentials
from saslscope.smtp.certs import TestPki
from saslscope.smtp.client import LoginOptions, login
from saslscope.smtp.errors import Outcome
from saslscope.smtp.transport import TlsMode, TlsSettings

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")

START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def s_server(pki: TestPki, *extra: str) -> Iterator[int]:
    port = _free_port()
    process = subprocess.Popen(
        ["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}", "-cert", str(pki.chain_path), "-key", str(pki.key_path), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with socket.socket() as probe_sock:
                if probe_sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"openssl s_server did not start (exit status {process.poll()})")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=START_TIMEOUT)


def _options(port: int, pki: TestPki, timeout: float = 3, **tls: object) -> LoginOptions:
    return LoginOptions(
        "127.0.0.1",
        port,
        TlsMode.IMPLICIT,
        TlsSettings(cafile=str(pki.ca_cert_path), **tls),  # type: ignore[arg-type]
        timeout=timeout,
        credentials=ClientCredentials("u", "p"),
    )


def test_certificate_for_another_host_is_refused(wrong_host_pki):
    with s_server(wrong_host_pki) as port:
        result = login(_options(port, wrong_host_pki))
    assert result.outcome is Outcome.TLS
    assert "certificate verification failed" in result.error and "mismatch" in result.error.lower()
    assert result.tls is None and not result.authenticated


def test_sni_name_is_what_gets_verified(wrong_host_pki):
    # the same certificate verifies when we ask for the name it was made for
    with s_server(wrong_host_pki) as port:
        result = login(_options(port, wrong_host_pki, timeout=0.5, server_name="wrong.example"))
    # the handshake verifies; s_server then sends no SMTP banner, so the session times out
    assert result.tls is not None and result.tls.verified is True and result.tls.server_name == "wrong.example"
    assert result.outcome is Outcome.CONNECT and "no reply" in result.error


def test_tls_minimum_version_is_enforced(pki):
    with s_server(pki, "-tls1_2") as port:
        result = login(_options(port, pki, minimum_version="1.3"))
    assert result.outcome is Outcome.TLS and "handshake failed" in result.error
