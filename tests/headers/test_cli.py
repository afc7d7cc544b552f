"""``saslscope headers``: exit statuses, JSON contract, human output."""

import json
from pathlib import Path

from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit

SAMPLES = Path(__file__).parent / "samples"
WRITEUP = str(SAMPLES / "writeup.eml")


def run(*args, stdin=None):
    return CliRunner().invoke(cli, ["headers", *args], input=stdin)


def test_json_contract():
    result = run(WRITEUP, "--json")
    assert result.exit_code == Exit.OK, result.output
    report = json.loads(result.output)
    assert len(report["hops"]) == 6
    first = report["hops"][0]
    assert (first["from_host"], first["from_ip"], first["by_host"], first["protocol"], first["queue_id"]) == \
        ("localhost", "153.126.190.153", "ik1-331-25649.vs.sakura.ne.jp", "ESMTPSA", "A4FCE204384E")
    assert first["tls"]["version"] == "TLSv1.2"
    assert first["time"] == "2018-09-17T12:49:12+09:00"
    assert report["hops"][-1]["protocol"] == "LMTP"
    assert report["submission"]["client_ip"] == "153.126.190.153"
    assert {"auth_results", "spf", "dkim", "dmarc", "arc", "log"} <= report.keys()
    assert report["log"] is None


def test_human_output_names_the_submission():
    result = CliRunner().invoke(cli, ["headers", WRITEUP], env={"COLUMNS": "200"})
    assert result.exit_code == Exit.OK
    assert "AUTHENTICATED SUBMISSION" in result.output
    assert "Authenticated submission: hop 1 from 153.126.190.153" in result.output
    assert "queue id A4FCE204384E" in result.output
    assert "ESMTPSA = ESMTP with STARTTLS and SMTP AUTH (RFC 3848)" in result.output
    assert "SPF   pass" in result.output


def test_stdin_dash():
    result = run("-", "--json", stdin=(SAMPLES / "writeup.eml").read_bytes())
    assert result.exit_code == Exit.OK
    assert json.loads(result.output)["submission"]["queue_id"] == "A4FCE204384E"


def test_bad_inputs_exit_7_with_one_line(tmp_path):
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    for args in ([str(tmp_path / "missing.eml")], [str(empty)], [WRITEUP, "--index", "3"], ["-"]):
        result = CliRunner().invoke(cli, ["headers", *args], input=b"")
        assert result.exit_code == Exit.BAD_INPUT, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("saslscope headers: "), result.output
        assert "Traceback" not in result.output


def test_control_characters_cannot_reach_the_terminal(tmp_path):
    path = tmp_path / "evil.eml"
    path.write_bytes(b"Received: from \x1b[2Jevil (x [192.0.2.1]) by b with ESMTPSA id Q;"
                     b" Mon, 17 Sep 2018 12:00:00 +0000\nSubject: [bold]not markup[/bold]\n")
    result = run(str(path))
    assert result.exit_code == Exit.OK
    assert "\x1b" not in result.output
    assert "\\x1b[2Jevil" in result.output
    assert "[bold]not markup[/bold]" in result.output       # shown literally, not as rich markup


def test_lmtp_login_is_named_and_local_sender_shown():
    # Cyrus "with LMTPA" is the MTA logging in to its mailbox store; the oldest hop is Postfix's
    # pickup "(Postfix, from userid 1000)", i.e. injected on the host by uid 1000.
    result = CliRunner().invoke(cli, ["headers", str(SAMPLES / "cyrus_lmtpa_fetchmail.eml")], env={"COLUMNS": "200"})
    assert result.exit_code == Exit.OK, result.output
    assert "none of the hops says the client authenticated" not in result.output
    assert ("Authenticated submission: none; the only login recorded is the mail server's LMTP login"
            " to the mailbox store (hop 7)") in result.output
    lines = result.output.splitlines()
    first_from = lines[lines.index(next(line for line in lines if line.startswith("hop 1 "))) + 1]
    assert first_from.startswith("    from ") and "local sender uid 1000" in first_from


def test_no_login_at_all_says_so(tmp_path):
    path = tmp_path / "plain.eml"
    path.write_bytes(b"Received: from a.example (a.example [192.0.2.1]) by b.example with ESMTP id Q;"
                     b" Mon, 17 Sep 2018 12:00:00 +0000\nSubject: x\n")
    result = run(str(path))
    assert result.exit_code == Exit.OK
    assert "none of the hops says the client authenticated" in result.output
    assert "LMTP login" not in result.output
