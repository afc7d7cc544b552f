"""`saslscope respond`: the write-up's case and every documented failure, via the real command layer."""

import base64
import subprocess
import sys

import pytest
from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit

CHALLENGE = "PDA3Nzg3NTMyMDgxMzMwMDAuMTUzNzE1MTM2NEBpazEtMzMxLTI1NjQ5LnZzLnNha3VyYS5uZS5qcD4="
ANSWER = "Y2VudG9zN0BwaG9lbml4a25pZ2h0LmpwIDFjODg0OGZjZjczNGRkNTI4YjkxOWVhNzUzYzEzNzRi"
USER = "centos7@phoenixknight.jp"
ENV = {"SASLSCOPE_TEST_PW": "zaq12345"}


def run(args, stdin=None, env=ENV):
    return CliRunner().invoke(cli, ["respond", *args], input=stdin, env=env)


@pytest.mark.parametrize("challenge", [CHALLENGE, f"334 {CHALLENGE}", f"  334 {CHALLENGE}\r\n"])
def test_writeup_answer_alone_on_stdout(challenge):
    result = run(["cram-md5", "--user", USER, "--password-env", "SASLSCOPE_TEST_PW", challenge])
    assert result.exit_code == 0, result.output
    assert result.stdout == ANSWER + "\n"
    assert result.stderr == ""


def test_challenge_from_stdin_and_password_from_file(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("zaq12345\n")
    result = run(["CRAM-MD5", "-u", USER, "--password-file", str(secret)], stdin=f"334 {CHALLENGE}\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == ANSWER


def test_explain_goes_to_stderr():
    result = run(["cram-md5", "-u", USER, "--password-env", "SASLSCOPE_TEST_PW", "--explain", CHALLENGE])
    assert result.stdout == ANSWER + "\n"
    assert "<0778753208133000.1537151364@ik1-331-25649.vs.sakura.ne.jp>" in result.stderr
    assert "1c8848fcf734dd528b919ea753c1374b" in result.stderr  # the digest
    assert f"{USER} 1c8848fcf734dd528b919ea753c1374b" in result.stderr  # the decoded answer
    assert "2018-09-17 02:29:24 UTC" in result.stderr
    assert "zaq12345" not in result.stderr


def test_plain_is_masked_in_explain_unless_asked():
    args = ["plain", "-u", "tim", "--password-env", "SASLSCOPE_TEST_PW", "--explain"]
    result = run(args)
    assert base64.b64decode(result.stdout.strip()) == b"\0tim\0zaq12345"
    assert "zaq12345" not in result.stderr
    assert "zaq12345" in run([*args, "--show-secrets"]).stderr


def test_other_one_shot_mechanisms():
    login = run(["login", "-u", "bob", "--password-env", "SASLSCOPE_TEST_PW", "334 UGFzc3dvcmQ6"])
    assert base64.b64decode(login.stdout.strip()) == b"zaq12345"
    user = run(["login", "-u", "bob", "--password-env", "SASLSCOPE_TEST_PW", "--explain", "VXNlcm5hbWU6"])
    assert base64.b64decode(user.stdout.strip()) == b"bob"
    assert "LOGIN user name" in user.stderr and "bob" in user.stderr
    env = {"TOKEN": "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"}
    xoauth2 = run(["xoauth2", "-u", "someuser@example.com", "--token-env", "TOKEN"], env=env)
    assert xoauth2.stdout.strip().startswith("dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5")
    error = base64.b64encode(b'{"status":"invalid_token"}').decode()
    ack = run(["oauthbearer", "-u", "u", "--token-env", "TOKEN", "--explain", error], env=env)
    assert ack.stdout.strip() == "AQ==" and "invalid_token" in ack.stderr
    digest = run(
        ["digest-md5", "-u", "chris", "--password-env", "PW", "--service", "imap",
         "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA=="],
        env={"PW": "secret"},
    )
    assert digest.exit_code == 0 and b"response=" in base64.b64decode(digest.stdout.strip())
    assert run(["external"]).stdout.strip() == ""


@pytest.mark.parametrize(
    "args, stdin, status, message",
    [
        (["cram-md5", "-u", USER, "--password-env", "SASLSCOPE_TEST_PW", CHALLENGE[:-1]], None, Exit.BAD_INPUT, "not base64"),
        (["cram-md5", "-u", USER, "--password-env", "SASLSCOPE_TEST_PW", "Zm9v\u00e9"], None, Exit.BAD_INPUT, "non-ASCII"),
        (["cram-md5", "-u", USER, "--password-env", "SASLSCOPE_TEST_PW", "PMOkPg=="], None, Exit.BAD_INPUT, "non-ASCII"),
        (["cram-md5", "-u", USER, "--password-env", "SASLSCOPE_TEST_PW", "334 "], None, Exit.BAD_INPUT, "empty"),
        (["cram-md5", "-u", USER, "--password-env", "SASLSCOPE_TEST_PW"], "", Exit.BAD_INPUT, "standard input is empty"),
        (["gssapi", "-u", USER, CHALLENGE], None, Exit.USAGE, "SASL mechanism 'gssapi'"),
        (["cram-md5", CHALLENGE], None, Exit.USAGE, "needs --user"),
        (["scram-sha-256", "-u", USER], None, Exit.USAGE, "live exchange"),
        (["cram-md5", "-u", USER, CHALLENGE], None, Exit.NO_SECRET, "no password"),
        (["cram-md5", "-u", USER, "--password-env", "UNSET_VARIABLE_X", CHALLENGE], None, Exit.NO_SECRET, "not set"),
        (["cram-md5", "-u", USER, "--password-file", "-"], "zaq12345\n", Exit.USAGE, "standard input"),
    ],
)
def test_failures_are_one_line_with_documented_status(args, stdin, status, message):
    result = run(args, stdin=stdin)
    assert result.exit_code == status, result.output
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_real_process_without_terminal_fails_fast_without_password():
    completed = subprocess.run(
        [sys.executable, "-m", "saslscope", "respond", "cram-md5", "-u", USER, CHALLENGE],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode == Exit.NO_SECRET
    assert completed.stdout == "" and "--password-env" in completed.stderr
