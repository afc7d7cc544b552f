"""The throw-away PKI: checked by OpenSSL and by a real TLS handshake, not by our own code."""

from __future__ import annotations

import socket
import ssl
import stat
import subprocess
import threading

import pytest

from saslscope.smtp.certs import make_test_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_test_pki(tmp_path_factory.mktemp("pki"), ["mail.test", "localhost", "127.0.0.1", "::1"])


def test_openssl_verifies_the_server_certificate_for_each_name(pki):
    for name in ("mail.test", "localhost"):
        check = subprocess.run(
            ["openssl", "verify", "-CAfile", str(pki.ca_cert_path), "-purpose", "sslserver",
             "-verify_hostname", name, str(pki.cert_path)],
            capture_output=True, text=True, check=False,
        )
        assert check.returncode == 0, check.stderr
    check = subprocess.run(
        ["openssl", "verify", "-CAfile", str(pki.ca_cert_path), "-verify_ip", "127.0.0.1", str(pki.cert_path)],
        capture_output=True, text=True, check=False,
    )
    assert check.returncode == 0, check.stderr


def test_openssl_rejects_a_name_not_in_the_certificate(pki):
    check = subprocess.run(
        ["openssl", "verify", "-CAfile", str(pki.ca_cert_path), "-verify_hostname", "other.test",
         str(pki.cert_path)],
        capture_output=True, text=True, check=False,
    )
    assert check.returncode != 0


def test_private_keys_are_private(pki):
    for path in (pki.key_path, pki.ca_key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_python_tls_handshake_verifies_ip_address_san(pki):
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.chain_path, pki.key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=str(pki.ca_cert_path))
    with (socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
          client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls):
        assert tls.recv(2) == b"ok"
    thread.join(timeout=10)
    listener.close()
