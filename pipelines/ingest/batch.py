"""Reading a batch of landed files through their contracts, and the ledger rows that result.

One bad file never stops the rest: a file that cannot be read whole is rejected (one quarantine
row naming file, line where known and rule, with the reader's reason code; its lines counted as
read and quarantined), whatever the error. Valid files become one frame with lineage columns
``sha256``, ``source_file`` (path relative to the landing root) and ``source``. Feeds reject
here too what they must never read (``outside_landing_root``: a link out of the landing root)
and files whose rows the warehouse refuses (``load_error``, see :func:`per_file`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contract_rows import EXCLUDED
from pipelines.contracts import Contract
from pipelines.landing import escape_key, escapes, name_in_root, relative
from pipelines.ledger import FeedSummary, FileOutcome, known_files, quarantine, record_exclusions, record_files
from pipelines.readers import FILE, RejectedFile, map_files, one_line, read_text, unreadable

READ_THREADS = min(8, os.cpu_count() or 2)  # files read at once
# Errors a file's own values can cause while it is typed or loaded (not disk, memory or a bug's
# binder errors): the file is rejected (load_error) and the others load.
LOAD_ERRORS: tuple[type[BaseException], ...] = (
    duckdb.DataError,
    duckdb.IntegrityError,
    duckdb.InvalidInputException,
    pl.exceptions.ComputeError,
    pl.exceptions.InvalidOperationError,
    pl.exceptions.PanicException,
    ArithmeticError,
)


@dataclass
class Batch:
    """The readable rows of a batch, plus what was rejected whole."""

    frame: pl.DataFrame
    files: dict[str, FileOutcome]  # sha256 -> outcome (counts filled in by the feed)
    rejected: list[FileOutcome] = field(default_factory=list)
    rejections: list[dict[str, object]] = field(default_factory=list)  # quarantine rows
    excluded: pl.DataFrame = field(default_factory=pl.DataFrame)  # rows a contract rule left out (excluded_by)


def _data_lines(path: Path, contract: Contract | None) -> int:
    """Physical data lines of a rejected text file (0 when it cannot be counted)."""
    if contract is None or contract.format not in {"csv", "jsonl"}:
        return 0
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(0, lines - (1 if contract.format == "csv" else 0))


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _rejection(outcome: FileOutcome, line: int | None, reason: str) -> dict[str, object]:
    return {
        "sha256": outcome.sha256,
        "path": outcome.path,
        "feed": outcome.feed,
        "source": outcome.source,
        "line_number": line,
        "column_name": None,
        "reason": reason,
        "detail": outcome.message,
        "raw_row": None,
    }


def reject(
    batch: Batch,
    path: Path,
    sha: str,
    root: Path,
    feed: str,
    source: str | None,
    contract: Contract | None,
    message: str,
    line: int | None,
    reason: str = "contract_violation",
    *,
    rows: int | None = None,
    read: bool = True,
) -> None:
    """Record a whole-file rejection: a ledger row that balances and one quarantine row.

    ``rows``: the rows read (default: the data lines of a text file); ``read=False`` for an
    entry that must not be touched (a link out of the landing root).
    """
    lines = rows if rows is not None else (_data_lines(path, contract) if read else 0)
    outcome = FileOutcome(
        sha,
        name_in_root(root, path) if not read else relative(root, path),
        feed,
        source,
        contract.name if contract else None,
        status="rejected",
        rows_read=lines,
        rows_quarantined=lines,
        message=message,
        bytes=_size(path) if read else None,
    )
    batch.rejected.append(outcome)
    batch.rejections.append(_rejection(outcome, line, reason))


def drop_file(batch: Batch, sha: str, message: str, reason: str, line: int | None = None) -> None:
    """Reject a file that was read: its rows leave the batch, all counted as read and quarantined."""
    outcome = batch.files.pop(sha)
    outcome.status, outcome.message = "rejected", message
    outcome.rows_loaded = outcome.rows_duplicate = outcome.rows_excluded = 0
    outcome.rows_quarantined = outcome.rows_read
    batch.rejected.append(outcome)
    batch.rejections.append(_rejection(outcome, line, reason))
    if "sha256" in batch.frame.columns:
        batch.frame = batch.frame.filter(pl.col("sha256") != sha)
    if "sha256" in batch.excluded.columns:
        batch.excluded = batch.excluded.filter(pl.col("sha256") != sha)


def load_error_message(name: str, exc: BaseException) -> str:
    """One line for a file whose rows the warehouse (or the typing step) refused."""
    return f"{name}: not loaded, its values broke the load: {type(exc).__name__}: {one_line(exc)}; rule: load"


def per_file(batch: Batch, step: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """``step(batch.frame)``; if a file's values make it fail, ``step`` file by file instead.

    A file that still fails leaves the batch, rejected with reason ``load_error``; the others'
    results are concatenated (an empty frame when none is left).
    """
    try:
        return step(batch.frame)
    except LOAD_ERRORS:
        pass
    parts = []
    for sha, outcome in list(batch.files.items()):
        try:
            parts.append(step(batch.frame.filter(pl.col("sha256") == sha)))
        except LOAD_ERRORS as exc:
            drop_file(batch, sha, load_error_message(outcome.path, exc), "load_error")
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def drop_empty(batch: Batch, why: str) -> None:
    """Reject the files that were read but hold no rows (a catalogue is a full snapshot: never empty)."""
    for sha, outcome in list(batch.files.items()):
        if outcome.rows_read == 0:
            message = f"{outcome.path}: no rows (only a header, or no records); {why}; rule: file"
            drop_file(batch, sha, message, "empty_file")


def outside_root(con: duckdb.DuckDBPyConnection, root: Path, folder: str) -> list[tuple[Path, str]]:
    """(entry, ledger key) of links under ``landing/folder`` that leave the root, not yet in the ledger."""
    found = [(path, escape_key(root, path)) for path in escapes(root, folder)]
    known = known_files(con, [key for _, key in found])
    return [(path, key) for path, key in found if key not in known]


def reject_outside(
    batch: Batch, entries: list[tuple[Path, str]], root: Path, feed: str, source: Callable[[str], str | None]
) -> None:
    """Reject links out of the landing root (never read); ``source``: entry name -> supplier or channel."""
    for path, key in entries:
        name = name_in_root(root, path)
        try:
            target = f"it links to {path.readlink()}"
        except OSError:
            target = "it cannot be followed"
        message = f"{name}: leads out of the landing root ({target}); it was not read; rule: landing_root"
        reject(batch, path, key, root, feed, source(name), None, message, None, "outside_landing_root", read=False)


def read_batch(
    files: Sequence[tuple[Path, str, str | None, Contract | None]],
    root: Path,
    feed: str,
    *,
    absolute_names: bool = False,
    raw_json: bool = True,
) -> Batch:
    """Read (path, sha256, source, contract) files; a missing contract or any read error rejects the file.

    Messages name files relative to ``root`` (the landing root), or in full with ``absolute_names``;
    ``raw_json``: see :func:`~pipelines.readers.read_landed`.
    """
    batch = Batch(pl.DataFrame(), {})
    names = [str(path) if absolute_names else relative(root, path) for path, *_ in files]
    read = _read_all([(path, contract, name) for (path, _, _, contract), name in zip(files, names, strict=True)])
    accepted: dict[int, pl.DataFrame] = {}
    for i, ((path, sha, source, contract), name, frame) in enumerate(zip(files, names, read, strict=True)):
        if contract is None:
            message = (
                f"{name}: no contract in contracts/ covers source {source!r}; "
                "add the source to a contract (README, section Contracts); rule: contract"
            )
            reject(batch, path, sha, root, feed, source, None, message, None, "no_contract")
            continue
        if isinstance(frame, RejectedFile):
            reject(batch, path, sha, root, feed, source, contract, str(frame), frame.line, frame.reason)
            continue
        assert frame is not None
        rel = relative(root, path)
        batch.files[sha] = FileOutcome(sha, rel, feed, source, contract.name, rows_read=frame.height, bytes=_size(path))
        accepted[i] = frame
    contracts = {id(c): c for i in accepted if (c := files[i][3]) is not None}  # accepted: all have one
    lineage = {
        "sha256": pl.Series([sha for _, sha, _, _ in files], dtype=pl.String),
        "source_file": pl.Series([relative(root, path) for path, *_ in files], dtype=pl.String),
        "source": pl.Series([source for _, _, source, _ in files], dtype=pl.String),
    }
    parts = []
    for key, contract in contracts.items():
        mine = {i: frame for i, frame in accepted.items() if id(files[i][3]) == key}
        frame = _mapped_files(batch, files, names, mine, contract, root, feed, raw_json)
        if frame is not None:  # each row's file: its checksum, path relative to the landing root, source
            parts.append(frame.with_columns(values.gather(frame[FILE]).alias(k) for k, values in lineage.items()))
    if parts:  # in the files' order
        batch.frame = pl.concat(parts, how="diagonal").sort(FILE, maintain_order=True) if len(parts) > 1 else parts[0]
        batch.frame = batch.frame.drop(FILE)
    if EXCLUDED in batch.frame.columns:  # rows a contract rule leaves out: counted, never checked
        batch.excluded = batch.frame.filter(pl.col(EXCLUDED).is_not_null())
        batch.frame = batch.frame.filter(pl.col(EXCLUDED).is_null()).drop(EXCLUDED)
    return batch


def _mapped_files(
    batch: Batch,
    files: Sequence[tuple[Path, str, str | None, Contract | None]],
    names: list[str],
    mine: dict[int, pl.DataFrame],
    contract: Contract,
    root: Path,
    feed: str,
    raw_json: bool,
) -> pl.DataFrame | None:
    """The files of one contract (by index in ``files``) made canonical together; one by one if that fails.

    A file whose rows cannot be made canonical on its own is rejected (``unreadable_file``), as
    :func:`~pipelines.readers.read_landed` would; None when no file is left.
    """
    try:
        return map_files(list(mine.values()), contract, raw_json=raw_json, positions=list(mine))
    except MemoryError:
        raise
    except (Exception, pl.exceptions.PanicException):  # some file's values: find it, the others still load
        pass
    parts = []
    for i, single in mine.items():
        try:
            parts.append(map_files([single], contract, raw_json=raw_json, positions=[i]))
        except MemoryError:
            raise
        except (Exception, pl.exceptions.PanicException) as exc:
            path, sha, source, _ = files[i]
            failed = unreadable(names[i], contract, exc)
            del batch.files[sha]
            reject(batch, path, sha, root, feed, source, contract, str(failed), failed.line, failed.reason)
    return pl.concat(parts, how="diagonal") if parts else None


def _read_all(files: list[tuple[Path, Contract | None, str]]) -> list[pl.DataFrame | RejectedFile | None]:
    """``read_text`` of every file, several at a time (Polars reads without the GIL), in order.

    A file that cannot be read gives its ``RejectedFile`` (whatever went wrong); without a contract None.
    """

    def one(item: tuple[Path, Contract | None, str]) -> pl.DataFrame | RejectedFile | None:
        path, contract, name = item
        if contract is None:
            return None
        try:
            return read_text(path, contract, name)
        except RejectedFile as exc:
            return exc
        except MemoryError:
            raise
        except (Exception, pl.exceptions.PanicException) as exc:  # a safety net: one file never stops the rest
            return RejectedFile(f"{name}: not readable: {type(exc).__name__}: {one_line(exc)}", None, "unreadable_file")

    if len(files) < 2:
        return [one(item) for item in files]
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        return list(pool.map(one, files))


def fill_counts(
    batch: Batch, loaded: pl.DataFrame, quarantined: pl.DataFrame, duplicate: pl.DataFrame
) -> list[FileOutcome]:
    """Per-file counts from the three row sets (each with a ``sha256`` column); all files listed."""

    def counts(frame: pl.DataFrame) -> dict[str, int]:
        if frame.height == 0:
            return {}
        grouped = frame.group_by("sha256").len()
        return dict(zip(grouped["sha256"], grouped["len"], strict=True))

    n_loaded, n_quarantined, n_duplicate = counts(loaded), counts(quarantined), counts(duplicate)
    n_excluded = counts(batch.excluded)
    outcomes = []
    for sha, outcome in batch.files.items():
        outcome.rows_loaded = n_loaded.get(sha, 0)
        outcome.rows_quarantined = n_quarantined.get(sha, 0)
        outcome.rows_duplicate = n_duplicate.get(sha, 0)
        outcome.rows_excluded = n_excluded.get(sha, 0)
        outcomes.append(outcome)  # rows_read was counted on reading: the ledger CHECK proves the split
    return outcomes + batch.rejected


def quarantine_frame(rows: pl.DataFrame, feed: str) -> pl.DataFrame:
    """Rows that failed a rule (columns ``reason``, ``column_name``, ``detail``) in quarantine shape."""
    return rows.select(
        "sha256",
        pl.col("source_file").alias("path"),
        pl.lit(feed).alias("feed"),
        "source",
        "line_number",
        "column_name",
        "reason",
        (pl.col("detail") if "detail" in rows.columns else pl.lit(None, dtype=pl.String)).alias("detail"),
        "raw_row",
    )


def finish(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    feed: str,
    batch_id: str,
    summary: FeedSummary,
    loaded: pl.DataFrame,
    quarantined: pl.DataFrame,
    duplicate: pl.DataFrame,
    extra_quarantined: pl.DataFrame | None = None,
) -> list[FileOutcome]:
    """Quarantine the bad rows and rejected files, write the ledger, add to ``summary``.

    ``extra_quarantined`` rows were already written to quarantine by the feed; they are counted.
    """
    if quarantined.height:
        quarantine(con, quarantine_frame(quarantined, feed), batch_id)
    if batch.rejections:
        quarantine(con, pl.DataFrame(batch.rejections), batch_id)
    counted = quarantined
    if extra_quarantined is not None and extra_quarantined.height:
        counted = pl.concat([quarantined.select("sha256"), extra_quarantined.select("sha256")])
    outcomes = fill_counts(batch, loaded, counted, duplicate)
    record_files(con, outcomes, batch_id)
    record_exclusions(con, batch.excluded, feed, batch_id)
    for outcome in outcomes:
        summary.add(outcome)
    return outcomes
