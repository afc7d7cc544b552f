"""CRAM-MD5 (RFC 2195): HMAC-MD5 of the server's challenge, keyed with the password.

Client and server, plus Dovecot's ``{CRAM-MD5}`` stored form (the HMAC-MD5 context).
The mechanism lets anyone who records an exchange run an offline dictionary attack, and
the server must keep the password or an equivalent of it: historic, but still offered.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from typing import ClassVar

from saslscope.sasl._exchange import ExchangeServer, decode_utf8
from saslscope.sasl.base import Challenge, ClientCredentials, ClientMechanism, Success
from saslscope.sasl.credentials import CredentialStore, StoredCredential
from saslscope.sasl.decoys import Decoys
from saslscope.sasl.errors import AuthenticationFailed, InvalidCredentials, MalformedMessage, StateError
from saslscope.sasl.md5state import (
    MD5_INITIAL_STATE,
    md5_compress,
    md5_finish,
    state_from_bytes,
    state_to_bytes,
)

_BLOCK = 64  # MD5 block size, the HMAC key length B of RFC 2104 §2

# RFC 2195 §2: the response is the user name, a space, and 32 lower-case hex digits. The
# user name may itself contain spaces, so the digest is whatever follows the last one.
RESPONSE_PATTERN = re.compile(rb"(?P<user>.+) (?P<digest>[0-9a-fA-F]{32})(?P<tail>\r?\n)?", re.DOTALL)


def cram_md5_digest(password: str, challenge: bytes) -> str:
    """The hex HMAC-MD5 of ``challenge`` keyed with the UTF-8 ``password`` (RFC 2195 §2)."""
    return hmac.new(password.encode("utf-8"), challenge, hashlib.md5).hexdigest()


def cram_md5_context(password: str) -> bytes:
    """Dovecot's ``{CRAM-MD5}`` value, decoded: 32 bytes.

    The MD5 chaining states after absorbing ``key XOR opad`` and then ``key XOR ipad``
    (RFC 2104 §2), each as four little-endian 32-bit words, outer state first: the layout
    of Dovecot's ``hmac_md5_get_cram_context()``, checked against ``doveadm pw -s CRAM-MD5``.
    """
    key = password.encode("utf-8")
    if len(key) > _BLOCK:  # RFC 2104 §3: long keys are hashed first
        key = hashlib.md5(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = md5_compress(MD5_INITIAL_STATE, bytes(b ^ 0x36 for b in key))
    outer = md5_compress(MD5_INITIAL_STATE, bytes(b ^ 0x5C for b in key))
    return state_to_bytes(outer) + state_to_bytes(inner)


def cram_md5_digest_from_context(context: bytes, challenge: bytes) -> str:
    """The same digest as :func:`cram_md5_digest`, finished from a stored context."""
    if len(context) != 32:
        raise InvalidCredentials(f"a CRAM-MD5 context is 32 bytes, not {len(context)}")
    outer, inner = state_from_bytes(context[:16]), state_from_bytes(context[16:])
    inner_digest = md5_finish(inner, challenge, _BLOCK)
    return md5_finish(outer, inner_digest, _BLOCK).hex()


class CramMD5Client(ClientMechanism):
    """Answers the one challenge with ``username SP hex-digest`` (RFC 2195 §2)."""

    name: ClassVar[str] = "CRAM-MD5"
    offline_crackable: ClassVar[bool] = True
    server_speaks_first: ClassVar[bool] = True
    strength: ClassVar[int] = 20

    def __init__(self, credentials: ClientCredentials) -> None:
        if credentials.password is None:
            raise InvalidCredentials("CRAM-MD5 needs a password")
        self.credentials = credentials
        #: the hex HMAC-MD5 of the last answer (for ``respond --explain``)
        self.digest: str | None = None

    def respond(self, challenge: bytes) -> bytes:
        if self._complete:
            raise StateError("CRAM-MD5 has a single challenge; the exchange is over")
        if not challenge:
            raise MalformedMessage("the CRAM-MD5 challenge is empty")
        if not challenge.isascii():
            # RFC 2195 §2: the challenge is an RFC 822 msg-id, plain ASCII.
            raise MalformedMessage("the CRAM-MD5 challenge contains non-ASCII bytes")
        assert self.credentials.password is not None
        self.digest = cram_md5_digest(self.credentials.password, challenge)
        self._complete = True
        return f"{self.credentials.username} {self.digest}".encode()


def make_challenge(hostname: str) -> bytes:
    """``<random.unixtime@hostname>``: the msg-id form of RFC 2195 §2 that Cyrus and Dovecot use."""
    return f"<{int.from_bytes(os.urandom(8), 'big')}.{int(time.time())}@{hostname}>".encode("ascii")


class CramMD5Server(ExchangeServer):
    """Sends a challenge, checks ``username SP digest``.

    Strict by default: a response with a trailing newline (what ``echo ... | base64``
    produces) is rejected, with a reason that says so. ``lenient=True`` accepts it, as
    Dovecot and Cyrus do, and also upper-case hex digits.
    """

    name: ClassVar[str] = "CRAM-MD5"

    def __init__(
        self,
        store: CredentialStore,
        *,
        hostname: str = "localhost",
        lenient: bool = False,
        challenge: bytes | None = None,
        decoys: Decoys | None = None,
    ) -> None:
        super().__init__(store, decoys)
        self.lenient = lenient
        #: the challenge sent (injectable for tests)
        self.challenge = challenge if challenge is not None else make_challenge(hostname)

    def _step(self, round_number: int, response: bytes | None) -> Challenge | Success:
        if round_number == 0:
            if response:
                raise MalformedMessage("CRAM-MD5 takes no initial response (RFC 2195 §2)")
            return Challenge(self.challenge)
        if response is None:
            raise MalformedMessage("CRAM-MD5 needs a response to its challenge")
        match = RESPONSE_PATTERN.fullmatch(response)
        if match is None:
            raise MalformedMessage("CRAM-MD5 response is not 'username SP 32-hex-digest' (RFC 2195 §2)")
        username = decode_utf8(match["user"], "CRAM-MD5 user name")
        digest = match["digest"].decode("ascii")
        credential = self._lookup(username)
        if credential is None:
            cram_md5_digest(self.decoys.secret.hex(), self.challenge)  # the work a real user costs
            raise AuthenticationFailed("unknown user", username)
        digest_matches = hmac.compare_digest(self._expected_digest(credential), digest.lower())
        if not self.lenient:
            verdict = "the digest itself is right" if digest_matches else "and the digest is wrong too"
            if match["tail"]:
                raise AuthenticationFailed(
                    "response ends with a newline: the answer was encoded with `echo ... | base64`; "
                    f"use `printf %s` or `echo -n` (RFC 2195 §2 allows no trailing characters; {verdict})",
                    username,
                )
            if digest != digest.lower():
                raise AuthenticationFailed(f"digest is not lower-case hex (RFC 2195 §2; {verdict})", username)
        if not digest_matches:
            raise AuthenticationFailed("wrong password (CRAM-MD5 digest mismatch)", username)
        return Success(username)

    def _expected_digest(self, credential: StoredCredential) -> str:
        if credential.password is not None:
            return cram_md5_digest(credential.password, self.challenge)
        if credential.cram_md5_context is not None:
            return cram_md5_digest_from_context(credential.cram_md5_context, self.challenge)
        raise AuthenticationFailed(
            "no CRAM-MD5 capable credential stored (needs the password or a {CRAM-MD5} context)",
            credential.username,
        )
