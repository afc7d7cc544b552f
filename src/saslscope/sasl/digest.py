"""DIGEST-MD5 client (RFC 2831): historic (RFC 6331) but still offered by Cyrus SASL.

The server's challenge carries realm(s), a nonce and the protection it offers; the client
answers with an MD5 digest over the password, both nonces and the ``digest-uri``
(``smtp/<host>`` for SMTP). The server proves itself with ``rspauth``, which the client
checks and answers with an empty response (RFC 2831 §2.1.3). Only ``qop=auth`` (no
security layer) is implemented: integrity and confidentiality are TLS's job.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import ClassVar

from saslscope.sasl.base import ClientCredentials, ClientMechanism
from saslscope.sasl.errors import AuthenticationFailed, InvalidCredentials, MalformedMessage, StateError

# RFC 2831 §7.1 / RFC 2616 §2.2: token or quoted-string values, comma-separated, "#rule" lists.
_DIRECTIVE = re.compile(
    r'\s*(?P<key>[A-Za-z0-9_.-]+)\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^",\s]*))\s*(?:,|$)', re.DOTALL
)
_NONCE_COUNT = "00000001"  # we answer each challenge once (RFC 2831 §2.1.2 nc-value)


def parse_directives(data: bytes) -> list[tuple[str, str]]:
    """``key=value, key="quoted"`` -> ``[(key, value)]`` with keys lower-cased (RFC 2831 §7.1)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("DIGEST-MD5 message is not valid UTF-8") from None
    pairs: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        if text[position] == ",":  # empty list elements are allowed by the #rule
            position += 1
            continue
        match = _DIRECTIVE.match(text, position)
        if match is None or match.end() == position:
            raise MalformedMessage(f"DIGEST-MD5: cannot parse directive at {text[position:position + 20]!r}")
        value = match["quoted"] if match["quoted"] is not None else match["token"]
        pairs.append((match["key"].lower(), re.sub(r"\\(.)", r"\1", value, flags=re.DOTALL)))
        position = match.end()
    if not pairs:
        raise MalformedMessage("DIGEST-MD5 message is empty")
    return pairs


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def _hex_md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _hash_form(text: str, utf8: bool) -> bytes:
    """RFC 2831 §2.1.2.1: with charset=utf-8, strings representable in ISO 8859-1 are still
    hashed in ISO 8859-1; without it, they must be ISO 8859-1."""
    try:
        return text.encode("iso-8859-1")
    except UnicodeEncodeError:
        if utf8:
            return text.encode("utf-8")
        raise InvalidCredentials("the server did not announce charset=utf-8 and a credential is not ISO 8859-1") from None


class DigestMD5Client(ClientMechanism):
    """The client side of RFC 2831 authentication (qop=auth).

    ``host`` is the server's name in ``digest-uri`` (default: the realm), ``service`` its
    protocol (``smtp``), ``realm`` overrides the server's first realm, ``cnonce`` is for tests.
    """

    name: ClassVar[str] = "DIGEST-MD5"
    offline_crackable: ClassVar[bool] = True
    server_speaks_first: ClassVar[bool] = True
    strength: ClassVar[int] = 21

    def __init__(
        self,
        credentials: ClientCredentials,
        *,
        host: str | None = None,
        service: str = "smtp",
        realm: str | None = None,
        cnonce: str | None = None,
    ) -> None:
        if credentials.password is None:
            raise InvalidCredentials("DIGEST-MD5 needs a password")
        self.credentials = credentials
        self.host = host
        self.service = service
        self.realm = realm
        self.cnonce = cnonce if cnonce is not None else os.urandom(12).hex()
        #: the directives of the server's challenge, once received
        self.challenge: dict[str, str] = {}
        self._expected_rspauth: str | None = None
        self._verified = False

    @property
    def server_verified(self) -> bool:
        return self._verified

    def respond(self, challenge: bytes) -> bytes:
        if self._complete:
            raise StateError("DIGEST-MD5 exchange is over")
        if self._expected_rspauth is None:
            return self._digest_response(challenge)
        return self._check_rspauth(challenge)

    def _digest_response(self, challenge: bytes) -> bytes:
        pairs = parse_directives(challenge)
        directives = dict(pairs)
        self.challenge = directives
        realms = [value for key, value in pairs if key == "realm"]
        for required in ("nonce", "algorithm"):
            if [key for key, _ in pairs].count(required) != 1:
                raise MalformedMessage(f"DIGEST-MD5 challenge must have exactly one {required} (RFC 2831 §2.1.1)")
        if directives["algorithm"].lower() != "md5-sess":
            raise MalformedMessage(f"DIGEST-MD5 algorithm {directives['algorithm']!r} is not md5-sess")
        qops = [q.strip().lower() for q in directives.get("qop", "auth").split(",")]
        if "auth" not in qops:
            raise MalformedMessage(f"server offers qop {','.join(qops)} only; we support auth (TLS protects the session)")
        utf8 = directives.get("charset", "").lower() == "utf-8"
        realm = self.realm if self.realm is not None else (realms[0] if realms else "")
        host = self.host or realm
        if not host:
            raise InvalidCredentials("DIGEST-MD5 needs the server's host name for digest-uri (no realm offered)")
        digest_uri = f"{self.service}/{host}"
        nonce, authzid = directives["nonce"], self.credentials.authzid
        assert self.credentials.password is not None
        # RFC 2831 §2.1.2.1: A1 = H(user:realm:pass) ":" nonce ":" cnonce [":" authzid]
        secret = _md5(b":".join(_hash_form(s, utf8) for s in (self.credentials.username, realm, self.credentials.password)))
        a1 = secret + f":{nonce}:{self.cnonce}".encode() + (f":{authzid}".encode() if authzid else b"")
        ha1 = _hex_md5(a1)
        tail = f"{nonce}:{_NONCE_COUNT}:{self.cnonce}:auth:"

        def kd(a2: str) -> str:  # KD(k, s) = H(k:s), qop=auth
            return _hex_md5(f"{ha1}:{tail}{_hex_md5(a2.encode('utf-8'))}".encode())

        response = kd(f"AUTHENTICATE:{digest_uri}")
        self._expected_rspauth = kd(f":{digest_uri}")  # RFC 2831 §2.1.3
        fields = [
            *(["charset=utf-8"] if utf8 else []),
            f"username={_quote(self.credentials.username)}",
            *([f"realm={_quote(realm)}"] if realm else []),
            f"nonce={_quote(nonce)}",
            f"nc={_NONCE_COUNT}",
            f"cnonce={_quote(self.cnonce)}",
            f"digest-uri={_quote(digest_uri)}",
            f"response={response}",
            "qop=auth",
            *([f"authzid={_quote(authzid)}"] if authzid else []),
        ]
        try:
            # RFC 2831 §2.1.2: without charset=utf-8 the message is ISO 8859-1.
            return ",".join(fields).encode("utf-8" if utf8 else "iso-8859-1")
        except UnicodeEncodeError:
            raise InvalidCredentials("the authzid is not ISO 8859-1 and the server did not announce charset=utf-8") from None

    def _check_rspauth(self, challenge: bytes) -> bytes:
        directives = dict(parse_directives(challenge))
        if "rspauth" not in directives:
            raise MalformedMessage("DIGEST-MD5: expected rspauth=... from the server (RFC 2831 §2.1.3)")
        assert self._expected_rspauth is not None
        if not hmac.compare_digest(directives["rspauth"].lower(), self._expected_rspauth):
            raise AuthenticationFailed("DIGEST-MD5 rspauth mismatch: the server does not know the password")
        self._verified = True
        self._complete = True
        return b""
