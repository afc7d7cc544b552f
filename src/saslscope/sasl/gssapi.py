"""Explain GSSAPI tokens (RFC 4752): Kerberos tokens, opaque except for their framing.

saslscope reads the RFC 2743 §3.1 framing (the mechanism OID, the Kerberos message type);
it does not speak GSSAPI.
"""

from __future__ import annotations

from saslscope.sasl.errors import MalformedMessage
from saslscope.sasl.explanation import Explanation, Field

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


def explain_gssapi_token(blob: bytes) -> Explanation:
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


def explain_gssapi_opaque(blob: bytes) -> Explanation:
    # After the context is set up, RFC 4752 §3.1 exchanges wrapped 4-octet security-layer messages.
    field = Field("length", f"{len(blob)} octets", note="wrapped or continuation token; opaque without the keys")
    return Explanation("gssapi-wrapped", "GSSAPI token (opaque)", "GSSAPI", None, (field,))
