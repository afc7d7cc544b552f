"""Concurrency, shutdown, IPv6, storage layout and the trace headers of delivered mail."""

from __future__ import annotations

import email
import smtplib
import socket
import ssl

import pytest

from saslscope.headers.chain import analyze_bytes
from saslscope.smtp.server import FailurePenalty, MaildirStore
from saslscope.smtp.server.maildir import domain_directory_name
from tests.server.support import CRAM_USER, password, started_server, tls_client


def send(server, recipients: list[str], body: bytes = b"Subject: s\r\n\r\nbody\r\n") -> None:
    with tls_client(server) as client:
        client.login(CRAM_USER, password(CRAM_USER))
        assert client.sendmail(CRAM_USER, recipients, body) == {}


def test_an_open_idle_session_does_not_block_others_and_gets_its_own_pid(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle:
        assert idle.recv(100).startswith(b"220")
        idle.sendall(b"EHLO idle.test\r\nMAIL FROM:<a@b>\r\n")
        send(server, ["x@example.net"])
        connects = server.log.wait_for("connect from localhost", count=2)
        pids = {line.split("smtpd[")[1].split("]")[0] for line in connects if "disconnect" not in line}
        assert len(pids) == 2  # like two smtpd processes: log readers pair lines by pid


def test_stopping_the_server_ends_open_sessions_with_their_log_lines(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path) as server:
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        idle.recv(100)
        idle.sendall(b"EHLO idle.test\r\n")
        reply = b""
        while b"\r\n250 " not in reply:
            reply += idle.recv(4096)
    try:
        [line] = server.log.wait_for("disconnect from", timeout=1)
        assert line.endswith("disconnect from localhost[127.0.0.1] ehlo=1 commands=1")
        assert server.log.wait_for("lost connection after EHLO from localhost[127.0.0.1]")
        assert idle.recv(100) == b""  # the server closed its end
    finally:
        idle.close()


def test_ipv6_loopback(tmp_path, pki, passwd_path):
    if not socket.has_ipv6:
        pytest.fail("this machine has no IPv6 loopback")
    from saslscope.smtp.server import PostfixLog, ServerConfig, load_passwd_file, run_in_thread, server_tls_context
    from tests.server.support import SharedLog

    context, der = server_tls_context(pki.chain_path, pki.key_path)
    log = SharedLog()
    config = ServerConfig(store=load_passwd_file(passwd_path).store, maildir=MaildirStore(tmp_path / "m"),
                          log=PostfixLog(log), tls_context=context, certificate_der=der,
                          penalty=FailurePenalty(base=0))
    with run_in_thread(config, listen=[("::1", 0)]) as running:
        client_context = ssl.create_default_context(cafile=str(pki.ca_cert_path))
        with smtplib.SMTP("::1", running.port, local_hostname="client.test", timeout=30) as client:
            client.starttls(context=client_context)  # verifies the IP address SAN ::1
            assert client.login(CRAM_USER, password(CRAM_USER))[0] == 235
    assert log.wait_for("connect from localhost[::1]")


def test_one_copy_per_recipient_in_per_domain_maildirs(server):
    send(server, ["a@Example.COM", "b@example.com", "c@[127.0.0.1]"])
    server.log.wait_for("removed")
    assert len(list((server.maildir / "example.com" / "new").iterdir())) == 2
    assert len(list((server.maildir / "127.0.0.1" / "new").iterdir())) == 1
    deliveries = server.log.wait_for("status=sent (delivered to maildir)", count=3)
    assert [line.split("to=<")[1].split(">")[0] for line in deliveries] == ["a@Example.COM", "b@example.com", "c@[127.0.0.1]"]
    [qmgr] = server.log.wait_for("nrcpt=")
    assert "nrcpt=3 (queue active)" in qmgr


def test_single_maildir_layout(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path, maildir=MaildirStore(tmp_path / "box", per_domain=False)) as server:
        send(server, ["a@one.test", "b@two.test"])
        server.log.wait_for("removed")
    assert len(list((tmp_path / "box" / "new").iterdir())) == 2


@pytest.mark.parametrize("address, directory", [
    ("u@Example.COM", "example.com"), ("u@[127.0.0.1]", "127.0.0.1"), ("u@../../etc", "_.._etc"),
    ("u@..", "_nodomain"), ("nodomain", "_nodomain"), ("u@a/b", "a_b"),
])
def test_domain_directory_names_stay_inside_the_root(address, directory):
    assert domain_directory_name(address) == directory


def test_delivered_message_has_a_received_header_that_the_headers_reader_understands(server):
    body = "Subject: CRAM-MD5 test\r\n\r\nCRAM-MD5 テストに成功しました\r\n".encode()
    send(server, ["test@example.com"], body)
    [queued] = server.log.wait_for("client=")
    queue_id = queued.split(": ")[1]
    [path] = (server.maildir / "example.com" / "new").iterdir()
    data = path.read_bytes()
    assert data.startswith(b"Return-Path: <cram@example.test>\nDelivered-To: test@example.com\nReceived: from client.test")
    assert data.endswith("CRAM-MD5 テストに成功しました\n".encode())  # 8-bit body byte-exact
    analysis = analyze_bytes(data)
    [hop] = analysis.hops
    assert (hop.helo or hop.from_host) == "client.test"
    assert hop.from_ip == "127.0.0.1"
    assert hop.by_host == "mail.test"
    assert hop.queue_id == queue_id
    assert hop.protocol == "ESMTPSA" and hop.authenticated
    assert hop.tls is not None and hop.tls.version == "TLSv1.3"
    assert hop.for_addr in ("test@example.com", "<test@example.com>")
    # the message had no Message-ID: one was added (as Postfix's cleanup does) and logged
    added = email.message_from_bytes(data)["Message-Id"]
    assert added.endswith(f".{queue_id}@mail.test>")
    [cleanup] = server.log.wait_for("message-id=")
    assert " postfix/cleanup[" in cleanup and cleanup.endswith(f": {queue_id}: message-id={added}")


def test_failure_penalty_doubles_per_address_caps_and_forgets():
    now = [0.0]
    penalty = FailurePenalty(base=1.0, cap=5.0, forget_after=60.0, clock=lambda: now[0])
    assert [penalty.record_failure("192.0.2.1") for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert penalty.record_failure("192.0.2.2") == 1.0  # another address is not punished
    now[0] = 61.0
    assert penalty.failures("192.0.2.1") == 0
    assert penalty.record_failure("192.0.2.1") == 1.0
    assert FailurePenalty(base=0).record_failure("192.0.2.1") == 0.0


def test_idle_clients_time_out_with_postfix_reply_and_log(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path, idle_timeout=0.3) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.recv(100)
            sock.sendall(b"EHLO slow.test\r\n")
            data = b""
            while not data.endswith(b"timeout exceeded\r\n"):
                chunk = sock.recv(4096)
                assert chunk, data
                data += chunk
        assert b"421 4.4.2 mail.test Error: timeout exceeded" in data
        server.log.wait_for("timeout after EHLO from localhost[127.0.0.1]")


def test_recipient_limit(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path, max_recipients=2) as server, tls_client(server) as client:
        client.login(CRAM_USER, password(CRAM_USER))
        client.mail(CRAM_USER)
        assert [client.rcpt(f"r{i}@example.com")[0] for i in range(3)] == [250, 250, 452]


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:2587", ("127.0.0.1", 2587)), ("[::1]:25", ("::1", 25)), ("2465", ("127.0.0.1", 2465)),
    ("localhost:0", ("localhost", 0)), (":587", ("127.0.0.1", 587)),
])
def test_listen_addresses(text, expected):
    from saslscope.smtp.server import parse_address

    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["::1:25", "[::1]25", "host:http", "host:70000", "", "[::1]"])
def test_bad_listen_addresses(text):
    from saslscope.smtp.server import parse_address

    with pytest.raises(ValueError):
        parse_address(text)
