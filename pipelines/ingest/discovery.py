"""Which landed files are new: by content checksum against the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import channel_contracts, load_contracts
from pipelines.landing import discover, sha256_file
from pipelines.ledger import known_files
from pipelines.settings import Settings


def new_files(con: duckdb.DuckDBPyConnection, settings: Settings, folder: str, pattern: str) -> list[tuple[Path, str]]:
    """(path, sha256) of files under ``landing/folder`` whose content is not in the ledger yet.

    A file whose bytes equal another new file's is listed once (the first path in sort order).
    """
    files = checksums(con, settings.landing_dir, discover(settings.landing_dir, folder, pattern))
    known = known_files(con, [sha for _, sha in files])
    seen: set[str] = set()
    fresh = []
    for path, sha in files:
        if sha in known or sha in seen:
            continue
        seen.add(sha)
        fresh.append((path, sha))
    return fresh


def checksums(con: duckdb.DuckDBPyConnection, root: Path, paths: list[Path]) -> list[tuple[Path, str]]:
    """(path, sha256) of ``paths``; only files new or changed (size, mtime) since last seen are read.

    Hashes are remembered in ``audit.file_checksum`` by path relative to the landing root.
    ``paths`` come from ``discover``, already resolved and checked to be inside ``root``.
    """
    if not paths:
        return []
    base = root.resolve()
    stats = [p.stat() for p in paths]
    names = [p.relative_to(base).as_posix() for p in paths]
    seen = pl.DataFrame(
        {"path": names, "size_bytes": [s.st_size for s in stats], "mtime_ns": [s.st_mtime_ns for s in stats]},
        schema={"path": pl.String, "size_bytes": pl.Int64, "mtime_ns": pl.Int64},
    )
    con.register("_landed_stats", seen.to_arrow())
    try:
        cached = dict(
            con.execute(
                """SELECT c.path, any_value(c.sha256) FROM audit.file_checksum c
                   JOIN _landed_stats s USING (path, size_bytes, mtime_ns) GROUP BY c.path"""
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
    """Suppliers (catalogues) or channels (sales) with new landed files, sorted."""
    if feed == "catalogues":
        files = new_files(con, settings, "catalogues", "*")
        return sorted({p.relative_to(settings.landing_dir / "catalogues").parts[0] for p, _ in files})
    if feed == "sales":
        units = []
        for channel, contract in channel_contracts(load_contracts(settings.contracts_dir, "sales")).items():
            if new_files(con, settings, f"sales/{channel}", contract.file_glob):
                units.append(channel)
        return sorted(units)
    return []
