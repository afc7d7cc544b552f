"""A finding as one or a few lines of plain text for a terminal or a journal.

Every string that came from a log (user names, addresses, evidence lines) is attacker-chosen:
control characters (escape sequences that could rewrite the terminal, newlines that could fake
a second finding) are shown as ``\\xNN`` escapes, and nothing is ever interpreted as markup.
"""

from __future__ import annotations

import re

from saslscope.detect.findings import Finding

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides
_UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def plain(text: str) -> str:
    """``text`` with every control character escaped (``\\x1b`` -> ``\\x1b`` literally)."""
    return _UNSAFE_RE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def finding_text(finding: Finding, evidence_lines: int = 3) -> str:
    """``TIME SEVERITY kind user=.. ip=..: reason`` then up to ``evidence_lines`` evidence lines."""
    when = (finding.end or finding.start)
    head = [when.isoformat(timespec="seconds") if when else "-", str(finding.severity).upper(), str(finding.kind)]
    if finding.username is not None:
        head.append(f"user={plain(finding.username)}")
    if finding.ip is not None:
        head.append(f"ip={plain(finding.ip)}")
    out = [" ".join(head) + ": " + plain(finding.reason)]
    shown = finding.evidence[-evidence_lines:] if evidence_lines else ()
    for evidence in shown:
        where = f"{plain(evidence.source)}:{evidence.line}" if evidence.line is not None else plain(evidence.source)
        out.append(f"    {where}: {plain(evidence.text)}")
    rest = finding.evidence_total - len(shown)
    if rest > 0 and shown:
        out.append(f"    ... and {rest} more")
    return "\n".join(out)
