"""OAuth 2.0 bearer-token mechanisms: XOAUTH2 (Google, Microsoft) and OAUTHBEARER (RFC 7628).

Both send the access token in the clear (TLS is mandatory, RFC 7628 §5). On failure the
server sends a JSON error as a challenge (RFC 7628 §3.2.2); the client must answer it
(XOAUTH2: empty; OAUTHBEARER: a single %x01, §3.2.3) and the server then fails the
exchange. The parsed error stays on the mechanism for the caller to report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import ClassVar

from saslscope.sasl.base import ClientCredentials, ClientMechanism
from saslscope.sasl.errors import InvalidCredentials, MalformedMessage, StateError
from saslscope.sasl.gs2 import GS2Header

KVSEP = b"\x01"  # RFC 7628 §3.1 kvsep
# A token must not contain the separator or other control characters (RFC 6750 §2.1 b64token is stricter).
_TOKEN = re.compile(r"[\x20-\x7e]+")


@dataclass(frozen=True)
class OAuthError:
    """The JSON error of RFC 7628 §3.2.2 (Google and Microsoft use the same shape for XOAUTH2)."""

    status: str
    scope: str | None = None
    openid_configuration: str | None = None
    schemes: str | None = None


def parse_oauth_error(challenge: bytes) -> OAuthError:
    """Parse the server's JSON error challenge; MalformedMessage if it is not one."""
    try:
        document = json.loads(challenge.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        raise MalformedMessage("OAuth error challenge is not UTF-8 JSON (RFC 7628 §3.2.2)") from None
    if not isinstance(document, dict) or not isinstance(document.get("status"), str):
        raise MalformedMessage("OAuth error challenge has no \"status\" string (RFC 7628 §3.2.2)")

    def text(key: str) -> str | None:
        value = document.get(key)
        return value if isinstance(value, str) else None

    return OAuthError(document["status"], text("scope"), text("openid-configuration"), text("schemes"))


def _token(credentials: ClientCredentials, mechanism: str) -> str:
    if not credentials.token:
        raise InvalidCredentials(f"{mechanism} needs an OAuth 2.0 access token")
    if not _TOKEN.fullmatch(credentials.token):
        raise InvalidCredentials(f"{mechanism} access token contains control or non-ASCII characters")
    return credentials.token


class _BearerClient(ClientMechanism):
    """Shared behaviour: one initial response, then possibly an error challenge to acknowledge."""

    reveals_secret: ClassVar[bool] = True
    needs_password: ClassVar[bool] = False
    needs_token: ClassVar[bool] = True
    #: what to answer the error challenge with
    error_answer: ClassVar[bytes]

    message: bytes
    #: the server's error, if it sent one
    error: OAuthError | None = None
    _sent = False

    def initial_response(self) -> bytes:
        self._sent = True
        return self.message

    def respond(self, challenge: bytes) -> bytes:
        if self._complete:
            raise StateError(f"{self.name}: the exchange is over")
        if not self._sent:
            if challenge:
                raise MalformedMessage(f"{self.name}: expected an empty challenge before the initial message")
            return self.initial_response()
        self.error = parse_oauth_error(challenge)
        self._complete = True
        return self.error_answer


class XOAuth2Client(_BearerClient):
    """``user={user}^Aauth=Bearer {token}^A^A`` (Google's and Microsoft's XOAUTH2)."""

    name: ClassVar[str] = "XOAUTH2"
    strength: ClassVar[int] = 41
    error_answer: ClassVar[bytes] = b""

    def __init__(self, credentials: ClientCredentials) -> None:
        token = _token(credentials, self.name)
        self.message = f"user={credentials.username}\x01auth=Bearer {token}\x01\x01".encode()


class OAuthBearerClient(_BearerClient):
    """RFC 7628 §3.1: ``gs2-header kvsep [host=..kvsep] [port=..kvsep] auth=Bearer tok kvsep kvsep``.

    The GS2 ``a=`` carries the authorization identity, or the user name when there is none
    (as in the RFC's examples and every mail client).
    """

    name: ClassVar[str] = "OAUTHBEARER"
    strength: ClassVar[int] = 40  # RFC 7628, where XOAUTH2 is a vendor's predecessor
    error_answer: ClassVar[bytes] = KVSEP

    def __init__(self, credentials: ClientCredentials, *, host: str | None = None, port: int | None = None) -> None:
        token = _token(credentials, self.name)
        header = GS2Header.build("n", None, credentials.authzid or credentials.username)
        pairs = [*([f"host={host}"] if host else []), *([f"port={port}"] if port else []), f"auth=Bearer {token}"]
        self.message = (header.raw + "\x01" + "".join(f"{pair}\x01" for pair in pairs) + "\x01").encode("utf-8")
