"""CRAM-MD5 (RFC 2195): the RFC vector, the write-up's case, strictness, Dovecot contexts."""

import base64
import hashlib
import hmac
import subprocess

import pytest

from saslscope.sasl import (
    AuthenticationFailed,
    Challenge,
    ClientCredentials,
    MalformedMessage,
    MemoryStore,
    StoredCredential,
    Success,
)
from saslscope.sasl.cram import cram_md5_context, cram_md5_digest_from_context
from saslscope.sasl.registry import client_mechanism, server_mechanism

from sasl_helpers import run_exchange

WRITEUP_CHALLENGE = "PDA3Nzg3NTMyMDgxMzMwMDAuMTUzNzE1MTM2NEBpazEtMzMxLTI1NjQ5LnZzLnNha3VyYS5uZS5qcD4="
WRITEUP_ANSWER = "Y2VudG9zN0BwaG9lbml4a25pZ2h0LmpwIDFjODg0OGZjZjczNGRkNTI4YjkxOWVhNzUzYzEzNzRi"
WRITEUP_ECHO_ANSWER = WRITEUP_ANSWER + "Cg=="
WRITEUP_USER = "centos7@phoenixknight.jp"


def test_rfc2195_example():
    challenge = base64.b64decode("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
    mech = client_mechanism("cram-md5", ClientCredentials("tim", "tanstaaftanstaaf"))
    assert mech.initial_response() is None
    answer = mech.respond(challenge)
    assert mech.digest == "b913a602c7eda7a495b4e6e7334d3890"
    assert base64.b64encode(answer) == b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
    assert mech.complete and mech.offline_crackable and not mech.reveals_secret


def test_writeup_case():
    mech = client_mechanism("CRAM-MD5", ClientCredentials(WRITEUP_USER, "zaq12345"))
    assert base64.b64encode(mech.respond(base64.b64decode(WRITEUP_CHALLENGE))).decode() == WRITEUP_ANSWER


def writeup_server(**options):
    users = MemoryStore()
    users.add(StoredCredential(WRITEUP_USER, password="zaq12345"))
    server = server_mechanism("CRAM-MD5", users, challenge=base64.b64decode(WRITEUP_CHALLENGE), **options)
    assert server.step(None) == Challenge(base64.b64decode(WRITEUP_CHALLENGE))
    return server


def test_server_accepts_the_correct_answer():
    assert writeup_server().step(base64.b64decode(WRITEUP_ANSWER)) == Success(WRITEUP_USER)


def test_strict_server_rejects_the_echo_newline_and_says_why():
    with pytest.raises(AuthenticationFailed, match=r"^response ends with a newline: ") as failure:
        writeup_server().step(base64.b64decode(WRITEUP_ECHO_ANSWER))
    assert failure.value.username == WRITEUP_USER
    assert "the digest itself is right" in failure.value.reason
    with pytest.raises(AuthenticationFailed, match=r"^response ends with a newline: .*digest is wrong too"):
        writeup_server().step(f"{WRITEUP_USER} {'0' * 32}\n".encode())


def test_lenient_server_accepts_the_echo_newline_like_dovecot():
    assert writeup_server(lenient=True).step(base64.b64decode(WRITEUP_ECHO_ANSWER)) == Success(WRITEUP_USER)


def test_lenient_still_checks_the_digest():
    with pytest.raises(AuthenticationFailed, match="digest mismatch"):
        writeup_server(lenient=True).step(f"{WRITEUP_USER} {'0' * 32}\n".encode())


def test_uppercase_hex_strict_vs_lenient():
    upper = base64.b64decode(WRITEUP_ANSWER).upper().replace(WRITEUP_USER.upper().encode(), WRITEUP_USER.encode())
    with pytest.raises(AuthenticationFailed, match="lower-case"):
        writeup_server().step(upper)
    assert writeup_server(lenient=True).step(upper) == Success(WRITEUP_USER)


def test_user_name_with_spaces_and_utf8_round_trip():
    users = MemoryStore()
    users.add(StoredCredential("Jörg Müller", password="пароль"))
    client = client_mechanism("CRAM-MD5", ClientCredentials("Jörg Müller", "пароль"))
    assert run_exchange(client, server_mechanism("CRAM-MD5", users, hostname="mx.test")) == Success("Jörg Müller")
    with pytest.raises(AuthenticationFailed, match="digest mismatch"):
        run_exchange(client_mechanism("CRAM-MD5", ClientCredentials("Jörg Müller", "parol")), server_mechanism("CRAM-MD5", users))


def test_server_challenge_shape():
    challenge = server_mechanism("CRAM-MD5", MemoryStore(), hostname="mx.example").step(None).data
    assert challenge.startswith(b"<") and challenge.endswith(b"@mx.example>")


@pytest.mark.parametrize("response", [b"no-digest", b"user " + b"g" * 32, b"user  ", b" " + b"a" * 32])
def test_malformed_responses(response):
    with pytest.raises(MalformedMessage):
        writeup_server().step(response)


def test_initial_response_is_refused():
    with pytest.raises(MalformedMessage, match="no initial response"):
        server_mechanism("CRAM-MD5", MemoryStore()).step(b"tim abc")


@pytest.mark.parametrize("challenge", [b"", "<1.2@höst>".encode()])
def test_client_rejects_empty_or_non_ascii_challenge(challenge):
    with pytest.raises(MalformedMessage):
        client_mechanism("CRAM-MD5", ClientCredentials("u", "p")).respond(challenge)


def doveadm_context(password: str) -> bytes:
    output = subprocess.run(
        ["doveadm", "pw", "-s", "CRAM-MD5", "-p", password], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    assert output.startswith("{CRAM-MD5}")
    return bytes.fromhex(output.removeprefix("{CRAM-MD5}"))


@pytest.mark.parametrize("password", ["zaq12345", "p" * 70, "pässwörd"])
def test_context_matches_doveadm(password):
    assert cram_md5_context(password) == doveadm_context(password)


def test_digest_from_context_equals_hmac():
    for challenge in [b"<1.2@h>", b"x" * 63, b"y" * 64, b"z" * 200]:
        expected = hmac.new(b"zaq12345", challenge, hashlib.md5).hexdigest()
        assert cram_md5_digest_from_context(cram_md5_context("zaq12345"), challenge) == expected


def test_server_verifies_from_dovecot_context_only():
    users = MemoryStore()
    users.add(StoredCredential(WRITEUP_USER, cram_md5_context=doveadm_context("zaq12345")))
    server = server_mechanism("CRAM-MD5", users, challenge=base64.b64decode(WRITEUP_CHALLENGE))
    server.step(None)
    assert server.step(base64.b64decode(WRITEUP_ANSWER)) == Success(WRITEUP_USER)
    # ...and PLAIN can be checked against that context too.
    assert server_mechanism("PLAIN", users).step(f"\0{WRITEUP_USER}\0zaq12345".encode()) == Success(WRITEUP_USER)
    with pytest.raises(AuthenticationFailed):
        server_mechanism("PLAIN", users).step(f"\0{WRITEUP_USER}\0zaq123456".encode())


def test_user_with_only_scram_keys_cannot_do_cram():
    from saslscope.sasl.scram import derive_scram_keys

    users = MemoryStore()
    users.add(StoredCredential("u", scram=(derive_scram_keys("p", "sha256", b"s", 4096),)))
    client = client_mechanism("CRAM-MD5", ClientCredentials("u", "p"))
    with pytest.raises(AuthenticationFailed, match="no CRAM-MD5 capable credential"):
        run_exchange(client, server_mechanism("CRAM-MD5", users))
