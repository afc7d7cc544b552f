"""PLAIN (RFC 4616) and LOGIN: vectors, client/server round trips, failures."""

import base64

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
from saslscope.sasl.registry import client_mechanism, server_mechanism
from saslscope.sasl.scram import derive_scram_keys

from sasl_helpers import run_exchange


def store(*credentials: StoredCredential) -> MemoryStore:
    result = MemoryStore()
    for credential in credentials:
        result.add(credential)
    return result


def test_plain_rfc4616_example_1():
    mech = client_mechanism("plain", ClientCredentials("tim", "tanstaaftanstaaf"))
    message = mech.initial_response()
    assert message == b"\0tim\0tanstaaftanstaaf" and len(message) == 21
    assert base64.b64encode(message) == b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm"


def test_plain_rfc4616_example_2_authzid_is_refused_by_default():
    mech = client_mechanism("PLAIN", ClientCredentials("Kurt", "xipj3plmq", authzid="Ursel"))
    message = mech.initial_response()
    assert base64.b64encode(message) == b"VXJzZWwAS3VydAB4aXBqM3BsbXE="
    server = server_mechanism("PLAIN", store(StoredCredential("Kurt", password="xipj3plmq")))
    with pytest.raises(AuthenticationFailed, match="not authorized to act as Ursel") as failure:
        server.step(message)
    assert failure.value.username == "Kurt"


def test_plain_authzid_allowed_by_policy():
    server = server_mechanism(
        "PLAIN", store(StoredCredential("Kurt", password="xipj3plmq")), authorize=lambda c, z: z == "Ursel"
    )
    outcome = server.step(b"Ursel\0Kurt\0xipj3plmq")
    assert outcome == Success("Kurt", "Ursel")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_round_trip_with_utf8_and_wrong_password(mechanism):
    users = store(StoredCredential("jürgen@例え.jp", password="pässwörd✓"))
    good = client_mechanism(mechanism, ClientCredentials("jürgen@例え.jp", "pässwörd✓"))
    assert run_exchange(good, server_mechanism(mechanism, users)).username == "jürgen@例え.jp"
    bad = client_mechanism(mechanism, ClientCredentials("jürgen@例え.jp", "passwort"))
    with pytest.raises(AuthenticationFailed, match="wrong password"):
        run_exchange(bad, server_mechanism(mechanism, users))
    stranger = client_mechanism(mechanism, ClientCredentials("nobody", "x"))
    with pytest.raises(AuthenticationFailed, match="unknown user"):
        run_exchange(stranger, server_mechanism(mechanism, users))


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_password_checked_from_scram_keys_alone(mechanism):
    keys = derive_scram_keys("pencil", "sha256", b"NaCl-salt", 4096)
    users = store(StoredCredential("user", scram=(keys,)))
    assert run_exchange(client_mechanism(mechanism, ClientCredentials("user", "pencil")), server_mechanism(mechanism, users))
    with pytest.raises(AuthenticationFailed):
        run_exchange(client_mechanism(mechanism, ClientCredentials("user", "pencil2")), server_mechanism(mechanism, users))


def test_plain_saslprep_makes_equivalent_passwords_match():
    # RFC 4013 §2.1: U+00A0 NO-BREAK SPACE maps to SPACE; U+00AD SOFT HYPHEN maps to nothing.
    users = store(StoredCredential("user", password="I\u00adX pw"))
    assert server_mechanism("PLAIN", users).step(b"\0user\0IX\xc2\xa0pw") == Success("user")


def test_plain_without_initial_response_gets_empty_challenge():
    client = client_mechanism("PLAIN", ClientCredentials("tim", "tanstaaftanstaaf"))
    server = server_mechanism("PLAIN", store(StoredCredential("tim", password="tanstaaftanstaaf")))
    assert server.step(None) == Challenge(b"")
    assert server.step(client.respond(b"")) == Success("tim")
    assert client.complete


@pytest.mark.parametrize(
    "message, reason",
    [
        (b"", "NUL separators"),
        (b"a\0b", "NUL separators"),
        (b"a\0b\0c\0d", "NUL separators"),
        (b"\0\0pw", "must not be empty"),
        (b"\0user\0", "must not be empty"),
        (b"\0us\xffer\0pw", "not valid UTF-8"),
        (b"\0user\0" + b"p" * 256, "longer than 255"),
    ],
)
def test_plain_malformed(message, reason):
    server = server_mechanism("PLAIN", store())
    with pytest.raises(MalformedMessage, match=reason):
        server.step(message)


def test_login_prompts_and_initial_response_form():
    users = store(StoredCredential("bob", password="hunter2"))
    server = server_mechanism("LOGIN", users)
    assert server.step(None) == Challenge(b"Username:")
    assert server.step(b"bob") == Challenge(b"Password:")
    assert server.step(b"hunter2") == Success("bob")
    # RFC 4954 §4 initial-response form: the user name rides on the AUTH command.
    client = client_mechanism("LOGIN", ClientCredentials("bob", "hunter2"), initial_response=True)
    assert client.initial_response() == b"bob"
    server = server_mechanism("LOGIN", users)
    assert server.step(b"bob") == Challenge(b"Password:")
    assert client.respond(b"Password:") == b"hunter2" and client.complete


def test_login_client_answers_by_prompt_text():
    client = client_mechanism("LOGIN", ClientCredentials("bob", "hunter2"))
    assert client.respond(b"Password:") == b"hunter2"  # a one-shot answer to a pasted prompt
    client = client_mechanism("LOGIN", ClientCredentials("bob", "hunter2"))
    assert client.respond(b"User Name\0") == b"bob"
    assert client.respond(b"???") == b"hunter2"  # unknown prompt: by order


def test_registry_is_case_insensitive_and_ignores_foreign_options():
    from saslscope.sasl import UnsupportedMechanism

    assert server_mechanism("pLaIn", store(), hostname="mx.test", lenient=True).name == "PLAIN"
    with pytest.raises(UnsupportedMechanism, match="GSSAPI"):
        client_mechanism("GSSAPI", ClientCredentials("u", "p"))
    with pytest.raises(UnsupportedMechanism):
        server_mechanism("NOPE", store())
