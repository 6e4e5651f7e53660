"""Every metric of docs/design.md §4 on hand-computed fixtures (facts in tests/marts/conftest.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pipelines.marts import build_marts
from pipelines.quality.suites import SUITES
from tests.marts.conftest import D, add_dims, add_facts, target, write_targets


def day(con, target_id: str, d: date) -> dict:
    cur = con.execute("SELECT * FROM marts.export_progress_daily WHERE target_id = ? AND date = ?", [target_id, d])
    names = [c[0] for c in cur.description]
    (row,) = cur.fetchall()
    return dict(zip(names, row, strict=True))


def column(con, target_id: str, name: str) -> list:
    return [
        r[0]
        for r in con.execute(
            f"SELECT {name} FROM marts.export_progress_daily WHERE target_id = ? ORDER BY date", [target_id]
        ).fetchall()
    ]


def test_series_covers_the_window_up_to_the_latest_event(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    # 2019-12-31 (before) and 2020-01-11 (after) do not count; the latest event (01-11) is past the
    # window end, so the series runs to the window end; days without sales are rows of 0
    assert con.execute(
        "SELECT min(date), max(date), count(*) FROM marts.export_progress_daily WHERE target_id = 'uk_goods_to_cn'"
    ).fetchall() == [(D(2020, 1, 1), D(2020, 1, 10), 10)]
    assert column(con, "uk_goods_to_cn", "net_eur") == [
        Decimal(v) for v in ["10", "20", "0", "-5", "0", "0", "0", "0", "0", "0"]
    ]
    assert column(con, "uk_goods_to_cn", "cumulative_net_eur") == [
        Decimal(v) for v in ["10", "30", "30", "25", "25", "25", "25", "25", "25", "25"]
    ]
    assert column(con, "uk_goods_to_cn", "day_number") == list(range(1, 11))
    assert column(con, "uk_goods_to_cn", "cumulative_units")[:4] == [1, 3, 3, 2]
    assert column(con, "uk_goods_to_cn", "cumulative_kg")[:4] == [Decimal(v) for v in ("0.5", "1.5", "1.5", "1.0")]


def test_day_by_day_metrics_and_a_status_change(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    d1 = day(con, "uk_goods_to_cn", D(2020, 1, 1))
    # 10 in 1 day: 10/day; 90 left -> ceil(90 / 10) = 9 days -> 01-10 = the final deadline: at risk
    # pace: 90 / (01-05 - 01-01 = 4 days) = 22.50 to the stretch, 90 / 9 = 10.00 to the final
    assert (d1["run_rate_30d"], d1["run_rate_90d"], d1["pct_of_target"]) == (Decimal("10"), Decimal("10"), Decimal(10))
    assert (d1["pace_needed_stretch"], d1["pace_needed_final"]) == (Decimal("22.50"), Decimal("10.00"))
    assert (d1["projected_completion_date"], d1["status"], d1["remaining_eur"]) == (D(2020, 1, 10), "at_risk", 90)
    d2 = day(con, "uk_goods_to_cn", D(2020, 1, 2))
    # 30 in 2 days = 15/day; 70 left -> ceil(4.67) = 5 days -> 01-07; pace 70/3 = 23.333 -> 23.33, 70/8 = 8.75
    assert (d2["gross_eur"], d2["units"], d2["kg"]) == (Decimal("20.00"), 2, Decimal("1.0"))
    assert (d2["run_rate_30d"], d2["projected_completion_date"], d2["status"]) == (
        Decimal(15),
        D(2020, 1, 7),
        "at_risk",
    )
    assert (d2["pace_needed_stretch"], d2["pace_needed_final"], d2["pct_of_target"]) == (
        Decimal("23.33"),
        Decimal("8.75"),
        Decimal("30.0000"),
    )
    d3 = day(con, "uk_goods_to_cn", D(2020, 1, 3))
    # no sale: 30 in 3 days = 10/day; 70 left -> exactly 7 days -> 01-10: still at risk
    assert (d3["net_eur"], d3["run_rate_30d"], d3["projected_completion_date"], d3["status"]) == (
        Decimal(0),
        Decimal(10),
        D(2020, 1, 10),
        "at_risk",
    )
    d4 = day(con, "uk_goods_to_cn", D(2020, 1, 4))
    # the return: net -5 that day, shown apart from gross; 25 in 4 days = 6.25/day; 75 left ->
    # 12 days -> 01-16, after the final deadline: the status changes to off track
    assert (d4["net_eur"], d4["returned_eur"], d4["gross_eur"], d4["cancelled_eur"], d4["units"]) == (
        Decimal("-5.00"),
        Decimal("-5.00"),
        Decimal(0),
        Decimal(0),
        -1,
    )
    assert (d4["run_rate_30d"], d4["projected_completion_date"], d4["status"]) == (
        Decimal("6.25"),
        D(2020, 1, 16),
        "off_track",
    )
    assert (d4["pace_needed_stretch"], d4["pace_needed_final"]) == (Decimal("75.00"), Decimal("12.50"))
    d5 = day(con, "uk_goods_to_cn", D(2020, 1, 5))
    # the stretch deadline itself: no day left for it (NULL); 75 / 5 days to the final = 15.00
    assert (d5["pace_needed_stretch"], d5["pace_needed_final"], d5["run_rate_30d"]) == (None, Decimal(15), Decimal(5))
    d10 = day(con, "uk_goods_to_cn", D(2020, 1, 10))
    # the final deadline: no pace any more; 25 / 10 = 2.50/day; 75 left -> 30 days -> 02-09
    assert (d10["pace_needed_stretch"], d10["pace_needed_final"]) == (None, None)
    assert (d10["run_rate_30d"], d10["run_rate_90d"], d10["projected_completion_date"], d10["status"]) == (
        Decimal("2.50"),
        Decimal("2.50"),
        D(2020, 2, 9),
        "off_track",
    )
    assert column(con, "uk_goods_to_cn", "status") == ["at_risk"] * 3 + ["off_track"] * 7


def test_all_goods_a_target_without_sales_and_one_not_started(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    everything = day(con, "all_goods_to_cn", D(2020, 1, 10))
    # any origin: 10 + 20 + 50 (FR) - 5; Hong Kong and the days outside the window excluded
    assert everything["cumulative_net_eur"] == Decimal("75.00")
    assert (everything["target_eur"], everything["pct_of_target"], everything["remaining_eur"]) == (None, None, None)
    assert (everything["pace_needed_final"], everything["projected_completion_date"], everything["status"]) == (
        None,
        None,
        None,
    )
    assert everything["run_rate_30d"] == Decimal("7.50")
    nothing = day(con, "uk_goods_to_de", D(2020, 1, 10))
    # no sales: 0 so far, run-rate 0, no projection -> off track; 10 rows of 0 all the same
    assert (nothing["cumulative_net_eur"], nothing["run_rate_30d"], nothing["pct_of_target"]) == (0, 0, 0)
    assert (nothing["projected_completion_date"], nothing["status"]) == (None, "off_track")
    assert column(con, "uk_goods_to_de", "status") == ["off_track"] * 10
    assert column(con, "uk_goods_2021", "date") == []  # its window starts after the latest event
    latest = con.execute(
        "SELECT target_id, date, cumulative_net_eur, status, remaining_eur, data_through "
        "FROM marts.export_progress_latest ORDER BY position"
    ).fetchall()
    assert latest == [
        ("uk_goods_to_cn", D(2020, 1, 10), Decimal(25), "off_track", Decimal(75), D(2020, 1, 11)),
        ("all_goods_to_cn", D(2020, 1, 10), Decimal(75), None, None, D(2020, 1, 11)),
        ("uk_goods_to_de", D(2020, 1, 10), Decimal(0), "off_track", Decimal(100), D(2020, 1, 11)),
        ("uk_goods_2021", None, Decimal(0), None, Decimal(100), D(2020, 1, 11)),
    ]


def test_series_stops_at_the_latest_event_inside_the_window(con, settings) -> None:
    add_facts(
        con,
        [("a", "order", D(2020, 1, 1), "5.00", 1, "GB", "CN"), ("b", "order", D(2020, 1, 4), "1.00", 1, "GB", "DE")],
    )
    write_targets(settings, [target("uk_goods_to_cn", D(2020, 1, 1), D(2020, 12, 31), D(2020, 6, 30))])
    build_marts(con, settings)
    # the latest event anywhere (01-04, shipped to DE) ends the series of every target
    assert column(con, "uk_goods_to_cn", "date") == [D(2020, 1, d) for d in (1, 2, 3, 4)]


def test_trailing_windows_drop_the_day_31_and_91_days_back(con, settings) -> None:
    # 300 on day 1, 30 on day 31 (01-31), 3 on day 91 (03-31)
    add_facts(
        con,
        [
            ("a", "order", D(2020, 1, 1), "300.00", 1, "GB", "CN"),
            ("b", "order", D(2020, 1, 31), "30.00", 1, "GB", "CN"),
            ("c", "order", D(2020, 3, 31), "3.00", 1, "GB", "CN"),
        ],
    )
    write_targets(settings, [target("uk_goods_to_cn", D(2020, 1, 1), D(2020, 4, 30), D(2020, 2, 29), amount="1000")])
    build_marts(con, settings)
    d30, d31 = day(con, "uk_goods_to_cn", D(2020, 1, 30)), day(con, "uk_goods_to_cn", D(2020, 1, 31))
    assert d30["run_rate_30d"] == Decimal("10.00")  # days 1..30: 300 / 30
    assert d31["run_rate_30d"] == Decimal("1.00")  # days 2..31: 30 / 30, day 1 dropped
    assert d31["run_rate_90d"] == Decimal("10.65")  # 330 / 31 days elapsed = 10.645.. -> 10.65
    d90, d91 = day(con, "uk_goods_to_cn", D(2020, 3, 30)), day(con, "uk_goods_to_cn", D(2020, 3, 31))
    assert d90["run_rate_90d"] == Decimal("3.67")  # days 1..90: 330 / 90 = 3.666..
    assert d91["run_rate_90d"] == Decimal("0.37")  # days 2..91: 33 / 90 = 0.3666..
    assert d91["run_rate_30d"] == Decimal("0.10")  # 3 / 30
    # 667 left at 0.10/day: exactly 6,670 days
    assert d91["projected_completion_date"] == D(2020, 3, 31) + timedelta(days=6670)


def test_divisions_are_exact_half_to_even(con, settings) -> None:
    # day 1: 0.05 -> 0.05/day; day 2: no sale -> 0.05 / 2 = 0.025 -> 0.02 (half to even, not 0.03);
    # day 3: +0.10 -> 0.15 / 3 = 0.05/day. Amount 1.25: on day 3, 1.10 left at 0.15/3 per day is
    # exactly 22 days, where floats say 1.1 / (0.15 / 3) = 22.000000000000004 -> 23
    add_facts(
        con,
        [("a", "order", D(2020, 1, 1), "0.05", 1, "GB", "CN"), ("b", "order", D(2020, 1, 3), "0.10", 1, "GB", "CN")],
    )
    write_targets(settings, [target("tiny", D(2020, 1, 1), D(2020, 12, 31), D(2020, 6, 30), amount="1.25")])
    build_marts(con, settings)
    assert column(con, "tiny", "run_rate_30d") == [Decimal("0.05"), Decimal("0.02"), Decimal("0.05")]
    d3 = day(con, "tiny", D(2020, 1, 3))
    assert d3["projected_completion_date"] == D(2020, 1, 25)  # 01-03 + 22 days
    assert d3["pct_of_target"] == Decimal("12.0000")  # 0.15 / 1.25
    # pace: 1.10 / (06-30 - 01-03 = 179 days) = 0.00614.. -> 0.01; 1.10 / 363 = 0.00303.. -> 0.00
    assert (d3["pace_needed_stretch"], d3["pace_needed_final"]) == (Decimal("0.01"), Decimal("0.00"))
    d2 = day(con, "tiny", D(2020, 1, 2))
    # 1.20 left at the exact 0.025/day (not the rounded 0.02): 48 days -> 02-19
    assert d2["projected_completion_date"] == D(2020, 2, 19)
    assert d2["pct_of_target"] == Decimal("4.0000")


def _sticky_rule_violations(con) -> list:
    (rule,) = [r for suite in SUITES for r in suite.rules if r.rule == "reached_is_sticky"]
    return con.execute(rule.kwargs["unexpected_rows_query"].format(batch="marts.export_progress_daily")).fetchall()


def test_reached_by_the_stretch_deadline_is_sticky(con, settings) -> None:
    add_facts(
        con,
        [
            ("a", "order", D(2020, 1, 1), "60.00", 1, "GB", "CN"),
            ("b", "order", D(2020, 1, 3), "50.00", 1, "GB", "CN"),
            ("c", "return", D(2020, 1, 7), "-20.00", -1, "GB", "CN"),
            ("d", "order", D(2020, 1, 8), "15.00", 1, "GB", "CN"),
        ],
    )
    write_targets(settings, [target("uk_goods_to_cn", D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5))])
    build_marts(con, settings)
    d2 = day(con, "uk_goods_to_cn", D(2020, 1, 2))
    # the day before: 60 in 2 days = 30/day, 40 left -> ceil(40 * 2 / 60) = 2 days -> 01-04: on track
    assert (d2["reached_on"], d2["reached_by_stretch"], d2["projected_completion_date"], d2["status"]) == (
        None,
        None,
        D(2020, 1, 4),
        "on_track",
    )
    d3 = day(con, "uk_goods_to_cn", D(2020, 1, 3))
    # the day reached: 110 >= 100 on 01-03, before the stretch deadline (01-05); no projection any more
    assert (d3["reached_on"], d3["reached_by_stretch"], d3["projected_completion_date"], d3["status"]) == (
        D(2020, 1, 3),
        True,
        None,
        "reached",
    )
    assert (d3["pace_needed_stretch"], d3["pace_needed_final"], d3["remaining_eur"]) == (0, 0, 0)
    d7 = day(con, "uk_goods_to_cn", D(2020, 1, 7))
    # after: a return takes the cumulative back to 90, but reached stays reached (design §4); the
    # remaining amount reads as it is (10), the pace needed stays 0
    assert (d7["reached_on"], d7["cumulative_net_eur"], d7["status"], d7["remaining_eur"]) == (
        D(2020, 1, 3),
        Decimal(90),
        "reached",
        Decimal(10),
    )
    assert (d7["projected_completion_date"], d7["pace_needed_final"]) == (None, 0)
    # 01-01: 60/day, 40 left -> 01-02: on track; the series ends with the latest event, 01-08
    assert column(con, "uk_goods_to_cn", "status") == ["on_track"] * 2 + ["reached"] * 6
    assert column(con, "uk_goods_to_cn", "reached_on") == [None] * 2 + [D(2020, 1, 3)] * 6
    assert con.execute(
        "SELECT status, reached_on, reached_by_stretch, projected_completion_date FROM marts.export_progress_latest"
    ).fetchall() == [("reached", D(2020, 1, 3), True, None)]
    assert _sticky_rule_violations(con) == []


def test_reached_after_the_stretch_deadline(con, settings) -> None:
    add_facts(
        con,
        [
            ("a", "order", D(2020, 1, 1), "10.00", 1, "GB", "CN"),
            ("b", "order", D(2020, 1, 6), "95.00", 1, "GB", "CN"),
            ("c", "order", D(2020, 1, 8), "1.00", 1, "GB", "CN"),
        ],
    )
    write_targets(settings, [target("late", D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5))])
    build_marts(con, settings)
    # 01-01: 10/day, 90 left -> 9 days -> 01-10 = the final deadline: at risk;
    # 01-0n (n = 2..5): 10 in n days, 90 left -> 9n days later: 01-20, 01-30, ... off track
    assert column(con, "late", "projected_completion_date")[:5] == [D(2020, 1, 10)] + [
        D(2020, 1, n) + timedelta(days=9 * n) for n in range(2, 6)
    ]
    assert column(con, "late", "status") == ["at_risk"] + ["off_track"] * 4 + ["reached"] * 3
    d6 = day(con, "late", D(2020, 1, 6))
    # reached on 01-06, the day after the stretch deadline: reached, not by the stretch
    assert (d6["reached_on"], d6["reached_by_stretch"], d6["cumulative_net_eur"]) == (D(2020, 1, 6), False, 105)
    assert column(con, "late", "reached_by_stretch") == [None] * 5 + [False] * 3
    assert _sticky_rule_violations(con) == []


def test_the_sticky_rule_finds_a_status_that_falls_back(con, settings) -> None:
    add_facts(
        con, [("a", "order", D(2020, 1, 1), "100.00", 1, "GB", "CN"), ("b", "order", D(2020, 1, 2), "1", 1, "GB", "CN")]
    )
    write_targets(settings, [target("t", D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5))])
    build_marts(con, settings)
    assert _sticky_rule_violations(con) == []
    con.execute(
        "UPDATE marts.export_progress_daily SET status = 'on_track', reached_on = NULL WHERE date = '2020-01-02'"
    )
    assert [(r[0], r[1]) for r in _sticky_rule_violations(con)] == [("t", D(2020, 1, 2))]


def test_a_projection_past_year_9999_is_no_date(con, settings) -> None:
    add_facts(con, [("a", "order", D(2020, 1, 1), "0.01", 1, "GB", "CN")])
    write_targets(settings, [target("huge", D(2020, 1, 1), D(2020, 12, 31), D(2020, 6, 30), amount="99999999999999")])
    build_marts(con, settings)
    d1 = day(con, "huge", D(2020, 1, 1))
    assert (d1["projected_completion_date"], d1["status"]) == (None, "off_track")


def test_monthly_breakdown_with_a_return_across_month_end(con, settings) -> None:
    add_dims(con)
    add_facts(
        con,
        [
            ("a", "order", D(2020, 1, 31), "40.00", 2, "GB", "CN"),
            ("b", "order", D(2020, 1, 31), "8.00", 1, "GB", "CN", {"line_id": "2"}),
            ("c", "cancel", D(2020, 1, 31), "-8.00", -1, "GB", "CN", {"line_id": "2"}),
            ("d", "return", D(2020, 2, 1), "-20.00", -1, "GB", "CN"),  # the 01-31 order, returned in February
            (
                "e",
                "order",
                D(2020, 2, 3),
                "12.00",
                1,
                "FR",
                "CN",
                {"supplier_id": "FR001", "hs_chapter": "91", "category": None, "ship_to_region": None},
            ),
        ],
    )
    write_targets(settings, [target("goods_to_cn", D(2020, 1, 1), D(2020, 3, 31), D(2020, 2, 1), origins=[])])
    build_marts(con, settings)
    rows = con.execute(
        """SELECT month, member, label, order_lines, gross_eur, cancelled_eur, returned_eur, net_eur,
                                 units, kg
                          FROM marts.export_breakdown_monthly WHERE dimension = ? ORDER BY month, member""",
        ["supplier"],
    ).fetchall()
    assert rows == [
        (D(2020, 1, 1), "GB001", "Highland Spirits Ltd", 2, Decimal(48), Decimal(-8), Decimal(0), Decimal(40), 2, 1),
        (D(2020, 2, 1), "FR001", "Horlogerie de Paris SA", 1, Decimal(12), 0, 0, Decimal(12), 1, Decimal("0.5")),
        (D(2020, 2, 1), "GB001", "Highland Spirits Ltd", 0, 0, 0, Decimal(-20), Decimal(-20), -1, Decimal("-0.5")),
    ]
    by_member = {
        (dimension, month.month, member): (label, net)
        for dimension, month, member, label, net in con.execute(
            "SELECT dimension, month, member, label, net_eur FROM marts.export_breakdown_monthly"
        ).fetchall()
    }
    assert by_member[("hs_section", 2, "XVIII")] == ("Optical and precision instruments; clocks", Decimal(12))
    assert by_member[("hs_section", 2, "IV")] == ("Prepared foodstuffs; beverages", Decimal(-20))
    assert by_member[("hs_chapter", 1, "22")] == ("Beverages, spirits and vinegar", Decimal(40))
    assert by_member[("supplier_country", 2, "FR")] == ("France", Decimal(12))
    assert by_member[("origin_country", 2, "GB")] == ("United Kingdom", Decimal(-20))
    assert by_member[("category", 2, "?")] == ("?", Decimal(12))  # unknown category and region: '?'
    assert by_member[("ship_to_region", 2, "?")] == ("?", Decimal(12))
    assert by_member[("ship_to_country", 1, "CN")] == ("China", Decimal(40))
    # every dimension adds up to the month's net of the daily series: 40 in January, -8 in February
    totals = con.execute("""SELECT dimension, month, sum(net_eur) FROM marts.export_breakdown_monthly
                            GROUP BY ALL ORDER BY ALL""").fetchall()
    dimensions = sorted({d for d, _, _ in totals})
    assert dimensions == sorted(
        [
            "hs_section",
            "hs_chapter",
            "category",
            "supplier",
            "supplier_country",
            "channel",
            "ship_to_region",
            "origin_country",
            "ship_to_country",
        ]
    )
    assert {(m, n) for _, m, n in totals} == {(D(2020, 1, 1), Decimal(40)), (D(2020, 2, 1), Decimal(-8))}
    daily = con.execute("""SELECT date_trunc('month', date)::DATE, sum(net_eur) FROM marts.export_progress_daily
                           GROUP BY 1 ORDER BY 1""").fetchall()
    assert daily == [(D(2020, 1, 1), Decimal(40)), (D(2020, 2, 1), Decimal(-8))]


def test_all_goods_view_ignores_targets(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    rows = con.execute("""SELECT month, country_of_origin, origin_name, ship_to_country, gross_eur, returned_eur,
                                 net_eur FROM marts.export_all_goods_monthly ORDER BY ALL""").fetchall()
    # every event, even outside every window (2019-12-31, 2020-01-11) and to Hong Kong
    assert rows == [
        (D(2019, 12, 1), "GB", "United Kingdom", "CN", Decimal(99), 0, Decimal(99)),
        (D(2020, 1, 1), "FR", "France", "CN", Decimal(50), 0, Decimal(50)),
        (D(2020, 1, 1), "GB", "United Kingdom", "CN", Decimal(37), Decimal(-5), Decimal(32)),
        (D(2020, 1, 1), "GB", "United Kingdom", "HK", Decimal(30), 0, Decimal(30)),
    ]


def test_marts_reconcile_with_core(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    ((core,),) = con.execute("""SELECT sum(eur_amount) FROM core.fct_sales_event
                              WHERE ship_to_country = 'CN' AND event_date BETWEEN '2020-01-01' AND '2020-01-10'""").fetchall()
    ((mart,),) = con.execute(
        "SELECT sum(net_eur) FROM marts.export_progress_daily WHERE target_id = 'all_goods_to_cn'"
    ).fetchall()
    assert mart == core == Decimal(75)
    per_dimension = con.execute("""SELECT dimension, sum(net_eur) FROM marts.export_breakdown_monthly
                                   WHERE target_id = 'all_goods_to_cn' GROUP BY 1""").fetchall()
    assert len(per_dimension) == 9 and {total for _, total in per_dimension} == {core}


def test_every_mart_table_and_column_has_a_comment(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    missing = con.execute("""SELECT table_name, column_name FROM duckdb_columns()
                             WHERE schema_name = 'marts' AND comment IS NULL
                                OR (schema_name = 'core' AND table_name = 'dim_target' AND comment IS NULL)""").fetchall()
    assert missing == []
    tables = con.execute("""SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND comment IS NULL
                            UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'
                            AND comment IS NULL""").fetchall()
    assert tables == []
