"""The fast summary over several processes equals the one-process summary, wherever the
log is cut (sessions and messages crossing the cut are joined by the merge)."""

from __future__ import annotations

import io
import itertools
import random
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from saslscope.maillog import events as ev, parallel, summarize, wire
from saslscope.maillog.analysis import _summarize_chunks
from saslscope.maillog.correlate import (
    AuthOnlySession,
    Boundary,
    Failure,
    Login,
    Message,
    Results,
    Session,
    SessionStart,
)
from saslscope.maillog.feed import LineCounts, UnparsedLine
from saslscope.maillog.options import AnalyzeOptions
from saslscope.maillog.sources import Warnings

from maillog_data import DATA, without_times

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import genlog


def cut_summary(path: Path, cuts: list[int]) -> dict:
    size = path.stat().st_size
    bounds = [0, *cuts, size]
    chunks = [parallel.Chunk(str(path), a, b) for a, b in itertools.pairwise(bounds)]
    analysis = _summarize_chunks(chunks, [str(path)], AnalyzeOptions(jobs=2), None, Warnings())
    return analysis.summary() | {"unparsed_lines": [(u.line_number, u.text) for u in analysis.unparsed]}


def one_process(path: Path) -> dict:
    analysis = summarize([path])
    return analysis.summary() | {"unparsed_lines": [(u.line_number, u.text) for u in analysis.unparsed]}


def line_ends(path: Path) -> list[int]:
    data = path.read_bytes()
    return [i + 1 for i, byte in enumerate(data[:-1]) if byte == 0x0A]


@pytest.mark.parametrize("name", ["seed-writeup.log", "lab-postfix-3.7.log", "real-world.log"])
def test_every_cut_of_the_real_lines(name):
    # real-world.log collects samples out of time order, where one stamp more or less read
    # moves the year inference: a chunk reads the lines at its edges that the prefilter hands
    # over, which one pass may skip (the years differ at 2 of its 344 cuts), so that file is
    # compared without times
    strip = without_times if name == "real-world.log" else (lambda d: d)
    path = DATA / name
    expected = strip(one_process(path))
    for cut in line_ends(path):
        assert strip(cut_summary(path, [cut])) == expected, cut


def test_generated_log_cut_in_many_places(tmp_path):
    out = io.StringIO()
    genlog.generate(3000, seed=5, out=out)
    path = tmp_path / "maillog"
    path.write_text(out.getvalue() + "Sep  3 10:00:00 mail postfix/smtpd[1]: an unknown line\n")
    expected = one_process(path)
    assert expected["unparsed_lines"] == [(3001, "Sep  3 10:00:00 mail postfix/smtpd[1]: an unknown line")]
    ends = line_ends(path)
    rng = random.Random(3)
    for _ in range(6):
        cuts = sorted(rng.sample(ends, rng.randint(1, 4)))
        assert cut_summary(path, cuts) == expected, cuts


def test_plan_cuts_big_files_at_line_ends(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_CHUNK", 0)
    path = tmp_path / "maillog"
    path.write_bytes((DATA / "seed-writeup.log").read_bytes() * 3)
    chunks = parallel.plan([str(path)], 3)
    assert len(chunks) == 3 and chunks[0].start == 0 and chunks[-1].end == path.stat().st_size
    data = path.read_bytes()
    assert all(data[c.start - 1:c.start] == b"\n" for c in chunks[1:])
    # and analyze() uses them, with the same answer as one process
    assert summarize([path], jobs=3).summary() == summarize([path]).summary()
    assert parallel.plan([str(path)], 1) == []


def test_rotated_set_one_file_per_process(tmp_path, monkeypatch):
    import gzip

    monkeypatch.setattr(parallel, "MIN_CHUNK", 0)
    out = io.StringIO()
    genlog.generate(2400, seed=9, out=out)
    lines = out.getvalue().splitlines(keepends=True)
    (tmp_path / "maillog.2.gz").write_bytes(gzip.compress("".join(lines[:800]).encode()))
    (tmp_path / "maillog.1").write_text("".join(lines[800:1600]))
    (tmp_path / "maillog").write_text("".join(lines[1600:]))
    assert len(parallel.plan(sorted(str(p) for p in tmp_path.iterdir()), 2)) == 3
    expected = summarize(lines=[ln.rstrip("\n") for ln in lines]).summary()
    got = summarize([tmp_path], jobs=2).summary()
    expected["sources"] = got["sources"]
    assert got == expected


def test_a_session_ended_in_a_middle_chunk_is_not_carried_to_the_next(tmp_path):
    # pid 100's first session sends a message before the first cut and another before the
    # second cut, where it ends; after that cut pid 100 is a new session whose AUTH sent nothing
    path = tmp_path / "maillog"
    path.write_text(
        "Nov 28 10:00:00 mail postfix/submission/smtpd[100]: connect from client.example[192.0.2.1]\n"
        "Nov 28 10:00:01 mail postfix/submission/smtpd[100]: 1A2B3C4D: client=client.example[192.0.2.1],"
        " sasl_method=PLAIN, sasl_username=alice\n"
        "Nov 28 10:00:02 mail postfix/submission/smtpd[100]: 5E6F7A8B: client=client.example[192.0.2.1],"
        " sasl_method=PLAIN, sasl_username=alice\n"
        "Nov 28 10:00:03 mail postfix/submission/smtpd[100]: disconnect from client.example[192.0.2.1]"
        " ehlo=1 auth=1 mail=2 rcpt=2 data=2 quit=1 commands=9\n"
        "Nov 28 10:05:00 mail postfix/submission/smtpd[100]: connect from other.example[198.51.100.7]\n"
        "Nov 28 10:05:01 mail postfix/submission/smtpd[100]: disconnect from other.example[198.51.100.7]"
        " ehlo=1 auth=1 quit=1 commands=3\n")
    expected = one_process(path)
    assert [s["client_ip"] for s in expected["auth_only_sessions"]] == ["198.51.100.7"]
    ends = line_ends(path)
    assert cut_summary(path, [ends[1], ends[3]]) == expected


def test_wire_format_round_trip():
    tokyo = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=9)))
    utc_named = datetime(2026, 11, 28, 3, 0, 0, tzinfo=timezone(timedelta(0), "UTC"))   # astimezone()'s kind
    utc = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)        # the same instant as both others
    india = datetime(2026, 11, 28, 8, 30, tzinfo=timezone(timedelta(hours=5, minutes=30), "IST"))
    results = Results(
        logins=[Login(tokyo, "jürgen@exämple.jp", "PLAIN", "unknown", "IPv6:2001:db8::1", "mail",
                      "postfix/submission/smtpd", "4F2A1", "<id@x>", None, 3, "TLSv1.3 TLS_AES_256_GCM_SHA384"),
                Login(None, "bob", "LOGIN", "", "", "", "postfix/smtpd", "4F2A2", None, "bob@x", 0, None)],
        failures=[Failure(utc_named, "h.example", "192.0.2.1", "mail", "postfix/smtpd", "LOGIN", "UGFzc3dvcmQ6",
                          None),
                  Failure(utc, "\ufffd", "::1", "mail", "postfix/smtpd", "PLAIN", "authentication failure", "ü")],
        auth_only=[AuthOnlySession(None, india, "a", "198.51.100.2", "mail", "postfix/smtpd", (1, 2), None)],
        dovecot=[ev.DovecotLogin(tokyo, "mail", "dovecot", 7, "imap", False, None, None, None, "auth failed")],
        dovecot_failures=[ev.DovecotAuthFailure(utc, "mail", "dovecot", 8, "PLAIN", "carol", "2001:db8::2",
                                                "Password mismatch")],
        rejects_with_sasl=[ev.Reject(utc_named, "mail", "postfix/smtpd", 9, None, "reject", "RCPT", "x", "192.0.2.9",
                                     "554 5.7.1 no", {"sasl_username": "dave", "to": "<e@x>"})],
        sasl_messages=4)
    session = Session("mail", "postfix/smtpd", 9, tls="TLSv1.2 ECDHE")
    open_message = Message("ABC", tokyo, session=session, sasl_method="PLAIN", sasl_username="erin", nrcpt=2)
    session.messages.append(open_message)
    boundary = Boundary(
        session_starts={("mail", "postfix/smtpd", 5): SessionStart(False, True, (1, 1), None, "n", "192.0.2.5",
                                                                   "mail", "postfix/smtpd"),
                        ("mail", "postfix/smtps/smtpd", 6): SessionStart(True, False, None, india, "", "", "mail",
                                                                         "postfix/smtps/smtpd")},
        message_starts={"DEF": None, "123": Message("123", utc, sender="f@x", size=100, nrcpt=None)},
        open_sessions={("mail", "postfix/smtpd", 9): (True, False)},
        open_messages=[open_message])
    outcome = wire.ChunkResult(results, boundary, {"192.0.2.1"}, LineCounts(10, 7, 1, 2, 0),
                               [UnparsedLine("maillog", 3, "Nov 28 ö", "unknown", 9)], ["a warning"], 4, (11, 28),
                               (2026, 11))

    got = wire.unpack(wire.pack(outcome))

    # repr shows each datetime's fields and zone (== would call the three 03:00 UTC instants equal)
    assert repr(got.results) == repr(results)
    assert repr(got.boundary.session_starts) == repr(boundary.session_starts)
    assert got.boundary.open_sessions == boundary.open_sessions
    assert got.boundary.message_starts["DEF"] is None
    start = got.boundary.message_starts["123"]
    assert (start.queue_id, start.sender, start.size, start.nrcpt) == ("123", "f@x", 100, None)
    [message] = got.boundary.open_messages
    assert message.session.tls == "TLSv1.2 ECDHE" and message.session.messages == [message]
    assert repr(message) == repr(open_message)
    assert (got.own_ips, got.counts, got.unparsed, got.warnings, got.first_stamp, got.years) == (
        outcome.own_ips, outcome.counts, outcome.unparsed, outcome.warnings, outcome.first_stamp,
        outcome.years)


def test_a_chunk_spanning_more_than_a_year_passes_the_year_on(tmp_path):
    # BSD stamps Jan 2025 .. Mar 2026, cut, Apr .. May 2026: the second chunk's first stamp
    # (Apr, after Jan) shows no year turn; only the first chunk's own lines do
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    stamps = [f"{month} {day:2}" for day, year_months in ((10, months), (11, months[:5])) for month in year_months]
    path = tmp_path / "maillog"
    path.write_text("".join(
        f"{stamp} 10:00:00 mail postfix/smtpd[{100 + n}]: warning: unknown[192.0.2.{n}]:"
        f" SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=u{n}\n" for n, stamp in enumerate(stamps)))
    expected = one_process(path)
    first = min(row["first_seen"] for row in expected["failures_by_ip"])
    last = max(row["last_seen"] for row in expected["failures_by_ip"])
    assert (int(last[:4]) - int(first[:4]), last[5:10]) == (1, "05-11")
    assert cut_summary(path, [line_ends(path)[14]]) == expected


def test_progress_counts_every_byte_as_the_workers_read_it(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_CHUNK", 0)
    out = io.StringIO()
    genlog.generate(3000, seed=5, out=out)
    log = tmp_path / "maillog"
    log.write_text(out.getvalue())
    assert len(parallel.plan([str(log)], 2)) == 2
    reported: list[int] = []
    got = summarize([log], jobs=2, progress=reported.append).summary()
    assert sum(reported) == log.stat().st_size and all(n > 0 for n in reported)
    assert got["lines"] == summarize([log], jobs=1).summary()["lines"]
