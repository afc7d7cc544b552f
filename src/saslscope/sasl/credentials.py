"""What a server knows about a user, and where it looks it up.

A server may hold the plaintext password (every mechanism works), SCRAM keys
(RFC 5802 §3: salt, iteration count, StoredKey, ServerKey: SCRAM works, PLAIN/LOGIN can be
checked by recomputing the keys) or a CRAM-MD5 HMAC context (Dovecot's ``{CRAM-MD5}``
scheme: the MD5 states after the inner and outer pad, enough for CRAM-MD5 and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ScramKeys:
    """RFC 5802 §3 server-side SCRAM secrets for one hash (``"sha1"``, ``"sha256"``, ``"sha512"``)."""

    hash_name: str
    salt: bytes
    iterations: int
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)


@dataclass(frozen=True)
class StoredCredential:
    """One user's secrets, in any combination the store has."""

    username: str
    password: str | None = field(default=None, repr=False)
    scram: tuple[ScramKeys, ...] = ()
    #: 32 bytes: the decoded form of Dovecot's ``{CRAM-MD5}`` hex string, i.e. the MD5
    #: chaining state after the outer pad, then after the inner pad, each as four
    #: little-endian words (checked against ``doveadm pw``; see :func:`saslscope.sasl.cram.cram_md5_context`)
    cram_md5_context: bytes | None = field(default=None, repr=False)

    def scram_keys(self, hash_name: str) -> ScramKeys | None:
        return next((k for k in self.scram if k.hash_name == hash_name), None)


class CredentialStore(Protocol):
    """Anything that maps a username to its :class:`StoredCredential` (or None)."""

    def lookup(self, username: str) -> StoredCredential | None: ...


@dataclass
class MemoryStore:
    """A dict-backed store: tests, ``demo``, and the parsed form of a passwd-file."""

    users: dict[str, StoredCredential] = field(default_factory=dict)

    def add(self, credential: StoredCredential) -> None:
        self.users[credential.username] = credential

    def lookup(self, username: str) -> StoredCredential | None:
        return self.users.get(username)
