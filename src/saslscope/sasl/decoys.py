"""Answers about users who do not exist that look and cost the same as for those who do.

A server must not tell an attacker which user names exist (RFC 5802 §9 for SCRAM; the same
holds for PLAIN, LOGIN and CRAM-MD5 through timing). The audit measured three leaks in
``serve``: SCRAM server-first answered real users in 1.2-2 ms (a PBKDF2 of a plaintext
password) and unknown ones in 0.25 ms; stored ``{SCRAM-SHA-256}`` users showed their own
``i=`` and salt length while unknown ones got ``i=4096`` and 16 bytes; PLAIN against a
SCRAM-stored user ran a PBKDF2 that an unknown user did not.

:class:`Decoys` closes them for one credential store:

* SCRAM parameters (iteration count, salt length) are the store's own, the most common
  among its stored keys of that hash (Dovecot's ``doveadm pw`` writes ``i=4096``, Cyrus
  ``i=10000``...), for unknown users and for users stored as plaintext alike;
* salts and made-up keys come from HMAC with a secret derived from the store's own secrets:
  stable across restarts while the file is unchanged (so asking twice, or after a restart,
  shows the same salt, as for a stored user), and unknowable without the store;
* keys of plaintext users are derived once (:meth:`Decoys.warm`, at server start), so SCRAM
  server-first does no key derivation for anyone while a client waits;
* a cleartext check (PLAIN, LOGIN) costs one PBKDF2 at the store's parameters for every
  user, known or not, whenever the store has users that need one (SCRAM-only entries).
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from saslscope.sasl.credentials import CredentialStore, ScramKeys, StoredCredential

#: RFC 7677 §4: at least 4096 iterations; Dovecot's default, and ours without stored keys
DEFAULT_ITERATIONS = 4096
#: the salt length Dovecot's ``doveadm pw -s SCRAM-SHA-256`` writes
DEFAULT_SALT_LENGTH = 16
_DIGEST_SIZES = {"sha1": 20, "sha256": 32, "sha512": 64}


@dataclass(frozen=True)
class ScramParameters:
    """What a SCRAM server-first message reveals about a user's stored keys."""

    iterations: int = DEFAULT_ITERATIONS
    salt_length: int = DEFAULT_SALT_LENGTH


@dataclass
class Decoys:
    """Per-store parameters and secret for answering every user alike (module docstring)."""

    secret: bytes = field(repr=False)
    #: hash name -> the parameters the store's keys of that hash use
    scram: dict[str, ScramParameters] = field(default_factory=dict)
    #: the cost of one cleartext check against a SCRAM-only user (hash, iterations), None
    #: when the store has no such user (then no check does a PBKDF2)
    pbkdf2: tuple[str, int] | None = None
    _derived: dict[tuple[str, str], tuple[StoredCredential, ScramKeys]] = field(default_factory=dict, repr=False)

    @classmethod
    def for_store(cls, store: CredentialStore) -> Decoys:
        """Decoys for ``store``. A store that cannot list its users (anything but a
        :class:`~saslscope.sasl.credentials.MemoryStore`) gets defaults and a random secret."""
        users: dict[str, StoredCredential] | None = getattr(store, "users", None)
        if users is None:
            return cls(secret=os.urandom(32))
        return cls.for_credentials(users.values())

    @classmethod
    def for_credentials(cls, credentials: Iterable[StoredCredential]) -> Decoys:
        material = hashlib.sha256(b"saslscope decoys v1")
        seen: dict[str, collections.Counter[tuple[int, int]]] = collections.defaultdict(collections.Counter)
        pbkdf2: tuple[str, int] | None = None
        for credential in sorted(credentials, key=lambda c: c.username):
            material.update(_secret_material(credential))
            for keys in credential.scram:
                seen[keys.hash_name][(keys.iterations, len(keys.salt))] += 1
            if credential.password is None and credential.scram:
                keys = credential.scram[0]
                if pbkdf2 is None or keys.iterations > pbkdf2[1]:
                    pbkdf2 = (keys.hash_name, keys.iterations)
        scram = {
            hash_name: ScramParameters(*counter.most_common(1)[0][0]) for hash_name, counter in seen.items()
        }
        return cls(secret=material.digest(), scram=scram, pbkdf2=pbkdf2)

    def parameters(self, hash_name: str) -> ScramParameters:
        """The parameters to show for ``hash_name``: the store's own for that hash, else
        those of its other stored keys (a store of SCRAM-SHA-256 keys asked for SCRAM-SHA-1),
        else the defaults."""
        found = self.scram.get(hash_name) or next(iter(self.scram.values()), None)
        return found or ScramParameters()

    def salt(self, hash_name: str, username: str) -> bytes:
        """A stable salt for a user without stored keys of ``hash_name``."""
        return self._expand(b"salt", hash_name, username, self.parameters(hash_name).salt_length)

    def unknown_user_keys(self, hash_name: str, username: str) -> ScramKeys:
        """Keys no password matches, shaped like the store's (computed by HMAC, not PBKDF2:
        real users' keys are stored or derived ahead, so both cost a lookup)."""
        size = _DIGEST_SIZES[hash_name]
        return ScramKeys(
            hash_name=hash_name,
            salt=self.salt(hash_name, username),
            iterations=self.parameters(hash_name).iterations,
            stored_key=self._expand(b"stored-key", hash_name, username, size),
            server_key=self._expand(b"server-key", hash_name, username, size),
        )

    def password_keys(self, credential: StoredCredential, hash_name: str) -> ScramKeys:
        """SCRAM keys of a user stored with a plaintext password (derived once, then cached).

        Raises :class:`~saslscope.sasl.errors.InvalidCredentials` for a password SASLprep refuses.
        """
        cache_key = (hash_name, credential.username)
        cached = self._derived.get(cache_key)
        if cached is not None and cached[0] is credential:
            return cached[1]
        from saslscope.sasl.scram import derive_scram_keys  # (scram imports this module)

        assert credential.password is not None
        parameters = self.parameters(hash_name)
        keys = derive_scram_keys(credential.password, hash_name, self.salt(hash_name, credential.username),
                                 parameters.iterations)
        self._derived[cache_key] = (credential, keys)
        return keys

    def warm(self, store: CredentialStore, hash_names: Iterable[str]) -> None:
        """Derive the SCRAM keys of every plaintext user now (at start-up), so that the first
        SCRAM exchange of a real user costs no more than an unknown user's."""
        from saslscope.sasl.errors import InvalidCredentials

        users: dict[str, StoredCredential] = getattr(store, "users", {})
        for credential in users.values():
            if credential.password is None:
                continue
            for hash_name in hash_names:
                if credential.scram_keys(hash_name) is None:
                    try:
                        self.password_keys(credential, hash_name)
                    except InvalidCredentials:
                        pass  # refused at the proof, with its reason logged

    def equal_work(self, password: str, credential: StoredCredential | None) -> None:
        """Spend what a cleartext check against a SCRAM-only user costs, for a check that did
        not (an unknown user, a plaintext or CRAM-MD5 entry): the timing then says nothing."""
        if self.pbkdf2 is None or (credential is not None and credential.password is None and credential.scram):
            return
        hash_name, iterations = self.pbkdf2
        hashlib.pbkdf2_hmac(hash_name, password.encode("utf-8", "replace"), self.secret, iterations)

    def _expand(self, label: bytes, hash_name: str, username: str, size: int) -> bytes:
        out = b""
        counter = 0
        while len(out) < size:
            message = b"\0".join((label, hash_name.encode(), username.encode("utf-8", "replace"), bytes([counter])))
            out += hmac.new(self.secret, message, hashlib.sha256).digest()
            counter += 1
        return out[:size]


def _secret_material(credential: StoredCredential) -> bytes:
    parts = [credential.username.encode("utf-8", "replace"), (credential.password or "").encode("utf-8", "replace"),
             credential.cram_md5_context or b""]
    for keys in credential.scram:
        parts += [keys.hash_name.encode(), keys.salt, str(keys.iterations).encode(), keys.stored_key, keys.server_key]
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)
