"""The ``saslscope logs`` commands: exit statuses, --json/--csv as the same data, stdin."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from saslscope.cli import cli
from saslscope.cli.exitcodes import Exit
from saslscope.maillog import analyze

from maillog_data import DATA

SEED = str(DATA / "seed-writeup.log")


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, ["logs", *args], input=input)


def test_summary_json_is_the_library_data():
    result = run("summary", "--json", SEED)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(json.dumps(analyze([SEED]).summary()))


def test_json_text_is_what_the_json_module_writes():
    # orjson writes it; the text must stay json.dumps(indent=2, ensure_ascii=False) byte for byte
    real = str(DATA / "real-world.log")
    for args in (("summary", "--json", real), ("logins", "--json", real), ("failures", "--json", real)):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert result.output == json.dumps(json.loads(result.output), indent=2, ensure_ascii=False) + "\n"
    assert "\u00e9" not in run("summary", "--json", real).output     # non-ASCII stays UTF-8


def test_json_with_lone_surrogates_falls_back_to_escapes(capsysbinary):
    from saslscope.cli.logs import _write_json

    _write_json({"user": "b\udcffd"})
    assert json.loads(capsysbinary.readouterr().out) == {"user": "b\udcffd"}


def test_csv_is_the_same_rows_as_json():
    rows = json.loads(run("logins", "--json", SEED).output)
    table = list(csv.DictReader(io.StringIO(run("logins", "--csv", SEED).output)))
    assert [r["queue_id"] for r in table] == [r["queue_id"] for r in rows] == ["A4FCE204384E"]
    assert table[0]["method"] == "cram-md5" and table[0]["local"] == "yes"      # one spelling: text and CSV


def test_trace_json_and_unknown_id():
    data = json.loads(run("trace", "A4FCE204384E", "--json", SEED).output)
    assert data["queue_id"] == "A4FCE204384E" and len(data["lines"]) == 12
    # an id the log does not name is an answer, not malformed input (docs/logs.md): status 0
    result = run("trace", "NOSUCH", SEED)
    assert result.exit_code == Exit.OK and "no such queue id" in result.output
    assert json.loads(run("trace", "NOSUCH", "--json", SEED).stdout) is None


def test_stdin_and_human_output():
    result = CliRunner().invoke(cli, ["logs", "summary"], input=(DATA / "seed-writeup.log").read_bytes(),
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "centos7@phoenixknight.jp" in result.output and "cram-md5" in result.output


def test_unreadable_file_is_one_clear_line_and_status_7(tmp_path):
    result = run("summary", str(tmp_path / "missing.log"))
    assert result.exit_code == Exit.BAD_INPUT
    assert result.output.strip().splitlines() == [
        f"saslscope logs: {tmp_path / 'missing.log'}: No such file or directory"]


def test_usage_errors():
    assert run("summary", "--since", "yesterday", SEED).exit_code == Exit.USAGE
    assert run("summary", "--syslog-name", "(", SEED).exit_code == Exit.USAGE
    assert run("summary", "--json", "--csv", SEED).exit_code == Exit.USAGE


def test_show_unparsed_lists_the_lines(tmp_path):
    log = tmp_path / "log"
    log.write_text("Sep 17 12:49:26 mail postfix/smtpd[1]: a brand new message\n")
    result = CliRunner().invoke(cli, ["logs", "failures", "--show-unparsed", str(log)])
    assert result.exit_code == 0
    assert "unparsed:" in result.output and "a brand new message" in result.output


def test_failures_json_groups_by_ip_and_user():
    data = json.loads(run("failures", "--json", str(DATA / "lab-postfix-3.7.log")).output)
    assert data["auth_failures"] == 1
    assert data["by_ip"][0]["ip"] == "127.0.0.1"
    assert data["by_username"][0]["username"] == "centos7@phoenixknight.jp"


def test_jobs_default_is_the_usable_cpus_at_most_four(monkeypatch):
    from saslscope.cli import logs

    monkeypatch.setattr(logs.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert logs.usable_cpus() == 4
    monkeypatch.setattr(logs.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert logs.usable_cpus() == 1
    monkeypatch.delattr(logs.os, "sched_getaffinity")
    monkeypatch.setattr(logs.os, "cpu_count", lambda: None)
    assert logs.usable_cpus() == 1
