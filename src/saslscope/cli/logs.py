"""``saslscope logs``: summary, logins, failures and trace over Postfix/Dovecot logs.

A thin layer: options -> :func:`saslscope.maillog.analyze` -> :mod:`saslscope.maillog.report`
data -> rich tables on a terminal, or the same data as ``--json``/``--csv``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from saslscope.cli.exitcodes import Exit
from saslscope.cli.untrusted import literal, printable

DEFAULT_TOP = 20


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    from saslscope.maillog.timestamps import parse_when

    try:
        return parse_when(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Input and output options shared by every ``logs`` subcommand."""
    options = [
        click.argument("files", nargs=-1, type=click.Path(dir_okay=True, allow_dash=True)),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
        click.option("--csv", "as_csv", is_flag=True, help="Print the main table as CSV."),
        click.option("--since", callback=_when, help="Only lines at or after this time (2026-11-28T12:00)."),
        click.option("--until", callback=_when, help="Only lines before this time."),
        click.option("--year", type=click.IntRange(1970, 9999),
                     help="Year of the first BSD-syslog line (they carry none); default: inferred."),
        click.option("--syslog-name", metavar="REGEX",
                     help="Extra Postfix syslog_name(s), e.g. 'mta-(in|out)'."),
        click.option("--own-address", "own_addresses", multiple=True, metavar="IP",
                     help="An address of this server: logins from it are marked local. Repeatable."),
        click.option("--show-unparsed", is_flag=True, help="List lines that were not understood (stderr)."),
        click.option("--top", type=click.IntRange(1), default=DEFAULT_TOP, show_default=True,
                     help="Text output: rows shown per table, with a count of the rest."),
        click.option("--all", "show_all", is_flag=True, help="Text output: every row (--json/--csv always have all)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group()
def logs() -> None:
    """Forensics over Postfix/Dovecot logs: who logged in, who failed, where a message went.

    FILES are log files, directories of rotated logs or '-' for stdin (default: stdin);
    gzip, bzip2, xz and zstd are read transparently; rotated sets are read oldest first.
    Every text in the output that came from the log is shown literally, control characters
    escaped. A broken pipe (``| head``) ends the command quietly with status 0.
    """


def _run(ctx: click.Context, run: Callable[..., Any], files: tuple[str, ...], *extra: Any, show_unparsed: bool,
         **options: Any) -> Any:
    """``run(paths, *extra, options)`` (analyze, summarize, find_traces) with the progress bar,
    input errors as exit 7, and warnings and unparsed lines on stderr."""
    from saslscope.maillog import AnalyzeOptions, LogInputError
    from saslscope.maillog.sources import expand

    paths = list(files) or ["-"]
    syslog_name = options.get("syslog_name")
    if syslog_name:
        import re

        try:
            re.compile(syslog_name)
        except re.error as exc:
            raise click.BadParameter(f"not a regular expression: {exc}", param_hint="--syslog-name") from exc
    opts = AnalyzeOptions(**options)
    try:
        if run.__name__ == "find_traces":
            analysis = run(paths, *extra, opts)
        else:
            with _progress(expand(paths)) as progress:
                analysis = run(paths, opts, progress=progress)
    except LogInputError as exc:
        click.echo(f"saslscope logs: {printable(exc)}", err=True)
        ctx.exit(Exit.BAD_INPUT)
    for warning in analysis.warnings:
        click.echo(f"saslscope logs: warning: {printable(warning)}", err=True)
    if show_unparsed:
        for u in analysis.unparsed:
            more = f" ... ({u.length} bytes)" if u.length > len(u.text.encode()) else ""
            click.echo(f"unparsed: {printable(u.source)}:{u.line_number}: {u.reason}: {printable(u.text)}{more}",
                       err=True)
        if analysis.lines.unparsed > len(analysis.unparsed):
            click.echo(f"unparsed: ... {analysis.lines.unparsed - len(analysis.unparsed)} more", err=True)
    return analysis


class _progress:
    """A rich progress bar on stderr for big inputs when stderr is a terminal; else nothing."""

    THRESHOLD = 32 << 20

    def __init__(self, paths: list[str]) -> None:
        from saslscope.maillog.analysis import path_size

        self.total = path_size(paths)
        self.enabled = sys.stderr.isatty() and self.total >= self.THRESHOLD and "-" not in paths
        self.bar: Any = None

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task("reading logs", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _emit(ctx: click.Context, data: Any, rows: Any, as_json: bool, as_csv: bool,
          render: Callable[[], None]) -> None:
    """The report as JSON, CSV or text; a reader that goes away (``| head``) is no error."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv are exclusive")
    try:
        if as_json:
            _write_json(data)
        elif as_csv:
            from saslscope.maillog.report import to_csv

            click.echo(to_csv(rows), nl=False)
        else:
            render()
        sys.stdout.flush()
    except BrokenPipeError:
        # nothing more can be written; point stdout at /dev/null so the interpreter's final
        # flush does not fail again, and end as a pipeline reader expects: quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        ctx.exit(Exit.OK)


def _write_json(data: Any) -> None:
    """``json.dumps(data, indent=2, ensure_ascii=False)`` byte for byte, by orjson: a 1M-line
    summary is ~16 MB of JSON, 0.9 s in the json module and 0.03 s here. Text orjson refuses
    (lone surrogates) goes through the json module, escaped as ``\\udcxx``."""
    import orjson

    try:
        encoded = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        encoded = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
    sys.stdout.flush()
    sys.stdout.buffer.write(encoded)
    sys.stdout.buffer.flush()


def _short(stamp: str | None) -> str:
    """An ISO time as a table shows it: ``2026-09-17 12:49:26`` (JSON keeps the offset)."""
    return stamp[:19].replace("T", " ") if stamp else ""


def _yes(value: bool | None) -> str:
    """The "local" column, one spelling everywhere (CSV too)."""
    return "" if value is None else "yes" if value else "no"


def _console() -> Any:
    """rich on stdout: the terminal's width, 80 columns when piped (or $COLUMNS); never reads
    markup, emoji codes or highlights in any text. A broken pipe is left to :func:`_emit`
    (rich's own handling exits with status 1)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _Console(markup=False, emoji=False, highlight=False)


def _cell(value: Any, limit: int = 3) -> Any:
    """A table cell from report data: literal text; a list shows its first ``limit`` items."""
    if value is None:
        return literal("")
    if isinstance(value, list):
        shown = ", ".join(printable(v) for v in value[:limit])
        rest = len(value) - limit
        return literal(shown + (f" (+{rest})" if rest > 0 else ""))
    return literal(value)


def _table(console: Any, title: str, columns: list[str], rows: list[list[Any]], total: int, top: int | None) -> None:
    """A table of the first ``top`` rows (all with None) and a line counting the rest."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", expand=False)
    for i, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=i == 0)     # keep the key column whole
    shown = rows if top is None else rows[:top]
    for row in shown:
        table.add_row(*(_cell(v) for v in row))
    console.print(table)
    if total > len(shown):
        console.print(f"... {total - len(shown)} more (--top N, --all, or --json for every row)")


def _limit(top: int, show_all: bool) -> int | None:
    return None if show_all else top


def usable_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's share), at most 4."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:                      # not on Linux
        count = os.cpu_count() or 1
    return max(1, min(count, 4))


def jobs_option(func: Callable[..., Any]) -> Callable[..., Any]:
    # default: the usable CPUs (docs/logs.md has the measurements); beyond the CPU count it only loses
    return click.option("--jobs", "-j", "jobs", type=click.IntRange(1, 64), default=usable_cpus,
                        show_default="usable CPUs, at most 4",
                        help="Processes for big uncompressed files (>= 16 MB) or rotated sets.")(func)


def _assumed_year(console: Any, year: int | None) -> None:
    if year is not None:
        console.print(f"note: the log gives no year; {year} was assumed (set it with --year)")


def _dovecot_failures(console: Any, rows: list[Any], top: int | None) -> None:
    if rows:
        _table(console, "Dovecot AUTH failures", ["ip", "username", "count"],
               [[f["ip"], f["username"], f["count"]] for f in rows], len(rows), top)


@logs.command()
@common_options
@jobs_option
@click.pass_context
def summary(ctx: click.Context, /, files: tuple[str, ...], as_json: bool, as_csv: bool, top: int, show_all: bool,
            show_unparsed: bool, own_addresses: tuple[str, ...], **opts: Any) -> None:
    """Per user: messages, recipients, methods, client IPs, local or remote; failures per IP."""
    from saslscope.maillog import summarize

    analysis = _run(ctx, summarize, files, show_unparsed=show_unparsed, own_addresses=own_addresses, **opts)
    data = analysis.summary()
    limit = _limit(top, show_all)

    def render() -> None:
        console = _console()
        lines, dovecot = data["lines"], data["dovecot"]
        dovecot_failures = sum(f["count"] for f in dovecot["failures"])
        console.print(f"lines: {lines['total']} total, {lines['parsed']} parsed, {lines['ignored']} other "
                      f"programs, {lines['unparsed']} unparsed; {data['sasl_messages']} authenticated "
                      f"messages, {data['auth_failures']} Postfix AUTH failures, {dovecot_failures} Dovecot "
                      f"AUTH failures")
        _assumed_year(console, data.get("assumed_year"))
        users = data["users"]
        _table(console, "Authenticated senders", ["user", "msgs", "rcpts", "methods", "client IPs", "local",
                                                  "fails", "last seen", "hints"],
               [[u["username"], u["messages"], u["recipients"], u["methods"], u["client_ips"],
                 "yes" if u["local"] else ("partly" if u["local_messages"] else "no"), u["auth_failures"],
                 _short(u["last_seen"]), u["hints"]] for u in users[:limit]], len(users), limit)
        by_ip = data["failures_by_ip"]
        if by_ip:
            _table(console, "Postfix AUTH failures by IP", ["ip", "count", "usernames tried", "methods"],
                   [[f["ip"], f["count"], f["usernames"], f["methods"]] for f in by_ip[:limit]], len(by_ip), limit)
        _dovecot_failures(console, dovecot["failures"], limit)
        auth_only = data["auth_only_sessions"]
        if auth_only:
            _table(console, "Successful AUTH, no message sent (Postfix logs no user name for these)",
                   ["end", "client", "service", "auth", "local"],
                   [[_short(s["end"]), f"{s['client_name']}[{s['client_ip']}]", s["service"], s["auth"],
                     _yes(s["local"])] for s in auth_only[:limit]], len(auth_only), limit)
        used = {code for u in users for code in u["hints"]}
        for code, text in data["hints"].items():
            if code in used:
                console.print(literal(f"hint {code}: {text}", "dim"))
        if users or by_ip or auth_only:
            for note in data["notes"]:
                console.print(literal(f"note: {note}", "dim"))

    _emit(ctx, data, data["users"], as_json, as_csv, render)


@logs.command()
@common_options
@click.option("--user", help="Only this SASL user name (case-insensitive).")
@click.option("--ip", help="Only this client address.")
@click.pass_context
def logins(ctx: click.Context, /, files: tuple[str, ...], as_json: bool, as_csv: bool, user: str | None,
           ip: str | None, top: int, show_all: bool, show_unparsed: bool, own_addresses: tuple[str, ...],
           **opts: Any) -> None:
    """The timeline of authenticated submissions (one client= line per message)."""
    from saslscope.maillog import analyze

    analysis = _run(ctx, analyze, files, show_unparsed=show_unparsed, own_addresses=own_addresses, **opts)
    rows = analysis.logins(user=user, ip=ip)
    limit = _limit(top, show_all)

    def render() -> None:
        console = _console()
        _assumed_year(console, analysis.assumed_year)
        shown = rows if limit is None else rows[-limit:]        # the latest: a timeline's end matters most
        _table(console, "Authenticated submissions" + ("" if limit is None or len(rows) <= limit else " (latest)"),
               ["time", "user", "method", "client", "local", "queue id", "from", "rcpts"],
               [[_short(r["time"]), r["username"], r["method"], f"{r['client_name']}[{r['client_ip']}]",
                 _yes(r["local"]), r["queue_id"] + (f" ({r['note']})" if r["note"] else ""), r["sender"],
                 r["recipients"]] for r in shown], len(rows), None)
        if len(rows) > len(shown):
            console.print(f"... {len(rows) - len(shown)} earlier (--top N, --all, or --json for every row)")

    _emit(ctx, rows, rows, as_json, as_csv, render)


@logs.command()
@common_options
@jobs_option
@click.pass_context
def failures(ctx: click.Context, /, files: tuple[str, ...], as_json: bool, as_csv: bool, top: int, show_all: bool,
             show_unparsed: bool, own_addresses: tuple[str, ...], **opts: Any) -> None:
    """AUTH failures by client IP and by user name tried (Postfix and Dovecot)."""
    from saslscope.maillog import summarize

    analysis = _run(ctx, summarize, files, show_unparsed=show_unparsed, own_addresses=own_addresses, **opts)
    data = analysis.failures()
    limit = _limit(top, show_all)

    def render() -> None:
        console = _console()
        _assumed_year(console, analysis.assumed_year)
        by_ip, by_user = data["by_ip"], data["by_username"]
        _table(console, f"Postfix AUTH failures by IP ({data['auth_failures']} in all)",
               ["ip", "client", "count", "usernames tried", "methods", "last"],
               [[f["ip"], f["client_name"], f["count"], f["usernames"], f["methods"], _short(f["last_seen"])]
                for f in by_ip[:limit]], len(by_ip), limit)
        _table(console, "Postfix AUTH failures by user name", ["username", "count", "client IPs", "methods"],
               [[f["username"] or "(not logged)", f["count"], f["client_ips"], f["methods"]]
                for f in by_user[:limit]], len(by_user), limit)
        _dovecot_failures(console, analysis.dovecot()["failures"], limit)

    _emit(ctx, data, data["by_ip"], as_json, as_csv, render)


@logs.command()
@click.argument("wanted", metavar="QUEUEID|MESSAGE-ID")
@common_options
@click.pass_context
def trace(ctx: click.Context, /, wanted: str, files: tuple[str, ...], as_json: bool, as_csv: bool, top: int,
          show_all: bool, show_unparsed: bool, own_addresses: tuple[str, ...], **opts: Any) -> None:
    """Follow one message (queue id or Message-ID) from its smtpd session to 'removed'.

    When a short queue id was reused or a Message-ID re-injected, every match is shown;
    --json prints the first and lists the others under "other_matches". An id the logs do
    not name is no error: a note on stderr, "null" with --json, and status 0.
    """
    from saslscope.maillog import find_traces

    if not wanted.strip().strip("<>").strip():
        raise click.BadParameter("an empty id would match every line; give a queue id or a Message-ID",
                                 param_hint="QUEUEID|MESSAGE-ID")
    analysis = _run(ctx, find_traces, files, [wanted], show_unparsed=show_unparsed, own_addresses=own_addresses,
                    **opts)
    matches = analysis.trace(wanted)
    if not matches:
        click.echo(f"saslscope logs: {printable(wanted)}: no such queue id or Message-ID in the input", err=True)
        _emit(ctx, None, [], as_json, as_csv, lambda: None)
        return
    data: dict[str, Any] = dict(matches[0])
    if len(matches) > 1:
        data["other_matches"] = [{"queue_id": m["queue_id"], "received": m["received"]} for m in matches[1:]]

    def render() -> None:
        from rich.text import Text

        console = _console()
        _assumed_year(console, analysis.assumed_year)
        for m in matches:
            who = (f"AUTH {printable(m['sasl_method'])} as {printable(m['sasl_username'])}" if m["sasl_username"]
                   else "no SMTP AUTH")
            place = "local" if m["local"] else "remote"
            head = Text.assemble(literal(m["queue_id"], "bold"), literal(
                f" message-id <{m['message_id']}> from <{m['from']}>: {who}, "
                f"client {m['client_name']}[{m['client_ip']}] ({place})"))
            console.print(head)
            for r in m["recipients"]:
                console.print(literal(f"  to <{r['to']}> {r['status']} dsn={r['dsn']} relay={r['relay']}"))
            for line in m["lines"]:       # raw lines stay whole: no wrapping inserted
                console.print(literal(line), soft_wrap=True)

    _emit(ctx, data, data["recipients"], as_json, as_csv, render)


from saslscope.cli.alerts import alerts  # noqa: E402  (registered last: its own module, one line here)

logs.add_command(alerts)
from saslscope.cli.report import report  # noqa: E402
from saslscope.cli.watch import watch  # noqa: E402

logs.add_command(report)
logs.add_command(watch)

from saslscope.cli.account import account  # noqa: E402

logs.add_command(account)
