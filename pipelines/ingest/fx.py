"""ECB euro reference rates (``fx/``): the history file and daily files, in the ECB's own formats.

Both formats are wide (a ``Date`` column, one column per currency, a trailing comma, ``N/A``
where a currency was not quoted); the daily file has ``", "`` separators and dates like
``30 June 2021``. Each quoted (date, currency) value is one row for the ledger; ``N/A`` cells are
not rows. A value equal to one already loaded is a duplicate; a different value for a loaded
(currency, date) is quarantined as ``fx_rate_conflict`` and the loaded rate is kept. Other
reasons: ``bad_date``, ``bad_number``, ``rate_not_positive``, ``unknown_currency``. A file that
cannot be read whole is rejected and the others load: ``contract_violation`` (undecodable bytes,
not an ECB header, a row with fewer cells than the header), ``truncated_file`` (the last row cut
short), ``empty_file``, ``unreadable_file``, ``outside_landing_root`` (a link out of the root).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.batch import Batch, finish, outside_root, reject, reject_outside
from pipelines.ingest.discovery import new_files
from pipelines.landing import relative
from pipelines.ledger import FeedSummary, FileOutcome, insert_frame
from pipelines.readers import RejectedFile, one_line, parse_decimal
from pipelines.settings import Settings
from pipelines.validation import first_failure


def read_ecb(path: Path, name: str | None = None) -> pl.DataFrame:
    """Long rows (line_number, date_text, currency, rate_text, raw_row) of an ECB CSV file.

    Raises :class:`RejectedFile` (``name`` in the message) for undecodable bytes, an empty file or
    one without rates, a header that is not the ECB's, and a row with fewer cells than the header
    (``truncated_file`` when it is the last one: every ECB row ends with a comma, so a cut shows).
    """
    name = name or str(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RejectedFile(
            f"{name}: line {line}: not valid utf-8 (byte {data[exc.start]:#04x} at offset {exc.start}); rule: encoding",
            line,
        ) from exc
    lines = text.splitlines()
    if not text.strip():
        raise RejectedFile(f"{name}: line 1: the file is empty; rule: file", 1, "empty_file")
    if not lines[0].replace(" ", "").startswith("Date,"):
        raise RejectedFile(f"{name}: line 1: not an ECB reference-rate file (header must start with 'Date,')", 1)
    header = [c.strip() for c in lines[0].split(",")]
    cells = (
        pl.DataFrame({"line": lines[1:]}, schema={"line": pl.String})
        .with_row_index("line_number", offset=2)
        .filter(pl.col("line").str.strip_chars() != "")
        .with_columns(raw_row=pl.col("line"), cell=pl.col("line").str.split(","))
    )
    if cells.height == 0:
        raise RejectedFile(f"{name}: line 2: no rates after the header; rule: file", 2, "empty_file")
    _check_cells(cells, len(header), name)
    currencies = [(i, c) for i, c in enumerate(header) if i > 0 and c]
    long = (
        cells.select(
            pl.col("line_number").cast(pl.Int64),
            pl.col("cell").list.get(0, null_on_oob=True).str.strip_chars().alias("date_text"),
            pl.concat_list(
                [
                    pl.struct(currency=pl.lit(c), rate_text=pl.col("cell").list.get(i, null_on_oob=True))
                    for i, c in currencies
                ]
            ).alias("quotes"),
            "raw_row",
        )
        .explode("quotes")
        .unnest("quotes")
    )
    return long.with_columns(pl.col("rate_text").str.strip_chars()).filter(
        pl.col("rate_text").is_not_null() & (pl.col("rate_text") != "") & (pl.col("rate_text") != "N/A")
    )


def _check_cells(cells: pl.DataFrame, expected: int, name: str) -> None:
    """Every row has the header's cell count; a short last row is a truncated file."""
    short = cells.filter(pl.col("cell").list.len() < expected)
    if short.height == 0:
        return
    line, n = short["line_number"][0], short["cell"].list.len()[0]
    if line == cells["line_number"][-1]:
        raise RejectedFile(
            f"{name}: line {line}: the last row has {n} of the header's {expected} cells, it is cut short "
            "(a truncated transfer?); rule: fields",
            line,
            "truncated_file",
        )
    raise RejectedFile(f"{name}: line {line}: {n} cells, the header has {expected}; rule: fields", line)


def _parse_date(col: str) -> pl.Expr:
    text = pl.col(col)
    return pl.coalesce(text.str.to_date("%Y-%m-%d", strict=False), text.str.to_date("%d %B %Y", strict=False))


def load_fx(con: duckdb.DuckDBPyConnection, settings: Settings, batch_id: str) -> FeedSummary:
    """Load new ECB files; only new (currency, date) rates reach ``core.fx_rate``."""
    summary = FeedSummary(feed="fx")
    root = settings.landing_dir
    files = new_files(con, settings, "fx", "*.csv", batch_id=batch_id, summary=summary)
    outside = outside_root(con, root, "fx")
    if not files and not outside:
        return summary
    batch = Batch(pl.DataFrame(), {})
    reject_outside(batch, outside, root, "fx", lambda _: None)
    frames = []
    for path, sha in files:
        rel = relative(root, path)
        try:
            long = read_ecb(path, rel)
        except RejectedFile as exc:
            reject(batch, path, sha, root, "fx", None, None, str(exc), exc.line, exc.reason)
            continue
        except MemoryError:
            raise
        except (Exception, pl.exceptions.PanicException) as exc:  # one file never stops the rest
            message = f"{rel}: not readable as an ECB file: {type(exc).__name__}: {one_line(exc)}; rule: fx"
            reject(batch, path, sha, root, "fx", None, None, message, None, "unreadable_file")
            continue
        batch.files[sha] = FileOutcome(
            sha, rel, "fx", None, "ecb_eurofxref", rows_read=long.height, bytes=path.stat().st_size
        )
        frames.append(long.with_columns(sha256=pl.lit(sha), source_file=pl.lit(rel), source=pl.lit(None, pl.String)))
    if not frames:
        finish(con, batch, "fx", batch_id, summary, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
        return summary
    currencies = con.sql("SELECT currency_code FROM core.dim_currency").pl()["currency_code"]
    rows = pl.concat(frames).with_columns(
        rate_date=_parse_date("date_text"), rate=parse_decimal(pl.col("rate_text"), ".", 6)
    )
    reason, column = first_failure(
        [
            ("bad_date", "Date", pl.col("rate_date").is_not_null()),
            ("bad_number", "rate", pl.col("rate").is_not_null()),
            ("rate_not_positive", "rate", pl.col("rate") > 0),
            ("unknown_currency", "currency", pl.col("currency").is_in(currencies.implode())),
        ]
    )
    rows = rows.with_columns(reason=reason, column_name=column, detail=pl.lit(None, dtype=pl.String))
    valid = rows.filter(pl.col("reason").is_null()).with_columns(rate=pl.col("rate").cast(pl.Decimal(18, 6)))
    con.register(
        "_fx_batch",
        valid.select("sha256", "source_file", "line_number", "currency", "rate_date", "rate").to_arrow(),
    )
    decided = con.sql("""
        WITH ranked AS (
            SELECT b.*, f.rate AS loaded_rate, f.source_file AS loaded_from,
                   first_value(b.rate) OVER w AS batch_first_rate,
                   row_number() OVER w AS nth
            FROM _fx_batch b
            LEFT JOIN core.fx_rate f USING (currency, rate_date)
            WINDOW w AS (PARTITION BY b.currency, b.rate_date ORDER BY b.source_file, b.line_number)
        )
        SELECT sha256, line_number, currency, rate_date,
            CASE
                WHEN loaded_rate IS NOT NULL AND loaded_rate = rate THEN 'duplicate'
                WHEN loaded_rate IS NOT NULL THEN 'conflict'
                WHEN nth = 1 THEN 'load'
                WHEN rate = batch_first_rate THEN 'duplicate'
                ELSE 'conflict'
            END AS decision,
            CASE WHEN loaded_rate IS NOT NULL
                 THEN 'loaded ' || loaded_rate::VARCHAR || ' from ' || loaded_from
                      || '; this file says ' || rate::VARCHAR
                 ELSE 'an earlier file of this batch says ' || batch_first_rate::VARCHAR
                      || '; this file says ' || rate::VARCHAR
            END AS conflict_detail
        FROM ranked
    """).pl()
    con.unregister("_fx_batch")
    valid = valid.join(
        decided.select("sha256", "line_number", "currency", "decision", "conflict_detail"),
        on=["sha256", "line_number", "currency"],
    )
    loaded = valid.filter(pl.col("decision") == "load")
    conflicts = valid.filter(pl.col("decision") == "conflict").with_columns(
        reason=pl.lit("fx_rate_conflict"), column_name=pl.col("currency"), detail=pl.col("conflict_detail")
    )
    bad = pl.concat(
        [
            rows.filter(pl.col("reason").is_not_null()).with_columns(rate=pl.col("rate").cast(pl.Decimal(18, 6))),
            conflicts.select(rows.columns),
        ],
        how="diagonal_relaxed",
    )
    dup = valid.filter(pl.col("decision") == "duplicate")
    insert_frame(
        con,
        "raw.fx_rates",
        loaded.select("rate_date", "currency", "rate", "source_file", "line_number", batch_id=pl.lit(batch_id)),
    )
    insert_frame(
        con,
        "core.fx_rate",
        loaded.select("currency", "rate_date", "rate", "source_file", batch_id=pl.lit(batch_id)),
    )
    finish(con, batch, "fx", batch_id, summary, loaded, bad, dup)
    if conflicts.height:
        summary.notes.append(f"{conflicts.height} conflicting rate(s) reported in audit.quarantine (fx_rate_conflict)")
    return summary


def rate_for(
    con: duckdb.DuckDBPyConnection, currency: str, day: date, lookback_days: int = 7
) -> tuple[Decimal, date] | None:
    """The ECB rate valid on ``day``: the latest published on or before it, at most ``lookback_days`` back."""
    if currency == "EUR":
        return Decimal(1), day
    row = con.execute(
        "SELECT rate, rate_date FROM core.fx_rate WHERE currency = ? AND rate_date <= ? AND rate_date >= ? "
        "ORDER BY rate_date DESC LIMIT 1",
        [currency, day, day - timedelta(days=lookback_days)],
    ).fetchall()
    return (row[0][0], row[0][1]) if row else None
