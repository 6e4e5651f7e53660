"""Inline SVG charts drawn server-side (no JavaScript, no network)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 760, 320, 78, 20, 16, 36


def _eur_short(value: float) -> str:
    for size, unit in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(value) >= size:
            return f"€{value / size:,.1f}{unit}"
    return f"€{value:,.0f}"


def progress_chart(
    series: list[tuple[date, Decimal]],
    start: date,
    stretch: date,
    final: date,
    amount: Decimal,
    projected: date | None,
    title: str,
) -> str:
    """Cumulative net EUR vs the straight-line paths to each deadline, and the projection."""
    end = max(final, projected or final, series[-1][0] if series else final)
    top = float(max([amount] + [v for _, v in series])) * 1.08
    span = max((end - start).days, 1)

    def x(d: date) -> float:
        return PAD_L + (W - PAD_L - PAD_R) * (d - start).days / span

    def y(v: float) -> float:
        return H - PAD_B - (H - PAD_T - PAD_B) * v / top

    grid = []
    for i in range(5):
        v = top * i / 4
        grid.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{PAD_L - 8}" y="{y(v) + 4:.1f}" class="axis" text-anchor="end">{_eur_short(v)}</text>'
        )
    years = [date(yr, 1, 1) for yr in range(start.year + 1, end.year + 1)]
    ticks = "".join(
        f'<line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{PAD_T}" y2="{H - PAD_B}" class="grid"/>'
        f'<text x="{x(d):.1f}" y="{H - PAD_B + 18}" class="axis" text-anchor="middle">{d.year}</text>'
        for d in years
    )
    actual = " ".join(f"{x(d):.1f},{y(float(v)):.1f}" for d, v in series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">',
        "<style>.grid{stroke:#e5e7eb}.axis{font:11px system-ui,sans-serif;fill:#6b7280}"
        ".lbl{font:12px system-ui,sans-serif}</style>",
        *grid,
        ticks,
        f'<line x1="{x(start):.1f}" y1="{y(0):.1f}" x2="{x(stretch):.1f}" y2="{y(float(amount)):.1f}" '
        'stroke="#16a34a" stroke-width="1.5" stroke-dasharray="2 4"/>',
        f'<line x1="{x(start):.1f}" y1="{y(0):.1f}" x2="{x(final):.1f}" y2="{y(float(amount)):.1f}" '
        'stroke="#d97706" stroke-width="1.5" stroke-dasharray="2 4"/>',
        f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(float(amount)):.1f}" y2="{y(float(amount)):.1f}" '
        'stroke="#111827" stroke-width="1"/>',
        f'<text x="{PAD_L + 4}" y="{y(float(amount)) - 6:.1f}" class="lbl">target {_eur_short(float(amount))}</text>',
    ]
    if series:
        parts.append(f'<polyline points="{actual}" fill="none" stroke="#2563eb" stroke-width="2.5"/>')
        last_d, last_v = series[-1]
        if projected and projected > last_d:
            parts.append(
                f'<line x1="{x(last_d):.1f}" y1="{y(float(last_v)):.1f}" x2="{x(projected):.1f}" '
                f'y2="{y(float(amount)):.1f}" stroke="#2563eb" stroke-width="2" stroke-dasharray="6 5"/>'
            )
    legend = [
        ("#2563eb", "actual (cumulative net)"),
        ("#2563eb", "projection at 30-day run-rate"),
        ("#16a34a", f"path to stretch {stretch}"),
        ("#d97706", f"path to final {final}"),
    ]
    for i, (color, label) in enumerate(legend):
        lx = PAD_L + 10 + i * 170
        dash = ' stroke-dasharray="6 5"' if i == 1 else ' stroke-dasharray="2 4"' if i > 1 else ""
        parts.append(
            f'<line x1="{lx}" x2="{lx + 22}" y1="{H - 6}" y2="{H - 6}" stroke="{color}" stroke-width="2"{dash}/>'
            f'<text x="{lx + 28}" y="{H - 2}" class="axis">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def monthly_chart(rows: list[tuple[date, Decimal, Decimal, Decimal]], title: str) -> str:
    """Bars per month: gross sales up, cancellations and returns down."""
    if not rows:
        return ""
    top = max(float(g) for _, g, _, _ in rows) * 1.1 or 1.0
    bottom = max(float(-(c + r)) for _, _, c, r in rows) * 1.1
    scale = (H - PAD_T - PAD_B) / (top + bottom or 1)
    zero = PAD_T + top * scale
    step = (W - PAD_L - PAD_R) / len(rows)
    bars = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">',
        "<style>.axis{font:11px system-ui,sans-serif;fill:#6b7280}</style>",
        f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#9ca3af"/>',
        f'<text x="{PAD_L - 8}" y="{PAD_T + 10}" class="axis" text-anchor="end">{_eur_short(top)}</text>',
    ]
    for i, (month, gross, cancelled, returned) in enumerate(rows):
        bx = PAD_L + i * step + step * 0.15
        bw = step * 0.7
        g, c, r = float(gross) * scale, float(-cancelled) * scale, float(-returned) * scale
        bars.append(
            f'<rect x="{bx:.1f}" y="{zero - g:.1f}" width="{bw:.1f}" height="{g:.1f}" fill="#2563eb">'
            f"<title>{month:%b %Y}: gross €{gross:,.2f}</title></rect>"
        )
        bars.append(
            f'<rect x="{bx:.1f}" y="{zero:.1f}" width="{bw:.1f}" height="{c:.1f}" fill="#f97316">'
            f"<title>{month:%b %Y}: cancelled €{cancelled:,.2f}</title></rect>"
        )
        bars.append(
            f'<rect x="{bx:.1f}" y="{zero + c:.1f}" width="{bw:.1f}" height="{r:.1f}" fill="#dc2626">'
            f"<title>{month:%b %Y}: returned €{returned:,.2f}</title></rect>"
        )
        if month.month in (1, 7):
            bars.append(
                f'<text x="{bx + bw / 2:.1f}" y="{H - PAD_B + 18}" class="axis" text-anchor="middle">'
                f"{month:%b %y}</text>"
            )
    bars.append("</svg>")
    return "".join(bars)
