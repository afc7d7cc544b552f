"""The sans-IO RFC 4954 exchange (smtp/auth.py): both roles driven against each other in
memory, then every framing rule on its own: ``=``, ``*``, the line limit, base64, order."""

from __future__ import annotations

import base64

import pytest

from saslscope.sasl import ChannelBinding, ClientCredentials, MemoryStore, StoredCredential
from saslscope.sasl.registry import SERVER_MECHANISMS, client_mechanism, server_mechanism
from saslscope.smtp.auth import (
    AUTH_LINE_LIMIT,
    AuthProtocolError,
    ClientDone,
    ClientExchange,
    ClientLine,
    ClientState,
    ClientVerdict,
    FailureKind,
    ServerChallenge,
    ServerExchange,
    ServerFailed,
    ServerState,
    ServerSucceeded,
)

BINDING = ChannelBinding("tls-server-end-point", b"e" * 32)
STORE = MemoryStore()
STORE.add(StoredCredential("tim", password="tanstaaftanstaaf"))


def _server(name: str) -> ServerExchange:
    return ServerExchange(server_mechanism(name, STORE, hostname="mx.test", channel_binding=(BINDING,)))


def _client(name: str, password: str = "tanstaaftanstaaf") -> ClientExchange:
    # a client that could bind but picks a plain variant says "y": this server would then see
    # a downgrade, since it can bind too (RFC 5802 §6)
    binding = BINDING if name.endswith("-PLUS") else None
    return ClientExchange(client_mechanism(name, ClientCredentials("tim", password), channel_binding=binding))


def _converse(client: ClientExchange, server: ServerExchange) -> tuple[ClientDone, ServerSucceeded | ServerFailed]:
    """Wire the two objects together as a socket would, with the server's real replies."""
    first = client.start()
    words = first.line.decode().split(" ")
    event = server.start(words[2] if len(words) == 3 else None)
    while isinstance(event, ServerChallenge):
        step = client.receive(int(event.line[:3]), event.line[4:])
        assert isinstance(step, ClientLine)
        event = server.receive(step.line)
    code, text = (235, "2.7.0 ok") if isinstance(event, ServerSucceeded) else (535, "5.7.8 failed")
    done = client.receive(code, text)
    assert isinstance(done, ClientDone)
    return done, event


@pytest.mark.parametrize("name", sorted(SERVER_MECHANISMS))
def test_every_server_mechanism_against_its_client(name):
    done, event = _converse(_client(name), _server(name))
    assert done.verdict is ClientVerdict.SUCCEEDED and isinstance(event, ServerSucceeded)
    assert event.success.username == "tim"


@pytest.mark.parametrize("name", sorted(SERVER_MECHANISMS))
def test_a_wrong_password_fails_on_both_sides(name):
    done, event = _converse(_client(name, "wrong"), _server(name))
    assert isinstance(event, ServerFailed) and event.kind is FailureKind.CREDENTIALS
    assert done.verdict in (ClientVerdict.REJECTED, ClientVerdict.SERVER_UNPROVEN)


def test_empty_initial_response_is_equals_sign_and_empty_answer_is_an_empty_line():
    external = ClientExchange(client_mechanism("EXTERNAL", ClientCredentials()))
    assert external.start().line == b"AUTH EXTERNAL ="
    server = _server("SCRAM-SHA-256")
    client = _client("SCRAM-SHA-256")
    done, _ = _converse(client, server)
    assert done.succeeded  # the answer to SCRAM's final 334 was the empty line


def test_a_plain_scram_client_that_could_bind_is_caught_as_a_downgrade():
    client = ClientExchange(client_mechanism("SCRAM-SHA-256", ClientCredentials("tim", "tanstaaftanstaaf"),
                                             channel_binding=BINDING))
    _, event = _converse(client, _server("SCRAM-SHA-256"))
    assert isinstance(event, ServerFailed) and "downgrade" in event.reason


def test_equals_sign_is_not_an_empty_continuation():
    server = _server("LOGIN")
    assert isinstance(server.start(None), ServerChallenge)
    failed = server.receive(b"=")
    assert isinstance(failed, ServerFailed) and failed.kind is FailureKind.BAD_BASE64


def test_star_cancels_and_the_server_reports_an_abort():
    server = _server("CRAM-MD5")
    assert isinstance(server.start(None), ServerChallenge)
    event = server.receive(b"*")
    assert isinstance(event, ServerFailed) and event.kind is FailureKind.ABORTED
    assert server.state is ServerState.DONE


def test_a_line_over_the_limit_is_refused_and_one_at_the_limit_is_read():
    at_limit = base64.b64encode(b"\0tim\0" + b"x" * 9300)[: AUTH_LINE_LIMIT - 2]
    assert len(at_limit) == AUTH_LINE_LIMIT - 2  # with CRLF, exactly the limit
    server = _server("PLAIN")
    assert isinstance(server.start(None), ServerChallenge)
    event = server.receive(at_limit)
    assert not (isinstance(event, ServerFailed) and event.kind is FailureKind.TOO_LONG)
    server = _server("PLAIN")
    server.start(None)
    event = server.receive(at_limit + b"A")
    assert isinstance(event, ServerFailed) and event.kind is FailureKind.TOO_LONG


def test_an_initial_response_too_long_for_the_auth_line_waits_for_the_first_challenge():
    token = "t" * 10000
    client = ClientExchange(client_mechanism("XOAUTH2", ClientCredentials("tim", token=token)))
    assert client.start().line == b"AUTH XOAUTH2"
    answer = client.receive(334, "")
    assert isinstance(answer, ClientLine) and token.encode() in base64.b64decode(answer.line)


def test_bad_base64_in_a_challenge_cancels_and_ends_broken():
    client = _client("CRAM-MD5")
    client.start()
    cancel = client.receive(334, "not base64!")
    assert isinstance(cancel, ClientLine) and cancel.cancels
    assert client.state is ClientState.CANCELLING
    done = client.receive(501, "5.7.0 Authentication aborted")
    assert isinstance(done, ClientDone) and done.verdict is ClientVerdict.BROKEN


def test_driving_an_exchange_out_of_order_is_an_error_for_good():
    client = _client("PLAIN")
    with pytest.raises(AuthProtocolError):
        client.receive(235, "too early")
    assert client.state is ClientState.ERROR
    with pytest.raises(AuthProtocolError):
        client.start()
    server = _server("PLAIN")
    with pytest.raises(AuthProtocolError):
        server.receive(b"AHRpbQB4")
    assert server.state is ServerState.ERROR
