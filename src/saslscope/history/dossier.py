"""One account's dossier from the history store: what is normal for it, what it did lately,
and what was found. The data of ``saslscope logs account USER --db PATH`` (text and ``--json``).

"Recent" is measured back from the account's own last activity in the store (log time), so a
dossier of an archive read months later still shows its last week.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from saslscope.history.store import BaselineReader

#: values of each dimension listed (the rest are counted)
TOP = 10
#: how far back "recent logins" reach from the account's last activity
RECENT_SECONDS = 7 * 86400.0


def _iso(when: float | None) -> str | None:
    return datetime.fromtimestamp(when, UTC).isoformat() if when is not None else None


def dossier(reader: BaselineReader, account: str, *, events: int = 5000) -> dict[str, Any] | None:
    """The account's dossier as JSON types, or None when the store never saw it."""
    known = reader.account(account)
    if known is None:
        return None
    first, last, logins, failures = known
    baseline: dict[str, Any] = {}
    for dimension in ("network", "address", "country", "asn", "method", "helo"):
        values = reader.seen(account, dimension) or {}
        ranked = sorted(values.values(), key=lambda v: (-v.count, v.value))
        baseline[dimension] = {
            "total": len(ranked),
            "top": [{"value": v.value, "count": v.count, "first_seen": _iso(v.first_seen),
                     "last_seen": _iso(v.last_seen)} for v in ranked[:TOP]],
        }
    recent = [e for e in reader.events(account, events) or [] if e["time"] >= last - RECENT_SECONDS]
    return {
        "account": account,
        "first_seen": _iso(first),
        "last_seen": _iso(last),
        "logins": logins,
        "failures": failures,
        "baseline": baseline,
        "volume": _volume(reader, account),
        "recent": _recent(recent, last),
        "findings": reader.findings(account) or [],
    }


def _volume(reader: BaselineReader, account: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in ("messages", "recipients", "bounced", "deferred"):
        rows = reader.hourly(account, metric, 0) or []
        counts = [count for _, count in rows]
        busiest = max(rows, key=lambda r: (r[1], r[0])) if rows else None
        out[metric] = {
            "total": sum(counts),
            "active_hours": len(counts),
            "median_per_active_hour": statistics.median(counts) if counts else 0,
            "max_per_hour": busiest[1] if busiest else 0,
            "busiest_hour": _iso(busiest[0] * 3600.0) if busiest else None,
        }
    return out


def _recent(events: list[dict[str, Any]], last: float) -> dict[str, Any]:
    logins = [e for e in events if e["kind"] == "login"]
    failures = [e for e in events if e["kind"] == "failure"]
    networks: dict[str, dict[str, Any]] = {}
    for e in sorted(logins, key=lambda e: e["time"]):
        entry = networks.setdefault(e["network"], {"network": e["network"], "country": e["country"],
                                                   "asn": e["asn"], "logins": 0, "addresses": set(),
                                                   "first": e["time"], "last": e["time"]})
        entry["logins"] += 1
        entry["addresses"].add(e["ip"])
        entry["last"] = e["time"]
    by_network = sorted(networks.values(), key=lambda n: (-n["logins"], n["network"]))
    countries = Counter(e["country"] or "unknown" for e in logins)
    failing = Counter(e["ip"] for e in failures)
    return {
        "since": _iso(last - RECENT_SECONDS),
        "logins": len(logins),
        "by_network": [{**n, "addresses": len(n["addresses"]), "first": _iso(n["first"]), "last": _iso(n["last"])}
                       for n in by_network],
        "by_country": [{"country": c, "logins": n} for c, n in sorted(countries.items(), key=lambda i: (-i[1], i[0]))],
        "failures": len(failures),
        "failures_by_ip": [{"ip": ip, "failures": n} for ip, n in sorted(failing.items(), key=lambda i: (-i[1], i[0]))],
        "last_logins": [{k: e[k] for k in ("time", "ip", "country", "method", "service", "source", "line", "text")}
                        | {"time": _iso(e["time"])} for e in logins[:10]],
    }
