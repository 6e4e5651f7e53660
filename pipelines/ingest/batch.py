"""Reading a batch of landed files through their contracts, and the ledger rows that result.

A file that breaks its contract is rejected whole (one quarantine row naming file, line and
rule; its lines counted as read and quarantined). Valid files become one frame with lineage
columns ``sha256``, ``source_file`` (path relative to the landing root) and ``source``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import Contract, ContractError
from pipelines.landing import relative
from pipelines.ledger import FeedSummary, FileOutcome, quarantine, record_files
from pipelines.readers import read_landed

READ_THREADS = min(8, os.cpu_count() or 2)  # files read at once


@dataclass
class Batch:
    """The readable rows of a batch, plus what was rejected whole."""

    frame: pl.DataFrame
    files: dict[str, FileOutcome]  # sha256 -> outcome (counts filled in by the feed)
    rejected: list[FileOutcome] = field(default_factory=list)
    rejections: list[dict[str, object]] = field(default_factory=list)  # quarantine rows


def _data_lines(path: Path, contract: Contract | None) -> int:
    """Physical data lines of a rejected text file (0 when it cannot be counted)."""
    if contract is None or contract.format not in {"csv", "jsonl"}:
        return 0
    data = path.read_bytes()
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(0, lines - (1 if contract.format == "csv" else 0))


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
) -> None:
    """Record a whole-file rejection: a ledger row that balances and one quarantine row."""
    rel = relative(root, path)
    lines = _data_lines(path, contract)
    batch.rejected.append(
        FileOutcome(
            sha,
            rel,
            feed,
            source,
            contract.name if contract else None,
            status="rejected",
            rows_read=lines,
            rows_quarantined=lines,
            message=message,
            bytes=path.stat().st_size,
        )
    )
    batch.rejections.append(
        {
            "sha256": sha,
            "path": rel,
            "feed": feed,
            "source": source,
            "line_number": line,
            "column_name": None,
            "reason": reason,
            "detail": message,
            "raw_row": None,
        }
    )


def read_batch(files: list[tuple[Path, str, str | None, Contract | None]], root: Path, feed: str) -> Batch:
    """Read (path, sha256, source, contract) files; a missing contract rejects the file."""
    frames: list[pl.DataFrame] = []
    batch = Batch(pl.DataFrame(), {})
    read = _read_all([(path, contract) for path, _, _, contract in files])
    for (path, sha, source, contract), frame in zip(files, read, strict=True):
        if contract is None:
            reject(
                batch,
                path,
                sha,
                root,
                feed,
                source,
                None,
                f"{relative(root, path)}: no contract in contracts/ covers source {source!r}; "
                "add the source to a contract (README, section Contracts)",
                None,
                "no_contract",
            )
            continue
        if isinstance(frame, ContractError):
            reject(batch, path, sha, root, feed, source, contract, str(frame), frame.line)
            continue
        rel = relative(root, path)
        batch.files[sha] = FileOutcome(
            sha, rel, feed, source, contract.name, rows_read=frame.height, bytes=path.stat().st_size
        )
        frames.append(frame.with_columns(sha256=pl.lit(sha), source_file=pl.lit(rel), source=pl.lit(source)))
    if frames:
        batch.frame = pl.concat(frames, how="diagonal")
    return batch


def _read_all(files: list[tuple[Path, Contract | None]]) -> list[pl.DataFrame | ContractError | None]:
    """``read_landed`` of every file, several at a time (Polars reads without the GIL), in order.

    A file that breaks its contract gives its ``ContractError``; a file without a contract None.
    """

    def one(item: tuple[Path, Contract | None]) -> pl.DataFrame | ContractError | None:
        path, contract = item
        if contract is None:
            return None
        try:
            return read_landed(path, contract)
        except ContractError as exc:
            return exc

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
    outcomes = []
    for sha, outcome in batch.files.items():
        outcome.rows_loaded = n_loaded.get(sha, 0)
        outcome.rows_quarantined = n_quarantined.get(sha, 0)
        outcome.rows_duplicate = n_duplicate.get(sha, 0)
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
    for outcome in outcomes:
        summary.add(outcome)
    return outcomes
