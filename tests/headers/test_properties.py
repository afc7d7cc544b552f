"""Arbitrary header text never raises anything; only HeaderInputError, and only for bad input."""

import io
import json

from hypothesis import given, settings, strategies as st

from saslscope.headers import HeaderInputError, analyze_source, analyze_text, parse_received
from saslscope.headers.authresults import parse_authentication_results, parse_received_spf, summarize_signature
from saslscope.headers.fields import decode_words
from saslscope.headers.report import to_dict
from saslscope.headers.tokens import tokenize

# Text built from the pieces that steer the parsers (clause keywords, comment and quote
# delimiters, encoded-word markers, control and non-ASCII characters).
_PIECES = [
    *"()<>[]\";:=.@ \t\n\\/?-_abcAB019",
    "from ", "by ", "with ", "id ", "for ", "tls ", "ESMTPSA", "=?UTF-8?B?", "?=", "Authenticated sender:",
    "using TLSv1.2 with cipher", "\r\n", "Received: ", "\x00", "é", "\u2028", "[IPv6:::1]", "(256/256 bits)",
]
header_text = st.lists(st.sampled_from(_PIECES), max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(header_text, st.text(max_size=300)))
def test_received_parser_never_raises(value):
    hop = parse_received(value)
    assert hop.raw == " ".join(value.split())
    assert isinstance(hop.unrecognised, list)


@settings(max_examples=300, deadline=None)
@given(st.one_of(header_text, st.text(max_size=300)))
def test_verdict_parsers_never_raise(value):
    parse_authentication_results(value)
    parse_authentication_results(value, arc=True)
    parse_received_spf(value)
    summarize_signature(value)
    decode_words(value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Received", "Authentication-Results", "Received-SPF",
                                           "ARC-Seal", "ARC-Authentication-Results", "DKIM-Signature",
                                           "Subject", "X-Junk"]), header_text), max_size=8))
def test_whole_headers_analyse_and_serialise(fields):
    # fold every line break so each generated value stays one field (RFC 5322 §2.2.3)
    text = "".join(f"{name}: {value.replace(chr(13), '').replace(chr(10), chr(10) + ' ')}\n" for name, value in fields)
    report = to_dict(analyze_text(text))
    json.dumps(report)                     # always serialisable
    assert len(report["hops"]) == sum(name == "Received" for name, _ in fields)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_a_report_or_header_input_error(data):
    try:
        json.dumps(to_dict(analyze_source("-", stdin=io.BytesIO(data))))
    except HeaderInputError as error:
        assert "\n" not in str(error)


@given(header_text)
def test_tokens_keep_every_non_space_character(value):
    value = value.replace("\\", "")          # quoted-pairs are the one thing tokens unescape
    rebuilt = "".join(t.source() for t in tokenize(value))
    assert "".join(rebuilt.split()) == "".join(value.split())
