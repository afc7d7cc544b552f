"""Explain NTLM messages (MS-NLMP), as Exchange and IIS offer them with ``AUTH NTLM``.

Not a registered SASL mechanism, but the one Windows mail servers speak; its challenge tells
anyone who asks the server's NetBIOS and DNS names and Windows build (MS-NLMP §2.2.1.2).
saslscope reads these messages; it does not speak NTLM.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from saslscope.sasl.errors import MalformedMessage
from saslscope.sasl.explanation import LATEST_TIMESTAMP, Explanation, Field, printable

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
            if 0 <= ticks // 1_000_000 <= LATEST_TIMESTAMP:
                when = datetime.fromtimestamp(ticks // 1_000_000, tz=UTC)
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


def explain_ntlm(blob: bytes) -> Explanation:
    """``NTLMSSP\\0``, then the message type: 1 negotiate, 2 challenge, 3 authenticate (MS-NLMP §2.2.1)."""
    if not blob.startswith(_NTLM_SIGNATURE) or len(blob) < 12:
        raise MalformedMessage("an NTLM message starts with 'NTLMSSP\\0' and its type (MS-NLMP §2.2.1)")
    kind = struct.unpack_from("<I", blob, 8)[0]
    explainers = {1: _ntlm_negotiate, 2: _ntlm_challenge, 3: _ntlm_authenticate}
    if kind not in explainers:
        raise MalformedMessage(f"NTLM message type {kind} is none of 1, 2, 3 (MS-NLMP §2.2.1)")
    return explainers[kind](blob)

