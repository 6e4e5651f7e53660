"""Standalone credits, and sales that wait for their product version or FX rate (issue 13, items 4 and 6).

Golden EUR from real ECB rates, half to even per line: CNY 7.7643 on 2019-12-24, 7.8025 on 12-27
(and Saturday 12-28), 7.8205 on 12-31, 7.6773 on 2020-01-10; GBP 0.85533 on 12-24, 0.8508 on 12-31.
Catalogue (tests/ingest/test_sales.py): W1 Malt from GB, 1.25 kg; C1 Cheddar from FR, 0.5 kg.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import runner
from pipelines.contracts import ContractError, load_contract
from pipelines.ingest.pending import resolve_pending
from pipelines.ledger import forget_rejected, new_batch_id
from pipelines.marts import build_marts
from pipelines.retract import retract
from pipelines.settings import Settings
from tests.ingest.conftest import rows
from tests.ingest.test_fx import HIST
from tests.ingest.test_sales import CATALOGUE, facts, tmall

TM = "sales/tmall_global"
DAILY_0110 = "Date, USD, GBP, CNY, \n10 January 2020, 1.1091, 0.8481, 7.6773, \n"
# W9: a product the first snapshot does not list (a later snapshot, dated 2020-01-01, does)
CATALOGUE_0101 = CATALOGUE + "W9,,Gin,H,Spirits,220850,GB,20.00,GBP,0.750\n"


def lines(*events: str) -> str:
    return "\n".join(events) + "\n"


def pending(wh) -> list[tuple]:
    return rows(wh, "SELECT event_id FROM raw.pending_sales_events ORDER BY 1")


def state(wh) -> tuple:
    """Everything a pass could change."""
    return (
        rows(wh, "SELECT * FROM core.fct_sales_event ORDER BY channel, event_id"),
        rows(wh, "SELECT * FROM raw.sales_events ORDER BY channel, event_id"),
        rows(wh, "SELECT * FROM raw.pending_sales_events ORDER BY channel, event_id"),
        rows(wh, "SELECT * FROM audit.quarantine ORDER BY quarantine_id"),
        rows(wh, "SELECT * FROM audit.load_ledger ORDER BY path"),
        rows(wh, "SELECT * FROM audit.pending_passes ORDER BY batch_id"),
    )


def ledger_balances(wh) -> bool:
    ((bad,),) = rows(
        wh, "SELECT count(*) FROM audit.load_ledger WHERE rows_read <> rows_loaded + rows_quarantined + rows_duplicate"
    )
    return bad == 0


@pytest.fixture
def rates(load, landing):
    landing("fx/eurofxref-hist.csv", HIST)
    load("fx")


@pytest.fixture
def ready(rates, load, landing):
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("catalogues")


@pytest.fixture
def contracts(settings: Settings, tmp_path: Path) -> Path:
    """A copy of the shipped contracts the test may edit (``settings.contracts_dir`` points at it)."""
    folder = tmp_path / "contracts"
    shutil.copytree(settings.contracts_dir, folder)
    settings.contracts_dir = folder
    return folder


# ---- credits ------------------------------------------------------------------------------


def test_standalone_credit_at_its_own_rate_against_a_referenced_cancel_at_the_orders_rate(
    ready, load, wh, landing, settings
) -> None:
    # O1 2 x 199.00 on 12-24: 398.00 / 7.7643 = 51.2603 -> 51.26
    landing(f"{TM}/2019-12-24/events.jsonl", lines(tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 2)))
    load("sales")
    build_marts(wh, settings)  # the marts hold the order; the credits are added incrementally
    landing(
        f"{TM}/2019-12-31/events.jsonl",
        lines(
            # the cancel of O1 on 12-31 takes back the line at the ORDER's rate: -398.00 / 7.7643 = -51.26
            tmall("TMC1", "CANCELLED", "2019-12-31T12:00:00+08:00", "O1", 2),
            # a credit note of the same 2 x 199.00 on 12-31, naming no line: at ITS rate
            # -398.00 / 7.8205 = -50.8919 -> -50.89
            tmall("TMK1", "CREDIT", "2019-12-31T13:00:00+08:00", "K1", 2),
            # a credit of Saturday 12-28 (Friday's rate), its quantity landed negative (the sign means
            # nothing for a credit): -199.00 / 7.8025 = -25.5046 -> -25.50
            tmall("TMK2", "CREDIT", "2019-12-28T12:00:00+08:00", "K2", -1),
        ),
    )
    summary = load("sales")
    assert (summary.rows_loaded, summary.rows_quarantined) == (3, 0)
    assert facts(wh) == [
        ("TMC1", "cancel", "2019-12-31", -2, "-398.0000", "7.764300", "-51.26"),
        ("TMK1", "credit", "2019-12-31", -2, "-398.0000", "7.820500", "-50.89"),
        ("TMK2", "credit", "2019-12-28", -1, "-199.0000", "7.802500", "-25.50"),
        ("TMO1", "order", "2019-12-24", 2, "398.0000", "7.764300", "51.26"),
    ]
    assert rows(
        wh,
        "SELECT event_id, order_id, order_date::VARCHAR, fx_rate_date::VARCHAR, country_of_origin, weight_kg::VARCHAR "
        "FROM core.fct_sales_event WHERE event_type IN ('cancel', 'credit') ORDER BY 1",
    ) == [
        ("TMC1", "O1", "2019-12-24", "2019-12-24", "GB", "-2.5000"),  # the order's date and rate
        ("TMK1", "K1", "2019-12-31", "2019-12-31", "GB", "-2.5000"),  # its own
        ("TMK2", "K2", "2019-12-28", "2019-12-27", "GB", "-1.2500"),
    ]
    assert rows(wh, "SELECT quantity FROM raw.sales_events WHERE event_id = 'TMK2'") == [(1,)]  # landed canonical
    assert summary.eur_loaded == Decimal("-51.26") - Decimal("50.89") - Decimal("25.50")
    assert rows(wh, "SELECT count(*) FROM raw.pending_sales_events") == [(0,)]  # never an orphan

    # marts: credits apart, net = gross + cancelled + returned + credited, each on its own day
    built = build_marts(wh, settings)
    assert built["mode"] == "incremental"
    assert rows(
        wh,
        "SELECT date::VARCHAR, gross_eur, cancelled_eur, returned_eur, credited_eur, net_eur, units, "
        "cumulative_net_eur FROM marts.export_progress_daily WHERE target_id = 'uk_goods_to_cn' "
        "AND (gross_eur <> 0 OR net_eur <> 0) ORDER BY date",
    ) == [
        ("2019-12-24", Decimal("51.26"), 0, 0, 0, Decimal("51.26"), 2, Decimal("51.26")),
        ("2019-12-28", 0, 0, 0, Decimal("-25.50"), Decimal("-25.50"), -1, Decimal("25.76")),
        # -51.26 - 50.89 = -102.15; cumulative 51.26 - 25.50 - 102.15 = -76.39
        ("2019-12-31", 0, Decimal("-51.26"), 0, Decimal("-50.89"), Decimal("-102.15"), -4, Decimal("-76.39")),
    ]
    assert rows(
        wh,
        "SELECT member, gross_eur, cancelled_eur, returned_eur, credited_eur, net_eur FROM marts.export_breakdown_monthly "
        "WHERE target_id = 'uk_goods_to_cn' AND dimension = 'channel'",
    ) == [("tmall_global", Decimal("51.26"), Decimal("-51.26"), 0, Decimal("-76.39"), Decimal("-76.39"))]
    assert rows(
        wh,
        "SELECT country_of_origin, ship_to_country, credited_eur, net_eur FROM marts.export_all_goods_monthly",
    ) == [("GB", "CN", Decimal("-76.39"), Decimal("-76.39"))]
    for table in ("marts.agg_target_daily", "marts.agg_target_monthly", "marts.agg_all_goods_monthly"):
        assert rows(
            wh, f"SELECT count(*) FROM {table} WHERE net_eur <> gross_eur + cancelled_eur + returned_eur + credited_eur"
        ) == [(0,)]
    incremental = rows(wh, "SELECT * FROM marts.agg_target_daily ORDER BY ALL")
    assert build_marts(wh, settings, full=True)["mode"] == "full"
    assert rows(wh, "SELECT * FROM marts.agg_target_daily ORDER BY ALL") == incremental


def test_credits_are_held_to_the_order_row_rules(ready, load, wh, landing) -> None:
    landing(
        f"{TM}/2019-12-31/events.jsonl",
        lines(
            tmall("TMK1", "CREDIT", "2019-12-31T12:00:00+08:00", "K1", 1, price="0.00"),
            tmall("TMK2", "CREDIT", "2019-12-31T12:00:00+08:00", "K2", 1, country="ZZ"),
            tmall("TMK3", "CREDIT", "2019-12-31T12:00:00+08:00", "K3", 1, discount="200.00"),
            tmall("TMK4", "CREDIT", "2019-12-31T12:00:00+08:00", "K4", 1, price=""),
            tmall("TMK5", "CREDIT", "2019-12-31T12:00:00+08:00", "K5", 0),
            tmall("TMK6", "CREDIT", "2019-12-31T12:00:00+08:00", "K6", 1, price="90.00", discount="-1.00"),
        ),
    )
    summary = load("sales")
    assert (summary.rows_loaded, summary.rows_quarantined) == (0, 6)
    assert rows(wh, "SELECT line_number, reason, column_name FROM audit.quarantine ORDER BY 1") == [
        (1, "price_not_positive", "unit_price"),
        (2, "unknown_country", "ship_to_country"),
        (3, "discount_exceeds_value", "discount"),
        (4, "missing_field", "unit_price"),
        (5, "non_positive_quantity", "quantity"),
        (6, "discount_negative", "discount"),
    ]


def test_contract_event_types_accept_credit_and_name_what_is_wrong(tmp_path: Path) -> None:
    base = (
        "name: c\nfeed: sales\nchannel: c\nformat: csv\ntimestamp: {format: native}\n"
        "columns: {event_id: a, event_ts: b, order_id: c, line_id: d, quantity: e, event_type: f}\n"
    )

    def contract(extra: str):
        path = tmp_path / "c.yml"
        path.write_text(base + extra, encoding="utf-8")
        return load_contract(path)

    assert contract("event_types: {mode: negative_quantity, negative_as: credit}\n").event_types["negative_as"] == (
        "credit"
    )
    assert contract("event_types: {mode: column, values: {R: credit, P: order}}\n").wait_days is None
    parsed = contract("event_types: {mode: id_prefix, prefixes: {C: credit}, default: order}\nwaiting: {max_days: 5}\n")
    assert (parsed.event_types["default"], parsed.wait_days) == ("order", 5)
    with pytest.raises(ContractError, match="negative_as must be cancel, return or credit"):
        contract("event_types: {mode: negative_quantity, negative_as: refund}\n")
    with pytest.raises(ContractError, match=r"unknown event types \['refund'\]"):
        contract("event_types: {mode: column, values: {R: refund}}\n")
    with pytest.raises(ContractError, match="waiting.max_days must be a whole number of days"):
        contract("event_types: {mode: column, values: {P: order}}\nwaiting: {max_days: -1}\n")
    with pytest.raises(ContractError, match="waiting must be a mapping"):
        contract("event_types: {mode: column, values: {P: order}}\nwaiting: {days: 3}\n")


def test_credits_by_negative_quantity_and_by_id_prefix(ready, load, wh, landing, contracts) -> None:
    shop = contracts / "channels" / "own_webshop.yml"
    shop.write_text(shop.read_text().replace("negative_as: cancel", "negative_as: credit"), encoding="utf-8")
    (contracts / "channels" / "retail_uk.yml").write_text(
        "name: retail_uk\nfeed: sales\nchannel: retail_uk\nformat: csv\nfile_glob: '*.csv'\n"
        "columns: {event_id: LineRef, order_id: InvoiceNo, line_id: Line, supplier_sku: StockCode,\n"
        "          quantity: Quantity, event_ts: InvoiceDate, unit_price: UnitPrice, ship_to_country: Country}\n"
        "defaults: {supplier_id: GB001, currency: GBP}\n"
        "timestamp: {format: '%Y-%m-%d %H:%M', timezone: Europe/London}\n"
        "event_types: {mode: id_prefix, prefixes: {C: credit}, default: order}\n",
        encoding="utf-8",
    )
    header = "event_id,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,ship_country,ship_region,placed_at"
    landing(
        "sales/own_webshop/2019-12-31/events.csv",
        lines(
            header,
            "WS1,W1,1,GB001,W1,1,12.00,GBP,0,CN,Beijing,2019-12-24 10:00:00",  # 12.00 / 0.85533 = 14.03
            # a negative line with the order's own ids is a credit here, valued on ITS date:
            # -12.00 / 0.8508 = -14.1044 -> -14.10 (a cancel would take back -14.03)
            "WS2,W1,1,GB001,W1,-1,12.00,GBP,0,CN,Beijing,2019-12-31 10:00:00",
        ),
    )
    landing(
        "sales/retail_uk/2019-12-31/invoices.csv",
        lines(
            "InvoiceNo,Line,LineRef,StockCode,Quantity,InvoiceDate,UnitPrice,Country",
            "536365,1,536365-1,W1,1,2019-12-24 10:00,15.00,CN",  # no listed prefix: an order, 15 / 0.85533 = 17.54
            "C536379,1,C536379-1,W1,-2,2019-12-31 10:00,15.00,CN",  # C: a credit, -30 / 0.8508 = -35.26
            "536366,1,536366-1,W1,-1,2019-12-31 11:00,15.00,CN",  # an order's sign does mean something
        ),
    )
    load("sales")
    assert facts(wh) == [
        ("536365-1", "order", "2019-12-24", 1, "15.0000", "0.855330", "17.54"),
        ("C536379-1", "credit", "2019-12-31", -2, "-30.0000", "0.850800", "-35.26"),
        ("WS1", "order", "2019-12-24", 1, "12.0000", "0.855330", "14.03"),
        ("WS2", "credit", "2019-12-31", -1, "-12.0000", "0.850800", "-14.10"),
    ]
    assert rows(wh, "SELECT source, reason FROM audit.quarantine") == [("retail_uk", "non_positive_quantity")]


def test_credits_follow_a_late_catalogue_and_are_held_and_come_back(ready, load, wh, landing) -> None:
    landing(
        f"{TM}/2019-12-28/events.jsonl",
        lines(
            tmall("TMK1", "CREDIT", "2019-12-28T12:00:00+08:00", "K1", 2),  # -398.00 / 7.8025 = -51.0093 -> -51.01
            tmall("TMK2", "CREDIT", "2019-12-28T12:00:00+08:00", "K2", 1, price="50.00", sku="C1"),  # -> -6.41
        ),
    )
    load("sales")
    # snapshot B, dated 12-26 and landed late: W1 from Ireland, 1.30 kg; C1 not listed any more
    b_text = (
        "sku,ean,title,brand,category,hs_code,origin_country,unit_price,currency,weight_kg\n"
        "W1,,Malt 12y,H,Whisky,220830,IE,45.50,GBP,1.300\n"
    )
    landing("catalogues/GB001/2019-12-26.csv", b_text)
    load("catalogues")
    assert rows(
        wh, "SELECT event_id, country_of_origin, category, weight_kg::VARCHAR, eur_amount FROM core.fct_sales_event"
    ) == [("TMK1", "IE", "Whisky", "-2.6000", Decimal("-51.01"))]
    assert rows(wh, "SELECT event_id, eur_amount FROM core.fct_sales_event_held") == [("TMK2", Decimal("-6.41"))]
    landing("catalogues/GB001/2019-12-26.csv", b_text + "C1,,Cheddar,H,Dairy,040690,FR,9.00,GBP,0.500\n")
    load("catalogues")  # a corrected B lists C1 again: the held credit comes back
    assert rows(
        wh, "SELECT event_id, country_of_origin, weight_kg::VARCHAR, eur_amount FROM core.fct_sales_event ORDER BY 1"
    ) == [("TMK1", "IE", "-2.6000", Decimal("-51.01")), ("TMK2", "FR", "-0.5000", Decimal("-6.41"))]
    assert rows(wh, "SELECT count(*) FROM core.fct_sales_event_held") == [(0,)]


# ---- waiting ------------------------------------------------------------------------------


def land(settings: Settings, rel: str, text: str) -> None:
    path = settings.landing_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


WAITING_SALES = {
    # O5 2 x 150.00 on 12-27: 300.00 / 7.8025 = 38.4492 -> 38.45; a credit of C1 on Saturday 12-28:
    # -50.00 / 7.8025 = -6.4082 -> -6.41
    f"{TM}/2019-12-28/events.jsonl": lines(
        tmall("TMO5", "PAID", "2019-12-27T10:00:00+08:00", "O5", 2, price="150.00"),
        tmall("TMK5", "CREDIT", "2019-12-28T12:00:00+08:00", "K5", 1, price="50.00", sku="C1"),
    ),
    # the return of 1 of O5's 2 at the order's rate: -150.00 / 7.8025 = -19.2246 -> -19.22
    f"{TM}/2019-12-31/events.jsonl": lines(tmall("TMR5", "REFUNDED", "2019-12-31T12:00:00+08:00", "O5", 1)),
}


def test_sales_wait_for_a_late_catalogue_and_load_in_a_later_run_without_new_sales_files(settings) -> None:
    land(settings, "fx/eurofxref-hist.csv", HIST)
    for rel, text in WAITING_SALES.items():
        land(settings, rel, text)
    first = runner.run(build_after=False, settings=settings)  # no catalogue yet: nothing can be valued
    assert set(first.gates) == {"fx", "sales"}  # waiting rows are late, not a broken feed: the gate passes
    assert query(settings, "SELECT count(*) FROM core.fct_sales_event") == [(0,)]
    assert query(settings, "SELECT event_id FROM raw.pending_sales_events ORDER BY 1") == [
        ("TMK5",),
        ("TMO5",),
        ("TMR5",),
    ]
    assert query(
        settings, "SELECT line_number, reason, detail FROM audit.quarantine WHERE resolved_at IS NULL ORDER BY path, 1"
    ) == [
        (
            1,
            "unknown_product",
            "no product version of GB001/W1 valid on 2019-12-27; waits in raw.pending_sales_events (at most 30 days) "
            "and loads when a catalogue snapshot (or product map) brings a version valid that day",
        ),
        (
            2,
            "unknown_product",
            "no product version of GB001/C1 valid on 2019-12-28; waits in raw.pending_sales_events (at most 30 days) "
            "and loads when a catalogue snapshot (or product map) brings a version valid that day",
        ),
        (
            1,
            "orphan_reference",
            "no order line O5/1 loaded yet; waits in raw.pending_sales_events (at most 30 days) and loads when it "
            "arrives",
        ),
    ]
    ledger = (
        "SELECT path, rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger WHERE feed = 'sales' ORDER BY 1"
    )
    before = query(settings, ledger)
    assert [r[1:] for r in before] == [(2, 0, 2), (1, 0, 1)]  # waiting rows count as quarantined in their file

    # a LATER run: only the catalogue lands, no sales file is new
    land(settings, "catalogues/GB001/2019-12-01.csv", CATALOGUE)
    second = runner.run(build_after=False, settings=settings)
    sales = next(s for s in second.summaries if s.feed == "sales")
    assert sales.files == 0
    pass_id = second.pending["batch_id"]
    assert (second.pending["loaded"], second.pending["eur_loaded"], second.pending["waiting"]) == (3, "12.82", 0)
    assert Decimal("38.45") - Decimal("19.22") - Decimal("6.41") == Decimal("12.82")
    assert query(
        settings,
        "SELECT event_id, event_type, quantity, eur_amount, batch_id = ? FROM core.fct_sales_event ORDER BY 1",
        [pass_id],
    ) == [
        ("TMK5", "credit", -1, Decimal("-6.41"), True),
        ("TMO5", "order", 2, Decimal("38.45"), True),
        ("TMR5", "return", -1, Decimal("-19.22"), True),  # its order loaded first, in the same pass
    ]
    assert query(settings, "SELECT count(*) FROM raw.pending_sales_events") == [(0,)]
    assert query(
        settings, "SELECT count(*), count(*) FILTER (WHERE resolved_batch_id = ?) FROM audit.quarantine", [pass_id]
    ) == [(3, 3)]
    assert query(settings, "SELECT count(*) FROM raw.sales_events WHERE batch_id = ?", [pass_id]) == [(3,)]
    assert query(settings, ledger) == before  # the files' ledger rows stay as they were (and balance)
    assert query(settings, "SELECT loaded, eur_loaded, channels FROM audit.pending_passes") == [
        (3, Decimal("12.82"), ["tmall_global"])
    ]
    # the pass's batch is a sales batch: the sales gate validated it before anything could be published
    assert set(second.gates) == {"catalogues", "sales"}
    assert query(settings, "SELECT count(*) FROM audit.dq_pending_batches WHERE feed <> 'reference'") == [(0,)]
    assert query(
        settings, "SELECT passed FROM audit.dq_gate_runs WHERE stage = 'sales' AND list_contains(batches, ?)", [pass_id]
    ) == [(True,)]
    runner.refresh_marts(settings=settings)
    assert runner.quality_gate("core", settings=settings)["passed"]
    assert runner.quality_gate("marts", settings=settings)["passed"]
    assert query(
        settings,
        "SELECT sum(credited_eur), sum(net_eur) FROM marts.agg_target_daily WHERE target_id = 'all_goods_to_cn'",
    ) == [(Decimal("-6.41"), Decimal("12.82"))]

    # idempotent: nothing new, nothing changes, nothing to gate
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        snapshot = state(con)
    third = runner.run(build_after=False, settings=settings)
    assert (third.pending["loaded"], third.gates) == (0, {})
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert state(con) == snapshot


def test_a_sale_waits_for_a_late_rate_then_says_what_it_waits_for(rates, load, wh, landing, settings) -> None:
    # the last CNY rate before 2020-01-10 is 12-31's, 10 days back: beyond the 7-day look-back
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("catalogues")
    landing(
        f"{TM}/2020-01-10/events.jsonl",
        lines(
            tmall("TMO8", "PAID", "2020-01-10T10:00:00+08:00", "O8", 1),
            tmall("TMO9", "PAID", "2020-01-10T11:00:00+08:00", "O9", 1, price="80.00", sku="W9"),
            tmall("TMC8", "CANCELLED", "2020-01-10T12:00:00+08:00", "O8", 1),
        ),
    )
    load("sales")
    assert rows(wh, "SELECT line_number, reason FROM audit.quarantine ORDER BY 1") == [
        (1, "fx_rate_missing"),
        (2, "unknown_product"),
        (3, "orphan_reference"),
    ]
    assert (
        "no ECB CNY rate within 7 days before 2020-01-10; waits"
        in rows(wh, "SELECT detail FROM audit.quarantine WHERE line_number = 1")[0][0]
    )

    # W9's snapshot lands: TMO9 now waits for the rate, and says so
    landing("catalogues/GB001/2020-01-01.csv", CATALOGUE_0101)
    load("catalogues")
    nothing = resolve_pending(wh, settings, new_batch_id())
    assert (nothing.loaded, nothing.waiting, nothing.changed) == (0, 3, False)
    ((reason, column, detail),) = rows(
        wh, "SELECT reason, column_name, detail FROM audit.quarantine WHERE line_number = 2"
    )
    assert (reason, column) == ("fx_rate_missing", "currency")
    assert detail.startswith("no ECB CNY rate within 7 days before 2020-01-10; waits in raw.pending_sales_events until")
    assert detail.endswith("at most 30 days; was unknown_product)")

    # the ECB file of 2020-01-10 lands (CNY 7.6773): the three load, the cancel after its order
    landing("fx/daily/2020-01-10/eurofxref.csv", DAILY_0110)
    load("fx")
    done = resolve_pending(wh, settings, "PASS")
    # TMO8 199.00 / 7.6773 = 25.9206 -> 25.92, cancelled the same day -25.92; TMO9 80.00 / 7.6773 = 10.4203 -> 10.42
    assert (done.loaded, done.eur_loaded, done.waiting) == (3, Decimal("10.42"), 0)
    assert facts(wh) == [
        ("TMC8", "cancel", "2020-01-10", -1, "-199.0000", "7.677300", "-25.92"),
        ("TMO8", "order", "2020-01-10", 1, "199.0000", "7.677300", "25.92"),
        ("TMO9", "order", "2020-01-10", 1, "80.0000", "7.677300", "10.42"),
    ]
    assert rows(wh, "SELECT count(*) FROM audit.quarantine WHERE resolved_at IS NULL") == [(0,)]
    assert ledger_balances(wh)
    before = state(wh)
    again = resolve_pending(wh, settings, "PASS-AGAIN")
    assert (again.loaded, again.changed) == (0, False)
    assert state(wh) == before  # idempotent: no fact, row or audit row changes


def test_rows_stop_waiting_after_max_days(ready, load, wh, landing, settings) -> None:
    landing(
        f"{TM}/2019-12-27/events.jsonl",
        lines(
            tmall("TMO7", "PAID", "2019-12-27T10:00:00+08:00", "O7", 1, sku="W9"),  # W9: not in the catalogue
            tmall("TMC9", "CANCELLED", "2019-12-27T11:00:00+08:00", "O9", 1),  # names a line that never comes
            tmall("TMO6", "PAID", "2019-12-27T12:00:00+08:00", "O6", 1, sku="W9"),
        ),
    )
    load("sales")
    # the first two have waited 31 days, the third 29 (settings.wait_days: 30)
    wh.execute("UPDATE audit.quarantine SET quarantined_at = quarantined_at - INTERVAL 31 DAY WHERE line_number < 3")
    wh.execute("UPDATE audit.quarantine SET quarantined_at = quarantined_at - INTERVAL 29 DAY WHERE line_number = 3")
    done = resolve_pending(wh, settings, "PASS")
    assert (done.loaded, done.expired, done.waiting) == (0, 2, 1)
    assert pending(wh) == [("TMO6",)]
    details = rows(wh, "SELECT line_number, reason, resolved_at, detail FROM audit.quarantine ORDER BY 1")
    assert [(n, r, resolved) for n, r, resolved, _ in details] == [
        (1, "unknown_product", None),
        (2, "orphan_reference", None),
        (3, "unknown_product", None),
    ]
    for _, _, _, detail in details[:2]:
        assert "; stopped waiting on " in detail and detail.endswith(
            "after 30 days (waiting.max_days): final, no longer loads by itself (a new delivery of it loads)"
        )
    assert "stopped waiting" not in details[2][3]
    assert rows(wh, "SELECT expired, waiting FROM audit.pending_passes") == [(2, 1)]
    assert ledger_balances(wh)

    # W9 arrives: only the row still waiting loads (1 x 199.00 on 12-27 / 7.8025 = 25.5046 -> 25.50)
    landing("catalogues/GB001/2019-12-20.csv", CATALOGUE_0101)
    load("catalogues")
    done = resolve_pending(wh, settings, "PASS2")
    assert (done.loaded, done.eur_loaded, done.expired) == (1, Decimal("25.50"), 0)
    assert facts(wh) == [("TMO6", "order", "2019-12-27", 1, "199.0000", "7.802500", "25.50")]
    assert rows(wh, "SELECT line_number FROM audit.quarantine WHERE resolved_at IS NULL ORDER BY 1") == [(1,), (2,)]


def test_contract_and_setting_say_how_long_to_wait(ready, load, wh, landing, settings, contracts, monkeypatch) -> None:
    monkeypatch.setenv("XBORDER_WAIT_DAYS", "12")
    assert Settings().wait_days == 12
    tm = contracts / "channels" / "tmall_global.yml"
    tm.write_text(tm.read_text() + "waiting: {max_days: 5}\n", encoding="utf-8")
    shop = contracts / "channels" / "own_webshop.yml"
    shop.write_text(shop.read_text() + "waiting: {max_days: 0}\n", encoding="utf-8")
    landing(
        f"{TM}/2019-12-27/events.jsonl", lines(tmall("TMO7", "PAID", "2019-12-27T10:00:00+08:00", "O7", 1, sku="W9"))
    )
    landing(
        "sales/own_webshop/2019-12-27/events.csv",
        "event_id,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,ship_country,ship_region,"
        "placed_at\nWS7,W7,1,GB001,W9,1,12.00,GBP,0,CN,Beijing,2019-12-27 10:00:00\n",
    )
    load("sales")
    assert pending(wh) == [("TMO7",)]  # the web shop does not wait: its row is final at once
    assert rows(wh, "SELECT source, detail FROM audit.quarantine ORDER BY source") == [
        (
            "own_webshop",
            "no product version of GB001/W9 valid on 2019-12-27 (the channel does not wait: waiting.max_days 0)",
        ),
        (
            "tmall_global",
            "no product version of GB001/W9 valid on 2019-12-27; waits in raw.pending_sales_events (at most 5 days) "
            "and loads when a catalogue snapshot (or product map) brings a version valid that day",
        ),
    ]
    wh.execute("UPDATE audit.quarantine SET quarantined_at = quarantined_at - INTERVAL 6 DAY")
    assert resolve_pending(wh, settings, "PASS").expired == 1
    assert pending(wh) == []


def test_retracting_files_with_waiting_or_late_loaded_orders(rates, load, wh, landing, settings) -> None:
    for rel, text in WAITING_SALES.items():
        landing(rel, text)
    load("sales")
    first, second = WAITING_SALES
    # the order's file goes while its order waits: its rows leave the queue, the return keeps waiting
    retract(wh, settings, first)
    assert pending(wh) == [("TMR5",)]
    assert rows(wh, "SELECT path, reason FROM audit.quarantine WHERE resolved_at IS NULL") == [
        (second, "orphan_reference")
    ]
    forget_rejected(wh, first)  # reprocess it
    load("sales")
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("catalogues")
    done = resolve_pending(wh, settings, "PASS")
    assert (done.loaded, done.eur_loaded) == (3, Decimal("12.82"))
    # now retract it again: what loaded late goes too, and the return of its order line waits again
    gone = retract(wh, settings, first)
    assert (gone.rows_removed["core.fct_sales_event"], gone.eur_removed, gone.dependents_pending) == (
        3,
        Decimal("38.45") - Decimal("6.41") - Decimal("19.22"),
        1,
    )
    assert facts(wh) == []
    assert pending(wh) == [("TMR5",)]
    assert rows(wh, "SELECT count(*) FROM raw.sales_events") == [(0,)]
    forget_rejected(wh, first)
    again = load("sales")  # the same file again: it loads at once (the catalogue is there), with the return
    assert (again.rows_loaded, again.eur_loaded) == (2, Decimal("12.82"))
    assert pending(wh) == []
    assert ledger_balances(wh)


def test_a_currency_the_ecb_never_quotes_does_not_wait(load, wh, landing, settings) -> None:
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("catalogues")
    yen = tmall("TMJ1", "PAID", "2019-12-27T10:00:00+08:00", "J1", 1).replace('"CNY"', '"JPY"')
    landing(
        f"{TM}/2019-12-27/events.jsonl",
        lines(yen, tmall("TMO5", "PAID", "2019-12-27T10:00:00+08:00", "O5", 2, price="150.00")),
    )
    load("sales")  # no rate is loaded at all yet: both wait
    assert pending(wh) == [("TMJ1",), ("TMO5",)]
    landing("fx/eurofxref-hist.csv", HIST)  # the ECB history: CNY, GBP, USD, HRK, never JPY
    load("fx")
    done = resolve_pending(wh, settings, "PASS")
    assert (done.loaded, done.eur_loaded, done.final, done.waiting) == (1, Decimal("38.45"), 1, 0)
    ((reason, detail),) = rows(wh, "SELECT reason, detail FROM audit.quarantine WHERE resolved_at IS NULL")
    assert reason == "fx_rate_missing"
    assert detail.endswith("; then the ECB rates loaded hold no JPY rate at all: final")
    # with rates loaded, a JPY line is final at once
    landing(f"{TM}/2019-12-28/events.jsonl", lines(yen.replace("TMJ1", "TMJ2")))
    load("sales")
    assert pending(wh) == []
    assert rows(wh, "SELECT detail FROM audit.quarantine WHERE line_number = 1 AND path LIKE '%12-28%'") == [
        ("no ECB JPY rate within 7 days before 2019-12-27; the ECB publishes no JPY rates: final, it does not wait",)
    ]
