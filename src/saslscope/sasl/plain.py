"""PLAIN (RFC 4616): ``[authzid] NUL authcid NUL passwd`` in one message.

The password travels as-is (base64 is no protection), so only over TLS.
"""

from __future__ import annotations

from typing import ClassVar

from saslscope.sasl._exchange import Authorizer, ExchangeServer, decode_utf8, same_identity
from saslscope.sasl.base import Challenge, ClientCredentials, ClientMechanism, Success
from saslscope.sasl.credentials import CredentialStore
from saslscope.sasl.decoys import Decoys
from saslscope.sasl.errors import AuthenticationFailed, InvalidCredentials, MalformedMessage, StateError
from saslscope.sasl.passwords import password_matches

_MAX_FIELD = 255  # RFC 4616 §2: each of authzid, authcid, passwd is 1 to 255 octets


def plain_message(authzid: str, authcid: str, password: str) -> bytes:
    """RFC 4616 §2: ``message = [authzid] UTF8NUL authcid UTF8NUL passwd``."""
    return b"\0".join(part.encode("utf-8") for part in (authzid, authcid, password))


class PlainClient(ClientMechanism):
    """Sends the whole message as the initial response (or after an empty challenge)."""

    name: ClassVar[str] = "PLAIN"
    reveals_secret: ClassVar[bool] = True
    strength: ClassVar[int] = 30

    def __init__(self, credentials: ClientCredentials) -> None:
        if credentials.password is None:
            raise InvalidCredentials("PLAIN needs a password")
        self.message = plain_message(credentials.authzid, credentials.username, credentials.password)

    def initial_response(self) -> bytes:
        self._complete = True
        return self.message

    def respond(self, challenge: bytes) -> bytes:
        # RFC 4616 §2 / RFC 4954 §4: without an initial response the server sends an empty
        # challenge and the message is the answer to it.
        if self._complete:
            raise StateError("PLAIN has nothing more to send")
        if challenge:
            raise MalformedMessage("PLAIN expects an empty challenge")
        self._complete = True
        return self.message


def parse_plain(message: bytes) -> tuple[str, str, str]:
    """Split a PLAIN message into ``(authzid, authcid, password)``; MalformedMessage if invalid."""
    parts = message.split(b"\0")
    if len(parts) != 3:
        raise MalformedMessage(f"PLAIN message has {len(parts) - 1} NUL separators, needs 2 (RFC 4616 §2)")
    authzid, authcid, password = (decode_utf8(part, name) for part, name in zip(parts, ("authzid", "authcid", "password")))
    if not parts[1] or not parts[2]:
        raise MalformedMessage("PLAIN authcid and password must not be empty (RFC 4616 §2)")
    if any(len(part) > _MAX_FIELD for part in parts):
        raise MalformedMessage(f"PLAIN field longer than {_MAX_FIELD} octets (RFC 4616 §2)")
    return authzid, authcid, password


def check_password(store: CredentialStore, username: str, password: str, decoys: Decoys | None = None) -> None:
    """Raise :class:`AuthenticationFailed` unless ``password`` is ``username``'s (PLAIN, LOGIN).

    With ``decoys``, every check costs the same, whoever the user is and however stored
    (:meth:`~saslscope.sasl.decoys.Decoys.equal_work`).
    """
    credential = store.lookup(username)
    if decoys is not None:
        decoys.equal_work(password, credential)
    if credential is None:
        raise AuthenticationFailed("unknown user", username)
    if not password_matches(credential, password):
        raise AuthenticationFailed("wrong password", username)


class PlainServer(ExchangeServer):
    """Verifies a PLAIN message. ``authorize`` decides about a differing authzid
    (default: refused, RFC 4616 §2 leaves the policy to the server)."""

    name: ClassVar[str] = "PLAIN"

    def __init__(
        self, store: CredentialStore, *, authorize: Authorizer = same_identity, decoys: Decoys | None = None
    ) -> None:
        super().__init__(store, decoys)
        self.authorize = authorize

    def _step(self, round_number: int, response: bytes | None) -> Challenge | Success:
        if response is None:
            if round_number == 0:
                return Challenge(b"")
            raise MalformedMessage("PLAIN needs a message")
        authzid, authcid, password = parse_plain(response)
        self.claimed_username = authcid
        check_password(self.store, authcid, password, self.decoys)
        if authzid and not self.authorize(authcid, authzid):
            raise AuthenticationFailed(f"{authcid} is not authorized to act as {authzid}", authcid)
        return Success(authcid, authzid or None)
