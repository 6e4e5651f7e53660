"""Warehouse bootstrap: versioned migrations applied once, clear error when locked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import Settings
from pipelines.warehouse import MigrationError, WarehouseLocked, bootstrap, connect, has_tables, migrate


def test_bootstrap_creates_layers_and_is_idempotent(settings: Settings) -> None:
    first = bootstrap()
    assert [m.version for m in first] == sorted(m.version for m in first)
    assert len(first) >= 3
    assert bootstrap() == []  # a re-run applies nothing new
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
        assert {"raw", "core", "marts", "audit"} <= schemas
        recorded = con.execute("SELECT count(*) FROM audit.schema_migrations").fetchall()[0][0]
        assert recorded == len(first)


def test_new_migration_is_applied_alone(tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    (sql / "core").mkdir(parents=True)
    (sql / "core" / "V001__one.sql").write_text("CREATE SCHEMA core; CREATE TABLE core.a (x INT);")
    con = duckdb.connect()
    assert [m.name for m in migrate(con, sql)] == ["one"]
    (sql / "core" / "V002__two.sql").write_text("CREATE TABLE core.b (x INT);")
    assert [m.name for m in migrate(con, sql)] == ["two"]
    assert migrate(con, sql) == []


def test_changed_applied_migration_is_refused(tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    (sql / "raw").mkdir(parents=True)
    path = sql / "raw" / "V001__one.sql"
    path.write_text("CREATE SCHEMA raw;")
    con = duckdb.connect()
    migrate(con, sql)
    path.write_text("CREATE SCHEMA raw; -- edited")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(con, sql)


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    (sql / "raw").mkdir(parents=True)
    (sql / "raw" / "V001__bad.sql").write_text("CREATE SCHEMA raw; CREATE TABLE raw.t (x NOPE);")
    con = duckdb.connect()
    with pytest.raises(MigrationError, match="V001__bad.sql"):
        migrate(con, sql)
    assert con.execute("SELECT count(*) FROM audit.schema_migrations").fetchall()[0][0] == 0


def test_locked_warehouse_fails_clearly(settings: Settings) -> None:
    bootstrap()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(30)",
            str(settings.warehouse_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(WarehouseLocked, match="locked by another process"):
            connect(settings=settings)
    finally:
        holder.kill()
        holder.wait()


def test_has_tables_wants_every_one_named(con: duckdb.DuckDBPyConnection) -> None:
    assert has_tables(con, "audit", "load_ledger", "schema_migrations")
    assert not has_tables(con, "audit", "load_ledger", "no_such_table")
    assert not has_tables(con, "marts", "load_ledger")  # the schema counts
    assert has_tables(con, "core", "fx_rate", "fx_rate")  # a name twice is one table
