"""Bad clients must not take the server down: after each one, a normal login still works."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl

import pytest

from tests.server.support import CRAM_USER, password, started_server, tls_client


def raw_connection(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    assert sock.recv(1024).startswith(b"220 ")
    return sock


def read_reply(sock: socket.socket) -> bytes:
    """Read until a complete final reply line ("NNN " ... CRLF) arrived."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and any(len(line) >= 4 and line[3:4] == b" " for line in lines[:-1]):
            return data


def send_until_too_many_errors(sock: socket.socket, line: bytes, times: int) -> bytes:
    """Send ``line`` ``times`` times, one reply each, then read to the server's 421 or close.

    Exactly the limit, then read to the end: a command sent after the server closed would be
    answered by a TCP reset, which can discard the 421 before it is read."""
    replies = b""
    for _ in range(times):
        sock.sendall(line)
        replies += read_reply(sock)
    while b"421 " not in replies:
        chunk = sock.recv(65536)
        if not chunk:
            break
        replies += chunk
    return replies


def assert_still_serving(server) -> None:
    with tls_client(server) as client:
        client.user, client.password = CRAM_USER, password(CRAM_USER)
        code, _ = client.auth("CRAM-MD5", client.auth_cram_md5)
        assert code == 235


def test_binary_garbage_is_refused_and_the_session_survives(server):
    with raw_connection(server) as sock:
        sock.sendall(bytes(b for b in range(256) if b not in b"\r\n") + b"\r\n")
        reply = read_reply(sock)
        assert reply[:1] == b"5"
        sock.sendall(b"NOOP\r\n")
        assert read_reply(sock).startswith(b"250 ")
    assert_still_serving(server)


def test_overlong_line_is_refused_without_closing(server):
    with raw_connection(server) as sock:
        sock.sendall(b"EHLO " + b"x" * 200_000 + b"\r\n")
        assert read_reply(sock).startswith(b"500 ")
        sock.sendall(b"EHLO client.test\r\n")
        assert b"250 " in read_reply(sock)
    assert_still_serving(server)


def test_unknown_commands_are_counted_and_end_in_too_many_errors(server):
    with raw_connection(server) as sock:
        replies = send_until_too_many_errors(sock, b"XYZZY\r\n", 20)
    assert b"500 5.5.2 Error: command not recognized" in replies
    assert b"421 4.7.0 mail.test Error: too many errors" in replies
    assert server.log.wait_for("too many errors after UNKNOWN from localhost[127.0.0.1]")
    [disconnect] = server.log.wait_for("disconnect from")
    assert disconnect.endswith("unknown=0/20 commands=0/20")
    assert_still_serving(server)


def test_auth_flood_is_delayed_and_cut_off_while_others_are_served(tmp_path, pki, passwd_path):
    from saslscope.smtp.server import FailurePenalty

    penalty = FailurePenalty(base=0.01, cap=0.02)
    with started_server(tmp_path, pki, passwd_path, penalty=penalty, hard_error_limit=5) as server:
        with tls_client(server) as attacker:
            codes = []
            for attempt in range(10):
                try:
                    blob = base64.b64encode(f"\0{CRAM_USER}\0guess{attempt}".encode()).decode()
                    codes.append(attacker.docmd("AUTH", f"PLAIN {blob}")[0])
                except (smtplib.SMTPException, OSError):  # the server hung up after its 421
                    break
        assert codes[:4] == [535, 535, 535, 535]
        assert 421 in codes or len(codes) == 5
        assert server.running.server.context.penalty.failures("127.0.0.1") == 5
        server.log.wait_for("too many errors after AUTH")
        assert len(server.log.wait_for("SASL PLAIN authentication failed", count=5)) == 5
        assert_still_serving(server)


def test_client_vanishing_after_starttls_is_logged_and_survived(server):
    with raw_connection(server) as sock:
        sock.sendall(b"EHLO client.test\r\n")
        read_reply(sock)
        sock.sendall(b"STARTTLS\r\n")
        assert read_reply(sock).startswith(b"220 ")
        # gone before the handshake
    assert server.log.wait_for("SSL_accept error from localhost[127.0.0.1]: lost connection")
    assert server.log.wait_for("lost connection after STARTTLS")
    [disconnect] = server.log.wait_for("disconnect from")
    assert disconnect.endswith("ehlo=1 starttls=0/1 commands=1/2")
    assert_still_serving(server)


def test_garbage_instead_of_a_tls_handshake(server):
    with raw_connection(server) as sock:
        sock.sendall(b"EHLO client.test\r\n")
        read_reply(sock)
        sock.sendall(b"STARTTLS\r\n")
        assert read_reply(sock).startswith(b"220 ")
        sock.sendall(b"this is not a ClientHello\r\n" * 10)
        sock.recv(1024)
    [failure] = server.log.wait_for("SSL_accept error")
    assert failure.endswith("SSL_accept error from localhost[127.0.0.1]: -1")
    assert server.log.wait_for("warning: TLS library problem: ")
    assert server.log.wait_for("disconnect from")
    assert_still_serving(server)


def test_client_vanishing_in_implicit_tls_handshake(server):
    with socket.create_connection(("127.0.0.1", server.tls_port), timeout=10):
        pass
    assert server.log.wait_for("SSL_accept error")
    [disconnect] = server.log.wait_for("disconnect from")
    assert disconnect.endswith("commands=0/0")
    assert "lost connection after CONNECT" in "\n".join(server.log.lines)
    context = ssl.create_default_context(cafile=str(server.ca_path))
    with smtplib.SMTP_SSL("127.0.0.1", server.tls_port, context=context, timeout=30) as client:
        assert client.login(CRAM_USER, password(CRAM_USER))[0] == 235


def test_client_vanishing_in_the_middle_of_auth(server):
    client = tls_client(server)
    code, _ = client.docmd("AUTH", "CRAM-MD5")
    assert code == 334
    client.close()  # closes the socket and smtplib's file on it: the TCP connection ends
    assert server.log.wait_for("lost connection after AUTH from localhost[127.0.0.1]")
    [disconnect] = server.log.wait_for("disconnect from")
    assert disconnect.endswith("ehlo=2 starttls=1 auth=0/1 commands=3/4")
    assert_still_serving(server)


def test_auth_abort_with_star(server):
    with tls_client(server) as client:
        assert client.docmd("AUTH", "LOGIN")[0] == 334
        assert client.docmd("*")[0] == 501
        assert_still_serving(server)
    [warning] = server.log.wait_for("authentication aborted")
    assert warning.endswith("warning: localhost[127.0.0.1]: SASL LOGIN authentication aborted")


@pytest.mark.parametrize("answer", [b"%%% not base64 %%%", b"="])
def test_undecodable_sasl_response(server, answer):
    # "=" is only an *initial* response (RFC 4954 §4); as a continuation it is invalid base64,
    # and Postfix+Dovecot answer exactly this: clients that send it fail in production.
    with tls_client(server) as client:
        assert client.docmd("AUTH", "CRAM-MD5")[0] == 334
        assert client.docmd(answer.decode()) == (
            535, b"5.7.8 Error: authentication failed: Invalid base64 data in continued response")
    [warning] = server.log.wait_for("authentication failed")
    assert warning.endswith("SASL CRAM-MD5 authentication failed: Invalid base64 data in continued response, "
                            "sasl_username=(unavailable)")


def test_unknown_mechanism_and_bad_initial_response(server):
    with tls_client(server) as client:
        assert client.docmd("AUTH", "NTLM")[0] == 504
        assert client.docmd("AUTH", "PLAIN %%%")[0] == 535
    warnings = server.log.wait_for("authentication failed", count=2)
    assert "SASL NTLM authentication failed: Invalid authentication mechanism" in warnings[0]
    assert "SASL PLAIN authentication failed: Invalid base64 data in initial response" in warnings[1]
    # an unknown mechanism checks nothing; a malformed exchange counts like a wrong guess
    assert server.running.server.context.penalty.failures("127.0.0.1") == 1


def test_overlong_sasl_response_is_refused(server):
    with tls_client(server) as client:
        assert client.docmd("AUTH", "LOGIN")[0] == 334
        code, _ = client.docmd("A" * 20_000)
        assert code == 535
    assert server.log.wait_for("SASL LOGIN authentication failed: Response line too long")
    assert_still_serving(server)


def test_connection_flood_from_one_address_is_capped(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path, max_connections_per_ip=3) as server:
        held = [raw_connection(server) for _ in range(3)]
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
            assert extra.recv(200).startswith(b"421 4.7.0 mail.test Error: too many connections from 127.0.0.1")
        [warning] = server.log.wait_for("Connection concurrency limit exceeded: 4 from localhost[127.0.0.1]")
        assert warning.endswith("for service submission")
        for sock in held:
            sock.close()
        server.log.wait_for("disconnect from", count=4)
        assert_still_serving(server)


def test_plaintext_pipelined_after_starttls_is_discarded(server):
    # RFC 3207 §4.2 / CVE-2011-0411: commands sent in cleartext together with STARTTLS must
    # not be executed inside the TLS session.
    with raw_connection(server) as sock:
        sock.sendall(b"EHLO client.test\r\n")
        read_reply(sock)
        sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.test>\r\n")
        assert read_reply(sock).startswith(b"220 ")
        context = ssl.create_default_context(cafile=str(server.ca_path))
        with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"EHLO client.test\r\n")
            assert b"250 " in read_reply(tls)
            tls.sendall(b"MAIL FROM:<real@example.test>\r\n")
            assert read_reply(tls).startswith(b"250 2.1.0")  # not "503 nested MAIL command"
            tls.sendall(b"QUIT\r\n")
            read_reply(tls)
    [disconnect] = server.log.wait_for("disconnect from")
    assert disconnect.endswith("ehlo=2 starttls=1 mail=1 quit=1 commands=5")


def test_connection_lost_during_data(server):
    client = tls_client(server)
    client.login(CRAM_USER, password(CRAM_USER))
    client.mail(CRAM_USER)
    client.rcpt("x@example.com")
    client.putcmd("DATA")
    assert client.getreply()[0] == 354
    client.send(b"Subject: half\r\n\r\nand then")
    client.close()
    assert server.log.wait_for("lost connection after DATA (25 bytes) from localhost[127.0.0.1]")
    [disconnect] = server.log.wait_for("disconnect from")
    assert disconnect.endswith("ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=0/1 commands=6/7")
    assert not (server.maildir / "example.com").exists()
    assert_still_serving(server)


_VERBS = [b"EHLO x", b"HELO x", b"MAIL FROM:<a@b>", b"RCPT TO:<c@d>", b"DATA", b"RSET", b"NOOP", b"VRFY x",
          b"AUTH PLAIN", b"AUTH CRAM-MD5", b"AUTH LOGIN", b"*", b"=", b"STARTTLS x", b"HELP", b"BDAT 1", b""]


def test_random_command_streams_leave_the_server_serving_and_the_log_parseable(tmp_path, pki, passwd_path):
    from hypothesis import HealthCheck, given, settings, strategies as st

    from saslscope.maillog import analyze

    line = st.one_of(st.sampled_from(_VERBS), st.binary(max_size=80).map(lambda b: b.replace(b"\n", b"")))
    with started_server(tmp_path, pki, passwd_path, allow_cleartext_auth=True, hard_error_limit=50) as server:

        @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(line, max_size=12))
        def session(lines: list[bytes]) -> None:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.recv(1024)
                sock.sendall(b"".join(item + b"\r\n" for item in lines))
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(65536):
                    pass

        session()
        assert_still_serving(server)
    # the server has stopped: every session has logged its end
    lines = server.log.lines
    assert sum(": connect from " in x for x in lines) == sum(": disconnect from " in x for x in lines) > 30
    analysis = analyze(lines=lines)
    assert analysis.lines.unparsed == 0, analysis.unparsed
    assert analysis.lines.total == len(lines)


@pytest.mark.parametrize("line", [b"GET / HTTP/1.1", b"CONNECT example.org:443 HTTP/1.1", b"Subject: hello"])
def test_non_smtp_clients_are_sent_away_like_postfix_does(server, line):
    with raw_connection(server) as sock:
        sock.sendall(line + b"\r\n")
        assert read_reply(sock) == b"221 2.7.0 Error: I can break rules, too. Goodbye.\r\n"
        assert sock.recv(100) == b""
    [warning] = server.log.wait_for("non-SMTP command from localhost[127.0.0.1]: ")
    assert "warning: " in warning
    [disconnect] = server.log.wait_for("disconnect from")
    assert disconnect.endswith("unknown=0/1 commands=0/1")
    assert "lost connection" not in "\n".join(server.log.lines)
