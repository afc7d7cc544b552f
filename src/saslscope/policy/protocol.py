"""The Postfix policy delegation protocol, sans-IO: bytes in, requests out; an action in, bytes out.

Wire format (``SMTPD_POLICY_README``, "Protocol description"; shared/notes/postfix-policy-protocol.md
§1.1): a request is ``name=value`` lines, each ended by a newline, the request ended by an
empty line; the reply is ``action=...`` and an empty line; the connection stays open for the
next request. Postfix writes plain LF, never CR LF.

What this parser does with what Postfix would never send (its README: "In case of trouble the
policy server must not send a reply. Instead the server must log a warning and disconnect"):
a line without ``=``, a NUL byte, a request without ``request=smtpd_access_policy``, or one
larger than :data:`MAX_REQUEST` raises :class:`PolicyProtocolError`, after which the parser
refuses every further call and the server closes the connection. Names it does not know are
kept and ignored (every attribute of Postfix 2.1 to 3.12 and any later one); a repeated name
keeps its last value (the README allows either); values that are not UTF-8 (an SMTPUTF8 HELO
in another encoding) are decoded with replacement characters: they are data, not structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

#: Largest request accepted, attribute lines included. Postfix's largest values are an SMTP
#: command argument (``line_length_limit``, default 2048) and the xtext-encoded client
#: certificate subject and issuer; a real request is 0.5-1 KiB (the measured 3.7 request is
#: 560 bytes). 64 KiB leaves room for every one of them at its longest and bounds what a
#: misbehaving peer can make us buffer per connection.
MAX_REQUEST = 64 * 1024

#: the attributes of Postfix 2.1 to 3.12 (``smtpd_check.c`` ``check_policy_service()``)
KNOWN_ATTRIBUTES = frozenset((
    "request", "protocol_state", "protocol_name", "client_address", "client_name", "client_port",
    "reverse_client_name", "server_address", "server_port", "helo_name", "sender", "recipient",
    "recipient_count", "queue_id", "instance", "size", "etrn_domain", "stress", "sasl_method",
    "sasl_username", "sasl_sender", "ccert_subject", "ccert_issuer", "ccert_fingerprint",
    "ccert_pubkey_fingerprint", "encryption_protocol", "encryption_cipher", "encryption_keysize",
    "tls_sni", "policy_context", "compatibility_level", "mail_version",
))


class PolicyProtocolError(ValueError):
    """The peer broke the protocol; the connection must be closed without a reply."""


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    """One request: its attributes in the order sent (unknown names included, ignored by users)."""

    attributes: dict[str, str]
    text: str = ""       # the request as received, decoded (what :meth:`as_text` shows)

    def get(self, name: str) -> str:
        """The value, ``""`` when absent: Postfix sends an unavailable value empty or not at all."""
        return self.attributes.get(name, "")

    @property
    def protocol_state(self) -> str:
        return self.attributes.get("protocol_state", "").upper()

    @property
    def recipient_count(self) -> int:
        """``recipient_count`` (non-zero only at DATA and END-OF-MESSAGE); 0 when absent or junk."""
        value = self.attributes.get("recipient_count", "")
        return int(value) if value.isdigit() and len(value) < 10 else 0

    def as_text(self) -> str:
        """The attributes as ``name=value`` pairs on one line: a finding's evidence."""
        if self.text:
            return self.text.replace("\n", " ")
        return " ".join(f"{name}={value}" for name, value in self.attributes.items())


class PolicyParser:
    """Accumulate bytes from one connection; hand out every complete request.

    ``receive_data(b"")`` means end of input: a request cut short is dropped (Postfix retries it
    on a new connection) and reported by :attr:`partial`.
    """

    __slots__ = ("_buffer", "_scanned", "_failed", "partial")

    def __init__(self) -> None:
        self._buffer = b""
        self._scanned = 0      # bytes of _buffer already searched for the empty line
        self._failed = False
        self.partial = False   # true after EOF in the middle of a request

    def receive_data(self, data: bytes) -> list[PolicyRequest]:
        if self._failed:
            raise PolicyProtocolError("the connection already broke the protocol")
        if not data:
            self.partial = bool(self._buffer)
            self._buffer = b""
            return []
        if b"\0" in data:  # at once, not when the request ends: binary junk rarely has an empty line
            self._fail("NUL byte in a request")
        buffer = self._buffer + data if self._buffer else data
        requests: list[PolicyRequest] = []
        start = 0
        # The empty line may straddle the previous chunk: search from one byte before it.
        search = max(self._scanned - 1, 0)
        while True:
            end = buffer.find(b"\n\n", search)
            if end < 0:
                break
            if end - start > MAX_REQUEST:
                self._fail(f"request larger than {MAX_REQUEST} bytes")
            requests.append(self._parse(buffer[start:end]))
            start = search = end + 2
        rest = buffer[start:]
        if len(rest) > MAX_REQUEST:
            self._fail(f"request larger than {MAX_REQUEST} bytes")
        self._buffer = rest
        self._scanned = len(rest)
        return requests

    def _fail(self, why: str) -> None:
        self._failed = True
        self._buffer = b""
        raise PolicyProtocolError(why)

    def _parse(self, block: bytes) -> PolicyRequest:
        text = block.decode("utf-8", "replace")
        lines = text.split("\n")
        try:
            # the fast path (C loops); a repeated name keeps its last value
            count = len(lines)
            attributes: dict[str, str] = dict(map(str.split, lines, repeat("=", count), repeat(1, count)))
        except ValueError:
            attributes = {}
        if len(attributes) != len(lines) or "" in attributes:
            # a line without "=", an empty name, or a repeated name: look line by line
            attributes = {}
            for line in lines:
                name, eq, value = line.partition("=")
                if not eq or not name:
                    self._fail(f"not a name=value line: {line[:60]!r}")
                attributes[name] = value
        if attributes.get("request") != "smtpd_access_policy":
            self._fail(f"not a policy request (request={attributes.get('request', '')[:40]!r})")
        return PolicyRequest(attributes, text)


def encode_action(action: str) -> bytes:
    """``action=ACTION`` and the empty line. ``action`` is our own printable ASCII text (it
    never carries a peer's string, which could smuggle a newline into the reply)."""
    if not action.isprintable() or not action.isascii():
        raise ValueError(f"an action must be one line of printable ASCII: {action!r}")
    return b"action=" + action.encode("ascii") + b"\n\n"
