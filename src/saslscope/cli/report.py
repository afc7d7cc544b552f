"""``saslscope logs report --html OUT.html``: one self-contained page of verdicts, findings,
per-account timelines and the overview (see :mod:`saslscope.htmlreport`)."""

from __future__ import annotations

import click

from saslscope.cli.exitcodes import Exit


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=True, allow_dash=True))
@click.option("--html", "html_path", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this file (one self-contained page).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False),
              help="Draw the report from this history store (what logs alerts/watch --db recorded) instead of FILES.")
@click.option("--geoip-db", "geoip", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="MaxMind City/Country (and ASN) database: countries judged and drawn. Repeatable.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Detection configuration (TOML).")
@click.option("--year", type=click.IntRange(1970, 9999), help="Year of BSD-syslog stamps (default: inferred).")
@click.option("--syslog-name", metavar="REGEX", help="Extra Postfix syslog_name(s), e.g. 'mta-(in|out)'.")
def report(files: tuple[str, ...], html_path: str, db_path: str | None, geoip: tuple[str, ...],
           config_path: str | None, year: int | None, syslog_name: str | None) -> None:
    """Write an HTML report of FILES: verdicts and findings first, then every account.

    FILES as for 'logs summary' (files, directories of rotated logs, compressed, '-'); or
    --db for the history store's weeks instead.
    """
    from saslscope.atomicfile import write_atomically
    from saslscope.detect.config import ConfigError, DetectConfig
    from saslscope.detect.geo import GeoIPError
    from saslscope.history.store import StoreError
    from saslscope.htmlreport.run import generate
    from saslscope.maillog import LogInputError

    try:
        config = DetectConfig.load(config_path)
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(Exit.USAGE) from None
    if db_path and files:
        raise click.UsageError("give FILES or --db, not both")
    try:
        if db_path:
            from saslscope.htmlreport.run import generate_from_store

            result = generate_from_store(db_path, config)
        else:
            from saslscope.detect.geo import open_geoip

            result = generate(list(files) or ["-"], config, year=year, syslog_name=syslog_name,
                              geo=open_geoip(geoip))
    except (LogInputError, StoreError, GeoIPError) as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(Exit.BAD_INPUT) from None
    try:
        write_atomically(html_path, result.html.encode("utf-8"))
    except OSError as exc:
        click.echo(f"Error: cannot write {html_path}: {exc.strerror}", err=True)
        raise SystemExit(Exit.BAD_INPUT) from None
    read = f"{result.lines} lines" if result.lines is not None else db_path
    click.echo(f"{html_path}: {result.accounts} accounts, {result.findings} findings from {read} "
               f"({len(result.html.encode()) / 1e6:.1f} MB)", err=True)
