"""Small inline SVG charts; every label passes through :func:`text` (escaped, controls shown).

Coordinates are whole pixels and one element per non-empty bucket, so a chart's size follows
its data's buckets, not the lines behind them.
"""

from __future__ import annotations

import html
from collections import Counter
from datetime import UTC, datetime

from saslscope.untrusted import printable

#: colours for networks, in the order an account first used them (colour-blind-safe Okabe-Ito first)
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
           "#8c564b", "#7f7f7f", "#17becf", "#bcbd22")
OTHER = "#bbbbbb"
#: the left margin of the time charts (network names), the same in every chart so their hours line up
LABELS = 150
LOCAL = "#999999"


def text(value: object) -> str:
    """Log-derived text for HTML/SVG: control characters shown as ``\\xNN``, then escaped."""
    return html.escape(printable(str(value)), quote=True)


def hour_label(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%d %H:00")


def _frame(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{text(label)}">' + "".join(body) + "</svg>")


def _axis(first: int, last: int, x0: int, width: int, y: int) -> list[str]:
    return [f'<line x1="{x0}" y1="{y}" x2="{x0 + width}" y2="{y}" stroke="#888"/>',
            f'<text x="{x0}" y="{y + 12}" class="axis">{text(hour_label(first))}</text>',
            f'<text x="{x0 + width}" y="{y + 12}" class="axis" text-anchor="end">{text(hour_label(last))}</text>']


def hourly(series: dict[str, tuple[Counter[int], str]], first: int, last: int, *, label: str,
           baseline: float | None = None, width: int = 720, height: int = 90) -> str:
    """Bars per hour, one colour per series (drawn side by side within the hour's slot);
    ``baseline``: a dashed line at that value (the account's typical hour)."""
    span = max(1, last - first + 1)
    x0, plot_h = LABELS, height - 20
    peak = max([max(c.values(), default=0) for c, _ in series.values()] + [baseline or 0, 1])
    slot = width / span
    body = [f'<text x="0" y="10" class="axis">{peak:g}</text>', f'<text x="0" y="{plot_h}" class="axis">0</text>']
    for i, (name, (counts, colour)) in enumerate(series.items()):
        bar_w = max(1, int(slot / len(series)))
        for hour, value in counts.items():
            if not value:
                continue
            x = x0 + int((hour - first) * slot) + i * bar_w
            h = max(1, round(value / peak * (plot_h - 5)))
            body.append(f'<rect x="{x}" y="{plot_h - h}" width="{bar_w}" height="{h}" fill="{colour}">'
                        f'<title>{text(hour_label(hour))}: {value} {text(name)}</title></rect>')
    if baseline:
        y = plot_h - round(baseline / peak * (plot_h - 5))
        body.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + width}" y2="{y}" stroke="#d00" stroke-dasharray="4 3">'
                    f'<title>baseline: {baseline:g} per active hour</title></line>')
    body += _axis(first, last, x0, width, plot_h)
    return _frame(x0 + width + 5, height, body, label)


def timeline(cells: Counter[tuple[int, str]], colours: dict[str, str], rows: list[str], first: int, last: int,
             *, label: str, labels: dict[str, str] | None = None, width: int = 720) -> str:
    """One row per network (``rows``; the rest in a last row "other"), a dot per hour with logins;
    ``labels`` names a row otherwise than by its network (a country in front)."""
    span = max(1, last - first + 1)
    x0, row_h = LABELS, 14
    row_of = {net: i for i, net in enumerate(rows)}
    dots: Counter[tuple[int, int]] = Counter()       # (hour, row) -> logins; the rest share a row
    for (hour, net), n in cells.items():
        dots[(hour, row_of.get(net, len(rows)))] += n
    shown = len(rows) + (1 if any(row == len(rows) for _, row in dots) else 0)
    height = shown * row_h + 20
    body = []
    for net, i in row_of.items():
        body.append(f'<text x="0" y="{i * row_h + 11}" class="axis">{text((labels or {}).get(net, net))}</text>')
    if shown > len(rows):
        body.append(f'<text x="0" y="{len(rows) * row_h + 11}" class="axis">other networks</text>')
    names = [*rows, "other networks"]
    for (hour, row), n in sorted(dots.items()):
        x = x0 + int((hour - first) * width / span)
        r = min(6, 2 + n)
        fill = colours.get(names[row], OTHER)
        body.append(f'<circle cx="{x + 3}" cy="{row * row_h + 7}" r="{r}" fill="{fill}">'
                    f'<title>{text(hour_label(hour))}: {n} login(s) from {text(names[row])}</title></circle>')
    body += _axis(first, last, x0, width, shown * row_h + 2)
    return _frame(x0 + width + 10, height, body, label)


def hbars(rows: list[tuple[str, int]], *, label: str, colour: str = "#d55e00", width: int = 300) -> str:
    """Horizontal bars with their labels (failing addresses, accounts)."""
    x0, row_h = 260, 16
    peak = max([n for _, n in rows] + [1])
    body = []
    for i, (name, n) in enumerate(rows):
        w = max(1, round(n / peak * width))
        body.append(f'<text x="0" y="{i * row_h + 12}" class="axis">{text(name[:40])}</text>'
                    f'<rect x="{x0}" y="{i * row_h + 3}" width="{w}" height="{row_h - 5}" fill="{colour}">'
                    f'<title>{text(name)}: {n}</title></rect>'
                    f'<text x="{x0 + w + 4}" y="{i * row_h + 12}" class="axis">{n}</text>')
    return _frame(x0 + width + 60, max(1, len(rows)) * row_h + 4, body, label)
