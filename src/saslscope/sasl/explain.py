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
from collections.abc import Callable
from datetime import UTC, datetime

from saslscope.sasl.cram import RESPONSE_PATTERN
from saslscope.sasl.decoys import DEFAULT_ITERATIONS
from saslscope.sasl.digest import parse_directives
from saslscope.sasl.errors import MalformedMessage, UnsupportedMechanism
from saslscope.sasl.explanation import LATEST_TIMESTAMP, Explanation, Field, printable, utf8_text
from saslscope.sasl.gs2 import split_gs2_header, unescape_saslname
from saslscope.sasl.gssapi import explain_gssapi_opaque, explain_gssapi_token
from saslscope.sasl.login import prompt_asks_password
from saslscope.sasl.ntlm import explain_ntlm
from saslscope.sasl.oauth import parse_oauth_error
from saslscope.sasl.plain import parse_plain
from saslscope.sasl.scram import parse_attributes, unb64

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
        if int(clock) <= LATEST_TIMESTAMP:
            when = datetime.fromtimestamp(int(clock), tz=UTC)
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


# The prompts servers send (Postfix/Cyrus, Dovecot, Exchange, Exim, qmail: "Username:", "Password:";
# draft-murchison-sasl-login-00 §2: "User Name", "Password"). When nobody said the blob came from the
# server, only these exact texts are read as a prompt: anything else that merely starts with "pass" or
# "user" may be what a client typed, i.e. a password, and is masked like any bare text.
_STANDARD_PROMPTS = frozenset({b"Username:", b"Password:"})


def _login_prompt(blob: bytes, *, loose: bool) -> Explanation:
    """A LOGIN prompt; ``loose`` (the server is known to have sent it) accepts any server's wording."""
    asks_password = prompt_asks_password(blob)
    if asks_password is None or len(blob) > 64 or not (loose or blob in _STANDARD_PROMPTS):
        raise MalformedMessage("not a LOGIN prompt ('Username:' or 'Password:')")
    meaning = "asks for the password" if asks_password else "asks for the user name"
    return Explanation(
        "login-prompt", "LOGIN prompt (server)", "LOGIN", "server", (Field("prompt", printable(blob), note=meaning),)
    )


def _login_prompt_from_server(blob: bytes) -> Explanation:
    return _login_prompt(blob, loose=True)


def _login_prompt_unsure(blob: bytes) -> Explanation:
    """Nobody said who sent it: "Password1!" must not pass for a prompt and be shown."""
    return _login_prompt(blob, loose=False)


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
    field = Field("authzid", printable(utf8_text(blob)) or "(none: the identity the TLS certificate proves)")
    return Explanation("external-message", "EXTERNAL message (client)", "EXTERNAL", "client", (field,))


def _anonymous(blob: bytes) -> Explanation:
    field = Field("trace", printable(utf8_text(blob)) or "(none)")
    return Explanation("anonymous-message", "ANONYMOUS message (client)", "ANONYMOUS", "client", (field,))


# --- XOAUTH2 and OAUTHBEARER (RFC 7628) ------------------------------------------------------------

_XOAUTH2 = re.compile(rb"user=(?P<user>[^\x01]*)\x01auth=(?P<auth>[^\x01]+)\x01\x01")


# HTTP authentication schemes an OAuth client puts before its token (RFC 6750 §2.1 Bearer, RFC 9449
# DPoP; MAC and PoP from drafts some providers shipped). Only one of these is shown as the scheme:
# anything else before the first space may be the start of the token itself.
_AUTH_SCHEMES = frozenset({"bearer", "dpop", "mac", "pop"})


def _auth_value_fields(value: str) -> tuple[list[Field], list[str]]:
    """The fields (and warnings) of an ``auth=`` value: ``Bearer <token>`` (RFC 7628 §3.1)."""
    scheme, space, token = value.partition(" ")
    if space and scheme.lower() in _AUTH_SCHEMES:
        return [Field("auth scheme", scheme),
                Field("token", printable(token), secret=True, note="OAuth 2.0 access token")], []
    field = Field("auth", printable(value), secret=True, note="the whole auth= value: it may be the token itself")
    return [field], ["auth= does not start with an authentication scheme such as 'Bearer ' (RFC 7628 §3.1, "
                     "RFC 6750 §2.1): a server will refuse it"]


def _xoauth2(blob: bytes) -> Explanation:
    match = _XOAUTH2.fullmatch(blob)
    if match is None:
        raise MalformedMessage("an XOAUTH2 message is 'user=U ^A auth=Bearer TOKEN ^A ^A'")
    auth_fields, warnings = _auth_value_fields(utf8_text(match["auth"]))
    fields = [Field("user", printable(match["user"])), *auth_fields]
    return Explanation("xoauth2-message", "XOAUTH2 message (client)", "XOAUTH2", "client", tuple(fields), tuple(warnings))


def _oauthbearer(blob: bytes) -> Explanation:
    header, rest = split_gs2_header(utf8_text(blob))
    if not rest.startswith("\x01") or not rest.endswith("\x01\x01"):
        raise MalformedMessage("an OAUTHBEARER message is 'gs2-header ^A key=value^A ... ^A' (RFC 7628 §3.1)")
    fields = [Field("gs2 flag", header.flag), Field("authzid", header.authzid or "(none)")]
    has_auth = False
    warnings: list[str] = []
    for pair in rest[1:-2].split("\x01"):
        key, sep, value = pair.partition("=")
        if not sep or not key.isalpha():
            raise MalformedMessage(f"OAUTHBEARER key/value {printable(pair[:20])!r} is not key=value (RFC 7628 §3.1)")
        if key == "auth":
            auth_fields, auth_warnings = _auth_value_fields(value)
            fields += auth_fields
            warnings += auth_warnings
            has_auth = True
        else:
            fields.append(Field(key, printable(value)))
    if not has_auth:
        raise MalformedMessage("OAUTHBEARER message lacks the required auth= (RFC 7628 §3.1)")
    return Explanation("oauthbearer-message", "OAUTHBEARER message (client)", "OAUTHBEARER", "client", tuple(fields),
                       tuple(warnings))


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
    header, bare = split_gs2_header(utf8_text(blob))
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
    pairs = parse_attributes(utf8_text(blob), "server-first")
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
    pairs = parse_attributes(utf8_text(blob), "client-final")
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
    pairs = parse_attributes(utf8_text(blob), "server-final")
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



# --- recognition ---------------------------------------------------------------------------------------

_Explainer = Callable[[bytes], Explanation]

# (mechanism families, direction, explainer), in the order shapes are tried without a hint:
# the most constrained first, so that a looser pattern cannot claim a stricter message.
_EXPLAINERS: tuple[tuple[tuple[str, ...], str, _Explainer], ...] = (
    (("NTLM",), "any", explain_ntlm),
    (("GSSAPI",), "any", explain_gssapi_token),
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
    (("LOGIN",), "server", _login_prompt_from_server),
    (("LOGIN",), "server", _login_prompt_unsure),
    # Only with a mechanism hint: these accept almost anything.
    (("LOGIN",), "client", _login_value),
    (("EXTERNAL",), "client", _external),
    (("ANONYMOUS",), "client", _anonymous),
    (("GSSAPI",), "any", explain_gssapi_opaque),
)
_HINT_ONLY = {_login_value, _external, _anonymous, explain_gssapi_opaque}
_KNOWN_SERVER_ONLY = {_login_prompt_from_server}     # tried only when the direction is "server"
_UNKNOWN_DIRECTION_ONLY = {_login_prompt_unsure}      # ... and this one only when it is not known
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
        if (explainer in _KNOWN_SERVER_ONLY and direction != "server") or \
                (explainer in _UNKNOWN_DIRECTION_ONLY and direction is not None):
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
    if mechanism is not None:
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
