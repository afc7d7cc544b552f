"""The report rows, typed: what ``--json`` prints and what library callers read.

They are ``TypedDict`` s, not classes: the reports are plain JSON data (one code path for
text, JSON and CSV), and a caller's ``row["username"]`` is checked by mypy against these
declarations. Field names are stable (README documents them).
"""

from __future__ import annotations

from typing import TypedDict


class LineCountsRow(TypedDict):
    total: int
    parsed: int
    ignored: int
    unparsed: int
    outside_range: int


class UserRow(TypedDict):
    username: str
    messages: int
    recipients: int
    methods: list[str]
    client_ips: list[str]
    services: list[str]
    local_messages: int
    remote_messages: int
    local: bool
    first_seen: str | None
    last_seen: str | None
    auth_failures: int
    hints: list[str]


class FailuresByIpRow(TypedDict):
    ip: str | None
    count: int
    usernames: list[str]
    methods: list[str]
    first_seen: str | None
    last_seen: str | None
    client_name: str
    local: bool


class FailuresByUserRow(TypedDict):
    username: str | None
    count: int
    client_ips: list[str]
    methods: list[str]
    first_seen: str | None
    last_seen: str | None


class AuthOnlyRow(TypedDict):
    end: str | None
    client_name: str
    client_ip: str
    service: str
    auth: str
    local: bool


# "from" is a Python keyword: the rows that have it use the functional form
RejectRow = TypedDict("RejectRow", {
    "time": str | None, "queue_id": str | None, "action": str, "client_ip": str, "reply": str,
    "sasl_username": str | None, "sasl_method": str | None, "from": str | None, "to": str | None})


class DovecotLoginRow(TypedDict):
    username: str
    service: str
    count: int
    methods: list[str]
    client_ips: list[str]


class DovecotFailureRow(TypedDict):
    ip: str | None
    username: str | None
    count: int


class DovecotReport(TypedDict):
    logins: list[DovecotLoginRow]
    failures: list[DovecotFailureRow]


class SummaryReport(TypedDict, total=False):
    lines: LineCountsRow
    sources: list[str]
    sasl_messages: int
    auth_failures: int
    users: list[UserRow]
    failures_by_ip: list[FailuresByIpRow]
    auth_only_sessions: list[AuthOnlyRow]
    rejects_with_sasl: list[RejectRow]
    dovecot: DovecotReport
    warnings: list[str]
    assumed_year: int           # only when the log gave no year and none was given
    notes: list[str]
    hints: dict[str, str]


class FailuresReport(TypedDict):
    auth_failures: int
    by_ip: list[FailuresByIpRow]
    by_username: list[FailuresByUserRow]


class LoginRow(TypedDict):
    time: str | None
    username: str
    method: str
    client_ip: str
    client_name: str
    service: str
    local: bool
    queue_id: str
    message_id: str | None
    sender: str | None
    recipients: int
    tls: str | None
    note: str | None            # an oddity of the evidence (a malformed queue id), else None


class RecipientRow(TypedDict):
    to: str
    orig_to: str | None
    relay: str | None
    status: str
    dsn: str | None
    detail: str
    time: str | None
    attempts: int


class SessionRow(TypedDict):
    service: str
    pid: int
    client_name: str
    client_ip: str
    start: str | None
    end: str | None
    tls: str | None
    saw_connect: bool
    commands: dict[str, str]
    auth_failures: int
    messages: list[str]


TraceRow = TypedDict("TraceRow", {
    "queue_id": str, "message_id": str | None, "sasl_username": str | None, "sasl_method": str | None,
    "sasl_sender": str | None, "client_name": str | None, "client_ip": str | None, "local": bool | None,
    "service": str | None, "received": str | None, "from": str | None, "size": int | None, "nrcpt": int | None,
    "recipients": list[RecipientRow], "notifications": list[str], "orig_queue_id": str | None,
    "orig_client": str | None, "removed": bool, "session": SessionRow | None, "lines": list[str]})
