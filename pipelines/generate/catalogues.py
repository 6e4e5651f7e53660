"""Catalogue snapshots: each supplier's full catalogue, monthly or weekly, in its contract's layout."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.contracts import Contract
from pipelines.generate.products import Products
from pipelines.generate.suppliers import Supplier
from pipelines.generate.writers import money_text, write_frame

EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "json": "json", "jsonl": "jsonl", "parquet": "parquet"}


def snapshot_dates(supplier: Supplier, months: list[date]) -> list[date]:
    """Monthly suppliers deliver on the 1st; weekly ones on the 1st, 8th, 15th and 22nd."""
    days = (1,) if supplier.cadence == "monthly" else (1, 8, 15, 22)
    return [m.replace(day=d) for m in months for d in days]


def weight_text(grams: pl.Expr, unit: str) -> pl.Expr:
    """Exact text of a weight held in grams, in the contract's unit."""
    if unit == "g":
        return grams.cast(pl.String)
    if unit == "kg":
        return pl.concat_str(
            [(grams // 1000).cast(pl.String), pl.lit("."), (grams % 1000).cast(pl.String).str.zfill(3)]
        )
    return (grams.cast(pl.Float64) / 453.59237).round(3).cast(pl.String)


def snapshot_frame(
    products: Products,
    supplier_rows: np.ndarray,
    month: int,
    contract: Contract,
    defects: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The catalogue of one supplier as of one month, in the contract's column names."""
    frame = canonical_rows(products, supplier_rows[products.listed[supplier_rows, month]], month)
    if defects is not None and defects.height:
        frame = pl.concat([frame, defects], how="vertical_relaxed")
    mark = contract.decimal
    frame = frame.with_columns(
        unit_price=money_text(pl.col("cents"), mark),
        unit_weight=weight_text(pl.col("grams"), contract.weight_unit),
    )
    if mark == ",":
        frame = frame.with_columns(pl.col("unit_weight").str.replace(".", ",", literal=True))
    if contract.hs_code_format == "dotted":
        frame = frame.with_columns(
            hs_code=pl.concat_str([pl.col("hs_code").str.slice(0, 4), pl.lit("."), pl.col("hs_code").str.slice(4)])
        )
    if contract.format == "parquet":
        frame = frame.with_columns(
            pl.col("unit_price").cast(pl.Decimal(12, 2)), pl.col("unit_weight").cast(pl.Decimal(12, 3))
        )
    if contract.format == "jsonl" and contract.weight_unit == "g":
        frame = frame.with_columns(pl.col("unit_weight").cast(pl.Int64))
    return frame.select([pl.col(field).alias(source) for field, source in contract.columns.items()])


def defect_rows(rng: np.random.Generator, supplier: Supplier, snap: date, template: pl.DataFrame) -> pl.DataFrame:
    """One or two extra rows that break a rule (bad GTIN check digit, unknown HS code, no title)."""
    kind = int(rng.integers(0, 3))
    row = template.head(1).with_columns(
        supplier_sku=pl.lit(f"XQ-{supplier.supplier_id}-{snap:%Y%m%d}-{kind}"),
    )
    if kind == 0:  # flip the check digit
        row = row.with_columns(
            gtin=pl.col("gtin").str.slice(0, 12)
            + ((pl.col("gtin").str.slice(12, 1).cast(pl.Int64) + 1) % 10).cast(pl.String)
        )
    elif kind == 1:
        row = row.with_columns(hs_code=pl.lit("999999"))
    else:
        row = row.with_columns(title=pl.lit(None, dtype=pl.String))
    return row


def write_catalogues(
    out: Path,
    products: Products,
    suppliers: tuple[Supplier, ...],
    contracts: dict[str, Contract],
    seed: int,
    end: date,
) -> tuple[int, int, int]:
    """Every snapshot of every supplier up to ``end``; returns (files, rows, bytes)."""
    files = rows = size = 0
    sup_of_row = products.static["supplier_id"].to_numpy()
    for s_idx, supplier in enumerate(suppliers):
        contract = contracts[supplier.supplier_id]
        supplier_rows = np.flatnonzero(sup_of_row == supplier.supplier_id)
        for snap in snapshot_dates(supplier, products.months):
            if snap > end:
                break
            rng = np.random.default_rng(np.random.SeedSequence([seed, 7, s_idx, snap.toordinal()]))
            month = products.month_index(snap)
            defects = None
            if rng.random() < 0.04:
                defects = defect_rows(rng, supplier, snap, canonical_rows(products, supplier_rows[:1], month))
            frame = snapshot_frame(products, supplier_rows, month, contract, defects)
            path = out / "catalogues" / supplier.supplier_id / f"{snap.isoformat()}.{EXTENSIONS[contract.format]}"
            document = {"supplier": supplier.supplier_id, "as_of": snap.isoformat()}
            size += write_frame(frame, path, contract, document)
            files += 1
            rows += frame.height
    return files, rows, size


def canonical_rows(products: Products, rows: np.ndarray, month: int) -> pl.DataFrame:
    """SKUs ``rows`` as of ``month`` in internal columns (price in cents, weight in grams)."""
    return (
        products.static[rows]
        .select("supplier_sku", "gtin", "title", "brand", "category")
        .with_columns(
            hs_code=pl.Series(products.hs_code[rows, month].astype(str), dtype=pl.String),
            country_of_origin=pl.Series(products.origin[rows, month].astype(str), dtype=pl.String),
            cents=pl.Series(products.price_cents[rows, month], dtype=pl.Int64),
            currency=pl.Series(products.currency[rows].astype(str), dtype=pl.String),
            grams=pl.Series(products.weight_g[rows], dtype=pl.Int64),
        )
    )
