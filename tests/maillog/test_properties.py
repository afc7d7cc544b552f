"""Arbitrary text and bytes never crash the parser, the sources or the pipeline."""

from __future__ import annotations

from hypothesis import assume, given, settings, strategies as st

from saslscope.maillog import analyze
from saslscope.maillog.parse import LineParser, Unparsed
from saslscope.maillog.sources import Warnings

from maillog_data import iter_lines

PREFIXES = ["", "Sep 17 12:49:26 mail postfix/smtpd[1]: ", "Sep 17 12:49:26 mail postfix/cleanup[2]: C3CD21F3E90: ",
            "2026-11-28T12:00:00Z mail postfix/qmgr[3]: C3CD21F3E90: ", "Sep 17 12:49:26 mail dovecot: imap-login: ",
            "{", "<13>Sep  7 12:49:26 mail postfix/submission/smtpd[4]: warning: ",
            "Sep 17 12:49:26 mail postfix/smtpd[1]: C3CD21F3E90: client="]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PREFIXES), st.binary(max_size=300))
def test_parser_survives_any_bytes(prefix, tail):
    result = LineParser().parse(prefix.encode() + tail)
    assert result is None or isinstance(result, Unparsed) or result.program


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PREFIXES), st.text(max_size=120)), max_size=30))
def test_pipeline_survives_any_text(pairs):
    lines = [p + t for p, t in pairs]
    a = analyze(lines=lines, keep=True)
    c = a.lines
    assert c.total == len(lines) == c.parsed + c.ignored + c.unparsed + c.outside_range
    a.summary(), a.logins(), a.failures(), a.trace("C3CD21F3E90")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_sources_survive_any_file(tmp_path_factory, blob):
    assume(not blob.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")))  # compressed: own test
    path = tmp_path_factory.mktemp("blob") / "log"
    path.write_bytes(blob)
    got = [text for _, _, text in iter_lines([str(path)], Warnings())]
    body = blob[:-1] if blob.endswith(b"\n") else blob
    expected = [p[:-1] if p.endswith(b"\r") else p for p in body.split(b"\n")] if blob else []
    assert got == expected


HEADERISH = st.text(alphabet="Sep 17 12:49:26 mail postfix/smtpd[1]: <>ID\x00é:[]-T0Z+", max_size=60)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["Sep 17 12:49:26 ", "Sep  7 12:49:26 ", "Sep 07 12:49:26 ", "Foo 17 12:49:26 ", ""]),
       HEADERISH, st.text(max_size=30))
def test_fast_header_split_agrees_with_the_regex(stamp, header, message):
    line = (stamp + header + message).encode()
    fast = LineParser(year=2026).split_header(line)
    slow = LineParser(year=2026)._split_header_regex(line)
    assert fast == slow


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab.[]:1 \u00e9", max_size=25))
def test_client_designation_split_agrees_with_the_regex(text):
    from saslscope.maillog.parse import NAMADDR_RE, split_namaddr

    raw = text.encode()
    m = NAMADDR_RE.match(raw)
    expected = (raw.decode(), "") if m is None else (m.group(1).decode(), m.group(2).decode("ascii", "replace"))
    assert split_namaddr(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.ip_addresses().map(str), st.text(alphabet="0123456789.:abcdefIPv", max_size=20)))
def test_loopback_check_agrees_with_ipaddress(text):
    import ipaddress

    from saslscope.maillog.correlate import is_loopback

    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        expected = False
    else:
        mapped = getattr(addr, "ipv4_mapped", None)
        expected = addr.is_loopback or (mapped is not None and mapped.is_loopback)
    assert is_loopback(text) == expected
