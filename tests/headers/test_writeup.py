"""The write-up's received message (end of /work/shared/seed/000_04bc8fc2ddf92ab6.txt).

Expected values are read by eye from the six Received headers in the sample, not produced by
the code under test.
"""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from saslscope.headers import analyze_source
from saslscope.headers.report import to_dict

SAMPLE = Path(__file__).parent / "samples" / "writeup.eml"
JST = timezone(timedelta(hours=9))


@pytest.fixture(scope="module")
def analysis():
    return analyze_source(str(SAMPLE))


def test_six_hops_oldest_first(analysis):
    assert [(h.by_host, h.protocol) for h in analysis.hops] == [
        ("ik1-331-25649.vs.sakura.ne.jp", "ESMTPSA"),
        ("mfgw702.ocn.ad.jp", "ESMTP"),
        ("mf-omf-ucb041c1", "ESMTP"),
        ("md-mta-cb003.ocn.ad.jp", "ESMTP"),
        ("md-lpx-nw005", "LMTP"),
        ("mzcstore232.ocn.ad.jp", "LMTP"),
    ]


def test_the_esmtpsa_hop_is_the_authenticated_submission(analysis):
    submission = analysis.submission
    assert analysis.submission_index == 0
    assert submission.from_host == "localhost"
    assert submission.helo == "localhost"
    assert submission.reverse_name == "ik1-331-25649.vs.sakura.ne.jp"
    assert submission.from_ip == "153.126.190.153"
    assert submission.queue_id == "A4FCE204384E"
    assert submission.for_addr == "test@example.com"
    assert submission.tls.version == "TLSv1.2"
    assert submission.tls.cipher == "ECDHE-RSA-AES256-GCM-SHA384"
    assert submission.tls.bits == "256/256"
    assert submission.tls.client_certificate == "No client certificate requested"
    assert submission.time == datetime(2018, 9, 17, 12, 49, 12, tzinfo=JST)
    assert [h.authenticated for h in analysis.hops] == [True, False, False, False, False, False]


def test_queue_ids_including_lmtp_id_on_its_own_line(analysis):
    # hop 5 is "by md-lpx-nw005 with LMTP id SLMRJYQkn1szRQAA2u8eSg" with ";" on the next line
    assert [h.queue_id for h in analysis.hops] == [
        "A4FCE204384E", "C5B4BD40283", "1kYOgRLnhgiro1kYOgX3Gl", "8D03078001E0E",
        "SLMRJYQkn1szRQAA2u8eSg", None,
    ]
    assert analysis.hops[4].time == datetime(2018, 9, 17, 12, 50, 28, tzinfo=JST)


def test_final_lmtp_hop_reads_lhlo_and_bare_ip(analysis):
    final = analysis.hops[-1]
    assert final.helo == "md-lpx-nw005"
    assert final.reverse_name == "md-lpx-nw005.ocn.ad.jp"
    assert final.from_ip == "153.138.217.18"
    assert final.unrecognised == []


def test_delays_between_hops(analysis):
    # 12:49:12 -> 12:50:27 -> 12:50:28 (x4)
    assert [h.delay_seconds for h in analysis.hops] == [None, 75.0, 1.0, 0.0, 0.0, 0.0]
    assert not any(h.clock_skew for h in analysis.hops)


def test_spf_pass_from_both_headers(analysis):
    (spf,) = analysis.received_spf
    assert spf.result == "pass"
    assert spf.pairs["client-ip"] == "153.126.190.153"
    assert spf.pairs["envelope-from"] == "centos7@phoenixknight.jp"
    assert spf.pairs["helo"] == "ik1-331-25649.vs.sakura.ne.jp"
    (header,) = analysis.auth_results
    assert header.authserv_id == "mf-ofc-ucb070"
    assert [(r.method, r.result, r.properties) for r in header.results] == [
        ("spf", "pass", {"smtp.mailfrom": "centos7@phoenixknight.jp"})]


def test_report_contract(analysis):
    report = to_dict(analysis)
    assert report["submission"]["client_ip"] == "153.126.190.153"
    assert report["submission"]["queue_id"] == "A4FCE204384E"
    assert report["submission"]["hop"] == 1
    for hop in report["hops"]:
        assert {"from_host", "from_ip", "by_host", "protocol", "queue_id", "tls", "time"} <= hop.keys()
    assert report["hops"][0]["tls"]["cipher"] == "ECDHE-RSA-AES256-GCM-SHA384"
    assert report["hops"][0]["time"] == "2018-09-17T12:49:12+09:00"
    assert report["spf"]["received_spf"][0]["result"] == "pass"
    assert report["dkim"]["filters"] == [{"raw": "OpenDKIM Filter v2.11.0 ik1-331-25649.vs.sakura.ne.jp A4FCE204384E",
                                          "host": "ik1-331-25649.vs.sakura.ne.jp", "queue_id": "A4FCE204384E",
                                          "hop": 1}]
    assert report["submission"]["earlier_hops"] == 0
    assert report["authenticated_hops"] == [1]
    assert report["envelope_line"] == "From - Mon Sep 17 12:51:16 2018"
    assert report["malformed_lines"] == []
