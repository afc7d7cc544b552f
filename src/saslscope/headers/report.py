"""One plain-data view of a :class:`HeaderAnalysis`, used by ``--json`` and the human output alike.

The human renderer reads this dictionary too, so the two outputs cannot disagree. Field names
are part of the documented JSON contract (docs/headers.md); add fields, never rename them.
"""

from __future__ import annotations

from typing import Any

from saslscope.headers.authresults import AuthResults
from saslscope.headers.chain import MAX_FIELDS_PER_NAME, HeaderAnalysis
from saslscope.headers.received import Hop


def hop_to_dict(hop: Hop, number: int) -> dict[str, Any]:
    kind = hop.transmission
    return {
        "number": number,                      # 1 = oldest hop
        "from_host": hop.from_host,
        "helo": hop.helo,
        "reverse_name": hop.reverse_name,
        "from_ip": hop.from_ip,
        "from_port": hop.from_port,
        "by_host": hop.by_host,
        "by_ip": hop.by_ip,
        "by_software": hop.by_software,
        "via": hop.via,
        "protocol": hop.protocol,
        "protocol_info": kind.to_dict() if kind else None,
        "queue_id": hop.queue_id,
        "for": hop.for_addr,
        "envelope_from": hop.envelope_from,
        "local_sender": hop.local_sender,
        "tls": hop.tls.to_dict() if hop.tls else None,
        "time": hop.time.isoformat() if hop.time else None,
        "time_raw": hop.time_raw,
        "delay_seconds": hop.delay_seconds,
        "clock_skew": hop.clock_skew,
        "authenticated": hop.authenticated,
        "authenticated_sender": hop.authenticated_sender,
        "auth_evidence": list(hop.auth_evidence),
        "comments": list(hop.comments),
        "unrecognised": list(hop.unrecognised),
        "raw": hop.raw,
    }


def _method_results(headers: list[AuthResults], method: str) -> list[dict[str, Any]]:
    """Every ``method=...`` verdict across the headers, each with the server that gave it."""
    return [
        {"authserv_id": header.authserv_id, "instance": header.instance, **result.to_dict()}
        for header in headers
        for result in header.results
        if result.method == method
    ]


def _arc_sets(analysis: HeaderAnalysis) -> list[dict[str, Any]]:
    """ARC headers grouped by instance ``i=`` (RFC 8617 §4.2.1), lowest first."""
    sets: dict[str, dict[str, Any]] = {}

    def slot(instance: object) -> dict[str, Any]:
        key = str(instance) if instance is not None else "?"
        return sets.setdefault(key, {"instance": key, "seal": None, "message_signature": None,
                                     "authentication_results": None})

    for seal in analysis.arc_seals:
        slot(seal.get("i"))["seal"] = seal
    for signature in analysis.arc_message_signatures:
        slot(signature.get("i"))["message_signature"] = signature
    for results in analysis.arc_auth_results:
        slot(results.instance)["authentication_results"] = results.to_dict()
    return sorted(sets.values(), key=lambda s: (0, int(s["instance"])) if s["instance"].isdigit() else (1, 0))


def _dkim_filter(note: str, hops: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenDKIM's ``DKIM-Filter: OpenDKIM Filter v2.11.0 <host> <queue id>``, tied to its hop."""
    words = note.split()
    queue_id = words[-1] if len(words) >= 2 else None
    hop = next((h["number"] for h in hops if queue_id and h["queue_id"] == queue_id), None)
    return {"raw": note, "host": words[-2] if len(words) >= 2 else None,
            "queue_id": queue_id if hop is not None else None, "hop": hop}


def to_dict(analysis: HeaderAnalysis, log: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report as JSON-ready data. ``log`` is the optional ``--log`` join (see logjoin)."""
    hops = [hop_to_dict(hop, number) for number, hop in enumerate(analysis.hops, start=1)]
    all_results = [*analysis.auth_results, *analysis.arc_auth_results]
    submission = None
    if analysis.submission_index is not None:
        hop = hops[analysis.submission_index]
        submission = {
            "hop": hop["number"],
            "from_ip": hop["from_ip"],
            "reverse_name": hop["reverse_name"],
            "helo": hop["helo"],
            "by_host": hop["by_host"],
            "protocol": hop["protocol"],
            "queue_id": hop["queue_id"],
            "tls": hop["tls"],
            "time": hop["time"],
            "authenticated_sender": hop["authenticated_sender"],
            "evidence": hop["auth_evidence"],
            # Hops below the submission were written before an authenticated server saw the
            # message: the submitting client (or its own relay) wrote them, nobody checked them.
            "earlier_hops": analysis.submission_index,
            # Deprecated aliases of from_ip and reverse_name (the names every hop uses), kept for
            # one release (docs/headers.md): removed in 0.3.
            "client_ip": hop["from_ip"],
            "client_name": hop["reverse_name"],
        }
    return {
        "summary": dict(analysis.summary),
        "hops": hops,
        "submission": submission,
        "authenticated_hops": [hop["number"] for hop in hops if hop["authenticated"]],
        "auth_results": [r.to_dict() for r in analysis.auth_results],
        "spf": {
            "received_spf": [r.to_dict() for r in analysis.received_spf],
            "results": _method_results(all_results, "spf"),
        },
        "dkim": {
            "signatures": list(analysis.dkim_signatures),
            "results": _method_results(all_results, "dkim"),
            "filters": [_dkim_filter(note, hops) for note in analysis.dkim_filters],
        },
        "dmarc": {"results": _method_results(all_results, "dmarc")},
        "arc": {"sets": _arc_sets(analysis), "results": _method_results(all_results, "arc")},
        "log": log,
        "skew_tolerance_seconds": analysis.skew_tolerance,
        "malformed_lines": [{"line": number, "text": text} for number, text in analysis.malformed_lines],
        "envelope_line": analysis.envelope_line,
        "source": analysis.source.to_dict() if analysis.source else None,
        "omitted": dict(analysis.omitted),
        "notes": _notes(analysis),
    }


def _notes(analysis: HeaderAnalysis) -> list[str]:
    """What the report leaves out, in words (also printed by the human output)."""
    notes = []
    source = analysis.source
    if source is not None and source.kind == "maildir" and source.count and source.count > 1:
        notes.append(f"message {source.index} of the {source.count} in Maildir {source.path} in delivery order "
                     f"(0 = oldest, -1 = newest; --index chooses): {source.file}")
    for name, count in analysis.omitted.items():
        kept = MAX_FIELDS_PER_NAME
        if name == "Received":
            notes.append(f"{count} older Received fields were not analysed: only the newest {kept} are. RFC 5321 §6.3 "
                         "treats 100 hops as a mail loop and Postfix bounces at 50, so the older ones were most "
                         "likely added by the sender (forged), not by the servers the message passed")
        elif name == "malformed lines":
            notes.append(f"{count} more lines that are not header fields were left out (the first {kept} are shown)")
        else:
            notes.append(f"{count} more {name} fields were left out (only the newest {kept} are analysed)")
    return notes
