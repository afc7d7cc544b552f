"""The write-up's answer: `echo "$USER $DIGEST" | base64` ends with a newline (RFC 2195 allows none).

Strict (default): rejected with 535 and a log line that says why. --lenient-cram: accepted,
as the write-up's Dovecot-backed Postfix did.
"""

from __future__ import annotations

import base64
import subprocess

from saslscope.sasl.cram import cram_md5_digest
from tests.server.support import CRAM_USER, password, started_server, tls_client


def shell_answer(user: str, digest: str) -> str:
    """What the write-up's cram-md5.sh printed: `echo "$USERID" $(hmac) | base64 | tr -d '\\n'`."""
    return subprocess.run(
        ["sh", "-c", 'echo "$1" "$2" | base64 | tr -d "\\n"', "sh", user, digest],
        capture_output=True, text=True, check=True,
    ).stdout


def answer_challenge(server) -> tuple[int, bytes]:
    with tls_client(server) as client:
        code, challenge = client.docmd("AUTH", "CRAM-MD5")
        assert code == 334
        digest = cram_md5_digest(password(CRAM_USER), base64.b64decode(challenge))
        answer = shell_answer(CRAM_USER, digest)
        assert base64.b64decode(answer).endswith(b"\n")  # the bug being reproduced
        return client.docmd(answer)


def test_strict_server_rejects_the_trailing_newline_and_says_why(server):
    code, _ = answer_challenge(server)
    assert code == 535
    [warning] = server.log.wait_for("SASL CRAM-MD5 authentication failed")
    assert "newline" in warning
    assert warning.endswith(f"sasl_username={CRAM_USER}")


def test_lenient_server_accepts_it(tmp_path, pki, passwd_path):
    with started_server(tmp_path, pki, passwd_path, lenient_cram=True) as server:
        code, text = answer_challenge(server)
        assert (code, text) == (235, b"2.7.0 Authentication successful")
