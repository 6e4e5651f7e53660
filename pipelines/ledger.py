"""The load ledger and quarantine, shared by every feed.

Each landed file gets one ``audit.load_ledger`` row keyed by its sha256 whose counts balance
(read = loaded + quarantined + duplicate; the table enforces it); bad rows go to
``audit.quarantine`` with file, line, column and reason code. Frames reach DuckDB as Arrow.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import polars as pl

from pipelines.errors import UserFacingError

QUARANTINE_COLUMNS = {
    "sha256": pl.String,
    "path": pl.String,
    "feed": pl.String,
    "source": pl.String,
    "line_number": pl.Int64,
    "column_name": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "raw_row": pl.String,
}


def new_batch_id() -> str:
    """A sortable, unique id for one run's work: ``20211125T101500Z-1a2b3c4d``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Append ``frame`` to ``table`` by column name (via Arrow); return the row count.

    ``table`` is always one of the project's own table names, never landed content.
    """
    if frame.height == 0:
        return 0
    view = f"_insert_{uuid.uuid4().hex}"
    con.register(view, frame.to_arrow())
    try:
        con.execute(f'INSERT INTO {table} BY NAME SELECT * FROM "{view}"')
    finally:
        con.unregister(view)
    return frame.height


def known_files(con: duckdb.DuckDBPyConnection, checksums: list[str]) -> set[str]:
    """The checksums among ``checksums`` already in the ledger."""
    if not checksums:
        return set()
    rows = con.execute("SELECT sha256 FROM audit.load_ledger WHERE list_contains(?, sha256)", [checksums]).fetchall()
    return {r[0] for r in rows}


@dataclass
class FileOutcome:
    """What happened to one landed file (one ledger row)."""

    sha256: str
    path: str
    feed: str
    source: str | None
    contract: str | None
    status: str = "loaded"  # loaded | rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    message: str | None = None
    bytes: int | None = None


def record_files(con: duckdb.DuckDBPyConnection, outcomes: list[FileOutcome], batch_id: str) -> None:
    """Write ledger rows (the CHECK constraint refuses any that do not balance)."""
    if outcomes:
        frame = pl.DataFrame([asdict(o) for o in outcomes]).with_columns(batch_id=pl.lit(batch_id))
        insert_frame(con, "audit.load_ledger", frame)


def record_amounts(con: duckdb.DuckDBPyConnection, amounts: pl.DataFrame) -> None:
    """Per file and currency money sums: sha256, currency, amount_read/loaded/quarantined/duplicate."""
    insert_frame(con, "audit.load_ledger_amounts", amounts)


def quarantine(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, batch_id: str) -> int:
    """Append rejected rows (columns of ``QUARANTINE_COLUMNS``; missing ones are null)."""
    if rows.height == 0:
        return 0
    frame = rows.select(
        [(pl.col(c) if c in rows.columns else pl.lit(None)).cast(t).alias(c) for c, t in QUARANTINE_COLUMNS.items()]
    ).with_columns(batch_id=pl.lit(batch_id))
    return insert_frame(con, "audit.quarantine", frame)


@dataclass
class FeedSummary:
    """Totals of one feed's run, for the CLI summary, Airflow XCom and the audit log."""

    feed: str
    files: int = 0
    files_rejected: int = 0
    files_skipped: int = 0  # already in the ledger
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    eur_loaded: Decimal | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: FileOutcome) -> None:
        self.files += 1
        self.files_rejected += outcome.status == "rejected"
        self.rows_read += outcome.rows_read
        self.rows_loaded += outcome.rows_loaded
        self.rows_quarantined += outcome.rows_quarantined
        self.rows_duplicate += outcome.rows_duplicate

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable (money as a string, exact)."""
        out = asdict(self)
        out["eur_loaded"] = None if self.eur_loaded is None else str(self.eur_loaded)
        return out


def forget_rejected(con: duckdb.DuckDBPyConnection, path: str) -> list[str]:
    """Forget the rejected deliveries of landed file ``path`` so that the next run loads it again.

    Only rejected files (nothing of them reached the warehouse) can be forgotten: their ledger
    rows, money sums, quarantine rows and remembered checksum go. Returns the checksums forgotten.
    A loaded file is never re-processed: its content is known, and a corrected file is a new
    delivery (new bytes, new checksum) that the next run picks up by itself.
    """
    rows = con.execute("SELECT sha256, status FROM audit.load_ledger WHERE path = ?", [path]).fetchall()
    if not rows:
        raise UserFacingError(f"{path} is not in audit.load_ledger (paths are relative to the landing root)")
    loaded = [sha for sha, status in rows if status != "rejected"]
    if loaded:
        raise UserFacingError(
            f"{path} was loaded (sha256 {loaded[0][:12]}...): its rows are in the warehouse and re-reading the "
            "same bytes changes nothing; land a corrected file instead (new content is loaded by the next run)"
        )
    shas = [sha for sha, _ in rows]
    con.execute("DELETE FROM audit.quarantine WHERE list_contains(?, sha256)", [shas])
    con.execute("DELETE FROM audit.load_ledger_amounts WHERE list_contains(?, sha256)", [shas])
    con.execute("DELETE FROM audit.load_ledger WHERE list_contains(?, sha256)", [shas])
    con.execute("DELETE FROM audit.file_checksum WHERE path = ?", [path])
    return shas
