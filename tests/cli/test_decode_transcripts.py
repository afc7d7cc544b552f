"""`saslscope decode` reads what `saslscope login` and `openssl s_client` really print (issue 14 item 9).

Lines outside an AUTH exchange (s_client's report, its session-ticket hex dump, its stderr, the DATA
of a login transcript) are context, never errors; a step the transcript masks is shown as hidden.
The samples in data/ were captured from the real tools (data/README.md); the live tests produce
the same output again against a server started here.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit
from tests.server.support import CRAM_USER, PLAIN_USER, ServerUnderTest, password

DATA = Path(__file__).parent / "data"


def decode_json(text: str) -> tuple[int, list[dict], str]:
    result = CliRunner().invoke(cli, ["decode", "--json"], input=text)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()], result.stderr


def kinds(records: list[dict]) -> list[str]:
    return [r["kind"] for r in records]


@pytest.mark.parametrize("name, expected", [
    ("saslscope-login-cram-md5.txt", ["cram-md5-challenge", "cram-md5-response"]),
    ("saslscope-login-login.txt", ["login-prompt", "hidden", "login-prompt", "hidden"]),
    ("saslscope-login-plain.txt", ["hidden"]),
    ("saslscope-login-scram-sha-256.txt",
     ["scram-client-first", "scram-server-first", "scram-client-final", "scram-server-final"]),
])
def test_captured_saslscope_login_transcripts(name, expected):
    status, records, stderr = decode_json((DATA / name).read_text())
    assert (status, stderr) == (Exit.OK, "")
    assert kinds(records) == expected


def test_captured_openssl_s_client_output_with_stderr_and_session_tickets():
    text = (DATA / "openssl-s_client-login.txt").read_text()
    assert text.startswith("Can't use SSL_get_servername") and "    00a0 - " in text and "TLS session ticket:" in text
    status, records, stderr = decode_json(text)
    assert (status, stderr) == (Exit.OK, "")
    assert [(r["line"], r["kind"]) for r in records] == [(61, "login-prompt"), (62, "login-prompt")]


def test_a_bad_line_inside_an_exchange_is_still_an_error():
    status, records, stderr = decode_json("Can't use SSL_get_servername\n250 ok\n334 VXNlcm5hbWU6\nnot base64!\n")
    assert status == Exit.BAD_INPUT and "line 4" in stderr
    assert kinds(records) == ["login-prompt"]


def test_a_list_of_bare_blobs_is_still_checked_line_by_line():
    status, records, stderr = decode_json("VXNlcm5hbWU6\nnot base64!\n")
    assert status == Exit.BAD_INPUT and stderr.startswith("Error: line 2: not base64")
    assert kinds(records) == ["login-prompt"]


def test_text_output_of_a_masked_step():
    result = CliRunner().invoke(cli, ["decode"], input=(DATA / "saslscope-login-plain.txt").read_text())
    assert result.exit_code == 0
    assert result.stdout == "line 22: the transcript hides this data (********): nothing to decode\n"


# --------------------------------------------------------------------------- live, real tools

def _saslscope(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "saslscope", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env}, check=False)


@pytest.mark.parametrize("mechanism, user, expected", [
    ("cram-md5", CRAM_USER, ["cram-md5-challenge", "cram-md5-response"]),
    ("login", PLAIN_USER, ["login-prompt", "hidden", "login-prompt", "hidden"]),
    ("scram-sha-256", "scram256@example.test",
     ["scram-client-first", "scram-server-first", "scram-client-final", "scram-server-final"]),
])
def test_saslscope_login_output_redirected_to_a_file(server: ServerUnderTest, tmp_path, mechanism, user, expected):
    login = _saslscope("login", "127.0.0.1", "-p", str(server.port), "-u", user, "--password-env", "SASLSCOPE_TEST_PW",
                       "--cafile", str(server.ca_path), "--mech", mechanism, "--to", "bob@example.test",
                       "--subject", "decode test", "--body", "hello", env={"SASLSCOPE_TEST_PW": password(user)})
    assert login.returncode == 0, login.stderr
    transcript = tmp_path / "t.txt"
    transcript.write_text(login.stdout)                     # saslscope login ... > t.txt
    decoded = subprocess.run([sys.executable, "-m", "saslscope", "decode", "--json"], stdin=transcript.open(),
                             capture_output=True, text=True, timeout=60, check=False)
    assert (decoded.returncode, decoded.stderr) == (0, "")
    assert kinds([json.loads(line) for line in decoded.stdout.splitlines()]) == expected
    assert password(user) not in decoded.stdout


def test_openssl_s_client_piped_with_stderr(server: ServerUnderTest):
    if shutil.which("openssl") is None:
        pytest.fail("openssl is required: run scripts/bootstrap as root")
    user = base64.b64encode(PLAIN_USER.encode()).decode()
    secret = base64.b64encode(password(PLAIN_USER).encode()).decode()
    commands = f"EHLO client.test\r\nAUTH LOGIN\r\n{user}\r\n{secret}\r\nQUIT\r\n"
    # openssl s_client -starttls smtp ... 2>&1 | saslscope decode
    s_client = subprocess.run(
        ["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{server.port}",
         "-CAfile", str(server.ca_path), "-crlf", "-ign_eof"],
        input=commands, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, check=False)
    assert "235 " in s_client.stdout and "TLS session ticket" in s_client.stdout, s_client.stdout
    status, records, stderr = decode_json(s_client.stdout)
    assert (status, stderr) == (Exit.OK, "")
    assert [(r["kind"], r["fields"][0]["value"]) for r in records] == [
        ("login-prompt", "Username:"), ("login-prompt", "Password:")]
