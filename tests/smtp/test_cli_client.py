"""``saslscope probe`` and ``saslscope login`` as a user runs them: output, masking, exit statuses."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit
from tests.smtp.hostile_server import Behaviour, Peer, honest_script, server_context, serving

ENV = {"SMTP_PW": "zaq12345", "BAD_PW": "wrong", "TOKEN": "ya29.test-token", "BAD_TOKEN": "expired"}
USER = "centos7@phoenixknight.jp"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env={**ENV, **(env or {})})


@pytest.fixture
def honest(pki):
    behaviour = Behaviour(tls_context=server_context(str(pki.chain_path), str(pki.key_path)))
    with serving(honest_script(behaviour)) as server:
        server.behaviour = behaviour
        yield server


def _login(server, pki, *extra: str):
    # the throw-away test certificates live 30 days: warn only below 3
    return run("login", "127.0.0.1", "-p", str(server.port), "--cafile", str(pki.ca_cert_path), "--cert-warn-days", "3", "--helo", "client.test", "-u", USER, "--password-env", "SMTP_PW", *extra)


def test_plain_login_masks_by_default(honest, pki):
    result = _login(honest, pki, "--mech", "plain")
    assert result.exit_code == Exit.OK, result.stdout + result.stderr
    assert "~> AUTH PLAIN ********" in result.stdout
    masked_explain = _login(honest, pki, "--mech", "PLAIN", "--explain")
    assert "authcid   centos7@phoenixknight.jp" in masked_explain.stdout and "zaq12345" not in masked_explain.stdout
    assert "emFxMTIzNDU" not in result.stdout  # no base64 of the password anywhere
    assert "OK: authenticated as centos7@phoenixknight.jp with PLAIN" in result.stdout


def test_show_secrets_and_explain(honest, pki):
    result = _login(honest, pki, "--mech", "PLAIN", "--show-secrets", "--explain")
    assert result.exit_code == Exit.OK
    assert "PLAIN message (client)" in result.stdout
    assert "authcid   centos7@phoenixknight.jp" in result.stdout and "password  zaq12345" in result.stdout


def test_json_document(honest, pki):
    result = _login(honest, pki, "--mech", "CRAM-MD5", "--json", "--to", "test@example.com", "--subject", "CRAM-MD5 test", "--body", "CRAM-MD5 テストに成功しました")
    assert result.exit_code == Exit.OK, result.stderr
    document = json.loads(result.stdout)
    assert document["authenticated"] is True and document["mechanism"] == "CRAM-MD5"
    assert document["queue_id"] == "A4FCE204384E"
    assert document["tls"]["verified"] is True and document["tls"]["certificates"][0]["sha256"].count(":") == 31
    assert document["auth_reply"] == {"code": 235, "enhanced_status": "2.7.0", "lines": ["2.7.0 Authentication successful"]}
    assert any(e["secret"] == "offline-crackable" for e in document["transcript"])
    assert "テストに成功しました".encode() in honest.behaviour.messages[0]


def test_wrong_password_exit_status(honest, pki):
    result = run("login", "127.0.0.1", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "-u", USER, "--password-env", "BAD_PW", "--mech", "LOGIN")
    assert result.exit_code == Exit.AUTH_FAILED
    assert result.stderr.strip().splitlines()[-1] == "saslscope: auth-failed: LOGIN authentication rejected: 535 5.7.8 Error: authentication failed"


def test_nagios_line_and_statuses(honest, pki):
    ok = _login(honest, pki, "--mech", "CRAM-MD5", "--nagios")
    assert ok.exit_code == 0
    line = ok.stdout.strip()
    assert line.startswith("SMTP AUTH OK - authenticated as centos7@phoenixknight.jp with CRAM-MD5")
    assert " | time=" in line and "auth=" in line and "\n" not in line
    bad = run("login", "127.0.0.1", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "-u", USER, "--password-env", "BAD_PW", "--mech", "PLAIN", "--nagios")
    assert bad.exit_code == 2 and bad.stdout.startswith("SMTP AUTH CRITICAL - ")


def test_mech_all_prints_a_table(honest, pki):
    result = _login(honest, pki, "--mech", "all")
    assert result.exit_code == Exit.OK, result.stderr
    rows = result.stdout.strip().splitlines()
    assert rows[0].split()[:3] == ["MECHANISM", "RESULT", "SERVER"]
    # with a password, the token mechanisms cannot be tried: they are listed as not run
    assert [row.split()[0] for row in rows[1:]] == ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER"]
    assert [row.split()[1] for row in rows[1:]] == ["ok"] * 4 + ["skipped"] * 2


def test_cleartext_password_refused_is_a_usage_error(honest, pki):
    result = run("login", "127.0.0.1", "-p", str(honest.port), "--no-tls", "-u", USER, "--password-env", "SMTP_PW", "--mech", "PLAIN")
    assert result.exit_code == Exit.USAGE
    assert "--allow-cleartext-auth" in result.stderr
    assert honest.peers == []


def test_no_password_source_without_terminal(honest, pki):
    result = run("login", "127.0.0.1", "-p", str(honest.port), "-u", USER)
    assert result.exit_code == Exit.NO_SECRET
    assert honest.peers == []


def test_unknown_mechanism_is_a_usage_error(honest, pki):
    result = _login(honest, pki, "--mech", "NOPE-MD5")
    assert result.exit_code == Exit.USAGE and "no client side for SASL mechanism" in result.stderr


def test_insecure_warns_loudly(honest, pki):
    result = run("login", "127.0.0.1", "-p", str(honest.port), "--insecure", "-u", USER, "--password-env", "SMTP_PW", "--quit-after", "tls")
    assert result.exit_code == Exit.OK
    assert "WARNING: --insecure" in result.stderr
    assert "certificate NOT verified (--insecure)" in result.stdout


def test_tls_failure_exit_status(pki, wrong_host_pki):
    behaviour = Behaviour(tls_context=server_context(str(wrong_host_pki.chain_path), str(wrong_host_pki.key_path)))
    with serving(honest_script(behaviour)) as server:
        result = _login(server, wrong_host_pki)
        probed = run("probe", "127.0.0.1", "-p", str(server.port), "--cafile", str(wrong_host_pki.ca_cert_path))
    assert result.exit_code == Exit.TLS
    assert "certificate verification failed" in result.stderr
    assert probed.exit_code == Exit.TLS
    assert "CN=wrong.example" in probed.stdout and "CRITICAL certificate verification failed" in probed.stdout


def test_protocol_error_exit_status(pki):
    def script(peer: Peer) -> None:
        peer.send(b"HTTP/1.1 400 Bad Request\r\n")
        peer.line()

    with serving(script) as server:
        result = _login(server, pki)
    assert result.exit_code == Exit.PROTOCOL and "malformed reply line" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_connect_failure_exit_status():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run("probe", "127.0.0.1", "-p", str(port), "--timeout", "2")
    assert result.exit_code == Exit.CONNECT
    assert result.stderr.strip() == f"saslscope: connect: cannot connect to 127.0.0.1:{port}: connection refused"


def test_refused_rcpt_exit_status(pki):
    behaviour = Behaviour(tls_context=server_context(str(pki.chain_path), str(pki.key_path)))
    script = honest_script(behaviour)

    def refusing(peer: Peer) -> None:
        original = peer.line

        def line() -> bytes:
            data = original()
            if data.startswith(b"RCPT"):
                peer.send(b"554 5.7.1 <x@outside.test>: Relay access denied\r\n")
                return original()
            return data

        peer.line = line  # type: ignore[method-assign]
        script(peer)

    with serving(refusing) as server:
        result = _login(server, pki, "--to", "x@outside.test")
    assert result.exit_code == Exit.SMTP_REFUSED
    assert "Relay access denied" in result.stderr


def test_probe_text_in_plain_language(honest, pki):
    result = run("probe", "[127.0.0.1]", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "--cert-warn-days", "3", "--auth-check")
    assert result.exit_code == Exit.OK, result.stdout + result.stderr
    out = result.stdout
    assert "banner: 220 hostile.test ESMTP ready" in out
    assert "EHLO before TLS (hostile.test):" in out and "EHLO after TLS (hostile.test):" in out
    assert "messages up to 10.2 MB" in out
    assert "certificate verified for 127.0.0.1" in out and "SHA-256:" in out
    assert "CRAM-MD5             answers: 334" in out
    assert "TLS 1.0/1.1 offered alone: refused" in out
    assert "findings:\n  none" in out


def test_certificate_expiring_soon_is_a_nagios_warning(honest, pki):
    result = run("probe", "127.0.0.1", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "--cert-warn-days", "30", "--nagios")
    assert result.exit_code == 1  # WARNING
    assert result.stdout.startswith("SMTP AUTH WARNING - ") and "the certificate expires in " in result.stdout


def test_unreadable_files(tmp_path):
    missing = str(tmp_path / "missing.pem")
    assert run("login", "h", "--cafile", missing).exit_code == Exit.USAGE
    latin1 = tmp_path / "body.txt"
    latin1.write_bytes("caf\xe9".encode("latin-1"))
    result = run("login", "h", "-u", USER, "--to", "a@b.test", "--body", f"@{latin1}")
    assert result.exit_code == Exit.BAD_INPUT and "not UTF-8" in result.stderr
    result = run("login", "h", "-u", USER, "--to", "a@b.test", "--body", f"@{missing}")
    assert result.exit_code == Exit.BAD_INPUT and "cannot read the body file" in result.stderr


def test_usage_errors():
    assert run("login", "h", "--insecure", "--cafile", "x").exit_code == Exit.USAGE
    assert run("login", "h", "--json", "--nagios").exit_code == 3  # UNKNOWN: --nagios keeps its contract
    assert run("login", "h", "-u", "u", "--quit-after", "rcpt").exit_code == Exit.USAGE
    assert run("login", "h", "--from", "a@b").exit_code == Exit.USAGE


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_oauth_token_login_is_masked(honest, pki, mechanism):
    common = ("login", "127.0.0.1", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "-u", USER, "--mech", mechanism)
    result = run(*common, "--token-env", "TOKEN")
    assert result.exit_code == Exit.OK, result.stdout + result.stderr
    assert f"with {mechanism}" in result.stdout
    assert "ya29" not in result.stdout and f"AUTH {mechanism} ********" in result.stdout
    rejected = run(*common, "--token-env", "BAD_TOKEN", "--explain")
    assert rejected.exit_code == Exit.AUTH_FAILED
    assert "invalid_token" in rejected.stdout  # the server's error challenge, explained


def test_token_is_the_default_credential_for_oauth_only(honest, pki):
    # with only a token, the default mechanism is the strongest token mechanism
    result = run("login", "127.0.0.1", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "-u", USER, "--token-env", "TOKEN")
    assert result.exit_code == Exit.OK and "with OAUTHBEARER" in result.stdout


def test_probe_json(honest, pki):
    result = run("probe", "127.0.0.1", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "--json", "--auth-check")
    assert result.exit_code == Exit.OK, result.stderr
    document = json.loads(result.stdout)
    assert document["command"] == "probe" and document["outcome"] == "ok"
    assert "STARTTLS" in document["capabilities_before_tls"]["keywords"]
    assert document["capabilities"]["keywords"]["AUTH"][:3] == ["PLAIN", "LOGIN", "CRAM-MD5"]
    assert {c["mechanism"]: c["works"] for c in document["mechanism_checks"]}["CRAM-MD5"] is True
    [leaf, ca] = document["tls"]["certificates"]
    assert "IP:127.0.0.1" in leaf["subject_alt_names"] and leaf["issuer"] == ca["subject"]
    # the throw-away test CA lives 30 days, beyond the 14-day warning (issue 14 item 15)
    assert {f["code"] for f in document["findings"]} == set()


def test_mech_all_json(honest, pki):
    result = _login(honest, pki, "--mech", "all", "--json")
    document = json.loads(result.stdout)
    single = json.loads(_login(honest, pki, "--mech", "CRAM-MD5", "--json").stdout)
    # the same top level as login --json, session-wide parts (certificates...) once
    assert set(single) <= set(document) and document["mechanism"] == "all"
    assert document["command"] == "login" and document["schema"] == single["schema"] and document["outcome"] == "ok"
    assert document["tls"]["certificates"] == single["tls"]["certificates"]
    outcomes = {m["mechanism"]: m["outcome"] for m in document["mechanisms"]}
    assert outcomes["CRAM-MD5"] == "ok" and outcomes["XOAUTH2"] == "policy"
    assert not {"tls", "capabilities", "banner", "findings"} & set(document["mechanisms"][0])


def test_mech_all_nagios(honest, pki):
    result = _login(honest, pki, "--mech", "all", "--nagios")
    assert result.exit_code == 0
    line = result.stdout.strip()
    assert line.startswith("SMTP AUTH OK - 4 mechanisms authenticated: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 | ")
    assert "'CRAM-MD5'=" in line and "XOAUTH2" not in line
    bad = run("login", "127.0.0.1", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "-u", USER, "--password-env", "BAD_PW", "--mech", "all", "--nagios")
    assert bad.exit_code == 2 and bad.stdout.startswith("SMTP AUTH CRITICAL - 4 of 4 mechanisms failed: PLAIN (auth-failed)")


def test_probe_starts_no_mechanism_unless_asked(honest, pki):
    """Each start-and-cancel leaves a warning in the server's log (Postfix: 'authentication
    aborted', Dovecot: a timeout 150 s later), so probe does it only with --auth-check."""
    result = run("probe", "127.0.0.1", "-p", str(honest.port), "--cafile", str(pki.ca_cert_path), "--cert-warn-days", "3")
    assert result.exit_code == Exit.OK, result.stderr
    assert not any(line.upper().startswith(b"AUTH") for peer in honest.peers for line in peer.received)
    assert "AUTH mechanisms not started (--auth-check" in result.stdout
    assert "--auth-check" in run("probe", "--help").stdout
