"""Explain a SASL message: what it is, its fields, and which of them are secret.

``explain(blob, mechanism=None, direction=None)`` takes the decoded bytes (base64 is the
caller's business, see :mod:`saslscope.sasl.b64`). Without a mechanism hint the message is
recognised by its shape; with one it must parse as that mechanism's message or
:class:`MalformedMessage` says why. Used by ``saslscope decode``, ``respond --explain`` and
the SMTP transcript, which masks :attr:`Field.secret` values unless asked not to.
"""

from __future__ import annotations

import binascii
import dataclasses
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from saslscope.sasl.cram import RESPONSE_PATTERN
from saslscope.sasl.digest import parse_directives
from saslscope.sasl.errors import MalformedMessage, UnsupportedMechanism
from saslscope.sasl.gs2 import split_gs2_header, unescape_saslname
from saslscope.sasl.login import prompt_asks_password
from saslscope.sasl.oauth import parse_oauth_error
from saslscope.sasl.plain import parse_plain
from saslscope.sasl.scram import DEFAULT_ITERATIONS, parse_attributes, unb64

MASK = "********"
_LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last instant datetime can show


@dataclass(frozen=True)
class Field:
    """One named part of a message. ``secret`` values are masked unless shown on request."""

    name: str
    value: str
    secret: bool = False
    note: str = ""


@dataclass(frozen=True)
class Explanation:
    """What a message is. ``kind`` is a stable identifier (``"cram-md5-challenge"``...)."""

    kind: str
    title: str
    mechanism: str | None = None
    direction: str | None = None  # "server" (a challenge) or "client" (a response)
    fields: tuple[Field, ...] = ()
    warnings: tuple[str, ...] = ()

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def has_secrets(self) -> bool:
        return any(f.secret for f in self.fields)

    def to_dict(self, *, show_secrets: bool = False) -> dict[str, object]:
        """JSON-ready form; secret values are replaced by :data:`MASK` unless ``show_secrets``."""
        return {
            "kind": self.kind,
            "title": self.title,
            "mechanism": self.mechanism,
            "direction": self.direction,
            "fields": [
                {
                    "name": f.name,
                    "value": f.value if show_secrets or not f.secret else MASK,
                    "secret": f.secret,
                    **({"note": f.note} if f.note else {}),
                }
                for f in self.fields
            ],
            "warnings": list(self.warnings),
        }

    def lines(self, *, show_secrets: bool = False) -> list[str]:
        """Plain-text rendering: a title, aligned ``name: value`` lines, then warnings.
        Control characters in values are escaped, so a hostile blob cannot drive the terminal."""
        width = max((len(f.name) for f in self.fields), default=0)
        out = [self.title]
        for f in self.fields:
            value = printable(f.value) if show_secrets or not f.secret else f"{MASK} (secret; --show-secrets to show)"
            out.append(f"  {f.name.ljust(width)}  {value}" + (f"  ({f.note})" if f.note else ""))
        out += [f"  warning: {w}" for w in self.warnings]
        return out


def printable(data: bytes | str) -> str:
    """Text with control and undecodable characters escaped, safe for a terminal."""
    text = data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else data
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _utf8(blob: bytes) -> str:
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("not valid UTF-8") from None


# --- CRAM-MD5 (RFC 2195) ---------------------------------------------------------------------

_MSG_ID = re.compile(rb"<(?P<local>[\x21-\x3b\x3d\x3f-\x7e]+)@(?P<host>[\x21-\x3b\x3d\x3f-\x7e]+)>")


def _cram_challenge(blob: bytes) -> Explanation:
    match = _MSG_ID.fullmatch(blob)
    if match is None:
        raise MalformedMessage("a CRAM-MD5 challenge is a msg-id '<...@host>' (RFC 2195 §2)")
    local, host = match["local"].decode("ascii"), match["host"].decode("ascii")
    fields = [Field("msg-id", blob.decode("ascii"))]
    # Cyrus SASL, Dovecot and Postfix send <random.unixtime@host>; RFC 2195's example <pid.clock@host>.
    random_part, _, clock = local.rpartition(".")
    if random_part and clock.isdigit() and len(clock) <= 12:
        fields.append(Field("random", random_part))
        fields.append(Field("timestamp", clock, note="Unix time"))
        if int(clock) <= _LATEST_TIMESTAMP:
            when = datetime.fromtimestamp(int(clock), tz=timezone.utc)
            fields.append(Field("time", when.strftime("%Y-%m-%d %H:%M:%S UTC")))
    fields.append(Field("host", host, note="the server's name for itself"))
    return Explanation("cram-md5-challenge", "CRAM-MD5 challenge (server)", "CRAM-MD5", "server", tuple(fields))


def _cram_response(blob: bytes) -> Explanation:
    match = RESPONSE_PATTERN.fullmatch(blob)
    if match is None:
        raise MalformedMessage("a CRAM-MD5 response is 'username SP 32-hex-digest' (RFC 2195 §2)")
    digest = match["digest"].decode("ascii")
    warnings = []
    if match["tail"]:
        warnings.append(
            "ends with a newline: the answer was encoded with `echo ... | base64` (the write-up's bug); "
            "strict servers reject it, lenient ones (Dovecot, Cyrus) accept it. Use `printf %s` or `echo -n`."
        )
    if digest != digest.lower():
        warnings.append("digest is upper-case hex; RFC 2195 §2 asks for lower-case")
    fields = (
        Field("username", printable(match["user"])),
        Field("digest", digest, note="HMAC-MD5 of the challenge keyed with the password; crackable offline"),
    )
    return Explanation("cram-md5-response", "CRAM-MD5 response (client)", "CRAM-MD5", "client", fields, tuple(warnings))


# --- PLAIN (RFC 4616), LOGIN, EXTERNAL, ANONYMOUS --------------------------------------------------


def _plain(blob: bytes) -> Explanation:
    authzid, authcid, password = parse_plain(blob)
    fields = (
        Field("authzid", authzid or "(none: act as the authcid)"),
        Field("authcid", authcid),
        Field("password", printable(password), secret=True),
    )
    return Explanation("plain-message", "PLAIN message (client)", "PLAIN", "client", fields)


def _login_prompt(blob: bytes) -> Explanation:
    asks_password = prompt_asks_password(blob)
    if asks_password is None or len(blob) > 64:
        raise MalformedMessage("not a LOGIN prompt ('Username:' or 'Password:')")
    meaning = "asks for the password" if asks_password else "asks for the user name"
    return Explanation(
        "login-prompt", "LOGIN prompt (server)", "LOGIN", "server", (Field("prompt", printable(blob), note=meaning),)
    )


def _login_value(blob: bytes) -> Explanation:
    # Without the prompt it answers we cannot tell a user name from a password: mask it.
    field = Field("value", printable(blob), secret=True, note="the user name or the password, whichever was asked")
    return Explanation("login-value", "LOGIN answer (client)", "LOGIN", "client", (field,))


def _login_answer(blob: bytes, asks_password: bool) -> Explanation:
    if asks_password:
        field = Field("password", printable(blob), secret=True)
        return Explanation("login-password", "LOGIN password (client)", "LOGIN", "client", (field,))
    field = Field("username", printable(blob))
    return Explanation("login-username", "LOGIN user name (client)", "LOGIN", "client", (field,))


def _external(blob: bytes) -> Explanation:
    field = Field("authzid", printable(_utf8(blob)) or "(none: the identity the TLS certificate proves)")
    return Explanation("external-message", "EXTERNAL message (client)", "EXTERNAL", "client", (field,))


def _anonymous(blob: bytes) -> Explanation:
    field = Field("trace", printable(_utf8(blob)) or "(none)")
    return Explanation("anonymous-message", "ANONYMOUS message (client)", "ANONYMOUS", "client", (field,))


# --- XOAUTH2 and OAUTHBEARER (RFC 7628) ------------------------------------------------------------

_XOAUTH2 = re.compile(rb"user=(?P<user>[^\x01]*)\x01auth=(?P<scheme>[^\x01 ]+) (?P<token>[^\x01]*)\x01\x01")


def _bearer_token_fields(scheme: str, token: str) -> list[Field]:
    return [Field("auth scheme", scheme), Field("token", printable(token), secret=True, note="OAuth 2.0 access token")]


def _xoauth2(blob: bytes) -> Explanation:
    match = _XOAUTH2.fullmatch(blob)
    if match is None:
        raise MalformedMessage("an XOAUTH2 message is 'user=U ^A auth=Bearer TOKEN ^A ^A'")
    fields = [Field("user", printable(match["user"])), *_bearer_token_fields(printable(match["scheme"]), _utf8(match["token"]))]
    return Explanation("xoauth2-message", "XOAUTH2 message (client)", "XOAUTH2", "client", tuple(fields))


def _oauthbearer(blob: bytes) -> Explanation:
    header, rest = split_gs2_header(_utf8(blob))
    if not rest.startswith("\x01") or not rest.endswith("\x01\x01"):
        raise MalformedMessage("an OAUTHBEARER message is 'gs2-header ^A key=value^A ... ^A' (RFC 7628 §3.1)")
    fields = [Field("gs2 flag", header.flag), Field("authzid", header.authzid or "(none)")]
    has_auth = False
    for pair in rest[1:-2].split("\x01"):
        key, sep, value = pair.partition("=")
        if not sep or not key.isalpha():
            raise MalformedMessage(f"OAUTHBEARER key/value {printable(pair[:20])!r} is not key=value (RFC 7628 §3.1)")
        if key == "auth":
            scheme, _, token = value.partition(" ")
            fields += _bearer_token_fields(scheme, token)
            has_auth = True
        else:
            fields.append(Field(key, printable(value)))
    if not has_auth:
        raise MalformedMessage("OAUTHBEARER message lacks the required auth= (RFC 7628 §3.1)")
    return Explanation("oauthbearer-message", "OAUTHBEARER message (client)", "OAUTHBEARER", "client", tuple(fields))


def _oauthbearer_ack(blob: bytes) -> Explanation:
    if blob != b"\x01":
        raise MalformedMessage("not the single %x01 of RFC 7628 §3.2.3")
    field = Field("message", "%x01", note="acknowledges the server's error; the server now fails the exchange")
    return Explanation("oauthbearer-error-ack", "OAUTHBEARER error acknowledgement (client)", "OAUTHBEARER", "client", (field,))


def _oauth_error(blob: bytes) -> Explanation:
    error = parse_oauth_error(blob)
    fields = [Field("status", error.status)]
    for name, value in (("scope", error.scope), ("schemes", error.schemes), ("openid-configuration", error.openid_configuration)):
        if value is not None:
            fields.append(Field(name, printable(value)))
    return Explanation("oauth-error", "OAuth error (server; RFC 7628 §3.2.2)", "OAUTHBEARER/XOAUTH2", "server", tuple(fields))


# --- SCRAM (RFC 5802) ----------------------------------------------------------------------------------

_CBIND_MEANING = {
    "n": "n: client does not support channel binding",
    "y": "y: client supports channel binding but thinks the server does not",
    "p": "p: bound to the TLS channel",
}


def _extensions(pairs: list[tuple[str, str]]) -> list[Field]:
    return [Field(f"extension {key}", printable(value)) for key, value in pairs]


def _scram_client_first(blob: bytes) -> Explanation:
    header, bare = split_gs2_header(_utf8(blob))
    pairs = parse_attributes(bare, "client-first")
    warnings = []
    if pairs and pairs[0][0] == "m":        # RFC 5802 §7 reserved-mext: servers must fail the exchange
        warnings.append(f"mandatory extension m={printable(pairs[0][1])}: a server that does not know it "
                        "must refuse the authentication (RFC 5802 §5.1)")
        pairs = pairs[1:]
    if len(pairs) < 2 or pairs[0][0] != "n" or pairs[1][0] != "r":
        raise MalformedMessage("SCRAM client-first is 'gs2-header n=user,r=nonce' (RFC 5802 §7)")
    fields = [Field("channel binding", _CBIND_MEANING[header.flag])]
    if header.cb_name:
        fields.append(Field("binding type", header.cb_name))
    fields += [
        Field("authzid", header.authzid or "(none)"),
        Field("username", printable(unescape_saslname(pairs[0][1]))),
        Field("client nonce", printable(pairs[1][1])),
        *_extensions(pairs[2:]),
    ]
    return Explanation("scram-client-first", "SCRAM client-first message (client)", "SCRAM", "client", tuple(fields),
                       tuple(warnings))


def _scram_server_first(blob: bytes) -> Explanation:
    pairs = parse_attributes(_utf8(blob), "server-first")
    keys = [key for key, _ in pairs]
    if keys[:3] != ["r", "s", "i"] or not pairs[2][1].isdigit() or len(pairs[2][1]) > 12:
        raise MalformedMessage("SCRAM server-first is 'r=nonce,s=salt,i=iterations' (RFC 5802 §7)")
    salt = unb64(pairs[1][1], "salt")
    iterations = int(pairs[2][1])
    warnings = []
    if iterations < DEFAULT_ITERATIONS:
        warnings.append(f"{iterations} iterations is below the {DEFAULT_ITERATIONS} RFC 7677 §4 asks for")
    fields = (
        Field("nonce", printable(pairs[0][1]), note="the client's nonce followed by the server's"),
        Field("salt", pairs[1][1], note=f"{len(salt)} octets"),
        Field("iterations", str(iterations)),
        *_extensions(pairs[3:]),
    )
    return Explanation("scram-server-first", "SCRAM server-first message (server)", "SCRAM", "server", fields, tuple(warnings))


def _scram_client_final(blob: bytes) -> Explanation:
    pairs = parse_attributes(_utf8(blob), "client-final")
    if len(pairs) < 3 or pairs[0][0] != "c" or pairs[1][0] != "r" or pairs[-1][0] != "p":
        raise MalformedMessage("SCRAM client-final is 'c=binding,r=nonce,p=proof' (RFC 5802 §7)")
    binding = unb64(pairs[0][1], "channel binding")
    first_comma = binding.find(b",")
    second_comma = binding.find(b",", first_comma + 1) if first_comma >= 0 else -1
    if second_comma < 0:
        raise MalformedMessage("SCRAM c= does not start with a GS2 header (RFC 5802 §7)")
    fields = [Field("gs2 header", printable(binding[: second_comma + 1]))]
    if binding[second_comma + 1 :]:
        fields.append(Field("binding data", binding[second_comma + 1 :].hex(), note=f"{len(binding) - second_comma - 1} octets"))
    proof = unb64(pairs[-1][1], "proof")
    fields += [
        Field("nonce", printable(pairs[1][1])),
        *_extensions(pairs[2:-1]),
        Field("proof", pairs[-1][1], note=f"{len(proof)} octets; with the other messages, crackable offline"),
    ]
    return Explanation("scram-client-final", "SCRAM client-final message (client)", "SCRAM", "client", tuple(fields))


def _scram_server_final(blob: bytes) -> Explanation:
    pairs = parse_attributes(_utf8(blob), "server-final")
    if pairs[0][0] == "e":
        fields = (Field("error", printable(pairs[0][1])),)
    elif pairs[0][0] == "v":
        signature = unb64(pairs[0][1], "server signature")
        fields = (Field("server signature", pairs[0][1], note=f"{len(signature)} octets; proves the server knows the password"),)
    else:
        raise MalformedMessage("SCRAM server-final is 'v=signature' or 'e=error' (RFC 5802 §7)")
    return Explanation("scram-server-final", "SCRAM server-final message (server)", "SCRAM", "server", fields + tuple(_extensions(pairs[1:])))


# --- DIGEST-MD5 (RFC 2831) -------------------------------------------------------------------------


def _directive_fields(pairs: list[tuple[str, str]]) -> tuple[Field, ...]:
    notes = {"response": "MD5 over password, nonces and digest-uri; crackable offline"}
    return tuple(Field(key, printable(value), note=notes.get(key, "")) for key, value in pairs)


def _digest_challenge(blob: bytes) -> Explanation:
    pairs = parse_directives(blob)
    keys = {key for key, _ in pairs}
    if "nonce" not in keys or "algorithm" not in keys or keys & {"username", "response", "rspauth"}:
        raise MalformedMessage("a DIGEST-MD5 challenge has nonce= and algorithm= (RFC 2831 §2.1.1)")
    return Explanation("digest-md5-challenge", "DIGEST-MD5 challenge (server)", "DIGEST-MD5", "server", _directive_fields(pairs))


def _digest_response(blob: bytes) -> Explanation:
    pairs = parse_directives(blob)
    keys = {key for key, _ in pairs}
    if not {"username", "nonce", "response"} <= keys:
        raise MalformedMessage("a DIGEST-MD5 response has username=, nonce= and response= (RFC 2831 §2.1.2)")
    return Explanation("digest-md5-response", "DIGEST-MD5 response (client)", "DIGEST-MD5", "client", _directive_fields(pairs))


def _digest_rspauth(blob: bytes) -> Explanation:
    pairs = parse_directives(blob)
    if [key for key, _ in pairs] != ["rspauth"]:
        raise MalformedMessage("not a DIGEST-MD5 rspauth=... message (RFC 2831 §2.1.3)")
    field = Field("rspauth", printable(pairs[0][1]), note="proves the server knows the password")
    return Explanation("digest-md5-rspauth", "DIGEST-MD5 response-auth (server)", "DIGEST-MD5", "server", (field,))


# --- NTLM (MS-NLMP), as Exchange and IIS offer it with AUTH NTLM ----------------------------------------
# Not a registered SASL mechanism, but the one Windows mail servers speak; its challenge tells
# anyone who asks the server's NetBIOS and DNS names and Windows build (MS-NLMP §2.2.1.2).

_NTLM_SIGNATURE = b"NTLMSSP\x00"
_NTLM_UNICODE, _NTLM_VERSION_FLAG, _NTLM_ANONYMOUS = 0x00000001, 0x02000000, 0x00000800
_NTLM_FLAG_NAMES = (  # MS-NLMP §2.2.2.5, the ones worth reading
    (0x00000001, "UNICODE"), (0x00000002, "OEM"), (0x00000004, "REQUEST_TARGET"), (0x00000010, "SIGN"),
    (0x00000020, "SEAL"), (0x00000200, "NTLM"), (0x00000800, "ANONYMOUS"), (0x00008000, "ALWAYS_SIGN"),
    (0x00080000, "EXTENDED_SESSIONSECURITY"), (0x00800000, "TARGET_INFO"), (0x02000000, "VERSION"),
    (0x20000000, "128"), (0x40000000, "KEY_EXCH"), (0x80000000, "56"),
)
_NTLM_AV_NAMES = {1: "NetBIOS computer", 2: "NetBIOS domain", 3: "DNS computer", 4: "DNS domain", 5: "DNS forest",
                  9: "target SPN"}
_FILETIME_EPOCH_OFFSET = 116444736000000000        # 100 ns intervals from 1601-01-01 to 1970-01-01


def _ntlm_buffer(blob: bytes, at: int) -> bytes:
    """An MS-NLMP §2.2.2 security buffer: length, allocated length, offset (little-endian)."""
    if len(blob) < at + 8:
        raise MalformedMessage("NTLM message too short for its fields (MS-NLMP §2.2.1)")
    length, _, offset = struct.unpack_from("<HHI", blob, at)
    if length and offset + length > len(blob):
        raise MalformedMessage("NTLM field points past the end of the message (MS-NLMP §2.2.2)")
    return blob[offset:offset + length]


def _ntlm_text(data: bytes, flags: int) -> str:
    return printable(data.decode("utf-16-le" if flags & _NTLM_UNICODE else "latin-1", "replace"))


def _ntlm_flags_field(flags: int) -> Field:
    names = [name for bit, name in _NTLM_FLAG_NAMES if flags & bit]
    return Field("flags", f"0x{flags:08x}", note=" ".join(names))


def _ntlm_version(blob: bytes, at: int, flags: int) -> list[Field]:
    if not flags & _NTLM_VERSION_FLAG or len(blob) < at + 8:
        return []
    major, minor, build = struct.unpack_from("<BBH", blob, at)
    return [Field("windows version", f"{major}.{minor} build {build}", note="MS-NLMP §2.2.2.10")]


def _ntlm_target_info(info: bytes) -> list[Field]:
    fields, at = [], 0
    while at + 4 <= len(info):
        av_id, length = struct.unpack_from("<HH", info, at)
        value = info[at + 4:at + 4 + length]
        at += 4 + length
        if av_id == 0:                                         # MsvAvEOL
            break
        if av_id in _NTLM_AV_NAMES:
            fields.append(Field(_NTLM_AV_NAMES[av_id], _ntlm_text(value, _NTLM_UNICODE)))
        elif av_id == 7 and length == 8:                       # MsvAvTimestamp, a FILETIME
            ticks = (struct.unpack("<Q", value)[0] - _FILETIME_EPOCH_OFFSET) // 10
            if 0 <= ticks // 1_000_000 <= _LATEST_TIMESTAMP:
                when = datetime.fromtimestamp(ticks // 1_000_000, tz=timezone.utc)
                fields.append(Field("server time", when.strftime("%Y-%m-%d %H:%M:%S UTC")))
    return fields


def _ntlm_negotiate(blob: bytes) -> Explanation:
    if len(blob) < 16:
        raise MalformedMessage("NTLM type 1 message lacks its flags (MS-NLMP §2.2.1.1)")
    flags = struct.unpack_from("<I", blob, 12)[0]
    fields = [_ntlm_flags_field(flags)]
    if len(blob) >= 32:                                        # domain and workstation, OEM (MS-NLMP §2.2.1.1)
        for name, at in (("domain", 16), ("workstation", 24)):
            if value := _ntlm_buffer(blob, at):
                fields.append(Field(name, _ntlm_text(value, 0)))
        fields += _ntlm_version(blob, 32, flags)
    return Explanation("ntlm-negotiate", "NTLM negotiate message, type 1 (client)", "NTLM", "client", tuple(fields))


def _ntlm_challenge(blob: bytes) -> Explanation:
    if len(blob) < 32:
        raise MalformedMessage("NTLM type 2 message lacks its server challenge (MS-NLMP §2.2.1.2)")
    flags = struct.unpack_from("<I", blob, 20)[0]
    fields = [Field("target", _ntlm_text(_ntlm_buffer(blob, 12), flags) or "(none)"), _ntlm_flags_field(flags),
              Field("server challenge", blob[24:32].hex())]
    if len(blob) >= 48:
        fields += _ntlm_target_info(_ntlm_buffer(blob, 40))
        fields += _ntlm_version(blob, 48, flags)
    warnings = ("the server's names and Windows build are told to any client that starts AUTH NTLM",) \
        if len(fields) > 3 else ()
    return Explanation("ntlm-challenge", "NTLM challenge message, type 2 (server)", "NTLM", "server",
                       tuple(fields), warnings)


def _ntlm_authenticate(blob: bytes) -> Explanation:
    if len(blob) < 64:
        raise MalformedMessage("NTLM type 3 message too short (MS-NLMP §2.2.1.3)")
    flags = struct.unpack_from("<I", blob, 60)[0]
    nt_response = _ntlm_buffer(blob, 20)
    version = "NTLMv2" if len(nt_response) > 24 else "NTLMv1" if nt_response else "none"
    fields = [
        Field("domain", _ntlm_text(_ntlm_buffer(blob, 28), flags) or "(none)"),
        Field("user", _ntlm_text(_ntlm_buffer(blob, 36), flags) or "(none: anonymous)"),
        Field("workstation", _ntlm_text(_ntlm_buffer(blob, 44), flags) or "(none)"),
        Field("NT response", f"{version}, {len(nt_response)} octets",
              note="with the server challenge, crackable offline" if nt_response else ""),
        _ntlm_flags_field(flags),
        *_ntlm_version(blob, 64, flags),
    ]
    warnings = ("NTLMv1 response: cracked quickly offline; servers should refuse it (LmCompatibilityLevel 5)",) \
        if version == "NTLMv1" else ()
    return Explanation("ntlm-authenticate", "NTLM authenticate message, type 3 (client)", "NTLM", "client",
                       tuple(fields), warnings)


def _ntlm(blob: bytes) -> Explanation:
    """``NTLMSSP\\0``, then the message type: 1 negotiate, 2 challenge, 3 authenticate (MS-NLMP §2.2.1)."""
    if not blob.startswith(_NTLM_SIGNATURE) or len(blob) < 12:
        raise MalformedMessage("an NTLM message starts with 'NTLMSSP\\0' and its type (MS-NLMP §2.2.1)")
    kind = struct.unpack_from("<I", blob, 8)[0]
    explainers = {1: _ntlm_negotiate, 2: _ntlm_challenge, 3: _ntlm_authenticate}
    if kind not in explainers:
        raise MalformedMessage(f"NTLM message type {kind} is none of 1, 2, 3 (MS-NLMP §2.2.1)")
    return explainers[kind](blob)


# --- GSSAPI (RFC 4752): Kerberos tokens, opaque except for their framing -------------------------------

_GSS_MECHANISMS = {"1.2.840.113554.1.2.2": "Kerberos V5", "1.2.840.48018.1.2.2": "Kerberos V5 (Microsoft)",
                   "1.3.6.1.5.5.2": "SPNEGO", "1.3.6.1.4.1.311.2.2.10": "NTLM"}


def _der_length(blob: bytes, at: int) -> tuple[int, int]:
    """A DER length at ``at``: (length, where the contents start)."""
    if at >= len(blob):
        raise MalformedMessage("GSSAPI token ends inside its length (RFC 2743 §3.1)")
    first = blob[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if not 1 <= count <= 4 or at + 1 + count > len(blob):
        raise MalformedMessage("GSSAPI token has a bad DER length (RFC 2743 §3.1)")
    return int.from_bytes(blob[at + 1:at + 1 + count], "big"), at + 1 + count


def _oid(data: bytes) -> str:
    parts, value = [str(data[0] // 40), str(data[0] % 40)], 0
    for byte in data[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(str(value))
            value = 0
    return ".".join(parts)


def _gssapi_token(blob: bytes) -> Explanation:
    """RFC 2743 §3.1 InitialContextToken: 0x60 length 0x06 oid-length oid inner-token."""
    if blob[:1] != b"\x60":
        raise MalformedMessage("not a GSSAPI initial context token (0x60 ..., RFC 2743 §3.1)")
    length, start = _der_length(blob, 1)
    if start + length != len(blob) or blob[start:start + 1] != b"\x06":
        raise MalformedMessage("GSSAPI token length or mechanism OID malformed (RFC 2743 §3.1)")
    oid_length, oid_start = _der_length(blob, start + 1)
    if not oid_length or oid_start + oid_length > len(blob):
        raise MalformedMessage("GSSAPI mechanism OID malformed (RFC 2743 §3.1)")
    oid = _oid(blob[oid_start:oid_start + oid_length])
    if oid not in _GSS_MECHANISMS:
        raise MalformedMessage(f"GSSAPI token for unknown mechanism {oid}")
    inner = blob[oid_start + oid_length:oid_start + oid_length + 2]
    kinds = {b"\x01\x00": "AP-REQ (the client's Kerberos ticket)", b"\x02\x00": "AP-REP (the server proves itself)",
             b"\x03\x00": "KRB-ERROR"}
    fields = [Field("mechanism", f"{_GSS_MECHANISMS[oid]} ({oid})"), Field("length", f"{len(blob)} octets")]
    if oid in ("1.2.840.113554.1.2.2", "1.2.840.48018.1.2.2") and inner in kinds:
        fields.append(Field("token", kinds[inner], note="RFC 4121 §4.1"))
    return Explanation("gssapi-token", "GSSAPI context token", "GSSAPI", None, tuple(fields))


def _gssapi_opaque(blob: bytes) -> Explanation:
    # After the context is set up, RFC 4752 §3.1 exchanges wrapped 4-octet security-layer messages.
    field = Field("length", f"{len(blob)} octets", note="wrapped or continuation token; opaque without the keys")
    return Explanation("gssapi-wrapped", "GSSAPI token (opaque)", "GSSAPI", None, (field,))


# --- recognition ---------------------------------------------------------------------------------------

_Explainer = Callable[[bytes], Explanation]

# (mechanism families, direction, explainer), in the order shapes are tried without a hint:
# the most constrained first, so that a looser pattern cannot claim a stricter message.
_EXPLAINERS: tuple[tuple[tuple[str, ...], str, _Explainer], ...] = (
    (("NTLM",), "any", _ntlm),
    (("GSSAPI",), "any", _gssapi_token),
    (("SCRAM",), "client", _scram_client_first),
    (("SCRAM",), "server", _scram_server_first),
    (("SCRAM",), "client", _scram_client_final),
    (("SCRAM",), "server", _scram_server_final),
    (("OAUTHBEARER",), "client", _oauthbearer),
    (("OAUTHBEARER",), "client", _oauthbearer_ack),
    (("XOAUTH2",), "client", _xoauth2),
    (("OAUTHBEARER", "XOAUTH2"), "server", _oauth_error),
    (("DIGEST-MD5",), "server", _digest_rspauth),
    (("DIGEST-MD5",), "client", _digest_response),
    (("DIGEST-MD5",), "server", _digest_challenge),
    (("CRAM-MD5",), "server", _cram_challenge),
    (("CRAM-MD5",), "client", _cram_response),
    (("PLAIN",), "client", _plain),
    (("LOGIN",), "server", _login_prompt),
    # Only with a mechanism hint: these accept almost anything.
    (("LOGIN",), "client", _login_value),
    (("EXTERNAL",), "client", _external),
    (("ANONYMOUS",), "client", _anonymous),
    (("GSSAPI",), "any", _gssapi_opaque),
)
_HINT_ONLY = {_login_value, _external, _anonymous, _gssapi_opaque}
FAMILIES = ("SCRAM", "OAUTHBEARER", "XOAUTH2", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN", "EXTERNAL", "ANONYMOUS",
            "NTLM", "GSSAPI")
DIRECTIONS = ("server", "client")


def mechanism_family(name: str) -> str:
    """``SCRAM-SHA-256-PLUS`` -> ``SCRAM``; other names upper-cased; UnsupportedMechanism if unknown."""
    upper = name.upper()
    family = "SCRAM" if re.fullmatch(r"SCRAM-SHA-(1|256|512)(-PLUS)?", upper) else upper
    if family not in FAMILIES:
        raise UnsupportedMechanism(f"cannot explain SASL mechanism {name!r} (known: {', '.join(FAMILIES)}, SCRAM-SHA-*)")
    return family


def explain(
    blob: bytes, mechanism: str | None = None, direction: str | None = None, *, answering: bytes | None = None
) -> Explanation:
    """Describe ``blob``. ``direction`` is ``"server"`` (challenge) or ``"client"`` (response);
    ``answering`` is the server message a client message answers, when known (it tells a
    LOGIN user name, shown, from a LOGIN password, masked).

    Raises :class:`MalformedMessage` when a hint is given and the blob does not fit it, and
    :class:`UnsupportedMechanism` for an unknown hint. Nothing else escapes.
    """
    if direction not in (None, *DIRECTIONS):
        raise MalformedMessage(f"direction must be 'server' or 'client', not {direction!r}")
    family = mechanism_family(mechanism) if mechanism else None
    if not blob:
        return Explanation(
            "empty", "empty message (asks for the initial response, or acknowledges the last step)", mechanism, direction
        )
    if family == "LOGIN" and direction != "server" and answering is not None:
        asks_password = prompt_asks_password(answering)
        if asks_password is not None:
            return _login_answer(blob, asks_password)
    reasons = []
    for families, side, explainer in _EXPLAINERS:
        if (family is None and explainer in _HINT_ONLY) or (family and family not in families):
            continue
        if direction and side not in (direction, "any"):
            continue
        try:
            explanation = explainer(blob)
        except MalformedMessage as exc:
            reasons.append(str(exc))
            continue
        if explanation.direction is None and direction:
            explanation = dataclasses.replace(explanation, direction=direction)
        elif direction and explanation.direction != direction:      # "any" explainers know the sender
            reasons.append(f"{explanation.title} is sent by the {explanation.direction}")
            continue
        return dataclasses.replace(explanation, mechanism=mechanism.upper()) if mechanism else explanation
    if family is not None:
        side = f" {direction}" if direction else ""
        raise MalformedMessage(f"not a {mechanism.upper()}{side} message: {reasons[0] if reasons else 'no such step'}")
    return _unknown(blob, direction)


def _unknown(blob: bytes, direction: str | None) -> Explanation:
    fields = [Field("length", f"{len(blob)} octets")]
    try:
        # Bare text is most often a LOGIN answer, i.e. possibly a password: masked by default.
        text = printable(blob.decode("utf-8"))
        fields.append(Field("text", text, secret=True, note="may be a LOGIN user name or password"))
    except UnicodeDecodeError:
        fields.append(Field("hex", binascii.hexlify(blob[:64], " ").decode() + (" ..." if len(blob) > 64 else "")))
    return Explanation("unknown", "not a message of any mechanism we know", None, direction, tuple(fields))
