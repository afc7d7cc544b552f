"""The policy protocol parser: requests in any chunking, attributes of every Postfix version,
and everything Postfix would never send refused with one error type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saslscope.policy.protocol import MAX_REQUEST, PolicyParser, PolicyProtocolError, encode_action

#: requests captured from Postfix 3.7.11 (copied from shared/notes/captures/)
CAPTURES = Path(__file__).parent / "data"
REQUEST = b"request=smtpd_access_policy\nprotocol_state=RCPT\nsasl_username=alice@example.test\nclient_address=192.0.2.7\n\n"


def _capture(name: str = "postfix-3.7.11-capture-rcpt-data-eom.jsonl") -> list[bytes]:
    """The requests Postfix 3.7.11 really sent, as bytes on the wire."""
    lines = (CAPTURES / name).read_text().splitlines()
    return [("\n".join(json.loads(line)["attrs"]) + "\n\n").encode() for line in lines if line.strip()]


def test_real_postfix_requests_parse_in_any_chunking() -> None:
    stream = b"".join(_capture())
    expected = PolicyParser().receive_data(stream)
    assert len(expected) == len(_capture())
    assert expected[0].get("request") == "smtpd_access_policy"
    for size in (1, 2, 3, 7, 64):
        parser = PolicyParser()
        got = []
        for start in range(0, len(stream), size):
            got.extend(parser.receive_data(stream[start:start + size]))
        assert got == expected


def test_unknown_missing_empty_and_repeated_attributes() -> None:
    (request,) = PolicyParser().receive_data(
        b"request=smtpd_access_policy\nprotocol_state=end-of-message\nfuture_attribute=x\nsender=\n"
        b"recipient_count=3\nsasl_username=first\nsasl_username=second\nhelo_name=a=b\n\n")
    assert request.protocol_state == "END-OF-MESSAGE"
    assert request.get("sender") == "" and request.get("queue_id") == ""
    assert request.recipient_count == 3
    assert request.get("sasl_username") == "second"
    assert request.get("helo_name") == "a=b"
    assert "future_attribute=x helo_name=a=b" not in request.as_text()
    assert request.as_text().startswith("request=smtpd_access_policy protocol_state=end-of-message future_attribute=x")


def test_junk_recipient_count_is_zero_and_non_utf8_is_data() -> None:
    (request,) = PolicyParser().receive_data(
        b"request=smtpd_access_policy\nrecipient_count=99999999999999\nhelo_name=\xff\xfe\n\n")
    assert request.recipient_count == 0
    assert request.get("helo_name") == "\ufffd\ufffd"


@pytest.mark.parametrize("junk", [
    b"no equals sign\n\n",
    b"=value without a name\n\n",
    b"request=smtpd_access_policy\nname=with\0nul\n\n",
    b"protocol_state=RCPT\n\n",                       # not a policy request
    b"\n",                                            # an empty request
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",  # a TLS ClientHello
])
def test_what_postfix_never_sends_is_a_protocol_error_and_the_parser_stays_failed(junk: bytes) -> None:
    parser = PolicyParser()
    with pytest.raises(PolicyProtocolError):
        parser.receive_data(junk + (b"\n" if junk == b"\n" else b""))
    with pytest.raises(PolicyProtocolError):
        parser.receive_data(REQUEST)


def test_a_request_larger_than_the_limit_fails_before_it_is_buffered_whole() -> None:
    parser = PolicyParser()
    parser.receive_data(b"request=smtpd_access_policy\nccert_subject=")
    with pytest.raises(PolicyProtocolError, match="larger"):
        for _ in range(1024):  # a 1 MiB attribute in 1 KiB pieces
            parser.receive_data(b"A" * 1024)
    assert len(parser._buffer) == 0


def test_a_request_just_under_the_limit_is_accepted() -> None:
    head = b"request=smtpd_access_policy\nccert_subject="
    (request,) = PolicyParser().receive_data(head + b"A" * (MAX_REQUEST - len(head)) + b"\n\n")
    assert len(request.get("ccert_subject")) == MAX_REQUEST - len(head)


def test_eof_in_the_middle_of_a_request_drops_it_and_says_so() -> None:
    parser = PolicyParser()
    assert parser.receive_data(REQUEST[:-1]) == []
    assert parser.receive_data(b"") == []
    assert parser.partial


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_any_bytes_give_requests_or_a_protocol_error(chunks: list[bytes]) -> None:
    parser = PolicyParser()
    try:
        for chunk in chunks:
            for request in parser.receive_data(chunk):
                assert request.get("request") == "smtpd_access_policy"
    except PolicyProtocolError:
        pass


def test_encode_action_refuses_a_newline() -> None:
    assert encode_action("DUNNO") == b"action=DUNNO\n\n"
    with pytest.raises(ValueError):
        encode_action("HOLD x\naction=OK")
