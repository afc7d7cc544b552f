"""SCRAM (RFC 5802, RFC 7677): salted challenge-response with mutual authentication."""

from __future__ import annotations

import hashlib
import hmac

from saslscope.sasl.credentials import ScramKeys
from saslscope.sasl.errors import InvalidCredentials
from saslscope.sasl.saslprep import saslprep

#: SCRAM hash name -> hashlib name; the mechanism is ``SCRAM-<upper(name with dash)>``
HASHES = {"sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}


def _hmac(hash_name: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hash_name).digest()


def salted_password(password: str, hash_name: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802 §3: ``SaltedPassword := Hi(Normalize(password), salt, i)`` (Hi is PBKDF2)."""
    if hash_name not in HASHES:
        raise InvalidCredentials(f"unknown SCRAM hash {hash_name!r}")
    return hashlib.pbkdf2_hmac(hash_name, saslprep(password).encode("utf-8"), salt, iterations)


def derive_scram_keys(password: str, hash_name: str, salt: bytes, iterations: int) -> ScramKeys:
    """The server-side secrets of RFC 5802 §3 (what a SCRAM verifier stores)."""
    salted = salted_password(password, hash_name, salt, iterations)
    client_key = _hmac(hash_name, salted, b"Client Key")
    return ScramKeys(
        hash_name=hash_name,
        salt=salt,
        iterations=iterations,
        stored_key=hashlib.new(hash_name, client_key).digest(),
        server_key=_hmac(hash_name, salted, b"Server Key"),
    )
