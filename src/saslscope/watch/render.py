"""A finding as one or a few lines of plain text for a terminal or a journal.

Every string that came from a log (user names, addresses, evidence lines) is attacker-chosen:
control characters (escape sequences that could rewrite the terminal, newlines that could fake
a second finding) are shown as ``\\xNN`` escapes, and nothing is ever interpreted as markup.
"""

from __future__ import annotations

from saslscope.detect.findings import Finding
from saslscope.untrusted import printable

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides



def finding_text(finding: Finding, evidence_lines: int = 3) -> str:
    """``TIME SEVERITY kind user=.. ip=..: reason`` then up to ``evidence_lines`` evidence lines."""
    when = (finding.end or finding.start)
    head = [when.isoformat(timespec="seconds") if when else "-", str(finding.severity).upper(), str(finding.kind)]
    if finding.username is not None:
        head.append(f"user={printable(finding.username)}")
    if finding.ip is not None:
        head.append(f"ip={printable(finding.ip)}")
    out = [" ".join(head) + ": " + printable(finding.reason)]
    shown = finding.evidence[-evidence_lines:] if evidence_lines else ()
    for evidence in shown:
        where = f"{printable(evidence.source)}:{evidence.line}" if evidence.line is not None else printable(evidence.source)
        out.append(f"    {where}: {printable(evidence.text)}")
    rest = finding.evidence_total - len(shown)
    if rest > 0 and shown:
        out.append(f"    ... and {rest} more")
    return "\n".join(out)
