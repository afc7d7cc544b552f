"""``saslscope logs alerts``: which accounts look compromised, and the log lines that show it.

Options -> :func:`saslscope.detect.alerts.alerts_from_logs` -> plain text (verdicts first,
80 columns, every log-derived string escaped and printed as literal text, never markup) or
``--json``. ``--fail-on SEVERITY`` makes cron and CI notice: exit 9 when a finding is at or
above it.
"""

from __future__ import annotations

import sys
import textwrap
import unicodedata
from typing import TYPE_CHECKING, Any

import click

from saslscope.cli.alerts_history import history_options
from saslscope.cli.exitcodes import Exit
from saslscope.cli.untrusted import printable

if TYPE_CHECKING:  # pragma: no cover
    from saslscope.detect.alerts import AlertsReport
    from saslscope.detect.findings import Finding

WIDTH = 80


def _cells(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _fit(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` terminal cells (wide characters count two), marking the cut."""
    if sum(map(_cells, text)) <= width:
        return text
    cells, out = 0, []
    for ch in text:
        if cells + _cells(ch) > width - 1:
            break
        out.append(ch)
        cells += _cells(ch)
    return "".join(out) + "…"


def _wrap(text: str, indent: str, later: str) -> list[str]:
    """``text`` (already literal) in lines of at most 80 cells, nothing dropped: raw log lines
    are evidence, so they are wrapped, never cut."""
    out, line, cells = [], indent, len(indent)
    for ch in text:
        if cells + _cells(ch) > WIDTH:
            out.append(line)
            line, cells = later, len(later)
        line += ch
        cells += _cells(ch)
    out.append(line)
    return out


def _stamp(finding: Finding) -> str:
    return finding.start.strftime("%Y-%m-%d %H:%M") if finding.start else ""


def _severity(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from saslscope.detect.findings import Severity

    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def render_text(report: AlertsReport, top: int | None, evidence_lines: int) -> list[str]:
    """The report as lines of at most 80 cells: verdicts (highest score first), then the
    findings about addresses alone, then notes. ``top`` findings per account (None: all)."""
    out: list[str] = []
    flagged = [a for a in report.accounts if str(a.verdict) != "normal"]
    normal = [a for a in report.accounts if str(a.verdict) == "normal"]
    counts = {v: sum(1 for a in flagged if str(a.verdict) == v) for v in ("compromised", "suspicious")}
    out.extend(textwrap.wrap(
        f"{counts['compromised']} compromised, {counts['suspicious']} suspicious, {len(normal)} normal account(s) "
        f"with findings; {len(report.findings)} finding(s) from {report.signals} signal(s)", WIDTH))
    for account in flagged if top is not None else report.accounts:
        out.append("")
        out.extend(_wrap(f"{str(account.verdict).upper():<11} score {account.score:<5g} {printable(account.username)}",
                         "", "    "))
        _findings(out, account.findings, top, evidence_lines)
    if top is not None and normal:
        out.append("")
        out.append("NORMAL (score below suspicious; --all shows their findings)")
        for account in normal[:top * 2]:
            kinds = ", ".join(f"{k} ({max(f.severity for f in account.findings if str(f.kind) == k)})"
                              for k in account.kinds)
            out.extend(_wrap(f"{printable(account.username)}: {kinds}", "  ", "      "))
        if len(normal) > top * 2:
            out.append(f"  ... and {len(normal) - top * 2} more account(s)")
    about_addresses = [f for f in report.findings if f.username is None]
    if about_addresses:
        out.append("")
        out.append("ADDRESSES (findings about a client address, no account)")
        _findings(out, about_addresses, top, evidence_lines)
    for note in [*report.notes, *report.warnings]:
        out.extend(textwrap.wrap(f"note: {printable(note)}", WIDTH, subsequent_indent="      "))
    return out


def _findings(out: list[str], findings: list[Finding], top: int | None, evidence_lines: int) -> None:
    shown = findings if top is None else findings[:top]
    for finding in shown:
        where = printable(finding.ip or "")
        out.append(_fit(f"  {finding.severity!s:<8} {finding.kind!s:<22} {_stamp(finding)}  {where}", WIDTH))
        out.extend(_fit(line, WIDTH) for line in textwrap.wrap(
            printable(finding.reason), WIDTH, initial_indent="      ", subsequent_indent="      "))
        for e in finding.evidence[:evidence_lines]:
            out.extend(_wrap(f"{printable(e.source)}:{e.line}: {printable(e.text)}", "      ", "          "))
        more = finding.evidence_total - min(len(finding.evidence), evidence_lines)
        if more > 0 and evidence_lines:
            out.append(f"      ... {more} more line(s) (--json has up to {len(finding.evidence)})")
    if len(findings) > len(shown):
        out.append(f"  ... and {len(findings) - len(shown)} more finding(s) (--top N, --all)")


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=True, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help='Print {"accounts": [...], "findings": [...]} as JSON.')
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Detection settings (TOML); see --print-config.")
@click.option("--print-config", is_flag=True, help="Print every setting with its default and help, then exit.")
@click.option("--fail-on", callback=_severity, metavar="SEVERITY",
              help="Exit 9 when a finding is at or above this severity (info, low, medium, high, critical).")
@click.option("--top", type=click.IntRange(1), default=5, show_default=True,
              help="Findings shown per account (text output).")
@click.option("--all", "show_all", is_flag=True, help="Every account and finding (text output).")
@click.option("--evidence", "evidence_lines", type=click.IntRange(0), default=2, show_default=True,
              help="Log lines shown per finding (text output).")
@click.option("--year", type=click.IntRange(1970, 9999),
              help="Year of the first BSD-syslog line (they carry none); default: inferred.")
@click.option("--syslog-name", metavar="REGEX", help="Extra Postfix syslog_name(s), e.g. 'mta-(in|out)'.")
@click.option("--own-address", "own_addresses", multiple=True, metavar="IP",
              help="An address of this server: logins from it are local. Repeatable.")
@history_options
@click.pass_context
def alerts(ctx: click.Context, /, files: tuple[str, ...], as_json: bool, config_path: str | None, print_config: bool,
           fail_on: Any, top: int, show_all: bool, evidence_lines: int, year: int | None, syslog_name: str | None,
           own_addresses: tuple[str, ...], **history: Any) -> None:
    """Per-account verdicts (compromised, suspicious, normal) with the findings and log lines
    behind them: password guessing, logins from many or new networks, volume spikes, foreign
    senders... FILES as for 'logs summary' (default: stdin). Exit 9 with --fail-on when a
    finding is at or above that severity."""
    from saslscope.detect.config import ConfigError, DetectConfig, render_defaults

    try:
        config = DetectConfig.load(config_path)
    except ConfigError as exc:
        click.echo(f"saslscope logs alerts: {exc}", err=True)
        ctx.exit(Exit.USAGE)
    if print_config:
        click.echo(render_defaults(config), nl=False)
        return
    if syslog_name:
        import re

        try:
            re.compile(syslog_name)
        except re.error as exc:
            raise click.BadParameter(f"not a regular expression: {exc}", param_hint="--syslog-name") from exc
    from saslscope.cli.alerts_history import run_alerts
    from saslscope.maillog.sources import LogInputError

    try:
        report = run_alerts(list(files) or ["-"], config, year=year, syslog_name=syslog_name,
                            own_addresses=own_addresses, **history)
    except LogInputError as exc:
        click.echo(f"saslscope logs alerts: {exc}", err=True)
        ctx.exit(Exit.BAD_INPUT)
    if as_json:
        from saslscope.cli.logs import _write_json

        _write_json(report.to_dict())
    else:
        text = "\n".join(render_text(report, None if show_all else top, evidence_lines)) + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()
    worst = report.worst()
    if fail_on is not None and worst is not None and worst >= fail_on:
        ctx.exit(Exit.FINDINGS)
