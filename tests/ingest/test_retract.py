"""Retracting a loaded file (``xborder db retract``): rows leave raw and core, dependents wait, audit trail.

Golden EUR from real ECB rates (CNY 7.7643 on 2019-12-24, 7.8025 on 2019-12-27), half to even
per line. File A (12-24): O1 2 x 199.00 - 10.00 = 388.00 -> 49.97; O2 100.00 -> 12.88.
File B (12-27): O3 300.00 on Saturday 12-28 -> 38.45; a return of 1 of 2 of O1 (194.00 -> -24.99)
and a cancel of O2 (-12.88), both referring to A's order lines.
"""

from __future__ import annotations

import getpass
from decimal import Decimal

import duckdb
import pytest

from pipelines import runner
from pipelines.ledger import forget_rejected
from pipelines.marts import build_marts
from pipelines.retract import RetractError, retract
from tests.ingest.conftest import rows
from tests.ingest.test_fx import HIST
from tests.ingest.test_sales import CATALOGUE, facts, tmall

A = "sales/tmall_global/2019-12-24/events.jsonl"
B = "sales/tmall_global/2019-12-27/events.jsonl"
A_TEXT = (
    tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 2, discount="10.00")
    + "\n"
    + tmall("TMO2", "PAID", "2019-12-24T11:00:00+08:00", "O2", 1, price="100.00")
    + "\n"
)
B_TEXT = (
    tmall("TMO3", "PAID", "2019-12-28T12:00:00+08:00", "O3", 1, price="300.00")
    + "\n"
    + tmall("TMR1", "REFUNDED", "2019-12-27T12:00:00+08:00", "O1", 1)
    + "\n"
    + tmall("TMC2", "CANCELLED", "2019-12-27T13:00:00+08:00", "O2", 1)
    + "\n"
)
B_ALONE = [("TMO3", "order", "2019-12-28", 1, "300.0000", "7.802500", "38.45")]


@pytest.fixture
def loaded(load, wh, landing, settings):
    """FX, the GB001 catalogue and both sales files loaded; marts built."""
    landing("fx/eurofxref-hist.csv", HIST)
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("fx")
    load("catalogues")
    landing(A, A_TEXT)
    landing(B, B_TEXT)
    load("sales")
    build_marts(wh, settings)
    assert net(wh) == Decimal("49.97") + Decimal("12.88") + Decimal("38.45") - Decimal("24.99") - Decimal("12.88")
    return wh


def net(wh) -> Decimal:
    return rows(wh, "SELECT coalesce(sum(eur_amount), 0) FROM core.fct_sales_event")[0][0]


def mart_net(wh) -> Decimal:
    return rows(wh, "SELECT coalesce(sum(net_eur), 0) FROM marts.agg_target_daily WHERE target_id = 'uk_goods_to_cn'")[
        0
    ][0]


def test_retracting_a_sales_file_leaves_the_other_alone_and_its_dependents_pending(loaded, load, wh, settings) -> None:
    done = retract(wh, settings, A, note="wrong export, ticket 4711")
    assert facts(wh) == B_ALONE  # exactly what B alone loads: its own order; its cancel and return wait
    assert net(wh) == Decimal("38.45")
    assert rows(wh, "SELECT count(*) FROM raw.sales_events WHERE source_file = ?", [A]) == [(0,)]
    assert rows(wh, "SELECT event_id, source_file FROM raw.pending_sales_events ORDER BY 1") == [
        ("TMC2", B),
        ("TMR1", B),
    ]
    assert rows(
        wh,
        "SELECT path, line_number, reason, column_name FROM audit.quarantine WHERE resolved_at IS NULL ORDER BY 2",
    ) == [(B, 2, "orphan_reference", "order_id"), (B, 3, "orphan_reference", "order_id")]
    assert rows(wh, "SELECT status FROM audit.load_ledger WHERE path = ?", [A]) == [("retracted",)]
    assert rows(wh, "SELECT status FROM audit.load_ledger WHERE path = ?", [B]) == [("loaded",)]
    assert rows(
        wh,
        "SELECT path, feed, rows_removed, eur_removed, dependents_pending, retracted_by, note FROM audit.retractions",
    ) == [
        (
            A,
            "sales",
            {
                "raw.sales_events": 4,
                "core.fct_sales_event": 4,
                "core.fct_sales_event_held": 0,
                "raw.pending_sales_events": 0,
            },
            Decimal("49.97") + Decimal("12.88") - Decimal("24.99") - Decimal("12.88"),
            2,
            getpass.getuser(),
            "wrong export, ticket 4711",
        )
    ]
    assert done.eur_removed == Decimal("24.98")
    # the marts follow on the next build, in full
    # every aggregate part is dropped; the forecast's input fingerprint stays (the changed daily series
    # makes the next build run the forecast again)
    assert rows(wh, "SELECT part FROM audit.mart_state") == [("forecast",)]
    assert build_marts(wh, settings)["mode"] == "full"
    assert mart_net(wh) == Decimal("38.45")

    # the same bytes at the same path are not loaded again by themselves
    assert load("sales").files == 0
    assert net(wh) == Decimal("38.45")


def test_a_corrected_file_brings_the_orders_back_and_the_pending_cancels_apply(
    loaded, load, wh, settings, landing
) -> None:
    retract(wh, settings, A)
    # corrected: no discount on O1 (398.00 -> 51.26); the return of 1 of 2 is now 199.00 -> 25.63
    landing(A, A_TEXT.replace('"discount": "10.00"', '"discount": "0.00"'))
    summary = load("sales")
    assert (summary.files, summary.rows_loaded, summary.rows_quarantined) == (1, 2, 0)
    assert facts(wh) == [
        ("TMC2", "cancel", "2019-12-27", -1, "-100.0000", "7.764300", "-12.88"),
        ("TMO1", "order", "2019-12-24", 2, "398.0000", "7.764300", "51.26"),
        ("TMO2", "order", "2019-12-24", 1, "100.0000", "7.764300", "12.88"),
        *B_ALONE,
        ("TMR1", "return", "2019-12-27", -1, "-199.0000", "7.764300", "-25.63"),
    ]
    assert net(wh) == Decimal("51.26") + Decimal("12.88") + Decimal("38.45") - Decimal("25.63") - Decimal("12.88")
    assert rows(wh, "SELECT count(*) FROM raw.pending_sales_events") == [(0,)]
    assert rows(wh, "SELECT count(*) FROM audit.quarantine WHERE resolved_at IS NULL") == [(0,)]
    assert rows(wh, "SELECT status FROM audit.load_ledger WHERE path = ? ORDER BY status", [A]) == [
        ("loaded",),
        ("retracted",),
    ]
    build_marts(wh, settings)
    assert mart_net(wh) == net(wh)

    # retracting B now: its order goes, its cancel and return of A's lines simply leave
    retract(wh, settings, B)
    assert net(wh) == Decimal("51.26") + Decimal("12.88")
    assert rows(wh, "SELECT count(*) FROM raw.pending_sales_events") == [(0,)]


def test_dry_run_reports_and_changes_nothing(loaded, wh, settings) -> None:
    before = facts(wh)
    done = retract(wh, settings, A, dry_run=True)
    assert done.dry_run and done.rows_removed["core.fct_sales_event"] == 4 and done.dependents_pending == 2
    assert done.eur_removed == Decimal("24.98")
    assert facts(wh) == before
    assert rows(wh, "SELECT count(*) FROM audit.retractions") == [(0,)]
    assert rows(wh, "SELECT status FROM audit.load_ledger WHERE path = ?", [A]) == [("loaded",)]
    assert rows(wh, "SELECT count(*) FROM audit.mart_state WHERE part <> 'forecast'") == [
        (3,)
    ]  # two targets, all goods: kept
    assert rows(wh, "SELECT count(*) FROM raw.pending_sales_events") == [(0,)]


def test_same_bytes_load_again_at_another_path_or_after_reprocess(loaded, load, wh, settings, landing) -> None:
    retract(wh, settings, A)
    forget_rejected(wh, A)  # xborder db reprocess: a retracted file may load again
    again = load("sales")  # its two orders, and with them B's pending return and cancel
    assert (again.rows_loaded, again.eur_loaded) == (2, Decimal("24.98"))
    assert net(wh) == Decimal("63.43")
    assert rows(wh, "SELECT count(*) FROM audit.retractions") == [(1,)]  # the record stays

    retract(wh, settings, A)
    landing("sales/tmall_global/2019-12-24/resent.jsonl", A_TEXT)  # the same bytes, landed again
    assert load("sales").rows_loaded == 2
    assert net(wh) == Decimal("63.43")


def test_refusals_name_the_reason(loaded, wh, settings, landing, load) -> None:
    with pytest.raises(RetractError, match="not in audit.load_ledger"):
        retract(wh, settings, "sales/tmall_global/nope.jsonl")
    retract(wh, settings, A)
    with pytest.raises(RetractError, match="already retracted"):
        retract(wh, settings, A)
    # rates that facts are valued at cannot go: the message names the facts and their files
    with pytest.raises(RetractError, match=r"1 sales fact\(s\) \(EUR 38.45\) from 1 file\(s\).*" + B):
        retract(wh, settings, "fx/eurofxref-hist.csv")
    assert rows(wh, "SELECT count(*) FROM core.fx_rate") == [(30,)]
    retract(wh, settings, B)
    done = retract(wh, settings, "fx/eurofxref-hist.csv")
    assert done.rows_removed == {"raw.fx_rates": 30, "core.fx_rate": 30}
    assert rows(wh, "SELECT count(*) FROM core.fx_rate") == [(0,)]


def test_retracting_a_catalogue_re_points_and_holds_facts(loaded, wh, settings, load, landing) -> None:
    landing("catalogues/GB001/2019-12-26.csv", CATALOGUE.replace(",GB,45.50", ",IE,45.50"))
    load("catalogues")  # W1 from Ireland since 12-26: O3 (12-28) is no UK good any more
    assert rows(wh, "SELECT country_of_origin FROM core.fct_sales_event WHERE event_id = 'TMO3'") == [("IE",)]
    done = retract(wh, settings, "catalogues/GB001/2019-12-26.csv")
    assert rows(wh, "SELECT country_of_origin FROM core.fct_sales_event WHERE event_id = 'TMO3'") == [("GB",)]
    assert done.rows_removed["raw.catalogue_items"] == 2
    assert done.rows_removed["core.fct_sales_event re-pointed"] == 1
    # the only snapshot retracted: no product version for any order date, every line is held
    done = retract(wh, settings, "catalogues/GB001/2019-12-01.csv")
    assert rows(wh, "SELECT count(*) FROM core.fct_sales_event") == [(0,)]
    assert rows(wh, "SELECT count(*), sum(eur_amount) FROM core.fct_sales_event_held") == [(5, Decimal("63.43"))]
    assert done.eur_removed == Decimal("63.43")
    assert rows(wh, "SELECT DISTINCT reason FROM audit.quarantine WHERE resolved_at IS NULL") == [("unknown_product",)]
    forget_rejected(wh, "catalogues/GB001/2019-12-01.csv")
    load("catalogues")  # the snapshot back: the held lines return, re-pointed
    assert net(wh) == Decimal("63.43")
    assert rows(wh, "SELECT count(*) FROM core.fct_sales_event_held") == [(0,)]
    assert rows(wh, "SELECT count(*) FROM audit.quarantine WHERE resolved_at IS NULL") == [(0,)]


def test_runner_step_records_the_run(loaded, wh, settings) -> None:
    wh.close()  # the runner opens the warehouse itself, as every step does
    detail = runner.retract(A, note="via the runner", settings=settings)
    assert (detail["feed"], detail["eur_removed"], detail["dependents_pending"]) == ("sales", "24.98", 2)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert rows(con, "SELECT command, status FROM audit.runs WHERE command = 'retract'") == [("retract", "success")]
        assert rows(con, "SELECT note FROM audit.retractions") == [("via the runner",)]


def test_cli_dry_run_then_retract(loaded, wh, settings) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    wh.close()
    cli = CliRunner()
    dry = cli.invoke(app, ["db", "retract", A, "--dry-run"], terminal_width=200)
    assert dry.exit_code == 0, dry.output
    assert "net EUR to remove from core.fct_sales_event: 24.98" in dry.output
    assert "dry run: nothing changed" in dry.output
    done = cli.invoke(app, ["db", "retract", A, "--note", "ticket 4711"], terminal_width=200)
    assert done.exit_code == 0, done.output
    assert f"{A} retracted" in done.output
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert rows(con, "SELECT note FROM audit.retractions") == [("ticket 4711",)]
        assert rows(con, "SELECT sum(eur_amount) FROM core.fct_sales_event") == [(Decimal("38.45"),)]
