"""The history, GeoIP and enforcement options of ``logs alerts`` (``--db``, ``--geoip-db``,
``--postfix-sasl-access``), kept apart from the command's detection and rendering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from saslscope.cli.exitcodes import Exit


def history_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--db", type=click.Path(dir_okay=False), metavar="PATH",
                     help="History store (SQLite, created on first use): read only what is new since the last "
                          "run, judge against every earlier run's baselines, keep the findings."),
        click.option("--geoip-db", "geoip_dbs", multiple=True, type=click.Path(dir_okay=False, exists=True),
                     metavar="FILE", help="MaxMind-format City/Country or ASN database (.mmdb). Repeatable."),
        click.option("--postfix-sasl-access", "sasl_access", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Write a Postfix check_sasl_access table (and postmap it) for the accounts at or above "
                          "--sasl-access-verdict."),
        click.option("--sasl-access-verdict", type=click.Choice(["compromised", "suspicious"]),
                     default="compromised", show_default=True, help="Lowest verdict written to the table."),
        click.option("--sasl-access-action", type=click.Choice(["HOLD", "REJECT"], case_sensitive=False),
                     default="HOLD", show_default=True,
                     help="HOLD: their mail waits in the hold queue; REJECT: it is refused."),
        click.option("--postfix-config", type=click.Path(file_okay=False, exists=True), metavar="DIR",
                     help="Postfix configuration directory for postmap (default: Postfix's own)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_alerts(paths: list[str], config: Any, *, year: int | None, syslog_name: str | None,
               own_addresses: tuple[str, ...], db: str | None, geoip_dbs: tuple[str, ...], sasl_access: str | None,
               sasl_access_verdict: str, sasl_access_action: str, postfix_config: str | None) -> Any:
    """The report of ``logs alerts``; with ``--db`` over what is new, then the table if asked."""
    from saslscope.detect.alerts import alerts_from_logs
    from saslscope.detect.geo import GeoIPError, open_geoip
    from saslscope.history.store import StoreError

    try:
        geo = open_geoip([*config.geoip.databases, *geoip_dbs])
    except GeoIPError as exc:
        _fail(exc, Exit.BAD_INPUT)
    options: dict[str, Any] = {"year": year, "syslog_name": syslog_name, "own_addresses": own_addresses, "geo": geo}
    try:
        if db is None:
            report = alerts_from_logs(paths, config, **options)
        else:
            from saslscope.history.alerts import alerts_with_history

            report, run = alerts_with_history(paths, config, db, **options)
            report.notes.append(run.note(db))
        if sasl_access is not None:
            _write_table(report, config, db, sasl_access, sasl_access_verdict, sasl_access_action.upper(),
                         postfix_config)
    except StoreError as exc:
        _fail(exc, Exit.BAD_INPUT)
    finally:
        if geo is not None:
            geo.close()
    return report


def _write_table(report: Any, config: Any, db: str | None, path: str, verdict: str, action: str,
                 postfix_config: str | None) -> None:
    """The table from this run's verdicts and, with --db, those of the recent stored findings."""
    from saslscope.cli.account import plain
    from saslscope.detect.findings import Verdict
    from saslscope.enforce.sasl_access import Account, SaslAccessError, main_cf_lines, write_table

    verdicts = {a.username: a for a in report.accounts}
    if db is not None:
        from saslscope.history.alerts import recent_verdicts

        for account in recent_verdicts(db, config):
            if account.username not in verdicts or account.score > verdicts[account.username].score:
                verdicts[account.username] = account
    accounts = [Account(a.username, a.verdict, tuple(a.kinds)) for a in verdicts.values()]
    try:
        written = write_table(path, accounts, at_least=Verdict(verdict), action=action, config_dir=postfix_config)
    except SaslAccessError as exc:
        _fail(exc, Exit.BAD_INPUT)
    click.echo(f"{path}: {len(written.entries)} account(s) {action} (verdict {verdict} or worse); "
               "enable it in main.cf, then postfix reload:", err=True)
    for line in main_cf_lines(path):
        click.echo(f"  {line}", err=True)
    for name in written.refused:
        click.echo(f"  not written (cannot be a table key): {plain(name)}", err=True)


def _fail(exc: Exception, status: int) -> None:
    click.echo(f"saslscope logs alerts: {exc}", err=True)
    raise SystemExit(status)
