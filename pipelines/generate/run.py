"""``generate``: write a whole landing zone (suppliers, catalogues, FX, sales) and the scaled target."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import yaml

from pipelines.contracts import channel_contracts, load_contracts, supplier_contracts
from pipelines.generate.catalogues import write_catalogues
from pipelines.generate.fx import Rates, write_fx
from pipelines.generate.mix import load_mix
from pipelines.generate.products import build_products, month_grid
from pipelines.generate.sales import CHANNELS, SalesWriter, apportion, day_weights
from pipelines.generate.suppliers import roster, supplier_frame
from pipelines.settings import RESOURCES

# The sample's target reaches this share of the sample's expected UK->CN net sales, so that
# the series crosses the target shortly before the final deadline.
TARGET_SHARE_OF_SAMPLE = 0.97
REAL_TARGET_EUR = 2_200_000_000


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True


@dataclass
class FeedFiles:
    files: int = 0
    rows: int = 0
    bytes: int = 0


@dataclass
class GenerateSummary:
    out: Path
    seed: int
    order_lines: int
    start: date
    end: date
    feeds: dict[str, FeedFiles] = field(default_factory=dict)
    sample_target_eur: int = 0
    expected_gb_cn_eur: float = 0.0
    seconds: float = 0.0


def generate(
    out: Path,
    order_lines: int = 3_000_000,
    seed: int = 2018,
    start: date = date(2018, 7, 1),
    end: date = date(2021, 6, 30),
    suppliers: int | None = None,
    skus_per_supplier: int = 250,
    reference_dir: Path = RESOURCES / "reference",
    contracts_dir: Path = RESOURCES / "contracts",
    progress: Callable[[str, int, int], None] | None = None,
) -> GenerateSummary:
    """Write the sample landing zone under ``out`` and ``out.parent / targets.sample.yml``."""
    started = time.perf_counter()
    if not 1_000 <= order_lines <= 100_000_000:
        raise ValueError("order_lines must be between 1,000 and 100,000,000")
    if end < start:
        raise ValueError("end must not be before start")
    summary = GenerateSummary(out=out, seed=seed, order_lines=order_lines, start=start, end=end)
    team = roster(suppliers)
    cat_contracts = supplier_contracts(load_contracts(contracts_dir, "catalogues"))
    missing = [s.supplier_id for s in team if s.supplier_id not in cat_contracts]
    if missing:
        raise ValueError(f"suppliers without a catalogue contract in {contracts_dir}: {missing}")
    sales_contracts = channel_contracts(load_contracts(contracts_dir, "sales"))

    rates = Rates(reference_dir / "eurofxref-hist.csv")
    fx_files = write_fx(rates, out, start, end)
    summary.feeds["fx"] = FeedFiles(len(fx_files), 0, sum(p.stat().st_size for p in fx_files))

    master = out / "suppliers" / "suppliers.csv"
    master.parent.mkdir(parents=True, exist_ok=True)
    master.write_text(supplier_frame(team).write_csv(), encoding="utf-8")
    summary.feeds["suppliers"] = FeedFiles(1, len(team), master.stat().st_size)

    products = build_products(
        team,
        load_mix(reference_dir),
        np.random.default_rng(np.random.SeedSequence([seed, 3])),
        month_grid(start, end),
        skus_per_supplier,
    )
    summary.feeds["catalogues"] = FeedFiles(*write_catalogues(out, products, team, cat_contracts, seed, end))

    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    per_day = apportion(order_lines, day_weights(days))
    shares = np.array([c.share for c in CHANNELS])
    writers = [SalesWriter(out, c, sales_contracts[c.name], products, rates, seed, end) for c in CHANNELS]
    for i, day in enumerate(days):
        for writer, lines in zip(writers, apportion(int(per_day[i]), shares), strict=True):
            writer.day(day, int(lines))
        if progress:
            progress(f"sales {day}", i + 1, len(days))
    sales = FeedFiles()
    for w in writers:
        sales.files += w.totals.files
        sales.rows += w.totals.rows
        sales.bytes += w.totals.bytes
    summary.feeds["sales"] = sales
    summary.expected_gb_cn_eur = sum(w.totals.gb_cn_eur for w in writers)
    summary.sample_target_eur = write_sample_target(out.parent / "targets.sample.yml", summary, start, end)
    summary.seconds = time.perf_counter() - started
    return summary


def write_sample_target(path: Path, summary: GenerateSummary, start: date, end: date) -> int:
    """The default target scaled to the sample; returns the scaled amount (EUR)."""
    amount = max(1_000, int(round(summary.expected_gb_cn_eur * TARGET_SHARE_OF_SAMPLE, -3)))
    stretch = date(start.year + 2, start.month, start.day) - timedelta(days=1) if end.year - start.year >= 2 else end
    doc = {
        "targets": [
            {
                "id": "uk_goods_to_cn",
                "name": "UK goods to Chinese consumers (sample scale)",
                "amount": amount,
                "currency": "EUR",
                "origin_countries": ["GB"],
                "destination_countries": ["CN"],
                "window_start": start,
                "window_end": end,
                "deadlines": {"stretch": stretch, "final": end},
                "scaled_from": REAL_TARGET_EUR,
                "scale_note": (
                    f"The sample holds {summary.order_lines:,} order lines at consumer prices, a fraction of "
                    f"the real business; the EUR {REAL_TARGET_EUR:,} target is scaled to "
                    f"{TARGET_SHARE_OF_SAMPLE:.0%} of the sample's expected UK-origin sales to China "
                    f"(seed {summary.seed}), so progress against it behaves like the real target's."
                ),
            },
            {
                "id": "all_goods_to_cn",
                "name": "All goods to Chinese consumers (any origin)",
                "origin_countries": [],
                "destination_countries": ["CN"],
                "window_start": start,
                "window_end": end,
                "deadlines": {"stretch": stretch, "final": end},
            },
        ]
    }
    header = "# Written by `xborder generate`: the default target scaled to the generated sample.\n"
    text = yaml.dump(doc, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)
    path.write_text(header + text, encoding="utf-8")
    return amount
