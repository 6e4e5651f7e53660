"""A hand-made landing zone whose tracked EUR total is worked out by hand below.

Target: GB-origin goods shipped to CN, 2019-11-01 .. 2019-11-30. ECB rates (units per EUR):
CNY 7.6 (10-31), 7.7 (11-01), 7.8 (11-04), 7.9 (11-05, daily file only); GBP 0.85 (11-01),
0.80 (11-04), 0.81 (11-05). Catalogues: GB001 on 11-01 (GB-A origin GB, GB-B origin FR) and
11-08 (GB-B now GB); DE001 on 11-01 (DE-X origin GB, a cp1252 title).

  TM-1   order 2 x 100.00 CNY, 11-02 10:00+08 (UTC Saturday 11-02: rate of 11-01)   200/7.7 =  25.97
  TM-2   order GB-B (FR origin on 11-02)                                            not tracked
  TM-3   order of an unknown SKU                                                    not counted
  TM-4   order 78.00 CNY, 11-04 07:00+08 = UTC Sunday 11-03: rate of 11-01         78/7.7 =  10.13
  WS-1   order 2.02 GBP, London 11-04 10:00 (GMT): rate 0.80, 2.525 half to even   2.02/0.8 =   2.52
  WS-2   order shipped to HK                                                        not tracked
  WS-3   order 40.00 EUR 11-04, WS-4 its cancel (quantity -1) 11-05               40.00 - 40.00
  O-1    order 3 x 10.05 CNY GB-B, UTC 11-09 (Saturday; snapshot 11-08: GB),
         rate of 11-05 (4 days back)                                              30.15/7.9 =   3.82
  O-1    re-delivered the next day                                                  counted once
  C-9    cancel of an order line that never arrives                                 ignored
  --- increment day 2019-11-20 ---
  R-1    return 1 of O-1's 3 units, at O-1's rate                             -(30.15/3)/7.9 =  -1.27
  O-2    order 7.90 CNY, UTC 11-20: latest CNY rate 15 days back (> 7)            not counted

History total 42.44; with the increment day 41.17.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

HISTORY_CENTS = 4244
TOTAL_CENTS = 4117
INCREMENT_DAY = "2019-11-20"
TARGETS = """targets:
  - id: uk_goods_to_cn
    name: UK goods to China (test)
    amount: 1000
    currency: EUR
    origin_countries: [GB]
    destination_countries: [CN]
    window_start: 2019-11-01
    window_end: 2019-11-30
    deadlines: {stretch: 2019-11-20, final: 2019-11-30}
"""


def gtin(body: str) -> str:
    """``body`` (12 digits) with its GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")


def _tmall(event_id, kind, ts, order, sku, qty, price, country="CN", supplier="GB001"):
    return json.dumps(
        {
            "event_id": event_id,
            "type": kind,
            "created_at": ts,
            "order_no": order,
            "line_no": 1,
            "supplier": supplier,
            "sku": sku,
            "qty": qty,
            "price": price,
            "currency": "CNY",
            "discount": "0.00",
            "country": country,
            "province": "Shanghai",
        }
    )


def _jd(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "order_id": [r[1] for r in rows],
            "line_id": ["1"] * len(rows),
            "supplier_code": ["GB001"] * len(rows),
            "sku_code": [r[2] for r in rows],
            "quantity": [r[3] for r in rows],
            "unit_price": [Decimal(r[4]) for r in rows],
            "currency": ["CNY"] * len(rows),
            "discount": [Decimal("0.00")] * len(rows),
            "ship_country": ["CN"] * len(rows),
            "province": ["Beijing"] * len(rows),
            "event_time": [r[5] for r in rows],
        },
        schema_overrides={
            "quantity": pl.Int32,
            "unit_price": pl.Decimal(12, 2),
            "discount": pl.Decimal(12, 2),
            "event_time": pl.Datetime("ms", "UTC"),
        },
    )


def write_landing(landing: Path) -> None:
    """Write the landing zone described in the module docstring."""
    _write(
        landing / "fx/eurofxref-hist.csv",
        "Date,USD,GBP,CNY,\n2019-11-04,1.1000,0.8000,7.8000,\n2019-11-01,1.1000,0.8500,7.7000,\n"
        "2019-10-31,1.1000,0.8600,7.6000,\n",
    )
    _write(
        landing / "fx/daily/2019-11-05/eurofxref.csv",
        "Date, USD, GBP, CNY, \n05 November 2019, 1.1000, 0.8100, 7.9000, \n",
    )
    head = "sku,ean,title,brand,category,hs_code,origin_country,unit_price,currency,weight_kg\n"
    a = f"GB-A,{gtin('500000100000')},Shortbread Tin,Highland,Biscuits & cereals,190531,GB,5.00,GBP,0.500\n"
    b = "GB-B,{},London Dry Gin,Highland,Wine & spirits,220850,{},20.00,GBP,1.000\n"
    _write(landing / "catalogues/GB001/2019-11-01.csv", head + a + b.format(gtin("500000100001"), "FR"))
    _write(landing / "catalogues/GB001/2019-11-08.csv", head + a + b.format(gtin("500000100001"), "GB"))
    de = (
        "Artikelnummer;EAN;Bezeichnung;Marke;Warengruppe;Zolltarifnummer;Ursprungsland;Preis;Währung;Gewicht (g)\n"
        f"DE-X;{gtin('400002400000')};Früchtebrot „Spezial“;Müller;Fine foods;1905.90;GB;8,47;EUR;315\n"
    )
    _write(landing / "catalogues/DE001/2019-11-01.csv", de.encode("cp1252"))

    tm = landing / "sales/tmall_global"
    _write(
        tm / "2019-11-02/events.jsonl",
        "\n".join(
            [
                _tmall("TM-1", "PAID", "2019-11-02T10:00:00+08:00", "T1", "GB-A", 2, "100.00"),
                _tmall("TM-2", "PAID", "2019-11-02T11:00:00+08:00", "T2", "GB-B", 1, "50.00"),
                _tmall("TM-3", "PAID", "2019-11-02T12:00:00+08:00", "T3", "UNKNOWN-1", 1, "10.00"),
            ]
        )
        + "\n",
    )
    _write(
        tm / "2019-11-03/events.jsonl",
        _tmall("TM-4", "PAID", "2019-11-04T07:00:00+08:00", "T4", "GB-A", 1, "78.00") + "\n",
    )
    _write(
        landing / "sales/own_webshop/2019-11-04/events.csv",
        "event_id,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,ship_country,ship_region,placed_at\n"
        "WS-1,W1,1,DE001,DE-X,1,2.02,GBP,0.00,CN,Shanghai,2019-11-04 10:00:00\n"
        "WS-2,W2,1,GB001,GB-A,3,10.00,EUR,1.00,HK,Hong Kong,2019-11-04 11:00:00\n"
        "WS-3,W3,1,GB001,GB-A,1,40.00,EUR,0.00,CN,Beijing,2019-11-04 12:00:00\n",
    )
    _write(
        landing / "sales/own_webshop/2019-11-05/events.csv",
        "event_id,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,ship_country,ship_region,placed_at\n"
        "WS-4,W3,1,GB001,GB-A,-1,40.00,EUR,0.00,CN,Beijing,2019-11-05 09:00:00\n",
    )
    jd = landing / "sales/jd_worldwide"
    o1 = ("O-1", "J1", "GB-B", 3, "10.05", datetime(2019, 11, 9, 12, tzinfo=UTC))
    c9 = ("C-9", "J9", "GB-A", 1, "10.00", datetime(2019, 11, 9, 13, tzinfo=UTC))
    for path, rows in (
        (jd / "2019-11-09/events.parquet", [o1, c9]),
        (jd / "2019-11-10/redelivery-2019-11-09.parquet", [o1]),
        (
            jd / f"{INCREMENT_DAY}/events.parquet",
            [
                ("R-1", "J1", "GB-B", 1, "10.05", datetime(2019, 11, 20, 8, tzinfo=UTC)),
                ("O-2", "J2", "GB-A", 1, "7.90", datetime(2019, 11, 20, 9, tzinfo=UTC)),
            ],
        ),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        _jd(rows).write_parquet(path)
