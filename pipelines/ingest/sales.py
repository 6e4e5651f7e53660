"""Sales events (``sales/<channel>/<YYYY-MM-DD>/<file>``) into ``core.fct_sales_event``.

Each channel's contract says how its files mark cancellations and returns, in which time zone
its timestamps are, its numbers' convention (decimal mark, thousands separator) and its
plausibility ceilings (``limits``). Rows are made canonical in Polars (vectorised), then
conformed in DuckDB SQL (``pipelines/resources/sql/core/fct_sales_event_load.sql``): duplicates, point-in-time
product versions, ECB rates and exact EUR values, cancellations and returns, late data.

Row rules (reason codes), Polars: ``missing_field``, ``text_too_long`` and ``control_characters``
(ids, SKU, currency, country, region), ``bad_timestamp``, ``bad_number`` (not a number in the
contract's convention, or beyond the warehouse types: quantity INTEGER, money DECIMAL(18,4)),
``unknown_event_type``, ``non_positive_quantity``, ``quantity_absurd`` (> ``limits.max_quantity``),
and for orders and standalone credits ``price_not_positive``, ``price_absurd`` (> ``limits.max_unit_price``),
``discount_negative``, ``discount_exceeds_value`` (more than quantity x unit price),
``line_value_absurd`` (quantity x unit price - discount > ``limits.max_line_value``),
``unknown_currency``, ``unknown_country``. Cancels, returns and credits take the absolute quantity
(their event type carries the direction). SQL: ``event_id_conflict``, and the waiting ones
(``raw.pending_sales_events``, loaded automatically when what they need lands, final after the
contract's ``waiting.max_days``): ``unknown_product``, ``fx_rate_missing`` (orders and credits),
``orphan_reference`` (cancels and returns before their order line); ``already_cancelled``,
``already_returned``, ``return_exceeds_quantity``. Exact repeats of loaded or waiting events are
duplicates. Files are processed in chunks (date order), so memory stays bounded; the next chunk
is read and checked (Polars) while one is conformed (DuckDB).

A file is rejected whole, and the channel's other files load, when it lies outside the layout
(``bad_layout``), its date folder is not a real, plausible date in ASCII digits
(``bad_file_name``), it is a link out of the landing root (``outside_landing_root``), it cannot be
read whole (the reader's codes: ``contract_violation``, ``truncated_file``, ``unreadable_file``,
...) or the warehouse refuses its values (``load_error``: the chunk is retried file by file).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.contracts import CANONICAL_FIELDS, TEXT_FIELDS, Contract, channel_contracts, load_contracts
from pipelines.ingest.batch import (
    LOAD_ERRORS,
    Batch,
    drop_file,
    finish,
    load_error_message,
    outside_root,
    read_batch,
    reject,
    reject_outside,
)
from pipelines.ingest.channel_products import ensure_products
from pipelines.ingest.discovery import new_files
from pipelines.landing import date_name_problem, relative
from pipelines.ledger import FeedSummary, record_amounts
from pipelines.readers import parse_decimal, raw_json
from pipelines.runner import ProgressHook
from pipelines.settings import Settings
from pipelines.validation import first_failure, limit_columns, text_rules
from pipelines.warehouse import transaction

# A chunk (one transaction) holds at most this many files and about this many rows, so memory
# stays bounded however large the day files grow (100M order lines: up to 300k lines a file),
# while each chunk's fixed costs (the history probes, the commit) are paid for many rows; two
# chunks are in memory at once (one loading, the next being read). Rows are counted from
# Parquet metadata and estimated for text from the channel's bytes per line (the lines of its
# first and last file, :func:`bytes_per_row`), else at TEXT_BYTES_PER_ROW (an overestimate: JSON
# lines run ~270 bytes, CSV ~130); bytes alone would let 5M Parquet rows in.
CHUNK_FILES = 1000
CHUNK_ROWS = 1_000_000
TEXT_BYTES_PER_ROW = 100
LINE_FORMATS = ("csv", "jsonl")  # a row per line
LOAD_SQL = "core/fct_sales_event_load.sql"
FACT_INSERT = "INSERT INTO core.fct_sales_event "  # the load SQL's statements that write facts
CANONICAL = ["channel", *CANONICAL_FIELDS["sales"], "source_file", "line_number", "sha256"]


def load_sales(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    channels: list[str] | None = None,
    progress: ProgressHook | None = None,
) -> FeedSummary:
    """Load new sales files of every (or the given) channel; ``eur_loaded`` is the net EUR added.

    Files outside ``sales/<channel>/<YYYY-MM-DD>/<file>`` and links out of the landing root are
    rejected first; a chunk the warehouse refuses is retried file by file (:func:`_load_guarded`).
    """
    summary = FeedSummary(feed="sales")
    contracts = channel_contracts(load_contracts(settings.contracts_dir, "sales"))
    work = []
    for channel, contract in sorted(contracts.items()):
        if channels is None or channel in channels:
            files = new_files(con, settings, f"sales/{channel}", contract.file_glob, batch_id=batch_id, summary=summary)
            files = _reject_layout(con, settings, batch_id, channel, contract, files, summary)
            parquet = contract.format == "parquet"
            density = bytes_per_row(files) if contract.format in LINE_FORMATS else TEXT_BYTES_PER_ROW
            work += [(channel, contract, chunk) for chunk in chunks(files, parquet, density)]
    total = sum(len(files) for *_, files in work)
    done = 0
    before = _net_eur(con, batch_id)
    codes = _codes(con)
    with ThreadPoolExecutor(max_workers=1) as ahead:  # reads and checks the next chunk while one loads

        def submit(i: int) -> Future[Prepared] | None:
            return ahead.submit(prepare, settings, *work[i], codes) if i < len(work) else None

        upcoming = submit(0)
        for i, (channel, contract, files) in enumerate(work):
            current, upcoming = upcoming, submit(i + 1)
            assert current is not None
            _load_guarded(con, settings, batch_id, channel, contract, files, summary, codes, current.result)
            done += len(files)
            if progress:
                progress(f"sales: {channel}", done, total)
    summary.eur_loaded = _net_eur(con, batch_id) - before
    return summary


def _layout_problem(path: Path, settings: Settings, channel: str) -> tuple[str, str] | None:
    """(reason, why) when a sales file is not ``sales/<channel>/<YYYY-MM-DD>/<file>``."""
    parts = path.relative_to(settings.landing_dir.resolve() / "sales" / channel).parts
    if len(parts) != 2:
        return "bad_layout", f"a sales file must be sales/{channel}/<YYYY-MM-DD>/<file>; rule: layout"
    problem = date_name_problem(parts[0])
    if problem:
        return "bad_file_name", f"{problem}; the folder of a sales file is its date; rule: file_name"
    return None


def _reject_layout(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    channel: str,
    contract: Contract,
    files: list[tuple[Path, str]],
    summary: FeedSummary,
) -> list[tuple[Path, str]]:
    """Reject (in one transaction) the channel's files outside the layout and its links out of the root.

    Returns the files to load.
    """
    root = settings.landing_dir
    batch = Batch(pl.DataFrame(), {})
    keep = []
    for path, sha in files:
        problem = _layout_problem(path, settings, channel)
        if problem is None:
            keep.append((path, sha))
            continue
        reason, why = problem
        reject(batch, path, sha, root, "sales", channel, contract, f"{relative(root, path)}: {why}", None, reason)
    reject_outside(batch, outside_root(con, root, f"sales/{channel}"), root, "sales", lambda _: channel)
    if batch.rejected:
        with transaction(con):
            finish(con, batch, "sales", batch_id, summary, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
    return keep


def chunks(
    files: list[tuple[Path, str]], parquet: bool = False, text_bytes_per_row: int | None = None
) -> list[list[tuple[Path, str]]]:
    """Consecutive groups of files, each at most ``CHUNK_FILES`` files and ``CHUNK_ROWS`` rows (or one file).

    Text files count ``text_bytes_per_row`` bytes a row (default ``TEXT_BYTES_PER_ROW``).
    """
    out: list[list[tuple[Path, str]]] = []
    rows = 0
    for item in files:
        estimate = _rows(item[0], parquet, text_bytes_per_row or TEXT_BYTES_PER_ROW)
        if not out or len(out[-1]) >= CHUNK_FILES or (rows + estimate > CHUNK_ROWS and out[-1]):
            out.append([])
            rows = 0
        out[-1].append(item)
        rows += estimate
    return out


def _rows(path: Path, parquet: bool, text_bytes_per_row: int) -> int:
    """Rows of a landed file: exact for Parquet (its footer), estimated from the size for text."""
    try:
        if parquet:
            return pq.ParquetFile(path).metadata.num_rows
        return path.stat().st_size // text_bytes_per_row + 1
    except (OSError, pa.ArrowException):  # unreadable: the reader rejects it with a clear message
        return 0


def bytes_per_row(files: list[tuple[Path, str]]) -> int:
    """Bytes per line of a channel's line-per-row files: the smaller of its first and last file's.

    ``TEXT_BYTES_PER_ROW`` when neither can be read or holds a line break.
    """
    measured = []
    for path in {path for path, _ in files[:1] + files[-1:]}:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if lines := data.count(b"\n"):
            measured.append(max(len(data) // lines, 1))
    return min(measured, default=TEXT_BYTES_PER_ROW)


def _load_guarded(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    channel: str,
    contract: Contract,
    files: list[tuple[Path, str]],
    summary: FeedSummary,
    codes: tuple[pl.Series, pl.Series],
    prepared: Callable[[], Prepared],
) -> None:
    """Load a chunk (one transaction); if a file's values make the load fail, retry file by file.

    ``prepared()`` gives the chunk read and checked (:func:`prepare`; its data errors count as the
    load's). A file that fails alone is rejected (``load_error``, the error's first line) and the
    others load.
    """
    failure = _attempt(con, settings, batch_id, channel, contract, summary, prepared)
    if failure is None:
        return
    if len(files) > 1:
        for item in files:
            again = partial(prepare, settings, channel, contract, [item], codes)
            error = _attempt(con, settings, batch_id, channel, contract, summary, again)
            if error is not None:
                _reject_unloadable(con, settings, batch_id, channel, contract, item, error, summary)
    else:
        _reject_unloadable(con, settings, batch_id, channel, contract, files[0], failure, summary)


def _attempt(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    channel: str,
    contract: Contract,
    summary: FeedSummary,
    prepared: Callable[[], Prepared],
) -> BaseException | None:
    """Load a prepared chunk in one transaction; the data error that rolled it back, or None (counts added)."""
    part = FeedSummary(feed="sales")
    try:
        with transaction(con):  # a chunk is all or nothing
            _load_chunk(con, settings, batch_id, channel, contract, prepared(), part)
    except LOAD_ERRORS as exc:
        con.unregister("batch_events")  # after the rollback (the failed load left it registered)
        return exc
    counters = ("files", "files_rejected", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")
    for counter in (*counters, "rows_excluded"):
        setattr(summary, counter, getattr(summary, counter) + getattr(part, counter))
    summary.notes += part.notes
    summary.paths += part.paths
    return None


def _reject_unloadable(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    channel: str,
    contract: Contract,
    item: tuple[Path, str],
    error: BaseException,
    summary: FeedSummary,
) -> None:
    """Record a file the warehouse refused: rejected, all its rows read and quarantined."""
    path, sha = item
    with transaction(con):
        batch = read_batch([(path, sha, channel, contract)], settings.landing_dir, "sales")
        if sha in batch.files:
            drop_file(batch, sha, load_error_message(batch.files[sha].path, error), "load_error")
        finish(con, batch, "sales", batch_id, summary, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())


def _net_eur(con: duckdb.DuckDBPyConnection, batch_id: str) -> Decimal:
    return con.execute(
        "SELECT coalesce(sum(eur_amount), 0) FROM core.fct_sales_event WHERE batch_id = ?", [batch_id]
    ).fetchall()[0][0]


def _codes(con: duckdb.DuckDBPyConnection) -> tuple[pl.Series, pl.Series]:
    """The country and currency codes the row rules accept (read once per load)."""
    countries = con.sql("SELECT country_code FROM core.dim_country").pl()["country_code"]
    currencies = con.sql("SELECT currency_code FROM core.dim_currency").pl()["currency_code"]
    return countries, currencies


@dataclass
class Prepared:
    """A chunk read and checked: its files, rows with their rule verdicts, the rows contract rules excluded."""

    batch: Batch
    rows: pl.DataFrame  # canonical columns, ``reason`` and ``column_name``; empty when no row was read
    excluded: pl.DataFrame  # sha256, amount, currency, status 'excluded'


def prepare(
    settings: Settings,
    channel: str,
    contract: Contract,
    files: list[tuple[Path, str]],
    codes: tuple[pl.Series, pl.Series],
) -> Prepared:
    """Read and check a chunk's files; no warehouse access, so it runs while the previous chunk loads."""
    batch = read_batch([(p, sha, channel, contract) for p, sha in files], settings.landing_dir, "sales", raw_json=False)
    excluded = _excluded_amounts(batch, contract, channel)
    if batch.frame.height == 0:
        return Prepared(batch, pl.DataFrame(), excluded)
    return Prepared(batch, checked(canonical(batch.frame, contract, channel), *codes), excluded)


def _load_chunk(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    channel: str,
    contract: Contract,
    prepared: Prepared,
    summary: FeedSummary,
) -> None:
    batch, rows, excluded = prepared.batch, prepared.rows, prepared.excluded
    if batch.frame.height == 0:
        record_amounts(con, _amounts(excluded))
        finish(con, batch, "sales", batch_id, summary, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
        return
    valid = rows.lazy().filter(pl.col("reason").is_null()).select(CANONICAL).collect()  # only these columns moved
    summary.notes += ensure_products(con, settings, contract, valid, batch_id)  # a channel's own products
    con.register("batch_events", valid.to_arrow())
    facts = conform(con, settings, batch_id, channel, contract)
    con.unregister("batch_events")
    summary.notes += pending_notes(con, channel)
    decided = con.sql("SELECT * FROM dispositions").pl()
    ((waited,),) = con.execute("SELECT loaded FROM pending_counts").fetchall()
    _finish_chunk(con, batch, batch_id, summary, _with_status(rows, decided, facts - waited), decided, excluded)


def wait_days(contract: Contract | None, settings: Settings) -> int:
    """Days the channel's sales wait for a product version, rate or order line (contract, else settings)."""
    if contract is not None and contract.wait_days is not None:
        return contract.wait_days
    return settings.wait_days


def conform(
    con: duckdb.DuckDBPyConnection, settings: Settings, batch_id: str, channel: str, contract: Contract | None
) -> int:
    """Run the load SQL over temp view/table ``batch_events`` of ``channel`` (and its waiting events).

    Returns the number of facts it wrote (of the batch and of the waiting events that loaded).
    """
    con.execute("SET VARIABLE channel = ?", [channel])
    con.execute("SET VARIABLE batch_id = ?", [batch_id])
    con.execute("SET VARIABLE lookback = ?", [settings.fx_lookback_days])
    con.execute("SET VARIABLE wait_days = ?", [wait_days(contract, settings)])
    facts = 0
    for statement in con.extract_statements((settings.sql_dir / LOAD_SQL).read_text(encoding="utf-8")):
        result = con.execute(statement)
        if statement.query.lstrip().startswith(FACT_INSERT):
            ((written,),) = result.fetchall()
            facts += written
    return facts


def _excluded_amounts(batch: Batch, contract: Contract, channel: str) -> pl.DataFrame:
    """The rows contract rules left out, valued as landed (for audit.load_ledger_amounts)."""
    if batch.excluded.height == 0:
        return pl.DataFrame()
    valued = canonical(batch.excluded, contract, channel)
    return valued.select("sha256", "amount", "currency", status=pl.lit("excluded"))


def pending_notes(con: duckdb.DuckDBPyConnection, channel: str) -> list[str]:
    """What the last conform did to the channel's waiting events, for the load summary."""
    ((loaded, eur, final, expired),) = con.execute(
        "SELECT loaded, eur_loaded, final, expired FROM pending_counts"
    ).fetchall()
    notes = []
    if loaded:
        notes.append(f"{channel}: {loaded} waiting event(s) loaded (EUR {eur}): what they waited for arrived")
    if final:
        notes.append(f"{channel}: {final} waiting event(s) final: what arrived refused them (see audit.quarantine)")
    if expired:
        notes.append(f"{channel}: {expired} waiting event(s) stopped waiting (waiting.max_days): final")
    return notes


def _with_status(rows: pl.DataFrame, decided: pl.DataFrame, loaded: int) -> pl.DataFrame:
    """``rows`` with ``status``: quarantined by a row rule, else the load's disposition, else loaded.

    ``decided`` holds the dispositions of the rows that did not load; ``loaded`` is how many facts
    the load SQL wrote for the chunk, which must be exactly one per other row.
    """
    keys = ["sha256", "line_number"]
    late = rows.select(keys).join(decided.select(*keys, "status"), on=keys, how="left", maintain_order="left")
    status = pl.when(rows["reason"].is_not_null()).then(pl.lit("quarantined")).otherwise(late["status"])
    out = rows.with_columns(status=status.fill_null("loaded"))
    counted = out.height - out["status"].is_in(["quarantined", "duplicate"]).sum()
    if counted != loaded:
        raise RuntimeError(f"the sales load wrote {loaded} facts for the chunk, its dispositions account for {counted}")
    return out


def _finish_chunk(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    batch_id: str,
    summary: FeedSummary,
    rows: pl.DataFrame,
    decided: pl.DataFrame,
    excluded: pl.DataFrame,
) -> None:
    """Quarantine, ledger and money sums of a conformed chunk; ``rows`` carry their ``status``."""
    keys = ["sha256", "line_number"]
    early = rows.filter(pl.col("reason").is_not_null()).with_columns(  # few rows: few gathered
        detail=pl.when(pl.col("reason") == "unknown_country").then(
            pl.format(
                "'{}' is not an ISO 3166 country (code, or name where the contract says so)", "ship_to_country_text"
            )
        ),
        quarantine_id=pl.lit(None, pl.Int64),
    )
    lineage = ["source_file", "source", "raw_row", "amount", "currency"]
    late = decided.filter(pl.col("status") == "quarantined").join(rows.select(*keys, *lineage), on=keys)
    columns = [*keys, "reason", "column_name", "detail", "quarantine_id", *lineage]
    bad = pl.concat([early.select(columns), late.select(columns)], how="vertical_relaxed").with_columns(
        raw_row=raw_json(pl.col("raw_row"))
    )
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
    money = rows.select("sha256", "amount", "currency", "status")
    record_amounts(con, _amounts(pl.concat([money, excluded], how="vertical_relaxed") if excluded.height else money))
    finish(
        con,
        batch,
        "sales",
        batch_id,
        summary,
        rows.select("sha256", "status").filter(pl.col("status") == "loaded"),
        bad.filter(pl.col("quarantine_id").is_null()).drop("quarantine_id"),
        rows.select("sha256", "status").filter(pl.col("status") == "duplicate"),
        extra_quarantined=with_id,
    )


INTEGER_MAX = 2**31 - 1  # core.fct_sales_event.quantity is INTEGER


def canonical(frame: pl.DataFrame, contract: Contract, channel: str) -> pl.DataFrame:
    """Contract text columns -> canonical typed columns (plus the texts and limits the rules need)."""
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

    def number(col: str, scale: int) -> pl.Expr:
        return parse_decimal(pl.col(col), contract.decimal, scale, contract.thousands)

    qty = number("quantity", 0).cast(pl.Int64)
    qty = pl.when(qty.abs() <= INTEGER_MAX).then(qty)  # beyond the warehouse's INTEGER: bad_number
    mode = contract.event_types["mode"]
    if mode == "column":
        values = {str(k): str(v) for k, v in contract.event_types["values"].items()}
        kind = pl.col("event_type").str.strip_chars().replace_strict(values, default=None, return_dtype=pl.String)
    elif mode == "negative_quantity":
        kind = pl.when(qty < 0).then(pl.lit(contract.event_types["negative_as"])).otherwise(pl.lit("order"))
        qty = qty.abs()
    else:  # id_prefix: the longest listed prefix of the id wins; ids with none get the default (if any)
        kind = pl.lit(contract.event_types.get("default"), dtype=pl.String)
        prefixed = pl.col(contract.event_types.get("column", "event_id")).str.strip_chars()
        for prefix, value in sorted(contract.event_types["prefixes"].items(), key=lambda p: len(str(p[0]))):
            kind = pl.when(prefixed.str.starts_with(str(prefix))).then(pl.lit(value)).otherwise(kind)
    # cancels, returns and credits carry their direction in the event type: their sign means nothing
    qty = pl.when(kind.is_not_null() & (kind != "order")).then(qty.abs()).otherwise(qty)
    return frame.with_columns(
        channel=pl.lit(channel),
        event_type=kind,
        quantity_text=pl.col("quantity"),
        quantity=qty,
        event_ts_text=pl.col("event_ts"),
        event_ts=_timestamps(contract),
        unit_price_text=pl.col("unit_price"),
        unit_price=number("unit_price", 4),
        discount_text=pl.col("discount"),
        discount=number("discount", 4).fill_null(
            pl.when(pl.col("discount").is_null()).then(pl.lit(0).cast(pl.Decimal(18, 4)))
        ),
        currency=pl.col("currency").str.strip_chars().str.to_uppercase(),
        ship_to_country_text=pl.col("ship_to_country"),
        ship_to_country=pl.col("ship_to_country").str.strip_chars().str.to_uppercase(),
        **{c: pl.col(c).str.strip_chars() for c in ("event_id", "order_id", "line_id", "supplier_id", "supplier_sku")},
        **limit_columns(contract.limits, TEXT_FIELDS["sales"]),
    ).with_columns(
        gross=(pl.col("quantity") * pl.col("unit_price")).cast(pl.Decimal(38, 4)),
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
    """Add ``reason``/``column_name`` for the first rule each row breaks (null when it passes).

    Ceilings come from the rows' ``limit_*`` columns (their contract's ``limits``, see ``canonical``).
    """
    # orders and standalone credits are valued as themselves: held to the same row rules
    is_order = pl.col("event_type").is_in(["order", "credit"])

    def present(col: str) -> pl.Expr:
        return pl.col(col).is_not_null() & (pl.col(col) != "")

    def order_rule(code: str, col: str, ok: pl.Expr) -> tuple[str, str, pl.Expr]:
        return (code, col, ~is_order | ok)

    rules = [
        ("missing_field", "event_id", present("event_id")),
        ("missing_field", "order_id", present("order_id")),
        ("missing_field", "line_id", present("line_id")),
        ("missing_field", "event_ts", present("event_ts_text")),
        ("missing_field", "quantity", present("quantity_text")),
        *text_rules(TEXT_FIELDS["sales"]),
        ("bad_timestamp", "event_ts", pl.col("event_ts").is_not_null()),
        ("bad_number", "quantity", pl.col("quantity").is_not_null()),
        ("unknown_event_type", "event_type", pl.col("event_type").is_not_null()),
        ("non_positive_quantity", "quantity", pl.col("quantity") > 0),
        ("quantity_absurd", "quantity", pl.col("quantity") <= pl.col("limit_quantity")),
        order_rule("missing_field", "supplier_sku", present("supplier_id") & present("supplier_sku")),
        order_rule("missing_field", "unit_price", present("unit_price_text")),
        order_rule("bad_number", "unit_price", pl.col("unit_price").is_not_null()),
        ("bad_number", "discount", pl.col("discount").is_not_null()),
        order_rule("price_not_positive", "unit_price", pl.col("unit_price") > 0),
        order_rule("price_absurd", "unit_price", pl.col("unit_price") <= pl.col("limit_unit_price")),
        order_rule("discount_negative", "discount", pl.col("discount") >= 0),
        order_rule("discount_exceeds_value", "discount", pl.col("discount") <= pl.col("gross")),
        order_rule("line_value_absurd", "unit_price", pl.col("amount") <= pl.col("limit_line_value")),
        order_rule("missing_field", "currency", present("currency")),
        order_rule("unknown_currency", "currency", pl.col("currency").is_in(currencies.implode())),
        order_rule("missing_field", "ship_to_country", present("ship_to_country")),
        order_rule("unknown_country", "ship_to_country", pl.col("ship_to_country").is_in(countries.implode())),
    ]
    return _first_failures(rows, rules)


def _first_failures(rows: pl.DataFrame, rules: list[tuple[str, str, pl.Expr]]) -> pl.DataFrame:
    """``rows`` with ``reason``/``column_name`` of :func:`first_failure`, evaluated only on the rows that fail."""
    passes = rows.select(pl.all_horizontal([ok.fill_null(False) for _, _, ok in rules])).to_series()
    failing = (~passes).arg_true()
    reason, column = first_failure(rules)
    named = rows[failing].select(reason=reason, column_name=column)
    return rows.with_columns(
        [
            pl.repeat(None, rows.height, dtype=pl.String, eager=True).scatter(failing, named[name]).alias(name)
            for name in ("reason", "column_name")
        ]
    )


def _amounts(rows: pl.DataFrame) -> pl.DataFrame:
    """Money per file and currency (quantity x price - discount as landed), split like the rows."""
    amount = pl.col("amount").fill_null(0).cast(pl.Decimal(38, 4))
    zero = pl.lit(0).cast(pl.Decimal(38, 4))

    def part(status: str) -> pl.Expr:
        return pl.when(pl.col("status") == status).then(amount).otherwise(zero).sum()

    if rows.height == 0:
        return pl.DataFrame()
    return (
        rows.with_columns(pl.col("currency").fill_null("???"))
        .group_by("sha256", "currency")
        .agg(
            amount_read=amount.sum(),
            amount_loaded=part("loaded"),
            amount_quarantined=part("quarantined"),
            amount_duplicate=part("duplicate"),
            amount_excluded=part("excluded"),
        )
    )
