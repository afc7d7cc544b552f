"""Results rendered for people (text), programs (JSON) and monitoring (one Nagios line).

The JSON document is the same data as the text, serialised; field names are documented in
docs/client.md and kept stable.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from saslscope.smtp.capabilities import Capabilities
from saslscope.smtp.client import LoginResult
from saslscope.smtp.codec import Reply
from saslscope.smtp.errors import Outcome
from saslscope.smtp.findings import Finding, Severity
from saslscope.smtp.session import SessionResult
from saslscope.smtp.transcript import render_events

if TYPE_CHECKING:
    from saslscope.smtp.probe import ProbeResult

JSON_SCHEMA_VERSION = 1


class NagiosState(IntEnum):
    """Monitoring-plugin statuses (Nagios plugin guidelines, also Icinga and Zabbix)."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


# -- text -------------------------------------------------------------------------------

#: C0 controls but tab and newline, DEL, C1 controls, and the Unicode bidi overrides and
#: isolates that can reorder what a terminal shows
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    r"""``text`` with every character a terminal would act on written as an escape
    (``\x1b``, ``\u202e``): banners, EHLO lines and replies are the server's text, not ours
    to let move the cursor, change colours or retitle the window."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def transcript_text(result: SessionResult, *, show_secrets: bool = False, explain: bool = False) -> str:
    """The readable transcript (``<-``/``->`` cleartext, ``<~``/``~>`` under TLS)."""
    return "\n".join(render_events(result.events, show_secrets=show_secrets, explain=explain))


def login_text(result: LoginResult, *, show_secrets: bool = False, explain: bool = False) -> str:
    """Transcript, then one line of verdict."""
    lines = [transcript_text(result, show_secrets=show_secrets, explain=explain), ""]
    lines.append(login_verdict(result))
    if result.server_verified is not None:
        # only after a 235: after a rejection the check does not apply
        lines.append(f"server proved it knows the password: {'yes' if result.server_verified else 'NO'}")
    return "\n".join(lines)


def login_verdict(result: LoginResult) -> str:
    """One line: what happened, e.g. ``authenticated as tim with CRAM-MD5 (235 2.7.0 ...)``."""
    if result.ok:
        if result.authenticated:
            verdict = f"OK: authenticated as {result.username} with {result.mechanism}"
            verdict += f" ({result.auth_reply.summary()})" if result.auth_reply else ""
        else:
            verdict = "OK: session completed (no AUTH requested)"
        if result.queue_id:
            verdict += f"; message queued as {result.queue_id}"
        return verdict
    return f"FAILED ({result.outcome.value}): {result.error}"


def mechanism_table(results: list[LoginResult]) -> str:
    """``--mech all``: one row per mechanism, one fresh connection each."""
    rows = [("MECHANISM", "RESULT", "SERVER REPLY", "TIME")]
    for result in results:
        if result.outcome is Outcome.REFUSED_BY_POLICY:
            status = "skipped"  # not tried: no fitting credentials, or not allowed here
        else:
            status = "ok" if result.authenticated else result.outcome.value
        reply = result.auth_reply.summary() if result.auth_reply else (result.error or "")
        elapsed = result.timings.get("auth", result.timings.get("end"))
        rows.append((result.mechanism or "?", status, reply, "-" if elapsed is None else f"{elapsed * 1000:.0f} ms"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip() for row in rows
    )


def probe_text(result: ProbeResult, *, transcript: bool = False) -> str:
    lines: list[str] = [f"probe of {_target(result)} ({result.tls_mode.value})"]
    if result.peer:
        lines.append(f"connected to {result.peer[0]} port {result.peer[1]}")
    if result.banner:
        lines.append(f"banner: {result.banner.summary()}")
    cleartext_only = result.capabilities is not None and result.capabilities is result.capabilities_before_tls
    if result.capabilities_before_tls is not None and not cleartext_only:
        lines += _capability_lines("EHLO before TLS", result.capabilities_before_tls)
    if result.tls is not None:
        lines.append(f"TLS: {result.tls.summary()}")
        for index, cert in enumerate(result.tls.certificates()):
            lines.append(f"  certificate {index}: {cert.subject}")
            lines.append(f"    issuer:      {cert.issuer}")
            if cert.subject_alt_names:
                lines.append(f"    names (SAN): {', '.join(cert.subject_alt_names)}")
            lines.append(
                f"    valid:       {cert.not_before:%Y-%m-%d %H:%M} to {cert.not_after:%Y-%m-%d %H:%M} UTC"
                f" ({cert.days_left():.1f} days left)"
            )
            lines.append(f"    key:         {cert.public_key}, signed with {cert.signature_algorithm}")
            lines.append(f"    SHA-256:     {cert.sha256}")
    if result.legacy_tls_checked:
        answer = f"ACCEPTED ({result.legacy_tls_accepted})" if result.legacy_tls_accepted else "refused"
        lines.append(f"TLS 1.0/1.1 offered alone: {answer}")
    if result.capabilities is not None:
        title = "EHLO without TLS" if cleartext_only else "EHLO after TLS" if result.capabilities_before_tls else "EHLO"
        lines += _capability_lines(title, result.capabilities)
    if not result.mechanisms_checked and result.capabilities is not None and result.capabilities.auth_mechanisms:
        lines.append("AUTH mechanisms not started (--auth-check starts and cancels each one, which the server logs)")
    if result.mechanism_checks:
        lines.append("AUTH mechanisms started (AUTH MECH, then cancelled with '*'; no credentials sent):")
        for check in result.mechanism_checks:
            lines.append(f"  {check.mechanism:<20} {'answers' if check.works else 'FAILS'}: {check.reply}")
    lines.append("findings:")
    found = result.findings
    lines += [f"  {f.severity.value.upper():<8} {f.message}" for f in found] or ["  none"]
    if not result.ok:
        lines.append(f"FAILED ({result.outcome.value}): {result.error}")
    if transcript:
        lines += ["", "transcript:", transcript_text(result)]
    return "\n".join(lines)


def _capability_lines(title: str, capabilities: Capabilities) -> list[str]:
    lines = [f"{title} ({capabilities.greeting}):"]
    described = capabilities.describe()
    width = max((len(keyword) for keyword, _ in described), default=0)
    lines += [f"  {keyword:<{width}}  {meaning}" for keyword, meaning in described]
    return lines


def _target(result: SessionResult) -> str:
    return f"[{result.host}]:{result.port}" if ":" in result.host else f"{result.host}:{result.port}"


# -- JSON -------------------------------------------------------------------------------


def _reply_json(result: SessionResult, reply: Reply | None, show_secrets: bool = False) -> dict[str, Any] | None:
    """A reply; secrets sent in the session that it repeats are masked unless asked."""
    if reply is None:
        return None
    lines = list(reply.lines) if show_secrets else [result.mask(line) for line in reply.lines]
    return {"code": reply.code, "enhanced_status": reply.enhanced_status, "lines": lines}


def session_json(result: SessionResult, *, show_secrets: bool = False, explain: bool = False) -> dict[str, Any]:
    """Fields common to probe and login."""
    return {
        "schema": JSON_SCHEMA_VERSION,
        "host": result.host,
        "port": result.port,
        "tls_mode": result.tls_mode.value,
        "peer": list(result.peer) if result.peer else None,
        "outcome": result.outcome.value,
        "error": result.error,
        "banner": _reply_json(result, result.banner),
        "capabilities_before_tls": result.capabilities_before_tls.to_json() if result.capabilities_before_tls else None,
        "capabilities": result.capabilities.to_json() if result.capabilities else None,
        "tls": result.tls.to_json() if result.tls else None,
        "timings": {name: round(value, 6) for name, value in result.timings.items()},
        "findings": [f.to_json() for f in result.findings],
        "transcript": [e.to_json(show_secrets, explain) for e in result.events],
    }


def login_json(result: LoginResult, *, show_secrets: bool = False, explain: bool = False) -> dict[str, Any]:
    document = {"command": "login", **session_json(result, show_secrets=show_secrets, explain=explain)}
    document.update(
        mechanism=result.mechanism,
        username=result.username,
        authenticated=result.authenticated,
        server_verified=result.server_verified,
        auth_reply=_reply_json(result, result.auth_reply, show_secrets),
        mail_replies=[_reply_json(result, r, show_secrets) for r in result.mail_replies],
        queue_id=result.queue_id,
    )
    return document


#: what each mechanism's entry of ``login --mech all --json`` leaves to the top level, where
#: the discovery connection's values stand once
_SESSION_KEYS = ("command", "schema", "host", "port", "tls_mode", "banner", "capabilities_before_tls",
                 "capabilities", "tls", "findings")


def sweep_json(discovery: SessionResult, results: list[LoginResult]) -> dict[str, Any]:
    """``login --mech all --json``: the top level has the keys of ``login --json`` (the
    discovery connection's banner, capabilities, TLS and findings, once), with
    ``mechanism`` "all" and the overall ``outcome``; ``mechanisms`` has one entry per
    advertised mechanism, without the session-wide keys."""
    from saslscope.smtp.client import sweep_failures

    failures = sweep_failures(results)
    document = {"command": "login", **session_json(discovery)}
    if discovery.ok and failures:
        document.update(outcome=failures[0].outcome.value, error=f"{len(failures)} of {len(results)} mechanisms failed")
    tried = [r for r in results if r.outcome is not Outcome.REFUSED_BY_POLICY]
    document.update(
        mechanism="all",
        username=results[0].username if results else None,
        authenticated=bool(tried) and not failures and discovery.ok,
        # per mechanism, in ``mechanisms``; null here so that the keys match login --json
        server_verified=None,
        auth_reply=None,
        mail_replies=[],
        queue_id=None,
        mechanisms=[
            {key: value for key, value in login_json(r).items() if key not in _SESSION_KEYS} for r in results
        ],
    )
    return document


def probe_json(result: ProbeResult) -> dict[str, Any]:
    document = {"command": "probe", **session_json(result)}
    document["verification_error"] = result.verification_error
    document["verification_code"] = result.verification_code
    document["legacy_tls_accepted"] = result.legacy_tls_accepted if result.legacy_tls_checked else None
    document["legacy_tls_checked"] = result.legacy_tls_checked
    document["mechanism_checks"] = [
        {"mechanism": c.mechanism, "works": c.works, "reply": c.reply} for c in result.mechanism_checks
    ]
    return document


# -- Nagios -----------------------------------------------------------------------------


def nagios_state(result: SessionResult) -> NagiosState:
    """CRITICAL for any failure or critical finding, WARNING for warnings, UNKNOWN when
    we refused to run the check as asked (policy), else OK."""
    if result.outcome is Outcome.REFUSED_BY_POLICY:
        return NagiosState.UNKNOWN
    if not result.ok:
        return NagiosState.CRITICAL
    severities = {f.severity for f in result.findings}
    if Severity.CRITICAL in severities:
        return NagiosState.CRITICAL
    if Severity.WARNING in severities:
        return NagiosState.WARNING
    return NagiosState.OK


def nagios_line(result: SessionResult) -> str:
    """``SMTP AUTH OK - <what> | time=0.051s;;;0 connect=... tls=... auth=...``"""
    state = nagios_state(result)
    if isinstance(result, LoginResult):
        what = login_verdict(result).split(": ", 1)[-1]
    elif result.ok:
        what = f"{_target(result)} answers" + (f", {result.tls.protocol}" if result.tls else "")
    else:
        what = result.error or result.outcome.value
    worst: list[Finding] = [f for f in result.findings if f.severity is not Severity.INFO]
    if worst and result.ok:
        what += "; " + "; ".join(f.message for f in worst)
    perfdata = [f"time={result.timings.get('end', 0.0):.6f}s;;;0"]
    perfdata += [f"{name}={result.timings[name]:.6f}s;;;0" for name in ("connect", "tls", "auth") if name in result.timings]
    text = terminal_safe(what.replace("|", "/").replace("\n", " "))
    return f"SMTP AUTH {state.name} - {text} | {' '.join(perfdata)}"


def sweep_nagios_line(discovery: SessionResult, results: list[LoginResult]) -> tuple[str, NagiosState]:
    """``--mech all --nagios``: one line over every mechanism tried, with its time as perfdata."""
    from saslscope.smtp.client import sweep_failures

    tried = [r for r in results if r.outcome is not Outcome.REFUSED_BY_POLICY]
    failures = sweep_failures(results)
    if not discovery.ok:
        state, text = NagiosState.CRITICAL, discovery.error or discovery.outcome.value
    elif not tried:
        state, text = NagiosState.UNKNOWN, "no advertised mechanism could be tried"
    elif failures:
        state = NagiosState.CRITICAL
        text = f"{len(failures)} of {len(tried)} mechanisms failed: " + ", ".join(
            f"{r.mechanism} ({r.outcome.value})" for r in failures
        )
    else:
        state, text = NagiosState.OK, f"{len(tried)} mechanisms authenticated: " + " ".join(r.mechanism or "?" for r in tried)
    perfdata = [f"'{r.mechanism}'={r.timings.get('auth', r.timings.get('end', 0.0)):.6f}s;;;0" for r in tried]
    line = f"SMTP AUTH {state.name} - {terminal_safe(text.replace('|', '/').replace(chr(10), ' '))}"
    return (f"{line} | {' '.join(perfdata)}" if perfdata else line), state
