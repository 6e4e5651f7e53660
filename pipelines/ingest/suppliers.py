"""The supplier master (``suppliers/``) into ``raw.suppliers`` and ``core.dim_supplier`` (type 1).

Rules (reason codes): ``missing_field``, ``unknown_country`` (ISO 3166), ``vat_id_format``
(the country's VAT shape), ``unknown_currency`` (ISO 4217), ``duplicate_supplier`` (an id twice
with different values in one file; identical repeats are duplicates).
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.contracts import load_contracts
from pipelines.ingest.batch import finish, outside_root, read_batch, reject_outside
from pipelines.ingest.discovery import new_files
from pipelines.ledger import FeedSummary, insert_frame
from pipelines.settings import Settings
from pipelines.validation import first_failure, vat_valid

FIELDS = ["supplier_id", "legal_name", "country", "vat_id", "currency"]


def load_suppliers(con: duckdb.DuckDBPyConnection, settings: Settings, batch_id: str) -> FeedSummary:
    """Load new supplier master files; upsert the dimension."""
    summary = FeedSummary(feed="suppliers")
    files = []
    for contract in load_contracts(settings.contracts_dir, "suppliers"):
        found = new_files(con, settings, "suppliers", contract.file_glob, batch_id=batch_id, summary=summary)
        files += [(p, sha, None, contract) for p, sha in found]
    outside = outside_root(con, settings.landing_dir, "suppliers")  # links out of the root: rejected, never read
    if not files and not outside:
        return summary
    batch = read_batch(files, settings.landing_dir, "suppliers")
    reject_outside(batch, outside, settings.landing_dir, "suppliers", lambda _: None)
    frame = batch.frame
    if frame.height == 0:
        finish(con, batch, "suppliers", batch_id, summary, frame, frame, frame)
        return summary
    countries = con.sql("SELECT country_code FROM core.dim_country").pl()["country_code"]
    currencies = con.sql("SELECT currency_code FROM core.dim_currency").pl()["currency_code"]
    frame = checked(frame, countries, currencies)
    bad = frame.filter(pl.col("reason").is_not_null())
    dup = frame.filter(pl.col("reason").is_null() & pl.col("duplicate"))
    good = frame.filter(pl.col("reason").is_null() & ~pl.col("duplicate"))
    insert_frame(con, "raw.suppliers", good.select(*FIELDS, "source_file", "line_number", batch_id=pl.lit(batch_id)))
    con.register("_suppliers", good.select(*FIELDS, "source_file").to_arrow())
    con.execute(
        "INSERT OR REPLACE INTO core.dim_supplier BY NAME "
        "SELECT *, current_localtimestamp() AS updated_at FROM _suppliers"
    )
    con.unregister("_suppliers")
    finish(con, batch, "suppliers", batch_id, summary, good, bad, dup)
    return summary


def checked(frame: pl.DataFrame, countries: pl.Series, currencies: pl.Series) -> pl.DataFrame:
    """Trim and upper-case the fields, add ``reason``/``column_name`` (first rule broken) and ``duplicate``.

    Pure: the reference codes are passed in (from the warehouse on load, from ``pipelines/resources/reference/``
    in ``xborder contract check``). Duplicates are judged per file (``sha256``).
    """
    countries_set, currencies_set = set(countries), set(currencies)
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in FIELDS).with_columns(
        pl.col("country", "currency", "vat_id").str.to_uppercase()
    )
    reason, column = first_failure(
        [
            ("missing_field", "supplier_id", pl.col("supplier_id").is_not_null()),
            ("missing_field", "legal_name", pl.col("legal_name").is_not_null()),
            ("unknown_country", "country", pl.col("country").is_in(countries_set)),
            ("vat_id_format", "vat_id", vat_valid("vat_id", "country")),
            ("unknown_currency", "currency", pl.col("currency").is_in(currencies_set)),
        ]
    )
    repeat = pl.int_range(pl.len()).over("sha256", *FIELDS) > 0
    conflicting = pl.struct(FIELDS[1:]).n_unique().over("sha256", "supplier_id") > 1
    return frame.with_columns(reason=reason, column_name=column).with_columns(
        reason=pl.when(pl.col("reason").is_null() & conflicting).then(pl.lit("duplicate_supplier")).otherwise("reason"),
        column_name=pl.when(pl.col("reason").is_null() & conflicting)
        .then(pl.lit("supplier_id"))
        .otherwise("column_name"),
        duplicate=~conflicting & repeat,
    )
