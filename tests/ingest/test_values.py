"""Values at the boundary: numbers in the contract's convention, plausibility ceilings, text rules,
and catalogue snapshots that would delist an implausible share of a supplier's products (held).

Golden EUR values from real ECB rates (see test_sales): 2 x 199.00 - 10.00 CNY on 2019-12-24 at
7.7643 = 49.97; 3 x 5.00 GBP at 0.85533 = 17.54; EUR at 1.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.contract_check import check_file
from pipelines.contracts import ContractError, load_contract
from pipelines.errors import UserFacingError
from pipelines.quality.gates import accept_file
from tests.ingest.conftest import rows
from tests.ingest.test_catalogues import UK_HEADER
from tests.ingest.test_fx import HIST
from tests.ingest.test_sales import CATALOGUE, facts, tmall

DAY = "2019-12-24T10:00:00+08:00"
GOOD = tmall("TMO1", "PAID", DAY, "O1", 2, discount="10.00")  # 49.97 EUR
GOOD_FACT = ("TMO1", "order", "2019-12-24", 2, "388.0000", "7.764300", "49.97")


@pytest.fixture
def ready(load, landing):
    """ECB rates and GB001's catalogue (W1, C1) loaded, as in test_sales."""
    landing("fx/eurofxref-hist.csv", HIST)
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("fx")
    load("catalogues")


@pytest.fixture
def contracts(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repo's contracts that a test may amend."""
    copy = tmp_path / "contracts"
    shutil.copytree(settings.contracts_dir, copy)
    monkeypatch.setattr(settings, "contracts_dir", copy)
    return copy


def amend(contracts: Path, name: str, **sections: object) -> Path:
    path = next(contracts.glob(f"*/{name}.yml"))
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc.update(sections)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def quarantined(wh) -> list[tuple]:
    return rows(wh, "SELECT line_number, reason, column_name FROM audit.quarantine ORDER BY path, line_number")


def assert_ledger_balances(wh) -> None:
    assert rows(
        wh, "SELECT count(*) FROM audit.load_ledger WHERE rows_read <> rows_loaded + rows_quarantined + rows_duplicate"
    ) == [(0,)]


def lines(*events: str) -> str:
    return "\n".join(events) + "\n"


# ---- numbers in the contract's convention ----------------------------------------------------


def test_sales_numbers_only_in_the_channels_decimal_point(ready, load, wh, landing) -> None:
    landing(
        "sales/tmall_global/2019-12-24/events.jsonl",
        lines(
            GOOD,
            tmall("TMO2", "PAID", DAY, "O2", 1, price="12,50"),  # loaded as 1250.00 before
            tmall("TMO3", "PAID", DAY, "O3", 1, price="1,250.00"),  # no thousands separator declared
            tmall("TMO4", "PAID", DAY, "O4", 1, discount="1,00"),
            tmall("TMO5", "PAID", DAY, "O5", 1, price="99999999999999999.00"),  # beyond DECIMAL(18,4)
            tmall("TMO6", "PAID", DAY, "O6", 3_000_000_000),  # beyond the warehouse's INTEGER
        ),
    )
    summary = load("sales")
    assert quarantined(wh) == [
        (2, "bad_number", "unit_price"),
        (3, "bad_number", "unit_price"),
        (4, "bad_number", "discount"),
        (5, "bad_number", "unit_price"),
        (6, "bad_number", "quantity"),
    ]
    assert facts(wh) == [GOOD_FACT]
    assert summary.eur_loaded == Decimal("49.97")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (6, 1, 5)
    raw = rows(wh, "SELECT raw_row FROM audit.quarantine WHERE line_number = 2")[0][0]
    assert json.loads(raw)["price"] == "12,50"
    assert_ledger_balances(wh)


def test_a_decimal_comma_channel_with_dot_thousands(contracts, ready, load, wh, landing) -> None:
    amend(contracts, "own_webshop", csv={"delimiter": ";", "decimal": ",", "thousands": ".", "encoding": "utf-8"})
    header = "event_id;order_ref;line;supplier_id;sku;quantity;unit_price;currency;discount;ship_country;ship_region"
    landing(
        "sales/own_webshop/2019-12-24/events.csv",
        lines(
            header + ";placed_at",
            "WS1;W1;1;GB001;C1;3;5,00;GBP;0;CN;Beijing;2019-12-24 10:00:00",  # 15 / 0.85533 = 17.54
            "WS2;W2;1;GB001;W1;1;1.234,50;EUR;0,50;CN;Beijing;2019-12-24 10:00:00",  # 1234.00 EUR
            "WS3;W3;1;GB001;W1;1;12.50;EUR;0;CN;Beijing;2019-12-24 10:00:00",  # loaded as 1250.00 before
            "WS4;W4;1;GB001;W1;1;1.23,50;EUR;0;CN;Beijing;2019-12-24 10:00:00",  # a group of two digits
            "WS5;W5;1;GB001;W1;1;5,00;EUR;0.50;CN;Beijing;2019-12-24 10:00:00",
        ),
    )
    summary = load("sales")
    assert quarantined(wh) == [
        (4, "bad_number", "unit_price"),
        (5, "bad_number", "unit_price"),
        (6, "bad_number", "discount"),
    ]
    assert facts(wh) == [
        ("WS1", "order", "2019-12-24", 3, "15.0000", "0.855330", "17.54"),
        ("WS2", "order", "2019-12-24", 1, "1234.0000", "1.000000", "1234.00"),
    ]
    assert summary.eur_loaded == Decimal("1251.54")
    assert_ledger_balances(wh)


def test_catalogue_numbers_in_each_suppliers_convention(load, wh, landing) -> None:
    landing(
        "catalogues/GB001/2020-01-01.csv",
        UK_HEADER
        + lines(
            "OK1,,Good,B,C,220830,GB,10.50,GBP,1.25",
            'P1,,Comma price,B,C,220830,GB,"12,50",GBP,1',  # loaded as 1250.00 before
            "P2,,Huge price,B,C,220830,GB,99999999999999999,GBP,1",
            "W1,,Huge weight,B,C,220830,GB,1.00,GBP,999999999999",  # beyond DECIMAL(12,4) kg
        ),
    )
    landing(
        "catalogues/DE001/2020-01-01.csv",
        "Artikelnummer;EAN;Bezeichnung;Marke;Warengruppe;Zolltarifnummer;Ursprungsland;Preis;Währung;Gewicht (g)\n"
        "D1;;Käse;M;Dairy;0406.90;DE;1.234,50;EUR;1.315\n"  # thousands '.' declared: 1234.50, 1.315 kg
        "D2;;Wurst;M;Food;0406.90;DE;1.23,50;EUR;315\n"  # a group of two digits
        "D3;;Brot;M;Food;0406.90;DE;12.50;EUR;315\n".encode("cp1252"),  # loaded as 1250.00 before
    )
    summary = load("catalogues")
    assert rows(wh, "SELECT path, line_number, reason, column_name FROM audit.quarantine ORDER BY 1, 2") == [
        ("catalogues/DE001/2020-01-01.csv", 3, "bad_number", "unit_price"),
        ("catalogues/DE001/2020-01-01.csv", 4, "bad_number", "unit_price"),
        ("catalogues/GB001/2020-01-01.csv", 3, "bad_number", "unit_price"),
        ("catalogues/GB001/2020-01-01.csv", 4, "bad_number", "unit_price"),
        ("catalogues/GB001/2020-01-01.csv", 5, "bad_number", "unit_weight"),
    ]
    assert rows(wh, "SELECT supplier_sku, unit_price, unit_weight_kg FROM core.dim_product ORDER BY 1") == [
        ("D1", Decimal("1234.5000"), Decimal("1.3150")),
        ("OK1", Decimal("10.5000"), Decimal("1.2500")),
    ]
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined, summary.files_rejected) == (7, 2, 5, 0)
    assert_ledger_balances(wh)


# ---- plausibility -------------------------------------------------------------------------------


def test_sales_plausibility_rules(ready, load, wh, landing) -> None:
    landing(
        "sales/tmall_global/2019-12-24/events.jsonl",
        lines(
            GOOD,
            tmall("TMO2", "PAID", DAY, "O2", 1, price="-5.00"),  # failed the core gate forever before
            tmall("TMO3", "PAID", DAY, "O3", 1, price="0.00"),
            tmall("TMO4", "PAID", DAY, "O4", 1, discount="-1.00"),
            tmall("TMO5", "PAID", DAY, "O5", 2, discount="398.01"),  # more than 2 x 199.00
            tmall("TMO6", "PAID", DAY, "O6", 100_000_000),  # EUR 6.4 M became 12.2 bn
            tmall("TMO7", "PAID", DAY, "O7", 1, price="1000000.01"),
            tmall("TMO8", "PAID", DAY, "O8", 10_000, price="1000.01"),  # 10,000,100 CNY in one line
            tmall("TMO9", "PAID", DAY, "O9", 2, discount="398.00"),  # the whole line: allowed, 0.00 EUR
        ),
    )
    summary = load("sales")
    assert quarantined(wh) == [
        (2, "price_not_positive", "unit_price"),
        (3, "price_not_positive", "unit_price"),
        (4, "discount_negative", "discount"),
        (5, "discount_exceeds_value", "discount"),
        (6, "quantity_absurd", "quantity"),
        (7, "price_absurd", "unit_price"),
        (8, "line_value_absurd", "unit_price"),
    ]
    assert facts(wh) == [GOOD_FACT, ("TMO9", "order", "2019-12-24", 2, "0.0000", "7.764300", "0.00")]
    assert summary.eur_loaded == Decimal("49.97")
    assert_ledger_balances(wh)
    amounts = rows(
        wh,
        "SELECT amount_read, amount_loaded, amount_quarantined FROM audit.load_ledger_amounts "
        "JOIN audit.load_ledger USING (sha256) WHERE feed = 'sales'",
    )
    # quantity x price - discount; quarantined: -5 + 0 + 200 - 0.01 + 19,900,000,000 + 1,000,000.01 + 10,000,100
    assert amounts == [(Decimal("19911000683.0000"), Decimal("388.0000"), Decimal("19911000295.0000"))]


def test_cancels_and_returns_are_not_priced(ready, load, wh, landing) -> None:
    """A cancel takes its order line's value: its own price and discount are not judged."""
    landing(
        "sales/tmall_global/2019-12-24/events.jsonl",
        lines(GOOD, tmall("TMC1", "CANCELLED", "2019-12-24T11:00:00+08:00", "O1", 2, price="0.00", discount="-1")),
    )
    load("sales")
    assert quarantined(wh) == []
    assert facts(wh) == [("TMC1", "cancel", "2019-12-24", -2, "-388.0000", "7.764300", "-49.97"), GOOD_FACT]


def test_ceilings_come_from_the_contract(contracts, ready, load, wh, landing) -> None:
    amend(
        contracts,
        "tmall_global",
        limits={"max_quantity": 5, "max_line_value": 500, "max_text_length": {"ship_to_region": 3}},
    )
    landing(
        "sales/tmall_global/2019-12-24/events.jsonl",
        lines(
            GOOD.replace("Guangdong", "GD"),
            tmall("TMO2", "PAID", DAY, "O2", 6).replace("Guangdong", "GD"),  # 6 > max_quantity 5
            tmall("TMO3", "PAID", DAY, "O3", 3).replace("Guangdong", "GD"),  # 597.00 > max_line_value 500
            tmall("TMO4", "PAID", DAY, "O4", 1),  # 'Guangdong' is longer than 3
        ),
    )
    load("sales")
    assert quarantined(wh) == [
        (2, "quantity_absurd", "quantity"),
        (3, "line_value_absurd", "unit_price"),
        (4, "text_too_long", "ship_to_region"),
    ]
    assert facts(wh) == [GOOD_FACT]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"limits": {"max_quantity": 0}}, "limits.max_quantity must be a whole number from 1 to 1,000,000"),
        ({"limits": {"max_quantity": 10_000_000}}, "limits.max_quantity must be a whole number"),
        ({"limits": {"max_unit_price": "lots"}}, "limits.max_unit_price must be a number > 0"),
        ({"limits": {"max_line_value": 1e15}}, "limits.max_line_value must be a number > 0 and <= 99999999999999"),
        ({"limits": {"max_delist_share": 0.5}}, "unknown limits ['max_delist_share'] for feed sales"),
        ({"limits": {"max_text_length": {"title": 9}}}, "unknown text fields ['title']"),
        ({"limits": {"max_text_length": 0}}, "limits.max_text_length.event_id must be a whole number"),
        ({"csv": {"decimal": ",", "thousands": ","}}, "csv.thousands must differ from csv.decimal"),
        ({"csv": {"thousands": "_"}}, "csv.thousands must be one of"),
    ],
)
def test_contract_limits_and_thousands_are_checked(contracts, section: dict, message: str) -> None:
    path = amend(contracts, "tmall_global", **section)
    with pytest.raises(ContractError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_contract(path)


def test_contract_limit_defaults_and_one_length_for_every_field(contracts) -> None:
    limits = load_contract(next(contracts.glob("*/tmall_global.yml"))).limits
    assert (limits.max_quantity, limits.max_unit_price, limits.max_line_value) == (10_000, 1_000_000, 10_000_000)
    assert (limits.text_length("event_id"), limits.text_length("ship_to_region")) == (100, 200)
    uk = load_contract(next(contracts.glob("*/uk_csv_comma.yml"))).limits
    assert (uk.text_length("title"), uk.max_delist_share, uk.delist_min_products) == (500, Decimal("0.5"), 20)
    path = amend(contracts, "tmall_global", limits={"max_text_length": 40, "max_unit_price": "2500.50"})
    limits = load_contract(path).limits
    assert (limits.text_length("event_id"), limits.text_length("ship_to_region")) == (40, 40)
    assert limits.max_unit_price == Decimal("2500.50")


# ---- text fields --------------------------------------------------------------------------------


def test_sales_text_length_and_control_characters(ready, load, wh, landing) -> None:
    landing(
        "sales/tmall_global/2019-12-24/events.jsonl",
        lines(
            GOOD,
            tmall("E" * 101, "PAID", DAY, "O2", 1),
            tmall("TMO3", "PAID", DAY, "O3", 1, sku="W1\x00"),  # NUL loaded before
            tmall("TMO4", "PAID", DAY, "O4", 1).replace("Guangdong", "Guang\\tdong"),
            tmall("TMO5", "PAID", DAY, "O5", 1).replace("Guangdong", "G" * 201),
            tmall("TMO6", "PAID", DAY, "O6", 1).replace("Guangdong", "Guang\\u007fdong"),
            tmall("TMO7", "PAID", DAY, "O7", 1).replace("Guangdong", "廣東" * 100),  # 200 characters: fine
        ),
    )
    load("sales")
    assert quarantined(wh) == [
        (2, "text_too_long", "event_id"),
        (3, "control_characters", "supplier_sku"),
        (4, "control_characters", "ship_to_region"),
        (5, "text_too_long", "ship_to_region"),
        (6, "control_characters", "ship_to_region"),
    ]
    assert [f[0] for f in facts(wh)] == ["TMO1", "TMO7"]
    assert_ledger_balances(wh)


def test_catalogue_text_length_and_control_characters(load, wh, landing) -> None:
    landing(
        "catalogues/GB001/2020-01-01.csv",
        UK_HEADER
        + lines(
            "OK1,,Good,B,C,220830,GB,10.50,GBP,1",
            f"T1,,{'x' * 501},B,C,220830,GB,10.00,GBP,1",  # a 10 MB title loaded before
            "T2,,Nul\x00title,B,C,220830,GB,10.00,GBP,1",
            "T4,,Del,B\x7f,C,220830,GB,10.00,GBP,1",
            f"{'S' * 101},,Long sku,B,C,220830,GB,10.00,GBP,1",
            f"T6,,{'y' * 500},{'b' * 200},{'c' * 200},220830,GB,10.00,GBP,1",  # every field at its maximum
            '"T3",,"Two\nlines",B,C,220830,GB,10.00,GBP,1',  # a quoted line break inside a title
        ),
    )
    load("catalogues")
    assert quarantined(wh) == [
        (3, "text_too_long", "title"),
        (4, "control_characters", "title"),
        (5, "control_characters", "brand"),
        (6, "text_too_long", "supplier_sku"),
        (8, "control_characters", "title"),
    ]
    assert rows(wh, "SELECT supplier_sku, length(title), unit_price FROM core.dim_product ORDER BY 1") == [
        ("OK1", 4, Decimal("10.5000")),
        ("T6", 500, Decimal("10.0000")),
    ]
    assert_ledger_balances(wh)


def test_contract_check_applies_the_same_rules(settings, load, wh, landing, tmp_path: Path) -> None:
    content = UK_HEADER + lines(
        "OK1,,Good,B,C,220830,GB,10.50,GBP,1",
        'P1,,Comma price,B,C,220830,GB,"12,50",GBP,1',
        f"T1,,{'x' * 5000},B,C,220830,GB,10.00,GBP,1",
        "T2,,Nul\x00,B,C,220830,GB,10.00,GBP,1",
        "Z1,,Negative,B,C,220830,GB,-1.00,GBP,1",
    )
    path = landing("catalogues/GB001/2020-01-01.csv", content)
    result = check_file(
        path, load_contract(settings.contracts_dir / "catalogues" / "uk_csv_comma.yml"), settings.reference_dir
    )
    load("catalogues")
    found = sorted((e.line, r.reason, e.column) for r in result.reasons for e in r.examples)
    assert (
        found
        == quarantined(wh)
        == [
            (3, "bad_number", "unit_price"),
            (4, "text_too_long", "title"),
            (5, "control_characters", "title"),
            (6, "price_not_positive", "unit_price"),
        ]
    )
    long = next(e.value for r in result.reasons for e in r.examples if r.reason == "text_too_long")
    assert long == "x" * 200 + "... (5,000 characters)"  # an example is shown cut, with its length
    assert any("implausible_delisting" in note for note in result.notes)


# ---- catalogue snapshots that would delist an implausible share ---------------------------------


def skus(supplier: str, day: str, count: int, landing, first: int = 0) -> str:
    rel = f"catalogues/{supplier}/{day}.csv"
    landing(
        rel, UK_HEADER + lines(*(f"S{i:02d},,Item {i},B,C,220830,GB,{10 + i}.00,GBP,1" for i in range(first, count)))
    )
    return rel


def current(wh, supplier: str) -> list[tuple]:
    return rows(
        wh,
        "SELECT supplier_sku, valid_to::VARCHAR, is_current FROM core.dim_product WHERE supplier_id = ? ORDER BY 1, 2",
        [supplier],
    )


def test_a_snapshot_that_would_delist_most_products_is_held_until_accepted(load, wh, landing) -> None:
    skus("GB001", "2020-01-01", 30, landing)
    skus("GB002", "2020-01-01", 3, landing)
    load("catalogues")
    held = skus("GB001", "2020-02-01", 10, landing)  # 20 of 30 missing: a truncated file?
    other = skus("GB002", "2020-02-01", 2, landing)  # 3 products: too few to judge; S02 delisted
    summary = load("catalogues")

    assert rows(
        wh,
        "SELECT path, status, rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger "
        "WHERE feed = 'catalogues' ORDER BY 1, 2",
    ) == [
        ("catalogues/GB001/2020-01-01.csv", "loaded", 30, 30, 0),
        (held, "held", 10, 0, 10),
        ("catalogues/GB002/2020-01-01.csv", "loaded", 3, 3, 0),
        (other, "loaded", 2, 2, 0),
    ]
    [(reason, column, line, detail)] = rows(
        wh, "SELECT reason, column_name, line_number, detail FROM audit.quarantine WHERE path = ?", [held]
    )
    assert (reason, column, line) == ("implausible_delisting", "supplier_sku", None)
    assert detail.startswith(f"{held}: would delist 20 of the 30 products of supplier GB001's latest snapshot")
    assert "(2020-01-01): 66.7% > limits.max_delist_share 50%" in detail
    assert f"xborder quality --accept {held}" in detail
    assert any(held in note for note in summary.notes)
    assert rows(wh, "SELECT count(*) FROM raw.catalogue_items WHERE source_file = ?", [held]) == [(0,)]
    assert current(wh, "GB001") == [(f"S{i:02d}", "9999-12-31", True) for i in range(30)]  # nothing closed
    assert current(wh, "GB002") == [
        ("S00", "9999-12-31", True),
        ("S01", "9999-12-31", True),
        ("S02", "2020-02-01", False),
    ]
    amounts = rows(
        wh,
        "SELECT amount_read, amount_quarantined FROM audit.load_ledger_amounts a JOIN audit.load_ledger l USING (sha256) WHERE l.path = ?",
        [held],
    )
    assert amounts == [(Decimal("145.0000"), Decimal("145.0000"))]  # 10 + 11 + ... + 19
    assert_ledger_balances(wh)
    assert load("catalogues").files == 0  # the hold is remembered: the next run does not load it by itself

    with pytest.raises(UserFacingError, match=f"catalogues/GB001/nope.csv is not a held file.*held now: {held}"):
        accept_file(wh, "catalogues/GB001/nope.csv", "no")
    sha, message = accept_file(wh, held, "supplier confirmed: winter range delisted")
    assert message == detail
    assert rows(wh, "SELECT path, reason, note FROM audit.file_acceptance WHERE sha256 = ?", [sha]) == [
        (held, "implausible_delisting", "supplier confirmed: winter range delisted")
    ]
    assert rows(wh, "SELECT count(*) FROM audit.quarantine WHERE path = ?", [held]) == [(0,)]

    summary = load("catalogues")  # loads it, this time without the delisting check
    assert (summary.files, summary.rows_loaded, summary.rows_quarantined) == (1, 10, 0)
    assert rows(wh, "SELECT status, rows_loaded FROM audit.load_ledger WHERE path = ?", [held]) == [("loaded", 10)]
    assert current(wh, "GB001") == [(f"S{i:02d}", "9999-12-31" if i < 10 else "2020-02-01", i < 10) for i in range(30)]
    assert rows(wh, "SELECT sum(unit_price) FROM core.dim_product WHERE supplier_id = 'GB001' AND is_current") == [
        (Decimal("145.0000"),)
    ]
    assert_ledger_balances(wh)


def test_late_partial_and_small_snapshots_are_not_held(load, wh, landing) -> None:
    skus("GB001", "2020-02-01", 30, landing)
    skus("GB003", "2020-01-01", 19, landing)
    load("catalogues")
    skus("GB001", "2020-01-01", 5, landing)  # older than the latest: delists nothing current
    skus("GB001", "2020-03-01", 30, landing, first=14)  # 14 of 30 missing: 46.7%, not more than half
    skus("GB003", "2020-02-01", 1, landing)  # 19 products: fewer than delist_min_products
    summary = load("catalogues")
    assert (summary.files, summary.rows_loaded, summary.rows_quarantined) == (3, 5 + 16 + 1, 0)
    assert rows(wh, "SELECT count(*) FROM audit.load_ledger WHERE status <> 'loaded'") == [(0,)]
    assert rows(wh, "SELECT count(*) FROM core.dim_product WHERE supplier_id = 'GB001' AND is_current") == [(16,)]


def test_the_check_compares_with_the_previous_snapshot_of_the_same_run(load, wh, landing) -> None:
    skus("GB001", "2020-01-01", 30, landing)
    load("catalogues")
    skus("GB001", "2020-02-01", 30, landing)  # complete
    held = skus("GB001", "2020-03-01", 12, landing)  # truncated: 18 of 30 missing
    skus("GB001", "2020-04-01", 30, landing)  # complete again: compared with 02-01, not the held 03-01
    load("catalogues")
    assert rows(wh, "SELECT path FROM audit.load_ledger WHERE status = 'held'") == [(held,)]
    assert current(wh, "GB001") == [(f"S{i:02d}", "9999-12-31", True) for i in range(30)]


def test_quality_accept_takes_a_held_path(settings, load, wh, landing) -> None:
    skus("GB001", "2020-01-01", 30, landing)
    load("catalogues")
    held = skus("GB001", "2020-02-01", 10, landing)
    load("catalogues")
    wh.close()  # the CLI opens the warehouse itself
    runner = CliRunner()
    no_note = runner.invoke(app, ["quality", "--accept", held])
    assert no_note.exit_code == 2 and "--note" in no_note.output
    absolute = str(settings.landing_dir / held)
    result = runner.invoke(app, ["quality", "--accept", absolute, "--note", "checked"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert f"accepted held file {held}" in result.output and "would delist 20 of the 30" in result.output
    again = runner.invoke(app, ["quality", "--accept", held, "--note", "checked"])
    assert isinstance(again.exception, UserFacingError) and f"{held} is not a held file" in str(again.exception)
