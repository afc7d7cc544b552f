"""What a user trips over in ``login``/``probe`` output and statuses, each checked as the
user meets it: --nagios keeps its contract, usage mistakes are usage errors, server text
cannot drive the terminal, messages point at the fix."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from saslscope.cli.exitcodes import Exit
from tests.smtp.hostile_server import Behaviour, Peer, honest_script, server_context, serving
from tests.smtp.test_cli_client import USER, _login, run

SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
UNKNOWN = 3


def _one_status_line(result) -> str:
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0]


def test_nagios_without_a_password_source_is_one_unknown_line():
    result = run("login", "127.0.0.1", "-u", USER, "--nagios")
    assert result.exit_code == UNKNOWN
    assert _one_status_line(result).startswith("SMTP AUTH UNKNOWN - no password: standard input is not a terminal")


def test_nagios_with_a_missing_cafile_is_one_unknown_line_not_click_usage_text(tmp_path):
    result = run("login", "127.0.0.1", "-u", USER, "--password-env", "SMTP_PW", "--cafile", str(tmp_path / "no.pem"), "--nagios")
    assert result.exit_code == UNKNOWN
    line = _one_status_line(result)
    assert line.startswith("SMTP AUTH UNKNOWN - ") and "no.pem" in line and "Usage:" not in result.output
    probed = run("probe", "127.0.0.1", "--cafile", str(tmp_path / "no.pem"), "--nagios")
    assert probed.exit_code == UNKNOWN and _one_status_line(probed).startswith("SMTP AUTH UNKNOWN - ")


def test_a_subject_with_a_newline_is_a_usage_error_not_a_traceback():
    result = run("login", "127.0.0.1", "-u", USER, "--password-env", "SMTP_PW", "--to", "a@b.test", "--subject", "hi\nBcc: x@evil")
    assert result.exit_code == Exit.USAGE, result.output
    assert ("--subject must be one line" in result.stderr and result.exception is None) or isinstance(result.exception, SystemExit)


def test_a_body_without_to_is_a_usage_error_instead_of_sending_nothing():
    result = run("login", "127.0.0.1", "-u", USER, "--password-env", "SMTP_PW", "--body", "hello")
    assert result.exit_code == Exit.USAGE and "--body describe a message: give --to" in result.stderr


def test_host_colon_port_points_at_p():
    result = run("login", "127.0.0.1:587", "-u", USER, "--password-env", "SMTP_PW")
    assert result.exit_code == Exit.USAGE and "127.0.0.1 -p 587" in result.stderr
    assert run("probe", "::1", "--timeout", "0.5").exit_code != Exit.USAGE  # an IPv6 literal is no host:port


def test_escape_sequences_from_the_server_never_reach_the_terminal(pki):
    behaviour = Behaviour(tls_context=server_context(str(pki.chain_path), str(pki.key_path)))
    honest = honest_script(behaviour)

    def script(peer: Peer) -> None:
        peer.send(b"220 evil.test \x1b]0;pwned\x07\x1b[2J ESMTP\r\n")
        original_send = peer.send
        peer.send = lambda data: original_send(data) if not data.startswith(b"220 hostile") else None  # type: ignore[method-assign]
        honest(peer)

    with serving(script) as server:
        login = _login(server, pki, "--mech", "PLAIN")
        probed = run("probe", "127.0.0.1", "-p", str(server.port), "--cafile", str(pki.ca_cert_path))
    for result in (login, probed):
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert "\\x1b]0;pwned\\x07\\x1b[2J" in result.stdout


def test_a_plain_rejection_says_nothing_about_the_server_proving_itself(pki):
    behaviour = Behaviour(tls_context=server_context(str(pki.chain_path), str(pki.key_path)))
    with serving(honest_script(behaviour)) as server:
        result = run("login", "127.0.0.1", "-p", str(server.port), "--cafile", str(pki.ca_cert_path), "-u", USER,
                     "--password-env", "BAD_PW", "--mech", "SCRAM-SHA-256")
    assert result.exit_code == Exit.AUTH_FAILED
    assert "server proved" not in result.stdout


def test_probe_help_lists_only_the_statuses_probe_can_end_with():
    text = " ".join(run("probe", "--help").stdout.split())
    assert "1 authentication rejected" not in text and "8 a password or token" not in text
    assert "3 connection failure or timeout" in text and "3 UNKNOWN" in text
    login_help = " ".join(run("login", "--help").stdout.split())
    assert "1 authentication rejected" in login_help and "8 a password or token" in login_help


def test_a_certificate_failure_names_the_options_that_fix_it(pki, wrong_host_pki):
    behaviour = Behaviour(tls_context=server_context(str(wrong_host_pki.chain_path), str(wrong_host_pki.key_path)))
    with serving(honest_script(behaviour)) as server:
        result = _login(server, pki)
    assert result.exit_code == Exit.TLS
    assert "--cafile" in result.stderr and "--insecure" in result.stderr


def test_a_cleartext_greeting_on_implicit_tls_is_quoted_as_text_not_a_python_repr():
    import socket
    import ssl

    from saslscope.smtp.errors import TlsFailed
    from saslscope.smtp.transport import Transport

    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"220 mail.test ESMTP\r\n")
        transport = Transport(ours, 2.0)
        with pytest.raises(TlsFailed) as failed:
            transport.handshake(ssl.create_default_context(), "mail.test", after_starttls=False)
    assert '("220 mail.test ESMTP\\r\\n")' in failed.value.message and "b'" not in failed.value.message


def test_login_no_tls_against_auth_after_starttls_hints_at_starttls(pki):
    behaviour = Behaviour(tls_context=server_context(str(pki.chain_path), str(pki.key_path)))
    with serving(honest_script(behaviour)) as server:
        result = run("login", "127.0.0.1", "-p", str(server.port), "--no-tls", "--allow-cleartext-auth", "-u", USER,
                     "--password-env", "SMTP_PW")
    assert result.exit_code == Exit.USAGE
    assert "does not offer AUTH on this connection" in result.stderr and "drop --no-tls" in result.stderr


def test_a_failure_is_printed_once_on_a_terminal():
    """stdout and stderr on the same terminal: the verdict line is enough."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    leader, follower = pty.openpty()
    process = subprocess.Popen([SASLSCOPE, "probe", "127.0.0.1", "-p", str(port), "--no-legacy-tls-check"],
                               stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=30) == Exit.CONNECT
    assert output.count(b"connection refused") == 1, output


@pytest.mark.parametrize("command", ["login", "probe"])
def test_every_error_line_has_the_one_prefix(command):
    result = subprocess.run([SASLSCOPE, command, ""], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == Exit.USAGE
    assert result.stderr.splitlines()[-1] == "saslscope: HOST is empty"
    assert "Error:" not in result.stderr


@pytest.mark.parametrize("mechanism", ["CRAM-MD5", "SCRAM-SHA-256", "PLAIN"])
def test_a_login_without_plus_does_not_import_cryptography(pki, mechanism):
    """Start-up: certificate parsing (cryptography, about 100 ms to import) is for findings,
    --json and -PLUS binding data only; the gs2 "y" flag needs no binding data."""
    behaviour = Behaviour(tls_context=server_context(str(pki.chain_path), str(pki.key_path)))
    code = (
        "import sys\n"
        "from saslscope.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    status = exc.code\n"
        "print(status, 'cryptography' in sys.modules)\n"
    )
    with serving(honest_script(behaviour)) as server:
        result = subprocess.run(
            [sys.executable, "-c", code, "login", "127.0.0.1", "-p", str(server.port), "--cafile", str(pki.ca_cert_path),
             "-u", USER, "--password-env", "PW", "--mech", mechanism],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PW": "zaq12345"}, check=False,
        )
    assert result.stdout.splitlines()[-1] == "0 False", result.stdout + result.stderr


def test_starttls_against_port_465_gives_its_hint_without_waiting_the_whole_timeout():
    """Port 465 is implicit TLS (RFC 8314): a server there waits silently for a ClientHello.
    The hint comes after IMPLICIT_PORT_GREETING_WAIT, not after --timeout (here 600 s, which
    the test's own 60 s limit would hit first)."""
    import socket

    from saslscope.smtp.session import IMPLICIT_PORT_GREETING_WAIT

    assert IMPLICIT_PORT_GREETING_WAIT < 60
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.9", 465))  # the tests run as root (the lab needs it too)
        listener.listen(1)
        result = subprocess.run([SASLSCOPE, "probe", "127.0.0.9", "-p", "465", "--starttls", "--timeout", "600"],
                                capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == Exit.CONNECT, result.stdout + result.stderr
    assert "before the greeting (an implicit-TLS port? try --tls)" in result.stderr
