"""`saslscope headers` text output wording (issue 14 item 17), the submission's field names
(item 18), and the bound on the hops analysed (issue 10 item 21)."""

import json
from pathlib import Path

from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.headers import analyze_text
from saslscope.headers.chain import MAX_FIELDS_PER_NAME
from saslscope.headers.report import to_dict

SAMPLES = Path(__file__).parent / "samples"

# What `saslscope serve` wrote into a delivered message (one hop, authenticated), and its log.
ONE_HOP = """\
Return-Path: <alice@example.test>
Delivered-To: bob@example.test
Received: from [127.0.0.1] (localhost [127.0.0.1])
\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
\t(No client certificate requested)
\tby mail.test (saslscope) with ESMTPSA id 837DA3D3A71D
\tfor <bob@example.test>; Mon, 07 Dec 2026 09:06:54 +0000
From: alice@example.test
Subject: test
Message-ID: <179663441452.10557.1020842624979392403.saslscope@vm>

hello
"""
ONE_HOP_LOG = """\
Dec 07 09:06:54 mail postfix/submission/smtpd[10520]: connect from localhost[127.0.0.1]
Dec 07 09:06:54 mail postfix/submission/smtpd[10520]: 837DA3D3A71D: client=localhost[127.0.0.1], sasl_method=SCRAM-SHA-256, sasl_username=alice@example.test
Dec 07 09:06:54 mail postfix/cleanup[10520]: 837DA3D3A71D: message-id=<179663441452.10557.1020842624979392403.saslscope@vm>
Dec 07 09:06:54 mail postfix/qmgr[10520]: 837DA3D3A71D: from=<alice@example.test>, size=557, nrcpt=1 (queue active)
Dec 07 09:06:54 mail postfix/local[10520]: 837DA3D3A71D: to=<bob@example.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)
Dec 07 09:06:54 mail postfix/qmgr[10520]: 837DA3D3A71D: removed
"""


def text_of(path, *args):
    result = CliRunner().invoke(cli, ["headers", str(path), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def one_hop(tmp_path):
    message = tmp_path / "one.eml"
    message.write_text(ONE_HOP)
    log = tmp_path / "maillog"
    log.write_text(ONE_HOP_LOG)
    return message, log


def test_one_hop_wording(tmp_path):
    message, log = one_hop(tmp_path)
    output = text_of(message, "--log", str(log))
    assert "(1 hop)" in output and "(1 hops)" not in output
    assert "Verdicts" not in output                      # no empty heading: the header has no verdicts
    assert "sasl_username=alice@example.test" in output
    assert "relayed as" not in output and "next hop" not in output   # there is no next hop to compare with
    assert "checks: client IP = hop IP: yes; Message-ID = header: yes" in output


def test_verdicts_heading_is_kept_when_there_are_verdicts():
    output = text_of(SAMPLES / "writeup.eml")
    assert "(6 hops)" in output and "\nVerdicts\n" in output


def test_delays_are_rounded_with_a_unit():
    # SendGrid's Go time stamps have microseconds: 15:27:16.556036 -> 08:27:20-07:00 was "+3.44396s"
    hop_lines = [line for line in text_of(SAMPLES / "sendgrid_http_google_groups.eml").splitlines()
                 if line.startswith("hop ")]
    assert [line.split()[-1] if line.split()[-1] != "s" else " ".join(line.split()[-2:]) for line in hop_lines[1:4]] \
        == ["+0.04 s", "+3.44 s", "+0 s"]
    assert "+75 s" in text_of(SAMPLES / "writeup.eml")


def test_delay_format():
    from saslscope.cli.headers import _delay

    assert [_delay(x) for x in (3.44396, 5.0, 0.5, -2.0, 150.0, 9000.0, None)] == \
        ["+3.44 s", "+5 s", "+0.5 s", "-2 s", "+2.5 min", "+2.5 h", ""]


def test_submission_names_the_address_from_ip_like_every_hop(tmp_path):
    message, _ = one_hop(tmp_path)
    result = CliRunner().invoke(cli, ["headers", str(message), "--json"])
    report = json.loads(result.output)
    submission, hop = report["submission"], report["hops"][0]
    assert submission["from_ip"] == hop["from_ip"] == "127.0.0.1"
    assert submission["reverse_name"] == hop["reverse_name"] == "localhost"
    # deprecated aliases, kept for one release (docs/headers.md)
    assert submission["client_ip"] == submission["from_ip"] and submission["client_name"] == submission["reverse_name"]


def hostile(lines: int) -> str:
    hops = "".join(f"Received: from h{n}.example.net (h{n}.example.net [192.0.2.{n % 250 + 1}]) by mx.example.org "
                   f"(Postfix) with ESMTP id Q{n:07d}; Mon, 17 Sep 2018 12:00:00 +0000\n" for n in range(lines))
    return "Subject: many hops\n" + hops + "\nbody\n"


def test_the_hops_analysed_are_bounded_and_the_newest_are_kept():
    analysis = analyze_text(hostile(92_000))
    assert len(analysis.hops) == MAX_FIELDS_PER_NAME == 100
    assert analysis.omitted == {"Received": 91_900}
    # oldest first among the kept ones: the 100 topmost fields of the header, Q0000099 ... Q0000000
    assert [analysis.hops[0].queue_id, analysis.hops[-1].queue_id] == ["Q0000099", "Q0000000"]
    report = to_dict(analysis)
    assert report["omitted"] == {"Received": 91_900}
    assert report["notes"][0].startswith("91900 older Received fields were not analysed: only the newest 100")


def test_the_bound_is_said_in_the_text_output(tmp_path):
    path = tmp_path / "many.eml"
    path.write_text(hostile(150))
    output = text_of(path)
    assert "(100 hops)" in output and "note: 50 older Received fields were not analysed" in output


def test_a_real_message_has_no_notes():
    report = json.loads(CliRunner().invoke(cli, ["headers", str(SAMPLES / "writeup.eml"), "--json"]).output)
    assert report["omitted"] == {} and report["notes"] == []


def test_other_repeated_fields_and_junk_lines_are_bounded_too():
    text = "Received: from a by b with ESMTP id Q; Mon, 17 Sep 2018 12:00:00 +0000\n"
    text += "Authentication-Results: mx.example; spf=pass smtp.mailfrom=a@example\n" * 300
    text += "".join(f"junk line {n}\n" for n in range(250)) + "\n"
    analysis = analyze_text(text)
    assert len(analysis.auth_results) == 100 and len(analysis.malformed_lines) == 100
    assert analysis.omitted == {"Authentication-Results": 200, "malformed lines": 150}
