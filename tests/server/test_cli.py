"""`saslscope serve` and `saslscope demo` as a user runs them: subprocesses, real signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from saslscope.cli.exitcodes import Exit
from saslscope.maillog import analyze
from tests.server.support import CRAM_USER, SASLSCOPE, ServeProcess, password


def swaks(port: int, ca: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--tls", "--tls-verify", "--tls-ca-path", str(ca),
                           *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_runs_until_a_signal_and_logs_in_postfix_format(tmp_path, passwd_path, signum):
    serve = ServeProcess(tmp_path, "--passwd-file", str(passwd_path), "--hostname", "mail.test")
    try:
        ok = swaks(serve.ports["STARTTLS"], serve.ca_path, "--auth", "CRAM-MD5", "--auth-user", CRAM_USER,
                   "--auth-password", password(CRAM_USER), "--from", CRAM_USER, "--to", "alice@example.test")
        assert ok.returncode == 0, ok.stdout
        bad = swaks(serve.ports["STARTTLS"], serve.ca_path, "--auth", "LOGIN", "--auth-user", CRAM_USER,
                    "--auth-password", "wrong", "--quit-after", "AUTH")
        assert "535 5.7.8 Error: authentication failed" in bad.stdout
    finally:
        code = serve.stop(signum)
    # issue 14 item 5: Ctrl-C is 130 in the exit-status table, SIGTERM a normal stop
    assert code == (Exit.INTERRUPTED if signum == signal.SIGINT else Exit.OK)
    assert "stopped" in serve.stderr_path.read_text()
    lines = serve.log_path.read_text().splitlines()
    assert any(f"sasl_method=CRAM-MD5, sasl_username={CRAM_USER}" in line for line in lines)
    assert any("warning: localhost[127.0.0.1]: SASL LOGIN authentication failed" in line for line in lines)
    assert all(re.match(r"[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d mail postfix/", line) for line in lines)
    analysis = analyze([str(serve.log_path)])
    assert analysis.lines.unparsed == 0, analysis.unparsed
    assert len(list((tmp_path / "mail" / "example.test" / "new").iterdir())) == 1


def test_every_client_mechanism_of_saslscope_login_succeeds(tmp_path):
    serve = ServeProcess(tmp_path, "--user", CRAM_USER, "--password-env", "SERVE_PW", "--mech", "PLAIN",
                         "--mech", "LOGIN", "--mech", "CRAM-MD5", "--mech", "SCRAM-SHA-1", "--mech", "SCRAM-SHA-256",
                         "--mech", "SCRAM-SHA-512", "--mech", "SCRAM-SHA-1-PLUS", "--mech", "SCRAM-SHA-256-PLUS",
                         "--mech", "SCRAM-SHA-512-PLUS", "--tls12-only", env={"SERVE_PW": "s3cret"})
    try:
        result = subprocess.run(
            [*SASLSCOPE, "login", "127.0.0.1", "--port", str(serve.ports["STARTTLS"]), "--starttls",
             "--cafile", str(serve.ca_path), "--user", CRAM_USER, "--password-env", "PW", "--mech", "all"],
            capture_output=True, text=True, timeout=120, env={**os.environ, "PW": "s3cret"}, check=False,
        )
    finally:
        serve.stop()
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    for mechanism in ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512",
                      "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS"):
        assert re.search(rf"^\s*{re.escape(mechanism)}\s.*\b235\b", result.stdout, re.MULTILINE), (mechanism, result.stdout)


def test_serve_usage_errors(tmp_path, passwd_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SASLSCOPE, "serve", *args], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, check=False)

    no_users = run("--listen", "127.0.0.1:0")
    assert no_users.returncode == Exit.USAGE and "no users" in no_users.stderr
    missing = run("--passwd-file", str(tmp_path / "nope"))
    assert missing.returncode == Exit.BAD_INPUT and "cannot read passwd-file" in missing.stderr
    no_password = run("--user", "u")
    assert no_password.returncode == Exit.NO_SECRET
    bad_listen = run("--passwd-file", str(passwd_path), "--listen", "localhost:http")
    assert bad_listen.returncode == Exit.USAGE and "port" in bad_listen.stderr
    bad_mech = run("--passwd-file", str(passwd_path), "--mech", "NTLM")
    assert bad_mech.returncode == Exit.USAGE and "NTLM" in bad_mech.stderr
    for result in (no_users, missing, no_password, bad_listen, bad_mech):
        assert "Traceback" not in result.stderr


def test_serve_cannot_listen_on_a_busy_port(tmp_path, passwd_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = subprocess.run([*SASLSCOPE, "serve", "--passwd-file", str(passwd_path), "--listen", f"127.0.0.1:{port}",
                                 "--pki-dir", str(tmp_path / "pki"), "--maildir", str(tmp_path / "m")],
                                capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == Exit.CONNECT and "cannot listen" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_runs_the_write_up_end_to_end(tmp_path):
    result = subprocess.run([*SASLSCOPE, "demo", "--workdir", str(tmp_path / "demo")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "235 2.7.0 Authentication successful" in out
    assert "sasl_method=CRAM-MD5, sasl_username=centos7@phoenixknight.jp" in out
    [path] = re.findall(r"^test@example\.com: (\S+)$", out, re.MULTILINE)
    delivered = Path(path).read_bytes().decode()
    assert Path(path).is_relative_to(tmp_path / "demo" / "maildir" / "example.com")
    assert "Subject: CRAM-MD5 test" in delivered and "CRAM-MD5 テストに成功しました" in delivered
    assert "zaq12345" not in out  # the password never appears, even in the masked transcript
    session_lines = [line for line in out.splitlines() if " postfix/" in line]
    assert analyze(lines=session_lines).lines.unparsed == 0
    # the detection engine's judgement of that log: the local test login, information only
    verdict = out.split("== What the log says", 1)[1].split("\n== ", 1)[0]
    assert "centos7@phoenixknight.jp: normal" in verdict and "info local_login" in verdict


def test_sighup_reopens_the_log_after_rotation(tmp_path):
    serve = ServeProcess(tmp_path, "--user", CRAM_USER, "--password-env", "SERVE_PW", env={"SERVE_PW": "pw"})
    login = ["--auth", "PLAIN", "--auth-user", CRAM_USER, "--auth-password", "pw", "--quit-after", "AUTH"]
    try:
        assert swaks(serve.ports["STARTTLS"], serve.ca_path, *login).returncode == 0
        rotated = serve.log_path.with_name("maillog.1")
        wait_until(lambda: "disconnect from" in serve.log_path.read_text())
        serve.log_path.rename(rotated)
        serve.process.send_signal(signal.SIGHUP)
        wait_until(serve.log_path.exists)
        assert swaks(serve.ports["STARTTLS"], serve.ca_path, *login).returncode == 0
    finally:
        assert serve.stop() == 0
    assert rotated.read_text().count("disconnect from") == 1
    assert serve.log_path.read_text().count("disconnect from") == 1


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_unusable_certificates_are_one_line_errors(tmp_path, pki):
    cases = {
        ("--cert", str(tmp_path / "none.pem"), "--key", str(tmp_path / "none.key")): "not a readable file",
        ("--cert", str(pki.ca_key_path), "--key", str(pki.ca_key_path)): "not a PEM certificate",
        ("--cert", str(pki.cert_path), "--key", str(pki.ca_key_path)): "the key does not belong to the certificate",
    }
    for args, message in cases.items():
        result = subprocess.run([*SASLSCOPE, "serve", "--user", "u", "--password-env", "HOME", *args],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == Exit.BAD_INPUT, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr


def run_serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`serve` with TMPDIR inside the test's directory, so that what it leaves there shows."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run([*SASLSCOPE, "serve", "--user", "u", "--password-env", "HOME", *args],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})


@pytest.mark.parametrize("name", ["bücher.test", "mail test", "-bad.test", "a" * 64 + ".test", "x..y"])
def test_invalid_hostname_is_a_usage_error_at_start_up(tmp_path, name):
    result = run_serve(tmp_path, "--listen", "127.0.0.1:0", "--hostname", name)
    assert result.returncode == Exit.USAGE, result.stderr
    assert "is not a host name" in result.stderr and "Traceback" not in result.stderr
    assert list((tmp_path / "tmp").iterdir()) == []  # nothing made before the check


def test_temporary_directories_are_removed_when_binding_fails(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        result = run_serve(tmp_path, "--listen", f"127.0.0.1:{busy.getsockname()[1]}")
    assert result.returncode == Exit.CONNECT, result.stderr
    assert list((tmp_path / "tmp").iterdir()) == []


def test_temporary_pki_is_removed_and_a_maildir_with_mail_is_kept_and_named(tmp_path):
    env = {"SERVE_PW": "pw", "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    stderr_path = tmp_path / "serve.err"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen([*SASLSCOPE, "serve", "--listen", "127.0.0.1:0", "--user", CRAM_USER,
                                    "--password-env", "SERVE_PW", "--log", str(tmp_path / "maillog")],
                                   stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, **env})
        try:
            wait_until(lambda: "ready;" in stderr_path.read_text())
            text = stderr_path.read_text()
            [port] = re.findall(r"listening on 127\.0\.0\.1:(\d+)", text)
            [ca] = re.findall(r"--cafile (\S+?);", text)
            assert (Path(ca).parent / "server.key").stat().st_mode & 0o777 == 0o600
            sent = swaks(int(port), Path(ca), "--auth", "PLAIN", "--auth-user", CRAM_USER, "--auth-password", "pw",
                         "--from", CRAM_USER, "--to", "bob@example.test")
            assert sent.returncode == 0, sent.stdout
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == Exit.OK
    [maildir] = re.findall(r"mail kept in (\S+) ", stderr_path.read_text())
    assert len(list(Path(maildir).glob("*/new/*"))) == 1
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == [Path(maildir).name]  # the PKI is gone


def test_demo_names_an_unusable_workdir(tmp_path):
    for workdir in ("/proc/x", str(tmp_path / "file" / "sub")):
        (tmp_path / "file").write_text("")
        result = subprocess.run([*SASLSCOPE, "demo", "--workdir", workdir], capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == Exit.BAD_INPUT, result.stderr
        assert workdir in result.stderr and "Traceback" not in result.stderr


def test_demo_never_replaces_an_earlier_demos_files(tmp_path):
    first = subprocess.run([*SASLSCOPE, "demo", "--workdir", str(tmp_path / "d")], capture_output=True, text=True,
                           timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    ca = (tmp_path / "d" / "pki" / "ca.pem").read_bytes()
    again = subprocess.run([*SASLSCOPE, "demo", "--workdir", str(tmp_path / "d")], capture_output=True, text=True,
                           timeout=120, check=False)
    assert again.returncode == Exit.BAD_INPUT and "already exists" in again.stderr
    assert (tmp_path / "d" / "pki" / "ca.pem").read_bytes() == ca
