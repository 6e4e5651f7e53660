"""The analysts' snapshot: a reader held open in another process never blocks a build and
publish, never sees a half-built state, and a new reader sees the new data (docs/design.md §7)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from decimal import Decimal

import duckdb
import pytest

from pipelines import snapshot
from pipelines.marts import build_marts
from pipelines.snapshot import NoSnapshot, current_snapshot, publish
from tests import REPO_ROOT
from tests.marts.conftest import D, add_facts, table

# An analyst's session: opens the snapshot read-only, answers, signals, keeps the connection
# open until told, then answers again from the same connection (same consistent snapshot).
READER = textwrap.dedent("""
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def answer():
        core = con.execute("SELECT count(*), sum(eur_amount) FROM core.fct_sales_event "
                           "WHERE ship_to_country = 'CN' AND event_date BETWEEN '2020-01-01' AND '2020-01-10'").fetchall()[0]
        mart = con.execute("SELECT sum(net_eur) FROM marts.export_progress_daily "
                           "WHERE target_id = 'all_goods_to_cn'").fetchall()[0][0]
        print(json.dumps({"events": core[0], "core": str(core[1]), "mart": str(mart)}), flush=True)
    answer()
    sys.stdin.readline()
    answer()
""")


def test_reader_held_open_during_build_and_publish(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    first = publish(con, settings)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.snapshot_dir / "current.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        before = json.loads(reader.stdout.readline())
        assert before == {"events": 4, "core": "75.00", "mart": "75.00"}
        # the pipeline goes on while the analyst's session is open: load, rebuild, publish twice
        add_facts(con, [("e7", "order", D(2020, 1, 5), "1.00", 1, "GB", "CN")], batch_id="b2")
        build_marts(con, settings)
        second = publish(con, settings)
        add_facts(con, [("e8", "order", D(2020, 1, 6), "2.00", 1, "GB", "CN")], batch_id="b3")
        build_marts(con, settings)
        third = publish(con, settings)
        assert len({first, second, third}) == 3 and current_snapshot(settings) == third
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert json.loads(reader.stdout.readline()) == before  # still the old, consistent snapshot
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)
    assert reader.returncode == 0
    with duckdb.connect(str(settings.snapshot_dir / "current.duckdb"), read_only=True) as fresh:
        assert fresh.execute(
            "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = 'all_goods_to_cn'"
        ).fetchall() == [(Decimal("78.00"),)]


def test_xborder_sql_answers_while_a_build_holds_the_warehouse(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    publish(con, settings)
    con.execute("BEGIN TRANSACTION")  # a build in progress: the writer holds the file, half-written
    con.execute("DELETE FROM marts.export_progress_daily")
    add_facts(con, [("e9", "order", D(2020, 1, 5), "1000.00", 1, "GB", "CN")], batch_id="b2")
    env = {**os.environ, "XBORDER_HOME": str(settings.home)}
    query = "SELECT target_id, cumulative_net_eur, status FROM marts.export_progress_latest ORDER BY position"
    answer = subprocess.run(
        [sys.executable, "-m", "pipelines", "sql", query, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=True,
    )
    con.execute("ROLLBACK")
    assert json.loads(answer.stdout)[:2] == [
        {"target_id": "uk_goods_to_cn", "cumulative_net_eur": "25.00", "status": "off_track"},
        {"target_id": "all_goods_to_cn", "cumulative_net_eur": "75.00", "status": None},
    ]


def test_snapshot_is_a_complete_read_only_copy(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    path = publish(con, settings)
    assert not stat.S_IMODE(path.stat().st_mode) & 0o222  # nobody writes a published snapshot
    assert (settings.snapshot_dir / "current.duckdb").is_symlink()
    with duckdb.connect(str(path), read_only=True) as copy:
        for name in ("core.fct_sales_event", "marts.export_progress_daily", "marts.export_breakdown_monthly"):
            assert table(copy, name) == table(con, name)
        comments = copy.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts' AND comment IS NOT NULL"
        ).fetchall()[0][0]
        assert comments > 50
        assert copy.execute("SELECT core.to_eur(10.00, 1.1)").fetchall() == [(Decimal("9.09"),)]  # macros too
        with pytest.raises(duckdb.Error, match="read-only"):
            copy.execute("DELETE FROM core.fct_sales_event")


def test_copy_database_fallback_gives_the_same_snapshot(fixture_warehouse, settings, monkeypatch) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    monkeypatch.setattr(snapshot, "_source_file", lambda con: None)  # e.g. a WAL left over
    report: dict = {}
    path = publish(con, settings, report=report)
    assert report == {"method": "copy_database"}
    with duckdb.connect(str(path), read_only=True) as copy:
        for name in ("core.fct_sales_event", "marts.export_progress_daily", "core.dim_target"):
            assert table(copy, name) == table(con, name)


def test_old_and_stale_snapshots_are_cleaned(fixture_warehouse, settings) -> None:
    with pytest.raises(NoSnapshot, match="no snapshot published yet"):
        current_snapshot(settings)
    settings.snapshot_dir.mkdir(parents=True)
    crashed = settings.snapshot_dir / ".xborder-20200101T000000000000Z.duckdb.building"
    crashed.write_text("half a file")
    published = [publish(fixture_warehouse, settings) for _ in range(5)]
    assert sorted(settings.snapshot_dir.glob("xborder-*.duckdb")) == published[-3:]
    assert not crashed.exists()
    assert current_snapshot(settings) == published[-1]
