"""Sales events to exact EUR facts: every channel layout, cancel/return path, duplicates, late data.

Golden values are computed by hand from real ECB rates (CNY 7.7643 on 2019-12-24, 7.8025 on
2019-12-27, 7.8205 on 2019-12-31; GBP 0.85533 on 2019-12-24), rounded half to even per line.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from tests.ingest.conftest import rows
from tests.ingest.test_fx import HIST

CATALOGUE = (
    "sku,ean,title,brand,category,hs_code,origin_country,unit_price,currency,weight_kg\n"
    "W1,,Malt 12y,H,Spirits,220830,GB,45.50,GBP,1.250\n"
    "C1,,Cheddar,H,Dairy,040690,FR,9.00,GBP,0.500\n"
)


def tmall(
    event_id: str,
    kind: str,
    ts: str,
    order: str,
    qty: int,
    price: str = "199.00",
    discount: str = "0.00",
    sku: str = "W1",
    country: str = "CN",
) -> str:
    return json.dumps(
        {
            "event_id": event_id,
            "type": kind,
            "created_at": ts,
            "order_no": order,
            "line_no": 1,
            "supplier": "GB001",
            "sku": sku,
            "qty": qty,
            "price": price,
            "currency": "CNY",
            "discount": discount,
            "country": country,
            "province": "Guangdong",
        }
    )


@pytest.fixture
def ready(load, landing):
    landing("fx/eurofxref-hist.csv", HIST)
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("fx")
    load("catalogues")


def facts(wh) -> list[tuple]:
    return rows(
        wh,
        "SELECT event_id, event_type, event_date::VARCHAR, quantity, local_amount::VARCHAR, "
        "fx_rate::VARCHAR, eur_amount::VARCHAR FROM core.fct_sales_event ORDER BY event_id",
    )


def test_orders_cancels_returns_golden(ready, load, wh, landing) -> None:
    landing(
        "sales/tmall_global/2019-12-24/events.jsonl",
        "\n".join(
            [
                # 2 x 199.00 - 10.00 = 388.00 CNY / 7.7643 = 49.9723... -> 49.97
                tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 2, discount="10.00"),
                # 07:30 in Shanghai on the 25th is 23:30 UTC on the 24th: the rate of the 24th. 100 / 7.7643 -> 12.88
                tmall("TMO2", "PAID", "2019-12-25T07:30:00+08:00", "O2", 1, price="100.00"),
                # cancels the whole line O2 on its own (UTC) date
                tmall("TMC2", "CANCELLED", "2019-12-25T09:00:00+08:00", "O2", 1, price="100.00"),
                # Saturday 2019-12-28: Friday's rate 7.8025. 300 / 7.8025 = 38.449... -> 38.45
                tmall("TMO3", "PAID", "2019-12-28T12:00:00+08:00", "O3", 1, price="300.00"),
            ]
        )
        + "\n",
    )
    # returns 1 of 2 at the ORDER's rate (not 2019-12-31's 7.8205): 388 x 1/2 / 7.7643 = 24.986 -> 24.99
    landing(
        "sales/tmall_global/2019-12-31/events.jsonl",
        "\n".join(
            [
                tmall("TMR1", "REFUNDED", "2019-12-31T12:00:00+08:00", "O1", 1),
                tmall("TMR2", "REFUNDED", "2019-12-31T13:00:00+08:00", "O1", 2),  # 1 + 2 > 2 ordered
                tmall("TMC3", "CANCELLED", "2019-12-31T13:00:00+08:00", "O2", 1),  # O2 already cancelled
            ]
        )
        + "\n",
    )
    summary = load("sales")
    assert facts(wh) == [
        ("TMC2", "cancel", "2019-12-25", -1, "-100.0000", "7.764300", "-12.88"),
        ("TMO1", "order", "2019-12-24", 2, "388.0000", "7.764300", "49.97"),
        ("TMO2", "order", "2019-12-24", 1, "100.0000", "7.764300", "12.88"),
        ("TMO3", "order", "2019-12-28", 1, "300.0000", "7.802500", "38.45"),
        ("TMR1", "return", "2019-12-31", -1, "-194.0000", "7.764300", "-24.99"),
    ]
    assert summary.eur_loaded == Decimal("49.97") + Decimal("38.45") - Decimal("24.99")
    assert rows(wh, "SELECT reason FROM audit.quarantine ORDER BY line_number") == [
        ("return_exceeds_quantity",),
        ("already_cancelled",),
    ]
    assert rows(
        wh,
        "SELECT country_of_origin, hs_chapter, weight_kg::VARCHAR FROM core.fct_sales_event WHERE event_id = 'TMR1'",
    ) == [("GB", "22", "-1.2500")]


def test_half_cent_ties_and_negative_quantity_cancels(ready, load, wh, landing) -> None:
    landing(
        "sales/own_webshop/2019-12-24/events.csv",
        "\n".join(
            [
                "event_id,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,ship_country,ship_region,placed_at",
                "WS1,W1,1,GB001,W1,1,10.0250,EUR,0,CN,Beijing,2019-12-24 10:00:00",  # 10.025 EUR -> 10.02 (tie, even)
                "WS2,W2,1,GB001,W1,1,10.0350,EUR,0,CN,Beijing,2019-12-24 10:00:00",  # 10.035 EUR -> 10.04 (tie, even)
                "WS3,W3,1,GB001,C1,3,5.00,GBP,0,HK,Hong Kong,2019-12-24 23:30:00",  # 15 / 0.85533 = 17.537 -> 17.54
                "WS4,W3,1,GB001,C1,-3,5.00,GBP,0,HK,Hong Kong,2019-12-24 23:45:00",  # negative quantity: cancel
            ]
        )
        + "\n",
    )
    load("sales")
    assert facts(wh) == [
        ("WS1", "order", "2019-12-24", 1, "10.0250", "1.000000", "10.02"),
        ("WS2", "order", "2019-12-24", 1, "10.0350", "1.000000", "10.04"),
        ("WS3", "order", "2019-12-24", 3, "15.0000", "0.855330", "17.54"),
        ("WS4", "cancel", "2019-12-24", -3, "-15.0000", "0.855330", "-17.54"),
    ]


def test_parquet_channel_with_id_prefixes(ready, load, wh, landing) -> None:
    frame = pl.DataFrame(
        {
            "event_id": ["O-1", "R-1", "X-1"],
            "order_id": ["J1"] * 3,
            "line_id": ["1"] * 3,
            "supplier_code": ["GB001"] * 3,
            "sku_code": ["W1"] * 3,
            "quantity": [1, 1, 1],
            "unit_price": [Decimal("500.00")] * 3,
            "currency": ["CNY"] * 3,
            "discount": [Decimal("0")] * 3,
            "ship_country": ["CN"] * 3,
            "province": ["Zhejiang"] * 3,
            "event_time": pl.Series(["2019-12-31 10:00:00", "2019-12-31 11:00:00", "2019-12-31 12:00:00"])
            .str.to_datetime()
            .dt.replace_time_zone("UTC"),
        },
        schema_overrides={
            "unit_price": pl.Decimal(12, 2),
            "discount": pl.Decimal(12, 2),
            "quantity": pl.Int32,
        },
    )
    path = landing("sales/jd_worldwide/2019-12-31/events.parquet", b"")
    frame.write_parquet(path)
    load("sales")
    # 500 / 7.8205 = 63.9345... -> 63.93; the return takes it all back at the same rate
    assert facts(wh) == [
        ("O-1", "order", "2019-12-31", 1, "500.0000", "7.820500", "63.93"),
        ("R-1", "return", "2019-12-31", -1, "-500.0000", "7.820500", "-63.93"),
    ]
    assert rows(wh, "SELECT reason, column_name FROM audit.quarantine") == [("unknown_event_type", "event_type")]


def test_duplicates_conflicts_unknown_product_and_missing_rate(ready, load, wh, landing) -> None:
    landing(
        "sales/tmall_global/2019-12-24/events.jsonl",
        tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 1) + "\n",
    )
    load("sales")
    landing(
        "sales/tmall_global/2019-12-27/redelivery.jsonl",
        "\n".join(
            [
                tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 1),  # same again: duplicate
                tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 5),  # same id, new content
                tmall("TMO7", "PAID", "2019-12-27T10:00:00+08:00", "O7", 1, sku="NOPE"),  # no such product
                tmall("TMO8", "PAID", "2020-01-10T10:00:00+08:00", "O8", 1),  # last rate 10 days before
            ]
        )
        + "\n",
    )
    summary = load("sales")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined, summary.rows_duplicate) == (
        4,
        0,
        3,
        1,
    )
    assert rows(wh, "SELECT reason, column_name FROM audit.quarantine ORDER BY line_number") == [
        ("event_id_conflict", "event_id"),
        ("unknown_product", "supplier_sku"),
        ("fx_rate_missing", "currency"),
    ]
    assert rows(wh, "SELECT count(*) FROM core.fct_sales_event") == [(1,)]
    ledger = rows(
        wh,
        "SELECT sum(rows_read), sum(rows_loaded + rows_quarantined + rows_duplicate) FROM audit.load_ledger",
    )
    assert ledger[0][0] == ledger[0][1]
    amounts = rows(
        wh,
        "SELECT amount_read, amount_loaded, amount_quarantined, amount_duplicate "
        "FROM audit.load_ledger_amounts a JOIN audit.load_ledger l USING (sha256) "
        "WHERE l.path LIKE '%redelivery%'",
    )
    # read 199 + 5 x 199 + 199 + 199 = 1592; quarantined 995 + 199 + 199; duplicate 199
    assert amounts == [(Decimal("1592.0000"), Decimal("0"), Decimal("1393.0000"), Decimal("199.0000"))]


def test_late_order_line_resolves_pending_return_once(ready, load, wh, landing) -> None:
    # the return arrives first: it waits in quarantine as orphan_reference
    landing(
        "sales/tmall_global/2019-12-27/events.jsonl",
        tmall("TMR9", "REFUNDED", "2019-12-27T12:00:00+08:00", "O9", 1, price="59.90") + "\n",
    )
    first = load("sales")
    assert (first.rows_loaded, first.rows_quarantined) == (0, 1)
    assert rows(wh, "SELECT reason, resolved_at IS NULL FROM audit.quarantine") == [("orphan_reference", True)]
    # its order line (2 x 59.90 on 12-26 UTC, a holiday: the rate of 12-24) lands later
    landing(
        "sales/tmall_global/2019-12-31/late-2019-12-26.jsonl",
        tmall("TMO9", "PAID", "2019-12-26T12:00:00+08:00", "O9", 2, price="59.90") + "\n",
    )
    load("sales")
    load("sales")  # nothing new: nothing changes
    # 119.80 / 7.7643 = 15.4296 -> 15.43; the return of 1 of 2: 59.90 / 7.7643 = 7.7148 -> 7.71
    assert facts(wh) == [
        ("TMO9", "order", "2019-12-26", 2, "119.8000", "7.764300", "15.43"),
        ("TMR9", "return", "2019-12-27", -1, "-59.9000", "7.764300", "-7.71"),
    ]
    assert rows(wh, "SELECT resolved_at IS NOT NULL FROM audit.quarantine") == [(True,)]
    assert rows(wh, "SELECT count(*) FROM raw.pending_sales_events") == [(0,)]


def test_row_rules_name_line_and_column(ready, load, wh, landing) -> None:
    landing(
        "sales/tmall_global/2019-12-24/events.jsonl",
        "\n".join(
            [
                tmall("TMA", "PAID", "not a time", "OA", 1),
                tmall("TMB", "PAID", "2019-12-24T10:00:00+08:00", "OB", 0),
                tmall("TMC", "SHIPPED", "2019-12-24T10:00:00+08:00", "OC", 1),
                tmall("TMD", "PAID", "2019-12-24T10:00:00+08:00", "OD", 1, price="abc"),
                tmall("TME", "PAID", "2019-12-24T10:00:00+08:00", "OE", 1, country="ZZ"),
            ]
        )
        + "\n",
    )
    load("sales")
    assert rows(wh, "SELECT line_number, reason, column_name FROM audit.quarantine ORDER BY 1") == [
        (1, "bad_timestamp", "event_ts"),
        (2, "non_positive_quantity", "quantity"),
        (3, "unknown_event_type", "event_type"),
        (4, "bad_number", "unit_price"),
        (5, "unknown_country", "ship_to_country"),
    ]
    raw = rows(wh, "SELECT raw_row FROM audit.quarantine WHERE line_number = 4")[0][0]
    assert json.loads(raw)["price"] == "abc"


def test_chunks_bound_files_and_rows_and_keep_order(tmp_path, monkeypatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.ingest import sales

    monkeypatch.setattr(sales, "CHUNK_FILES", 3)
    monkeypatch.setattr(sales, "CHUNK_ROWS", 10)
    monkeypatch.setattr(sales, "TEXT_BYTES_PER_ROW", 10)
    sizes = [10, 10, 10, 10, 60, 50, 150, 5]  # text: size // 10 + 1 rows each
    files = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"{i}.csv"
        path.write_bytes(b"x" * size)
        files.append((path, f"sha{i}"))
    got = sales.chunks(files)
    assert [[int(p.stem) for p, _ in chunk] for chunk in got] == [[0, 1, 2], [3, 4], [5], [6], [7]]
    assert [item for chunk in got for item in chunk] == files

    parquet = []
    for i, count in enumerate([4, 4, 4, 12]):  # Parquet: exact rows from the footer, whatever the bytes
        path = tmp_path / f"{i}.parquet"
        pq.write_table(pa.table({"n": list(range(count))}), path)
        parquet.append((path, f"p{i}"))
    got = sales.chunks(parquet, parquet=True)
    assert [[int(p.stem) for p, _ in chunk] for chunk in got] == [[0, 1], [2], [3]]


def test_text_rows_are_estimated_from_the_channels_bytes_per_line(tmp_path, monkeypatch) -> None:
    from pipelines.ingest import sales

    def land(name: str, data: bytes) -> tuple[Path, str]:
        path = tmp_path / name
        path.write_bytes(data)
        return path, name

    first = land("a.csv", b"123456789\n" * 3)  # 10 bytes a line
    middle = land("b.csv", b"1\n" * 50)  # not sampled
    last = land("c.csv", b"x" * 49 + b"\n" + b"x" * 49 + b"\n")  # 50 bytes a line
    assert sales.bytes_per_row([first, middle, last]) == 10  # the denser of first and last
    assert sales.bytes_per_row([last]) == 50
    assert sales.bytes_per_row([land("d.csv", b"no line break")]) == sales.TEXT_BYTES_PER_ROW
    assert sales.bytes_per_row([(tmp_path / "gone.csv", "x")]) == sales.TEXT_BYTES_PER_ROW

    monkeypatch.setattr(sales, "CHUNK_ROWS", 5)  # 30 bytes at 10 a row: 4 rows; at 100 a row: 1 row
    assert [len(chunk) for chunk in sales.chunks([first, first, first], text_bytes_per_row=10)] == [1, 1, 1]
    assert [len(chunk) for chunk in sales.chunks([first, first, first])] == [3]
