"""The auth penalty (issue 10 item 3): it gates the *next* AUTH before anything is checked."""

from __future__ import annotations

import base64
import sys

import pytest

from saslscope.smtp.server import FailurePenalty
from saslscope.smtp.server.penalty import penalty_key
from tests.server.support import CRAM_USER, PLAIN_USER, password, started_server, tls_client


def plain(user: str, secret: str) -> str:
    return "PLAIN " + base64.b64encode(f"\0{user}\0{secret}".encode()).decode()


def test_waits_of_one_client_are_serialised_and_far_ones_refused():
    now = [100.0]
    penalty = FailurePenalty(base=1.0, cap=4.0, max_wait=5.0, clock=lambda: now[0])
    assert penalty.admit("192.0.2.1") == 0.0  # no failure yet: no wait
    assert penalty.record_failure("192.0.2.1") == 1.0
    # three parallel connections: each gets the next slot, one check per second in all
    assert [penalty.admit("192.0.2.1") for _ in range(3)] == [1.0, 2.0, 3.0]
    assert [penalty.admit("192.0.2.1") for _ in range(3)] == [4.0, 5.0, None]  # 6 s away: refused
    assert penalty.admit("192.0.2.2") == 0.0  # other clients are not affected
    now[0] += 10
    assert penalty.admit("192.0.2.1") == 0.0  # its slots have passed


def test_ipv6_clients_share_a_penalty_per_64():
    penalty = FailurePenalty(base=1.0)
    penalty.record_failure("2001:db8:1:2::1")
    assert penalty.failures("2001:db8:1:2:ffff::9") == 1
    assert penalty.failures("2001:db8:1:3::1") == 0
    assert penalty_key("::ffff:192.0.2.7") == penalty_key("192.0.2.7") == "192.0.2.7"
    assert penalty_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"


def test_table_is_bounded_and_forgets_oldest_first():
    now = [0.0]
    penalty = FailurePenalty(forget_after=10.0, max_entries=3, clock=lambda: now[0])
    for i in range(5):
        now[0] = i
        penalty.record_failure(f"192.0.2.{i}")
    assert len(penalty) == 3 and penalty.failures("192.0.2.0") == 0 and penalty.failures("192.0.2.4") == 1
    now[0] = 13.5  # .2 and .3 are quiet for more than 10 s
    assert penalty.failures("192.0.2.4") == 1 and len(penalty) == 1


def _lines_executed(penalty: FailurePenalty, address: str) -> int:
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        penalty.record_failure(address)
        penalty.admit(address)
    finally:
        sys.settrace(None)
    return count


def test_expiry_work_does_not_grow_with_the_table():
    # the audit found an O(n) scan per failure; count executed lines, not time
    def steps(size: int) -> int:
        now = [0.0]
        penalty = FailurePenalty(forget_after=1000.0, clock=lambda: now[0])
        for i in range(size):
            penalty.record_failure(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        now[0] = 1.0
        return _lines_executed(penalty, "192.0.2.1")

    assert steps(20_000) == steps(10)


def test_success_after_a_failure_waits_like_a_failure(tmp_path, pki, passwd_path):
    # A slot 60 s away is beyond max_wait: the AUTH is refused before the (right) password
    # is looked at, so a guesser cannot learn "success" faster than "failure".
    penalty = FailurePenalty(base=60.0, cap=60.0, max_wait=30.0)
    with started_server(tmp_path, pki, passwd_path, penalty=penalty) as server:
        with tls_client(server) as client:
            assert client.docmd("AUTH", plain(PLAIN_USER, "wrong"))[0] == 535
            assert client.docmd("AUTH", plain(PLAIN_USER, password(PLAIN_USER))) == (
                454, b"4.7.0 Temporary authentication failure")
        server.log.wait_for("too many recent failures from this client")
        assert not any("client=" in line for line in server.log.lines)
        assert penalty.failures("127.0.0.1") == 1


def test_a_guess_abandoned_while_waiting_is_never_checked(tmp_path, pki, passwd_path):
    penalty = FailurePenalty(base=20.0, cap=20.0, max_wait=30.0)
    with started_server(tmp_path, pki, passwd_path, penalty=penalty) as server:
        with tls_client(server) as client:
            assert client.docmd("AUTH", plain(PLAIN_USER, "guess-1"))[0] == 535
        hung_up = tls_client(server)
        hung_up.putcmd("AUTH", plain(PLAIN_USER, "guess-2"))
        hung_up.close()  # the hang-up strategy: no reply within 150 ms, so go
        server.log.wait_for("disconnect from", count=2)
        assert len([line for line in server.log.lines if "authentication failed" in line]) == 1
        assert penalty.failures("127.0.0.1") == 1


@pytest.mark.parametrize("exchange", [["AUTH LOGIN", "*"], ["AUTH CRAM-MD5", "%%%"], ["AUTH PLAIN %%%"]])
def test_aborts_and_malformed_exchanges_count(tmp_path, pki, passwd_path, exchange):
    penalty = FailurePenalty(base=0.01, cap=0.01)
    with started_server(tmp_path, pki, passwd_path, penalty=penalty) as server:
        with tls_client(server) as client:
            for line in exchange:
                client.putcmd(line)
                code, _ = client.getreply()
            assert code in (501, 535)
        assert penalty.failures("127.0.0.1") == 1
        with tls_client(server) as client:
            client.user, client.password = CRAM_USER, password(CRAM_USER)
            assert client.auth("CRAM-MD5", client.auth_cram_md5)[0] == 235
