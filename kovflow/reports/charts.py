"""SVG charts written by kovflow itself: horizontal bars with labels (no plotting library).

One small template per chart; every text is escaped, the chart carries ``<title>`` and ``<desc>``
(screen readers announce them) and each bar repeats its label and value in a ``<title>`` of its
own. The web dashboard inlines the same SVG, so the charts look alike in files and pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from kovflow.reports.monitor import DISCIPLINES, UITSTROOM, MonitorReport

WIDTH, LABEL_W, BAR_W, ROW_H, TOP = 640, 260, 300, 28, 56


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # a percentage 0..100; None = no base to compute it from
    note: str = ""  # e.g. "12 van 64"


def bar_chart(title: str, desc: str, bars: Sequence[Bar], unit: str = "%",
              maximum: float = 100.0, ident: str = "chart") -> str:
    """A horizontal bar chart as a standalone SVG document (UTF-8 text).

    ``ident`` prefixes the element ids, so two charts inlined in one page do not collide.
    """
    height = TOP + ROW_H * len(bars) + 24
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        'font-family="sans-serif" font-size="13">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="8" y="24" font-size="16" font-weight="bold" fill="#1a1a1a">{escape(title)}'
        '</text>',
    ]
    for i, bar in enumerate(bars):
        y = TOP + i * ROW_H
        share = 0.0 if bar.value is None else max(0.0, min(bar.value, maximum)) / maximum
        shown = "-" if bar.value is None else f"{bar.value:.0f}{unit}"
        spoken = f"{bar.label}: {shown}" + (f" ({bar.note})" if bar.note else "")
        out += [
            f'<g><title>{escape(spoken)}</title>',
            f'<text x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end" fill="#1a1a1a">'
            f'{escape(bar.label)}</text>',
            f'<rect x="{LABEL_W}" y="{y + 2}" width="{BAR_W}" height="{ROW_H - 8}" '
            'fill="#e8e8e8"/>',
            f'<rect x="{LABEL_W}" y="{y + 2}" width="{share * BAR_W:.1f}" height="{ROW_H - 8}" '
            'fill="#1f5f8b"/>',
            f'<text x="{LABEL_W + BAR_W + 8}" y="{y + 15}" fill="#1a1a1a">{escape(shown)}</text>',
            '</g>',
        ]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def discipline_chart(report: MonitorReport) -> str:
    """Share of trajecten per discipline deployed (the Arnhem figure's shape)."""
    t = report.total
    bars = [Bar(label, t.disciplines[k].percent, f"{t.disciplines[k].count} van {t.trajecten}")
            for k, label in DISCIPLINES]
    return bar_chart(
        "Ingezette disciplines per traject",
        f"Aandeel van de {t.trajecten} trajecten in {report.period} waarin elke discipline "
        "is ingezet; een discipline telt eenmaal per traject.", bars, ident="disciplines")


def uitstroom_chart(report: MonitorReport) -> str:
    """Outflow shares, all of all leavers (as the published figures are)."""
    t = report.total
    bars = [Bar(label, t.uitstroom[k].percent, f"{t.uitstroom[k].count} van {t.leavers}")
            for k, label in UITSTROOM]
    return bar_chart(
        "Uitstroom",
        f"{t.leavers} kinderen stroomden uit in {report.period}; elk aandeel is een aandeel "
        "van alle uitstromers.", bars, ident="uitstroom")


def monitor_charts(report: MonitorReport) -> dict[str, str]:
    """File name -> SVG text for the monitor's charts."""
    return {"disciplines.svg": discipline_chart(report), "uitstroom.svg": uitstroom_chart(report)}
