"""The analysts' read-only snapshot of the warehouse, published with an atomic switch.

``publish`` copies the warehouse into a new file (``COPY FROM DATABASE``) while the pipeline
holds the writer connection, then points ``snapshot/current.duckdb`` at it by replacing a
symlink (``os.replace`` is atomic). An analyst's open session keeps reading the file it opened;
it never blocks the pipeline (another file) and never sees a half-built state. Old snapshots
beyond the last few are removed; on POSIX a reader that still has one open keeps reading it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.errors import UserFacingError
from pipelines.settings import Settings

CURRENT = "current.duckdb"
KEEP = 3


class NoSnapshot(UserFacingError):
    """Nothing has been published yet."""


def current_snapshot(settings: Settings) -> Path:
    """The published snapshot analysts should open (resolved file path)."""
    link = settings.snapshot_dir / CURRENT
    if not link.exists():
        raise NoSnapshot(f"no snapshot published yet in {settings.snapshot_dir}: run `xborder run` first")
    return link.resolve()


def publish(con: duckdb.DuckDBPyConnection, settings: Settings) -> Path:
    """Copy the warehouse to a new snapshot file and switch ``current.duckdb`` to it."""
    folder = settings.snapshot_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = f"xborder-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.duckdb"
    building = folder / f".{name}.building"
    building.unlink(missing_ok=True)
    source = con.execute("SELECT current_database()").fetchone()[0]
    con.execute("CHECKPOINT")
    con.execute(f"ATTACH {_quote(str(building))} AS snapshot_out")
    try:
        con.execute(f"COPY FROM DATABASE {_ident(source)} TO snapshot_out")
    finally:
        con.execute("DETACH snapshot_out")
    final = folder / name
    os.replace(building, final)
    link_tmp = folder / f".{CURRENT}.{os.getpid()}"
    link_tmp.unlink(missing_ok=True)
    os.symlink(name, link_tmp)
    os.replace(link_tmp, folder / CURRENT)
    _prune(folder, keep=final)
    return final


def _prune(folder: Path, keep: Path) -> None:
    snapshots = sorted(folder.glob("xborder-*.duckdb"))
    for old in snapshots[:-KEEP]:
        if old != keep:
            old.unlink(missing_ok=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
