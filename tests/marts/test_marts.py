"""Every metric of DESIGN §4 on a hand-computed fixture (see tests/marts/conftest.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipelines.marts import build_marts
from pipelines.targets import TargetsError, load_targets
from tests.marts.conftest import add_facts, target, write_targets


def day(con, target_id: str, d: date) -> dict:
    cur = con.execute("SELECT * FROM marts.export_progress_daily WHERE target_id = ? AND date = ?", [target_id, d])
    names = [c[0] for c in cur.description]
    return dict(zip(names, cur.fetchall()[0], strict=True))


def test_daily_progress_golden(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    # window boundary: 2019-12-31 and 2020-01-11 are outside; the series ends at the window end
    assert con.execute(
        "SELECT min(date), max(date), count(*) FROM marts.export_progress_daily WHERE target_id = 'uk_goods_to_cn'"
    ).fetchall() == [(date(2020, 1, 1), date(2020, 1, 10), 10)]
    # daily net 10, 20, 0, -5: cumulative 10, 30, 30, 25
    cumulative = [
        r[0]
        for r in con.execute(
            "SELECT cumulative_net_eur FROM marts.export_progress_daily "
            "WHERE target_id = 'uk_goods_to_cn' ORDER BY date"
        ).fetchall()
    ]
    assert cumulative == [Decimal(v) for v in ("10", "30", "30", "25", "25", "25", "25", "25", "25", "25")]

    d1 = day(con, "uk_goods_to_cn", date(2020, 1, 1))
    # run-rate 10/1 = 10 per day; 90 left -> 9 days -> 2020-01-10 = final deadline: at risk
    assert (d1["run_rate_30d"], d1["projected_completion_date"], d1["status"]) == (
        Decimal("10.00"),
        date(2020, 1, 10),
        "at_risk",
    )
    d2 = day(con, "uk_goods_to_cn", date(2020, 1, 2))
    # 30 in 2 days = 15/day; 70 left -> ceil(4.67) = 5 days -> 01-07; pace to stretch 70/3, to final 70/8
    assert d2["projected_completion_date"] == date(2020, 1, 7) and d2["status"] == "at_risk"
    assert (d2["pace_needed_stretch"], d2["pace_needed_final"]) == (Decimal("23.33"), Decimal("8.75"))
    assert (d2["units"], d2["cumulative_units"], d2["pct_of_target"]) == (2, 3, Decimal("30.0000"))
    d4 = day(con, "uk_goods_to_cn", date(2020, 1, 4))
    # the return: net -5 that day; 25 in 4 days = 6.25/day; 75 left -> 12 days -> 01-16 > final: off track
    assert (d4["net_eur"], d4["returned_eur"], d4["gross_eur"]) == (Decimal("-5.00"), Decimal("-5.00"), Decimal("0.00"))
    assert (d4["run_rate_30d"], d4["projected_completion_date"], d4["status"]) == (
        Decimal("6.25"),
        date(2020, 1, 16),
        "off_track",
    )
    assert (d4["pace_needed_stretch"], d4["pace_needed_final"], d4["pct_of_target"]) == (
        Decimal("75.00"),
        Decimal("12.50"),
        Decimal("25.0000"),
    )
    d10 = day(con, "uk_goods_to_cn", date(2020, 1, 10))
    # past both deadlines no pace is needed any more; 25/10 = 2.5/day
    assert (d10["pace_needed_stretch"], d10["pace_needed_final"], d10["run_rate_30d"]) == (None, None, Decimal("2.50"))
    assert d10["run_rate_90d"] == Decimal("2.50")


def test_all_goods_and_a_target_with_no_sales(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    everything = day(con, "all_goods_to_cn", date(2020, 1, 10))
    assert everything["cumulative_net_eur"] == Decimal("75.00")  # 10 + 20 + 50 - 5; HK excluded
    assert (everything["pct_of_target"], everything["status"], everything["target_eur"]) == (None, None, None)
    nothing = day(con, "uk_goods_to_de", date(2020, 1, 10))
    assert (
        nothing["cumulative_net_eur"],
        nothing["run_rate_30d"],
        nothing["projected_completion_date"],
        nothing["status"],
    ) == (Decimal("0.00"), Decimal("0.00"), None, "off_track")
    latest = con.execute("SELECT target_id, date FROM marts.export_progress_latest ORDER BY 1").fetchall()
    assert latest == [
        ("all_goods_to_cn", date(2020, 1, 10)),
        ("uk_goods_to_cn", date(2020, 1, 10)),
        ("uk_goods_to_de", date(2020, 1, 10)),
    ]


def test_reached_target_is_on_track_with_the_day_it_was_reached(con, settings) -> None:
    add_facts(
        con,
        [
            ("a", "order", date(2020, 1, 1), "60.00", 1, "GB", "CN"),
            ("b", "order", date(2020, 1, 3), "50.00", 1, "GB", "CN"),
        ],
    )
    write_targets(settings, [target("uk_goods_to_cn", date(2020, 1, 1), date(2020, 1, 10), date(2020, 1, 5))])
    build_marts(con, settings)
    # the series ends at the last day with data; 60 + 50 >= 100 on 01-03
    d = day(con, "uk_goods_to_cn", date(2020, 1, 3))
    assert (d["projected_completion_date"], d["status"], d["pace_needed_stretch"]) == (
        date(2020, 1, 3),
        "on_track",
        Decimal("0"),
    )


def test_monthly_breakdown_with_a_return_across_month_end(con, settings) -> None:
    add_facts(
        con,
        [
            ("a", "order", date(2020, 1, 31), "40.00", 2, "GB", "CN"),
            ("b", "cancel", date(2020, 1, 31), "-4.00", -1, "GB", "CN"),
            ("c", "return", date(2020, 2, 1), "-10.00", -1, "GB", "CN"),
        ],
    )
    write_targets(settings, [target("uk_goods_to_cn", date(2020, 1, 1), date(2020, 3, 31), date(2020, 2, 1))])
    build_marts(con, settings)
    rows = con.execute("""SELECT month, gross_eur, cancelled_eur, returned_eur, net_eur, units FROM marts.export_breakdown_monthly
                          WHERE dimension = 'channel' ORDER BY month""").fetchall()
    assert rows == [
        (date(2020, 1, 1), Decimal("40.00"), Decimal("-4.00"), Decimal("0.00"), Decimal("36.00"), 1),
        (date(2020, 2, 1), Decimal("0.00"), Decimal("0.00"), Decimal("-10.00"), Decimal("-10.00"), -1),
    ]
    dimensions = {r[0] for r in con.execute("SELECT DISTINCT dimension FROM marts.export_breakdown_monthly").fetchall()}
    assert dimensions == {
        "hs_section",
        "hs_chapter",
        "category",
        "supplier",
        "supplier_country",
        "channel",
        "ship_to_region",
    }


def test_marts_reconcile_with_core(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    ((mart,),) = con.execute(
        "SELECT sum(net_eur) FROM marts.export_progress_daily WHERE target_id='all_goods_to_cn'"
    ).fetchall()
    ((core,),) = con.execute("""SELECT sum(eur_amount) FROM core.fct_sales_event
                              WHERE ship_to_country = 'CN' AND event_date BETWEEN '2020-01-01' AND '2020-01-10'""").fetchall()
    assert mart == core
    for dimension in ("hs_chapter", "supplier", "channel"):
        ((total,),) = con.execute(
            "SELECT sum(net_eur) FROM marts.export_breakdown_monthly WHERE target_id = "
            "'all_goods_to_cn' AND dimension = ?",
            [dimension],
        ).fetchall()
        assert total == core


def test_invalid_targets_are_explained(tmp_path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(
        "targets:\n  - id: Bad Id\n    name: x\n    destination_countries: [china]\n"
        "    window_start: 2020-01-01\n    window_end: 2019-01-01\n"
        "    deadlines: {stretch: 2020-06-30, final: 2020-01-01}\n"
    )
    with pytest.raises(TargetsError) as err:
        load_targets(path)
    message = str(err.value)
    assert "targets.0.id" in message and "destination_countries" in message and "alpha-2" in message
