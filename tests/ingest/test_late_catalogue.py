"""A late catalogue snapshot re-slices the product history and re-points the facts it affects.

Snapshot A (2019-12-01): W1 Malt 12y from GB, 1.25 kg, Spirits; C1 Cheddar from FR. Sales to CN
(real ECB CNY rates 7.7643 on 12-24, 7.8025 on 12-27, 7.8205 on 12-31; half to even per line):

  O1 W1 12-24  2 x 199.00 - 10.00 = 388.00 -> 49.97
  O5 W1 12-27  2 x 150.00 = 300.00 -> 38.45; returned 1 of 2 on 12-31 at the order's rate -> -19.22
  O6 W1 12-31  1 x 199.00 -> 25.45
  O7 C1 12-28  (Saturday: Friday's rate) 1 x 50.00 -> 6.41

UK goods: 49.97 + 38.45 - 19.22 + 25.45 = 94.65. Then snapshot B, dated 12-26 but landed after
all of it, says W1 comes from Ireland (IE) since then, weighs 1.30 kg, is 'Whisky', and does not
list C1. O5, its return and O6 become Irish goods: UK goods fall by exactly 38.45 - 19.22 + 25.45
= 44.68 to 49.97. O7 has no product version on 12-28 any more: held (unknown_product), EUR 6.41.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import runner
from pipelines.settings import Settings
from tests.ingest.test_fx import HIST
from tests.ingest.test_sales import CATALOGUE, tmall

A = "catalogues/GB001/2019-12-01.csv"
B = "catalogues/GB001/2019-12-26.csv"
B_TEXT = (
    "sku,ean,title,brand,category,hs_code,origin_country,unit_price,currency,weight_kg\n"
    "W1,,Malt 12y,H,Whisky,220830,IE,45.50,GBP,1.300\n"
)
UK_BEFORE = Decimal("49.97") + Decimal("38.45") - Decimal("19.22") + Decimal("25.45")


def land(settings: Settings, rel: str, text: str) -> Path:
    path = settings.landing_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def uk_goods(settings: Settings) -> tuple[Decimal, Decimal]:
    """UK-goods net EUR to CN: from the marts, and from the facts directly."""
    ((mart, core),) = query(
        settings,
        "SELECT (SELECT sum(net_eur) FROM marts.agg_target_daily WHERE target_id = 'uk_goods_to_cn'), "
        "(SELECT sum(eur_amount) FROM core.fct_sales_event WHERE country_of_origin = 'GB' AND ship_to_country = 'CN')",
    )
    return mart, core


def facts(settings: Settings) -> list[tuple]:
    return query(
        settings,
        "SELECT event_id, country_of_origin, category, weight_kg::VARCHAR, product_sk = md5('GB001|W1|2019-12-26') "
        "FROM core.fct_sales_event ORDER BY event_id",
    )


@pytest.fixture
def history(settings: Settings) -> Settings:
    """Everything loaded on snapshot A, gated and built: the state before the late snapshot lands."""
    land(settings, "fx/eurofxref-hist.csv", HIST)
    land(settings, A, CATALOGUE)
    day = [
        tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 2, discount="10.00"),
        tmall("TMO5", "PAID", "2019-12-27T10:00:00+08:00", "O5", 2, price="150.00"),
        tmall("TMO7", "PAID", "2019-12-28T12:00:00+08:00", "O7", 1, price="50.00", sku="C1"),
    ]
    land(settings, "sales/tmall_global/2019-12-28/events.jsonl", "\n".join(day) + "\n")
    later = [
        tmall("TMR5", "REFUNDED", "2019-12-31T12:00:00+08:00", "O5", 1),
        tmall("TMO6", "PAID", "2019-12-31T13:00:00+08:00", "O6", 1),
    ]
    land(settings, "sales/tmall_global/2019-12-31/events.jsonl", "\n".join(later) + "\n")
    for feed in ("reference", "fx", "catalogues", "sales"):
        runner.ingest_feed(feed, settings=settings)
    runner.refresh_marts(settings=settings)
    runner.quality_gate("core", settings=settings)
    assert uk_goods(settings) == (UK_BEFORE, UK_BEFORE)
    return settings


def test_late_snapshot_re_points_facts_and_the_core_gate_passes(history: Settings) -> None:
    settings = history
    land(settings, B, B_TEXT)
    summary = runner.ingest_feed("catalogues", settings=settings)
    assert "3 fact(s) re-pointed to the product versions valid on their order dates" in summary.notes
    assert any(n.startswith("1 fact(s) (EUR 6.41) held out of core") for n in summary.notes)
    assert facts(settings) == [
        ("TMO1", "GB", "Spirits", "2.5000", False),  # 12-24: still snapshot A's version
        ("TMO5", "IE", "Whisky", "2.6000", True),
        ("TMO6", "IE", "Whisky", "1.3000", True),
        ("TMR5", "IE", "Whisky", "-1.3000", True),  # the return copies its order's version
    ]
    assert query(settings, "SELECT event_id, eur_amount FROM core.fct_sales_event_held") == [("TMO7", Decimal("6.41"))]
    assert query(
        settings, "SELECT line_number, reason, column_name FROM audit.quarantine WHERE resolved_at IS NULL"
    ) == [(3, "unknown_product", "supplier_sku")]

    built = runner.refresh_marts(settings=settings)
    assert built["mode"] == "full"
    assert uk_goods(settings) == (Decimal("49.97"), Decimal("49.97"))
    assert UK_BEFORE - Decimal("49.97") == Decimal("44.68")
    assert query(
        settings,
        "SELECT country_of_origin, sum(net_eur) FROM marts.agg_all_goods_monthly GROUP BY 1 ORDER BY 1",
    ) == [("GB", Decimal("49.97")), ("IE", Decimal("44.68"))]
    assert runner.quality_gate("core", settings=settings)["passed"]
    assert runner.quality_gate("catalogues", settings=settings)["passed"]


def test_a_corrected_late_snapshot_brings_held_facts_back(history: Settings) -> None:
    settings = history
    land(settings, B, B_TEXT)
    runner.ingest_feed("catalogues", settings=settings)
    # the supplier re-sends B with C1 listed after all: a new version of the file at the same path
    land(settings, B, B_TEXT + "C1,,Cheddar,H,Dairy,040690,FR,9.00,GBP,0.500\n")
    summary = runner.ingest_feed("catalogues", settings=settings)
    assert any("supersedes" in n for n in summary.notes)
    assert any(n.startswith("1 held fact(s) (EUR 6.41) back in core") for n in summary.notes)
    assert query(settings, "SELECT count(*) FROM core.fct_sales_event_held") == [(0,)]
    assert query(settings, "SELECT country_of_origin FROM core.fct_sales_event WHERE event_id = 'TMO7'") == [("FR",)]
    assert query(settings, "SELECT count(*) FROM audit.quarantine WHERE resolved_at IS NULL") == [(0,)]
    assert query(
        settings, "SELECT status FROM audit.load_ledger WHERE path = 'catalogues/GB001/2019-12-26.csv' ORDER BY status"
    ) == [("loaded",), ("retracted",)]
    assert query(settings, "SELECT note LIKE 'superseded by %' FROM audit.retractions") == [(True,)]
    runner.refresh_marts(settings=settings)
    assert uk_goods(settings) == (Decimal("49.97"), Decimal("49.97"))
    assert query(settings, "SELECT sum(eur_amount) FROM core.fct_sales_event") == [(UK_BEFORE + Decimal("6.41"),)]
    assert runner.quality_gate("core", settings=settings)["passed"]
