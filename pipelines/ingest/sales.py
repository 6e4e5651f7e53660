"""Sales events (``sales/<channel>/<YYYY-MM-DD>/<file>``) into ``core.fct_sales_event``.

Each channel's contract says how its files mark cancellations and returns and in which time
zone its timestamps are. Rows are made canonical in Polars (vectorised), then conformed in
DuckDB SQL (``sql/core/fct_sales_event_load.sql``): duplicates, point-in-time product
versions, ECB rates and exact EUR values, cancellations and returns, late data.

Row rules (reason codes): ``missing_field``, ``bad_timestamp``, ``bad_number``,
``unknown_event_type``, ``non_positive_quantity``, ``unknown_currency``, ``unknown_country``
(Polars); ``event_id_conflict``, ``unknown_product``, ``fx_rate_missing``, ``orphan_reference``
(pending: loaded automatically when the order line arrives), ``already_cancelled``,
``already_returned``, ``return_exceeds_quantity`` (SQL). Exact repeats of loaded events are
duplicates. Files are processed in chunks (date order), so memory stays bounded.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.contracts import CANONICAL_FIELDS, Contract, channel_contracts, load_contracts
from pipelines.ingest.batch import Batch, finish, read_batch
from pipelines.ingest.discovery import new_files
from pipelines.ledger import FeedSummary, record_amounts
from pipelines.readers import parse_decimal
from pipelines.runner import ProgressHook
from pipelines.settings import Settings
from pipelines.validation import first_failure
from pipelines.warehouse import transaction

# A chunk (one transaction) holds at most this many files and about this many rows, so memory
# stays bounded however large the day files grow (100M order lines: up to 300k lines a file).
# Rows are counted from Parquet metadata and estimated for text at TEXT_BYTES_PER_ROW (an
# overestimate: JSON lines run ~270 bytes, CSV ~130); bytes alone would let 5M Parquet rows in.
CHUNK_FILES = 400
CHUNK_ROWS = 1_000_000
TEXT_BYTES_PER_ROW = 100
LOAD_SQL = "core/fct_sales_event_load.sql"
CANONICAL = ["channel", *CANONICAL_FIELDS["sales"], "source_file", "line_number", "sha256"]


def load_sales(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    channels: list[str] | None = None,
    progress: ProgressHook | None = None,
) -> FeedSummary:
    """Load new sales files of every (or the given) channel; ``eur_loaded`` is the net EUR added."""
    summary = FeedSummary(feed="sales")
    contracts = channel_contracts(load_contracts(settings.contracts_dir, "sales"))
    work = []
    for channel, contract in sorted(contracts.items()):
        if channels is None or channel in channels:
            files = new_files(con, settings, f"sales/{channel}", contract.file_glob, batch_id=batch_id, summary=summary)
            work += [(channel, contract, chunk) for chunk in chunks(files, parquet=contract.format == "parquet")]
    total = sum(len(files) for *_, files in work)
    done = 0
    before = _net_eur(con, batch_id)
    for channel, contract, files in work:
        with transaction(con):  # a chunk is all or nothing
            _load_chunk(con, settings, batch_id, channel, contract, files, summary)
        done += len(files)
        if progress:
            progress(f"sales: {channel}", done, total)
    summary.eur_loaded = _net_eur(con, batch_id) - before
    return summary


def chunks(files: list[tuple[Path, str]], parquet: bool = False) -> list[list[tuple[Path, str]]]:
    """Consecutive groups of files, each at most ``CHUNK_FILES`` files and ``CHUNK_ROWS`` rows (or one file)."""
    out: list[list[tuple[Path, str]]] = []
    rows = 0
    for item in files:
        estimate = _rows(item[0], parquet)
        if not out or len(out[-1]) >= CHUNK_FILES or (rows + estimate > CHUNK_ROWS and out[-1]):
            out.append([])
            rows = 0
        out[-1].append(item)
        rows += estimate
    return out


def _rows(path: Path, parquet: bool) -> int:
    """Rows of a landed file: exact for Parquet (its footer), estimated from the size for text."""
    if parquet:
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (OSError, pa.ArrowException):  # unreadable: the reader rejects it with a clear message
            return 0
    return path.stat().st_size // TEXT_BYTES_PER_ROW + 1


def _net_eur(con: duckdb.DuckDBPyConnection, batch_id: str):
    return con.execute(
        "SELECT coalesce(sum(eur_amount), 0) FROM core.fct_sales_event WHERE batch_id = ?", [batch_id]
    ).fetchall()[0][0]


def _load_chunk(
    con,
    settings: Settings,
    batch_id: str,
    channel: str,
    contract: Contract,
    files: list,
    summary: FeedSummary,
) -> None:
    batch = read_batch([(p, sha, channel, contract) for p, sha in files], settings.landing_dir, "sales")
    if batch.frame.height == 0:
        finish(con, batch, "sales", batch_id, summary, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
        return
    countries = con.sql("SELECT country_code FROM core.dim_country").pl()["country_code"]
    currencies = con.sql("SELECT currency_code FROM core.dim_currency").pl()["currency_code"]
    rows = checked(canonical(batch.frame, contract, channel), countries, currencies)
    valid = rows.filter(pl.col("reason").is_null())
    con.register("batch_events", valid.select(CANONICAL).to_arrow())
    con.execute("SET VARIABLE channel = ?", [channel])
    con.execute("SET VARIABLE batch_id = ?", [batch_id])
    con.execute("SET VARIABLE lookback = ?", [settings.fx_lookback_days])
    con.execute((settings.sql_dir / LOAD_SQL).read_text(encoding="utf-8"))
    con.unregister("batch_events")
    decided = con.sql("SELECT * FROM dispositions").pl()
    _finish_chunk(con, batch, batch_id, summary, rows, decided)


def _finish_chunk(
    con, batch: Batch, batch_id: str, summary: FeedSummary, rows: pl.DataFrame, decided: pl.DataFrame
) -> None:
    keys = ["sha256", "line_number"]
    early = rows.filter(pl.col("reason").is_not_null()).with_columns(
        status=pl.lit("quarantined"),
        detail=pl.lit(None, dtype=pl.String),
        quarantine_id=pl.lit(None, pl.Int64),
    )
    late = decided.join(rows.select(*keys, "source_file", "source", "raw_row", "amount", "currency"), on=keys)
    columns = [*keys, "status", "reason", "column_name", "detail", "quarantine_id"]
    columns += ["source_file", "source", "raw_row", "amount", "currency"]
    allrows = pl.concat([early.select(columns), late.select(columns)], how="vertical_relaxed")
    bad = allrows.filter(pl.col("status") == "quarantined")
    with_id = bad.filter(pl.col("quarantine_id").is_not_null())
    if with_id.height:  # orphans: their ids link raw.pending_sales_events
        con.register(
            "_orphans",
            with_id.select(
                "quarantine_id",
                "sha256",
                pl.col("source_file").alias("path"),
                pl.lit("sales").alias("feed"),
                "source",
                "line_number",
                "column_name",
                "reason",
                "detail",
                "raw_row",
                batch_id=pl.lit(batch_id),
            ).to_arrow(),
        )
        con.execute("INSERT INTO audit.quarantine BY NAME SELECT * FROM _orphans")
        con.unregister("_orphans")
    record_amounts(con, _amounts(allrows))
    finish(
        con,
        batch,
        "sales",
        batch_id,
        summary,
        allrows.filter(pl.col("status") == "loaded"),
        bad.filter(pl.col("quarantine_id").is_null()).drop("quarantine_id"),
        allrows.filter(pl.col("status") == "duplicate"),
        extra_quarantined=with_id,
    )


def canonical(frame: pl.DataFrame, contract: Contract, channel: str) -> pl.DataFrame:
    """Contract text columns -> canonical typed columns (plus the texts needed for rule checks)."""
    for col in (
        "discount",
        "supplier_id",
        "supplier_sku",
        "unit_price",
        "currency",
        "ship_to_country",
        "ship_to_region",
        "event_type",
    ):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    qty = pl.col("quantity").str.strip_chars().cast(pl.Int64, strict=False)
    mode = contract.event_types["mode"]
    if mode == "column":
        values = {str(k): str(v) for k, v in contract.event_types["values"].items()}
        kind = pl.col("event_type").str.strip_chars().replace_strict(values, default=None, return_dtype=pl.String)
    elif mode == "negative_quantity":
        kind = pl.when(qty < 0).then(pl.lit(contract.event_types["negative_as"])).otherwise(pl.lit("order"))
        qty = qty.abs()
    else:
        kind = pl.lit(None, dtype=pl.String)
        for prefix, value in contract.event_types["prefixes"].items():
            kind = pl.when(pl.col("event_id").str.starts_with(prefix)).then(pl.lit(value)).otherwise(kind)
    return frame.with_columns(
        channel=pl.lit(channel),
        event_type=kind,
        quantity_text=pl.col("quantity"),
        quantity=qty,
        event_ts_text=pl.col("event_ts"),
        event_ts=_timestamps(contract),
        unit_price_text=pl.col("unit_price"),
        unit_price=parse_decimal(pl.col("unit_price"), contract.decimal, 4),
        discount_text=pl.col("discount"),
        discount=parse_decimal(pl.col("discount"), contract.decimal, 4).fill_null(
            pl.when(pl.col("discount").is_null()).then(pl.lit(0).cast(pl.Decimal(18, 4)))
        ),
        currency=pl.col("currency").str.strip_chars().str.to_uppercase(),
        ship_to_country=pl.col("ship_to_country").str.strip_chars().str.to_uppercase(),
        **{c: pl.col(c).str.strip_chars() for c in ("event_id", "order_id", "line_id", "supplier_id", "supplier_sku")},
    ).with_columns(
        amount=(pl.col("quantity") * pl.col("unit_price") - pl.col("discount").fill_null(0)).cast(pl.Decimal(38, 4)),
    )


def _timestamps(contract: Contract) -> pl.Expr:
    """Text -> naive UTC datetime per the contract (offset in the value, or the contract's zone)."""
    text = pl.col("event_ts").str.strip_chars()
    fmt = contract.timestamp_format or "native"
    zoned_fmt = "%Y-%m-%dT%H:%M:%S%.f%z" if fmt == "native" else fmt
    naive_fmt = "%Y-%m-%dT%H:%M:%S%.f" if fmt == "native" else fmt
    if "%z" in zoned_fmt:
        zoned = text.str.to_datetime(zoned_fmt, strict=False, time_zone="UTC", time_unit="us")
    else:
        zoned = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    local = (
        text.str.to_datetime(naive_fmt, strict=False, time_unit="us")
        .dt.replace_time_zone(contract.timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    if "%z" in fmt:
        local = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    return pl.coalesce(zoned, local).dt.replace_time_zone(None)


def checked(rows: pl.DataFrame, countries: pl.Series, currencies: pl.Series) -> pl.DataFrame:
    """Add ``reason``/``column_name`` for the first rule each row breaks (null when it passes)."""
    is_order = pl.col("event_type") == "order"

    def present(col: str) -> pl.Expr:
        return pl.col(col).is_not_null() & (pl.col(col) != "")

    reason, column = first_failure(
        [
            ("missing_field", "event_id", present("event_id")),
            ("missing_field", "order_id", present("order_id")),
            ("missing_field", "line_id", present("line_id")),
            ("missing_field", "event_ts", present("event_ts_text")),
            ("missing_field", "quantity", present("quantity_text")),
            ("bad_timestamp", "event_ts", pl.col("event_ts").is_not_null()),
            ("bad_number", "quantity", pl.col("quantity").is_not_null()),
            ("unknown_event_type", "event_type", pl.col("event_type").is_not_null()),
            ("non_positive_quantity", "quantity", pl.col("quantity") > 0),
            ("missing_field", "supplier_sku", ~is_order | (present("supplier_id") & present("supplier_sku"))),
            ("missing_field", "unit_price", ~is_order | present("unit_price_text")),
            ("bad_number", "unit_price", ~is_order | pl.col("unit_price").is_not_null()),
            ("bad_number", "discount", pl.col("discount").is_not_null()),
            ("missing_field", "currency", ~is_order | present("currency")),
            ("unknown_currency", "currency", ~is_order | pl.col("currency").is_in(currencies.implode())),
            ("missing_field", "ship_to_country", ~is_order | present("ship_to_country")),
            (
                "unknown_country",
                "ship_to_country",
                ~is_order | pl.col("ship_to_country").is_in(countries.implode()),
            ),
        ]
    )
    return rows.with_columns(reason=reason, column_name=column)


def _amounts(rows: pl.DataFrame) -> pl.DataFrame:
    """Money per file and currency (quantity x price - discount as landed), split like the rows."""
    amount = pl.col("amount").fill_null(0).cast(pl.Decimal(38, 4))
    zero = pl.lit(0).cast(pl.Decimal(38, 4))

    def part(status: str) -> pl.Expr:
        return pl.when(pl.col("status") == status).then(amount).otherwise(zero).sum()

    return (
        rows.with_columns(pl.col("currency").fill_null("???"))
        .group_by("sha256", "currency")
        .agg(
            amount_read=amount.sum(),
            amount_loaded=part("loaded"),
            amount_quarantined=part("quarantined"),
            amount_duplicate=part("duplicate"),
        )
    )
