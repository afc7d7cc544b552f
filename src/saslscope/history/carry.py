"""What a run leaves open, as JSON for the store's ``carry`` table, and back.

:class:`~saslscope.detect.from_maillog.Carry` holds logins whose message still waits for its
qmgr ``from=`` line, the owners of queue files not yet removed, and Dovecot failures waiting for
Postfix's line. Entries older than :data:`LIFETIME` (log time) before the newest one are
dropped (Postfix gives up on a message after ``maximal_queue_lifetime`` (5 days by default)).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from saslscope.detect.findings import Evidence
from saslscope.detect.from_maillog import Carry
from saslscope.detect.signals import AuthSucceeded

LIFETIME = 10 * 86400.0
#: queue files whose owner is remembered until their ``removed`` line (a deferred queue's worth)
OWNERS_KEPT = 200_000
NAME = "maillog"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _login(login: AuthSucceeded) -> dict[str, Any]:
    e = login.evidence
    return {"time": _time(login.time), "ip": login.ip, "username": login.username, "method": login.method,
            "service": login.service, "local": login.local, "helo": login.helo, "tls_cipher": login.tls_cipher,
            "evidence": [e.source, e.line, e.text, _time(e.time)]}


def _unlogin(data: dict[str, Any]) -> AuthSucceeded:
    source, line, text, when = data["evidence"]
    return AuthSucceeded(time=datetime.fromisoformat(data["time"]), ip=data["ip"], username=data["username"],
                         method=data["method"], service=data["service"],
                         evidence=Evidence(source, line, text, datetime.fromisoformat(when) if when else None),
                         local=data["local"], helo=data["helo"], tls_cipher=data["tls_cipher"])


def dumps(carry: Carry, newest: float) -> str:
    """``carry`` as JSON, without what is older than :data:`LIFETIME` before ``newest``."""
    horizon = newest - LIFETIME
    logins = {qid: _login(login) for qid, login in carry.logins.items() if login.time.timestamp() >= horizon}
    # owners carry no time: the newest OWNERS_KEPT are kept (dict order is arrival order)
    owners = dict(list(carry.owners.items())[-OWNERS_KEPT:])
    failures = {ip: [_time(when), user] for ip, (when, user) in carry.dovecot_failures.items()
                if when.timestamp() >= horizon}
    return json.dumps({"logins": logins, "owners": owners, "dovecot_failures": failures}, ensure_ascii=False,
                      sort_keys=True)


def loads(text: str | None) -> Carry:
    if not text:
        return Carry()
    data = json.loads(text)
    return Carry({qid: _unlogin(v) for qid, v in data["logins"].items()}, dict(data["owners"]),
                 {ip: (datetime.fromisoformat(when), user) for ip, (when, user) in data["dovecot_failures"].items()})
