"""SCRAM (RFC 5802, RFC 7677): RFC exchanges byte for byte, scramp as an independent peer, failures."""

import base64

import pytest
import scramp

from saslscope.sasl import (
    AuthenticationFailed,
    ChannelBinding,
    ClientCredentials,
    MalformedMessage,
    MemoryStore,
    StoredCredential,
    Success,
)
from saslscope.sasl.errors import InvalidCredentials
from saslscope.sasl.registry import client_mechanism, server_mechanism
from saslscope.sasl.scram import SCRAM_CLIENTS, derive_scram_keys

from sasl_helpers import run_exchange

RFC5802 = [  # RFC 5802 §5, SCRAM-SHA-1
    b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
]
RFC7677 = [  # RFC 7677 §3, SCRAM-SHA-256
    b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
]
RFC_CASES = [
    ("SCRAM-SHA-1", RFC5802, "fyko+d2lbbFgONRv9qkxdawL", "3rfcNHYJY1ZVvWVs7j", "QSXCR+Q6sek8bf92"),
    ("SCRAM-SHA-256", RFC7677, "rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "W22ZaJ0SNY7soEsUEjb6gQ=="),
]
ALL_NAMES = [cls.name for cls in SCRAM_CLIENTS]
HASH_OF = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


def hash_of(name: str) -> str:
    return HASH_OF[name.removesuffix("-PLUS")]


@pytest.mark.parametrize("name, messages, cnonce, snonce, salt", RFC_CASES)
def test_rfc_exchange_client_side(name, messages, cnonce, snonce, salt):
    client = client_mechanism(name, ClientCredentials("user", "pencil"), nonce=cnonce)
    assert client.initial_response() == messages[0]
    assert client.respond(messages[1]) == messages[2]
    assert client.server_verified is False
    assert client.respond(messages[3]) == b""
    assert client.server_verified is True and client.complete


@pytest.mark.parametrize("name, messages, cnonce, snonce, salt", RFC_CASES)
@pytest.mark.parametrize("stored", ["keys", "password"])
def test_rfc_exchange_server_side(name, messages, cnonce, snonce, salt, stored):
    salt_bytes = base64.b64decode(salt)
    users = MemoryStore()
    if stored == "keys":
        users.add(StoredCredential("user", scram=(derive_scram_keys("pencil", hash_of(name), salt_bytes, 4096),)))
    else:
        users.add(StoredCredential("user", password="pencil"))
    server = server_mechanism(name, users, nonce=snonce, salt=salt_bytes)
    assert server.step(messages[0]).data == messages[1]
    assert server.step(messages[2]) == Success("user", None, final_data=messages[3])


def test_stored_keys_match_the_published_ones():
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    keys = derive_scram_keys("pencil", "sha256", salt, 4096)
    assert base64.b64encode(keys.stored_key) == b"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
    assert base64.b64encode(keys.server_key) == b"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="


BINDINGS = [ChannelBinding(kind, bytes(range(32))) for kind in ("tls-server-end-point", "tls-exporter", "tls-unique")]


def plus_options(name: str, binding: ChannelBinding = BINDINGS[0]) -> dict:
    return {"channel_binding": binding} if name.endswith("-PLUS") else {}


@pytest.mark.parametrize("name", ALL_NAMES)
def test_round_trip_utf8(name):
    users = MemoryStore()
    users.add(StoredCredential("Jürgen,=x", password="pässwörd\u00a0✓"))
    client = client_mechanism(name, ClientCredentials("Jürgen,=x", "pässwörd ✓"), **plus_options(name))
    outcome = run_exchange(client, server_mechanism(name, users, **plus_options(name)))
    assert outcome.username == "Jürgen,=x" and client.server_verified


@pytest.mark.parametrize("binding", BINDINGS, ids=lambda b: b.kind)
def test_every_binding_type_and_mismatch(binding):
    users = MemoryStore()
    users.add(StoredCredential("user", password="pencil"))
    name = "SCRAM-SHA-256-PLUS"
    client = client_mechanism(name, ClientCredentials("user", "pencil"), channel_binding=binding)
    assert client.initial_response().startswith(f"p={binding.kind},,".encode())
    assert run_exchange(client, server_mechanism(name, users, channel_binding=tuple(BINDINGS)))
    # A man in the middle terminates TLS: the client sees other binding data than the server.
    other = ChannelBinding(binding.kind, b"mitm" + binding.data)
    client = client_mechanism(name, ClientCredentials("user", "pencil"), channel_binding=other)
    with pytest.raises(AuthenticationFailed, match="channel bindings don't match"):
        run_exchange(client, server_mechanism(name, users, channel_binding=binding))


def test_unsupported_binding_type_and_downgrade():
    users = MemoryStore()
    users.add(StoredCredential("user", password="pencil"))
    client = client_mechanism("SCRAM-SHA-256-PLUS", ClientCredentials("user", "pencil"), channel_binding=BINDINGS[1])
    with pytest.raises(AuthenticationFailed, match="unsupported channel binding type tls-exporter"):
        run_exchange(client, server_mechanism("SCRAM-SHA-256-PLUS", users, channel_binding=BINDINGS[0]))
    # Client can bind ("y") but chose the non-PLUS mechanism while the server offers -PLUS.
    client = client_mechanism("SCRAM-SHA-256", ClientCredentials("user", "pencil"), channel_binding=BINDINGS[0])
    assert client.initial_response().startswith(b"y,,")
    with pytest.raises(AuthenticationFailed, match="downgrade"):
        server_mechanism("SCRAM-SHA-256", users, channel_binding=BINDINGS[0]).step(client.initial_response())
    # ...whereas a server without TLS binding data accepts "y".
    client = client_mechanism("SCRAM-SHA-256", ClientCredentials("user", "pencil"), channel_binding=BINDINGS[0])
    assert run_exchange(client, server_mechanism("SCRAM-SHA-256", users))


def test_plus_client_needs_binding_data():
    with pytest.raises(InvalidCredentials, match="channel-binding"):
        client_mechanism("SCRAM-SHA-1-PLUS", ClientCredentials("user", "pencil"))


def rfc7677_server(**options):
    users = MemoryStore()
    users.add(StoredCredential("user", password="pencil"))
    return server_mechanism(
        "SCRAM-SHA-256", users, nonce=RFC_CASES[1][3], salt=base64.b64decode(RFC_CASES[1][4]), **options
    )


def test_wrong_password():
    client = client_mechanism("SCRAM-SHA-256", ClientCredentials("user", "pencil2"))
    with pytest.raises(AuthenticationFailed, match="wrong password") as failure:
        run_exchange(client, rfc7677_server())
    assert failure.value.username == "user"


def test_replayed_client_final_is_refused():
    # A recorded client-final replayed against a new exchange: the server nonce differs.
    server = rfc7677_server()
    server = server_mechanism("SCRAM-SHA-256", server.store, salt=base64.b64decode(RFC_CASES[1][4]))
    server.step(RFC7677[0])
    with pytest.raises(AuthenticationFailed, match="replayed"):
        server.step(RFC7677[2])


def test_client_final_nonce_must_be_the_combined_one():
    server = rfc7677_server()
    server.step(RFC7677[0])
    tampered = RFC7677[2].replace(b"$k0,", b"$k1,")
    with pytest.raises(AuthenticationFailed, match="nonce does not match"):
        server.step(tampered)


def test_tampered_server_signature_and_server_error():
    client = client_mechanism("SCRAM-SHA-256", ClientCredentials("user", "pencil"), nonce=RFC_CASES[1][2])
    client.initial_response()
    client.respond(RFC7677[1])
    forged = b"v=" + base64.b64encode(b"\0" * 32)
    with pytest.raises(AuthenticationFailed, match="server signature mismatch"):
        client.respond(forged)
    assert client.server_verified is False and not client.complete
    client = client_mechanism("SCRAM-SHA-256", ClientCredentials("user", "pencil"), nonce=RFC_CASES[1][2])
    client.initial_response()
    client.respond(RFC7677[1])
    with pytest.raises(AuthenticationFailed, match="server error: invalid-proof"):
        client.respond(b"e=invalid-proof")


def test_client_checks_server_first():
    def fresh():
        client = client_mechanism("SCRAM-SHA-256", ClientCredentials("user", "pencil"), nonce="abc", max_iterations=10_000)
        client.initial_response()
        return client

    with pytest.raises(AuthenticationFailed, match="does not extend ours"):
        fresh().respond(b"r=xyz123,s=QSXCR+Q6sek8bf92,i=4096")
    with pytest.raises(AuthenticationFailed, match="does not extend ours"):
        fresh().respond(b"r=abc,s=QSXCR+Q6sek8bf92,i=4096")
    with pytest.raises(MalformedMessage, match="iteration count"):
        fresh().respond(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=10000000")
    with pytest.raises(MalformedMessage, match="mandatory extension"):
        fresh().respond(b"m=foo,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096")
    with pytest.raises(MalformedMessage, match="salt"):
        fresh().respond(b"r=abcdef,s=!!!,i=4096")


def test_unknown_user_is_refused_late_with_a_stable_salt():
    def salt_for(username, store):
        first = server_mechanism("SCRAM-SHA-256", store).step(b"n,,n=" + username + b",r=abc").data
        return dict(item.split(b"=", 1) for item in first.split(b","))[b"s"]

    users = MemoryStore()
    users.add(StoredCredential("user", password="pencil"))
    # Neither an unknown name nor a plaintext-stored one changes its salt between attempts,
    # so the salt does not tell which names exist.
    assert salt_for(b"ghost", users) == salt_for(b"ghost", users)
    assert salt_for(b"user", users) == salt_for(b"user", users)
    assert salt_for(b"ghost", users) != salt_for(b"user", users)
    client = client_mechanism("SCRAM-SHA-256", ClientCredentials("ghost", "pencil"))
    with pytest.raises(AuthenticationFailed, match="unknown user"):
        run_exchange(client, rfc7677_server())


def test_authzid_policy():
    users = MemoryStore()
    users.add(StoredCredential("user", password="pencil"))
    client = client_mechanism("SCRAM-SHA-1", ClientCredentials("user", "pencil", authzid="admin"))
    assert client.initial_response().startswith(b"n,a=admin,")
    with pytest.raises(AuthenticationFailed, match="not authorized"):
        run_exchange(client, server_mechanism("SCRAM-SHA-1", users))
    client = client_mechanism("SCRAM-SHA-1", ClientCredentials("user", "pencil", authzid="admin"))
    outcome = run_exchange(client, server_mechanism("SCRAM-SHA-1", users, authorize=lambda c, z: True))
    assert outcome.authzid == "admin"


@pytest.mark.parametrize("message", [b"x,,n=user,r=abc", b"n,,r=abc,n=user", b"n,,n=us=er,r=abc", b"n,,n=user,r=a,b", b"n,b=1,n=u,r=a"])
def test_server_rejects_malformed_client_first(message):
    with pytest.raises(MalformedMessage):
        rfc7677_server().step(message)


# --- scramp (an independent implementation) as the peer -------------------------------------------

def scramp_binding(name):
    # scramp 1.5 has every hash, and -PLUS without tls-exporter
    return ("tls-server-end-point", bytes(range(32))) if name.endswith("-PLUS") else None


@pytest.mark.parametrize("name", ALL_NAMES)
def test_our_client_against_scramp_server(name):
    mechanism = scramp.ScramMechanism(name)
    salt, stored_key, server_key, iterations = mechanism.make_auth_info("pässwörd", iteration_count=4096)
    server = mechanism.make_server(
        lambda username: (salt, stored_key, server_key, iterations), channel_binding=scramp_binding(name)
    )
    client = client_mechanism(name, ClientCredentials("usér", "pässwörd"), **plus_options(name))
    server.set_client_first(client.initial_response().decode())
    final = client.respond(server.get_server_first().encode())
    server.set_client_final(final.decode())
    assert client.respond(server.get_server_final().encode()) == b""
    assert client.server_verified


@pytest.mark.parametrize("name", ALL_NAMES)
def test_scramp_client_against_our_server(name):
    users = MemoryStore()
    users.add(StoredCredential("usér", scram=(derive_scram_keys("pässwörd", hash_of(name), b"sixteen-byte-slt", 4096),)))
    client = scramp.ScramClient([name], "usér", "pässwörd", channel_binding=scramp_binding(name))
    server = server_mechanism(name, users, **plus_options(name))
    first = server.step(client.get_client_first().encode())
    client.set_server_first(first.data.decode())
    outcome = server.step(client.get_client_final().encode())
    client.set_server_final(outcome.final_data.decode())  # raises if our v= were wrong
    assert outcome.username == "usér"


def test_scramp_client_with_wrong_password_fails_on_our_server():
    users = MemoryStore()
    users.add(StoredCredential("user", password="pencil"))
    client = scramp.ScramClient(["SCRAM-SHA-256"], "user", "crayon")
    server = server_mechanism("SCRAM-SHA-256", users)
    client.set_server_first(server.step(client.get_client_first().encode()).data.decode())
    with pytest.raises(AuthenticationFailed, match="wrong password"):
        server.step(client.get_client_final().encode())
