"""Real clients against `serve`: swaks, Python's smtplib, scramp, and saslscope's own client.

Users come from a passwd-file written by the real `doveadm pw`, so every stored scheme is
checked by a client that knows nothing of our code.
"""

from __future__ import annotations

import base64
import smtplib
import subprocess

import pytest
import scramp

from saslscope.maillog import analyze
from tests.server.support import CRAM_USER, PLAIN_USER, USERS, password, tls_client


def swaks(server, *args: str, implicit: bool = False) -> subprocess.CompletedProcess[str]:
    port = server.tls_port if implicit else server.port
    tls = ["--tls-on-connect"] if implicit else ["--tls"]
    return subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{port}", *tls, "--tls-verify", "--tls-ca-path", str(server.ca_path),
         "--helo", "client.test", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )


CRAM_CAPABLE = [user for user, (scheme, _) in USERS.items() if not scheme.startswith("SCRAM")]
SCRAM_ONLY = [user for user in USERS if user not in CRAM_CAPABLE]


@pytest.mark.parametrize("mechanism, user", [
    *((mechanism, user) for mechanism in ("PLAIN", "LOGIN") for user in USERS),
    *(("CRAM-MD5", user) for user in CRAM_CAPABLE),
])
def test_swaks_authenticates_every_stored_scheme(server, mechanism, user):
    result = swaks(server, "--auth", mechanism, "--auth-user", user, "--auth-password", password(user),
                   "--quit-after", "AUTH")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235 2.7.0 Authentication successful" in result.stdout


@pytest.mark.parametrize("user", SCRAM_ONLY)
def test_cram_md5_for_a_scram_only_entry_fails_with_the_reason_logged(server, user):
    # A SCRAM entry holds no HMAC-MD5 context; Dovecot refuses the same way.
    result = swaks(server, "--auth", "CRAM-MD5", "--auth-user", user, "--auth-password", password(user),
                   "--quit-after", "AUTH")
    assert "535 5.7.8" in result.stdout
    [warning] = server.log.wait_for("authentication failed")
    assert "no CRAM-MD5 capable credential" in warning


def test_swaks_cram_md5_over_implicit_tls_delivers_and_logs(server):
    result = swaks(server, "--auth", "CRAM-MD5", "--auth-user", CRAM_USER, "--auth-password", password(CRAM_USER),
                   "--from", CRAM_USER, "--to", "alice@example.test", implicit=True)
    assert result.returncode == 0, result.stdout + result.stderr
    [client_line] = server.log.wait_for("client=localhost[127.0.0.1]")
    assert client_line.endswith(f"sasl_method=CRAM-MD5, sasl_username={CRAM_USER}")
    server.log.wait_for("disconnect from")
    messages = list((server.maildir / "example.test" / "new").iterdir())
    assert len(messages) == 1
    text = messages[0].read_text()
    assert "This is a test mailing" in text and "with ESMTPSA id" in text


def test_wrong_password_gets_535_and_a_log_line(server):
    result = swaks(server, "--auth", "PLAIN", "--auth-user", PLAIN_USER, "--auth-password", "not-it",
                   "--quit-after", "AUTH")
    assert result.returncode != 0
    assert "535 5.7.8 Error: authentication failed" in result.stdout
    [warning] = server.log.wait_for("authentication failed")
    assert "warning: localhost[127.0.0.1]: SASL PLAIN authentication failed: " in warning
    assert warning.endswith(f"sasl_username={PLAIN_USER}")
    [disconnect] = server.log.wait_for("disconnect from")
    assert disconnect.endswith("ehlo=2 starttls=1 auth=0/1 quit=1 commands=4/5")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_smtplib_logs_in_and_sends(server, mechanism):
    with tls_client(server) as client:
        client.user, client.password = CRAM_USER, password(CRAM_USER)
        method = {"PLAIN": client.auth_plain, "LOGIN": client.auth_login, "CRAM-MD5": client.auth_cram_md5}
        code, _ = client.auth(mechanism, method[mechanism], initial_response_ok=mechanism != "LOGIN")
        assert code == 235
        refused = client.sendmail(CRAM_USER, ["bob@example.org"], b"Subject: t\r\n\r\nhello\r\n")
        assert refused == {}
    server.log.wait_for("disconnect from")
    assert (server.maildir / "example.org" / "new").is_dir()


def test_auth_is_not_offered_before_tls(server):
    with smtplib.SMTP("127.0.0.1", server.port, local_hostname="client.test", timeout=30) as client:
        client.ehlo()
        assert not client.has_extn("auth")
        assert client.has_extn("starttls")
        code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0u\0p").decode())
        assert code == 530 and b"STARTTLS" in text


def scram_login(client: smtplib.SMTP, mechanism: str, user: str, secret: str,
                channel_binding=None) -> tuple[int, bytes]:
    """SCRAM with scramp (an independent implementation) over smtplib's raw commands."""
    scram = scramp.ScramClient([mechanism], user, secret, channel_binding=channel_binding)
    code, reply = client.docmd("AUTH", f"{mechanism} {base64.b64encode(scram.get_client_first().encode()).decode()}")
    assert code == 334, reply
    scram.set_server_first(base64.b64decode(reply).decode())
    code, reply = client.docmd(base64.b64encode(scram.get_client_final().encode()).decode())
    if code != 334:
        return code, reply
    scram.set_server_final(base64.b64decode(reply).decode())  # verifies the server's v=
    return client.docmd("")


@pytest.mark.parametrize("mechanism, user", [
    ("SCRAM-SHA-256", "scram256@example.test"),
    ("SCRAM-SHA-1", "scram1@example.test"),
    ("SCRAM-SHA-256", PLAIN_USER),
])
def test_scramp_client_authenticates(server, mechanism, user):
    with tls_client(server) as client:
        code, reply = scram_login(client, mechanism, user, password(user))
        assert (code, reply) == (235, b"2.7.0 Authentication successful")


@pytest.mark.parametrize("binding_type", ["tls-server-end-point", "tls-unique"])
def test_scramp_client_with_channel_binding_on_tls12(server, binding_type):
    with tls_client(server, tls12=True) as client:
        assert "SCRAM-SHA-256-PLUS" in client.esmtp_features["auth"].split()
        # scramp computes the binding data from the TLS socket (RFC 5929) on its own
        binding = (binding_type, client.sock)
        code, _ = scram_login(client, "SCRAM-SHA-256-PLUS", PLAIN_USER, password(PLAIN_USER), binding)
        assert code == 235


def test_no_plus_on_tls13_and_the_y_flag_is_no_downgrade_there(server):
    # issue 14 item 1: -PLUS offered on TLS 1.3 could not be bound with tls-exporter (gsasl's
    # default there); a client that can bind but sees no -PLUS sends "y" (RFC 5802 §6)
    with tls_client(server) as client:
        assert client.sock.version() == "TLSv1.3"
        offered = client.esmtp_features["auth"].split()
        assert "SCRAM-SHA-256" in offered and not any(name.endswith("-PLUS") for name in offered)
        first = base64.b64encode(b"y,,n=" + PLAIN_USER.encode() + b",r=abcdefgh").decode()
        assert client.docmd("AUTH", f"SCRAM-SHA-256 {first}")[0] == 334
        assert client.docmd("*")[0] == 501
    with tls_client(server, tls12=True) as client:  # where -PLUS is offered, "y" is a downgrade
        first = base64.b64encode(b"y,,n=" + PLAIN_USER.encode() + b",r=abcdefgh").decode()
        assert client.docmd("AUTH", f"SCRAM-SHA-256 {first}")[0] == 535


def test_scram_wrong_password_is_535(server):
    with tls_client(server) as client:
        code, _ = scram_login(client, "SCRAM-SHA-256", "scram256@example.test", "wrong")
        assert code == 535
    [warning] = server.log.wait_for("SASL SCRAM-SHA-256 authentication failed")
    assert warning.endswith("sasl_username=scram256@example.test")


def test_mechanism_name_is_logged_as_the_client_typed_it(server):
    # The write-up typed "auth cram-md5" and Postfix logged sasl_method=cram-md5.
    import hashlib
    import hmac

    with tls_client(server) as client:
        code, challenge = client.docmd("auth", "cram-md5")
        assert code == 334
        digest = hmac.new(b"cram-secret", base64.b64decode(challenge), hashlib.md5).hexdigest()
        code, _ = client.docmd(base64.b64encode(f"{CRAM_USER} {digest}".encode()).decode())
        assert code == 235
        client.sendmail(CRAM_USER, ["test@example.com"], b"Subject: x\r\n\r\ny\r\n")
    [line] = server.log.wait_for("client=")
    assert line.endswith(f"sasl_method=cram-md5, sasl_username={CRAM_USER}")


def test_the_log_is_read_by_saslscope_maillog_without_unparsed_lines(server):
    test_swaks_cram_md5_over_implicit_tls_delivers_and_logs(server)
    swaks(server, "--auth", "LOGIN", "--auth-user", CRAM_USER, "--auth-password", "bad", "--quit-after", "AUTH")
    server.log.wait_for("disconnect from", count=2)
    analysis = analyze(lines=server.log.lines)
    assert analysis.lines.unparsed == 0, analysis.unparsed
    summary = analysis.summary()
    assert [user["username"] for user in summary["users"]] == [CRAM_USER]
    assert analysis.failures()["auth_failures"] == 1
