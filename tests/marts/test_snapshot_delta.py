"""Publishing in proportion to the change: an older snapshot nobody holds is brought up to date by
rewriting only its chunks whose bytes differ from the warehouse's; the result is the warehouse
byte for byte.

The warehouse holds 300k bulk facts (batch b0, 300 files) so that the fact table spans many
blocks; increments, a file's facts removed (what a retraction does to core) and facts re-pointed
in place (what a late catalogue does) must each rewrite a small share of the file, exactly the
chunks that differ, and leave the published snapshot equal to the warehouse table by table.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipelines import snapshot_blocks
from pipelines.marts import build_marts, invalidate
from pipelines.settings import Settings
from pipelines.snapshot import CURRENT, KEEP, current_snapshot, publish
from pipelines.snapshot_blocks import spans
from tests.marts.conftest import D, add_facts
from tests.marts.test_snapshot import READER

BULK = 300_000


def add_bulk(con: duckdb.DuckDBPyConnection, rows: int = BULK, batch_id: str = "b0") -> None:
    """``rows`` varied 2019 facts in ``rows // 1000`` files of one batch."""
    con.execute(
        """INSERT INTO core.fct_sales_event BY NAME
           SELECT 'tmall_global' AS channel, 'bulk-' || i AS event_id, 'order' AS event_type,
                  TIMESTAMP '2019-01-01' + to_days((i // 500)::INTEGER) AS event_ts,
                  (DATE '2019-01-01' + (i // 500)::INTEGER) AS event_date, 'BO' || (i // 3) AS order_id,
                  (i % 3 + 1)::VARCHAR AS line_id, (DATE '2019-01-01' + (i // 500)::INTEGER) AS order_date,
                  'GB001' AS supplier_id, 'W' || (i % 97) AS supplier_sku, 'p' || (i % 97) AS product_sk,
                  'GB' AS country_of_origin, '220830' AS hs_code, '22' AS hs_chapter, 'Spirits' AS category,
                  (1 + i % 5)::INTEGER AS quantity, 'GBP' AS currency,
                  ((i * 7919) % 100000 / 100)::DECIMAL(18, 4) AS local_amount, 0.85::DECIMAL(18, 6) AS fx_rate,
                  (DATE '2019-01-01' + (i // 500)::INTEGER) AS fx_rate_date,
                  ((i * 7919) % 100000 / 85)::DECIMAL(18, 2) AS eur_amount,
                  ((1 + i % 5) / 2)::DECIMAL(18, 4) AS weight_kg, 'CN' AS ship_to_country,
                  'Guangdong' AS ship_to_region, 'bulk/' || (i // 1000) || '.jsonl' AS source_file,
                  (i % 1000 + 1)::BIGINT AS line_number, ? AS batch_id
           FROM range(?) r(i)""",
        [batch_id, rows],
    )


@pytest.fixture
def big(fixture_warehouse: duckdb.DuckDBPyConnection, settings: Settings) -> duckdb.DuckDBPyConnection:
    add_bulk(fixture_warehouse)
    build_marts(fixture_warehouse, settings)
    return fixture_warehouse


def tables(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """Per table of the open database: rows, an order-free hash of every row, and the fact EUR."""
    names = con.execute(
        """SELECT schema_name, table_name FROM duckdb_tables()
           WHERE database_name = current_database() ORDER BY ALL"""
    ).fetchall()
    out = {}
    for schema, name in names:
        qualified = f'"{schema}"."{name}"'
        out[f"{schema}.{name}"] = con.execute(
            f"SELECT count(*), sum(hash(*COLUMNS(*)))::HUGEINT, bit_xor(hash(*COLUMNS(*))) FROM {qualified}"
        ).fetchall()[0]
    out["eur"] = con.execute("SELECT sum(eur_amount), sum(quantity) FROM core.fct_sales_event").fetchall()[0]
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_published(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path) -> None:
    """The snapshot behind current.duckdb is ``path``, equal to the warehouse byte for byte and table by table."""
    assert current_snapshot(settings) == path
    assert sha(path) == sha(settings.warehouse_path)  # publish checkpointed; nothing written since
    with duckdb.connect(str(settings.snapshot_dir / CURRENT), read_only=True) as copy:
        assert tables(copy) == tables(con)


def changed_chunks(before: bytes, after: bytes, chunk: int) -> list[int]:
    """The chunks of ``after`` whose bytes are not those of ``before`` at the same place."""
    return [
        i
        for i, (offset, size) in enumerate(spans(len(after), chunk))
        if before[offset : offset + size] != after[offset : offset + size]
    ]


def published(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[Path]:
    """Four publishes of the same data: whole copies while fewer than KEEP exist, then the oldest recycled."""
    reports: list[dict] = [{} for _ in range(KEEP + 1)]
    paths = [publish(con, settings, report=r) for r in reports]
    assert [r["method"] for r in reports] == ["copy"] * KEEP + ["delta"]
    assert reports[-1]["recycled"] == paths[0].name and reports[-1]["chunks_written"] == []  # nothing changed
    assert not paths[0].exists()  # it became the last one
    assert sorted(settings.snapshot_dir.glob("xborder-*.duckdb")) == paths[1:]
    assert_published(con, settings, paths[-1])
    return paths[1:]


def publish_delta(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict:
    """Publish, recycling the oldest snapshot; check it wrote exactly the chunks that differ, and equality."""
    oldest = sorted(settings.snapshot_dir.glob("xborder-*.duckdb"))[0]
    before = oldest.read_bytes()
    report: dict = {}
    path = publish(con, settings, report=report)
    assert report["method"] == "delta" and report["recycled"] == oldest.name
    chunk = con.execute("SELECT block_size FROM pragma_database_size() WHERE database_name = 'warehouse'").fetchall()
    after = settings.warehouse_path.read_bytes()
    # Exactly the chunks that differ; where the recycled file was shorter, a chunk past its old end
    # may be skipped when the warehouse holds zeros there and another slab's write already extended
    # the file over it (a hole reads as zeros: the bytes are equal either way).
    must = changed_chunks(before.ljust(len(after), b"\0"), after, chunk[0][0])
    may = changed_chunks(before, after, chunk[0][0])
    assert set(must) <= set(report["chunks_written"]) <= set(may)
    assert report["chunks_written"] == sorted(report["chunks_written"])
    if len(before) >= len(after):
        assert report["chunks_written"] == may
    assert report["chunks"] == len(spans(len(after), chunk[0][0]))
    assert_published(con, settings, path)
    return report


def test_publish_rewrites_only_what_changed(big: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con = big
    published(con, settings)
    size = settings.warehouse_path.stat().st_size
    fact_rows = con.execute("SELECT count(*) FROM core.fct_sales_event").fetchall()[0][0]

    # an increment: a new batch of two facts, marts refreshed incrementally
    new = [("n1", "order", D(2020, 1, 5), "1.00", 1, "GB", "CN"), ("n2", "order", D(2020, 1, 6), "2.00", 1, "GB", "CN")]
    add_facts(con, new, batch_id="b2", source_file="g")
    build_marts(con, settings)
    grew = publish_delta(con, settings)
    assert 0 < grew["bytes_written"] < size / 4

    # what a retraction does to core: one bulk file's facts leave, the marts rebuild from all facts
    con.execute("DELETE FROM core.fct_sales_event WHERE source_file = 'bulk/7.jsonl'")
    invalidate(con)
    build_marts(con, settings)
    shrunk = publish_delta(con, settings)
    # a third, not a quarter, since the forecast's tables (rebuilt by the increment above) free
    # blocks that this rebuild reuses across the file (4.99 of 20.2 MB before them, 5.78 of 20.7 after)
    assert 0 < shrunk["bytes_written"] < size / 3
    assert con.execute("SELECT count(*) FROM core.fct_sales_event").fetchall()[0][0] == fact_rows + 2 - 1000

    # what a late catalogue does: facts of the bulk batch re-pointed in place (same rows, other values)
    con.execute("UPDATE core.fct_sales_event SET hs_code = '220890', product_sk = 'p-v2' WHERE product_sk = 'p13'")
    repointed = publish_delta(con, settings)
    assert 0 < repointed["bytes_written"] < size / 2

    # nothing changed since the snapshot recycled now (published KEEP publishes ago): nothing is written
    for _ in range(KEEP - 1):
        publish_delta(con, settings)
    idle = publish_delta(con, settings)
    assert idle["chunks_written"] == [] and idle["bytes_written"] == 0


def test_a_snapshot_held_open_is_never_rewritten(big: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con = big
    held_path = published(con, settings)[0]  # the oldest kept file: the one the next publish would recycle
    held_sha = sha(held_path)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(held_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        before = json.loads(reader.stdout.readline())
        with held_path.open("rb") as held:  # the file itself, even once the prune unlinks its name
            add_facts(con, [("n1", "order", D(2020, 1, 5), "1.00", 1, "GB", "CN")], batch_id="b2")
            build_marts(con, settings)
            report: dict = {}
            path = publish(con, settings, report=report)
            assert report["method"] == "copy"  # held: not recycled; a whole copy instead
            assert not held_path.exists()  # pruned as before: unlinked, never written
            assert hashlib.sha256(held.read()).hexdigest() == held_sha
        assert_published(con, settings, path)
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert json.loads(reader.stdout.readline()) == before  # the held snapshot, still as it was
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)
    assert reader.returncode == 0
    # a connection of this very process counts too (its DuckDB lock conflicts with the publisher's)
    oldest = sorted(settings.snapshot_dir.glob("xborder-*.duckdb"))[0]
    with duckdb.connect(str(oldest), read_only=True) as mine:
        add_facts(con, [("n2", "order", D(2020, 1, 6), "2.00", 1, "GB", "CN")], batch_id="b3")
        build_marts(con, settings)
        report = {}
        assert_published(con, settings, publish(con, settings, report=report))
        assert report["method"] == "copy"
        assert mine.execute("SELECT count(*) FROM core.fct_sales_event").fetchall() == [(BULK + 7,)]
    # and once nobody holds the oldest, it is recycled again
    assert publish_delta(con, settings)["chunks_written"]


def test_whatever_the_recycled_file_holds_the_result_is_exact(
    big: duckdb.DuckDBPyConnection, settings: Settings
) -> None:
    con = big
    oldest = published(con, settings)[0]
    oldest.chmod(0o644)
    with oldest.open("r+b") as handle:  # someone wrote into a published file, and cut it short
        handle.seek(snapshot_blocks.HEAD + 100)
        handle.write(b"\0" * 8)
        handle.truncate(oldest.stat().st_size // 2)
    publish_delta(con, settings)  # checks: exactly the differing chunks written, the warehouse byte for byte


KILLED = textwrap.dedent("""
    import os, sys, duckdb
    from pipelines import snapshot, snapshot_blocks
    from pipelines.settings import Settings
    writes = []
    real = snapshot_blocks._pwrite_all
    def dying(fd, data, offset):
        if len(writes) == int(sys.argv[2]):
            os._exit(9)  # killed: no clean-up of any kind runs
        writes.append(offset)
        real(fd, data, offset)
    snapshot_blocks._pwrite_all = dying
    snapshot.publish(duckdb.connect(sys.argv[1] + "/warehouse.duckdb"), Settings(home=sys.argv[1]))
""")


@pytest.mark.parametrize("after_writes", [0, 3])
def test_a_publish_killed_midway_leaves_a_complete_snapshot(
    big: duckdb.DuckDBPyConnection, settings: Settings, after_writes: int
) -> None:
    con = big
    published(con, settings)
    live = current_snapshot(settings)
    with duckdb.connect(str(live), read_only=True) as copy:
        expected = tables(copy)
    con.execute("DELETE FROM core.fct_sales_event WHERE source_file = 'bulk/3.jsonl'")
    invalidate(con)
    build_marts(con, settings)
    con.close()  # the killed publish runs in a process of its own, as the writer
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, str(settings.home), str(after_writes)], capture_output=True, text=True
    )
    assert killed.returncode == 9, killed.stderr
    assert current_snapshot(settings) == live  # never switched to a half-built file
    with duckdb.connect(str(settings.snapshot_dir / CURRENT), read_only=True) as copy:
        assert tables(copy) == expected
    for path in settings.snapshot_dir.glob("xborder-*.duckdb"):  # every published name opens whole
        with duckdb.connect(str(path), read_only=True) as copy:
            assert copy.execute("SELECT count(*) FROM core.fct_sales_event").fetchall()[0][0] == BULK + 7
    assert list(settings.snapshot_dir.glob(".xborder-*.building"))  # the half-patched file, under no public name
    with duckdb.connect(str(settings.warehouse_path)) as again:
        path = publish(again, settings)
        assert_published(again, settings, path)
        assert not list(settings.snapshot_dir.glob(".xborder-*.building"))
