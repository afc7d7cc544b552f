"""The client's AUTH against scripted hostile servers: bounded rounds and time, secrets a
server echoes stay masked, and SCRAM's gs2 flag tells a server it could have bound."""

from __future__ import annotations

import base64
import json
import time

import pytest

from saslscope.sasl.base import ClientCredentials
from saslscope.smtp.auth import MAX_CHALLENGES
from saslscope.smtp.client import LoginOptions, login
from saslscope.smtp.errors import Outcome
from saslscope.smtp.report import login_json, login_text, nagios_line
from saslscope.smtp.transport import TlsMode, TlsSettings
from tests.smtp.hostile_server import Peer, PeerGone, server_context, serving

GOOD = ClientCredentials("centos7@phoenixknight.jp", "zaq12345")
USERNAME_PROMPT = b"334 VXNlcm5hbWU6\r\n"


def _options(server, pki, **overrides) -> LoginOptions:
    fields = dict(
        host=server.host, port=server.port, tls_mode=TlsMode.STARTTLS,
        tls=TlsSettings(cafile=str(pki.ca_cert_path)), helo="client.test", timeout=5.0, credentials=GOOD,
    )
    fields.update(overrides)
    return LoginOptions(**fields)


def _until_auth(peer: Peer, pki, auth_keywords: str) -> bytes:
    """Greeting, EHLO, STARTTLS, EHLO; returns the client's AUTH line."""
    peer.send(b"220 hostile.test ESMTP\r\n")
    peer.expect("EHLO")
    peer.send(b"250-hostile.test\r\n250 STARTTLS\r\n")
    peer.expect("STARTTLS")
    peer.send(b"220 go ahead\r\n")
    peer.starttls(server_context(str(pki.chain_path), str(pki.key_path)))
    peer.expect("EHLO")
    peer.send(f"250-hostile.test\r\n250 AUTH {auth_keywords}\r\n".encode())
    return peer.expect("AUTH")


def _finish(peer: Peer) -> None:
    try:
        while peer.line() != b"QUIT":
            pass
        peer.send(b"221 bye\r\n")
    except (PeerGone, OSError):  # the client hung up first
        pass


def test_a_server_repeating_the_login_prompt_cannot_hold_the_client(pki):
    """Issue: 100k ``334 Username:`` prompts held the LOGIN client for 30 s and 142 MB."""
    prompts = 1000

    def script(peer: Peer) -> None:
        _until_auth(peer, pki, "LOGIN")
        for _ in range(prompts):
            peer.send(USERNAME_PROMPT)
            if peer.line() == b"*":
                peer.send(b"501 5.7.0 Authentication aborted\r\n")
                break
        else:
            peer.send(b"535 5.7.8 Error: authentication failed\r\n")
        _finish(peer)

    with serving(script) as server:
        result = login(_options(server, pki, mechanism="LOGIN"))
    answers = server.lines_after(b"AUTH LOGIN")
    assert result.outcome is Outcome.PROTOCOL, result.error
    assert f"more than {MAX_CHALLENGES} challenges" in (result.error or "")
    assert answers[MAX_CHALLENGES] == b"*"                      # cancelled, RFC 4954 §4
    assert len(answers) <= MAX_CHALLENGES + 2                   # the answers, "*", QUIT


def test_the_whole_exchange_is_bounded_in_time_not_only_each_reply(pki):
    """Each prompt arrives within the per-reply timeout, but all of them together do not."""
    timeout = 0.5

    def script(peer: Peer) -> None:
        _until_auth(peer, pki, "LOGIN")
        for _ in range(MAX_CHALLENGES):
            time.sleep(timeout * 0.6)
            peer.send(b"334 " + base64.b64encode(b"Hm?") + b"\r\n")
            if peer.line() == b"*":
                break
        _finish(peer)

    with serving(script) as server:
        result = login(_options(server, pki, mechanism="LOGIN", timeout=timeout))
    assert result.outcome is Outcome.CONNECT, result.error
    assert "during AUTH" in (result.error or "")
    assert len(server.lines_after(b"AUTH LOGIN")) < MAX_CHALLENGES


def test_a_535_echoing_the_credentials_is_masked_in_error_transcript_json_and_nagios(pki):
    """Issue: a 535 that echoes the AUTH line put the base64 credentials into stderr."""
    blob = base64.b64encode(b"\0centos7@phoenixknight.jp\0zaq12345").decode()

    def script(peer: Peer) -> None:
        line = _until_auth(peer, pki, "PLAIN")
        peer.send(b"535 5.7.8 rejected " + line + b" (password zaq12345)\r\n")
        _finish(peer)

    with serving(script) as server:
        result = login(_options(server, pki, mechanism="PLAIN"))
    assert result.outcome is Outcome.AUTH_FAILED
    outputs = {
        "error": result.error or "",
        "text": login_text(result),
        "json": json.dumps(login_json(result)),
        "nagios": nagios_line(result),
    }
    for where, output in outputs.items():
        assert blob not in output and "zaq12345" not in output, where
        assert "rejected AUTH PLAIN ********" in output, where
    assert blob in login_text(result, show_secrets=True)


@pytest.mark.parametrize(
    ("offered", "flag"),
    [
        # RFC 5802 §6: a client that can bind, offered no -PLUS, must not send "n"
        ("SCRAM-SHA-256", b"y,,"),
        # the user chose plain SCRAM although -PLUS is offered: no downgrade to report
        ("SCRAM-SHA-256 SCRAM-SHA-256-PLUS", b"n,,"),
    ],
)
def test_scram_gs2_flag_over_tls_follows_what_the_server_offers(pki, offered, flag):
    first_messages: list[bytes] = []

    def script(peer: Peer) -> None:
        line = _until_auth(peer, pki, offered)
        first_messages.append(base64.b64decode(line.split()[2]))
        peer.send(b"535 5.7.8 Error: authentication failed\r\n")
        _finish(peer)

    with serving(script) as server:
        login(_options(server, pki, mechanism="SCRAM-SHA-256"))
    assert first_messages and first_messages[0].startswith(flag + b"n=centos7@phoenixknight.jp,r=")
