"""The analysts' read-only snapshot of the warehouse, published with an atomic switch (docs/design.md §7).

``publish`` runs on the pipeline's writer connection after a green build. It makes a complete
new file ``snapshot/xborder-<UTC time>.duckdb`` under a hidden temporary name, then points
``snapshot/current.duckdb`` at it by replacing a symlink (``os.replace`` is atomic). So:

* an analyst's session (``xborder sql``, or any DuckDB 2 client opening ``snapshot/current.duckdb``
  read-only) reads a file the pipeline does not write while anyone has it open: it never blocks
  a run, a run never fails because of it, and it never sees a half-built state; a session opened before a
  switch keeps reading the snapshot it opened, one opened after reads the new one;
* published files are made read-only (mode 0444); the last few are kept and older ones
  removed (on POSIX a session still holding a removed file keeps reading it).

The new file is a byte copy of the checkpointed warehouse (same tables, types, constraints,
comments, macros: readers see exactly the warehouse). What it writes follows what changed:
the snapshot this publish would otherwise prune, if no DuckDB connection holds it
(``snapshot_blocks.lock_unheld``), is renamed to the temporary name and only its chunks whose
bytes differ from the warehouse's are rewritten (``snapshot_blocks.sync``). Without such a
file (the first ``KEEP`` publishes, or that one held open: the prune then unlinks it, its
readers keep reading it) the warehouse file is copied whole.
Either way the result is checked against the source's table sizes; if that fails, or the
warehouse is not one checkpointed file (a WAL left over, in memory), ``COPY FROM DATABASE``
writes a new attached file instead.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.errors import UserFacingError
from pipelines.settings import Settings
from pipelines.snapshot_blocks import lock_unheld, spans, sync

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


def publish(con: duckdb.DuckDBPyConnection, settings: Settings, *, report: dict | None = None) -> Path:
    """Bring a new snapshot file to the warehouse's state and switch ``current.duckdb`` to it; return the file.

    ``report``, if given, receives how: ``method`` (``delta``: an older snapshot brought up to
    date, ``copy``: a whole-file copy, ``copy_database``), ``recycled`` (the older snapshot's
    name), ``chunks``, ``chunks_written`` (their indexes) and ``bytes_written``.
    """
    folder = settings.snapshot_dir
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".{PREFIX}*.building*"):  # a crashed earlier publish (one writer at a time)
        stale.unlink(missing_ok=True)
    name = f"{PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.duckdb"
    building = folder / f".{name}.building"
    final = folder / name
    con.execute("CHECKPOINT")
    done = _copy_file(con, building)
    if done is None:
        _copy_database(con, building)
        done = {"method": "copy_database"}
    building.chmod(0o444)
    os.replace(building, final)
    link_tmp = folder / f".{CURRENT}.{os.getpid()}.building"
    link_tmp.unlink(missing_ok=True)
    os.symlink(name, link_tmp)
    os.replace(link_tmp, folder / CURRENT)
    _prune(folder, keep=final)
    if report is not None:
        report.update(done)
    return final


def _sizes(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple]:
    return con.execute(
        """SELECT schema_name, table_name, estimated_size, column_count FROM duckdb_tables()
           WHERE database_name = ? ORDER BY ALL""",
        [database],
    ).fetchall()


def _source_file(con: duckdb.DuckDBPyConnection) -> tuple[str, Path] | None:
    """The warehouse's database name and file, if the file alone holds everything (no WAL left)."""
    ((database, path),) = con.execute(
        "SELECT database_name, path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if not path or path == ":memory:":
        return None
    source = Path(path)
    wal = Path(f"{path}.wal")
    if not source.is_file() or (wal.exists() and wal.stat().st_size > 0):
        return None
    return database, source


def _copy_file(con: duckdb.DuckDBPyConnection, target: Path) -> dict | None:
    """Make ``target`` a byte copy of the checkpointed warehouse, recycling an unheld older snapshot.

    None if the file cannot be used (then nothing is left at ``target``).
    """
    found = _source_file(con)
    if found is None:
        return None
    database, source = found
    ((chunk,),) = con.execute(
        "SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchall()
    if not chunk or chunk <= 0:
        return None
    donor = _donor(target.parent)
    try:
        if donor is None:  # a plain copy (sendfile): nothing to compare with
            shutil.copyfile(source, target)
            size = target.stat().st_size
            done = _done(None, len(spans(size, chunk)), None, size)
        else:
            recycled, fd = donor
            try:
                os.replace(recycled, target)  # from here on nobody can open it by its published name
                synced = sync(source, fd, chunk)
            finally:
                os.close(fd)  # releases the lock: the file is complete, under a name no reader knows
            done = _done(recycled, synced.chunks, synced.written, synced.bytes_written)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if not _same(con, database, target):
        target.unlink(missing_ok=True)
        return None
    return done


def _done(recycled: Path | None, chunks: int, written: tuple[int, ...] | None, bytes_written: int) -> dict:
    """``publish``'s report of a file copy (``written`` None: every chunk)."""
    return {
        "method": "copy" if recycled is None else "delta",
        "recycled": recycled and recycled.name,
        "chunks": chunks,
        "chunks_written": list(range(chunks) if written is None else written),
        "bytes_written": bytes_written,
    }


def _donor(folder: Path) -> tuple[Path, int] | None:
    """A snapshot the prune would remove after this publish that nobody holds, opened and locked.

    So the last ``KEEP`` snapshots stay as they were; a held one is left to the prune (unlinked:
    its readers keep reading it) and the new file is then a whole copy.
    """
    link = folder / CURRENT
    current = link.resolve() if link.exists() else None
    snapshots = sorted(folder.glob(f"{PREFIX}*.duckdb"))
    for old in snapshots[: max(0, len(snapshots) - (KEEP - 1))]:
        if old == current:
            continue
        fd = lock_unheld(old)
        if fd is not None:
            return old, fd
    return None


def _same(con: duckdb.DuckDBPyConnection, database: str, target: Path) -> bool:
    """Whether ``target`` opens and holds the tables of ``database`` with the same sizes."""
    try:
        with duckdb.connect(str(target), read_only=True) as copy:
            return _sizes(copy, copy.execute("SELECT current_database()").fetchall()[0][0]) == _sizes(con, database)
    except duckdb.Error:
        return False


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
