"""Reply parsing (RFC 5321 §4.2, RFC 3463) and command formatting."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from saslscope.smtp.codec import (
    REPLY_LINE_LIMIT,
    ReplyParser,
    dot_stuff,
    format_address,
    format_command,
)
from saslscope.smtp.errors import InvalidCommand, ProtocolViolation

WRITEUP_EHLO = (
    b"250-ik1-331-25649.vs.sakura.ne.jp\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
    b"250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
)


def test_multiline_reply_from_the_writeup():
    [reply] = ReplyParser().feed(WRITEUP_EHLO)
    assert reply.code == 250
    assert reply.lines == ("ik1-331-25649.vs.sakura.ne.jp", "PIPELINING", "SIZE 10240000", "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME")
    assert reply.raw == WRITEUP_EHLO


def test_reply_split_across_reads_and_two_replies_in_one_read():
    parser = ReplyParser()
    assert parser.feed(b"250-first\r\n25") == []
    assert parser.buffered == b"250-first\r\n25"
    first, second = parser.feed(b"0 last\r\n354 go\r\n")
    assert (first.code, first.lines) == (250, ("first", "last"))
    assert second.code == 354 and parser.buffered == b""


@pytest.mark.parametrize(
    ("line", "enhanced"),
    [
        (b"235 2.7.0 Authentication successful\r\n", "2.7.0"),
        (b"535 5.7.8 Error: authentication failed\r\n", "5.7.8"),
        (b"250 2.0.0 Ok: queued as A4FCE204384E\r\n", "2.0.0"),
        (b"250 Ok\r\n", None),
        (b"250 5.1.1 class disagrees with the reply\r\n", None),  # RFC 3463 §2
        (b"250 2.1.0.extra\r\n", None),
        (b"220\r\n", None),  # a code alone is a valid reply line
    ],
)
def test_enhanced_status_code(line, enhanced):
    [reply] = ReplyParser().feed(line)
    assert reply.enhanced_status == enhanced


def test_bare_lf_is_tolerated():
    [reply] = ReplyParser().feed(b"220 mail.test ESMTP\n")
    assert reply.lines == ("mail.test ESMTP",)


@pytest.mark.parametrize(
    "data",
    [b"hello\r\n", b"22 short\r\n", b"2x0 letters\r\n", b"620 no such class\r\n", b"220_under\r\n", b"250-a\r\n550 b\r\n"],
)
def test_malformed_lines_raise_and_break_the_stream(data):
    parser = ReplyParser()
    with pytest.raises(ProtocolViolation):
        parser.feed(data)
    with pytest.raises(ProtocolViolation, match="already broken"):
        parser.feed(b"250 ok\r\n")


def test_overlong_line_is_refused_before_its_end_arrives():
    parser = ReplyParser()
    with pytest.raises(ProtocolViolation, match="longer than"):
        parser.feed(b"250 " + b"a" * REPLY_LINE_LIMIT)


def test_undecodable_bytes_are_kept_visible():
    [reply] = ReplyParser().feed(b"250 caf\xe9\r\n")
    assert reply.lines == ("caf\\xe9",)


@given(st.lists(st.tuples(st.sampled_from([220, 235, 250, 334, 354, 421, 535]), st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40), min_size=1, max_size=5)), min_size=1, max_size=4), st.integers(1, 50))
def test_any_wellformed_stream_parses_back_whatever_the_read_sizes(replies, chunk):
    wire = b"".join(
        b"".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{text}\r\n".encode() for i, text in enumerate(lines))
        for code, lines in replies
    )
    parser = ReplyParser()
    parsed = []
    for start in range(0, len(wire), chunk):
        parsed += parser.feed(wire[start : start + chunk])
    assert [(r.code, list(r.lines)) for r in parsed] == [(code, lines) for code, lines in replies]
    assert b"".join(r.raw for r in parsed) == wire


@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_replies_or_a_protocol_violation_only(data):
    try:
        ReplyParser().feed(data)
    except ProtocolViolation:
        pass


def test_format_command():
    assert format_command("EHLO", "client.test") == b"EHLO client.test\r\n"
    assert format_command("QUIT") == b"QUIT\r\n"
    with pytest.raises(InvalidCommand, match="CR or LF"):
        format_command("MAIL", "FROM:<a@b>\r\nRCPT TO:<x@y>")
    with pytest.raises(InvalidCommand, match="exceeds"):
        format_command("EHLO", "x" * 600)
    assert len(format_command("AUTH", "PLAIN " + "A" * 1000, limit=12288)) == 1013


def test_format_address():
    assert format_address("a@b.test") == "<a@b.test>"
    assert format_address("") == "<>"
    with pytest.raises(InvalidCommand):
        format_address("a@b> NOTIFY=NEVER")


def test_dot_stuffing_rfc5321_4_5_2():
    assert dot_stuff(b"a\n.b\n..c\n") == b"a\r\n..b\r\n...c\r\n.\r\n"
    assert dot_stuff(b"no newline") == b"no newline\r\n.\r\n"
    assert dot_stuff(b"x\r\n.\r\n") == b"x\r\n..\r\n.\r\n"
