"""The analysts' snapshot: an open reader in another process never blocks nor sees a half-built state."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date

import duckdb

from pipelines.marts import build_marts
from pipelines.snapshot import current_snapshot, publish
from tests.marts.conftest import add_facts

READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT count(*) FROM core.fct_sales_event").fetchall()[0][0], flush=True)
    sys.stdin.readline()  # hold the session open until told
    print(con.execute("SELECT count(*) FROM core.fct_sales_event").fetchall()[0][0], flush=True)
""")


def test_reader_held_open_during_build_and_publish(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    first = publish(con, settings)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(current_snapshot(settings))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "7"
        # the pipeline goes on while the analyst's session is open: load, rebuild, publish
        add_facts(con, [("e7", "order", date(2020, 1, 5), "1.00", 1, "GB", "CN")])
        build_marts(con, settings)
        second = publish(con, settings)
        assert second != first and current_snapshot(settings) == second
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "7"  # still the consistent old snapshot
    finally:
        reader.kill()
        reader.wait()
    with duckdb.connect(str(current_snapshot(settings)), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM core.fct_sales_event").fetchall() == [(8,)]
        assert fresh.execute("SELECT count(*) FROM marts.export_progress_daily").fetchall()[0][0] > 0


def test_old_snapshots_are_pruned(fixture_warehouse, settings) -> None:
    for _ in range(5):
        publish(fixture_warehouse, settings)
    assert len(list(settings.snapshot_dir.glob("xborder-*.duckdb"))) == 3
