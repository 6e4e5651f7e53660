"""The DuckDB warehouse: connecting (with a clear error when locked) and migrating.

Schema changes are versioned SQL files ``pipelines/resources/sql/<layer>/V<NNN>__<name>.sql``. They are applied in
version order across layers and recorded in ``audit.schema_migrations``; a re-run applies only
what is new, and a changed applied file is an error (write a new version instead).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.errors import UserFacingError, resource_problem
from pipelines.settings import Settings, get_settings

MIGRATION_RE = re.compile(r"^V(\d{3,})__([a-z0-9_]+)\.sql$")


class WarehouseLocked(UserFacingError):
    """Another process holds the warehouse file."""


class MigrationError(UserFacingError):
    """The migration history does not match the SQL files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover_migrations(sql_dir: Path) -> list[Migration]:
    """Every ``V<NNN>__name.sql`` under ``sql_dir``, in version order (versions unique)."""
    found: dict[int, Migration] = {}
    for path in sorted(sql_dir.rglob("V*.sql")):
        match = MIGRATION_RE.match(path.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations share version {version}: {found[version].path}, {path}")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def connect(
    path: Path | None = None,
    *,
    read_only: bool = False,
    settings: Settings | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting up to ``lock_timeout_s`` if another process holds it.

    Raises :class:`WarehouseLocked` with the file name instead of hanging or failing obscurely.
    """
    settings = settings or get_settings()
    path = path or settings.warehouse_path
    path.parent.mkdir(parents=True, exist_ok=True)
    config = _config(settings)
    deadline = time.monotonic() + settings.lock_timeout_s
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
            _keep(path, read_only, config)
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"warehouse {path} is locked by another process (waited {settings.lock_timeout_s:.0f}s): {exc}"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


_Config = dict[str, str | bool | int | float | list[str]]  # what duckdb.connect(config=...) accepts


def _config(settings: Settings) -> _Config:
    # Checkpoint when the WAL reaches 1 GB rather than DuckDB's 16 MB: a load commits chunk by
    # chunk, and checkpointing after every chunk wrote the data twice (WAL, then the file).
    config: _Config = {"checkpoint_threshold": "1GB"}
    if settings.threads:
        config["threads"] = settings.threads
    if settings.memory_limit:
        config["memory_limit"] = settings.memory_limit
    return config


_wanted: set[Path] = set()  # warehouse files to keep open while a run holds its lock (kept_open)
_kept: dict[Path, duckdb.DuckDBPyConnection] = {}


@contextmanager
def kept_open(settings: Settings) -> Iterator[None]:
    """Meanwhile, once a step opened the warehouse, keep it open so later steps reuse the open database.

    DuckDB shares one database instance among a process's connections to a file: every step
    still gets a connection of its own (its own temp tables and variables) without opening the
    file and reading its catalog again, and the buffer pool stays warm between steps. Nothing is
    held before the first step connects, nor after this returns.
    """
    path = settings.warehouse_path
    _wanted.add(path)
    try:
        yield
    finally:
        _wanted.discard(path)
        held = _kept.pop(path, None)
        if held is not None:
            held.close()


def _keep(path: Path, read_only: bool, config: _Config) -> None:
    """Hold one more connection to a wanted warehouse just opened (cheap: the instance is open)."""
    if path in _wanted and path not in _kept and not read_only:
        _kept[path] = duckdb.connect(str(path), config=config)


@contextmanager
def session(
    path: Path | None = None, *, read_only: bool = False, settings: Settings | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is closed on exit (releasing the file lock)."""
    con = connect(path, read_only=read_only, settings=settings)
    try:
        yield con
    finally:
        con.close()


def has_tables(con: duckdb.DuckDBPyConnection, schema: str, *names: str) -> bool:
    """Whether every table ``schema.<name>`` exists in the open database (e.g. an older snapshot lacks newer ones)."""
    ((found,),) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND list_contains(?, table_name)",
        [schema, list(names)],
    ).fetchall()
    return int(found) == len(set(names))


def migrate(con: duckdb.DuckDBPyConnection, sql_dir: Path | None = None) -> list[Migration]:
    """Apply the migrations not yet recorded; return those applied now."""
    sql_dir = sql_dir or get_settings().sql_dir
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(
        """CREATE TABLE IF NOT EXISTS audit.schema_migrations (
               version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,
               applied_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp())"""
    )
    applied = dict(con.execute("SELECT version, checksum FROM audit.schema_migrations").fetchall())
    done: list[Migration] = []
    for migration in discover_migrations(sql_dir):
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationError(f"{migration.path} changed after it was applied; add a new version instead")
            continue
        con.execute("BEGIN")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO audit.schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                [migration.version, migration.name, migration.checksum],
            )
            con.execute("COMMIT")
        except Exception as exc:
            rollback(con)
            if resource_problem(exc, str(migration.path.parent)):
                raise
            raise MigrationError(f"{migration.path}: {exc}") from exc
        done.append(migration)
    return done


def bootstrap(settings: Settings | None = None) -> list[Migration]:
    """Create or upgrade the warehouse file; return the migrations applied now."""
    with session(settings=settings) as con:
        return migrate(con, (settings or get_settings()).sql_dir)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a failure rolls back everything done inside the block."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        rollback(con)
        raise
    con.execute("COMMIT")


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the open transaction, if there still is one (a failed COMMIT, e.g. out of memory, ends it)."""
    with suppress(duckdb.Error):
        con.execute("ROLLBACK")
