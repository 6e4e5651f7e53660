"""The headline chart as a PNG for e-mail (mail clients do not show SVG): matplotlib's Agg backend.

No pyplot (no global state, no display), only the fonts matplotlib ships (DejaVu Sans), no
network, and no timestamp or version in the file: the same data gives the same bytes. The
image carries its own title, the target line and the as-of date, so it reads without the e-mail.
"""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from pipelines.report.charts import ACTUAL, FAN, FINAL, INK, MUTED, STRETCH
from pipelines.report.format import day, eur, eur_short, pct

WIDTH, HEIGHT, DPI = 1200, 600, 100


def progress_png(
    series: list[tuple[date, Decimal]],
    path: Path,
    *,
    start: date,
    stretch: date,
    final: date,
    amount: Decimal | None,
    projected: date | None,
    title: str,
    as_of: date | None,
    reached_on: date | None = None,
    fan: list[tuple[date, Decimal, Decimal, Decimal]] | None = None,
) -> Path:
    """Draw cumulative net EUR against the target and the straight lines to its deadlines; write ``path``."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    def x(d: date) -> float:
        return float(date2num(d))

    with rc_context({"font.family": "DejaVu Sans", "axes.edgecolor": "#94a3b8", "path.simplify": False}):
        fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.09, 0.14, 0.88, 0.64))
        last_day = series[-1][0] if series else start
        last = series[-1][1] if series else Decimal(0)
        fan = [r for r in (fan or []) if r[0] >= start]
        end = max(final, last_day, *(r[0] for r in fan))
        if projected and projected > end:
            end = min(projected, final + timedelta(days=(final - start).days // 2))
        if len(fan) > 1:
            fx = [x(r[0]) for r in fan]
            ax.fill_between(fx, [float(r[1]) for r in fan], [float(r[3]) for r in fan], color=FAN, alpha=0.16,
                            linewidth=0)  # fmt: skip
            ax.plot(fx, [float(r[2]) for r in fan], color=FAN, linewidth=2, linestyle=(0, (4, 3)),
                    label="forecast P50, band P10-P90")  # fmt: skip
        if series:
            xs = [x(d) for d, _ in series]
            ys = [float(v) for _, v in series]
            ax.fill_between(xs, ys, 0, color=ACTUAL, alpha=0.08, linewidth=0)
            ax.plot(xs, ys, color=ACTUAL, linewidth=2.5, label="actual, cumulative net")
            ax.plot([x(last_day)], [float(last)], "o", color=ACTUAL, markersize=7)
            ax.annotate(
                f"{eur_short(float(last))} on {day(last_day)}",
                (x(last_day), float(last)),
                xytext=(-8, 10),
                textcoords="offset points",
                ha="right",
                fontsize=11,
                fontweight="bold",
                color=INK,
            )
        if amount is not None:
            a = float(amount)
            ax.axhline(a, color=INK, linewidth=1.3, linestyle=(0, (8, 4)))
            ax.annotate(
                f"target {eur(amount, cents=False)}",
                (x(start), a),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=11,
                fontweight="bold",
                color=INK,
            )
            for deadline, colour, name in ((stretch, STRETCH, "stretch"), (final, FINAL, "final")):
                ax.plot([x(start), x(deadline)], [0, a], color=colour, linewidth=2, linestyle=(0, (1, 3)),
                        label=f"straight line to {name} ({day(deadline)})")  # fmt: skip
                ax.axvline(x(deadline), color=colour, linewidth=1, alpha=0.6)
            if projected and series and projected > last_day:
                target_x = min(projected, end)
                share = (target_x - last_day).days / max((projected - last_day).days, 1)
                ax.plot(
                    [x(last_day), x(target_x)],
                    [float(last), float(last) + (a - float(last)) * share],
                    color=ACTUAL,
                    linewidth=2,
                    linestyle=(0, (7, 5)),
                    label=f"projection at 30-day run-rate ({day(projected)})",
                )
        margin = max((end - start).days, 1) * 0.015  # room for the last point and the final deadline
        ax.set_xlim(x(start) - margin, x(end) + margin)
        values = [0.0, float(amount or 0), *(float(v) for _, v in series), *(float(r[3]) for r in fan)]
        ax.set_ylim(min(values) * 1.06, max(max(values) * 1.08, 1.0))
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: eur_short(v)))
        ax.grid(axis="y", color="#e2e8f0")
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(colors=MUTED, labelsize=10)
        ax.legend(
            loc="upper left", bbox_to_anchor=(0, -0.08), ncol=3 if len(fan) > 1 else 2, frameon=False, fontsize=9.5
        )
        fig.text(0.09, 0.95, "\n".join(textwrap.wrap(title, 95)), fontsize=15, fontweight="bold", color=INK, va="top")
        fig.text(0.09, 0.855, _subtitle(amount, last, as_of, reached_on), fontsize=11.5, color=MUTED, va="top")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.png")
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None, "Title": title})
    tmp.replace(path)
    return path


def _subtitle(amount: Decimal | None, cumulative: Decimal, as_of: date | None, reached_on: date | None) -> str:
    """``as of 14 Jun 2021 · EUR 1,234,567 net of EUR 2,200,000,000 (56.12 %)[ · reached on ...]``."""
    so_far = f"{eur(cumulative, cents=False)} net"
    if amount:
        share = (100 * cumulative / amount).quantize(Decimal("0.01"))
        so_far += f" of {eur(amount, cents=False)} ({pct(share)})"
    reached = f" · target reached on {day(reached_on)}" if reached_on else ""
    return f"as of {day(as_of)} · {so_far}{reached}"
