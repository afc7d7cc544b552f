"""`saslscope decode` never shows what may be a secret when it cannot tell (issue 10 item 7)."""

import base64
import json

import pytest
from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.sasl.explain import explain


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def run(args, stdin=None):
    return CliRunner().invoke(cli, ["decode", *args], input=stdin)


@pytest.mark.parametrize("password", [b"Password1!", b"passwort", b"passw0rd", b"user1234", b"Username:x",
                                      b"Password", b"User Name"])
def test_bare_text_of_unknown_direction_is_masked(password):
    text = run([b64(password)])
    assert text.exit_code == 0, text.output
    assert password.decode() not in text.stdout and "LOGIN prompt" not in text.stdout
    assert "********" in text.stdout
    record = json.loads(run(["--json", b64(password)]).stdout)
    assert password.decode() not in json.dumps(record)
    assert run(["--show-secrets", b64(password)]).stdout.count(password.decode()) == 1


def test_the_issues_example_is_masked_in_text_and_json():
    text = run(["UGFzc3dvcmQxIQ=="])
    assert "Password1!" not in text.stdout and "LOGIN prompt" not in text.stdout
    assert "Password1!" not in run(["--json", "UGFzc3dvcmQxIQ=="]).stdout


@pytest.mark.parametrize("prompt", ["VXNlcm5hbWU6", "UGFzc3dvcmQ6"])      # Username: / Password:
def test_the_standard_prompts_are_still_recognised(prompt):
    assert json.loads(run(["--json", prompt]).stdout)["kind"] == "login-prompt"


@pytest.mark.parametrize("args", [["--from", "server"], []])
def test_a_server_line_may_use_any_servers_wording(args):
    # In a "334 ..." line or with --from server the sender is known: "Password" is a prompt there.
    record = json.loads(run(["--json", *args, "334 " + b64(b"Password")]).stdout)
    assert record["kind"] == "login-prompt" and record["direction"] == "server"


def test_a_client_line_starting_with_pass_is_masked():
    record = json.loads(run(["--json", "--from", "client", b64(b"Password1!")]).stdout)
    assert "Password1!" not in json.dumps(record)


def _values(explanation):
    return {f.name: (f.value, f.secret) for f in explanation.fields}


def test_oauthbearer_auth_without_bearer_is_masked_whole():
    blob = b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    explanation = explain(blob)
    assert explanation.kind == "oauthbearer-message"
    values = _values(explanation)
    assert "auth scheme" not in values
    assert values["auth"] == ("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", True)
    assert any("Bearer" in w for w in explanation.warnings)
    out = run([b64(blob)]).stdout + run(["--json", b64(blob)]).stdout
    assert "vF9dft4qmTc2" not in out


def test_oauthbearer_token_with_a_space_but_no_scheme_is_masked_whole():
    blob = b"n,,\x01auth=ya29.secretpart1 secretpart2\x01\x01"
    values = _values(explain(blob))
    assert values["auth"] == ("ya29.secretpart1 secretpart2", True)
    assert "secretpart1" not in run([b64(blob)]).stdout


def test_oauthbearer_with_bearer_shows_the_scheme_only():
    blob = b"n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2\x01\x01"
    values = _values(explain(blob))
    assert values["auth scheme"] == ("Bearer", False) and values["token"] == ("vF9dft4qmTc2", True)


def test_xoauth2_without_scheme_is_masked_whole():
    blob = b"user=someuser@example.com\x01auth=ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    explanation = explain(blob)
    assert explanation.kind == "xoauth2-message"
    assert _values(explanation)["auth"][1] is True
    assert "ya29" not in run([b64(blob)]).stdout
