"""Join the authenticated hop to its Postfix log trace (``saslscope headers --log``).

The queue ID in the submission hop's Received header (``with ESMTPSA id A4FCE204384E``) is
the one Postfix logs as ``A4FCE204384E: client=..., sasl_method=..., sasl_username=...``, so
the log names the account that was used. The log lines are read by :mod:`saslscope.maillog`.

A message can carry several authenticated hops (a user's own relay submitting to a provider's
smarthost, for instance), and the log belongs to one of those servers, so every authenticated
hop's queue ID is looked up, oldest first; the first one the log knows is the joined hop.

Checks that make the join trustworthy rather than a coincidence of short IDs are reported
beside it: the client IP of the log line against the hop's IP, the log's Message-ID against the
header's, and the delivery reply ``queued as X`` against the next hop's queue ID.
"""

from __future__ import annotations

import re
from typing import Any

from saslscope.headers.chain import HeaderAnalysis
from saslscope.headers.received import Hop
from saslscope.headers.source import HeaderInputError
from saslscope.maillog.rows import TraceRow

_QUEUED_AS = re.compile(r"queued as (?P<qid>[0-9A-Za-z]+)")


def _bare_message_id(value: str | None) -> str | None:
    return value.strip().strip("<>") if value else None


def _login(trace: TraceRow, hop: Hop, next_hop: Hop | None, header_message_id: str | None) -> dict[str, Any]:
    relayed_as = sorted({m["qid"] for r in trace.get("recipients", [])
                         for m in _QUEUED_AS.finditer(r.get("detail") or "")})
    log_message_id = _bare_message_id(trace.get("message_id"))
    return {
        "sasl_username": trace.get("sasl_username"),
        "sasl_method": trace.get("sasl_method"),
        "sasl_sender": trace.get("sasl_sender"),
        "client_ip": trace.get("client_ip"),
        "client_name": trace.get("client_name"),
        "client": f"{trace.get('client_name')}[{trace.get('client_ip')}]",
        "received": trace.get("received"),
        "message_id": trace.get("message_id"),
        "client_ip_matches_hop": trace.get("client_ip") == hop.from_ip if hop.from_ip else None,
        "message_id_matches_header": (log_message_id == header_message_id
                                      if header_message_id and log_message_id else None),
        "relayed_as": relayed_as,
        "next_hop_queue_id_matches": (next_hop.queue_id in relayed_as
                                      if next_hop is not None and next_hop.queue_id and relayed_as else None),
    }


def join_log(analysis: HeaderAnalysis, log_paths: list[str]) -> dict[str, Any]:
    """The log evidence for the authenticated hop(s). Raises HeaderInputError if a log is unreadable."""
    from saslscope.maillog import LogInputError, find_traces

    candidates = [(number, hop, hop.queue_id) for number, hop in enumerate(analysis.hops, start=1)
                  if hop.authenticated and hop.queue_id]
    joined: dict[str, Any] = {"queue_id": None, "hop": None, "logins": [], "note": None,
                              "searched": [{"hop": n, "queue_id": queue_id} for n, _, queue_id in candidates]}
    if analysis.submission is None:
        joined["note"] = "no hop says the client authenticated, so there is no queue id to look up"
        return joined
    if not candidates:
        joined["hop"] = (analysis.submission_index or 0) + 1
        joined["note"] = "the authenticated hop names no queue id"
        return joined
    dated = [hop.time for _, hop, _ in candidates if hop.time is not None]
    year = dated[0].year if dated else None      # syslog lines carry no year; the header does
    try:
        log = find_traces(log_paths, [queue_id for _, _, queue_id in candidates if queue_id], year=year)
    except LogInputError as error:
        raise HeaderInputError(f"cannot use the log: {error}") from None
    header_message_id = _bare_message_id(analysis.summary.get("Message-ID"))
    for number, hop, queue_id in candidates:
        traces = log.trace(queue_id)
        if traces:
            next_hop = analysis.hops[number] if number < len(analysis.hops) else None
            joined["hop"], joined["queue_id"] = number, queue_id
            joined["logins"] = [_login(trace, hop, next_hop, header_message_id) for trace in traces]
            break
    if not joined["logins"]:
        first_number, _, first_id = candidates[0]
        joined["hop"], joined["queue_id"] = first_number, first_id
        ids = ", ".join(queue_id for _, _, queue_id in candidates)
        joined["note"] = f"queue id {ids} does not appear in the log" if len(candidates) == 1 \
            else f"none of the queue ids {ids} appears in the log"
    elif all(login["sasl_username"] is None for login in joined["logins"]):
        joined["note"] = "the log has the message but no sasl_username for it"
    return joined
