"""Fingerprints of what a build publishes, so a gate's pass (and a publication) can be tied to that data.

* :func:`data_state`: the data (ledger, marts, pending passes); a quality gate records it when it
  runs, and publishing requires the core and marts gates to have passed on the state being
  published (``pipelines.runner.publish_allowed``);
* :func:`build_inputs`: what else a build reads (the targets file, the SQL, the package version);
* :func:`up_to_date`: the published snapshot was built from exactly the current data and inputs
  and its reports were written, so a run with nothing new skips the build.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines import __version__
from pipelines.settings import Settings

# every ledger row (file, content, status, batch) and every pending pass: shared by both fingerprints
LEDGER = """(SELECT string_agg(concat_ws(':', sha256, path, status, batch_id), ',' ORDER BY sha256, path)
                FROM audit.load_ledger)"""
PASSES = "(SELECT string_agg(batch_id, ',' ORDER BY batch_id) FROM audit.pending_passes)"
REPORTS_STAMP = ".built-from"  # in the reports folder: the snapshot the reports were last written from


def data_state(con: duckdb.DuckDBPyConnection) -> str:
    """md5 over every ledger row (file, content, status, batch), every mart part and batch, every pending pass."""
    marts = (
        "(SELECT string_agg(part || ':' || fingerprint, ',' ORDER BY part) FROM audit.mart_state), "
        "(SELECT string_agg(batch_id || ':' || events || ':' || eur_amount, ',' ORDER BY batch_id) "
        "FROM audit.mart_batches)"
    )
    ((state,),) = con.execute(f"SELECT md5(concat_ws('#', {LEDGER}, {marts}, {PASSES}))").fetchall()
    return str(state)


def ledger_state(con: duckdb.DuckDBPyConnection) -> str:
    """md5 over every ledger row and pending pass: changes whenever a file loads, is retracted or accepted."""
    ((state,),) = con.execute(f"SELECT md5(concat_ws('#', {LEDGER}, {PASSES}))").fetchall()
    return str(state)


def build_inputs(settings: Settings) -> str:
    """sha256 over the targets file, every SQL file the build runs and the package version."""
    digest = hashlib.sha256(__version__.encode())
    files = {"targets": settings.targets_path}
    files |= {p.relative_to(settings.sql_dir).as_posix(): p for p in sorted(settings.sql_dir.rglob("*.sql"))}
    for name, path in files.items():
        digest.update(f"\0{name}\0".encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def record_publication(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, snapshot: Path, published_at: datetime
) -> None:
    """Remember what ``snapshot`` was built from (part of the publish step)."""
    con.execute(
        "INSERT OR REPLACE INTO audit.publications VALUES (?, ?, ?, ?, ?)",
        [run_id, published_at, str(snapshot), data_state(con), build_inputs(settings)],
    )


def up_to_date(con: duckdb.DuckDBPyConnection, settings: Settings) -> datetime | None:
    """When the current snapshot was published, if nothing it depends on changed since; else None.

    Current means: the latest publication is the live ``current.duckdb``, was built from the
    current data state and build inputs, and the reports were written from it.
    """
    rows = con.execute(
        "SELECT published_at, snapshot, data_state, build_inputs FROM audit.publications "
        "ORDER BY published_at DESC LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    published_at, snapshot, state, inputs = rows[0]
    current = settings.snapshot_dir / "current.duckdb"
    if not current.exists() or current.resolve() != Path(snapshot).resolve():
        return None
    if reports_built_from(settings) != Path(snapshot).name:
        return None
    if state != data_state(con) or inputs != build_inputs(settings):
        return None
    return published_at


def reports_built_from(settings: Settings) -> str | None:
    """The snapshot file name the reports were last written from (None before the first)."""
    stamp = settings.reports_dir / REPORTS_STAMP
    return stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else None


def stamp_reports(settings: Settings, snapshot: Path) -> None:
    """Record, atomically, that the reports now show ``snapshot``."""
    stamp = settings.reports_dir / REPORTS_STAMP
    stamp.parent.mkdir(parents=True, exist_ok=True)
    tmp = stamp.with_name(stamp.name + ".tmp")
    tmp.write_text(snapshot.name + "\n", encoding="utf-8")
    tmp.replace(stamp)
