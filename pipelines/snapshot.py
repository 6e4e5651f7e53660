"""The analysts' read-only snapshot of the warehouse, published with an atomic switch (DESIGN §7).

``publish`` runs on the pipeline's writer connection after a green build. It writes a complete
new file ``snapshot/xborder-<UTC time>.duckdb`` under a hidden temporary name, then points
``snapshot/current.duckdb`` at it by replacing a symlink (``os.replace`` is atomic). So:

* an analyst's session (``xborder sql``, ``duckdb -readonly snapshot/current.duckdb``) reads a
  file the pipeline never writes again: it never blocks a run, a run never fails because of
  it, and it never sees a half-built state; a session opened before a switch keeps reading the
  snapshot it opened, one opened after reads the new one;
* published files are made read-only (mode 0444); the last few are kept and older ones
  removed (on POSIX a session still holding a removed file keeps reading it).

The copy: ``CHECKPOINT`` (everything in the main file, WAL empty) and a plain file copy while
this process holds the writer, checked against the source's table sizes; otherwise (a WAL
left over, an in-memory warehouse, a mismatch) ``COPY FROM DATABASE`` into a new attached file.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.errors import UserFacingError
from pipelines.settings import Settings

CURRENT = "current.duckdb"
PREFIX = "xborder-"
KEEP = 3


class NoSnapshot(UserFacingError):
    """Nothing has been published yet."""


def current_snapshot(settings: Settings) -> Path:
    """The published snapshot analysts should open (the resolved file behind ``current.duckdb``)."""
    link = settings.snapshot_dir / CURRENT
    if not link.exists():
        raise NoSnapshot(
            f"no snapshot published yet in {settings.snapshot_dir}: `xborder run` publishes one after a green build"
        )
    return link.resolve()


def publish(con: duckdb.DuckDBPyConnection, settings: Settings) -> Path:
    """Copy the warehouse to a new snapshot file and switch ``current.duckdb`` to it; return the file."""
    folder = settings.snapshot_dir
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".{PREFIX}*.building*"):  # a crashed earlier publish (one writer at a time)
        stale.unlink(missing_ok=True)
    name = f"{PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.duckdb"
    building = folder / f".{name}.building"
    con.execute("CHECKPOINT")
    if not _copy_file(con, building):
        _copy_database(con, building)
    building.chmod(0o444)
    final = folder / name
    os.replace(building, final)
    link_tmp = folder / f".{CURRENT}.{os.getpid()}.building"
    link_tmp.unlink(missing_ok=True)
    os.symlink(name, link_tmp)
    os.replace(link_tmp, folder / CURRENT)
    _prune(folder, keep=final)
    return final


def _sizes(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple]:
    return con.execute(
        """SELECT schema_name, table_name, estimated_size, column_count FROM duckdb_tables()
           WHERE database_name = ? ORDER BY ALL""",
        [database],
    ).fetchall()


def _copy_file(con: duckdb.DuckDBPyConnection, target: Path) -> bool:
    """Checkpointed file copy; False if it cannot be used (then nothing is left behind)."""
    ((database, path),) = con.execute(
        "SELECT database_name, path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if not path or path == ":memory:":
        return False
    source = Path(path)
    wal = Path(f"{path}.wal")
    if not source.is_file() or (wal.exists() and wal.stat().st_size > 0):
        return False
    shutil.copyfile(source, target)
    try:
        with duckdb.connect(str(target), read_only=True) as copy:
            same = _sizes(copy, copy.execute("SELECT current_database()").fetchall()[0][0]) == _sizes(con, database)
    except duckdb.Error:
        same = False
    if not same:
        target.unlink(missing_ok=True)
    return same


def _copy_database(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    target.unlink(missing_ok=True)
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute(f"ATTACH {_quote(str(target))} AS xborder_snapshot_out")
    try:
        con.execute(f"COPY FROM DATABASE {_ident(source)} TO xborder_snapshot_out")
    finally:
        con.execute("DETACH xborder_snapshot_out")


def _prune(folder: Path, keep: Path) -> None:
    snapshots = sorted(folder.glob(f"{PREFIX}*.duckdb"))
    for old in snapshots[:-KEEP]:
        if old != keep:
            old.unlink(missing_ok=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
