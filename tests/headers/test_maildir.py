"""`saslscope headers` reads a Maildir, the way the lab, `serve` and `demo` deliver (issue 14 item 16).

Messages are delivered by a real `saslscope serve` (tests.server fixtures) into its per-domain
Maildirs; `--index` counts them in delivery order, as it counts an mbox's messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit
from saslscope.headers import HeaderInputError, analyze_source
from saslscope.headers.source import maildir_messages
from tests.server.support import PLAIN_USER, ServerUnderTest, password, tls_client


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["headers", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def delivered(server: ServerUnderTest) -> Path:
    """Three messages sent through the real server, subjects m0, m1, m2 in that order."""
    client = tls_client(server)
    client.login(PLAIN_USER, password(PLAIN_USER))
    for n in range(3):
        client.sendmail(PLAIN_USER, ["bob@example.test"], f"Subject: m{n}\r\nFrom: <{PLAIN_USER}>\r\n\r\nbody {n}\r\n")
    client.quit()
    maildir = server.maildir / "example.test"
    assert len(maildir_messages(maildir)) == 3
    return maildir


def subject(args: list[str]) -> str:
    status, stdout, _ = run(*args, "--json")
    assert status == Exit.OK, stdout
    return str(json.loads(stdout)["summary"]["Subject"])


def test_a_maildir_is_read_in_delivery_order(delivered: Path):
    maildir = str(delivered)
    assert [subject([maildir, "--index", str(n)]) for n in (0, 1, 2, -1, -3)] == ["m0", "m1", "m2", "m2", "m0"]
    assert subject([maildir]) == "m2"                          # without --index: the newest


def test_the_report_says_which_message_it_read(delivered: Path):
    status, stdout, _ = run(str(delivered), "--index", "1", "--json")
    assert status == Exit.OK, stdout
    report = json.loads(stdout)
    assert report["source"]["kind"] == "maildir" and report["source"]["index"] == 1
    assert report["source"]["messages"] == 3 and report["source"]["file"].startswith("new/")
    assert report["submission"]["protocol"] == "ESMTPSA"       # serve's own Received hop
    status, text, _ = run(str(delivered))
    assert status == Exit.OK, text
    assert "note: message 2 of the 3 in Maildir" in text and "AUTHENTICATED SUBMISSION" in text


def test_out_of_range_and_not_a_maildir(delivered: Path):
    status, stdout, stderr = run(str(delivered), "--index", "3")
    assert status == Exit.BAD_INPUT and "holds 3 message(s), numbered 0..2" in stdout + stderr
    root = str(delivered.parent)                               # serve's --maildir: one Maildir per domain
    status, stdout, stderr = run(root)
    assert status == Exit.BAD_INPUT
    assert "not a Maildir" in stdout + stderr and "it holds Maildirs: example.test" in stdout + stderr


def test_cur_and_new_are_merged_by_delivery_time(tmp_path: Path):
    for sub in ("tmp", "new", "cur"):
        (tmp_path / sub).mkdir()
    # Dovecot moved the older message to cur/ with flags; Postfix's name style for the newer one.
    (tmp_path / "cur" / "1700000000.M5P10.host,S=40:2,S").write_bytes(b"Subject: first\n\nx\n")
    (tmp_path / "new" / "1700000000.V801I2a3M123456.host").write_bytes(b"Subject: second\n\nx\n")
    (tmp_path / "new" / "1700000001.M1P10Q2.host").write_bytes(b"Subject: third\n\nx\n")
    (tmp_path / "tmp" / "1700000002.M1P10.host").write_bytes(b"Subject: in delivery\n\nx\n")
    (tmp_path / "new" / ".hidden").write_bytes(b"Subject: hidden\n\nx\n")
    subjects = [analyze_source(str(tmp_path), index=n).summary["Subject"] for n in range(3)]
    assert subjects == ["first", "second", "third"]
    with pytest.raises(HeaderInputError, match=r"numbered 0\.\.2"):
        analyze_source(str(tmp_path), index=3)


def test_an_empty_maildir_and_a_plain_directory(tmp_path: Path):
    (tmp_path / "box" / "new").mkdir(parents=True)
    with pytest.raises(HeaderInputError, match="holds no messages"):
        analyze_source(str(tmp_path / "box"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(HeaderInputError, match=r"cannot read .*not a Maildir"):
        analyze_source(str(tmp_path / "plain"))


def test_stdin_refuses_index():
    status, stdout, stderr = run("-", "--index", "0")
    assert status == Exit.BAD_INPUT and "mbox file or a Maildir" in stdout + stderr
