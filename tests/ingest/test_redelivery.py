"""Re-deliveries: a new version of a loaded file supersedes it; byte-identical copies get a duplicate row.

Golden EUR from real ECB CNY rates (7.7643 on 12-24, 7.8025 on 12-27), half to even per line.
Day file of 12-24, first version: O1 2 x 199.00 - 10.00 = 388.00 -> 49.97, O2 100.00 -> 12.88,
O8 59.90 -> 7.71. File of 12-27: O3 300.00 -> 38.45, a return of 1 of 2 of O1 (-24.99) and the
cancel of O8 (-7.71). Net 76.31. The channel re-sends the 12-24 file: O1 unchanged, O2 at
120.00 (-> 15.46), O8 gone, O9 80.00 new (-> 10.30). Then: 49.97 + 15.46 + 10.30 - 24.99 + 38.45
= 89.19, and the cancel of O8 waits for its order line (orphan_reference).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from pipelines import runner
from pipelines.settings import Settings
from tests.ingest.test_fx import HIST
from tests.ingest.test_late_catalogue import land, query
from tests.ingest.test_sales import CATALOGUE, tmall

DAY = "sales/tmall_global/2019-12-24/events.jsonl"
FIRST = [
    tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 2, discount="10.00"),
    tmall("TMO2", "PAID", "2019-12-24T11:00:00+08:00", "O2", 1, price="100.00"),
    tmall("TMO8", "PAID", "2019-12-24T12:00:00+08:00", "O8", 1, price="59.90"),
]
CORRECTED = [
    FIRST[0],
    tmall("TMO2", "PAID", "2019-12-24T11:00:00+08:00", "O2", 1, price="120.00"),
    tmall("TMO9", "PAID", "2019-12-24T13:00:00+08:00", "O9", 1, price="80.00"),
]
LATER = [
    tmall("TMO3", "PAID", "2019-12-28T12:00:00+08:00", "O3", 1, price="300.00"),
    tmall("TMR1", "REFUNDED", "2019-12-27T12:00:00+08:00", "O1", 1),
    tmall("TMC8", "CANCELLED", "2019-12-27T13:00:00+08:00", "O8", 1),
]


def text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def ingest(settings: Settings, *feeds: str) -> dict:
    return {feed: runner.ingest_feed(feed, settings=settings) for feed in feeds}


def facts(settings: Settings) -> list[tuple]:
    return query(
        settings, "SELECT event_id, eur_amount::VARCHAR, source_file FROM core.fct_sales_event ORDER BY event_id"
    )


@pytest.fixture
def loaded(settings: Settings) -> Settings:
    land(settings, "fx/eurofxref-hist.csv", HIST)
    land(settings, "catalogues/GB001/2019-12-01.csv", CATALOGUE)
    land(settings, DAY, text(FIRST))
    land(settings, "sales/tmall_global/2019-12-27/events.jsonl", text(LATER))
    ingest(settings, "reference", "fx", "catalogues", "sales")
    for stage in ("fx", "catalogues", "sales"):
        runner.quality_gate(stage, settings=settings)
    assert query(settings, "SELECT sum(eur_amount) FROM core.fct_sales_event") == [(Decimal("76.31"),)]
    return settings


def test_a_new_version_of_a_sales_file_supersedes_the_loaded_one(loaded: Settings) -> None:
    settings = loaded
    runner.refresh_marts(settings=settings)
    new = land(settings, DAY, text(CORRECTED))
    sha = hashlib.sha256(new.read_bytes()).hexdigest()
    summary = ingest(settings, "sales")["sales"]
    assert (summary.files, summary.rows_loaded, summary.rows_quarantined, summary.rows_duplicate) == (1, 3, 0, 0)
    assert summary.notes[0].startswith(f"{DAY}: new version {sha[:12]} supersedes")
    later = "sales/tmall_global/2019-12-27/events.jsonl"
    assert facts(settings) == [
        ("TMO1", "49.97", DAY),  # unchanged: back identical
        ("TMO2", "15.46", DAY),  # changed: its new value
        ("TMO3", "38.45", later),
        ("TMO9", "10.30", DAY),  # new
        ("TMR1", "-24.99", later),  # the return of O1 follows its order
    ]
    assert query(settings, "SELECT sum(eur_amount) FROM core.fct_sales_event") == [(Decimal("89.19"),)]
    # O8 left with the old version: its cancel waits for it, like any cancel whose order has not arrived
    assert query(settings, "SELECT event_id FROM raw.pending_sales_events") == [("TMC8",)]
    assert query(settings, "SELECT path, line_number, reason FROM audit.quarantine WHERE resolved_at IS NULL") == [
        (later, 3, "orphan_reference")
    ]
    assert query(settings, "SELECT count(*) FROM audit.quarantine WHERE reason = 'event_id_conflict'") == [(0,)]
    assert query(
        settings, "SELECT status, rows_loaded FROM audit.load_ledger WHERE path = ? ORDER BY status", [DAY]
    ) == [
        ("loaded", 3),
        ("retracted", 3),
    ]
    assert query(settings, "SELECT note, eur_removed, dependents_pending FROM audit.retractions") == [
        (
            f"superseded by {sha}",
            Decimal("49.97") + Decimal("12.88") + Decimal("7.71") - Decimal("24.99") - Decimal("7.71"),
            2,
        )
    ]
    # no gate fails, and the marts follow in full
    assert runner.quality_gate("sales", settings=settings)["passed"]
    assert runner.refresh_marts(settings=settings)["mode"] == "full"
    assert query(settings, "SELECT sum(net_eur) FROM marts.agg_target_daily WHERE target_id = 'uk_goods_to_cn'") == [
        (Decimal("89.19"),)
    ]
    assert runner.quality_gate("core", settings=settings)["passed"]
    assert ingest(settings, "sales")["sales"].files == 0  # nothing new: nothing changes


def test_a_new_version_of_a_catalogue_snapshot_replaces_it_whole(loaded: Settings) -> None:
    settings = loaded
    land(
        settings,
        "sales/tmall_global/2019-12-31/cheddar.jsonl",
        tmall("TMO4", "PAID", "2019-12-31T10:00:00+08:00", "O4", 1, sku="C1") + "\n",
    )
    ingest(settings, "sales")
    corrected = CATALOGUE.replace("Cheddar,H,Dairy,040690,FR,9.00", "Cheddar,H,Dairy,040690,IE,9.50")
    land(settings, "catalogues/GB001/2019-12-01.csv", corrected)
    summary = ingest(settings, "catalogues")["catalogues"]
    assert any("supersedes" in n for n in summary.notes)
    # one version per SKU, from the new delivery only (the old rows never mix in)
    assert query(
        settings,
        "SELECT supplier_sku, country_of_origin, unit_price::VARCHAR, valid_from::VARCHAR FROM core.dim_product "
        "ORDER BY 1",
    ) == [("C1", "IE", "9.5000", "2019-12-01"), ("W1", "GB", "45.5000", "2019-12-01")]
    assert query(settings, "SELECT count(*) FROM raw.catalogue_items") == [(2,)]
    assert query(settings, "SELECT country_of_origin FROM core.fct_sales_event WHERE event_id = 'TMO4'") == [("IE",)]
    assert query(settings, "SELECT sum(eur_amount) FROM core.fct_sales_event WHERE event_id <> 'TMO4'") == [
        (Decimal("76.31"),)
    ]
    assert runner.quality_gate("catalogues", settings=settings)["passed"]
    runner.refresh_marts(settings=settings)
    assert runner.quality_gate("core", settings=settings)["passed"]


def test_a_byte_identical_copy_gets_its_own_duplicate_row(loaded: Settings) -> None:
    settings = loaded
    copy = "sales/tmall_global/2019-12-25/events-resent.jsonl"
    land(settings, copy, text(FIRST))
    summary = ingest(settings, "sales")["sales"]
    assert (summary.files, summary.rows_read, summary.rows_loaded, summary.rows_duplicate) == (1, 3, 0, 3)
    assert query(
        settings,
        "SELECT status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, message FROM audit.load_ledger "
        "WHERE path = ?",
        [copy],
    ) == [("duplicate", 3, 0, 0, 3, f"the same bytes as {DAY} (already in the ledger): nothing new")]
    assert query(settings, "SELECT sum(eur_amount) FROM core.fct_sales_event") == [(Decimal("76.31"),)]
    assert ingest(settings, "sales")["sales"].files == 0  # known under that path: never a new row
    # landed files and ledger rows reconcile one to one
    landed = sorted(p.relative_to(settings.landing_dir).as_posix() for p in settings.landing_dir.rglob("*.*"))
    assert query(settings, "SELECT path FROM audit.load_ledger WHERE feed <> 'reference' ORDER BY path") == [
        (p,) for p in landed
    ]
    assert runner.quality_gate("sales", settings=settings)["passed"]  # a whole-file re-delivery: a warning at most
