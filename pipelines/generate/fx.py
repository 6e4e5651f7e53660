"""ECB reference rates: the real history file cut to the window, plus daily files.

Lines are copied byte for byte from the real ``eurofxref-hist.csv`` (newest first, trailing
comma, ``N/A``); the daily files use the ECB's daily format (``30 June 2021, 1.1884, ...``).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np


class Rates:
    """Real rates by currency for pricing the sample (floats are fine for fabricating prices)."""

    def __init__(self, hist_path: Path) -> None:
        lines = hist_path.read_text(encoding="utf-8").splitlines()
        self.header = lines[0]
        self.lines = lines[1:]
        self.currencies = [c for c in lines[0].split(",")[1:] if c]
        self.dates = np.array([date.fromisoformat(line[:10]) for line in self.lines])
        self.values = {
            c: np.array([_num(line.split(",")[i + 1]) for line in self.lines]) for i, c in enumerate(self.currencies)
        }
        order = np.argsort(self.dates)
        self.sorted_dates = self.dates[order].astype("datetime64[D]")
        self.sorted_values = {c: v[order] for c, v in self.values.items()}

    def on(self, currency: str, days: np.ndarray) -> np.ndarray:
        """Rate (units per EUR) valid on each day: the latest published on or before it."""
        if currency == "EUR":
            return np.ones(len(days))
        idx = np.searchsorted(self.sorted_dates, days.astype("datetime64[D]"), side="right") - 1
        return self.sorted_values[currency][idx]


def _num(text: str) -> float:
    return float("nan") if text in ("N/A", "") else float(text)


def write_fx(rates: Rates, out: Path, start: date, end: date, daily_files: int = 5) -> list[Path]:
    """History cut to [start - 14 days, a few days before end] and ``daily_files`` daily files."""
    in_window = [d for d in rates.dates if start - timedelta(days=14) <= d <= end]
    last = sorted(in_window)[-daily_files:]
    hist_end = last[min(2, len(last) - 1)] if last else end  # overlap: two dates in both
    keep = [
        line for d, line in zip(rates.dates, rates.lines, strict=True) if start - timedelta(days=14) <= d <= hist_end
    ]
    hist = out / "fx" / "eurofxref-hist.csv"
    hist.parent.mkdir(parents=True, exist_ok=True)
    hist.write_text("\n".join([rates.header, *keep]) + "\n", encoding="utf-8")
    written = [hist]
    cells = rates.header.split(",")
    for day in last:
        line = rates.lines[int(np.flatnonzero(rates.dates == day)[0])].split(",")
        quoted = [(c, v) for c, v in zip(cells[1:], line[1:], strict=True) if c and v not in ("N/A", "")]
        text = "Date, " + ", ".join(c for c, _ in quoted) + ", \n"
        text += f"{day.day} {day:%B %Y}, " + ", ".join(v for _, v in quoted) + ", \n"
        path = out / "fx" / "daily" / day.isoformat() / "eurofxref.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
