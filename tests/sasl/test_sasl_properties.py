"""Property tests: arbitrary bytes never raise anything but SaslError subclasses; any typed
credentials round-trip."""

from hypothesis import assume, given, settings, strategies as st

from saslscope.sasl import (
    AuthenticationFailed,
    ChannelBinding,
    ClientCredentials,
    InvalidCredentials,
    MemoryStore,
    SaslError,
    StoredCredential,
)
from saslscope.sasl.explain import FAMILIES, explain
from saslscope.sasl.pasted import parse_pasted
from saslscope.sasl.registry import CLIENT_MECHANISMS, SERVER_MECHANISMS, client_mechanism, server_mechanism
from saslscope.sasl.saslprep import saslprep
from saslscope.sasl.scram import derive_scram_keys
from saslscope.sasl.transcript import read_pasted_session

from sasl_helpers import run_exchange

STORE = MemoryStore()
STORE.add(StoredCredential("user", password="pencil"))
STORE.add(StoredCredential("keys", scram=(derive_scram_keys("pencil", "sha256", b"0123456789abcdef", 16),)))
OPTIONS = {"channel_binding": ChannelBinding("tls-exporter", b"x" * 32), "iterations": 16, "hostname": "mx.test"}
# Message-like bytes find deeper paths than uniform noise: mix in fragments of real messages.
FRAGMENTS = [b"n,,n=user,r=", b"c=biws,r=", b",p=", b"user ", b"\0", b"p=tls-exporter,,", b"=2C", b"a=", b"0" * 32, b"\n"]
message_bytes = st.one_of(st.binary(max_size=200), st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=8), max_size=8).map(b"".join))


def run_server(name, steps):
    server = server_mechanism(name, STORE, **OPTIONS)
    for data in steps:
        try:
            server.step(data)
        except SaslError:
            return


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(SERVER_MECHANISMS)), first=st.none() | message_bytes, later=st.lists(message_bytes, max_size=3))
def test_server_mechanisms_raise_only_sasl_errors(name, first, later):
    run_server(name, [first, *later])


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(["SCRAM-SHA-256", "SCRAM-SHA-1-PLUS"]), user=st.sampled_from(["user", "keys", "ghost"]), final=message_bytes)
def test_scram_server_after_a_valid_first_message(name, user, final):
    flag = b"p=tls-exporter,," if name.endswith("PLUS") else b"n,,"
    run_server(name, [flag + b"n=" + user.encode() + b",r=abc", final])


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(CLIENT_MECHANISMS)), challenges=st.lists(message_bytes, min_size=1, max_size=3))
def test_client_mechanisms_raise_only_sasl_errors(name, challenges):
    client = client_mechanism(name, ClientCredentials("user", "pencil", token="tok"), host="h",
                              channel_binding=OPTIONS["channel_binding"])
    try:
        client.initial_response()
        for challenge in challenges:
            client.respond(challenge)
    except SaslError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    blob=message_bytes,
    hint=st.none() | st.sampled_from(FAMILIES),
    direction=st.sampled_from([None, "server", "client"]),
    answering=st.none() | st.sampled_from([b"Username:", b"Password:"]) | message_bytes,
)
def test_explain_raises_only_sasl_errors(blob, hint, direction, answering):
    try:
        explanation = explain(blob, hint, direction, answering=answering)
    except SaslError:
        return
    explanation.lines()
    explanation.to_dict()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=100) | st.from_regex(r"(334 |AUTH PLAIN |\+ )?[A-Za-z0-9+/=]{0,40}", fullmatch=True))
def test_pasted_input_raises_only_sasl_errors(text):
    try:
        parse_pasted(text)
    except SaslError:
        pass
    for _, result in read_pasted_session(text.splitlines()):
        assert isinstance(result, SaslError) or result.data is not None


# Any user name and password a user could type round-trips, and a different password fails.
typed_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS"]),
    username=typed_text,
    password=typed_text,
)
def test_round_trip_for_any_typed_credentials(name, username, password):
    if name.startswith("SCRAM"):
        try:  # SCRAM sends the prepared name and password (RFC 5802 §5.1)
            assume(saslprep(username) == username and saslprep(password))
        except InvalidCredentials:
            assume(False)
    store = MemoryStore()
    store.add(StoredCredential(username, password=password))
    options: dict = {}
    if name.endswith("-PLUS"):
        options["channel_binding"] = ChannelBinding("tls-exporter", b"b" * 32)

    def attempt(candidate):
        client = client_mechanism(name, ClientCredentials(username, candidate), **options)
        return run_exchange(client, server_mechanism(name, store, iterations=64, **options))

    assert attempt(password).username == username
    other = password + "x"
    try:
        attempt(other)
    except AuthenticationFailed:
        pass
    else:  # SASLprep can map two spellings to one password; nothing else may pass
        assert saslprep(other) == saslprep(password)
