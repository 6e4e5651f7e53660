"""Supplier catalogues (``catalogues/<supplier_id>/<YYYY-MM-DD>.<ext>``) into raw and the SCD2 dimension.

Each file is a full catalogue as of its date, read through the contract that lists its
supplier. Row rules (reason codes): ``missing_field``, ``bad_number`` (price or weight not a
plain number or too many decimals), ``gtin_check_digit``, ``hs_code_unknown`` (not a 6-digit
HS 2022 subheading), ``unknown_country``, ``unknown_currency``, ``price_not_positive``,
``price_absurd`` (over 1,000,000 per unit), ``duplicate_sku`` (one SKU with different values in
one snapshot; exact repeats count as duplicates).

A file is rejected whole, and the other files load, when it lies outside the layout
(``bad_layout``), its name is not a real, plausible date in ASCII digits (``bad_file_name``), its
supplier has no contract (``no_contract``), it is a link out of the landing root
(``outside_landing_root``), it holds no rows (``empty_file``), it cannot be read whole (the
reader's codes: ``contract_violation``, ``truncated_file``, ``unreadable_file``, ...) or its
values break the typing step (``load_error``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import load_contracts, supplier_contracts
from pipelines.ingest.batch import (
    Batch,
    drop_empty,
    finish,
    outside_root,
    per_file,
    read_batch,
    reject,
    reject_outside,
)
from pipelines.ingest.discovery import new_files
from pipelines.landing import DATE_NAME as DATE_NAME  # xborder contract check names it
from pipelines.landing import date_name_problem, name_in_root, relative
from pipelines.ledger import FeedSummary, insert_frame, record_amounts
from pipelines.readers import parse_decimal
from pipelines.runner import ProgressHook
from pipelines.settings import Settings
from pipelines.validation import first_failure, gtin_valid

MAX_PRICE = Decimal("1000000")
TRACKED = [
    "supplier_sku",
    "gtin",
    "title",
    "brand",
    "category",
    "hs_code",
    "country_of_origin",
    "unit_price",
    "currency",
    "unit_weight_kg",
]
REBUILD_SQL = "core/dim_product_rebuild.sql"


def load_catalogues(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    suppliers: list[str] | None = None,
    progress: ProgressHook | None = None,
) -> FeedSummary:
    """Load new catalogue files (optionally of some suppliers) and rebuild their product history."""
    summary = FeedSummary(feed="catalogues")
    contracts = supplier_contracts(load_contracts(settings.contracts_dir, "catalogues"))
    files = []
    root = settings.landing_dir.resolve() / "catalogues"
    for path, sha in new_files(con, settings, "catalogues", "*"):
        parts = path.relative_to(root).parts
        supplier = parts[0] if len(parts) > 1 else None
        if suppliers is None or supplier in suppliers:
            files.append((path, sha, supplier, contracts.get(supplier) if supplier else None))
    outside = [
        (path, key)
        for path, key in outside_root(con, settings.landing_dir, "catalogues")
        if suppliers is None or _supplier_of(name_in_root(settings.landing_dir, path)) in suppliers
    ]
    if not files and not outside:
        return summary
    if progress:
        progress("catalogues: reading", 0, len(files))
    batch = read_batch(_matching(files, settings.landing_dir), settings.landing_dir, "catalogues")
    _reject_bad_names(batch, files, settings)
    reject_outside(batch, outside, settings.landing_dir, "catalogues", _supplier_of)
    drop_empty(batch, "a catalogue is a full snapshot of the supplier's products")
    if progress:
        progress("catalogues: validating", len(files), len(files))
    frame = batch.frame
    if frame.height == 0:
        finish(con, batch, "catalogues", batch_id, summary, frame, frame, frame)
        return summary
    # a file whose values break the typing step is rejected (load_error), the others go on
    checked = per_file(batch, lambda rows: _validate(con, canonical(rows, contracts)))
    if batch.frame.height == 0:
        finish(con, batch, "catalogues", batch_id, summary, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
        return summary
    bad = checked.filter(pl.col("reason").is_not_null())
    dup = checked.filter(pl.col("reason").is_null() & pl.col("duplicate"))
    good = checked.filter(pl.col("reason").is_null() & ~pl.col("duplicate"))
    insert_frame(
        con,
        "raw.catalogue_items",
        good.select(
            pl.col("source").alias("supplier_id"),
            "snapshot_date",
            *TRACKED,
            "source_file",
            "line_number",
            batch_id=pl.lit(batch_id),
        ),
    )
    record_amounts(con, _amounts(checked))
    finish(con, batch, "catalogues", batch_id, summary, good, bad, dup)
    affected = sorted(set(good["source"]))
    rebuild_products(con, settings, affected)
    summary.notes.append(f"product history rebuilt for {len(affected)} supplier(s)")
    return summary


def rebuild_products(con: duckdb.DuckDBPyConnection, settings: Settings, supplier_ids: list[str]) -> None:
    """Recompute the SCD2 history of these suppliers from all their snapshots."""
    if not supplier_ids:
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE affected_suppliers AS SELECT unnest(?::VARCHAR[]) AS supplier_id",
        [supplier_ids],
    )
    con.execute((settings.sql_dir / REBUILD_SQL).read_text(encoding="utf-8"))
    con.execute("DROP TABLE affected_suppliers")


def _supplier_of(name: str) -> str | None:
    """The supplier folder of a landed name (``catalogues/<supplier>/...``), None for a file beside them."""
    parts = name.split("/")
    return parts[1] if len(parts) > 2 else None


def _name_problem(path: Path, root: Path, contract) -> tuple[str, str] | None:
    """(reason, why) when a catalogue file is outside ``catalogues/<supplier>/<YYYY-MM-DD>.<ext>``."""
    if len(path.relative_to(root.resolve() / "catalogues").parts) != 2:
        return "bad_layout", "a catalogue file must be catalogues/<supplier_id>/<YYYY-MM-DD>.<ext>"
    if contract is None:
        return None  # no_contract, decided by read_batch
    ext = contract.file_glob.lstrip("*")
    if not path.match(contract.file_glob):
        return "bad_file_name", f"a catalogue file must be named <YYYY-MM-DD>{ext} (contract {contract.name})"
    problem = date_name_problem(path.stem)
    if problem:
        return (
            "bad_file_name",
            f"{problem}; a catalogue file must be named <YYYY-MM-DD>{ext} (contract {contract.name})",
        )
    return None


def _matching(files: list, root: Path) -> list:
    """Files in the layout whose names fit their contract's glob and are a real date (others are rejected)."""
    return [f for f in files if _name_problem(f[0], root, f[3]) is None]


def _reject_bad_names(batch: Batch, files: list, settings: Settings) -> None:
    for path, sha, supplier, contract in files:
        problem = _name_problem(path, settings.landing_dir, contract)
        if problem:
            reason, why = problem
            name = relative(settings.landing_dir, path)
            rule = "layout" if reason == "bad_layout" else "file_name"
            reject(
                batch,
                path,
                sha,
                settings.landing_dir,
                "catalogues",
                supplier,
                contract,
                f"{name}: {why}; rule: {rule}",
                None,
                reason,
            )


def canonical(frame: pl.DataFrame, contracts: dict) -> pl.DataFrame:
    """Text -> typed canonical columns, per the ``source``'s contract (decimal mark, units, HS format)."""
    parts = []
    for supplier, rows in frame.partition_by("source", as_dict=True).items():
        c = contracts[supplier[0]]
        weight = parse_decimal(pl.col("unit_weight"), c.decimal, 6) if "unit_weight" in rows.columns else None
        parts.append(
            rows.with_columns(
                unit_price_text=pl.col("unit_price"),
                unit_price=parse_decimal(pl.col("unit_price"), c.decimal, 4),
                unit_weight_kg=(weight * pl.lit(Decimal(c.weight_factor))).round(4).cast(pl.Decimal(12, 4))
                if weight is not None
                else pl.lit(None, dtype=pl.Decimal(12, 4)),
                weight_text=pl.col("unit_weight") if "unit_weight" in rows.columns else pl.lit(None, dtype=pl.String),
            )
        )
    typed = pl.concat(parts, how="diagonal_relaxed")
    for col in ("gtin", "brand", "category"):
        if col not in typed.columns:
            typed = typed.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    return typed.with_columns(
        snapshot_date=pl.col("source_file").str.extract(r"(\d{4}-\d{2}-\d{2})\.[^/]+$").str.to_date(),
        supplier_sku=pl.col("supplier_sku").str.strip_chars(),
        title=pl.col("title").str.strip_chars(),
        gtin=pl.col("gtin").str.strip_chars(),
        hs_code=pl.col("hs_code").str.replace_all(r"[\s.]", ""),
        country_of_origin=pl.col("country_of_origin").str.strip_chars().str.to_uppercase(),
        currency=pl.col("currency").str.strip_chars().str.to_uppercase(),
    )


def _validate(con: duckdb.DuckDBPyConnection, typed: pl.DataFrame) -> pl.DataFrame:
    hs6 = con.sql("SELECT hs_code FROM core.dim_hs_code WHERE level = 6").pl()["hs_code"]
    countries = con.sql("SELECT country_code FROM core.dim_country").pl()["country_code"]
    currencies = con.sql("SELECT currency_code FROM core.dim_currency").pl()["currency_code"]
    return checked(typed, hs6, countries, currencies)


def checked(typed: pl.DataFrame, hs6: pl.Series, countries: pl.Series, currencies: pl.Series) -> pl.DataFrame:
    """Add ``reason``/``column_name`` (first rule broken, null when the row passes) and ``duplicate``.

    Pure: the reference codes are passed in (from the warehouse on load, from ``reference/``
    in ``xborder contract check``). Duplicates are judged per file (``sha256``).
    """
    reason, column = first_failure(
        [
            (
                "missing_field",
                "supplier_sku",
                pl.col("supplier_sku").is_not_null() & (pl.col("supplier_sku") != ""),
            ),
            ("missing_field", "title", pl.col("title").is_not_null() & (pl.col("title") != "")),
            ("missing_field", "unit_price", pl.col("unit_price_text").is_not_null()),
            ("bad_number", "unit_price", pl.col("unit_price").is_not_null()),
            (
                "bad_number",
                "unit_weight",
                pl.col("weight_text").is_null() | pl.col("unit_weight_kg").is_not_null(),
            ),
            ("gtin_check_digit", "gtin", pl.col("gtin").is_null() | gtin_valid("gtin")),
            ("hs_code_unknown", "hs_code", pl.col("hs_code").is_in(hs6.implode())),
            ("unknown_country", "country_of_origin", pl.col("country_of_origin").is_in(countries.implode())),
            ("unknown_currency", "currency", pl.col("currency").is_in(currencies.implode())),
            ("price_not_positive", "unit_price", pl.col("unit_price") > 0),
            ("price_absurd", "unit_price", pl.col("unit_price") <= MAX_PRICE),
        ]
    )
    checked = typed.with_columns(reason=reason, column_name=column)
    ok = pl.col("reason").is_null()
    per_sku = ["sha256", "supplier_sku"]
    conflicting = (pl.struct(TRACKED).n_unique().over(per_sku) > 1) & (pl.len().over(per_sku) > 1)
    repeat = pl.int_range(pl.len()).over(per_sku) > 0
    return checked.with_columns(
        reason=pl.when(ok & conflicting).then(pl.lit("duplicate_sku")).otherwise("reason"),
        column_name=pl.when(ok & conflicting).then(pl.lit("supplier_sku")).otherwise("column_name"),
        duplicate=ok & ~conflicting & repeat,
    )


def _amounts(checked: pl.DataFrame) -> pl.DataFrame:
    """Sum of unit prices per file and currency, split like the rows (rows without a price: 0)."""
    price = pl.col("unit_price").fill_null(0).cast(pl.Decimal(38, 4))
    zero = pl.lit(0).cast(pl.Decimal(38, 4))
    return (
        checked.with_columns(pl.col("currency").fill_null("???"))
        .group_by("sha256", "currency")
        .agg(
            amount_read=price.sum(),
            amount_loaded=pl.when(pl.col("reason").is_null() & ~pl.col("duplicate")).then(price).otherwise(zero).sum(),
            amount_quarantined=pl.when(pl.col("reason").is_not_null()).then(price).otherwise(zero).sum(),
            amount_duplicate=pl.when(pl.col("reason").is_null() & pl.col("duplicate"))
            .then(price)
            .otherwise(zero)
            .sum(),
        )
    )
