from __future__ import annotations

from saslscope.smtp.capabilities import Capabilities, describe_keyword
from saslscope.smtp.codec import ReplyParser


def _caps(*lines: str) -> Capabilities:
    wire = "".join(f"250{'-' if i < len(lines) - 1 else ' '}{line}\r\n" for i, line in enumerate(lines))
    [reply] = ReplyParser().feed(wire.encode())
    return Capabilities.from_reply(reply)


def test_postfix_submission_after_tls():
    caps = _caps("mail.test", "PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING")
    assert caps.greeting == "mail.test"
    assert caps.auth_mechanisms == ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256")
    assert caps.size_limit == 10_240_000
    assert "dsn" in caps and "STARTTLS" not in caps
    described = dict(caps.describe())
    assert described["SIZE 10240000"].startswith("messages up to 10.2 MB")
    assert "RFC 2920" in described["PIPELINING"]


def test_old_auth_equals_spelling_merges_and_deduplicates():
    caps = _caps("mx.test", "AUTH LOGIN PLAIN", "AUTH=LOGIN PLAIN")
    assert caps.auth_mechanisms == ("LOGIN", "PLAIN")


def test_size_without_limit_and_unknown_keywords():
    caps = _caps("mx.test", "SIZE", "X-EXPS GSSAPI", "FROBNICATE")
    assert caps.size_limit == 0
    assert describe_keyword("SIZE", ()) .startswith("announces message sizes but sets no fixed limit")
    assert dict(caps.describe())["X-EXPS GSSAPI"] == "a vendor extension (not standardised)"
    assert dict(caps.describe())["FROBNICATE"] == "an extension saslscope does not know"
    assert caps.auth_mechanisms == ()


def test_every_keyword_of_issue_3_has_a_meaning():
    for keyword in ("PIPELINING", "DSN", "SMTPUTF8", "CHUNKING", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS", "REQUIRETLS"):
        assert "RFC" in describe_keyword(keyword, ()), keyword
