"""Inline SVG charts drawn server-side: no JavaScript, no fonts or files from anywhere.

Coordinates are floats (drawing only); the numbers people read come from the marts as DECIMAL
and are formatted by :mod:`pipelines.report.format`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from html import escape

from pipelines.report.format import eur_short

FONT = "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif"
INK, MUTED, GRID = "#0f172a", "#64748b", "#e2e8f0"
ACTUAL, STRETCH, FINAL = "#1d4ed8", "#059669", "#d97706"
FAN = "#7c3aed"  # the forecast's P10-P90 band and median
GROSS, CANCELLED, RETURNED, CREDITED, NET = "#3b82f6", "#f59e0b", "#dc2626", "#9333ea", "#0f172a"


@dataclass(frozen=True)
class Frame:
    """A plot area inside a ``width`` x ``height`` SVG."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top


def nice_step(span: float, ticks: int = 5) -> float:
    """A round axis step (1, 2, 2.5 or 5 x 10^n) giving about ``ticks`` intervals."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def _svg_open(width: int, height: int, title: str, desc: str, uid: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{uid}-t {uid}-d" class="chart" font-family="{FONT}">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        f"<style>.ax{{font-size:11px;fill:{MUTED}}}.lb{{font-size:12px;fill:{INK}}}"
        f".lg{{font-size:12px;fill:#334155}}.gd{{stroke:{GRID};stroke-width:1}}</style>"
    )


def _legend(items: list[tuple[str, str, str]], x: float, y: float, max_x: float = 10_000) -> str:
    """Legend entries (colour, dash, label) in rows of at most ``max_x``; widths from the label length."""
    out, cx = [], x
    for color, dash, label in items:
        if cx > x and cx + 28 + 6.6 * len(label) > max_x:
            cx, y = x, y + 17
        out.append(
            f'<line x1="{cx:.0f}" x2="{cx + 22:.0f}" y1="{y - 4:.0f}" y2="{y - 4:.0f}" stroke="{color}" '
            f'stroke-width="{3 if not dash else 2}"{dash}/>'
            f'<text x="{cx + 28:.0f}" y="{y:.0f}" class="lg">{escape(label)}</text>'
        )
        cx += 28 + 6.6 * len(label) + 22
    return "".join(out)


def progress_chart(
    series: list[tuple[date, Decimal]],
    *,
    start: date,
    stretch: date,
    final: date,
    amount: Decimal | None,
    projected: date | None,
    title: str,
    uid: str = "progress",
    fan: list[tuple[date, Decimal, Decimal, Decimal]] | None = None,
) -> str:
    """Cumulative net EUR against the straight-line paths to each deadline, the projection, and
    the forecast's fan (``fan``: day, P10, P50, P90 of the simulated cumulative)."""
    fan = [r for r in (fan or []) if r[0] >= start]
    f = Frame(960, 396, 86, 28, 60, 40) if len(fan) > 1 else Frame(960, 380, 86, 28, 44, 40)
    last_day = series[-1][0] if series else start
    end = max(final, last_day, *(r[0] for r in fan))
    horizon = final + timedelta(days=(final - start).days // 2)  # how far a late projection is drawn
    if projected and projected > end:
        end = min(projected, horizon)
    values = [float(v) for _, v in series] or [0.0]
    top = max([float(amount or 0), *values, *(float(r[3]) for r in fan), 1.0])
    low = min([0.0, *values])
    step = nice_step(top - low)
    top = math.ceil(top * 1.04 / step) * step
    low = math.floor(low / step) * step if low < 0 else 0.0
    span_days = max((end - start).days, 1)

    def x(d: date) -> float:
        return f.x0 + (f.x1 - f.x0) * (d - start).days / span_days

    def y(v: float) -> float:
        return f.y0 - (f.y0 - f.y1) * (v - low) / (top - low)

    desc = f"Cumulative net sales from {start} to {last_day}: {eur_short(values[-1])}"
    if amount:
        desc += f" of a {eur_short(float(amount))} target; stretch deadline {stretch}, final {final}"
        desc += f"; projected completion {projected}." if projected else "; no projected date at the current run-rate."
    if len(fan) > 1:
        desc += (
            f" Forecast fan to {fan[-1][0]}: P10 {eur_short(float(fan[-1][1]))}, P50 {eur_short(float(fan[-1][2]))}, "
            f"P90 {eur_short(float(fan[-1][3]))}."
        )
    parts = [_svg_open(f.width, f.height, title, desc, uid)]
    tick = low
    while tick <= top + step / 2:
        parts.append(
            f'<line x1="{f.x0}" x2="{f.x1}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="gd"/>'
            f'<text x="{f.x0 - 8}" y="{y(tick) + 4:.1f}" class="ax" text-anchor="end">{eur_short(tick)}</text>'
        )
        tick += step
    for year in range(start.year, end.year + 1):
        for month in (1, 7):
            d = date(year, month, 1)
            if start < d <= end:
                label = str(year) if month == 1 else f"Jul {str(year)[2:]}"
                parts.append(
                    f'<line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{f.y0}" y2="{f.y0 + 5}" stroke="{MUTED}"/>'
                    f'<text x="{x(d):.1f}" y="{f.y0 + 18}" class="ax" text-anchor="middle">{label}</text>'
                )
    parts.append(f'<line x1="{f.x0}" x2="{f.x1}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#94a3b8"/>')
    legend = [(ACTUAL, "", "actual, cumulative net")]
    if amount:
        a = float(amount)
        for deadline, color, name in ((stretch, STRETCH, "stretch"), (final, FINAL, "final")):
            parts.append(
                f'<line x1="{x(start):.1f}" y1="{y(0):.1f}" x2="{x(deadline):.1f}" y2="{y(a):.1f}" stroke="{color}" '
                f'stroke-width="2" stroke-dasharray="2 5" stroke-linecap="round"/>'
                f'<line x1="{x(deadline):.1f}" x2="{x(deadline):.1f}" y1="{f.y1 - 4}" y2="{f.y0}" stroke="{color}" '
                f'stroke-width="1" opacity=".6"/>'
                f'<text x="{x(deadline) - 4:.1f}" y="{f.y1 + 8}" class="ax" text-anchor="end" fill="{color}">'
                f"{name} {deadline:%d %b %Y}</text>"
            )
        parts.append(
            f'<line x1="{f.x0}" x2="{f.x1}" y1="{y(a):.1f}" y2="{y(a):.1f}" stroke="{INK}" stroke-width="1.2" '
            f'stroke-dasharray="8 4"/>'
            f'<text x="{f.x0 + 6}" y="{y(a) - 6:.1f}" class="lb" font-weight="600">target {eur_short(a)}</text>'
        )
        legend += [
            (STRETCH, ' stroke-dasharray="2 5"', "straight line to stretch"),
            (FINAL, ' stroke-dasharray="2 5"', "straight line to final"),
        ]
        if projected:
            legend.append((ACTUAL, ' stroke-dasharray="7 5"', "projection at 30-day run-rate"))
    if len(fan) > 1:
        upper = " ".join(f"{x(d):.1f},{y(float(p90)):.1f}" for d, _, _, p90 in fan)
        lower = " ".join(f"{x(d):.1f},{y(float(p10)):.1f}" for d, p10, _, _ in reversed(fan))
        median = " ".join(f"{x(d):.1f},{y(float(p50)):.1f}" for d, _, p50, _ in fan)
        parts.append(
            f'<g data-series="fan"><polygon points="{upper} {lower}" fill="{FAN}" opacity=".16"/>'
            f'<polyline points="{median}" fill="none" stroke="{FAN}" stroke-width="2" stroke-dasharray="4 3"/></g>'
        )
        legend.append((FAN, ' stroke-dasharray="4 3"', "forecast P50, band P10-P90"))
    if series:
        points = " ".join(f"{x(d):.1f},{y(float(v)):.1f}" for d, v in series)
        parts.append(
            f'<polygon points="{x(series[0][0]):.1f},{y(0):.1f} {points} {x(last_day):.1f},{y(0):.1f}" '
            f'fill="{ACTUAL}" opacity=".08"/>'
            f'<polyline points="{points}" fill="none" stroke="{ACTUAL}" stroke-width="2.5" stroke-linejoin="round"/>'
        )
        last_v = float(series[-1][1])
        if amount and projected and projected > last_day:
            a = float(amount)
            px, py = x(min(projected, end)), y(a)
            if projected > end:  # beyond the drawn horizon: draw the slope to the edge
                frac = (end - last_day).days / max((projected - last_day).days, 1)
                px, py = x(end), y(last_v + (a - last_v) * frac)
            parts.append(
                f'<line x1="{x(last_day):.1f}" y1="{y(last_v):.1f}" x2="{px:.1f}" y2="{py:.1f}" stroke="{ACTUAL}" '
                f'stroke-width="2" stroke-dasharray="7 5"/>'
            )
            if projected <= end:
                parts.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="#fff" stroke="{ACTUAL}" stroke-width="2"/>'
                )
        parts.append(
            f'<circle cx="{x(last_day):.1f}" cy="{y(last_v):.1f}" r="4.5" fill="{ACTUAL}"/>'
            f'<text x="{x(last_day) - 8:.1f}" y="{y(last_v) - 10:.1f}" class="lb" text-anchor="end" font-weight="600">'
            f"{eur_short(last_v)} on {last_day:%d %b %Y}</text>"
        )
    parts.append(_legend(legend, f.x0, 18, f.x1))
    parts.append("</svg>")
    return "".join(parts)


def monthly_chart(
    rows: list[tuple[date, Decimal, Decimal, Decimal, Decimal, Decimal]], *, title: str, uid: str = "monthly"
) -> str:
    """Per month: gross sales up; cancellations, returns and standalone credits down, stacked; the net as a line."""
    if not rows:
        return ""
    f = Frame(960, 300, 86, 28, 36, 36)
    up = max(max(float(g) for _, g, _, _, _, _ in rows), 1.0)
    down = max(max(float(-(c + r + k)) for _, _, c, r, k, _ in rows), 0.0)
    step = nice_step(up + down)
    up = math.ceil(up / step) * step
    down = math.ceil(down / step) * step if down > 0 else 0.0

    def y(v: float) -> float:
        return f.y0 - (f.y0 - f.y1) * (v + down) / (up + down)

    gross_total = sum(g for _, g, _, _, _, _ in rows)
    net_total = sum(n for *_, n in rows)
    desc = (
        f"{len(rows)} months from {rows[0][0]:%b %Y} to {rows[-1][0]:%b %Y}: gross {eur_short(float(gross_total))}, "
        f"net {eur_short(float(net_total))} after cancellations, returns and credits."
    )
    parts = [_svg_open(f.width, f.height, title, desc, uid)]
    tick = -down
    while tick <= up + step / 2:
        parts.append(
            f'<line x1="{f.x0}" x2="{f.x1}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="gd"/>'
            f'<text x="{f.x0 - 8}" y="{y(tick) + 4:.1f}" class="ax" text-anchor="end">{eur_short(tick)}</text>'
        )
        tick += step
    slot = (f.x1 - f.x0) / len(rows)
    width = max(slot * 0.72, 1.0)
    every = 1 if len(rows) <= 12 else 3 if len(rows) <= 40 else 6
    net_points = []
    for i, (month, gross, cancelled, returned, credited, net) in enumerate(rows):
        bx = f.x0 + i * slot + (slot - width) / 2
        g, c, r, k = float(gross), float(-cancelled), float(-returned), float(-credited)
        tip = (
            f"{month:%b %Y}: gross EUR {gross:,.2f}; cancelled EUR {cancelled:,.2f}; "
            f"returned EUR {returned:,.2f}; credited EUR {credited:,.2f}; net EUR {net:,.2f}"
        )
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect x="{bx:.1f}" y="{y(g):.1f}" width="{width:.1f}" height="{y(0) - y(g):.1f}" fill="{GROSS}"/>'
            f'<rect x="{bx:.1f}" y="{y(0):.1f}" width="{width:.1f}" height="{y(-c) - y(0):.1f}" fill="{CANCELLED}"/>'
            f'<rect x="{bx:.1f}" y="{y(-c):.1f}" width="{width:.1f}" height="{y(-c - r) - y(-c):.1f}" '
            f'fill="{RETURNED}"/>'
            f'<rect x="{bx:.1f}" y="{y(-c - r):.1f}" width="{width:.1f}" height="{y(-c - r - k) - y(-c - r):.1f}" '
            f'fill="{CREDITED}"/></g>'
        )
        net_points.append(f"{bx + width / 2:.1f},{y(float(net)):.1f}")
        if i % every == 0:
            parts.append(
                f'<text x="{bx + width / 2:.1f}" y="{f.y0 + 18}" class="ax" text-anchor="middle">{month:%b %y}</text>'
            )
    parts.append(f'<line x1="{f.x0}" x2="{f.x1}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#94a3b8"/>')
    parts.append(
        f'<polyline points="{" ".join(net_points)}" fill="none" stroke="{NET}" stroke-width="1.5" '
        f'stroke-linejoin="round" opacity=".75"/>'
    )
    parts.append(
        _legend(
            [
                (GROSS, "", "gross sales"),
                (CANCELLED, "", "cancellations"),
                (RETURNED, "", "returns"),
                (CREDITED, "", "credits"),
                (NET, "", "net"),
            ],
            f.x0,
            16,
        )
    )
    parts.append("</svg>")
    return "".join(parts)
