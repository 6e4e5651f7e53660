"""Which landed files are new: by content checksum against the ledger.

Every landed file ends with its own ledger row, one per (sha256, path):

* new content is loaded (the first path in sort order when several new files share it);
* the same bytes at another path are a byte-identical re-delivery: a ``duplicate`` ledger row,
  nothing read (a copy landed together with its original gets it when the original's is written);
  except for catalogues, whose path is their supplier and snapshot date: their ledger key covers
  the path (``snapshot_key``), so the same list under another date loads as that date's snapshot;
* new content at the path of a loaded sales or catalogue file is a new version of that file:
  the earlier delivery is retracted first (``audit.retractions``, note ``superseded by <sha>``),
  then the new one loads. ECB files are cumulative (the history file grows every day), so a new
  version of one simply adds its new rates;
* a (path, sha256) already in the ledger is never processed again, whatever its status.

Checksums are cached in ``audit.file_checksum`` and reused while the file's identity (path, size,
mtime, ctime, inode) is unchanged: a rewrite that keeps size and mtime still changes ctime.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import channel_contracts, load_contracts
from pipelines.landing import discover, sha256_file
from pipelines.ledger import FeedSummary, await_original, known_files, known_paths, record_duplicates
from pipelines.settings import Settings

SUPERSEDING = ("sales", "catalogues")  # feeds where a new version of a file replaces the loaded one
DATED_BY_PATH = ("catalogues",)  # feeds whose path is part of what a file says (supplier, snapshot date)


@dataclass
class Scan:
    """What discovery found under one folder."""

    fresh: list[tuple[Path, str]] = field(default_factory=list)  # new content to load
    copies: list[tuple[Path, str]] = field(default_factory=list)  # known content at a new path
    twins: list[tuple[Path, str]] = field(default_factory=list)  # the same bytes as a file in ``fresh``
    superseded: list[tuple[str, str, str]] = field(default_factory=list)  # (path, loaded sha, new sha)


def scan(con: duckdb.DuckDBPyConnection, settings: Settings, folder: str, pattern: str) -> Scan:
    """Sort the files under ``landing/folder`` into new content, copies and new versions (no writes but the cache)."""
    files = checksums(con, settings.landing_dir, discover(settings.landing_dir, folder, pattern))
    base = settings.landing_dir.resolve()
    names = [path.relative_to(base).as_posix() for path, _ in files]
    if folder.split("/")[0] in DATED_BY_PATH:
        files = [(path, snapshot_key(name, sha)) for (path, sha), name in zip(files, names, strict=True)]
    seen_at = known_paths(con, names)
    content = known_files(con, [sha for _, sha in files])
    found = Scan()
    batch: set[str] = set()
    for (path, sha), name in zip(files, names, strict=True):
        versions = seen_at.get(name, {})
        if sha in versions:
            continue
        if folder.split("/")[0] in SUPERSEDING:
            found.superseded += [(name, old, sha) for old, status in sorted(versions.items()) if status == "loaded"]
        if sha in content:
            found.copies.append((path, sha))
        elif sha in batch:  # a second new path with the same bytes as a fresh file
            found.twins.append((path, sha))
        else:
            batch.add(sha)
            found.fresh.append((path, sha))
    return found


def snapshot_key(name: str, sha: str) -> str:
    """The ledger key of a dated snapshot: sha256 of its path and its bytes' sha256.

    A catalogue's date (and supplier) are in its path, so the same bytes under another date are
    another snapshot (a supplier reverting to an earlier list, a late snapshot equal to a later
    one) and must load as such, never count as a re-delivery of the other date.
    """
    return hashlib.sha256(f"{name}\0{sha}".encode()).hexdigest()


def new_files(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    folder: str,
    pattern: str,
    *,
    batch_id: str | None = None,
    summary: FeedSummary | None = None,
) -> list[tuple[Path, str]]:
    """(path, sha256) of files under ``landing/folder`` whose content is not in the ledger yet.

    With ``batch_id`` (a load), first settles the rest of what was found: earlier versions of
    re-delivered sales and catalogue files are retracted, and byte-identical copies get their
    ``duplicate`` ledger rows in this batch (counted in ``summary``).
    """
    found = scan(con, settings, folder, pattern)
    if batch_id is not None:
        settle(con, settings, found, batch_id, summary)
    return found.fresh


def settle(
    con: duckdb.DuckDBPyConnection, settings: Settings, found: Scan, batch_id: str, summary: FeedSummary | None
) -> None:
    """Retract the loaded versions that new content replaces; record the copies as duplicates.

    Copies of a file loaded in this batch are recorded when the original's ledger row is.
    """
    from pipelines.retract import supersede

    for path, old, new in found.superseded:
        notes = supersede(con, settings, path, old, new, batch_id)
        if summary is not None:
            summary.notes += notes
    base = settings.landing_dir.resolve()

    def rows(files: list[tuple[Path, str]]) -> list[tuple[str, str, int]]:
        return [(path.relative_to(base).as_posix(), sha, path.stat().st_size) for path, sha in files]

    for outcome in record_duplicates(con, rows(found.copies), batch_id):
        if summary is not None:
            summary.add(outcome)
    await_original(con, batch_id, rows(found.twins), summary)


def checksums(con: duckdb.DuckDBPyConnection, root: Path, paths: list[Path]) -> list[tuple[Path, str]]:
    """(path, sha256) of ``paths``; only files new or changed since last seen are read.

    Hashes are remembered in ``audit.file_checksum`` by path relative to the landing root and
    reused only while size, mtime, ctime and inode all match (as git's index does): a rewrite
    that restores size and mtime still moves ctime, which a user cannot set back.
    ``paths`` come from ``discover``, already resolved and checked to be inside ``root``.
    """
    if not paths:
        return []
    base = root.resolve()
    stats = [p.stat() for p in paths]
    names = [p.relative_to(base).as_posix() for p in paths]
    seen = pl.DataFrame(
        {
            "path": names,
            "size_bytes": [s.st_size for s in stats],
            "mtime_ns": [s.st_mtime_ns for s in stats],
            "ctime_ns": [s.st_ctime_ns for s in stats],
            "inode": [s.st_ino for s in stats],
        },
        schema={
            "path": pl.String,
            "size_bytes": pl.Int64,
            "mtime_ns": pl.Int64,
            "ctime_ns": pl.Int64,
            "inode": pl.Int64,
        },
    )
    con.register("_landed_stats", seen.to_arrow())
    try:
        cached = dict(
            con.execute(
                """SELECT c.path, any_value(c.sha256) FROM audit.file_checksum c
                   JOIN _landed_stats s USING (path, size_bytes, mtime_ns, ctime_ns, inode) GROUP BY c.path"""
            ).fetchall()
        )
    finally:
        con.unregister("_landed_stats")
    fresh = [i for i, name in enumerate(names) if name not in cached]
    hashed = {names[i]: sha256_file(paths[i]) for i in fresh}
    if hashed:
        rows = seen[fresh].with_columns(sha256=pl.Series(list(hashed.values())), hashed_at=pl.lit(_now()))
        con.register("_hashed", rows.to_arrow())
        try:
            # part of the caller's transaction when there is one (a rollback only forgets hashes)
            con.execute("DELETE FROM audit.file_checksum WHERE path IN (SELECT path FROM _hashed)")
            con.execute("INSERT INTO audit.file_checksum BY NAME SELECT * FROM _hashed")
        finally:
            con.unregister("_hashed")
    return [(path, cached.get(name) or hashed[name]) for path, name in zip(paths, names, strict=True)]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def pending_units(con: duckdb.DuckDBPyConnection, settings: Settings, feed: str) -> list[str]:
    """Suppliers (catalogues) or channels (sales) with landed files not in the ledger yet, sorted."""
    if feed == "catalogues":
        found = scan(con, settings, "catalogues", "*")
        root = settings.landing_dir.resolve() / "catalogues"
        return sorted({p.relative_to(root).parts[0] for p, _ in found.fresh + found.copies})
    if feed == "sales":
        units = []
        for channel, contract in channel_contracts(load_contracts(settings.contracts_dir, "sales")).items():
            found = scan(con, settings, f"sales/{channel}", contract.file_glob)
            if found.fresh or found.copies:
                units.append(channel)
        return sorted(units)
    return []
