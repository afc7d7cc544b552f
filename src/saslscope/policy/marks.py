"""Marks: what a finding leaves behind for the policy answers of every front.

A finding that calls for enforcement marks its address or its account for a while; each front
reads the marks before it answers. So an account whose password was guessed through Dovecot's
auth policy can have its mail held by the Postfix policy service, and a spraying address is
refused whichever service it reaches next. Marks are ordinary state windows, so they live in the
same backend (memory or Redis) and expire by themselves.
"""

from __future__ import annotations

from saslscope.detect.findings import Evidence, Finding
from saslscope.detect.state import Window, WindowCount


def address_key(address: str) -> str:
    return f"mark:ip:{address}"


def account_key(username: str) -> str:
    return f"mark:acct:{username}"


def write(key: str, finding: Finding, seconds: float) -> Window:
    """The operation that marks ``key`` for ``seconds``, remembering why (the finding's reason)."""
    why = Evidence(source="finding", line=None, text=f"{finding.kind}: {finding.reason}", time=finding.end)
    return Window(key, seconds, member=str(finding.kind), keep=why)


def read(key: str, seconds: float) -> Window:
    """The operation that reads ``key``'s marks without adding one."""
    return Window(key, seconds, weight=0)


def why(count: WindowCount) -> str | None:
    """The reason of the newest live mark, or None when there is none."""
    if not count.total:
        return None
    return count.kept[-1].text if count.kept else "marked"
