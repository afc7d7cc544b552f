"""Real third-party clients against the real `saslscope serve` command (issue 14, "Done when").

msmtp, gsasl, curl, swaks and Python's smtplib, as Debian ships them, each over STARTTLS and
implicit TLS (gsasl has no implicit-TLS mode), with every mechanism the client can do that
serve offers. Certificates are verified against serve's throw-away CA in every run.

Secrets: msmtp reads the password from a 0600 config file, curl from a 0600 netrc; swaks and
gsasl can only take it as an argument, acceptable for this throw-away test account.

What each client can do (Debian 12):

* msmtp 1.8 (libgsasl): PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256; no -PLUS.
* gsasl 2.2: all of serve's mechanisms, STARTTLS only. It binds with tls-unique on TLS 1.2
  and tls-exporter on TLS 1.3; serve offers -PLUS on TLS 1.2 only (`--tls12-only` here), as
  Python's ssl module cannot export keying material (see docs/server.md). Its non-PLUS SCRAM
  fails inside the client whenever it holds binding data (the 'y' flag path; `--no-cb` works),
  whatever the server: the non-PLUS runs use `--no-cb`.
* curl 7.88: PLAIN, LOGIN, CRAM-MD5 (its SCRAM needs a libgsasl build Debian's is not).
* swaks 20201014 without Authen::SASL: PLAIN, LOGIN, CRAM-MD5.
* smtplib: PLAIN, LOGIN, CRAM-MD5.
"""

from __future__ import annotations

import smtplib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.support import ServeProcess

pytestmark = pytest.mark.interop

USER = "alice@example.test"
PASSWORD = "interop-s3cret"
RECIPIENT = "bob@example.org"
TIMEOUT = 60
MESSAGE = b"Subject: interop\r\n\r\nCRAM-MD5 \xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88\r\n"

BASIC = ("PLAIN", "LOGIN", "CRAM-MD5")
TRANSPORTS = ("starttls", "implicit")


def start_serve(directory: Path, *args: str) -> ServeProcess:
    users = directory / "users"
    users.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
    return ServeProcess(directory, "--passwd-file", str(users), "--hostname", "mail.test", *args)


@pytest.fixture(scope="module")
def serve(tmp_path_factory) -> Iterator[ServeProcess]:
    process = start_serve(tmp_path_factory.mktemp("serve"))
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def serve12(tmp_path_factory) -> Iterator[ServeProcess]:
    process = start_serve(tmp_path_factory.mktemp("serve12"), "--tls12-only")
    yield process
    assert process.stop() == 0


def port(serve: ServeProcess, transport: str) -> int:
    return serve.ports["STARTTLS" if transport == "starttls" else "implicit TLS"]


def logged_logins(serve: ServeProcess) -> list[str]:
    return [line.split("sasl_method=", 1)[1] for line in serve.log_path.read_text().splitlines() if "sasl_method=" in line]


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False, **kwargs)


def assert_logged(serve: ServeProcess, mechanism: str) -> None:
    """The message arrived with this login: its client= line names the mechanism and user
    (one line per accepted message, so the last one is this run's)."""
    assert logged_logins(serve)[-1] == f"{mechanism}, sasl_username={USER}"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mechanism", [*BASIC, "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_msmtp(serve, tmp_path, transport, mechanism):
    config = tmp_path / "msmtprc"
    config.write_text("\n".join([
        "account test", "host 127.0.0.1", f"port {port(serve, transport)}", "tls on",
        f"tls_starttls {'on' if transport == 'starttls' else 'off'}", f"tls_trust_file {serve.ca_path}",
        f"auth {mechanism.lower()}", f"user {USER}", f"password {PASSWORD}", f"from {USER}", "",
    ]))
    config.chmod(0o600)
    result = run(["msmtp", "-C", str(config), "-a", "test", RECIPIENT], input=MESSAGE.decode())
    assert result.returncode == 0, result.stderr
    assert_logged(serve, mechanism)


@pytest.mark.parametrize("mechanism", [*BASIC, "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_gsasl_starttls(serve, mechanism):
    no_cb = ["--no-cb"] if mechanism.startswith("SCRAM") else []
    result = run(["gsasl", "--smtp", "--starttls", f"--x509-ca-file={serve.ca_path}", *no_cb, "-m", mechanism,
                  "-a", USER, "-p", PASSWORD, "127.0.0.1", str(port(serve, "starttls"))], stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235 2.7.0 Authentication successful" in result.stdout


def test_gsasl_default_choice_on_tls12_is_plus_with_tls_unique(serve12):
    # issue 14 item 1: with no -m gsasl picked SCRAM-SHA-256-PLUS and got 535 on TLS 1.3
    result = run(["gsasl", "--smtp", "--starttls", f"--x509-ca-file={serve12.ca_path}", "-a", USER, "-p", PASSWORD,
                  "127.0.0.1", str(port(serve12, "starttls"))], stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "AUTH SCRAM-SHA-256-PLUS" in result.stdout and "235 2.7.0" in result.stdout


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"])
def test_gsasl_plus_on_tls12(serve12, mechanism):
    result = run(["gsasl", "--smtp", "--starttls", f"--x509-ca-file={serve12.ca_path}", "-m", mechanism,
                  "-a", USER, "-p", PASSWORD, "127.0.0.1", str(port(serve12, "starttls"))], stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235 2.7.0 Authentication successful" in result.stdout


def test_gsasl_is_offered_no_plus_on_tls13(serve):
    result = run(["gsasl", "--smtp", "--starttls", f"--x509-ca-file={serve.ca_path}", "--no-cb", "-m", "PLAIN",
                  "-a", USER, "-p", PASSWORD, "127.0.0.1", str(port(serve, "starttls"))], stdin=subprocess.DEVNULL)
    [auth] = [line for line in result.stdout.splitlines() if line.startswith("250-AUTH")]
    assert "SCRAM-SHA-256" in auth and "-PLUS" not in auth


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mechanism", BASIC)
def test_curl(serve, tmp_path, transport, mechanism):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    message = tmp_path / "message"
    message.write_bytes(MESSAGE)
    scheme, tls = ("smtp", ["--ssl-reqd"]) if transport == "starttls" else ("smtps", [])
    result = run(["curl", "-sS", "--netrc-file", str(netrc), "--cacert", str(serve.ca_path), *tls,
                  "--login-options", f"AUTH={mechanism}", "--mail-from", USER, "--mail-rcpt", RECIPIENT,
                  "--upload-file", str(message), f"{scheme}://127.0.0.1:{port(serve, transport)}"])
    assert result.returncode == 0, result.stderr
    assert_logged(serve, mechanism)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mechanism", BASIC)
def test_swaks(serve, transport, mechanism):
    tls = ["--tls"] if transport == "starttls" else ["--tls-on-connect"]
    result = run(["swaks", "--server", f"127.0.0.1:{port(serve, transport)}", *tls, "--tls-verify",
                  "--tls-ca-path", str(serve.ca_path), "--helo", "client.test", "--auth", mechanism,
                  "--auth-user", USER, "--auth-password", PASSWORD, "--from", USER, "--to", RECIPIENT])
    assert result.returncode == 0, result.stdout + result.stderr
    assert_logged(serve, mechanism)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mechanism", BASIC)
def test_smtplib(serve, transport, mechanism):
    context = ssl.create_default_context(cafile=str(serve.ca_path))
    if transport == "starttls":
        client = smtplib.SMTP("127.0.0.1", port(serve, transport), local_hostname="client.test", timeout=TIMEOUT)
        client.starttls(context=context)
    else:
        client = smtplib.SMTP_SSL("127.0.0.1", port(serve, transport), local_hostname="client.test",
                                  context=context, timeout=TIMEOUT)
    with client:
        client.ehlo()
        client.user, client.password = USER, PASSWORD
        method = {"PLAIN": client.auth_plain, "LOGIN": client.auth_login, "CRAM-MD5": client.auth_cram_md5}[mechanism]
        assert client.auth(mechanism, method, initial_response_ok=mechanism != "LOGIN")[0] == 235
        assert client.sendmail(USER, [RECIPIENT], MESSAGE) == {}
    assert_logged(serve, mechanism)
