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
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group()
def logs() -> None:
    """Forensics over Postfix/Dovecot logs: who logged in, who failed, where a message went.

    FILES are log files, directories of rotated logs or '-' for stdin (default: stdin);
    gzip, bzip2, xz and zstd are read transparently; rotated sets are read oldest first.
    """


def _run(ctx: click.Context, files: tuple[str, ...], since: datetime | None, until: datetime | None,
         year: int | None, syslog_name: str | None, own_addresses: tuple[str, ...], show_unparsed: bool,
         keep: Any = None, only: str | None = None, jobs: int = 1) -> Any:
    from saslscope.maillog import LogInputError, analyze
    from saslscope.maillog.sources import expand

    paths = list(files) or ["-"]
    if syslog_name:
        import re

        try:
            re.compile(syslog_name)
        except re.error as exc:
            raise click.BadParameter(f"not a regular expression: {exc}", param_hint="--syslog-name") from exc
    try:
        with _progress(expand(paths)) as progress:
            analysis = analyze(paths, since=since, until=until, year=year, syslog_name=syslog_name,
                               own_addresses=own_addresses, keep=keep, progress=progress, only=only, jobs=jobs)
    except LogInputError as exc:
        click.echo(f"saslscope logs: {exc}", err=True)
        ctx.exit(Exit.BAD_INPUT)
    for warning in analysis.warnings:
        click.echo(f"saslscope logs: warning: {warning}", err=True)
    if show_unparsed:
        for u in analysis.unparsed:
            click.echo(f"unparsed: {u.source}:{u.line_number}: {u.reason}: {u.text}", err=True)
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


def _emit(data: Any, rows: list[dict[str, Any]], as_json: bool, as_csv: bool,
          render: Callable[[], None]) -> None:
    if as_json and as_csv:
        raise click.UsageError("--json and --csv are exclusive")
    if as_json:
        _write_json(data)
    elif as_csv:
        from saslscope.maillog.report import to_csv

        click.echo(to_csv(rows), nl=False)
    else:
        render()


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


def _console() -> Any:
    """rich on stdout; piped output gets wide lines instead of tables squeezed into 80 columns."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=240)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=i == 0)   # keep the key column whole
    for row in rows:
        table.add_row(*("" if v is None else ", ".join(map(str, v)) if isinstance(v, list) else str(v)
                        for v in row))
    _console().print(table)


def usable_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's share), at most 4."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:                      # not on Linux
        count = os.cpu_count() or 1
    return max(1, min(count, 4))


def jobs_option(func: Callable[..., Any]) -> Callable[..., Any]:
    # default: the usable CPUs. Measured on a 2-vCPU machine, 1M-line log: -j 2 5.4-5.8 s
    # against 6.4-6.8 s in one process (docs/logs.md); beyond the CPU count it only loses.
    return click.option("--jobs", "-j", type=click.IntRange(1, 64), default=usable_cpus,
                        show_default="usable CPUs, at most 4",
                        help="Processes for big uncompressed files (>= 16 MB) or rotated sets.")(func)


@logs.command()
@common_options
@jobs_option
@click.pass_context
def summary(ctx: click.Context, files: tuple[str, ...], as_json: bool, as_csv: bool, **opts: Any) -> None:
    """Per user: messages, recipients, methods, client IPs, local or remote; failures per IP."""
    analysis = _run(ctx, files, only="summary", **opts)   # opts carries --jobs
    data = analysis.summary()

    def render() -> None:
        lines = data["lines"]
        _console().print(f"lines: {lines['total']} total, {lines['parsed']} parsed, {lines['ignored']} other "
                        f"programs, {lines['unparsed']} unparsed; {data['sasl_messages']} authenticated "
                        f"messages, {data['auth_failures']} AUTH failures")
        _table("Authenticated senders", ["user", "messages", "recipients", "methods", "client IPs", "local",
                                         "AUTH failures", "first seen", "last seen", "hints"],
               [[u["username"], u["messages"], u["recipients"], u["methods"], u["client_ips"],
                 "yes" if u["local"] else ("partly" if u["local_messages"] else "no"), u["auth_failures"],
                 _short(u["first_seen"]), _short(u["last_seen"]), u["hints"]] for u in data["users"]])
        if data["failures_by_ip"]:
            _table("AUTH failures by IP (top 20)", ["ip", "count", "usernames tried", "methods"],
                   [[f["ip"], f["count"], f["usernames"][:8], f["methods"]] for f in data["failures_by_ip"][:20]])
        if data["auth_only_sessions"]:
            _table("Successful AUTH, no message sent (Postfix logs no user name for these)",
                   ["end", "client", "service", "auth", "local"],
                   [[_short(s["end"]), f"{s['client_name']}[{s['client_ip']}]", s["service"], s["auth"],
                     s["local"]] for s in data["auth_only_sessions"][:50]])
        for code, text in data["hints"].items():
            _console().print(f"[dim]hint {code}: {text}[/dim]", highlight=False)
        for note in data["notes"]:
            _console().print(f"[dim]note: {note}[/dim]", highlight=False)

    _emit(data, data["users"], as_json, as_csv, render)


@logs.command()
@common_options
@click.option("--user", help="Only this SASL user name (case-insensitive).")
@click.option("--ip", help="Only this client address.")
@click.pass_context
def logins(ctx: click.Context, files: tuple[str, ...], as_json: bool, as_csv: bool, user: str | None,
           ip: str | None, **opts: Any) -> None:
    """The timeline of authenticated submissions (one client= line per message)."""
    analysis = _run(ctx, files, **opts)
    rows = analysis.logins(user=user, ip=ip)
    _emit(rows, rows, as_json, as_csv, lambda: _table(
        "Authenticated submissions", ["time", "user", "method", "client", "local", "service", "queue id",
                                      "from", "rcpts"],
        [[_short(r["time"]), r["username"], r["method"], f"{r['client_name']}[{r['client_ip']}]",
          "yes" if r["local"] else "no", r["service"], r["queue_id"], r["sender"], r["recipients"]]
         for r in rows]))


@logs.command()
@common_options
@jobs_option
@click.pass_context
def failures(ctx: click.Context, files: tuple[str, ...], as_json: bool, as_csv: bool, **opts: Any) -> None:
    """AUTH failures by client IP and by user name tried."""
    analysis = _run(ctx, files, only="summary", **opts)
    data = analysis.failures()

    def render() -> None:
        _table(f"AUTH failures by IP ({data['auth_failures']} in all)",
               ["ip", "client", "count", "usernames tried", "methods", "first", "last"],
               [[f["ip"], f["client_name"], f["count"], f["usernames"][:8], f["methods"], _short(f["first_seen"]),
                 _short(f["last_seen"])] for f in data["by_ip"]])
        _table("AUTH failures by user name", ["username", "count", "client IPs", "methods"],
               [[f["username"] or "(not logged)", f["count"], f["client_ips"][:8], f["methods"]]
                for f in data["by_username"]])

    _emit(data, data["by_ip"], as_json, as_csv, render)


@logs.command()
@click.argument("wanted", metavar="QUEUEID|MESSAGE-ID")
@common_options
@click.pass_context
def trace(ctx: click.Context, wanted: str, files: tuple[str, ...], as_json: bool, as_csv: bool,
          **opts: Any) -> None:
    """Follow one message (queue id or Message-ID) from its smtpd session to 'removed'.

    When a short queue id was reused or a Message-ID re-injected, every match is shown;
    --json prints the first and lists the others under "other_matches".
    """
    analysis = _run(ctx, files, keep=wanted, **opts)
    matches = analysis.trace(wanted)
    if not matches:
        click.echo(f"saslscope logs: {wanted}: no such queue id or Message-ID in the input", err=True)
        ctx.exit(Exit.BAD_INPUT)
    data = dict(matches[0])
    if len(matches) > 1:
        data["other_matches"] = [{"queue_id": m["queue_id"], "received": m["received"]} for m in matches[1:]]

    def render() -> None:
        console = _console()
        for m in matches:
            who = (f"AUTH {m['sasl_method']} as {m['sasl_username']}" if m["sasl_username"]
                   else "no SMTP AUTH")
            place = "local" if m["local"] else "remote"
            console.print(f"[bold]{m['queue_id']}[/bold] message-id <{m['message_id']}> from <{m['from']}>: "
                          f"{who}, client {m['client_name']}[{m['client_ip']}] ({place})")
            for r in m["recipients"]:
                console.print(f"  to <{r['to']}> {r['status']} dsn={r['dsn']} relay={r['relay']}")
            for line in m["lines"]:       # raw lines stay whole: no wrapping inserted
                console.print(line, markup=False, highlight=False, soft_wrap=True)

    _emit(data, data["recipients"], as_json, as_csv, render)


from saslscope.cli.alerts import alerts  # noqa: E402  (registered last: its own module, one line here)

logs.add_command(alerts)
from saslscope.cli.report import report  # noqa: E402
from saslscope.cli.watch import watch  # noqa: E402

logs.add_command(report)
logs.add_command(watch)

from saslscope.cli.account import account  # noqa: E402

logs.add_command(account)
