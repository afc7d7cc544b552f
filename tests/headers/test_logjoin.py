"""``--log``: the write-up's message joined to the write-up's 13 Postfix log lines.

The log lines are copied from /work/shared/seed/000_04bc8fc2ddf92ab6.txt; the expected
username and method are the ones in its ``A4FCE204384E: client=..., sasl_method=cram-md5,
sasl_username=centos7@phoenixknight.jp`` line.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit
from saslscope.headers import HeaderInputError, analyze_source, analyze_text
from saslscope.headers.logjoin import join_log

SAMPLES = Path(__file__).parent / "samples"
MESSAGE = str(SAMPLES / "writeup.eml")
LOG = str(SAMPLES / "writeup-mail.log")


def test_submission_hop_joins_to_sasl_login():
    joined = join_log(analyze_source(MESSAGE), [LOG])
    assert (joined["queue_id"], joined["hop"], joined["note"]) == ("A4FCE204384E", 1, None)
    (login,) = joined["logins"]
    assert login["sasl_username"] == "centos7@phoenixknight.jp"
    assert login["sasl_method"] == "cram-md5"
    assert login["client_ip"] == "153.126.190.153"
    assert login["client_ip_matches_hop"] is True
    assert login["message_id_matches_header"] is True
    assert login["relayed_as"] == ["C5B4BD40283"]          # "250 2.0.0 Ok: queued as C5B4BD40283"
    assert login["next_hop_queue_id_matches"] is True     # hop 2: "by mfgw702.ocn.ad.jp ... id C5B4BD40283"


def test_queue_id_absent_from_log(tmp_path):
    other = tmp_path / "other.log"
    other.write_text("Sep 17 12:48:22 h postfix/smtpd[1]: connect from a[192.0.2.1]\n")
    joined = join_log(analyze_source(MESSAGE), [str(other)])
    assert joined["logins"] == []
    assert "does not appear" in joined["note"]


def test_no_authenticated_hop_means_nothing_to_join():
    analysis = analyze_text("Received: from a by b with ESMTP id Q; Mon, 17 Sep 2018 12:00:00 +0000\n")
    joined = join_log(analysis, [LOG])
    assert joined["queue_id"] is None and joined["logins"] == []
    assert "no hop" in joined["note"]


def test_unreadable_log_is_bad_input(tmp_path):
    with pytest.raises(HeaderInputError, match="cannot use the log"):
        join_log(analyze_source(MESSAGE), [str(tmp_path / "missing.log")])
    result = CliRunner().invoke(cli, ["headers", MESSAGE, "--log", str(tmp_path / "missing.log")])
    assert result.exit_code == Exit.BAD_INPUT
    assert len(result.output.strip().splitlines()) == 1


def test_cli_shows_username_next_to_the_hop():
    result = CliRunner().invoke(cli, ["headers", MESSAGE, "--log", LOG], env={"COLUMNS": "200"})
    assert result.exit_code == Exit.OK
    assert "sasl_username=centos7@phoenixknight.jp sasl_method=cram-md5" in result.output
    report = json.loads(CliRunner().invoke(cli, ["headers", MESSAGE, "--log", LOG, "--json"]).output)
    assert report["log"]["logins"][0]["sasl_username"] == "centos7@phoenixknight.jp"


RELAYED = """\
Received: from relay1 (relay1 [192.0.2.5]) by mx.example.org (Postfix) with ESMTPSA id 3F2A1C0DE
 for <alice@example.net>; Mon, 17 Sep 2018 12:00:02 +0000
Received: from laptop (laptop [198.51.100.9]) by relay1 (OpenSMTPD) with ESMTPSA id 9e1f0a2b
 (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO) auth=yes user=bob; Mon, 17 Sep 2018 12:00:01 +0000
Message-ID: <m1@example.org>
"""

RELAY_LOG = """\
Sep 17 12:00:01 mx postfix/smtpd[100]: connect from relay1[192.0.2.5]
Sep 17 12:00:02 mx postfix/smtpd[100]: 3F2A1C0DE: client=relay1[192.0.2.5], sasl_method=PLAIN, sasl_username=bob@example.org
Sep 17 12:00:02 mx postfix/cleanup[101]: 3F2A1C0DE: message-id=<m1@example.org>
Sep 17 12:00:02 mx postfix/qmgr[102]: 3F2A1C0DE: from=<bob@example.org>, size=300, nrcpt=1 (queue active)
Sep 17 12:00:03 mx postfix/qmgr[102]: 3F2A1C0DE: removed
"""


def test_log_of_a_later_authenticated_hop(tmp_path):
    # The user's own relay (hop 1, OpenSMTPD) submitted with AUTH to the provider's Postfix
    # (hop 2); the log is the provider's, so hop 2 is the one it knows.
    log = tmp_path / "mx.log"
    log.write_text(RELAY_LOG)
    analysis = analyze_text(RELAYED)
    assert analysis.submission_index == 0
    joined = join_log(analysis, [str(log)])
    assert joined["searched"] == [{"hop": 1, "queue_id": "9e1f0a2b"}, {"hop": 2, "queue_id": "3F2A1C0DE"}]
    assert (joined["hop"], joined["queue_id"]) == (2, "3F2A1C0DE")
    (login,) = joined["logins"]
    assert (login["sasl_username"], login["sasl_method"]) == ("bob@example.org", "PLAIN")
    assert login["client_ip_matches_hop"] is True
    assert login["message_id_matches_header"] is True
    assert login["next_hop_queue_id_matches"] is None        # the last hop: nothing after it
