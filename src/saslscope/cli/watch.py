"""``saslscope logs watch``: follow live logs and print each finding as it happens.

A thin layer: options -> :class:`saslscope.watch.pipeline.Watcher`. Findings go to stdout (text,
or JSON Lines with ``--json``) and to the ``--exec`` hook; file events, hook failures and the
closing count of lines read go to stderr. SIGTERM and SIGINT stop it cleanly: the position is
saved and queued hooks get a few seconds to finish.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import Any

import click

from saslscope.cli.exitcodes import Exit


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    from saslscope.detect.config import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per finding and line (JSON Lines).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Detection configuration (TOML), as for logs alerts.")
@click.option("--exec", "exec_command", metavar="CMD",
              help="Run CMD (no shell) for each finding at or above --min-severity, the finding as JSON on stdin.")
@click.option("--min-severity", default="medium", show_default=True, metavar="LEVEL",
              help="Lowest severity handed to --exec: info, low, medium, high, critical.")
@click.option("--hook-timeout", default="30s", show_default=True, callback=_duration, metavar="DURATION",
              help="A hook still running after this is killed and counted as failed.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False),
              help="Keep positions (and the engine's windows) in this file: a restart resumes exactly there.")
@click.option("--journal-cursor-file", "cursor_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Keep the cursor of the last journald entry judged (stdin) here, for journalctl --after-cursor.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False),
              help="History store (SQLite, as for logs alerts --db): baselines from it, what is read recorded "
                   "into it, positions resumed from it when there is no --state.")
@click.option("--geoip-db", "geoip", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="MaxMind City/Country (and ASN) database for the country kinds. Repeatable.")
@click.option("--postfix-sasl-access", "sasl_access", type=click.Path(dir_okay=False), metavar="FILE",
              help="Keep this Postfix check_sasl_access table (and its postmap'd .db) listing the accounts at or "
                   "above --sasl-access-verdict.")
@click.option("--sasl-access-verdict", type=click.Choice(["compromised", "suspicious"]), default="compromised",
              show_default=True, help="Lowest verdict put in the table.")
@click.option("--sasl-access-action", type=click.Choice(["HOLD", "REJECT"]), default="HOLD", show_default=True,
              help="HOLD keeps the account's mail in the hold queue; REJECT refuses it.")
@click.option("--postfix-config-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Postfix configuration directory for postmap (default: postmap's own).")
@click.option("--from-start", is_flag=True, help="Read the files' present content first (default: only new lines, "
                                                 "unless --state has a position).")
@click.option("--poll-interval", default="0.2s", show_default=True, callback=_duration, metavar="DURATION",
              help="How often the files are checked for new lines when idle.")
@click.option("--rotate-grace", default="10s", show_default=True, callback=_duration, metavar="DURATION",
              help="A file rotated away is read until it has not grown for this long.")
@click.option("--year", type=click.IntRange(1970, 9999), help="Year of BSD-syslog stamps (default: inferred).")
@click.option("--syslog-name", metavar="REGEX", help="Extra Postfix syslog_name(s), e.g. 'mta-(in|out)'.")
@click.option("--own-address", "own_addresses", multiple=True, metavar="IP",
              help="An address of this server: logins from it are local. Repeatable.")
def watch(files: tuple[str, ...], as_json: bool, config_path: str | None, exec_command: str | None,
          min_severity: str, hook_timeout: float, state_path: str | None, cursor_file: str | None,
          db_path: str | None, from_start: bool,
          poll_interval: float, rotate_grace: float, year: int | None, syslog_name: str | None,
          own_addresses: tuple[str, ...], geoip: tuple[str, ...], sasl_access: str | None, sasl_access_verdict: str,
          sasl_access_action: str, postfix_config_dir: str | None) -> None:
    """Follow live logs and report each finding as it happens.

    FILES are live log files (rotation by rename or copytruncate is followed) or '-' for
    'journalctl -f -o json' on stdin. Findings are printed to stdout; file events on stderr.
    """
    from saslscope.detect.config import ConfigError, DetectConfig
    from saslscope.detect.engine import Engine
    from saslscope.detect.findings import Severity
    from saslscope.detect.from_maillog import MaillogSignals
    from saslscope.detect.geo import GeoIPError, open_geoip
    from saslscope.detect.state import MemoryState
    from saslscope.untrusted import printable
    from saslscope.watch.checkpoint import Checkpoint, CheckpointError, StateFile
    from saslscope.watch.pipeline import Watcher

    paths = [f for f in files if f != "-"] if files else []
    use_stdin = not files or "-" in files
    if len(set(paths)) != len(paths):
        raise click.UsageError("a file is named twice")
    try:
        config = DetectConfig.load(config_path)
        severity = Severity.parse(min_severity)
    except (ConfigError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(Exit.USAGE) from None

    logging.basicConfig(stream=sys.stderr, format="saslscope watch: %(message)s", level=logging.INFO)
    hook = None
    if exec_command:
        from saslscope.detect.hook import Hook

        try:
            hook = Hook(exec_command, min_severity=severity, timeout=hook_timeout)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--exec") from exc

    out = sys.stdout
    if as_json:
        def show(finding: Any) -> None:
            out.write(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n")
    else:
        from saslscope.watch.render import finding_text

        def show(finding: Any) -> None:
            out.write(finding_text(finding) + "\n")

    enforcer = None
    if sasl_access:
        from saslscope.detect.findings import Verdict
        from saslscope.watch.sasl_access_link import SaslAccessUpdater

        enforcer = SaslAccessUpdater(sasl_access, config, at_least=Verdict(sasl_access_verdict),
                                     action=sasl_access_action, config_dir=postfix_config_dir)

    def on_finding(finding: Any) -> None:
        show(finding)
        out.flush()
        if hook is not None:
            hook.submit(finding)
        if enforcer is not None:
            enforcer.submit(finding)

    def on_event(event: Any) -> None:
        click.echo(f"saslscope watch: {printable(event.path)}: {event.what}: {printable(event.detail)}", err=True)

    state_file = StateFile(state_path) if state_path else None

    def new_adapter() -> MaillogSignals:
        return MaillogSignals(year=year, syslog_name=syslog_name, own_addresses=own_addresses,
                              loopback_is_local=config.networks.loopback_is_local)

    try:
        saved = state_file.load() if state_file is not None else Checkpoint()
    except CheckpointError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(Exit.BAD_INPUT) from None
    memory = saved.state if isinstance(saved.state, MemoryState) else MemoryState()
    try:
        geo = open_geoip(geoip)
    except GeoIPError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(Exit.BAD_INPUT) from None
    history = None
    if db_path:
        # the store carries the adapter's open messages itself, in the transaction of each position
        from saslscope.history.state import HistoryState
        from saslscope.history.store import StoreError
        from saslscope.watch.history_link import HistoryLink

        adapter = new_adapter()
        try:
            history = HistoryLink(db_path, adapter, config, geo=geo, year=year)
        except StoreError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise SystemExit(Exit.BAD_INPUT) from None
    else:
        adapter = saved.adapter if isinstance(saved.adapter, MaillogSignals) else new_adapter()
    engine = Engine(config, state=HistoryState(history.reader, memory) if history is not None else memory, geo=geo)
    watcher = Watcher(paths, engine, adapter, on_finding, on_event, memory=memory, saved=saved, state=state_file,
                      history=history, stdin=sys.stdin.buffer if use_stdin else None, cursor_file=cursor_file,
                      from_start=from_start,
                      rotate_grace=rotate_grace, poll_interval=poll_interval)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stats = watcher.run(stop)
    finally:
        if history is not None:
            history.close()
        if geo is not None:
            geo.close()
    if hook is not None:
        hook.close(wait=min(hook_timeout, 10.0))
    if enforcer is not None:
        enforcer.close()
    per_source = ", ".join(f"{printable(src)}: {n}" for src, n in sorted(stats.per_source.items()))
    extras = (f"; hook: {hook.stats.started} run, {hook.stats.failed} failed, {hook.stats.dropped} dropped"
             if hook is not None else "")
    if enforcer is not None:
        extras += (f"; {sasl_access}: {len(enforcer.flagged)} accounts, {enforcer.writes} writes, "
                  f"{enforcer.failures} failed")
    click.echo(f"saslscope watch: stopped: {stats.lines} lines read ({per_source or 'none'}), "
               f"{stats.findings} findings{extras}"
               + (f"; {stats.errors} lines could not be judged (see above)" if stats.errors else ""), err=True)
