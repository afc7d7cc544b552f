"""Text output of ``saslscope logs`` (forensics-output issue, items 5-8 and 19): statuses,
broken pipes, Dovecot failures, top N with a count of the rest, 80 columns, legends, the year.
And the stream a listener follows (the detection engine's input)."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.maillog import Evidence, analyze

from maillog_data import DATA

SEED = str(DATA / "seed-writeup.log")


def run(*args: str, input: bytes | None = None):
    return CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["logs", *args], input=input)


def guessing_log(ips: int) -> bytes:
    return "".join(f"Sep 17 12:49:{n % 60:02d} mail postfix/smtpd[{n}]: warning: unknown[198.51.100.{n % 250}]: "
                   f"SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=user{n}@example.org\n"
                   for n in range(ips)).encode()


def dovecot_log() -> bytes:
    return (b"Nov 28 12:41:30 mail dovecot: auth: passwd-file(bob@example.org,192.0.2.9,<s1>): unknown user\n"
            b"Nov 28 12:41:31 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): "
            b"user=<carol@example.org>, method=PLAIN, rip=192.0.2.10, lip=192.0.2.1, TLS, session=<s2>\n")


def test_dovecot_failures_are_visible_in_text():
    for command in ("summary", "failures"):
        result = run(command, input=dovecot_log())
        assert result.exit_code == 0, result.output
        assert "Dovecot AUTH failures" in result.output
        assert "bob@example.org" in result.output and "carol@example.org" in result.output
    assert "2 Dovecot AUTH failures" in run("summary", input=dovecot_log()).output.replace("\n", " ")


def test_text_shows_the_top_rows_with_a_count_of_the_rest_and_fits_80_columns():
    log = guessing_log(200)
    result = run("failures", input=log)
    assert result.exit_code == 0
    assert "... 180 more" in result.output
    assert max(map(len, result.output.splitlines())) <= 80
    assert result.output.count("198.51.100.") <= 40              # 20 rows in each of two tables
    assert "... 195 more" in run("failures", "--top", "5", input=log).output
    every = run("failures", "--all", input=log).output
    assert "more (--top" not in every and every.count("198.51.100.") >= 200
    assert len(json.loads(run("failures", "--json", input=log).output)["by_ip"]) == 200   # --json stays complete


def test_legends_only_for_hints_that_occur_and_none_on_an_empty_log():
    empty = run("summary", input=b"")
    assert empty.exit_code == 0 and "hint " not in empty.output and "note:" not in empty.output
    text = run("summary", SEED).output
    assert "hint lowercase-method" in text and "hint failed-before" not in text


def test_local_is_spelled_one_way_everywhere():
    outputs = [run("summary", SEED).output, run("logins", SEED).output, run("summary", "--csv", SEED).output]
    assert all("True" not in out and "False" not in out for out in outputs)


def test_the_assumed_year_is_said_once_in_text_and_json():
    text = run("summary", SEED).output
    assert text.count("gives no year") == 1
    data = json.loads(run("summary", "--json", SEED).output)
    assert isinstance(data["assumed_year"], int)
    assert "assumed_year" not in json.loads(run("summary", "--json", "--year", "2018", SEED).output)
    assert "gives no year" not in run("summary", "--year", "2018", SEED).output


def test_a_broken_pipe_ends_quietly_with_status_0(tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(guessing_log(3000))
    for args in (["summary", "--all"], ["failures", "--json"]):
        process = subprocess.Popen([sys.executable, "-m", "saslscope", "logs", *args, str(log)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert process.stdout is not None and process.stdout.readline()
        process.stdout.close()                              # what `| head -1` does
        assert process.wait(timeout=120) == 0, args
        assert b"Traceback" not in process.stderr.read() if process.stderr else True


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object, object]] = []

    def event(self, event, evidence):
        self.calls.append(("event", event, evidence))

    def message_closed(self, message, login):
        self.calls.append(("message", message, login))

    def session_closed(self, session, auth_only):
        self.calls.append(("session", session, auth_only))


def test_a_listener_follows_events_with_evidence_and_closed_messages_in_log_order():
    recorder = Recorder()
    analysis = analyze([SEED], listener=recorder)
    events = [(e, ev) for kind, e, ev in recorder.calls if kind == "event"]
    assert all(isinstance(ev, Evidence) and ev.source == SEED for _, ev in events)
    assert [ev.line_number for _, ev in events] == sorted(ev.line_number for _, ev in events)
    with open(SEED, encoding="utf-8") as f:
        text = f.read().splitlines()
    assert all(text[ev.line_number - 1] == ev.text for _, ev in events)
    [(message, login)] = [(m, lg) for kind, m, lg in recorder.calls if kind == "message" and lg is not None]
    assert login.username == "centos7@phoenixknight.jp" and login.queue_id == "A4FCE204384E"
    assert message.recipients and all(r.status for r in message.recipients.values())
    closed_at = recorder.calls.index(next(c for c in recorder.calls if c[0] == "message" and c[2] is not None))
    removed = next(i for i, c in enumerate(recorder.calls) if c[0] == "event" and "removed" in c[2].text)
    assert closed_at == removed + 1                      # closed right after its "removed" line
    assert analysis.logins()[0]["queue_id"] == "A4FCE204384E"
