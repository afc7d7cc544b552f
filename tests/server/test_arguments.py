"""Hostile SMTP arguments and resource limits (issue 10 items 8, 12, 18)."""

from __future__ import annotations

import socket

import pytest

from tests.server.support import CRAM_USER, password, started_server, tls_client
from tests.server.test_hostile_clients import (
    assert_still_serving,
    raw_connection,
    read_reply,
    send_until_too_many_errors,
)


def test_non_utf8_recipients_are_refused_counted_and_end_in_too_many_errors(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path, allow_cleartext_auth=True) as server:
        with raw_connection(server) as sock:
            sock.sendall(b"EHLO client.test\r\n")
            read_reply(sock)
            sock.sendall(b"MAIL FROM:<a@b.test>\r\n")
            assert read_reply(sock).startswith(b"250 ")
            replies = send_until_too_many_errors(sock, b"RCPT TO:<\xff@b.test>\r\n", 20)
        assert replies.count(b"501 5.1.3 Bad recipient address syntax") == 20
        assert b"421 4.7.0 mail.test Error: too many errors" in replies
        assert b"Error: (" not in replies and b"Unicode" not in replies
        server.log.wait_for("too many errors after RCPT")


@pytest.mark.parametrize("line, reply", [
    (b"EHLO \xff.test", b"501 5.5.4 Syntax error: invalid UTF-8"),
    (b"HELO \xc3", b"501 5.5.4 Syntax error: invalid UTF-8"),
    (b"NOOP \xfe", b"501 5.5.4 Syntax error: invalid UTF-8"),
])
def test_non_utf8_arguments_of_other_commands_are_syntax_errors(server, line, reply):
    with raw_connection(server) as sock:
        sock.sendall(line + b"\r\n")
        assert read_reply(sock).startswith(reply)
    assert_still_serving(server)


def test_authenticated_non_utf8_sender_is_refused_at_mail_and_nothing_is_lost(server):
    with tls_client(server) as client:
        client.login(CRAM_USER, password(CRAM_USER))
        client.send(b"MAIL FROM:<\xff@example.test>\r\n")
        assert client.getreply() == (501, b"5.1.7 Bad sender address syntax")
        assert client.sendmail(CRAM_USER, ["bob@example.com"], b"Subject: ok\r\n\r\nok\r\n") == {}
    [client_line] = server.log.wait_for("client=localhost")
    queue_id = client_line.split(": ")[1]
    server.log.wait_for(f"{queue_id}: removed")
    assert len(list((server.maildir / "example.com" / "new").iterdir())) == 1


def test_recipient_with_an_overlong_domain_is_refused_at_rcpt(server):
    long_domain = ".".join(["a" * 60] * 5)  # 304 octets
    with tls_client(server) as client:
        client.login(CRAM_USER, password(CRAM_USER))
        client.mail(CRAM_USER)
        assert client.rcpt("bob@example.com")[0] == 250
        code, text = client.rcpt(f"x@{long_domain}")
        assert code == 501 and b"domain longer than 255 octets" in text
        assert client.rcpt("carol@example.com")[0] == 250
        code, _ = client.data(b"Subject: fan\r\n\r\nbody\r\n")
        assert code == 250  # not 451 after some copies were written (a retry would duplicate them)
    server.log.wait_for("removed")
    assert len(list((server.maildir / "example.com" / "new").iterdir())) == 2


def test_global_connection_cap(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path, max_connections=2, max_connections_per_ip=0) as server:
        held = [raw_connection(server) for _ in range(2)]
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
            assert extra.recv(200) == b"421 4.3.2 Service currently unavailable\r\n"
        server.log.wait_for("service submission: all 2 connections in use; refusing localhost[127.0.0.1]")
        for sock in held:
            sock.close()
        server.log.wait_for("disconnect from", count=3)
        assert_still_serving(server)


def test_fan_out_is_bounded_before_any_copy_is_written(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path, max_fanout_bytes=10_000) as server:
        with tls_client(server) as client:
            client.login(CRAM_USER, password(CRAM_USER))
            body = b"Subject: big\r\n\r\n" + (b"x" * 78 + b"\r\n") * 50
            client.mail(CRAM_USER)
            for name in ("a", "b", "c"):
                assert client.rcpt(f"{name}@example.com")[0] == 250
            code, text = client.data(body)
            assert code == 552 and b"too big for this many recipients" in text
            assert client.sendmail(CRAM_USER, ["a@example.com", "b@example.com"], body) == {}
        server.log.wait_for("exceed the fan-out limit of 10000 bytes")
        server.log.wait_for("removed")
    assert len(list((tmp_path / "maildir" / "example.com" / "new").iterdir())) == 2


def test_an_internal_error_never_reaches_the_client_as_exception_text(server, monkeypatch):
    from saslscope.smtp.server.session import SubmissionSession

    async def broken(self, envelope, address, options):
        raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(SubmissionSession, "accept_sender", broken)
    with tls_client(server) as client:
        client.login(CRAM_USER, password(CRAM_USER))
        assert client.mail(CRAM_USER) == (451, b"4.3.0 Error: internal error")
    server.log.wait_for("warning: internal error after MAIL from localhost[127.0.0.1]: UnicodeEncodeError")
