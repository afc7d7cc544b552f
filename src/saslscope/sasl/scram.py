"""SCRAM (RFC 5802, RFC 7677): salted challenge-response with mutual authentication.

Six mechanisms: SCRAM-SHA-1, -SHA-256, -SHA-512, each with a ``-PLUS`` variant that binds
the exchange to the TLS channel (RFC 5802 §6; binding types tls-server-end-point and
tls-unique from RFC 5929, tls-exporter from RFC 9266 for TLS 1.3).

Exchange (RFC 5802 §5)::

    C: gs2-header client-first-bare       n,,n=user,r=<cnonce>
    S: server-first                       r=<cnonce+snonce>,s=<salt>,i=<iterations>
    C: client-final                       c=<b64 gs2-header+cbdata>,r=<nonce>,p=<proof>
    S: server-final                       v=<server signature>   (or e=<error>)

In SMTP the server-final travels as one more ``334`` challenge answered by an empty line
(RFC 4954 §4), so :meth:`ScramClient.respond` returns ``b""`` for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from typing import ClassVar

from saslscope.sasl._exchange import Authorizer, ExchangeServer, decode_utf8, same_identity
from saslscope.sasl.base import Challenge, ChannelBinding, ClientCredentials, ClientMechanism, Success
from saslscope.sasl.credentials import CredentialStore, ScramKeys, StoredCredential
from saslscope.sasl.decoys import DEFAULT_ITERATIONS, Decoys
from saslscope.sasl.errors import AuthenticationFailed, InvalidCredentials, MalformedMessage, StateError
from saslscope.sasl.gs2 import GS2Header, escape_saslname, split_gs2_header, unescape_saslname
from saslscope.sasl.saslprep import saslprep

#: SCRAM hash name -> mechanism name stem
HASHES = {"sha1": "SCRAM-SHA-1", "sha256": "SCRAM-SHA-256", "sha512": "SCRAM-SHA-512"}
#: channel-binding types we know how to carry (the data comes from the TLS layer)
CHANNEL_BINDING_TYPES = ("tls-server-end-point", "tls-exporter", "tls-unique")
#: a client refuses a server asking for more PBKDF2 rounds than this (a denial of service
#: on the client otherwise; PostgreSQL and Dovecot default to 4096, Cyrus to 10000)
MAX_ITERATIONS = 1_000_000

# RFC 5802 §7: printable = %x21-2B / %x2D-7E (no comma)
_NONCE = re.compile(r"[\x21-\x2b\x2d-\x7e]+")


def _hmac(hash_name: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hash_name).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise MalformedMessage(f"SCRAM {what} is not valid base64") from None


def salted_password(password: str, hash_name: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802 §3: ``SaltedPassword := Hi(Normalize(password), salt, i)`` (Hi is PBKDF2)."""
    if hash_name not in HASHES:
        raise InvalidCredentials(f"unknown SCRAM hash {hash_name!r} (known: {', '.join(HASHES)})")
    if iterations < 1:
        raise InvalidCredentials("the SCRAM iteration count must be positive")
    return hashlib.pbkdf2_hmac(hash_name, saslprep(password).encode("utf-8"), salt, iterations)


def _keys_from_salted(hash_name: str, salt: bytes, iterations: int, salted: bytes) -> ScramKeys:
    client_key = _hmac(hash_name, salted, b"Client Key")
    return ScramKeys(
        hash_name=hash_name,
        salt=salt,
        iterations=iterations,
        stored_key=hashlib.new(hash_name, client_key).digest(),
        server_key=_hmac(hash_name, salted, b"Server Key"),
    )


def derive_scram_keys(password: str, hash_name: str, salt: bytes, iterations: int = DEFAULT_ITERATIONS) -> ScramKeys:
    """The server-side secrets of RFC 5802 §3 (what a SCRAM verifier stores)."""
    return _keys_from_salted(hash_name, salt, iterations, salted_password(password, hash_name, salt, iterations))


def make_nonce() -> str:
    """24 printable characters from 18 random bytes (base64 has no comma)."""
    return _b64(os.urandom(18))


def parse_attributes(message: str, what: str) -> list[tuple[str, str]]:
    """``a=value,b=value`` -> ``[("a", "value"), ...]`` (RFC 5802 §7 ``attr-val``)."""
    pairs = []
    for item in message.split(","):
        if len(item) < 2 or item[1] != "=" or not item[0].isascii() or not item[0].isalpha():
            raise MalformedMessage(f"SCRAM {what}: {item[:20]!r} is not an attribute 'x=value'")
        pairs.append((item[0], item[2:]))
    return pairs


def _expect(pairs: list[tuple[str, str]], index: int, key: str, what: str) -> str:
    if index >= len(pairs) or pairs[index][0] != key:
        raise MalformedMessage(f"SCRAM {what}: attribute {index + 1} must be '{key}=' (RFC 5802 §7)")
    return pairs[index][1]


def _channel_binding_input(header: GS2Header, binding: ChannelBinding | None) -> bytes:
    """The octets whose base64 is ``c=`` (RFC 5802 §7 ``cbind-input``)."""
    data = binding.data if header.flag == "p" and binding is not None else b""
    return header.raw.encode("utf-8") + data


def _mechanism_name(hash_name: str, plus: bool) -> str:
    return HASHES[hash_name] + ("-PLUS" if plus else "")


class ScramClient(ClientMechanism):
    """The client side. Use a concrete variant (``ScramSha256Client``...) or the registry.

    ``channel_binding`` is required for ``-PLUS``; given to a non-PLUS variant it means
    "I could bind, but the server did not offer -PLUS" and sends the ``y`` flag (RFC 5802 §6),
    which lets a server that does offer -PLUS detect a downgrade. ``nonce`` is for tests.
    """

    hash_name: ClassVar[str]
    plus: ClassVar[bool]
    offline_crackable: ClassVar[bool] = True
    can_bind: ClassVar[bool] = True

    def __init__(
        self,
        credentials: ClientCredentials,
        *,
        channel_binding: ChannelBinding | None = None,
        nonce: str | None = None,
        max_iterations: int = MAX_ITERATIONS,
    ) -> None:
        if credentials.password is None:
            raise InvalidCredentials(f"{self.name} needs a password")
        if self.plus and channel_binding is None:
            raise InvalidCredentials(f"{self.name} needs TLS channel-binding data")
        if channel_binding is not None and channel_binding.kind not in CHANNEL_BINDING_TYPES:
            raise InvalidCredentials(f"unknown channel-binding type {channel_binding.kind!r}")
        self.password = credentials.password
        self.channel_binding = channel_binding
        self.max_iterations = max_iterations
        self.nonce = nonce if nonce is not None else make_nonce()
        if not _NONCE.fullmatch(self.nonce):
            raise InvalidCredentials("a SCRAM nonce is printable ASCII without commas")
        if self.plus:
            assert channel_binding is not None
            self.header = GS2Header.build("p", channel_binding.kind, credentials.authzid)
        else:
            self.header = GS2Header.build("y" if channel_binding else "n", None, credentials.authzid)
        username = escape_saslname(saslprep(credentials.username))
        self.client_first_bare = f"n={username},r={self.nonce}"
        self._state = "start"
        self._server_signature: bytes | None = None
        self._verified = False

    def initial_response(self) -> bytes:
        self._state = "first-sent"
        return (self.header.raw + self.client_first_bare).encode("utf-8")

    @property
    def server_verified(self) -> bool:
        return self._verified

    def respond(self, challenge: bytes) -> bytes:
        if self._state == "start" and not challenge:
            return self.initial_response()  # the server asked for the first message (RFC 4954 §4)
        if self._state == "first-sent":
            return self._client_final(decode_utf8(challenge, "SCRAM server-first message"))
        if self._state == "final-sent":
            return self._check_server_final(decode_utf8(challenge, "SCRAM server-final message"))
        raise StateError(f"{self.name}: no message expected in state {self._state}")

    def _client_final(self, server_first: str) -> bytes:
        if server_first.startswith("e="):
            self._state = "failed"
            raise AuthenticationFailed(f"server error: {server_first[2:]}")
        pairs = parse_attributes(server_first, "server-first")
        if pairs and pairs[0][0] == "m":
            raise MalformedMessage("SCRAM server-first: unsupported mandatory extension 'm=' (RFC 5802 §5.1)")
        nonce = _expect(pairs, 0, "r", "server-first")
        salt = unb64(_expect(pairs, 1, "s", "server-first"), "salt")
        iterations_text = _expect(pairs, 2, "i", "server-first")
        if not nonce.startswith(self.nonce) or len(nonce) == len(self.nonce) or not _NONCE.fullmatch(nonce):
            raise AuthenticationFailed("server nonce does not extend ours (RFC 5802 §5.1)")
        if not iterations_text.isdigit() or not 0 < int(iterations_text) <= self.max_iterations:
            raise MalformedMessage(f"SCRAM iteration count {iterations_text[:12]!r} is not in 1..{self.max_iterations}")
        salted = salted_password(self.password, self.hash_name, salt, int(iterations_text))
        keys = _keys_from_salted(self.hash_name, salt, int(iterations_text), salted)
        binding = _b64(_channel_binding_input(self.header, self.channel_binding))
        without_proof = f"c={binding},r={nonce}"
        auth_message = f"{self.client_first_bare},{server_first},{without_proof}".encode()
        client_key = _hmac(self.hash_name, salted, b"Client Key")
        proof = bytes(a ^ b for a, b in zip(client_key, _hmac(self.hash_name, keys.stored_key, auth_message)))
        self._server_signature = _hmac(self.hash_name, keys.server_key, auth_message)
        self._state = "final-sent"
        return f"{without_proof},p={_b64(proof)}".encode()

    def _check_server_final(self, server_final: str) -> bytes:
        self._state = "failed"
        if server_final.startswith("e="):
            raise AuthenticationFailed(f"server error: {server_final[2:]}")
        pairs = parse_attributes(server_final, "server-final")
        signature = unb64(_expect(pairs, 0, "v", "server-final"), "server signature")
        assert self._server_signature is not None
        if not hmac.compare_digest(signature, self._server_signature):
            raise AuthenticationFailed(
                "server signature mismatch: the server does not know the password, or the exchange was tampered with"
            )
        self._verified = True
        self._complete = True
        self._state = "done"
        return b""


class ScramServer(ExchangeServer):
    """The server side, verifying against stored ScramKeys or a plaintext password.

    ``channel_binding`` is this connection's TLS binding data (one or several types); a
    server that has it offers the -PLUS variants, so a client sending ``y`` is refused as
    a downgrade (RFC 5802 §6).

    Unknown users, and users stored as plaintext, are answered with the store's own SCRAM
    parameters and stable salts (``decoys``, see :mod:`saslscope.sasl.decoys`; a server
    passes one per store, built once): the server-first message and its cost are the same
    for every name. ``nonce`` (server part), ``salt`` and ``iterations`` are for tests: they
    override what is used to derive a plaintext user's keys.
    """

    hash_name: ClassVar[str]
    plus: ClassVar[bool]

    def __init__(
        self,
        store: CredentialStore,
        *,
        channel_binding: ChannelBinding | tuple[ChannelBinding, ...] | None = None,
        iterations: int | None = None,
        nonce: str | None = None,
        salt: bytes | None = None,
        authorize: Authorizer = same_identity,
        decoys: Decoys | None = None,
    ) -> None:
        super().__init__(store, decoys)
        bindings = (channel_binding,) if isinstance(channel_binding, ChannelBinding) else channel_binding or ()
        self.bindings = {binding.kind: binding for binding in bindings}
        self.iterations = iterations
        self.server_nonce = nonce if nonce is not None else make_nonce()
        self.salt = salt
        self.authorize = authorize
        self._header: GS2Header | None = None
        self._keys: ScramKeys | None = None
        self._refusal: str | None = None  # why the exchange will fail once the proof arrives
        self._nonce = ""
        self._username = ""
        self._auth_prefix = ""

    def _step(self, round_number: int, response: bytes | None) -> Challenge | Success:
        if round_number == 0 and response is None:
            return Challenge(b"")
        if response is None:
            raise MalformedMessage(f"{self.name} needs a client message")
        text = decode_utf8(response, f"{self.name} message")
        if self._header is None:
            return self._server_first(text)
        return self._verify_final(text)

    def _server_first(self, client_first: str) -> Challenge:
        header, bare = split_gs2_header(client_first)
        self._check_binding_flag(header)
        pairs = parse_attributes(bare, "client-first")
        if pairs and pairs[0][0] == "m":
            raise MalformedMessage("SCRAM client-first: unsupported mandatory extension 'm=' (RFC 5802 §5.1)")
        username = unescape_saslname(_expect(pairs, 0, "n", "client-first"))
        client_nonce = _expect(pairs, 1, "r", "client-first")
        if not username:
            raise MalformedMessage("SCRAM client-first: empty user name")
        if not _NONCE.fullmatch(client_nonce):
            raise MalformedMessage("SCRAM client nonce must be printable ASCII without commas (RFC 5802 §7)")
        self._header, self._username = header, username
        self._keys = self._keys_for(self._lookup(username))
        self._nonce = client_nonce + self.server_nonce
        server_first = f"r={self._nonce},s={_b64(self._keys.salt)},i={self._keys.iterations}"
        self._auth_prefix = f"{bare},{server_first},"
        return Challenge(server_first.encode("utf-8"))

    def _check_binding_flag(self, header: GS2Header) -> None:
        if self.plus:
            if header.flag != "p":
                raise AuthenticationFailed(f"{self.name} requires channel binding but the client sent '{header.flag}'")
            if header.cb_name not in self.bindings:
                offered = ", ".join(self.bindings) or "none"
                raise AuthenticationFailed(
                    f"unsupported channel binding type {header.cb_name} (this connection has: {offered})"
                )
        elif header.flag == "p":
            raise AuthenticationFailed(f"client asked for channel binding in the non-PLUS {self.name}")
        elif header.flag == "y" and self.bindings:
            raise AuthenticationFailed(
                "server does support channel binding (client sent 'y'): possible downgrade attack (RFC 5802 §6)"
            )

    def _keys_for(self, credential: StoredCredential | None) -> ScramKeys:
        # Made for every name, used for unknown ones: the lookup costs the same either way.
        decoy = self.decoys.unknown_user_keys(self.hash_name, self._username)
        if credential is not None:
            keys = credential.scram_keys(self.hash_name)
            if keys is not None:
                return keys
            if credential.password is not None:
                try:
                    return self._password_keys(credential)
                except InvalidCredentials:
                    self._refusal = "stored password is not valid for SCRAM (SASLprep)"
            else:
                self._refusal = f"no {HASHES[self.hash_name]} credential stored for this user"
        else:
            self._refusal = "unknown user"
        # Carry on with made-up keys and fail at the proof (RFC 5802 §9: do not reveal why early).
        return decoy

    def _password_keys(self, credential: StoredCredential) -> ScramKeys:
        if self.salt is None and self.iterations is None:
            return self.decoys.password_keys(credential, self.hash_name)
        assert credential.password is not None
        salt = self.salt if self.salt is not None else self.decoys.salt(self.hash_name, credential.username)
        iterations = self.iterations or self.decoys.parameters(self.hash_name).iterations
        return derive_scram_keys(credential.password, self.hash_name, salt, iterations)

    def _verify_final(self, client_final: str) -> Success:
        assert self._header is not None and self._keys is not None
        pairs = parse_attributes(client_final, "client-final")
        binding = unb64(_expect(pairs, 0, "c", "client-final"), "channel binding")
        nonce = _expect(pairs, 1, "r", "client-final")
        if pairs[-1][0] != "p" or len(pairs) < 3:
            raise MalformedMessage("SCRAM client-final must end with 'p=<proof>' (RFC 5802 §7)")
        proof = unb64(pairs[-1][1], "proof")
        expected_binding = _channel_binding_input(self._header, self.bindings.get(self._header.cb_name or ""))
        if not hmac.compare_digest(binding, expected_binding):
            raise AuthenticationFailed("channel bindings don't match (RFC 5802 §6)", self._username)
        if not hmac.compare_digest(nonce.encode("utf-8"), self._nonce.encode("utf-8")):
            raise AuthenticationFailed(
                "nonce does not match this exchange (a replayed client-final?)", self._username
            )
        if self._refusal is not None:
            raise AuthenticationFailed(self._refusal, self._username)
        without_proof = client_final[: client_final.rindex(",p=")]
        auth_message = (self._auth_prefix + without_proof).encode("utf-8")
        keys = self._keys
        signature = _hmac(self.hash_name, keys.stored_key, auth_message)
        if len(proof) != len(signature):
            raise AuthenticationFailed("wrong password (SCRAM proof has the wrong length)", self._username)
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.new(self.hash_name, client_key).digest(), keys.stored_key):
            raise AuthenticationFailed("wrong password (SCRAM proof mismatch)", self._username)
        authzid = self._header.authzid
        if authzid and not self.authorize(self._username, authzid):
            raise AuthenticationFailed(f"{self._username} is not authorized to act as {authzid}", self._username)
        server_signature = _hmac(self.hash_name, keys.server_key, auth_message)
        return Success(self._username, authzid or None, final_data=f"v={_b64(server_signature)}".encode("ascii"))


_STRONGEST_HASH_FIRST = ("sha512", "sha256", "sha1")


def _variant(base: type, hash_name: str, plus: bool) -> type:
    stem = HASHES[hash_name].title().replace("-", "")  # ScramSha256
    role = "Client" if issubclass(base, ClientMechanism) else "Server"
    # strength (clients): every -PLUS variant before any plain one, then the longer hash first
    strength = (0 if plus else 10) + _STRONGEST_HASH_FIRST.index(hash_name)
    attributes = {
        "name": _mechanism_name(hash_name, plus), "hash_name": hash_name, "plus": plus, "strength": strength,
        "__module__": __name__,
    }
    return type(f"{stem}{'Plus' if plus else ''}{role}", (base,), attributes)


#: the concrete classes, strongest hash first, -PLUS before plain
SCRAM_CLIENTS: tuple[type[ScramClient], ...] = tuple(
    _variant(ScramClient, h, plus) for h in _STRONGEST_HASH_FIRST for plus in (True, False)
)
SCRAM_SERVERS: tuple[type[ScramServer], ...] = tuple(
    _variant(ScramServer, h, plus) for h in _STRONGEST_HASH_FIRST for plus in (True, False)
)
