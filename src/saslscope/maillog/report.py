"""Reports as plain data (dicts/lists of JSON types).

The CLI renders these same structures as rich tables, ``--json`` or ``--csv``: there is one
code path for the facts and three serialisations of it. Times are ISO 8601 strings with
their offset.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal, Protocol

from saslscope.maillog.gcpause import cyclic_gc_paused
from saslscope.maillog.rows import (
    AuthOnlyRow,
    DovecotReport,
    FailuresByIpRow,
    FailuresByUserRow,
    FailuresReport,
    LineCountsRow,
    LoginRow,
    RejectRow,
    SummaryReport,
    TraceRow,
    UserRow,
)

if TYPE_CHECKING:  # pragma: no cover
    from saslscope.maillog.correlate import AuthOnlySession, Failure, LocalityJudge, Login, Message, Results
    from saslscope.maillog.events import Reject
    from saslscope.maillog.feed import LineCounts


class Analysed(Protocol):
    """What the reports read of an analysis (see :mod:`saslscope.maillog.analysis`)."""

    lines: LineCounts
    results: Results
    locality: LocalityJudge
    warnings: list[str]
    sources: list[str]
    assumed_year: int | None

    def traced_messages(self, wanted: str) -> list[Message]: ...

NOTES = [
    "One client= line with sasl_username is written per message, not per login.",
    "A successful AUTH that sent no message leaves only auth=1 on the disconnect line (see auth_only_sessions).",
    "sasl_method is the client's own spelling: lower-case (e.g. cram-md5) points at a script, not a mail client.",
    "sasl_sender alone (MAIL FROM AUTH=) proves nothing; only sasl_username does.",
    "local = loopback or the logging host's own name/address: webmail, a form, a cron job or local malware.",
]


# fields of Login/Failure records, read in C by map() over ~10^5 records
_time_of = attrgetter("time")
_username_of = attrgetter("username")
_method_of = attrgetter("method")
_client_name_of = attrgetter("client_name")
_client_ip_of = attrgetter("client_ip")
_host_of = attrgetter("host")
_service_of = attrgetter("service")
_recipients_of = attrgetter("recipients")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _first_and_last(times: Iterable[datetime | None]) -> tuple[datetime | None, datetime | None]:
    """Earliest and latest time; among equal times the one seen first, like ``<`` and ``>`` in log order.

    (``min``/``max`` keep the first of equal items; equal times may differ in their offset.)
    """
    known = [time for time in times if time is not None]
    return (min(known), max(known)) if known else (None, None)


def _by_count_then_key(groups: dict[str, list[Any]]) -> list[str]:
    """The keys of ``groups``, biggest group first, ties by key: the order of ``(-len, key)``.

    Two stable sorts on plain str and int keys instead of one on tuples: ~5x faster for 10^5 groups.
    """
    keys = sorted(groups)
    keys.sort(key=lambda key: -len(groups[key]))
    return keys


@cyclic_gc_paused()
def summary(analysis: Analysed) -> SummaryReport:
    res, is_local = analysis.results, analysis.locality.is_local
    by_user: defaultdict[str, list[Login]] = defaultdict(list)
    for login in res.logins:
        by_user[login.username].append(login)
    failed = Counter(username.lower() for username in map(_username_of, res.failures) if username)
    user_rows: list[UserRow] = []
    for username in _by_count_then_key(by_user):
        group = by_user[username]
        local_messages = sum(map(is_local, map(_host_of, group), map(_client_name_of, group),
                                 map(_client_ip_of, group)))
        first, last = _first_and_last(map(_time_of, group))
        u: UserRow = {"username": username, "messages": len(group), "recipients": sum(map(_recipients_of, group)),
             "methods": sorted(set(map(_method_of, group))), "client_ips": sorted(set(map(_client_ip_of, group))),
             "services": sorted(set(map(_service_of, group))),
             "local_messages": local_messages, "remote_messages": len(group) - local_messages,
             "local": local_messages == len(group), "first_seen": iso(first), "last_seen": iso(last),
             "auth_failures": failed.get(username.lower(), 0), "hints": []}
        u["hints"] = user_hints(u)
        user_rows.append(u)
    lines: LineCountsRow = {"total": analysis.lines.total, "parsed": analysis.lines.parsed,
                            "ignored": analysis.lines.ignored, "unparsed": analysis.lines.unparsed,
                            "outside_range": analysis.lines.outside_range}
    report: SummaryReport = {
        "lines": lines,
        "sources": analysis.sources,
        "sasl_messages": res.sasl_messages,
        "auth_failures": len(res.failures),
        "users": user_rows,
        "failures_by_ip": _failures_by_ip(analysis),
        "auth_only_sessions": [_auth_only(analysis, s) for s in sorted(res.auth_only, key=_auth_only_order)],
        "rejects_with_sasl": [_reject(r) for r in res.rejects_with_sasl],
        "dovecot": dovecot(analysis),
        "warnings": analysis.warnings,
    }
    if analysis.assumed_year is not None:
        report["assumed_year"] = analysis.assumed_year
    report["notes"] = NOTES
    report["hints"] = HINTS
    return report


# hint code -> what it tells the admin (the facts of the write-up, issue 5)
HINTS = {
    "lowercase-method": "a method spelled in lower case (e.g. cram-md5): a script or hand-made client, "
                        "not a desktop mail client",
    "local-login": "logged in from the server itself: webmail, a PHP form, a cron job or local malware",
    "failed-before": "AUTH failures named this user too (password guessing, or the owner mistyping)",
}


def user_hints(user: UserRow) -> list[str]:
    """Hint codes (keys of :data:`HINTS`) for one row of ``users``."""
    hints = []
    if any(m != m.upper() for m in user["methods"]):
        hints.append("lowercase-method")
    if user["local_messages"]:
        hints.append("local-login")
    if user["auth_failures"]:
        hints.append("failed-before")
    return hints


def _auth_only_order(s: AuthOnlySession) -> tuple[str, str, str, str, tuple[int, int]]:
    return (iso(s.end) or "", s.client_ip, s.client_name, s.service, s.auth)


def _auth_only(analysis: Analysed, s: AuthOnlySession) -> AuthOnlyRow:
    # no start/TLS: the fast summary skips connect and TLS lines; trace shows them
    return {"end": iso(s.end), "client_name": s.client_name, "client_ip": s.client_ip,
            "service": s.service, "auth": f"{s.auth[0]}/{s.auth[1]}",
            "local": analysis.locality.is_local(s.host, s.client_name, s.client_ip)}


def _reject(r: Reject) -> RejectRow:
    return {"time": iso(r.time), "queue_id": r.queue_id, "action": r.action, "client_ip": r.client_ip,
            "reply": r.reply, "sasl_username": r.fields.get("sasl_username"),
            "sasl_method": r.fields.get("sasl_method"), "from": r.fields.get("from"), "to": r.fields.get("to")}


def _sorted(values: set[str]) -> list[str]:
    return sorted(values) if len(values) > 1 else list(values)


def _failures_by(analysis: Analysed, attribute: Literal["client_ip", "username"]) -> list[dict[str, Any]]:
    """Failures grouped by client address or by user name tried (big logs have ~10^5 groups);
    rows of :class:`FailuresByIpRow` or :class:`FailuresByUserRow` (see the two callers)."""
    by_ip = attribute == "client_ip"
    key_of = attrgetter(attribute)
    other_of = _username_of if by_ip else _client_ip_of
    groups: defaultdict[str, list[Failure]] = defaultdict(list)
    for f in analysis.results.failures:
        groups[key_of(f) or ""].append(f)
    name = "ip" if by_ip else "username"
    plural = "usernames" if by_ip else "client_ips"
    is_local = analysis.locality.is_local
    out = []
    for key in _by_count_then_key(groups):
        group = groups[key]
        head = group[0]
        if len(group) == 1:             # most groups of a big log; the same row, without sets and sorts
            other = other_of(head)
            others, methods = [other] if other else [], [head.method]
            first_seen = last_seen = iso(head.time)
        else:
            others = _sorted({other for other in map(other_of, group) if other})
            methods = _sorted(set(map(_method_of, group)))
            first, last = _first_and_last(map(_time_of, group))
            first_seen = iso(first)
            last_seen = first_seen if last is first else iso(last)
        item: dict[str, Any] = {name: key or None, "count": len(group), plural: others, "methods": methods,
                "first_seen": first_seen, "last_seen": last_seen}
        if by_ip:
            item["client_name"] = head.client_name
            item["local"] = is_local(head.host, head.client_name, key)
        out.append(item)
    return out


def _failures_by_ip(analysis: Analysed) -> list[FailuresByIpRow]:
    return _failures_by(analysis, "client_ip")  # type: ignore[return-value]


def _failures_by_username(analysis: Analysed) -> list[FailuresByUserRow]:
    return _failures_by(analysis, "username")  # type: ignore[return-value]


def dovecot(analysis: Analysed) -> DovecotReport:
    logins: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"count": 0, "methods": set(), "ips": set()})
    failures: Counter[tuple[str, str]] = Counter()
    for d in analysis.results.dovecot:
        if d.ok:
            row = logins[(d.username or "", d.service)]
            row["count"] += 1
            if d.method:
                row["methods"].add(d.method)
            if d.client_ip:
                row["ips"].add(d.client_ip)
        else:
            failures[(d.client_ip or "", d.username or "")] += 1
    for f in analysis.results.dovecot_failures:
        failures[(f.client_ip or "", f.username)] += 1
    return {
        "logins": [{"username": u, "service": s, "count": r["count"], "methods": sorted(r["methods"]),
                    "client_ips": sorted(r["ips"])} for (u, s), r in sorted(logins.items())],
        "failures": [{"ip": ip or None, "username": user or None, "count": n}
                     for (ip, user), n in sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))],
    }


def logins(analysis: Analysed, user: str | None = None, ip: str | None = None) -> list[LoginRow]:
    """The timeline of authenticated submissions (one row per message), oldest first."""
    judge = analysis.locality
    rows: list[LoginRow] = []
    for login in analysis.results.logins:
        if user is not None and login.username.lower() != user.lower():
            continue
        if ip is not None and login.client_ip != ip:
            continue
        rows.append({"time": iso(login.time), "username": login.username, "method": login.method,
                     "client_ip": login.client_ip, "client_name": login.client_name, "service": login.service,
                     "local": judge.is_local(login.host, login.client_name, login.client_ip),
                     "queue_id": login.queue_id, "message_id": login.message_id, "sender": login.sender,
                     "recipients": login.recipients, "tls": login.tls, "note": login.oddity})
    rows.sort(key=lambda r: r["time"] or "")
    return rows


@cyclic_gc_paused()
def failures(analysis: Analysed) -> FailuresReport:
    return {"auth_failures": len(analysis.results.failures),
            "by_ip": _failures_by_ip(analysis),
            "by_username": _failures_by_username(analysis)}


def trace(analysis: Analysed, wanted: str) -> list[TraceRow]:
    out: list[TraceRow] = []
    for m in analysis.traced_messages(wanted):
        s = m.session
        raw: dict[int, bytes] = dict(m.lines or ())
        if s is not None and s.lines:
            raw.update(s.lines)
        out.append({
            "queue_id": m.queue_id, "message_id": m.message_id,
            "sasl_username": m.sasl_username if m.authenticated else None,
            "sasl_method": m.sasl_method, "sasl_sender": m.sasl_sender,
            "client_name": m.client_name or None, "client_ip": m.client_ip or None,
            "local": analysis.locality.is_local(m.host, m.client_name, m.client_ip) if m.client_ip else None,
            "service": m.program or None, "received": iso(m.received or m.first),
            "from": m.sender, "size": m.size, "nrcpt": m.nrcpt,
            "recipients": [{"to": r.to, "orig_to": r.orig_to, "relay": r.relay, "status": r.status,
                            "dsn": r.dsn, "detail": r.detail, "time": iso(r.time), "attempts": r.attempts}
                           for r in m.recipients.values()],
            "notifications": m.notifications, "orig_queue_id": m.orig_queue_id, "orig_client": m.orig_client,
            "removed": m.removed,
            "session": None if s is None else {
                "service": s.program, "pid": s.pid, "client_name": s.client_name, "client_ip": s.client_ip,
                "start": iso(s.start), "end": iso(s.end), "tls": s.tls, "saw_connect": s.saw_connect,
                "commands": {k: f"{a}/{b}" if a != b else str(a) for k, (a, b) in s.commands.items()},
                "auth_failures": s.auth_failures, "messages": [x.queue_id for x in s.messages]},
            "lines": [raw[k].decode("utf-8", "replace") for k in sorted(raw)],
        })
    return out


# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV Injection"):
# user names, HELO names and senders are the client's text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One CSV cell as text: lists joined with spaces, booleans ``yes``/``no`` (as the text
    tables write them), and a leading formula character neutralised with a ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """One table as CSV (nested dicts are left out); see :func:`csv_cell`."""
    if not rows:
        return ""
    buf = io.StringIO()
    columns = [k for k, v in rows[0].items() if not isinstance(v, dict)]
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(k)) for k in columns])
    return buf.getvalue()
