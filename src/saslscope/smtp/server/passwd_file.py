"""Reading a Dovecot passwd-file, so ``serve`` can check a copy of an admin's real user file.

Format (Dovecot ``passwd-file`` driver): one user a line,
``user:{SCHEME}password:uid:gid:gecos:home:shell:extra_fields``; everything after the
password is ignored here. ``#`` starts a comment line; blank lines are skipped. The schemes
understood are those a SASL server can use:

* ``{PLAIN}`` (also ``CLEARTEXT``, ``CLEAR``), with Dovecot's ``.b64``/``.base64``/``.hex``
  encoding suffixes (``{PLAIN.b64}emFxMTIzNDU=``): every mechanism works;
* ``{CRAM-MD5}`` (alias ``HMAC-MD5``): 64 hex digits, the HMAC-MD5 context ``doveadm pw``
  writes: CRAM-MD5, and PLAIN/LOGIN by recomputing the context;
* ``{SCRAM-SHA-1}`` / ``{SCRAM-SHA-256}``: ``iterations,salt,StoredKey,ServerKey`` in base64
  (RFC 5802 §3, Dovecot's layout): SCRAM, and PLAIN/LOGIN by recomputing the keys.

A password without ``{SCHEME}`` is taken as ``default_scheme`` (PLAIN unless told otherwise:
Dovecot's own default for passwd-file is CRYPT, which no SASL mechanism can use), except
that crypt(3) hashes (``$6$...``) are recognised and reported. A bad line never stops the
load: it is reported with its line number and skipped.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field

from saslscope.sasl.credentials import MemoryStore, ScramKeys, StoredCredential

_PLAIN_SCHEMES = {"PLAIN", "CLEARTEXT", "CLEAR"}
_CRAM_SCHEMES = {"CRAM-MD5", "HMAC-MD5"}
_SCRAM_HASHES = {"SCRAM-SHA-1": ("sha1", 20), "SCRAM-SHA-256": ("sha256", 32)}
_ENCODINGS = {"B64", "BASE64", "HEX"}
_SCHEME_PREFIX = re.compile(r"\{(?P<scheme>[A-Za-z0-9._-]+)\}(?P<value>.*)", re.DOTALL)
_CRYPT_HASH = re.compile(r"\$(1|2[abxy]?|5|6|y|gy|7|argon2(i|d|id))\$")


class PasswdFileError(Exception):
    """The file as a whole cannot be read (missing, unreadable, not text)."""


@dataclass(frozen=True)
class PasswdProblem:
    """One line that was skipped, and why."""

    line_number: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.message}"


@dataclass
class PasswdFile:
    """The users read from a passwd-file, and the lines that could not be used."""

    path: str
    store: MemoryStore = field(default_factory=MemoryStore)
    problems: list[PasswdProblem] = field(default_factory=list)

    @property
    def usernames(self) -> list[str]:
        return list(self.store.users)


def load_passwd_file(path: str | os.PathLike[str], *, default_scheme: str = "PLAIN") -> PasswdFile:
    """Read ``path``. Raises :class:`PasswdFileError` only if the file itself is unreadable."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise PasswdFileError(f"cannot read passwd-file {os.fspath(path)}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PasswdFileError(f"passwd-file {os.fspath(path)} line {line} is not UTF-8 text") from None
    return parse_passwd_file(text, path=os.fspath(path), default_scheme=default_scheme)


def parse_passwd_file(text: str, *, path: str = "<passwd-file>", default_scheme: str = "PLAIN") -> PasswdFile:
    """Parse passwd-file ``text`` (see the module docstring for the format)."""
    result = PasswdFile(path=path)
    first_seen: dict[str, int] = {}
    # Dovecot splits on "\n" only; splitlines() would also split on VT, FF, NEL, U+2028...
    # and turn the tail of a password into a user of its own.
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            credential = parse_passwd_line(line, default_scheme=default_scheme)
        except ValueError as exc:
            result.problems.append(PasswdProblem(number, str(exc)))
            continue
        if credential.username in first_seen:
            result.problems.append(
                PasswdProblem(
                    number,
                    f"user {credential.username!r} already defined on line "
                    f"{first_seen[credential.username]}; this line is ignored",
                )
            )
            continue
        first_seen[credential.username] = number
        result.store.add(credential)
    return result


def parse_passwd_line(line: str, *, default_scheme: str = "PLAIN") -> StoredCredential:
    """One ``user:{SCHEME}secret[:more fields]`` line; :class:`ValueError` says what is wrong."""
    if ":" not in line:
        raise ValueError("no ':' separating the user name from the password")
    username, _, rest = line.rstrip("\r\n").partition(":")
    if not username:
        raise ValueError("empty user name")
    secret = rest.split(":", 1)[0]
    if not secret:
        raise ValueError(f"user {username!r} has an empty password field")
    match = _SCHEME_PREFIX.fullmatch(secret)
    if match:
        scheme, value = match["scheme"].upper(), match["value"]
    elif _CRYPT_HASH.match(secret):
        raise ValueError(
            f"user {username!r}: a crypt(3) hash cannot be used by any SASL mechanism; "
            "store {PLAIN}, {CRAM-MD5} or {SCRAM-SHA-256} (doveadm pw -s SCRAM-SHA-256)"
        )
    else:
        scheme, value = default_scheme.upper(), secret
    return _credential(username, scheme, value)


def _credential(username: str, scheme: str, value: str) -> StoredCredential:
    base_scheme, _, encoding = scheme.partition(".")
    if encoding and encoding not in _ENCODINGS:
        raise ValueError(f"user {username!r}: unknown encoding .{encoding.lower()} in {{{scheme}}}")
    if base_scheme in _PLAIN_SCHEMES:
        if not encoding:
            return StoredCredential(username, password=value)
        try:
            return StoredCredential(username, password=_decode(value, encoding, username, scheme).decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"user {username!r}: the decoded {{{scheme}}} password is not UTF-8") from None
    if base_scheme in _CRAM_SCHEMES:
        context = _decode(value, encoding or "HEX", username, scheme)
        if len(context) != 32:
            raise ValueError(f"user {username!r}: a {{CRAM-MD5}} value is 32 bytes (64 hex digits), not {len(context)}")
        return StoredCredential(username, cram_md5_context=context)
    if base_scheme in _SCRAM_HASHES and not encoding:
        return StoredCredential(username, scram=(_scram_keys(username, base_scheme, value),))
    raise ValueError(
        f"user {username!r}: scheme {{{scheme}}} cannot be used by a SASL server here "
        "(supported: PLAIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256)"
    )


def _decode(value: str, encoding: str, username: str, scheme: str) -> bytes:
    try:
        if encoding == "HEX":
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise ValueError(f"user {username!r}: {{{scheme}}} value is not valid {encoding.lower()}") from None


def _scram_keys(username: str, scheme: str, value: str) -> ScramKeys:
    hash_name, digest_size = _SCRAM_HASHES[scheme]
    parts = value.split(",")
    if len(parts) != 4:
        raise ValueError(
            f"user {username!r}: {{{scheme}}} needs iterations,salt,StoredKey,ServerKey "
            f"(doveadm pw -s {scheme}), got {len(parts)} field(s)"
        )
    iterations_text, salt_b64, stored_b64, server_b64 = parts
    if not iterations_text.isdigit() or int(iterations_text) < 1:
        raise ValueError(f"user {username!r}: {{{scheme}}} iteration count {iterations_text!r} is not a positive integer")
    try:
        salt, stored_key, server_key = (base64.b64decode(p, validate=True) for p in (salt_b64, stored_b64, server_b64))
    except (ValueError, binascii.Error):
        raise ValueError(f"user {username!r}: {{{scheme}}} salt or keys are not valid base64") from None
    if len(stored_key) != digest_size or len(server_key) != digest_size:
        raise ValueError(f"user {username!r}: {{{scheme}}} keys must be {digest_size} bytes each")
    if not salt:
        raise ValueError(f"user {username!r}: {{{scheme}}} salt is empty")
    return ScramKeys(hash_name, salt, int(iterations_text), stored_key, server_key)
