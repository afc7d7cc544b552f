"""The client against a scripted server: honest sessions, then every hostile case of issue 3."""

from __future__ import annotations

import base64
import email
import email.policy
import time
from dataclasses import replace

import pytest

from saslscope.sasl.base import ClientCredentials
from saslscope.smtp.client import LoginOptions, QuitAfter, login, login_each_mechanism
from saslscope.smtp.errors import Outcome
from saslscope.smtp.findings import findings
from saslscope.smtp.message import MessageSpec
from saslscope.smtp.probe import probe
from saslscope.smtp.session import SessionOptions
from saslscope.smtp.transcript import Direction, Secrecy
from saslscope.smtp.transport import TlsMode, TlsSettings
from tests.smtp.hostile_server import Behaviour, Peer, honest_script, server_context, serving

GOOD = ClientCredentials("centos7@phoenixknight.jp", "zaq12345")
JAPANESE_BODY = "CRAM-MD5 テストに成功しました\n"


def _options(server, pki, **overrides) -> LoginOptions:
    fields = dict(
        host=server.host,
        port=server.port,
        tls_mode=TlsMode.STARTTLS,
        tls=TlsSettings(cafile=str(pki.ca_cert_path)),
        helo="client.test",
        timeout=5.0,
        credentials=GOOD,
    )
    fields.update(overrides)
    return LoginOptions(**fields)


def _behaviour(pki, **overrides) -> Behaviour:
    return Behaviour(tls_context=server_context(str(pki.chain_path), str(pki.key_path)), **overrides)


# -- honest server ----------------------------------------------------------------------


def test_cram_md5_login_and_message_arrive_byte_exact(pki):
    behaviour = _behaviour(pki)
    with serving(honest_script(behaviour)) as server:
        spec = MessageSpec("centos7@phoenixknight.jp", ("test@example.com",), "CRAM-MD5 test", JAPANESE_BODY)
        result = login(_options(server, pki, mechanism="CRAM-MD5", message=spec))
    assert result.outcome is Outcome.OK, result.error
    assert result.authenticated and result.mechanism == "CRAM-MD5"
    assert result.auth_reply is not None and result.auth_reply.enhanced_status == "2.7.0"
    assert result.queue_id == "A4FCE204384E"
    assert result.tls is not None and result.tls.verified is True
    # the server parsed the message independently: body and subject intact
    received = email.message_from_bytes(behaviour.messages[0], policy=email.policy.default)
    assert received["Subject"] == "CRAM-MD5 test"
    assert received.get_content().replace("\r\n", "\n") == JAPANESE_BODY  # CRLF on the wire
    assert JAPANESE_BODY.replace("\n", "\r\n").encode("utf-8") in behaviour.messages[0]
    mail_from = behaviour.envelopes[0][0]
    assert mail_from.startswith(b"MAIL FROM:<centos7@phoenixknight.jp>") and b"BODY=8BITMIME" in mail_from
    # everything after STARTTLS is marked as under TLS
    sent = [e for e in result.events if e.direction is Direction.SENT]
    assert [e.tls for e in sent][:2] == [False, False]  # EHLO, STARTTLS
    assert all(e.tls for e in sent[2:])


def test_default_mechanism_is_the_strongest_advertised(pki):
    with serving(honest_script(_behaviour(pki))) as server:
        result = login(_options(server, pki))
    assert result.ok and result.mechanism == "SCRAM-SHA-256"
    assert result.server_verified is True
    assert any(e.direction is Direction.NOTE and e.data.startswith(b"mechanism SCRAM-SHA-256: the strongest") for e in result.events)
    # the server's final message is answered with an empty line, not "=" (RFC 4954 §4)
    sent = [e for e in result.events if e.direction is Direction.SENT]
    empty = sent[[e.data for e in sent].index(b"QUIT\r\n") - 1]
    assert empty.data == b"\r\n" and empty.secrecy is None
    assert all(e.secrecy is Secrecy.OFFLINE_CRACKABLE for e in sent if e.sasl is not None and e.sasl.data)


def test_scram_with_a_wrong_password_is_rejected(pki):
    with serving(honest_script(_behaviour(pki))) as server:
        result = login(_options(server, pki, credentials=ClientCredentials(GOOD.username, "wrong")))
    assert result.outcome is Outcome.AUTH_FAILED and not result.authenticated


def test_plain_is_masked_and_shown_only_when_asked(pki):
    with serving(honest_script(_behaviour(pki))) as server:
        result = login(_options(server, pki, mechanism="PLAIN"))
    assert result.ok
    blob = base64.b64encode(b"\0centos7@phoenixknight.jp\0zaq12345").decode()
    auth = next(e for e in result.events if e.data.startswith(b"AUTH PLAIN"))
    assert auth.secrecy is Secrecy.REVEALS_SECRET
    assert blob not in auth.text() and auth.text().startswith("AUTH PLAIN ")
    assert blob in auth.text(show_secrets=True)
    assert auth.data == f"AUTH PLAIN {blob}\r\n".encode()  # the record itself is exact


def test_login_mechanism_masks_both_answers(pki):
    with serving(honest_script(_behaviour(pki))) as server:
        result = login(_options(server, pki, mechanism="LOGIN"))
    assert result.ok
    answers = [e for e in result.events if e.direction is Direction.SENT and e.secrecy]
    assert len(answers) == 2 and all("zaq" not in "".join(e.explanation()) for e in answers)
    assert any("zaq12345" in "".join(e.explanation(show_secrets=True)) for e in answers)


def test_wrong_password_is_rejected_without_fallback(pki):
    behaviour = _behaviour(pki)
    with serving(honest_script(behaviour)) as server:
        bad = ClientCredentials("centos7@phoenixknight.jp", "wrong")
        result = login(_options(server, pki, mechanism="CRAM-MD5", credentials=bad))
    assert result.outcome is Outcome.AUTH_FAILED
    assert "535 5.7.8" in result.error
    auth_commands = [line for line in server.peers[0].received if line.upper().startswith(b"AUTH")]
    assert auth_commands == [b"AUTH CRAM-MD5"]  # one attempt, no cascade to PLAIN/LOGIN
    assert server.peers[0].received[-1] == b"QUIT"


def test_mech_all_uses_one_fresh_connection_per_mechanism(pki):
    with serving(honest_script(_behaviour(pki))) as server:
        discovery, results = login_each_mechanism(_options(server, pki))
    assert discovery.ok
    usable = [r for r in results if r.outcome is not Outcome.REFUSED_BY_POLICY]
    assert [r.mechanism for r in usable] == ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"]
    assert all(r.authenticated for r in usable)
    assert len(server.peers) == 5  # the token mechanisms, without a token, never connect  # discovery + one per mechanism
    for peer in server.peers[1:]:
        assert sum(line.upper().startswith(b"AUTH") for line in peer.received) == 1


def test_password_mechanism_refused_over_cleartext_without_connecting(pki):
    with serving(honest_script(_behaviour(pki))) as server:
        result = login(_options(server, pki, tls_mode=TlsMode.NONE, mechanism="CRAM-MD5"))
    assert result.outcome is Outcome.REFUSED_BY_POLICY
    assert "--allow-cleartext-auth" in result.error
    assert server.peers == []


def test_cleartext_auth_when_explicitly_allowed(pki):
    behaviour = _behaviour(pki, ehlo_before_tls=("AUTH PLAIN CRAM-MD5",))
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki, tls_mode=TlsMode.NONE, allow_cleartext_auth=True))
    assert result.ok and result.tls is None and result.mechanism == "CRAM-MD5"
    assert not any(e.tls for e in result.events)


def test_quit_after_tls_sends_no_auth(pki):
    with serving(honest_script(_behaviour(pki))) as server:
        result = login(_options(server, pki, quit_after=QuitAfter.TLS))
    assert result.ok and not result.authenticated
    assert not any(line.startswith(b"AUTH") for line in server.peers[0].received)


def _has_ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_implicit_tls_over_ipv6(pki):
    context = server_context(str(pki.chain_path), str(pki.key_path))
    with serving(honest_script(Behaviour()), host="::1", implicit_tls=context) as server:
        result = login(_options(server, pki, host="::1", tls_mode=TlsMode.IMPLICIT))
    assert result.ok, result.error
    assert result.peer is not None and result.peer[0] == "::1"
    assert all(e.tls for e in result.events if e.direction is not Direction.NOTE)


# -- hostile server ---------------------------------------------------------------------


def test_starttls_injection_ends_the_session_and_nothing_is_sent(pki):
    behaviour = _behaviour(pki, starttls_reply=b"220 2.0.0 Ready to start TLS\r\n250-injected\r\n250 AUTH PLAIN\r\n")
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki, mechanism="PLAIN"))
    assert result.outcome is Outcome.PROTOCOL
    assert "STARTTLS injection" in result.error
    assert server.lines_after(b"STARTTLS") == []
    assert result.tls is None and not result.authenticated


def _slow_injection(pki):
    context = server_context(str(pki.chain_path), str(pki.key_path))

    def script(peer: Peer) -> None:
        peer.send(b"220 hostile.test ESMTP\r\n")
        peer.expect("EHLO")
        peer.send(b"250-hostile.test\r\n250 STARTTLS\r\n")
        peer.expect("STARTTLS")
        peer.send(b"220 Ready\r\n")
        time.sleep(0.2)  # the injected bytes come in a separate segment, later
        peer.send(b"250 injected\r\n")
        peer.starttls(context)

    return script


def test_late_injection_never_reaches_the_session(pki):
    # Bytes arriving after our check land inside the TLS handshake: it fails; they are
    # never read as SMTP, and no credentials are sent.
    with serving(_slow_injection(pki)) as server:
        result = login(_options(server, pki, mechanism="PLAIN"))
    assert result.outcome in (Outcome.TLS, Outcome.PROTOCOL)
    assert not any(b"injected" in e.data for e in result.events)


def test_auth_offered_only_before_tls(pki):
    behaviour = _behaviour(
        pki,
        ehlo_before_tls=("STARTTLS", "AUTH PLAIN LOGIN"),
        ehlo_after_tls=("PIPELINING", "8BITMIME"),
    )
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki, mechanism="PLAIN"))
        probed = probe(SessionOptions(server.host, server.port, TlsMode.STARTTLS, TlsSettings(cafile=str(pki.ca_cert_path)), helo="client.test", timeout=5))
    assert result.outcome is Outcome.REFUSED_BY_POLICY  # like a mechanism not offered: exit 2
    assert "does not offer AUTH after STARTTLS" in result.error
    assert not any(line.startswith(b"AUTH") for line in server.peers[0].received)
    codes = {f.code for f in findings(probed)}
    assert {"auth-before-tls", "cleartext-password-auth"} <= codes


def test_certificate_for_the_wrong_host(pki, wrong_host_pki):
    behaviour = _behaviour(wrong_host_pki)
    with serving(honest_script(behaviour)) as server:
        options = _options(server, wrong_host_pki, mechanism="PLAIN")
        result = login(options)
        probed = probe(options)
    assert result.outcome is Outcome.TLS
    assert "mismatch" in result.error.lower()
    assert not any(line.startswith(b"AUTH") for line in server.peers[0].received)
    # probe shows what the server presented, from a second, unverified connection
    assert probed.outcome is Outcome.TLS and probed.verification_error
    assert probed.tls is not None and probed.tls.verified is False
    assert "wrong.example" in probed.tls.certificates()[0].subject
    assert "certificate-name-mismatch" in {f.code for f in findings(probed)}


def test_untrusted_certificate_fails_verification(pki, wrong_host_pki):
    # the server's CA is not the one we trust
    with serving(honest_script(_behaviour(pki))) as server:
        result = login(_options(server, wrong_host_pki))
        probed = probe(_options(server, wrong_host_pki))
    assert result.outcome is Outcome.TLS and "certificate verification failed" in result.error
    assert "certificate-untrusted" in {f.code for f in probed.findings}


def test_server_closes_mid_auth(pki):
    with serving(honest_script(_behaviour(pki, close_mid_auth=True))) as server:
        result = login(_options(server, pki, mechanism="CRAM-MD5"))
    assert result.outcome is Outcome.CONNECT
    assert "during AUTH" in result.error and "closed" in result.error


@pytest.mark.parametrize(
    ("banner", "complaint"),
    [
        (b"hello there\r\n", "malformed reply line"),
        (b"220-first\r\n221 second\r\n", "code changed"),
        (b"2200 no separator\r\n", "no space or hyphen"),
        (b"220 " + b"x" * 10000 + b"\r\n", "longer than"),
        (b"220-" + b"y" * 10000, "longer than"),
    ],
)
def test_malformed_and_overlong_replies(pki, banner, complaint):
    def script(peer: Peer) -> None:
        peer.send(banner)
        peer.line()  # wait for the client to hang up

    with serving(script) as server:
        result = login(_options(server, pki))
    assert result.outcome is Outcome.PROTOCOL
    assert complaint in result.error
    assert server.peers[0].received == []  # after a framing error, nothing more is sent


def test_non_responding_server_times_out(pki):
    def script(peer: Peer) -> None:
        peer.line()  # never greets; returns when the client gives up

    with serving(script) as server:
        result = login(_options(server, pki, timeout=0.3))
    assert result.outcome is Outcome.CONNECT
    assert "no reply from the server within 0.3 s" in result.error


def test_a_server_dripping_bytes_cannot_hold_the_client_past_the_timeout(pki):
    drip = b"220 " + b"x" * 100
    sent: list[int] = []

    def script(peer: Peer) -> None:
        for byte in drip:  # 5 s in all, one byte every 50 ms
            peer.send(bytes([byte]))
            sent.append(byte)
            time.sleep(0.05)

    with serving(script) as server:
        result = login(_options(server, pki, timeout=0.5))
    assert result.outcome is Outcome.CONNECT and "no reply from the server within 0.5 s" in result.error
    assert len(sent) < len(drip)  # the client hung up before the drip ended


def test_connection_refused():
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = login(LoginOptions("127.0.0.1", port, timeout=2, credentials=GOOD))
    assert result.outcome is Outcome.CONNECT and "refused" in result.error


def test_implicit_tls_against_a_cleartext_port_says_try_starttls(pki):
    # whether the greeting arrives before our ClientHello or inside the handshake, the
    # answer names the likely cause
    with serving(honest_script(_behaviour(pki))) as server:
        result = login(_options(server, pki, tls_mode=TlsMode.IMPLICIT))
    assert result.outcome is Outcome.TLS and "try --starttls" in result.error
    assert not any(line.startswith(b"AUTH") for line in server.peers[0].received)


def test_starttls_against_an_implicit_tls_port_says_try_tls(pki):
    context = server_context(str(pki.chain_path), str(pki.key_path))
    with serving(honest_script(Behaviour()), implicit_tls=context) as server:
        result = login(_options(server, pki, timeout=0.3))
    assert result.outcome is Outcome.CONNECT and "try --tls" in result.error


def test_dsn_and_smtputf8_parameters(pki):
    behaviour = _behaviour(pki)
    spec = MessageSpec(
        "centos7@phoenixknight.jp",
        ("テスト@example.test",),
        dsn_notify=("SUCCESS", "FAILURE"),
        dsn_ret="HDRS",
        dsn_envid="id+1=2",
    )
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki, message=spec))
    assert result.ok, result.error
    mail, rcpt = behaviour.envelopes[0]
    parameters = mail.split()[2:]
    assert {b"SMTPUTF8", b"BODY=8BITMIME", b"RET=HDRS", b"ENVID=id+2B1+3D2"} <= set(parameters)  # RFC 3461 §4 xtext
    size = int(next(p for p in parameters if p.startswith(b"SIZE="))[5:])
    assert size == len(behaviour.messages[0])  # RFC 1870: the size we announced is the size we sent
    assert rcpt == "RCPT TO:<テスト@example.test> NOTIFY=SUCCESS,FAILURE".encode()


def test_smtputf8_address_without_server_support_is_refused_before_mail(pki):
    behaviour = _behaviour(pki, ehlo_after_tls=("AUTH CRAM-MD5", "8BITMIME"))
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki, message=MessageSpec("a@b.test", ("テスト@example.test",))))
    assert result.outcome is Outcome.SMTP_REFUSED and "SMTPUTF8" in result.error
    assert not any(line.startswith(b"MAIL") for line in server.peers[0].received)


def test_quit_after_rcpt_sends_no_data(pki):
    behaviour = _behaviour(pki)
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki, quit_after=QuitAfter.RCPT, message=MessageSpec("a@b.test", ("c@d.test",))))
    assert result.ok and result.authenticated and result.queue_id is None
    verbs = [line.split(b" ")[0] for line in server.lines_after(b"AUTH") if line[:4] in (b"MAIL", b"RCPT", b"DATA", b"QUIT")]
    assert verbs == [b"MAIL", b"RCPT", b"QUIT"]


def test_scram_plus_binds_to_the_tls_session(pki):
    # the server's end of the binding is computed here from the certificate file, not by saslscope
    import hashlib
    import ssl

    with open(pki.cert_path) as handle:
        end_point = hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).digest()
    behaviour = _behaviour(pki, ehlo_after_tls=("AUTH SCRAM-SHA-256 SCRAM-SHA-256-PLUS",), server_end_point=end_point)
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki))
        forged = _behaviour(pki, ehlo_after_tls=("AUTH SCRAM-SHA-256-PLUS",), server_end_point=b"\0" * 32)
    assert result.ok, result.error
    assert result.mechanism == "SCRAM-SHA-256-PLUS" and result.server_verified is True
    with serving(honest_script(forged)) as server:
        mismatch = login(_options(server, pki))
    assert mismatch.outcome is Outcome.AUTH_FAILED  # a different TLS endpoint: the binding fails


def test_probe_of_a_server_without_starttls_still_reports_its_findings(pki):
    behaviour = _behaviour(pki, ehlo_before_tls=("PIPELINING", "AUTH PLAIN LOGIN"))
    with serving(honest_script(behaviour)) as server:
        options = SessionOptions(server.host, server.port, TlsMode.STARTTLS, TlsSettings(cafile=str(pki.ca_cert_path)), timeout=5)
        result = probe(options)
        cleartext = probe(replace(options, tls_mode=TlsMode.NONE))
    assert result.outcome is Outcome.TLS and "does not offer STARTTLS" in result.error
    codes = {f.code for f in result.findings}
    assert codes == {"no-starttls", "auth-before-tls", "cleartext-password-auth"}
    assert cleartext.ok and {f.code for f in cleartext.findings} == codes
    assert cleartext.mechanism_checks == []  # never start a mechanism without TLS


def test_an_initial_response_too_long_for_the_auth_line_follows_an_empty_334(pki):
    # RFC 4954 §4: AUTH lines are limited to 12288 octets; a big token goes after "334 "
    behaviour = _behaviour(pki)
    big_token = "ya29." + "t" * 12000
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki, mechanism="XOAUTH2", credentials=ClientCredentials(GOOD.username, token=big_token)))
    assert result.outcome is Outcome.AUTH_FAILED  # the server does not know this token...
    received = server.peers[0].received
    auth_index = received.index(b"AUTH XOAUTH2")  # ...but it got it, after an empty 334
    assert base64.b64decode(received[auth_index + 1]).startswith(b"user=centos7@phoenixknight.jp\x01auth=Bearer ya29.ttt")


def test_bad_addresses_and_helo_are_refused_before_connecting(pki):
    with serving(honest_script(_behaviour(pki))) as server:
        bad_to = login(_options(server, pki, message=MessageSpec("a@b.test", ("x@y.test> NOTIFY=NEVER",))))
        bad_helo = login(_options(server, pki, helo="client\r\nRSET"))
    assert bad_to.outcome is Outcome.REFUSED_BY_POLICY and "not a bare mail address" in bad_to.error
    assert bad_helo.outcome is Outcome.REFUSED_BY_POLICY and "CR or LF" in bad_helo.error
    assert server.peers == []


def _legacy_server_context(pki):
    import ssl
    import warnings

    context = server_context(str(pki.chain_path), str(pki.key_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.set_ciphers("DEFAULT@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


@pytest.mark.parametrize("legacy", [False, True])
def test_probe_finds_out_whether_tls_1_0_and_1_1_are_still_accepted(pki, legacy):
    behaviour = Behaviour(tls_context=_legacy_server_context(pki) if legacy else server_context(str(pki.chain_path), str(pki.key_path)))
    with serving(honest_script(behaviour)) as server:
        result = probe(SessionOptions(server.host, server.port, TlsMode.STARTTLS, TlsSettings(cafile=str(pki.ca_cert_path)), timeout=5))
    assert result.ok and result.legacy_tls_checked
    assert result.tls is not None and result.tls.protocol == "TLSv1.3"  # the main connection is modern
    assert len(server.peers) == 2
    if legacy:
        assert result.legacy_tls_accepted in ("TLSv1", "TLSv1.1")
        assert "old-tls-accepted" in {f.code for f in result.findings}
    else:
        assert result.legacy_tls_accepted is None
        assert "old-tls-accepted" not in {f.code for f in result.findings}


def test_without_8bitmime_the_body_goes_quoted_printable_and_still_decodes_exactly(pki):
    behaviour = _behaviour(pki, ehlo_after_tls=("AUTH CRAM-MD5", "SIZE 1000000"))
    spec = MessageSpec("centos7@phoenixknight.jp", ("test@example.com",), "CRAM-MD5 test", JAPANESE_BODY)
    with serving(honest_script(behaviour)) as server:
        result = login(_options(server, pki, message=spec))
    assert result.ok, result.error
    raw = behaviour.messages[0]
    assert raw.isascii() and b"Content-Transfer-Encoding: quoted-printable" in raw
    assert b"BODY=8BITMIME" not in behaviour.envelopes[0][0]
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received.get_content().replace("\r\n", "\n") == JAPANESE_BODY
