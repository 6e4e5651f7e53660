"""Supplier catalogues (``catalogues/<supplier_id>/<YYYY-MM-DD>.<ext>``) into raw and the SCD2 dimension.

Each file is a full catalogue as of its date, read through the contract that lists its
supplier. Row rules (reason codes): ``missing_field``, ``bad_number`` (price or weight not a
plain number or too many decimals), ``gtin_check_digit``, ``hs_code_unknown`` (not a 6-digit
HS 2022 subheading), ``unknown_country``, ``unknown_currency``, ``price_not_positive``,
``price_absurd`` (over 1,000,000 per unit), ``duplicate_sku`` (one SKU with different values in
one snapshot; exact repeats count as duplicates). A file whose name is not a date, whose
supplier has no contract, or whose structure breaks the contract is rejected whole.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import load_contracts, supplier_contracts
from pipelines.ingest.batch import Batch, finish, read_batch, reject
from pipelines.ingest.discovery import new_files
from pipelines.ledger import FeedSummary, insert_frame, new_batch_id, record_amounts
from pipelines.readers import parse_decimal
from pipelines.runner import ProgressHook
from pipelines.settings import Settings
from pipelines.validation import first_failure, gtin_valid

DATE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
REPOINT_SQL = "core/fct_sales_event_repoint.sql"


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
    root = settings.landing_dir / "catalogues"
    for path, sha in new_files(con, settings, "catalogues", "*", batch_id=batch_id, summary=summary):
        supplier = path.relative_to(root).parts[0]
        if suppliers is None or supplier in suppliers:
            files.append((path, sha, supplier, contracts.get(supplier)))
    if not files:
        return summary
    if progress:
        progress("catalogues: reading", 0, len(files))
    batch = read_batch(_matching(files), settings.landing_dir, "catalogues")
    _reject_bad_names(batch, files, settings)
    if progress:
        progress("catalogues: validating", len(files), len(files))
    frame = batch.frame
    if frame.height == 0:
        finish(con, batch, "catalogues", batch_id, summary, frame, frame, frame)
        return summary
    typed = canonical(frame, {s: c for s, c in contracts.items()})
    checked = _validate(con, typed)
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
    summary.notes.append(f"product history rebuilt for {len(affected)} supplier(s)")
    summary.notes += rebuild_products(con, settings, affected, batch_id)
    return summary


def rebuild_products(
    con: duckdb.DuckDBPyConnection, settings: Settings, supplier_ids: list[str], batch_id: str | None = None
) -> list[str]:
    """Recompute the SCD2 history of these suppliers from all their snapshots, then re-point their facts.

    Facts follow the version valid on their order date (``sql/core/fct_sales_event_repoint.sql``):
    a late, corrected or retracted snapshot re-slices the history and the facts move with it; an
    order line left without a version is held out of core (``unknown_product``) until one covers
    it again. When any fact changed, the marts are invalidated (the next build is full).
    Returns notes for the load summary; temp table ``repoint_counts`` holds the counts.
    """
    if not supplier_ids:
        return []
    con.execute(
        "CREATE OR REPLACE TEMP TABLE affected_suppliers AS SELECT unnest(?::VARCHAR[]) AS supplier_id",
        [supplier_ids],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rp_before AS SELECT * FROM core.dim_product "
        "WHERE supplier_id IN (SELECT supplier_id FROM affected_suppliers)"
    )
    con.execute((settings.sql_dir / REBUILD_SQL).read_text(encoding="utf-8"))
    con.execute("SET VARIABLE batch_id = ?", [batch_id or new_batch_id()])
    con.execute((settings.sql_dir / REPOINT_SQL).read_text(encoding="utf-8"))
    con.execute("DROP TABLE affected_suppliers")
    con.execute("DROP TABLE rp_before")
    ((restored, repointed, held, eur_held, eur_restored),) = con.execute("SELECT * FROM repoint_counts").fetchall()
    notes = []
    if repointed:
        notes.append(f"{repointed} fact(s) re-pointed to the product versions valid on their order dates")
    if held:
        notes.append(
            f"{held} fact(s) (EUR {eur_held}) held out of core: no product version valid on their order date "
            "any more (unknown_product, in core.fct_sales_event_held until a snapshot covers it)"
        )
    if restored:
        notes.append(f"{restored} held fact(s) (EUR {eur_restored}) back in core: a product version covers them again")
    if repointed or held or restored:
        from pipelines.marts import invalidate

        invalidate(con)
    return notes


def _matching(files: list) -> list:
    """Files whose names fit their contract's glob and carry a date (others are rejected later)."""
    return [f for f in files if f[3] is None or (Path(f[0]).match(f[3].file_glob) and DATE_NAME.match(f[0].stem))]


def _reject_bad_names(batch: Batch, files: list, settings: Settings) -> None:
    for path, sha, supplier, contract in files:
        if contract is not None and not (path.match(contract.file_glob) and DATE_NAME.match(path.stem)):
            reject(
                batch,
                path,
                sha,
                settings.landing_dir,
                "catalogues",
                supplier,
                contract,
                f"{path.name}: a catalogue file must be named <YYYY-MM-DD>{contract.file_glob.lstrip('*')} "
                f"(contract {contract.name})",
                None,
                "bad_file_name",
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
