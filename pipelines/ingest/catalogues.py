"""Supplier catalogues (``catalogues/<supplier_id>/<YYYY-MM-DD>.<ext>``) into raw and the SCD2 dimension.

Each file is a full catalogue as of its date, read through the contract that lists its
supplier (numbers in its convention, ceilings in its ``limits``). Row rules (reason codes):
``missing_field``, ``text_too_long`` and ``control_characters`` (SKU, GTIN, title, brand,
category, HS code, origin, currency), ``bad_number`` (price or weight not a number in the
contract's convention, too many decimals, or beyond the column type), ``gtin_check_digit``,
``hs_code_unknown`` (not a 6-digit HS 2022 subheading), ``unknown_country``,
``unknown_currency``, ``price_not_positive``, ``price_absurd`` (over ``limits.max_unit_price``),
``duplicate_sku`` (one SKU with different values in one snapshot; exact repeats count as
duplicates).

A file is rejected whole, and the other files load, when it lies outside the layout
(``bad_layout``), its name is not a real, plausible date in ASCII digits (``bad_file_name``), its
supplier has no contract (``no_contract``), it is a link out of the landing root
(``outside_landing_root``), it holds no rows (``empty_file``), it cannot be read whole (the
reader's codes: ``contract_violation``, ``truncated_file``, ``unreadable_file``, ...) or its
values break the typing step (``load_error``). A new latest snapshot that would delist more than
``limits.max_delist_share`` of its supplier's products is held for review
(``implausible_delisting``) until ``xborder quality --accept <path>`` releases it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import TEXT_FIELDS, Contract, load_contracts, supplier_contracts
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
from pipelines.ledger import FeedSummary, insert_frame, new_batch_id, record_amounts
from pipelines.readers import parse_decimal
from pipelines.runner import ProgressHook
from pipelines.settings import Settings
from pipelines.validation import first_failure, gtin_valid, limit_columns, text_rules

WEIGHT = pl.Decimal(12, 4)  # raw.catalogue_items.unit_weight_kg
HELD_REASON = "implausible_delisting"
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
    root = settings.landing_dir.resolve() / "catalogues"
    for path, sha in new_files(con, settings, "catalogues", "*", batch_id=batch_id, summary=summary):
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
    held = hold_delistings(con, batch, checked, contracts)
    if held:
        summary.notes.append(f"{len(held)} snapshot(s) held for review ({HELD_REASON}): {', '.join(held.values())}")
        on_hold = pl.col("sha256").is_in(list(held))
        record_amounts(con, _amounts(checked.filter(on_hold).with_columns(reason=pl.lit(HELD_REASON))))
        checked = checked.filter(~on_hold)
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


def hold_delistings(
    con: duckdb.DuckDBPyConnection, batch: Batch, checked: pl.DataFrame, contracts: dict
) -> dict[str, str]:
    """Hold the new snapshots that would delist an implausible share of their supplier's products.

    A new file that is its supplier's latest snapshot (dated on or after the latest loaded one) and
    lacks more than ``limits.max_delist_share`` of the SKUs of the previous latest snapshot (when
    that had at least ``limits.delist_min_products``) is held: ledger status ``held`` (its rows
    counted as quarantined) and one quarantine row ``implausible_delisting``. Files accepted
    after review (``audit.file_acceptance``) are not checked again. Returns sha256 -> held path.
    """
    files = checked.select("source", "sha256", "source_file", "snapshot_date").unique()
    if files.height == 0:
        return {}
    empty = pl.Series("supplier_sku", [], pl.String)
    valid = checked.filter(pl.col("reason").is_null()).select("sha256", "supplier_sku").unique()
    listed = {sha: f["supplier_sku"] for (sha,), f in valid.partition_by("sha256", as_dict=True).items()}
    latest = _latest_snapshots(con, files["source"].unique().to_list())
    previous = {
        supplier: (f["snapshot_date"][0], f["supplier_sku"])
        for (supplier,), f in latest.partition_by("supplier_id", as_dict=True).items()
    }
    accepted = {
        sha
        for (sha,) in con.execute(
            "SELECT sha256 FROM audit.file_acceptance WHERE list_contains(?, sha256)", [files["sha256"].to_list()]
        ).fetchall()
    }
    held: dict[str, str] = {}
    ordered = files.drop_nulls("snapshot_date").sort("snapshot_date", "source_file")
    for source, sha, path, snap in ordered.iter_rows():  # one step per file, in date order
        day, skus = previous.get(source, (None, empty))
        if day is not None and snap < day:
            continue  # a late snapshot: not the supplier's latest, it delists nothing current
        now = listed.get(sha, empty)
        limits = contracts[source].limits
        missing = skus.filter(~skus.is_in(now.implode())).len()
        judged = sha not in accepted and skus.len() >= max(limits.delist_min_products, 1)
        if judged and Decimal(missing) > limits.max_delist_share * skus.len():
            _hold(batch, sha, _delist_message(path, source, day, missing, skus.len(), contracts[source]))
            held[sha] = path
        else:
            previous[source] = (snap, now)
    return held


def _latest_snapshots(con: duckdb.DuckDBPyConnection, suppliers: list[str]) -> pl.DataFrame:
    """supplier_id, snapshot_date, supplier_sku of each supplier's latest loaded snapshot (the file the
    product history uses for that date: the latest delivered, as in ``dim_product_rebuild.sql``)."""
    return con.sql(
        """WITH files AS (
               SELECT DISTINCT supplier_id, snapshot_date, source_file, batch_id FROM raw.catalogue_items
               WHERE list_contains(?, supplier_id)),
           latest AS (
               SELECT supplier_id, snapshot_date, source_file FROM files
               QUALIFY row_number() OVER (
                   PARTITION BY supplier_id ORDER BY snapshot_date DESC, batch_id || source_file DESC) = 1)
           SELECT DISTINCT r.supplier_id, r.snapshot_date, r.supplier_sku
           FROM raw.catalogue_items r JOIN latest USING (supplier_id, snapshot_date, source_file)""",
        params=[suppliers],
    ).pl()


def _delist_message(path: str, source: str, day: date | None, missing: int, total: int, contract: Contract) -> str:
    share = Decimal(missing) / total
    return (
        f"{path}: would delist {missing} of the {total} products of supplier {source}'s latest snapshot "
        f"({day}): {share:.1%} > limits.max_delist_share {contract.limits.max_delist_share:.0%} (contract "
        f"{contract.name}); held for review: a truncated or partial file? Land the complete snapshot, or if it "
        f"is right: xborder quality --accept {path} --note '...'"
    )


def _hold(batch: Batch, sha: str, message: str) -> None:
    """Turn a read file into a held one: ledger status 'held', every row quarantined, one quarantine row."""
    outcome = batch.files.pop(sha)
    outcome.status = "held"
    outcome.rows_quarantined = outcome.rows_read
    outcome.message = message
    batch.rejected.append(outcome)
    batch.rejections.append(
        {
            "sha256": sha,
            "path": outcome.path,
            "feed": outcome.feed,
            "source": outcome.source,
            "line_number": None,
            "column_name": "supplier_sku",
            "reason": HELD_REASON,
            "detail": message,
            "raw_row": None,
        }
    )


def rebuild_products(
    con: duckdb.DuckDBPyConnection, settings: Settings, supplier_ids: list[str], batch_id: str | None = None
) -> list[str]:
    """Recompute the SCD2 history of these suppliers from all their snapshots, then re-point their facts.

    Facts follow the version valid on their order date (``pipelines/resources/sql/core/fct_sales_event_repoint.sql``):
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
    _, notes = repoint_facts(
        con,
        settings,
        batch_id or new_batch_id(),
        repointed_to="the product versions valid on their order dates",
        held_because="no product version valid on their order date any more (unknown_product, in "
        "core.fct_sales_event_held until a snapshot covers it)",
        restored_because="a product version covers them again",
    )
    con.execute("DROP TABLE affected_suppliers")
    con.execute("DROP TABLE rp_before")
    return notes


def repoint_facts(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    *,
    repointed_to: str,
    held_because: str,
    restored_because: str,
) -> tuple[int, list[str]]:
    """Facts of the suppliers in temp table ``affected_suppliers`` follow ``core.dim_product`` as it is now.

    Temp table ``rp_before`` holds those suppliers' versions before the change
    (``pipelines/resources/sql/core/fct_sales_event_repoint.sql``). The marts are invalidated when any fact changed.
    Returns the facts re-pointed and notes for the load summary, worded by the caller's reasons.
    """
    con.execute("SET VARIABLE batch_id = ?", [batch_id])
    con.execute((settings.sql_dir / REPOINT_SQL).read_text(encoding="utf-8"))
    ((restored, repointed, held, eur_held, eur_restored),) = con.execute("SELECT * FROM repoint_counts").fetchall()
    notes = []
    if repointed:
        notes.append(f"{repointed} fact(s) re-pointed to {repointed_to}")
    if held:
        notes.append(f"{held} fact(s) (EUR {eur_held}) held out of core: {held_because}")
    if restored:
        notes.append(f"{restored} held fact(s) (EUR {eur_restored}) back in core: {restored_because}")
    if repointed or held or restored:
        from pipelines.marts import invalidate

        invalidate(con)
    return repointed, notes


def _supplier_of(name: str) -> str | None:
    """The supplier folder of a landed name (``catalogues/<supplier>/...``), None for a file beside them."""
    parts = name.split("/")
    return parts[1] if len(parts) > 2 else None


def _name_problem(path: Path, root: Path, contract: Contract | None) -> tuple[str, str] | None:
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
    """Text -> typed canonical columns, per the ``source``'s contract (numbers, units, HS format, limits)."""
    parts = []
    for supplier, rows in frame.partition_by("source", as_dict=True).items():
        c = contracts[supplier[0]]
        has_weight = "unit_weight" in rows.columns
        weight = parse_decimal(pl.col("unit_weight"), c.decimal, 6, c.thousands) if has_weight else None
        parts.append(
            rows.with_columns(
                unit_price_text=pl.col("unit_price"),
                unit_price=parse_decimal(pl.col("unit_price"), c.decimal, 4, c.thousands),
                # beyond DECIMAL(12,4) kg: null, so bad_number
                unit_weight_kg=(weight * pl.lit(Decimal(c.weight_factor))).round(4).cast(WEIGHT, strict=False)
                if weight is not None
                else pl.lit(None, dtype=WEIGHT),
                weight_text=pl.col("unit_weight") if has_weight else pl.lit(None, dtype=pl.String),
                **limit_columns(c.limits, TEXT_FIELDS["catalogues"]),
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

    Pure: the reference codes are passed in (from the warehouse on load, from ``pipelines/resources/reference/``
    in ``xborder contract check``); ceilings come from the ``limit_*`` columns of ``canonical``.
    Duplicates are judged per file (``sha256``).
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
            *text_rules(TEXT_FIELDS["catalogues"]),
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
            ("price_absurd", "unit_price", pl.col("unit_price") <= pl.col("limit_unit_price")),
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
