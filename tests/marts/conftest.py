"""Tiny warehouses with hand-made facts, dimensions and targets, for the mart, snapshot and report tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
import yaml

from pipelines.ledger import insert_frame
from pipelines.settings import Settings

FACT_DEFAULTS: dict[str, Any] = {
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
    "batch_id": "b1",
}
D = date


def add_facts(con: duckdb.DuckDBPyConnection, rows: list[tuple], batch_id: str = "b1", **common: Any) -> None:
    """rows: (event_id, event_type, event_date, eur, quantity, origin, ship_to[, {column: value}])."""
    records = []
    for event_id, kind, day, eur, qty, origin, ship, *extra in rows:
        records.append(
            {
                **FACT_DEFAULTS,
                "batch_id": batch_id,
                **common,
                "event_id": event_id,
                "event_type": kind,
                "event_ts": day,
                "event_date": day,
                "order_date": day,
                "fx_rate_date": day,
                "eur_amount": Decimal(eur),
                "local_amount": Decimal(eur),
                "quantity": qty,
                "weight_kg": Decimal(qty) / 2,
                "country_of_origin": origin,
                "ship_to_country": ship,
                **(extra[0] if extra else {}),
            }
        )
    frame = pl.DataFrame(records, infer_schema_length=None).with_columns(
        pl.col("eur_amount").cast(pl.Decimal(18, 2)),
        pl.col("local_amount").cast(pl.Decimal(18, 4)),
        pl.col("weight_kg").cast(pl.Decimal(18, 4)),
        pl.col("fx_rate").cast(pl.Decimal(18, 6)),
        pl.col("event_ts").cast(pl.Datetime("us")),
    )
    insert_frame(con, "core.fct_sales_event", frame)


def add_dims(con: duckdb.DuckDBPyConnection) -> None:
    """The few reference rows the labels and roll-ups of the fixture need."""
    con.execute("""INSERT INTO core.dim_country (country_code, name, region) VALUES
                   ('GB', 'United Kingdom', 'Europe'), ('FR', 'France', 'Europe'), ('DE', 'Germany', 'Europe'),
                   ('CN', 'China', 'Asia'), ('HK', 'Hong Kong', 'Asia')""")
    con.execute("""INSERT INTO core.dim_hs_section VALUES ('IV', 'Prepared foodstuffs; beverages'),
                   ('XVIII', 'Optical and precision instruments; clocks')""")
    con.execute("""INSERT INTO core.dim_hs_code VALUES
                   ('22', 2, 'Beverages, spirits and vinegar', NULL, '22', 'IV'),
                   ('91', 2, 'Clocks and watches and parts thereof', NULL, '91', 'XVIII')""")
    con.execute("""INSERT INTO core.dim_supplier VALUES
                   ('GB001', 'Highland Spirits Ltd', 'GB', NULL, 'GBP', 'suppliers.csv', TIMESTAMP '2020-01-01'),
                   ('FR001', 'Horlogerie de Paris SA', 'FR', NULL, 'EUR', 'suppliers.csv', TIMESTAMP '2020-01-01')""")


def add_chinese_new_year(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """core.dim_chinese_new_year from the repo's reference file (the forecast's moving holiday)."""
    from pipelines.ingest.reference import chinese_new_year

    insert_frame(con, "core.dim_chinese_new_year", chinese_new_year(settings.reference_dir / "chinese_new_year.csv"))


def daily_facts(con: duckdb.DuckDBPyConnection, net_by_day: dict[date, Decimal]) -> None:
    """One GB->CN order per day with that day's net EUR (a history for the forecast tests)."""
    add_facts(
        con,
        [
            (f"d{d.isoformat()}", "order", d, str(eur), 1, "GB", "CN", {"line_id": d.isoformat()})
            for d, eur in net_by_day.items()
        ],
    )


def seasonal_history(start: date, end: date, seed: int = 7, scale: float = 1000.0) -> dict[date, Decimal]:
    """Net EUR per day shaped by the sample generator's seasonality (growth, 11.11, 6.18, 12.12,
    Chinese New Year, weekends: pipelines.generate.sales.day_weights) with seeded noise: order
    lines per day Poisson around the weight, each day's mean line value lognormal."""
    import numpy as np

    from pipelines.generate.sales import day_weights

    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    weights = day_weights(days)
    rng = np.random.default_rng(seed)
    lines = rng.poisson(40 * weights)
    value = rng.lognormal(np.log(scale / 40), 0.25, len(days))
    return {d: Decimal(f"{n * v:.2f}") for d, n, v in zip(days, lines, value, strict=True)}


def write_targets(settings: Settings, targets: list[dict]) -> Path:
    """The targets in force for the test (the sample-targets path wins over the repo's)."""
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
    **extra: Any,
) -> dict:
    doc = {
        "id": tid,
        "name": tid.replace("_", " "),
        "origin_countries": origins if origins is not None else ["GB"],
        "destination_countries": dest or ["CN"],
        "window_start": start,
        "window_end": end,
        "deadlines": {"stretch": stretch, "final": end},
        **extra,
    }
    if amount is not None:
        doc["amount"] = float(amount) if "." in amount else int(amount)  # as a YAML author writes it
    return doc


FIXTURE_A = [
    ("e0", "order", D(2019, 12, 31), "99.00", 1, "GB", "CN"),  # before the window
    ("e1", "order", D(2020, 1, 1), "10.00", 1, "GB", "CN"),
    ("e2", "order", D(2020, 1, 2), "20.00", 2, "GB", "CN"),
    ("e3", "order", D(2020, 1, 2), "50.00", 1, "FR", "CN", {"supplier_id": "FR001", "hs_chapter": "91"}),  # not UK
    ("e4", "order", D(2020, 1, 3), "30.00", 1, "GB", "HK"),  # Hong Kong is not CN
    ("e5", "return", D(2020, 1, 4), "-5.00", -1, "GB", "CN", {"order_id": "O", "line_id": "2"}),
    ("e6", "order", D(2020, 1, 11), "7.00", 1, "GB", "CN"),  # after the window (the latest event)
]
A_TARGETS = [
    target("uk_goods_to_cn", D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5)),
    target("all_goods_to_cn", D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5), amount=None, origins=[]),
    target("uk_goods_to_de", D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5), dest=["DE"]),  # no sales
    target("uk_goods_2021", D(2021, 1, 1), D(2021, 12, 31), D(2021, 6, 30)),  # window not started in the data
]


@pytest.fixture
def fixture_warehouse(con: duckdb.DuckDBPyConnection, settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """docs/design.md §4's cases on ten days; the arithmetic is in tests/marts/test_progress.py."""
    add_dims(con)
    add_facts(con, FIXTURE_A)
    write_targets(settings, A_TARGETS)
    yield con


def table(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    """Every row of a mart, in a stable order (for comparing builds)."""
    return con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
