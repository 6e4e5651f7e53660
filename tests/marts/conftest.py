"""A tiny warehouse with hand-made facts and targets, for mart and report tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from pipelines.ledger import insert_frame
from pipelines.settings import Settings

FACT_DEFAULTS = {
    "channel": "tmall_global",
    "order_id": "O",
    "line_id": "1",
    "supplier_id": "GB001",
    "supplier_sku": "W1",
    "product_sk": "p",
    "hs_code": "220830",
    "hs_chapter": "22",
    "category": "Spirits",
    "currency": "EUR",
    "fx_rate": Decimal("1"),
    "ship_to_region": "Guangdong",
    "source_file": "f",
    "line_number": 1,
    "batch_id": "b",
}


def add_facts(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """rows: (event_id, event_type, event_date, eur, quantity, origin, ship_to)."""
    records = []
    for event_id, kind, day, eur, qty, origin, ship in rows:
        records.append(
            {
                **FACT_DEFAULTS,
                "event_id": event_id,
                "event_type": kind,
                "event_ts": day,
                "event_date": day,
                "order_date": day,
                "fx_rate_date": day,
                "eur_amount": Decimal(eur),
                "local_amount": Decimal(eur),
                "quantity": qty,
                "weight_kg": Decimal(qty),
                "country_of_origin": origin,
                "ship_to_country": ship,
            }
        )
    frame = pl.DataFrame(records).with_columns(
        pl.col("eur_amount").cast(pl.Decimal(18, 2)),
        pl.col("local_amount").cast(pl.Decimal(18, 4)),
        pl.col("weight_kg").cast(pl.Decimal(18, 4)),
        pl.col("fx_rate").cast(pl.Decimal(18, 6)),
        pl.col("event_ts").cast(pl.Datetime("us")),
    )
    insert_frame(con, "core.fct_sales_event", frame)


def write_targets(settings: Settings, targets: list[dict]) -> Path:
    path = settings.home / "targets.sample.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"targets": targets}), encoding="utf-8")
    return path


def target(
    tid: str,
    start: date,
    end: date,
    stretch: date,
    amount: str | None = "100",
    origins: list[str] | None = None,
    dest: list[str] | None = None,
) -> dict:
    doc = {
        "id": tid,
        "name": tid.replace("_", " "),
        "origin_countries": origins if origins is not None else ["GB"],
        "destination_countries": dest or ["CN"],
        "window_start": start,
        "window_end": end,
        "deadlines": {"stretch": stretch, "final": end},
    }
    if amount is not None:
        doc["amount"] = int(amount)
    return doc


@pytest.fixture
def fixture_warehouse(con: duckdb.DuckDBPyConnection, settings: Settings) -> duckdb.DuckDBPyConnection:
    """Facts of DESIGN §4's cases; the arithmetic is in tests/marts/test_marts.py."""
    add_facts(
        con,
        [
            ("e0", "order", date(2019, 12, 31), "99.00", 1, "GB", "CN"),  # before the window
            ("e1", "order", date(2020, 1, 1), "10.00", 1, "GB", "CN"),
            ("e2", "order", date(2020, 1, 2), "20.00", 2, "GB", "CN"),
            ("e3", "order", date(2020, 1, 2), "50.00", 1, "FR", "CN"),  # not UK goods
            ("e4", "order", date(2020, 1, 3), "30.00", 1, "GB", "HK"),  # Hong Kong is not CN
            ("e5", "return", date(2020, 1, 4), "-5.00", -1, "GB", "CN"),
            ("e6", "order", date(2020, 1, 11), "7.00", 1, "GB", "CN"),  # after the window
        ],
    )
    d = date
    write_targets(
        settings,
        [
            target("uk_goods_to_cn", d(2020, 1, 1), d(2020, 1, 10), d(2020, 1, 5)),
            target("all_goods_to_cn", d(2020, 1, 1), d(2020, 1, 10), d(2020, 1, 5), amount=None, origins=[]),
            target("uk_goods_to_de", d(2020, 1, 1), d(2020, 1, 10), d(2020, 1, 5), dest=["DE"]),
        ],
    )
    return con
