"""``saslscope logs account USER --db PATH``: one account's dossier from the history store."""

from __future__ import annotations

import textwrap
from typing import Any

import click

from saslscope.cli.exitcodes import Exit
from saslscope.cli.untrusted import printable

#: shown per list in text output; --json has the store's top entries
SHOWN = 5


plain = printable   # untrusted text for a terminal (user names, log lines)


@click.command()
@click.argument("user")
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False),
              help="The history store written by 'logs alerts --db' or 'logs watch --db'.")
@click.option("--json", "as_json", is_flag=True, help="Print the dossier as JSON.")
def account(user: str, db: str, as_json: bool) -> None:
    """One account's dossier: baseline, recent logins by network and country, findings."""
    from saslscope.history.dossier import dossier
    from saslscope.history.store import BaselineReader, StoreError

    try:
        reader = BaselineReader(db, budget=10.0)
    except StoreError as exc:
        click.echo(f"saslscope: {exc}", err=True)
        raise SystemExit(Exit.BAD_INPUT) from None
    try:
        data = dossier(reader, user)
    finally:
        reader.close()
    if data is None:
        click.echo(f"saslscope: {plain(user)}: not in the history store {db}", err=True)
        raise SystemExit(Exit.BAD_INPUT)
    if as_json:
        from saslscope.cli.logs import _write_json

        _write_json(data)
    else:
        click.echo("\n".join(render(data)))


_LABELS = {"network": "networks", "address": "addresses", "country": "countries", "asn": "ASNs",
           "method": "methods", "helo": "HELO names"}


def _more(items: list[Any], total: int) -> list[str]:
    return [f"    ... and {total - len(items)} more"] if total > len(items) else []


def render(data: dict[str, Any]) -> list[str]:
    """The dossier as lines of at most about 80 columns (long values are cut, never wrapped)."""
    out = [f"account {plain(data['account'])[:72]}",
           f"  seen {data['first_seen'][:16]} .. {data['last_seen'][:16]}: "
           f"{data['logins']} logins, {data['failures']} failures", "", "baseline (all history)"]
    for dimension, entry in data["baseline"].items():
        if not entry["total"]:
            continue
        shown = entry["top"][:SHOWN]
        out.append(f"  {_LABELS[dimension]}: {entry['total']}")
        out += [f"    {plain(v['value'])[:40]:<40} {v['count']:>7}  last {v['last_seen'][:10]}" for v in shown]
        out += _more(shown, entry["total"])
    volume = data["volume"]
    out += ["", "volume per active hour (median / max)"]
    for metric in ("messages", "recipients", "bounced", "deferred"):
        v = volume[metric]
        out.append(f"  {metric:<11} {v['median_per_active_hour']:>6} / {v['max_per_hour']:<6} "
                   f"total {v['total']} in {v['active_hours']} h")
    recent = data["recent"]
    out += ["", f"recent logins since {recent['since'][:16]}: {recent['logins']}"]
    networks = recent["by_network"][:SHOWN]
    out += [f"  {plain(n['network'])[:24]:<24} {plain(n['country'] or '-')[:3]:<3} {n['logins']:>6} logins "
            f"{n['addresses']:>4} addr  last {n['last'][:16]}" for n in networks]
    out += _more(networks, len(recent["by_network"]))
    if recent["by_country"]:
        out.append(("  countries: " + ", ".join(f"{plain(c['country'])} {c['logins']}"
                                                 for c in recent["by_country"][:SHOWN]))[:80])
    if recent["failures"]:
        out.append((f"  failures: {recent['failures']} from " + ", ".join(
            f"{plain(f['ip'])} ({f['failures']})" for f in recent["failures_by_ip"][:SHOWN]))[:80])
    findings = data["findings"]
    out += ["", f"findings: {len(findings)}"]
    for f in findings[:SHOWN]:
        out.append(f"  {(f['end'] or f['start'] or '')[:16]} {f['severity']:<8} {f['kind']}")
        out += textwrap.wrap(plain(f["reason"]), 80, initial_indent="    ", subsequent_indent="    ")
    out += _more(findings[:SHOWN], len(findings))
    return out
