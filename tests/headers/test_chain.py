"""Reading messages (file, mbox, stdin), ordering hops, delays, skew, decoding, malformed lines."""

import io
import mailbox
from pathlib import Path

import pytest

from saslscope.headers import HeaderInputError, analyze_source, analyze_text
from saslscope.headers.fields import decode_words, split_header_block
from saslscope.headers.report import to_dict

SAMPLES = Path(__file__).parent / "samples"

SKEWED = """\
Received: from b by c with ESMTP id 3; Mon, 17 Sep 2018 12:00:00 +0000
Received: from a by b with ESMTP id 2; Mon, 17 Sep 2018 12:10:00 +0000
Received: from x by a with ESMTPA id 1; Mon, 17 Sep 2018 12:05:00 +0000
Subject: skew

body
"""


def test_clock_skew_flagged_beyond_tolerance_only():
    analysis = analyze_text(SKEWED, skew_tolerance=60)
    assert [h.queue_id for h in analysis.hops] == ["1", "2", "3"]
    assert [h.delay_seconds for h in analysis.hops] == [None, 300.0, -600.0]
    assert [h.clock_skew for h in analysis.hops] == [False, False, True]
    assert [h.clock_skew for h in analyze_text(SKEWED, skew_tolerance=3600).hops] == [False, False, False]


def test_delay_skips_a_hop_without_date():
    text = ("Received: from b by c; Mon, 17 Sep 2018 12:00:30 +0000\n"
            "Received: from a by b (no date here)\n"
            "Received: from x by a; Mon, 17 Sep 2018 12:00:00 +0000\n")
    hops = analyze_text(text).hops
    assert [h.delay_seconds for h in hops] == [None, None, 30.0]


def test_oldest_authenticated_hop_is_the_submission():
    text = ("Received: from relay by mx with ESMTPSA id 2; Mon, 17 Sep 2018 12:00:01 +0000\n"
            "Received: from client (c [192.0.2.7]) by relay with ESMTPA id 1; Mon, 17 Sep 2018 12:00:00 +0000\n")
    analysis = analyze_text(text)
    assert analysis.submission.queue_id == "1"
    assert analysis.submission.from_ip == "192.0.2.7"


def test_no_authenticated_hop_gives_null_submission():
    report = to_dict(analyze_text("Received: from a (a [192.0.2.1]) by b with ESMTP id Q; Mon, 17 Sep 2018 12:00:00 +0000\n"))
    assert report["submission"] is None
    assert report["hops"][0]["authenticated"] is False


def test_rfc2047_subject_and_from_are_decoded():
    text = ("Subject: =?UTF-8?B?Q1JBTS1NRDUg44OG44K544OI?=\n"
            "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\n")
    summary = analyze_text(text).summary
    assert summary["Subject"] == "CRAM-MD5 テスト"
    assert summary["From"] == "André <andre@example.org>"


def test_broken_encoded_word_is_left_as_is():
    assert decode_words("=?no-such-charset?Q?abc?=") == "=?no-such-charset?Q?abc?="
    assert decode_words("=?UTF-8?B?####?=") == "=?UTF-8?B?####?="


def test_folding_is_kept_in_value_and_removed_when_unfolded():
    block = split_header_block("Received: from a\n\tby b\n  with ESMTP; Mon, 17 Sep 2018 12:00:00 +0000\n")
    (field,) = block.fields
    assert field.value == "from a\n\tby b\n  with ESMTP; Mon, 17 Sep 2018 12:00:00 +0000"
    assert field.unfolded == "from a by b with ESMTP; Mon, 17 Sep 2018 12:00:00 +0000"


def test_malformed_lines_are_kept_not_dropped():
    block = split_header_block("  orphan continuation\nSubject: ok\nthis is not a header\nTo: x\n\nbody: no\n")
    assert [f.name for f in block.fields] == ["Subject", "To"]
    assert block.malformed == [(1, "  orphan continuation"), (3, "this is not a header")]


def test_header_block_ends_at_first_empty_line():
    block = split_header_block("Subject: a\n\nReceived: from body by body; Mon, 17 Sep 2018 12:00:00 +0000\n")
    assert block.get_all("Received") == []


def test_crlf_line_endings():
    analysis = analyze_text("Received: from a (a [192.0.2.1])\r\n by b with ESMTPSA id Q;\r\n"
                            " Mon, 17 Sep 2018 12:00:00 +0000\r\n\r\nbody\r\n")
    assert analysis.submission.queue_id == "Q"


def test_mbox_message_by_index(tmp_path):
    path = tmp_path / "box.mbox"
    box = mailbox.mbox(str(path))
    box.add(b"Subject: first\nReceived: from a by b with ESMTP id ONE; Mon, 17 Sep 2018 12:00:00 +0000\n\nx\n")
    box.add((SAMPLES / "writeup.eml").read_bytes().split(b"\n", 1)[1])   # drop Thunderbird's From line
    box.flush()
    box.close()
    assert analyze_source(str(path), index=0).hops[0].queue_id == "ONE"
    assert analyze_source(str(path), index=1).submission.queue_id == "A4FCE204384E"
    assert analyze_source(str(path), index=-1).submission.queue_id == "A4FCE204384E"
    with pytest.raises(HeaderInputError, match=r"out of range.*2 message"):
        analyze_source(str(path), index=2)


def test_stdin():
    data = (SAMPLES / "writeup.eml").read_bytes()
    assert analyze_source("-", stdin=io.BytesIO(data)).submission.queue_id == "A4FCE204384E"
    with pytest.raises(HeaderInputError, match="stdin is empty"):
        analyze_source("-", stdin=io.BytesIO(b"  \n"))
    with pytest.raises(HeaderInputError, match="--index"):
        analyze_source("-", index=0, stdin=io.BytesIO(data))


def test_unreadable_and_headerless_inputs(tmp_path):
    with pytest.raises(HeaderInputError, match="cannot read"):
        analyze_source(str(tmp_path / "missing.eml"))
    with pytest.raises(HeaderInputError, match="cannot read"):
        analyze_source(str(tmp_path))                          # a directory
    prose = tmp_path / "prose.txt"
    prose.write_text("just some words\nno colon here\n")
    with pytest.raises(HeaderInputError, match="no header fields"):
        analyze_source(str(prose))
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(HeaderInputError):
        analyze_source(str(binary))


def test_hops_below_the_submission_are_counted_as_unverified():
    text = ("Received: from app (app [192.0.2.8]) by smarthost with ESMTPSA id S; Mon, 17 Sep 2018 12:00:01 +0000\n"
            "Received: from localhost by app (Postfix) with ESMTP id L; Mon, 17 Sep 2018 12:00:00 +0000\n")
    report = to_dict(analyze_text(text))
    assert report["submission"]["hop"] == 2
    assert report["submission"]["earlier_hops"] == 1
    assert report["summary"] == {}


def test_x_originating_ip_is_in_the_summary():
    # exchange_qmail.eml carries "X-Originating-IP: [103.30.234.5]" (the MessageLabs submitter)
    analysis = analyze_source(str(SAMPLES / "exchange_qmail.eml"))
    assert analysis.summary["X-Originating-IP"] == "[103.30.234.5]"


def test_reading_stops_at_the_end_of_the_header():
    from saslscope.headers.source import read_header_bytes

    class CountingReader(io.BytesIO):
        def __init__(self, data):
            super().__init__(data)
            self.bytes_read = 0

        def read(self, size=-1):
            chunk = super().read(size)
            self.bytes_read += len(chunk)
            return chunk

    header = (SAMPLES / "writeup.eml").read_bytes().split(b"\n\n")[0] + b"\n\n"
    reader = CountingReader(b"\n\n" + header + b"x" * 10_000_000)     # leading blank lines, a 10 MB body
    data = read_header_bytes(reader)
    assert data.startswith(b"\n\n" + header)
    assert reader.bytes_read < 200_000
    assert analyze_source("-", stdin=io.BytesIO(data)).submission.queue_id == "A4FCE204384E"
    assert len(read_header_bytes(io.BytesIO(b"Subject: x\n" * 100_000), limit=100_000)) < 200_000
