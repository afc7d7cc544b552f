"""The report page: verdicts and findings first, then the overview, then every account.

Self-contained: CSS and JS are inline and allowed by their SHA-256 in a Content-Security-Policy
that forbids everything else (no network, no other script, no inline handlers, no ``eval``), so
even a string that escaped escaping could not run. Every log-derived string goes through
:func:`.svg.text`. Accounts are collapsible and paged 25 at a time with a name filter (all shown,
collapsed, when scripts are off).
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter

from saslscope.detect.findings import Finding
from saslscope.htmlreport.data import Account, ReportData
from saslscope.htmlreport.svg import LOCAL, OTHER, PALETTE, hbars, hour_label, hourly, text, timeline

#: findings listed in full; the rest are counted (all of them are in ``logs alerts --json``)
MAX_FINDINGS = 300
#: networks with their own row and colour in an account's timeline
MAX_NETWORK_ROWS = len(PALETTE)
PAGE_SIZE = 25
#: evidence lines shown under a finding; the rest are one click away
SHOWN_EVIDENCE = 3

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #eee}
.badge{padding:1px 6px;border-radius:3px;font-weight:600;font-size:.85em}
.compromised,.critical,.high{background:#b00020;color:#fff}.suspicious,.medium{background:#e69f00;color:#000}
.normal,.low,.info{background:#ddd;color:#000}
pre{background:#f6f6f6;padding:4px 6px;overflow-x:auto;font-size:12px;margin:2px 0;white-space:pre-wrap;word-break:break-all}
details.account{border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:2px 8px}
details.finding{margin:6px 0}summary{cursor:pointer}
.axis{font-size:10px;fill:#555}.muted{color:#666}.legend svg{vertical-align:middle}
.legend{display:inline-block;margin-right:10px;font-size:12px}
#pager{margin:8px 0}#pager button{margin-right:6px}
"""

JS = """
(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll('details.account'));
  var per = PAGE_SIZE, page = 0, shown = items;
  var pager = document.getElementById('pager'), info = document.getElementById('page-info');
  var filter = document.getElementById('filter');
  function render() {
    var pages = Math.max(1, Math.ceil(shown.length / per));
    if (page >= pages) { page = pages - 1; }
    if (page < 0) { page = 0; }
    items.forEach(function (e) { e.hidden = true; });
    shown.slice(page * per, (page + 1) * per).forEach(function (e) { e.hidden = false; });
    info.textContent = 'page ' + (page + 1) + ' of ' + pages + ' (' + shown.length + ' accounts)';
  }
  function reveal() {
    var el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!el || !el.classList.contains('account')) { return; }
    shown = items; filter.value = '';
    page = Math.floor(items.indexOf(el) / per); render();
    el.open = true; el.scrollIntoView();
  }
  document.getElementById('prev').addEventListener('click', function () { page--; render(); });
  document.getElementById('next').addEventListener('click', function () { page++; render(); });
  filter.addEventListener('input', function () {
    var q = filter.value.toLowerCase();
    shown = items.filter(function (e) { return e.getAttribute('data-name').indexOf(q) >= 0; });
    page = 0; render();
  });
  window.addEventListener('hashchange', reveal);
  pager.hidden = false;
  render(); reveal();
})();
""".replace("PAGE_SIZE", str(PAGE_SIZE))


def _digest(code: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"


CSP = (f"default-src 'none'; style-src {_digest(CSS)}; script-src {_digest(JS)}; img-src data:; "
       "base-uri 'none'; form-action 'none'")


def render(data: ReportData) -> str:
    out: list[str] = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>saslscope: mail log report</title>", f"<style>{CSS}</style></head><body>",
        "<h1>Mail log report</h1>",
        f'<p class="muted">{text(", ".join(data.sources))} &middot; '
        + (f"{data.lines} lines" if data.lines is not None else "history store")
        + (f" &middot; {hour_label(data.first)} to {hour_label(data.last)} UTC" if data.first is not None
           and data.last is not None else "")
        + f" &middot; generated {data.generated:%Y-%m-%d %H:%M} UTC by saslscope</p>",
    ]
    out += [f'<p class="muted">{text(note)}</p>' for note in data.notes]
    index = {acc.username: i for i, acc in enumerate(data.accounts)}
    _verdicts(data, index, out)
    _findings(data.findings, index, out)
    _overview(data, out)
    _accounts(data, out)
    out.append(f"<script>{JS}</script></body></html>\n")
    return "\n".join(out)


def _badge(value: object) -> str:
    return f'<span class="badge {text(value)}">{text(value)}</span>'


def _link(name: str, index: dict[str, int]) -> str:
    i = index.get(name)
    return f'<a href="#acc-{i}">{text(name)}</a>' if i is not None else text(name)


def _verdicts(data: ReportData, index: dict[str, int], out: list[str]) -> None:
    flagged = [a for a in data.accounts if a.verdict is not None]
    out.append(f'<section id="verdicts"><h2>Verdicts ({len(flagged)} accounts with findings)</h2>')
    if not flagged:
        out.append("<p>No account has a finding.</p></section>")
        return
    out.append("<table><tr><th>account</th><th>verdict</th><th>score</th><th>findings</th></tr>")
    for acc in flagged:
        assert acc.verdict is not None
        kinds = Counter(str(f.kind) for f in acc.verdict.findings)
        out.append(f"<tr><td>{_link(acc.username, index)}</td><td>{_badge(acc.verdict.verdict)}</td>"
                   f"<td>{acc.verdict.score:g}</td><td>{text(', '.join(f'{k} x{n}' for k, n in kinds.items()))}</td></tr>")
    out.append("</table></section>")


def _findings(findings: list[Finding], index: dict[str, int], out: list[str]) -> None:
    out.append(f'<section id="findings"><h2>Findings ({len(findings)})</h2>')
    for finding in findings[:MAX_FINDINGS]:
        who = " ".join(x for x in (
            f"account {_link(finding.username, index)}" if finding.username is not None else "",
            f"from {text(finding.ip)}" if finding.ip else "") if x)
        when = finding.start.isoformat(timespec="seconds") if finding.start else ""
        out.append(f'<details class="finding" open><summary>{_badge(finding.severity)} <b>{text(finding.kind)}</b> '
                   f"{who} <span class=\"muted\">{text(when)}</span></summary><p>{text(finding.reason)}</p>")
        lines = [f"{text(f'{ev.source}:{ev.line}' if ev.line is not None else ev.source)}: {text(ev.text)}"
                 for ev in finding.evidence]
        if lines:
            out.append("<pre>" + "\n".join(lines[-SHOWN_EVIDENCE:]) + "</pre>")
        earlier = lines[:-SHOWN_EVIDENCE]
        if earlier:
            out.append(f"<details><summary>{len(earlier)} earlier evidence lines</summary>"
                       "<pre>" + "\n".join(earlier) + "</pre></details>")
        rest = finding.evidence_total - len(finding.evidence)
        if rest > 0:
            out.append(f'<p class="muted">and {rest} more lines not kept</p>')
        out.append("</details>")
    if len(findings) > MAX_FINDINGS:
        out.append(f'<p class="muted">{len(findings) - MAX_FINDINGS} more findings: see '
                   "<code>saslscope logs alerts --json</code></p>")
    out.append("</section>")


def _overview(data: ReportData, out: list[str]) -> None:
    out.append('<section id="overview"><h2>Overview</h2>')
    if data.first is not None and data.last is not None:
        out.append("<h3>Logins and failures per hour</h3>")
        out.append(_legend({"logins": "#0072b2", "failed logins": "#d55e00"}))
        out.append(hourly({"logins": (data.logins_per_hour, "#0072b2"),
                           "failed logins": (data.failures_per_hour, "#d55e00")},
                          data.first, data.last, label="logins and failures per hour"))
    out.append("<h3>Top failing addresses</h3>")
    if data.top_failing_ips:
        out.append(hbars([(f"{ip} ({users} names)", n) for ip, n, users in data.top_failing_ips],
                         label="failed logins per address"))
    else:
        out.append("<p>No failed logins.</p>")
    out.append("<h3>Accounts with the most distinct networks</h3>")
    if data.most_networks:
        out.append(hbars(data.most_networks, label="distinct networks per account", colour="#0072b2"))
    out.append("</section>")


def _legend(colours: dict[str, str]) -> str:
    return "<p>" + "".join(
        f'<span class="legend"><svg width="10" height="10"><rect width="10" height="10" fill="{c}"/></svg> '
        f"{text(name)}</span>" for name, c in colours.items()) + "</p>"


def _accounts(data: ReportData, out: list[str]) -> None:
    out.append(f'<section id="accounts"><h2>Accounts ({len(data.accounts)})</h2>'
               '<div id="pager" hidden><input id="filter" type="search" placeholder="filter by name"> '
               '<button id="prev" type="button">previous</button><button id="next" type="button">next</button>'
               '<span id="page-info"></span></div>')
    for i, acc in enumerate(data.accounts):
        _account(acc, i, data, out)
    out.append("</section>")


def _account(acc: Account, i: int, data: ReportData, out: list[str]) -> None:
    verdict = acc.verdict
    opened = " open" if verdict is not None and i < PAGE_SIZE else ""
    out.append(f'<details class="account" id="acc-{i}" data-name="{text(acc.username.lower())}"{opened}>'
               f"<summary><b>{text(acc.username)}</b> {_badge(verdict.verdict) if verdict else ''} "
               f'<span class="muted">{acc.total_logins} logins from {len(acc.networks)} networks, '
               f"{sum(acc.messages.values())} messages, {sum(acc.failures_by_ip.values())} failed logins"
               "</span></summary>")
    if verdict is not None:
        out.append("<ul>" + "".join(f"<li>{_badge(f.severity)} {text(f.kind)}: {text(f.reason)}</li>"
                                    for f in verdict.findings) + "</ul>")
    if data.first is not None and data.last is not None and acc.networks:
        busiest = set(sorted(acc.networks, key=lambda n: -acc.networks[n])[:MAX_NETWORK_ROWS])
        rows = [net for net in acc.networks if net in busiest]      # first used first: the new one is last
        out.append(f"<h4>Logins by network{' and country' if acc.countries else ''}</h4>")
        if acc.countries:       # one colour per country, each network on its row, labelled with it
            order = list(dict.fromkeys(acc.countries.get(net, "?") for net in rows))
            shade = {c: PALETTE[k % len(PALETTE)] for k, c in enumerate(order)}
            colours = {net: shade[acc.countries.get(net, "?")] for net in rows}
            out.append(_legend({country: shade[country] for country in order}))
            labels = {net: f"{acc.countries.get(net, '?')} {net}" for net in rows}
        else:
            colours = {net: (LOCAL if net == "local" else PALETTE[k]) for k, net in enumerate(rows)}
            out.append(_legend({f"{net} ({acc.networks[net]})": c for net, c in colours.items()}
                               | ({f"{len(acc.networks) - len(rows)} other networks": OTHER}
                                  if len(acc.networks) > len(rows) else {})))
            labels = {}
        out.append(timeline(acc.logins, colours, rows, data.first, data.last, labels=labels,
                            label=f"logins of {acc.username}"))
        for title, series, colour in (("Messages", acc.messages, "#0072b2"), ("Recipients", acc.recipients, "#009e73")):
            base = acc.baseline(series)
            out.append(f'<h4>{title} per hour</h4><p class="muted">dashed: the account\'s baseline, '
                       f"the median of its active hours ({base:g})</p>")
            out.append(hourly({title.lower(): (series, colour)}, data.first, data.last, baseline=base,
                              label=f"{title.lower()} of {acc.username}", height=70))
    if acc.failures_by_ip:
        out.append("<h4>Failed logins by address</h4>")
        out.append(hbars(acc.failures_by_ip.most_common(10), label=f"failed logins on {acc.username}"))
    out.append("</details>")
