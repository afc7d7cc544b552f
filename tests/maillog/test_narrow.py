"""trace on files reads only the lines naming the message, its process and milter session;
the result must be what a full parse of every line gives."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from saslscope.maillog import analyze, find_traces

from maillog_data import DATA, log_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import genlog


def both(path: Path, wanted: str) -> tuple[list[dict], list[dict]]:
    narrowed = find_traces([path], [wanted])
    assert not hasattr(narrowed, "summary")           # only trace: the type says what it can do
    full = analyze(lines=path.read_text().splitlines(), keep=wanted)
    return narrowed.trace(wanted), full.trace(wanted)


def test_writeup_trace_by_queue_id_and_message_id():
    path = DATA / "seed-writeup.log"
    for wanted in ("A4FCE204384E", "<20180917034926.A4FCE204384E@ik1-331-25649.vs.sakura.ne.jp>"):
        narrowed, full = both(path, wanted)
        assert narrowed == full and len(narrowed[0]["lines"]) == 12


def test_generated_log_every_kind_of_message(tmp_path):
    out = io.StringIO()
    genlog.generate(6000, seed=11, out=out)
    path = tmp_path / "maillog"
    path.write_text(out.getvalue())
    text = out.getvalue()
    sasl = re.findall(r"\]: (\w+): client=\S+, sasl_method", text)[:3]
    inbound = re.findall(r"smtpd\[\d+\]: (\w+): client=\S+$", text, re.M)[:2]
    bounced = re.findall(r"\]: (\w+): to=<[^>]*>, .*status=bounced", text)[:2]
    mids = re.findall(r"message-id=<([^>]*)>", text)[:2]
    assert sasl and inbound and bounced and mids
    for wanted in sasl + inbound + bounced + mids:
        narrowed, full = both(path, wanted)
        assert narrowed == full, wanted
        assert narrowed and narrowed[0]["lines"]


def test_a_message_across_rotated_files(tmp_path):
    lines = log_lines("seed-writeup.log")
    (tmp_path / "maillog.1").write_text("\n".join(lines[:6]) + "\n")
    (tmp_path / "maillog").write_text("\n".join(lines[6:]) + "\n")
    [t] = find_traces([tmp_path], ["A4FCE204384E"]).trace("A4FCE204384E")
    assert t["lines"] == [ln for ln in lines if "A4FCE204384E" in ln or "[7771]" in ln or "(23631)" in ln]
