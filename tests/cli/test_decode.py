"""`saslscope decode`: explanations, masking, JSON, pasted sessions, bad input."""

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit

CHALLENGE = "PDA3Nzg3NTMyMDgxMzMwMDAuMTUzNzE1MTM2NEBpazEtMzMxLTI1NjQ5LnZzLnNha3VyYS5uZS5qcD4="
ECHO_ANSWER = "Y2VudG9zN0BwaG9lbml4a25pZ2h0LmpwIDFjODg0OGZjZjczNGRkNTI4YjkxOWVhNzUzYzEzNzRiCg=="
PLAIN = "VXJzZWwAS3VydAB4aXBqM3BsbXE="  # RFC 4616: Ursel / Kurt / xipj3plmq


def run(args, stdin=None):
    return CliRunner().invoke(cli, ["decode", *args], input=stdin)


def test_writeup_challenge():
    result = run([f"334 {CHALLENGE}"])
    assert result.exit_code == 0
    assert "1537151364" in result.stdout and "2018-09-17 02:29:24 UTC" in result.stdout
    assert "ik1-331-25649.vs.sakura.ne.jp" in result.stdout


def test_plain_masked_unless_show_secrets():
    masked = run([PLAIN])
    assert "Ursel" in masked.stdout and "Kurt" in masked.stdout and "xipj3plmq" not in masked.stdout
    assert "xipj3plmq" in run([PLAIN, "--show-secrets"]).stdout


def test_json():
    record = json.loads(run(["--json", PLAIN]).stdout)
    assert record["kind"] == "plain-message" and record["mechanism"] == "PLAIN" and record["direction"] == "client"
    fields = {f["name"]: f for f in record["fields"]}
    assert fields["authcid"]["value"] == "Kurt"
    assert fields["password"] == {"name": "password", "value": "********", "secret": True}


def test_pasted_session_from_stdin_continues_after_a_bad_line():
    session = f"EHLO localhost\n250 8BITMIME\nauth cram-md5\n334 {CHALLENGE}\nbad!\n{ECHO_ANSWER}\n235 2.7.0 ok\n"
    result = run(["--json"], stdin=session)
    assert result.exit_code == Exit.BAD_INPUT
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["line"], r["kind"]) for r in records] == [(4, "cram-md5-challenge"), (6, "cram-md5-response")]
    assert "echo" in records[1]["warnings"][0]
    assert result.stderr.startswith("Error: line 5: not base64")


def test_hint_and_direction():
    result = run(["--mech", "login", "--from", "client", "aHVudGVyMg=="])
    assert result.exit_code == 0 and "hunter2" not in result.stdout and "LOGIN answer" in result.stdout


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["PDE4OTYu\u00e9"], Exit.BAD_INPUT, "non-ASCII"),
        (["AQ="], Exit.BAD_INPUT, "not base64"),
        (["--mech", "cram-md5", "--from", "server", "aGVsbG8="], Exit.BAD_INPUT, "not a CRAM-MD5 server message"),
        (["--mech", "kerberos", "AQ=="], Exit.USAGE, "cannot explain SASL mechanism"),
    ],
)
def test_bad_input(args, status, message):
    result = run(args)
    assert result.exit_code == status
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_empty_stdin():
    result = run([], stdin="")
    assert result.exit_code == Exit.BAD_INPUT and "nothing to decode" in result.stderr


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=80) | st.from_regex(r"(334 |AUTH PLAIN )?[A-Za-z0-9+/]{0,40}={0,2}", fullmatch=True))
def test_any_input_gives_a_documented_status_and_no_traceback(text):
    result = CliRunner().invoke(cli, ["decode", "--", text] if text else ["decode"], input="")
    assert result.exit_code in (Exit.OK, Exit.BAD_INPUT), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_whole_msmtp_debug_session_on_stdin():
    # msmtp --debug against Gmail, quoted in a blog post (the login failed with 535)
    session = (
        "--> EHLO localhost\n"
        "<-- 250-smtp.gmail.com at your service, [187.62.8.196]\n"
        "<-- 250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\n"
        "<-- 250 SMTPUTF8\n"
        "--> AUTH PLAIN AGphcGEyNjA0QGdtYWlsLmNvbQAyNjA0OTBBYiE=\n"
        "<-- 535-5.7.8 Username and Password not accepted. For more information, go to\n"
        "<-- 535 5.7.8  https://support.google.com/mail/?p=BadCredentials d2e1a72fcca58-72d40548a06sm7355966b3a.34 - gsmtp\n"
        "msmtp: authentication failed (method PLAIN)\n"
    )
    result = run(["--json"], stdin=session)
    assert result.exit_code == Exit.OK, result.output
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (record["line"], record["kind"], record["direction"]) == (5, "plain-message", "client")
    fields = {f["name"]: f["value"] for f in record["fields"]}
    assert fields["authcid"] == "japa2604@gmail.com" and fields["password"] == "********"


def test_the_writeups_openssl_session_pasted_whole():
    # /work/shared/seed: the write-up's `openssl s_client -starttls smtp` session as shown there
    # (its elided middle replaced by s_client's usual report and a -showcerts PEM block).
    session = f"""\
$ openssl s_client -starttls smtp -connect mail.phoenixknight.jp:587 -crlf
CONNECTED(00000003)
depth=2 O = Digital Signature Trust Co., CN = DST Root CA X3
verify return:1
---
Certificate chain
 0 s:/CN=phoenixknight.jp
   i:/C=US/O=Let's Encrypt/CN=Let's Encrypt Authority X3
---
Server certificate
-----BEGIN CERTIFICATE-----
MIIFVzCCBD+gAwIBAgISA2h3tn2pIiZuWiN8SmvV9xOiMA0GCSqGSIb3DQEBCwUA
-----END CERTIFICATE-----
subject=/CN=phoenixknight.jp
---
New, TLSv1.2, Cipher is ECDHE-RSA-AES256-GCM-SHA384
SSL-Session:
    Protocol  : TLSv1.2
    0000 - 5b 1b 2f 3e 4d 5c 6b 7a-8f 9e ad bc cb da e9 f8   [./>M\\kz........
    Start Time: 1537151340
    Timeout   : 300 (sec)
    Verify return code: 0 (ok)
---
250 8BITMIME
ehlo localhost
250-ik1-331-25649.vs.sakura.ne.jp
250 8BITMIME
auth cram-md5
334 {CHALLENGE}
{ECHO_ANSWER}
250 8BITMIME
"""
    result = run(["--json"], stdin=session)
    assert result.exit_code == Exit.OK, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["kind"] for r in records] == ["cram-md5-challenge", "cram-md5-response"]
    assert records[0]["line"] == session.splitlines().index(f"334 {CHALLENGE}") + 1
