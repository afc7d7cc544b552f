"""No user enumeration (issue 10 item 4): unknown users get the same reply shape and the same
work as real ones. Work is counted (PBKDF2 and HMAC-MD5 calls), never timed."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from saslscope.sasl import cram, decoys as decoys_module
from saslscope.sasl.cram import cram_md5_context
from saslscope.sasl.credentials import MemoryStore, StoredCredential
from saslscope.sasl.decoys import Decoys
from saslscope.sasl.errors import AuthenticationFailed
from saslscope.sasl.registry import server_mechanism
from saslscope.sasl.scram import derive_scram_keys
from saslscope.smtp.server.server import ServerConfig, ServerContext


def cyrus_like_store() -> MemoryStore:
    """A {SCRAM-SHA-256} user as the audit found it (i=10000, 24-byte salt), a plaintext user
    and a CRAM-MD5 user."""
    store = MemoryStore()
    store.add(StoredCredential("scram@example.test",
                               scram=(derive_scram_keys("s3cret", "sha256", os.urandom(24), 10_000),)))
    store.add(StoredCredential("plain@example.test", password="pw"))
    store.add(StoredCredential("cram@example.test", cram_md5_context=cram_md5_context("pw")))
    return store


def server_first(store: MemoryStore, username: str, decoys: Decoys, mechanism: str = "SCRAM-SHA-256") -> dict[str, str]:
    server = server_mechanism(mechanism, store, decoys=decoys)
    reply = server.step(f"n,,n={username},r=abcdef".encode()).data.decode()
    return dict(item.split("=", 1) for item in reply.split(","))


@pytest.fixture
def pbkdf2_calls(monkeypatch):
    calls: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counting(hash_name, password, salt, iterations, *rest):
        calls.append(iterations)
        return real(hash_name, password, salt, iterations, *rest)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    return calls


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_server_first_has_the_stores_shape_for_every_name(mechanism):
    store = cyrus_like_store()
    decoys = Decoys.for_store(store)
    shapes = set()
    for name in ("scram@example.test", "plain@example.test", "cram@example.test", "ghost@example.test"):
        first = server_first(store, name, decoys, mechanism)
        shapes.add((first["i"], len(base64.b64decode(first["s"]))))
    assert shapes == {("10000", 24)}


def test_salts_are_stable_across_restarts_and_secret_per_store():
    store = cyrus_like_store()
    first = server_first(store, "ghost@example.test", Decoys.for_store(store))["s"]
    assert server_first(store, "ghost@example.test", Decoys.for_store(store))["s"] == first
    assert server_first(store, "plain@example.test", Decoys.for_store(store))["s"] == \
        server_first(store, "plain@example.test", Decoys.for_store(store))["s"]
    other = cyrus_like_store()  # other keys: another secret
    assert server_first(other, "ghost@example.test", Decoys.for_store(other))["s"] != first


def test_scram_server_first_does_no_key_derivation_for_anyone(pbkdf2_calls, tmp_path):
    from saslscope.smtp.server import MaildirStore, PostfixLog

    store = cyrus_like_store()
    pbkdf2_calls.clear()
    context = ServerContext(ServerConfig(store=store, maildir=MaildirStore(tmp_path / "m"), log=PostfixLog()))
    assert len(pbkdf2_calls) == 2  # the plaintext user's keys, SHA-1 and SHA-256, at start-up
    for name in ("scram@example.test", "plain@example.test", "ghost@example.test", "cram@example.test"):
        pbkdf2_calls.clear()
        server_first(store, name, context.decoys)
        assert pbkdf2_calls == [], name


def test_a_cleartext_check_costs_one_pbkdf2_whoever_the_user_is(pbkdf2_calls):
    store = cyrus_like_store()
    decoys = Decoys.for_store(store)
    for name in ("scram@example.test", "plain@example.test", "cram@example.test", "ghost@example.test"):
        pbkdf2_calls.clear()
        with pytest.raises(AuthenticationFailed):
            server_mechanism("PLAIN", store, decoys=decoys).step(f"\0{name}\0wrong".encode())
        assert pbkdf2_calls == [10_000], name
        pbkdf2_calls.clear()
        login = server_mechanism("LOGIN", store, decoys=decoys)
        login.step(None), login.step(name.encode())
        with pytest.raises(AuthenticationFailed):
            login.step(b"wrong")
        assert pbkdf2_calls == [10_000], name


def test_without_scram_only_users_no_check_pays_for_a_pbkdf2(pbkdf2_calls):
    store = MemoryStore()
    store.add(StoredCredential("plain@example.test", password="pw"))
    decoys = Decoys.for_store(store)
    with pytest.raises(AuthenticationFailed):
        server_mechanism("PLAIN", store, decoys=decoys).step(b"\0ghost\0wrong")
    assert pbkdf2_calls == []


def test_cram_md5_unknown_user_computes_a_digest_too(monkeypatch):
    calls: list[str] = []
    real = cram.cram_md5_digest

    def counting(password, challenge):
        calls.append("digest")
        return real(password, challenge)

    monkeypatch.setattr(cram, "cram_md5_digest", counting)
    store = cyrus_like_store()
    decoys = Decoys.for_store(store)
    for name in ("plain@example.test", "ghost@example.test"):
        calls.clear()
        server = server_mechanism("CRAM-MD5", store, decoys=decoys)
        server.step(None)
        with pytest.raises(AuthenticationFailed):
            server.step(f"{name} {'0' * 32}".encode())
        assert calls == ["digest"], name


def test_decoys_of_a_store_that_cannot_be_listed_still_work():
    class Lookup:
        def lookup(self, username: str) -> StoredCredential | None:
            return None

    decoys = decoys_module.Decoys.for_store(Lookup())
    keys = decoys.unknown_user_keys("sha256", "ghost")
    assert keys.iterations == 4096 and len(keys.salt) == 16 and len(keys.stored_key) == 32
