"""The tie and order rules of report.summary()/failures() that their grouping code must keep.

Equal instants with different offsets print differently, so which record's time a row shows
matters: the first of the earliest and the first of the latest, in log order. And the cyclic
garbage collector, paused while they build their rows, is left as it was.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone

from saslscope.maillog.analysis import Analysis, LineCounts
from saslscope.maillog.correlate import Failure, LocalityJudge, Login, Results

PLUS2 = timezone(timedelta(hours=2))
TEN_UTC = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
TEN_UTC_AS_PLUS2 = datetime(2026, 9, 1, 12, 0, tzinfo=PLUS2)     # the same instant
NINE_UTC = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def failure(ip: str, username: str | None, time: datetime | None, method: str = "LOGIN",
            client_name: str = "unknown") -> Failure:
    return Failure(time, client_name, ip, "mx1", "smtpd", method, "authentication failure", username)


def login(username: str, ip: str, time: datetime | None, client_name: str = "unknown") -> Login:
    return Login(time, username, "PLAIN", client_name, ip, "mx1", "smtpd", "Q1", None, None, 1, None)


def analysis(results: Results) -> Analysis:
    return Analysis(LineCounts(), results, LocalityJudge())


def test_failure_rows_take_the_first_of_equal_times_and_sort_by_count_then_key() -> None:
    a = analysis(Results(failures=[
        failure("192.0.2.9", "bob", None),
        failure("192.0.2.9", "alice", TEN_UTC_AS_PLUS2, method="PLAIN"),
        failure("192.0.2.9", "bob", TEN_UTC),
        failure("192.0.2.2", None, TEN_UTC, client_name="mx1.example.org"),
        failure("192.0.2.1", "carol", TEN_UTC_AS_PLUS2),
        failure("", "dave", NINE_UTC),
        failure("", "dave", None),
    ]))
    by_ip = a.failures()["by_ip"]
    assert [(row["ip"], row["count"]) for row in by_ip] == [
        ("192.0.2.9", 3), (None, 2), ("192.0.2.1", 1), ("192.0.2.2", 1)]
    first = by_ip[0]
    assert (first["first_seen"], first["last_seen"]) == ("2026-09-01T12:00:00+02:00", "2026-09-01T12:00:00+02:00")
    assert first["usernames"] == ["alice", "bob"] and first["methods"] == ["LOGIN", "PLAIN"]
    assert first["client_name"] == "unknown" and first["local"] is False
    assert by_ip[1]["first_seen"] == by_ip[1]["last_seen"] == "2026-09-01T09:00:00+00:00"
    assert by_ip[3] == {"ip": "192.0.2.2", "count": 1, "usernames": [], "methods": ["LOGIN"],
                        "first_seen": "2026-09-01T10:00:00+00:00", "last_seen": "2026-09-01T10:00:00+00:00",
                        "client_name": "mx1.example.org", "local": True}
    by_username = a.failures()["by_username"]
    assert [(row["username"], row["count"]) for row in by_username] == [
        ("bob", 2), ("dave", 2), (None, 1), ("alice", 1), ("carol", 1)]
    assert by_username[0]["client_ips"] == ["192.0.2.9"] and by_username[1]["client_ips"] == []
    assert by_username[0]["first_seen"] == by_username[0]["last_seen"] == "2026-09-01T10:00:00+00:00"


def test_user_rows_take_the_first_of_equal_times() -> None:
    a = analysis(Results(logins=[
        login("bob", "192.0.2.7", TEN_UTC),
        login("alice", "127.0.0.1", TEN_UTC_AS_PLUS2),
        login("alice", "192.0.2.8", NINE_UTC, client_name="mx1.example.org"),
        login("alice", "192.0.2.7", TEN_UTC),
        login("bob", "192.0.2.7", TEN_UTC_AS_PLUS2),
        login("carol", "192.0.2.7", None),
    ], failures=[failure("192.0.2.9", "Bob", TEN_UTC)]))
    users = a.summary()["users"]
    assert [(u["username"], u["messages"]) for u in users] == [("alice", 3), ("bob", 2), ("carol", 1)]
    alice, bob, carol = users
    assert (alice["first_seen"], alice["last_seen"]) == ("2026-09-01T09:00:00+00:00", "2026-09-01T12:00:00+02:00")
    assert (bob["first_seen"], bob["last_seen"]) == ("2026-09-01T10:00:00+00:00", "2026-09-01T10:00:00+00:00")
    assert carol["first_seen"] is None and carol["last_seen"] is None
    assert (alice["local_messages"], alice["remote_messages"], alice["local"]) == (2, 1, False)
    assert alice["client_ips"] == ["127.0.0.1", "192.0.2.7", "192.0.2.8"]
    assert bob["auth_failures"] == 1 and bob["hints"] == ["failed-before"]


def test_the_garbage_collector_is_left_as_it_was() -> None:
    a = analysis(Results(logins=[login("bob", "192.0.2.7", TEN_UTC)],
                         failures=[failure("192.0.2.9", "bob", None)]))
    was_enabled = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            a.summary()
            a.failures()
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was_enabled else gc.disable)()
