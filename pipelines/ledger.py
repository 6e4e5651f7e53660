"""The load ledger and quarantine, shared by every feed.

Each landed file gets one ``audit.load_ledger`` row keyed by (sha256, path) whose counts balance
(read = loaded + quarantined + duplicate + excluded; the table enforces it); bad rows go to
``audit.quarantine`` with file, line, column and reason code. Frames reach DuckDB as Arrow.

Statuses: ``loaded`` and ``rejected`` (the content was processed), ``duplicate`` (the same bytes
as a file already in the ledger, at another path: every row counted as a duplicate, nothing
read), ``retracted`` (loaded, then taken out again: ``audit.retractions``). Content counts as
known while a ``loaded`` or ``rejected`` row holds its checksum; a (path, sha256) pair in the
ledger is never processed again, whatever its status.
"""

from __future__ import annotations

import contextlib
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
        with contextlib.suppress(duckdb.TransactionException):  # a failed insert aborted the transaction:
            con.unregister(view)  # the error that matters is the insert's; the name is unique and dropped later
    return frame.height


KNOWN_STATUSES = ["loaded", "rejected"]  # a row with one of these says the content was processed


def known_files(con: duckdb.DuckDBPyConnection, checksums: list[str]) -> set[str]:
    """The checksums among ``checksums`` whose content was processed (a loaded or rejected ledger row).

    Content that was only retracted (or only seen as a copy) is not known: it may load again.
    """
    if not checksums:
        return set()
    rows = con.execute(
        "SELECT DISTINCT sha256 FROM audit.load_ledger WHERE list_contains(?, sha256) AND list_contains(?, status)",
        [checksums, KNOWN_STATUSES],
    ).fetchall()
    return {r[0] for r in rows}


def known_paths(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, dict[str, str]]:
    """For each of ``paths`` in the ledger: {sha256: status} of the deliveries seen at that path."""
    if not paths:
        return {}
    rows = con.execute(
        "SELECT path, sha256, status FROM audit.load_ledger WHERE list_contains(?, path)", [paths]
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for path, sha, status in rows:
        found.setdefault(path, {})[sha] = status
    return found


def record_duplicates(
    con: duckdb.DuckDBPyConnection, copies: list[tuple[str, str, int]], batch_id: str
) -> list[FileOutcome]:
    """Ledger rows (status ``duplicate``) for byte-identical copies: (path, sha256, bytes) each.

    Each row copies feed, source and contract from the original (the loaded or rejected row of
    that checksum) and counts the original's rows as read and duplicate, so landed files and
    ledger rows reconcile one to one. Returns the outcomes written.
    """
    if not copies:
        return []
    shas = sorted({sha for _, sha, _ in copies})
    originals = {
        sha: (path, feed, source, contract, rows_read)
        for sha, path, feed, source, contract, rows_read in con.execute(
            """SELECT sha256, arg_min(path, loaded_at), arg_min(feed, loaded_at), arg_min(source, loaded_at),
                      arg_min(contract, loaded_at), arg_min(rows_read, loaded_at)
               FROM audit.load_ledger WHERE list_contains(?, sha256) AND list_contains(?, status)
               GROUP BY sha256""",
            [shas, KNOWN_STATUSES],
        ).fetchall()
    }
    outcomes = []
    for path, sha, size in copies:
        original, feed, source, contract, rows_read = originals[sha]
        outcomes.append(
            FileOutcome(
                sha,
                path,
                feed,
                source,
                contract,
                status="duplicate",
                rows_read=rows_read,
                rows_duplicate=rows_read,
                message=f"the same bytes as {original} (already in the ledger): nothing new",
                bytes=size,
            )
        )
    _insert_outcomes(con, outcomes, batch_id)
    return outcomes


@dataclass
class FileOutcome:
    """What happened to one landed file (one ledger row)."""

    sha256: str
    path: str
    feed: str
    source: str | None
    contract: str | None
    status: str = "loaded"  # loaded | rejected | duplicate (| retracted, set by pipelines.retract)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_excluded: int = 0
    message: str | None = None
    bytes: int | None = None


def record_files(con: duckdb.DuckDBPyConnection, outcomes: list[FileOutcome], batch_id: str) -> None:
    """Write ledger rows (the CHECK constraint refuses any that do not balance).

    Copies waiting for one of these files (``await_original``) get their duplicate rows now.
    """
    _insert_outcomes(con, outcomes, batch_id)
    key = (id(con), batch_id)
    waiting = _AWAITING.get(key)
    if not waiting:
        return
    done = {o.sha256 for o in outcomes}
    ready = [w for w in waiting if w[1] in done]
    if not ready:
        return
    _AWAITING[key] = [w for w in waiting if w[1] not in done]
    copies = record_duplicates(con, [(path, sha, size) for path, sha, size, _ in ready], batch_id)
    for outcome, (*_, summary) in zip(copies, ready, strict=True):
        if summary is not None:
            summary.add(outcome)


def _insert_outcomes(con: duckdb.DuckDBPyConnection, outcomes: list[FileOutcome], batch_id: str) -> None:
    if outcomes:
        frame = pl.DataFrame([asdict(o) for o in outcomes]).with_columns(batch_id=pl.lit(batch_id))
        insert_frame(con, "audit.load_ledger", frame)


# Byte-identical copies of files being loaded in a batch, by (connection, batch): recorded as
# duplicates as soon as their original's ledger row is written, in the same transaction.
_AWAITING: dict[tuple[int, str], list[tuple[str, str, int, FeedSummary | None]]] = {}


def await_original(
    con: duckdb.DuckDBPyConnection,
    batch_id: str,
    copies: list[tuple[str, str, int]],
    summary: FeedSummary | None = None,
) -> None:
    """Record these copies (path, sha256, bytes) as duplicates once their original's row is written."""
    if copies:
        _AWAITING.setdefault((id(con), batch_id), []).extend((*c, summary) for c in copies)


def record_exclusions(con: duckdb.DuckDBPyConnection, excluded: pl.DataFrame, feed: str, batch_id: str) -> None:
    """Rows left out by contract rules (``excluded_by``), per file and rule, into ``audit.load_exclusions``."""
    if excluded.height == 0:
        return
    per_rule = excluded.group_by("sha256", "source_file", "source", "excluded_by").agg(
        rows=pl.len(), first_line=pl.col("line_number").min()
    )
    insert_frame(
        con,
        "audit.load_exclusions",
        per_rule.select(
            "sha256",
            path="source_file",
            feed=pl.lit(feed),
            source="source",
            rule="excluded_by",
            rows="rows",
            first_line="first_line",
            batch_id=pl.lit(batch_id),
        ),
    )


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
    rows_excluded: int = 0
    eur_loaded: Decimal | None = None
    notes: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # the files processed, relative to their root (lineage)

    def add(self, outcome: FileOutcome) -> None:
        self.files += 1
        self.paths.append(outcome.path)
        self.files_rejected += outcome.status == "rejected"
        self.rows_read += outcome.rows_read
        self.rows_loaded += outcome.rows_loaded
        self.rows_quarantined += outcome.rows_quarantined
        self.rows_duplicate += outcome.rows_duplicate
        self.rows_excluded += outcome.rows_excluded

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable (money as a string, exact)."""
        out = asdict(self)
        out["eur_loaded"] = None if self.eur_loaded is None else str(self.eur_loaded)
        return out


def forget_rejected(con: duckdb.DuckDBPyConnection, path: str) -> list[str]:
    """Forget the rejected or retracted deliveries of landed file ``path`` so that the next run loads it again.

    Only deliveries of which nothing is in the warehouse can be forgotten: a rejected file, or
    a retracted one (its rows were removed; ``audit.retractions`` keeps the record). Their
    ledger rows, money sums, quarantine rows and the remembered checksum of ``path`` go.
    Returns the checksums forgotten. A loaded file is never re-processed: its content is known,
    and a corrected file is a new delivery (new bytes) that the next run picks up by itself.
    """
    rows = con.execute("SELECT sha256, status FROM audit.load_ledger WHERE path = ?", [path]).fetchall()
    if not rows:
        raise UserFacingError(f"{path} is not in audit.load_ledger (paths are relative to the landing root)")
    live = [(sha, status) for sha, status in rows if status not in ("rejected", "retracted")]
    if live:
        sha, status = live[0]
        if status == "held":
            raise UserFacingError(
                f"{path} is held for review (it would delist an implausible share of its supplier's products): "
                f"nothing of it was loaded; if it is right, release it with `xborder quality --accept {path} "
                '--note "..."`, or land the complete snapshot'
            )
        if status == "duplicate":
            raise UserFacingError(
                f"{path} is a byte-identical copy of a file already in the ledger (sha256 {sha[:12]}...): "
                "nothing of it was read; reprocess or retract the original instead"
            )
        raise UserFacingError(
            f"{path} was loaded (sha256 {sha[:12]}...): its rows are in the warehouse and re-reading the "
            "same bytes changes nothing; land a corrected file instead (new content at the same path replaces "
            "it), or take it out first with `xborder db retract`"
        )
    shas = [sha for sha, _ in rows]
    con.execute("DELETE FROM audit.quarantine WHERE path = ? AND list_contains(?, sha256)", [path, shas])
    con.execute(
        """DELETE FROM audit.load_ledger_amounts WHERE list_contains(?, sha256)
           AND sha256 NOT IN (SELECT sha256 FROM audit.load_ledger WHERE path <> ?)""",
        [shas, path],
    )
    con.execute("DELETE FROM audit.load_ledger WHERE path = ?", [path])
    con.execute("DELETE FROM audit.load_exclusions WHERE path = ?", [path])
    con.execute("DELETE FROM audit.file_checksum WHERE path = ?", [path])
    return shas
