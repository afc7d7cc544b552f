"""Reports as plain data (dicts/lists of JSON types).

The CLI renders these same structures as rich tables, ``--json`` or ``--csv``: there is one
code path for the facts and three serialisations of it. Times are ISO 8601 strings with
their offset.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from saslscope.maillog.analysis import Analysis

NOTES = [
    "One client= line with sasl_username is written per message, not per login.",
    "A successful AUTH that sent no message leaves only auth=1 on the disconnect line (see auth_only_sessions).",
    "sasl_method is the client's own spelling: lower-case (e.g. cram-md5) points at a script, not a mail client.",
    "sasl_sender alone (MAIL FROM AUTH=) proves nothing; only sasl_username does.",
    "local = loopback or the logging host's own name/address: webmail, a form, a cron job or local malware.",
]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def summary(analysis: Analysis) -> dict[str, Any]:
    res, judge = analysis.results, analysis.locality
    users: dict[str, dict[str, Any]] = {}
    for login in res.logins:
        u = users.get(login.username)
        if u is None:
            u = users[login.username] = {"username": login.username, "messages": 0, "recipients": 0,
                                         "methods": set(), "client_ips": set(), "services": set(),
                                         "local_messages": 0, "remote_messages": 0, "first": None, "last": None}
        u["messages"] += 1
        u["recipients"] += login.recipients
        u["methods"].add(login.method)
        u["client_ips"].add(login.client_ip)
        u["services"].add(login.service)
        if judge.is_local(login.host, login.client_name, login.client_ip):
            u["local_messages"] += 1
        else:
            u["remote_messages"] += 1
        u["first"] = _min(u["first"], login.time)
        u["last"] = _max(u["last"], login.time)
    failed = Counter(f.username.lower() for f in res.failures if f.username)
    user_rows = []
    for u in sorted(users.values(), key=lambda r: (-r["messages"], r["username"])):
        u["methods"] = sorted(u["methods"])
        u["client_ips"] = sorted(u["client_ips"])
        u["services"] = sorted(u["services"])
        u["local"] = u["remote_messages"] == 0
        u["first_seen"], u["last_seen"] = iso(u.pop("first")), iso(u.pop("last"))
        u["auth_failures"] = failed.get(u["username"].lower(), 0)
        u["hints"] = user_hints(u)
        user_rows.append(u)
    return {
        "lines": vars(analysis.lines).copy(),
        "sources": analysis.sources,
        "sasl_messages": res.sasl_messages,
        "auth_failures": len(res.failures),
        "users": user_rows,
        "failures_by_ip": _failures_by(analysis, "client_ip"),
        "auth_only_sessions": [_auth_only(analysis, s) for s in sorted(res.auth_only, key=_auth_only_order)],
        "rejects_with_sasl": [_reject(r) for r in res.rejects_with_sasl],
        "dovecot": _dovecot(analysis),
        "warnings": analysis.warnings,
        "notes": NOTES,
        "hints": HINTS,
    }


# hint code -> what it tells the admin (the facts of the write-up, issue 5)
HINTS = {
    "lowercase-method": "a method spelled in lower case (e.g. cram-md5): a script or hand-made client, "
                        "not a desktop mail client",
    "local-login": "logged in from the server itself: webmail, a PHP form, a cron job or local malware",
    "failed-before": "AUTH failures named this user too (password guessing, or the owner mistyping)",
}


def user_hints(user: dict[str, Any]) -> list[str]:
    """Hint codes (keys of :data:`HINTS`) for one row of ``users``."""
    hints = []
    if any(m != m.upper() for m in user["methods"]):
        hints.append("lowercase-method")
    if user["local_messages"]:
        hints.append("local-login")
    if user["auth_failures"]:
        hints.append("failed-before")
    return hints


def _auth_only_order(s: Any) -> tuple[str, str, str, str, tuple[int, int]]:
    return (iso(s.end) or "", s.client_ip, s.client_name, s.service, s.auth)


def _auth_only(analysis: Analysis, s: Any) -> dict[str, Any]:
    # no start/TLS: the fast summary skips connect and TLS lines; trace shows them
    return {"end": iso(s.end), "client_name": s.client_name, "client_ip": s.client_ip,
            "service": s.service, "auth": f"{s.auth[0]}/{s.auth[1]}",
            "local": analysis.locality.is_local(s.host, s.client_name, s.client_ip)}


def _reject(r: Any) -> dict[str, Any]:
    return {"time": iso(r.time), "queue_id": r.queue_id, "action": r.action, "client_ip": r.client_ip,
            "reply": r.reply, "sasl_username": r.fields.get("sasl_username"),
            "sasl_method": r.fields.get("sasl_method"), "from": r.fields.get("from"), "to": r.fields.get("to")}


def _sorted(values: set[str]) -> list[str]:
    return sorted(values) if len(values) > 1 else list(values)


def _failures_by(analysis: Analysis, attribute: str) -> list[dict[str, Any]]:
    """Failures grouped by client address or by user name tried (big logs have ~10^5 groups)."""
    rows: dict[str, list[Any]] = {}     # key -> [count, others, methods, first, last, client_name, host]
    other = "username" if attribute == "client_ip" else "client_ip"
    for f in analysis.results.failures:
        key = getattr(f, attribute) or ""
        row = rows.get(key)
        time = f.time
        if row is None:
            row = rows[key] = [0, set(), set(), time, time, f.client_name, f.host]
        row[0] += 1
        value = getattr(f, other)
        if value:
            row[1].add(value)
        row[2].add(f.method)
        if time is not None:
            if row[3] is None or time < row[3]:
                row[3] = time
            if row[4] is None or time > row[4]:
                row[4] = time
    out = []
    name = "ip" if attribute == "client_ip" else "username"
    plural = "usernames" if attribute == "client_ip" else "client_ips"
    is_local = analysis.locality.is_local
    for key, (count, others, methods, first, last, client_name, host) in sorted(
            rows.items(), key=lambda kv: (-kv[1][0], kv[0])):
        item = {name: key or None, "count": count, plural: _sorted(others), "methods": _sorted(methods),
                "first_seen": iso(first), "last_seen": iso(last)}
        if attribute == "client_ip":
            item["client_name"] = client_name
            item["local"] = is_local(host, client_name, key)
        out.append(item)
    return out


def _dovecot(analysis: Analysis) -> dict[str, Any]:
    logins: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"count": 0, "methods": set(), "ips": set()})
    failures = Counter()
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


def logins(analysis: Analysis, user: str | None = None, ip: str | None = None) -> list[dict[str, Any]]:
    """The timeline of authenticated submissions (one row per message), oldest first."""
    judge = analysis.locality
    rows = []
    for login in analysis.results.logins:
        if user is not None and login.username.lower() != user.lower():
            continue
        if ip is not None and login.client_ip != ip:
            continue
        rows.append({"time": iso(login.time), "username": login.username, "method": login.method,
                     "client_ip": login.client_ip, "client_name": login.client_name, "service": login.service,
                     "local": judge.is_local(login.host, login.client_name, login.client_ip),
                     "queue_id": login.queue_id, "message_id": login.message_id, "sender": login.sender,
                     "recipients": login.recipients, "tls": login.tls})
    rows.sort(key=lambda r: r["time"] or "")
    return rows


def failures(analysis: Analysis) -> dict[str, Any]:
    return {"auth_failures": len(analysis.results.failures),
            "by_ip": _failures_by(analysis, "client_ip"),
            "by_username": _failures_by(analysis, "username")}


def trace(analysis: Analysis, wanted: str) -> list[dict[str, Any]]:
    out = []
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


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One table as CSV; list values are joined with spaces (``methods``, ``client_ips``...)."""
    if not rows:
        return ""
    buf = io.StringIO()
    columns = list(rows[0])
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: " ".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v)
                         for k, v in row.items() if not isinstance(v, dict)})
    return buf.getvalue()
