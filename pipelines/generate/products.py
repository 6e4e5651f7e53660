"""Products and their monthly state: price, origin, HS code and listing change over time.

State is held on a monthly grid (arrays of SKU x month). A catalogue snapshot dated on any
day carries the state of that day's month, and a sale on a UTC date uses the same state, so
every sold SKU is listed in the snapshot valid at the order date.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pipelines.generate.mix import CHAPTERS, Mix, gtin13
from pipelines.generate.suppliers import Supplier

GS1_PREFIX = {"GB": 50, "FR": 30, "DE": 40, "IT": 80, "ES": 84, "NL": 87, "IE": 539, "BE": 54, "DK": 57}
# Rough conversion used only to set list prices in the supplier's currency.
LIST_RATE = {"EUR": 1.0, "GBP": 0.88, "DKK": 7.46}
SIZES = ("", " 70cl", " 500g", " 250g", " Gift Box", " Large", " Set of 2", " Limited Edition")


@dataclass
class Products:
    """Every SKU of every supplier, with its state per month."""

    static: pl.DataFrame  # sku_idx, supplier_id, supplier_sku, gtin, title, brand, category, chapter
    months: list[date]  # first day of each month of the grid
    listed: np.ndarray  # bool [sku, month]
    price_cents: np.ndarray  # int64 [sku, month], supplier currency
    origin: np.ndarray  # str [sku, month]
    hs_code: np.ndarray  # str [sku, month]
    weight_g: np.ndarray  # int64 [sku]
    currency: np.ndarray  # str [sku]
    chapter_share: np.ndarray  # float [sku]: sales weight so lines follow the chapter mix

    def month_index(self, day: date) -> int:
        return (day.year - self.months[0].year) * 12 + day.month - self.months[0].month


def month_grid(start: date, end: date) -> list[date]:
    """First days of months from the month before ``start`` to the month of ``end``."""
    first = date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    months, current = [], first
    while current <= end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def build_products(
    suppliers: tuple[Supplier, ...], mix: Mix, rng: np.random.Generator, months: list[date], per_supplier: int
) -> Products:
    """Draw SKUs per supplier and evolve their state month by month."""
    n_sup, n = len(suppliers), len(suppliers) * per_supplier
    sup_idx = np.repeat(np.arange(n_sup), per_supplier)
    share = dict(zip(mix.chapters, mix.shares, strict=True))
    chapter = np.empty(n, dtype=object)
    for i, s in enumerate(suppliers):
        weights = np.array([share[c] for c in s.specialities]) ** 0.5
        chapter[sup_idx == i] = rng.choice(list(s.specialities), size=per_supplier, p=weights / weights.sum())
    country = np.array([s.country for s in suppliers])[sup_idx]
    currency = np.array([s.currency for s in suppliers])[sup_idx]
    item = np.tile(np.arange(per_supplier), n_sup)

    nouns = np.array(
        [CHAPTERS[c][1][k % len(CHAPTERS[c][1])] for c, k in zip(chapter, rng.integers(0, 100, n), strict=True)]
    )
    size = np.array(SIZES)[rng.integers(0, len(SIZES), n)]
    brand_root = np.array([s.legal_name.split()[0].rstrip(",") for s in suppliers])[sup_idx]
    brand = np.char.add(brand_root, np.array(["", " Reserve", " Heritage", " & Co"])[rng.integers(0, 4, n)])
    title = np.char.add(np.char.add(np.char.add(brand.astype(str), " "), nouns.astype(str)), size)

    prefix = np.array([GS1_PREFIX[c] for c in country])
    body = np.where(prefix >= 100, prefix * 10**9, prefix * 10**10) + (sup_idx + 1) * 10**5 + item
    low = np.array([CHAPTERS[c][3][0] for c in chapter], dtype=float)
    high = np.array([CHAPTERS[c][3][1] for c in chapter], dtype=float)
    eur = np.exp(rng.uniform(np.log(low), np.log(high)))
    rate = np.array([LIST_RATE[c] for c in currency])
    weight_g = np.maximum(
        20, rng.normal(1, 0.3, n).clip(0.3) * np.array([CHAPTERS[c][4] for c in chapter]) * 1000
    ).astype(np.int64)

    origins = _origins(chapter, country, rng)
    hs_first = np.array(
        [mix.hs6[c][k % len(mix.hs6[c])] for c, k in zip(chapter, rng.integers(0, 10_000, n), strict=True)]
    )

    m = len(months)
    price = np.empty((n, m), dtype=np.int64)
    origin = np.empty((n, m), dtype=object)
    hs = np.empty((n, m), dtype=object)
    listed = np.ones((n, m), dtype=bool)
    price[:, 0] = np.round(eur * rate * 100).astype(np.int64)
    origin[:, 0], hs[:, 0] = origins, hs_first
    launch = np.where(rng.random(n) < 0.12, rng.integers(1, max(2, m), n), 0)
    for j in range(1, m):
        change = rng.random(n) < 0.04
        price[:, j] = np.where(change, np.round(price[:, j - 1] * rng.uniform(0.9, 1.12, n)), price[:, j - 1])
        moved = rng.random(n) < 0.004
        origin[:, j] = np.where(moved, _origins(chapter, country, rng), origin[:, j - 1])
        reclassified = rng.random(n) < 0.003
        new_hs = np.array(
            [mix.hs6[c][k % len(mix.hs6[c])] for c, k in zip(chapter, rng.integers(0, 10_000, n), strict=True)]
        )
        hs[:, j] = np.where(reclassified, new_hs, hs[:, j - 1])
        gap_start = rng.random(n) < 0.005
        gap_len = rng.integers(1, 4, n)
        for k in range(3):
            listed[:, min(j + k, m - 1)] &= ~(gap_start & (gap_len > k))
    listed &= np.arange(m)[None, :] >= launch[:, None]

    static = pl.DataFrame(
        {
            "sku_idx": np.arange(n),
            "supplier_id": np.array([s.supplier_id for s in suppliers])[sup_idx],
            "supplier_sku": [f"{country[i]}-{sup_idx[i] + 1:02d}-{item[i]:05d}" for i in range(n)],
            "gtin": gtin13(body),
            "title": title,
            "brand": brand,
            "category": [CHAPTERS[c][0] for c in chapter],
            "chapter": chapter.astype(str),
        }
    )
    per_chapter = Counter(chapter.tolist())
    chapter_share = np.array([share[c] / per_chapter[c] for c in chapter])
    return Products(static, months, listed, price, origin, hs, weight_g, currency, chapter_share)


def _origins(chapter: np.ndarray, country: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mostly the supplier's country; about a fifth from the goods' typical origins."""
    typical = np.array(
        [
            CHAPTERS[c][2][k % len(CHAPTERS[c][2])]
            for c, k in zip(chapter, rng.integers(0, 100, len(chapter)), strict=True)
        ]
    )
    return np.where(rng.random(len(chapter)) < 0.8, country, typical)
