"""Text from a header, a log or a pasted transcript is data on the terminal (issue 10 item 1):
rich markup in it is shown literally and never interpreted, control characters are escaped."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from saslscope.cli import cli

HOSTILE = "[/x]evil [bold red]x@evil \x1b[2J\x1b]0;pwned\x07"
# What may reach the terminal: printable text, newlines; no ESC, BEL, CR or other C0/C1 controls.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def invoke(args: list[str], stdin: str | bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, input=stdin, env={"COLUMNS": "300"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout + result.stderr


def assert_literal(output: str) -> None:
    assert not CONTROL.search(output), repr(output)
    assert "[/x]evil" in output and "[bold red]x@evil" in output       # shown as written, not styled away
    assert "\\x1b[2J" in output                                        # the ESC shown escaped


def hostile_message(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.eml"
    path.write_bytes(
        f"Received: from {HOSTILE} (rdns{HOSTILE} [192.0.2.1]) (Authenticated sender: {HOSTILE})\n"
        f"\tby mx.example with ESMTPSA id A4FCE204384E for <{HOSTILE}>; Mon, 17 Sep 2018 12:00:00 +0000 ({HOSTILE})\n"
        f"Received: from a ([192.0.2.2]) by b.example with {HOSTILE}; {HOSTILE}\n"
        f"Authentication-Results: mx.example; spf=pass ({HOSTILE}) smtp.mailfrom={HOSTILE.replace(' ', '')}\n"
        f"Received-SPF: pass ({HOSTILE}) helo={HOSTILE.split()[0]}\n"
        f"DKIM-Signature: v=1; d={HOSTILE.split()[0]}; s=x; b=abc\n"
        f"Subject: {HOSTILE}\nFrom: {HOSTILE}\nMessage-ID: <{HOSTILE}@example>\n"
        f"{HOSTILE} not a field\n\nbody\n".encode())
    return path


def test_headers_text_shows_markup_and_escapes_literally(tmp_path):
    status, output = invoke(["headers", str(hostile_message(tmp_path))])
    assert status == 0, output
    assert_literal(output)
    assert output.count("[/x]evil") >= 8


def test_headers_with_a_log_whose_user_name_is_markup(tmp_path):
    log = tmp_path / "maillog"
    log.write_text("Sep 17 12:00:00 mx postfix/submission/smtpd[1]: A4FCE204384E: client=rdns[192.0.2.1], "
                   "sasl_method=PLAIN, sasl_username=[/x]evil[bold red]x@evil\x1b[2J\n"
                   "Sep 17 12:00:00 mx postfix/cleanup[2]: A4FCE204384E: message-id=<[/link]spam@example>\n")
    status, output = invoke(["headers", str(hostile_message(tmp_path)), "--log", str(log)])
    assert status == 0, output
    assert not CONTROL.search(output)
    assert "sasl_username=[/x]evil[bold red]x@evil\\x1b[2J" in output


def test_headers_json_keeps_the_text_exact(tmp_path):
    status, output = invoke(["headers", str(hostile_message(tmp_path)), "--json"])
    assert status == 0
    assert json.loads(output)["summary"]["Subject"] == HOSTILE


def plain(authcid: str) -> str:
    return base64.b64encode(f"\0{authcid}\0hunter2pw".encode()).decode()


def test_decode_of_a_pasted_transcript_with_markup_and_escapes():
    swaks = (f"=== Connected to {HOSTILE}\n"
             f"<-  220 {HOSTILE} ESMTP\n"
             f" -> EHLO {HOSTILE}\n"
             f"<-  250-{HOSTILE}\n<-  250 AUTH PLAIN LOGIN\n"
             f" -> AUTH PLAIN {plain(HOSTILE)}\n"
             f"<-  235 2.7.0 {HOSTILE}\n")
    status, output = invoke(["decode"], swaks)
    assert status == 0, output
    assert_literal(output)
    assert "hunter2pw" not in output


def test_decode_of_a_bare_blob_with_markup_and_escapes():
    status, output = invoke(["decode", "--mech", "login", "--from", "client", "--show-secrets",
                             base64.b64encode(HOSTILE.encode()).decode()])
    assert status == 0, output
    assert_literal(output)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_decode_never_writes_a_control_character(text):
    # any text as a PLAIN user name, as a SCRAM user name, and as a bad line inside an exchange
    scram = base64.b64encode(f"n,,n={text.replace(',', '=2C').replace('=', '=3D')},r=abc".encode()).decode()
    session = f"AUTH PLAIN {plain(text)}\n334 \n{text}\nAUTH SCRAM-SHA-256 {scram}\n"
    for args in (["decode"], ["decode", "--show-secrets"]):
        _, output = invoke(args, session)
        assert not CONTROL.search(output), repr(output)
