from __future__ import annotations

import email
import email.policy

from saslscope.smtp.message import MessageSpec, body_type, build_message

BODY = "CRAM-MD5 テストに成功しました\n"


def test_utf8_body_is_8bit_and_byte_exact():
    raw = build_message(MessageSpec("centos7@phoenixknight.jp", ("test@example.com",), "CRAM-MD5 テスト", BODY), "client.test")
    assert BODY.replace("\n", "\r\n").encode("utf-8") in raw
    assert body_type(raw) == "8BITMIME"
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "CRAM-MD5 テスト"  # RFC 2047 encoded-word on the wire
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]
    assert parsed["Message-ID"].endswith("@client.test>") and parsed["Date"]
    assert parsed.get_content_type() == "text/plain" and parsed.get_content_charset() == "utf-8"


def test_ascii_message_needs_no_8bitmime():
    raw = build_message(MessageSpec("a@b.test", ("c@d.test",)), "[127.0.0.1]")
    assert body_type(raw) is None
    assert b"@127.0.0.1>" in raw  # Message-ID domain from an address literal


def test_smtputf8_when_an_address_needs_it():
    spec = MessageSpec("テスト@example.test", ("c@d.test",))
    assert spec.needs_smtputf8
    raw = build_message(spec, "client.test")
    assert "From: テスト@example.test".encode() in raw
    assert not MessageSpec("a@b.test", ("c@d.test",)).needs_smtputf8
