"""The GS2 header and ``saslname`` escaping shared by SCRAM (RFC 5802 §7) and OAUTHBEARER (RFC 7628 §3.1).

``gs2-header = gs2-cbind-flag "," [ "a=" saslname ] ","`` where the flag is ``n`` (no
channel binding), ``y`` (client could bind but thinks the server cannot) or ``p=cb-name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from saslscope.sasl.errors import MalformedMessage

_BAD_ESCAPE = re.compile(r"=(?!2C|3D)")


def escape_saslname(name: str) -> str:
    """RFC 5802 §5.1: ``,`` becomes ``=2C`` and ``=`` becomes ``=3D``."""
    return name.replace("=", "=3D").replace(",", "=2C")


def unescape_saslname(value: str) -> str:
    """Inverse of :func:`escape_saslname`; any other ``=`` is malformed (RFC 5802 §5.1)."""
    if _BAD_ESCAPE.search(value):
        raise MalformedMessage(f"bad '=' escape in saslname {value!r} (RFC 5802 §5.1)")
    return value.replace("=2C", ",").replace("=3D", "=")


@dataclass(frozen=True)
class GS2Header:
    """A parsed GS2 header. ``flag`` is ``"n"``, ``"y"`` or ``"p"``; ``cb_name`` is set for ``"p"``."""

    flag: str
    cb_name: str | None
    authzid: str
    #: the header exactly as sent, including the final comma (it goes into SCRAM's ``c=``)
    raw: str

    @classmethod
    def build(cls, flag: str, cb_name: str | None = None, authzid: str = "") -> GS2Header:
        cbind = f"p={cb_name}" if flag == "p" else flag
        zid = f"a={escape_saslname(authzid)}" if authzid else ""
        return cls(flag, cb_name, authzid, f"{cbind},{zid},")


def split_gs2_header(message: str) -> tuple[GS2Header, str]:
    """Split ``message`` into its GS2 header and the rest; MalformedMessage if there is none."""
    parts = message.split(",", 2)
    if len(parts) != 3:
        raise MalformedMessage("message does not start with a GS2 header 'flag,[a=authzid],'")
    cbind, zid, rest = parts
    if cbind in ("n", "y"):
        flag, cb_name = cbind, None
    elif cbind.startswith("p=") and re.fullmatch(r"[A-Za-z0-9.-]+", cbind[2:]):
        flag, cb_name = "p", cbind[2:]
    else:
        raise MalformedMessage(f"bad GS2 channel-binding flag {cbind!r} (RFC 5802 §7)")
    if zid and not zid.startswith("a="):
        raise MalformedMessage(f"bad GS2 authzid field {zid!r}: must be 'a=...' (RFC 5802 §7)")
    authzid = unescape_saslname(zid[2:]) if zid else ""
    return GS2Header(flag, cb_name, authzid, f"{cbind},{zid},"), rest
