"""Targets over every origin or destination but some (``all`` + ``*_exclude``), computed exactly.

A fact counts for a target iff its country of origin and its ship-to country are both in the
target's scope and its date is in the window. The totals below are added up by hand.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipelines.marts import build_marts
from pipelines.quality.suites import SUITES
from pipelines.targets import TargetsError
from tests.marts.conftest import D, add_dims, add_facts, table, target, write_targets
from tests.marts.test_incremental import assert_equals_full_rebuild

START, END, STRETCH = D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5)

# (event_id, type, date, EUR, units, origin, ship-to)
FACTS = [
    ("f0", "order", D(2019, 12, 31), "2000.00", 1, "GB", "DE"),  # before the window
    ("f1", "order", D(2020, 1, 1), "10.00", 1, "GB", "CN"),
    ("f2", "order", D(2020, 1, 1), "20.00", 1, "GB", "GB"),  # a UK sale at home
    ("f3", "order", D(2020, 1, 2), "40.00", 1, "FR", "GB"),  # French goods to the UK
    ("f4", "order", D(2020, 1, 2), "80.00", 2, "FR", "DE"),
    ("f5", "order", D(2020, 1, 3), "160.00", 1, "DE", "HK"),  # Hong Kong: in `all`
    ("f6", "cancel", D(2020, 1, 3), "-10.00", -1, "GB", "CN"),  # cancels f1
    ("f7", "return", D(2020, 1, 4), "-5.00", -1, "FR", "DE"),  # part of f4
    ("f8", "order", D(2020, 1, 4), "7.00", 1, "GB", "CN"),
    ("f9", "order", D(2020, 1, 5), "320.00", 1, "NO", "CN"),  # Norwegian goods
    ("fa", "order", D(2020, 1, 11), "1000.00", 1, "FR", "DE"),  # after the window
]


def scoped(tid: str, amount: str | None = "1000", **scope: object) -> dict:
    doc = target(tid, START, END, STRETCH, amount=amount, origins=[])
    doc.pop("origin_countries")
    doc.pop("destination_countries")
    return {**doc, **scope}


TARGETS = [
    # every destination but the UK, any origin: 10 + 80 + 160 - 10 - 5 + 7 + 320 = 562
    scoped("anything_but_to_gb", origin_countries="all", destination_countries="all", destination_exclude=["GB"]),
    # everything, everywhere: 562 + 20 (GB->GB) + 40 (FR->GB) = 622
    scoped("everything", amount=None, origin_countries="all", destination_countries="all"),
    # no UK goods, not to the UK: 80 + 160 - 5 + 320 = 555
    scoped(
        "non_uk_goods_not_to_gb",
        origin_countries="all",
        origin_exclude=["GB"],
        destination_countries="all",
        destination_exclude=["GB"],
    ),
    # UK goods anywhere but the UK: 10 - 10 + 7 = 7
    scoped("uk_goods_abroad", origin_countries=["GB"], destination_countries="all", destination_exclude=["GB"]),
    # the legacy spelling of all goods (empty list) to China: 10 - 10 + 7 + 320 = 327
    scoped("all_goods_to_cn", amount=None, origin_countries=[], destination_countries=["CN"]),
]
TOTALS = {
    "anything_but_to_gb": Decimal("562.00"),
    "everything": Decimal("622.00"),
    "non_uk_goods_not_to_gb": Decimal("555.00"),
    "uk_goods_abroad": Decimal("7.00"),
    "all_goods_to_cn": Decimal("327.00"),
}


@pytest.fixture
def scope_warehouse(con, settings):
    add_dims(con)
    con.execute("INSERT INTO core.dim_country (country_code, name, region) VALUES ('NO', 'Norway', 'Europe')")
    add_facts(con, FACTS)
    write_targets(settings, TARGETS)
    return con


def latest(con) -> dict[str, Decimal]:
    return dict(con.execute("SELECT target_id, cumulative_net_eur FROM marts.export_progress_latest").fetchall())


def test_all_but_and_all_origin_targets_have_the_hand_computed_totals(scope_warehouse, settings) -> None:
    con = scope_warehouse
    build_marts(con, settings)
    assert latest(con) == TOTALS
    daily = con.execute(
        """SELECT date, net_eur, cumulative_net_eur FROM marts.export_progress_daily
           WHERE target_id = 'anything_but_to_gb' AND net_eur <> 0 ORDER BY date"""
    ).fetchall()
    assert daily == [
        (D(2020, 1, 1), Decimal("10.00"), Decimal("10.00")),
        (D(2020, 1, 2), Decimal("80.00"), Decimal("90.00")),
        (D(2020, 1, 3), Decimal("150.00"), Decimal("240.00")),  # 160 (HK) - 10 (cancel)
        (D(2020, 1, 4), Decimal("2.00"), Decimal("242.00")),  # -5 (return) + 7
        (D(2020, 1, 5), Decimal("320.00"), Decimal("562.00")),
    ]
    by_ship_to = con.execute(
        """SELECT member, sum(net_eur) FROM marts.export_breakdown_monthly
           WHERE target_id = 'anything_but_to_gb' AND dimension = 'ship_to_country' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert by_ship_to == [("CN", Decimal("327.00")), ("DE", Decimal("75.00")), ("HK", Decimal("160.00"))]
    by_origin = con.execute(
        """SELECT member, sum(net_eur) FROM marts.export_breakdown_monthly
           WHERE target_id = 'everything' AND dimension = 'origin_country' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert by_origin == [  # GB 10 + 20 - 10 + 7; FR 40 + 80 - 5; DE 160; NO 320
        ("DE", Decimal("160.00")),
        ("FR", Decimal("115.00")),
        ("GB", Decimal("27.00")),
        ("NO", Decimal("320.00")),
    ]
    # % of target: 562 of 1000
    ((pct, status),) = con.execute(
        "SELECT pct_of_target, status FROM marts.export_progress_latest WHERE target_id = 'anything_but_to_gb'"
    ).fetchall()
    # 56.20 a day over 10 days; 438 left -> 8 more days -> 01-18, after the final deadline
    assert (pct, status) == (Decimal("56.2000"), "off_track")


def test_the_warehouse_stores_include_and_exclude_lists(scope_warehouse, settings) -> None:
    con = scope_warehouse
    build_marts(con, settings)
    rows = con.execute(
        """SELECT target_id, origin_countries, origin_exclude, destination_countries, destination_exclude
           FROM core.dim_target ORDER BY position"""
    ).fetchall()
    assert rows == [
        ("anything_but_to_gb", [], [], [], ["GB"]),
        ("everything", [], [], [], []),
        ("non_uk_goods_not_to_gb", [], ["GB"], [], ["GB"]),
        ("uk_goods_abroad", ["GB"], [], [], ["GB"]),
        ("all_goods_to_cn", [], [], ["CN"], []),
    ]
    assert con.execute(
        "SELECT core.in_country_scope('GB', [], ['GB']), core.in_country_scope('NO', [], ['GB']), "
        "core.in_country_scope('HK', ['CN'], []), core.in_country_scope(NULL, [], [])"
    ).fetchall() == [(False, True, False, False)]


def test_incremental_updates_of_all_but_targets_equal_a_full_rebuild(scope_warehouse, settings) -> None:
    con = scope_warehouse
    build_marts(con, settings)
    add_facts(
        con,
        [
            ("n1", "order", D(2020, 1, 6), "1.00", 1, "GB", "GB"),  # only `everything`
            ("n2", "order", D(2020, 1, 6), "2.00", 1, "FR", "HK"),  # every target but the GB-origin and CN ones
            ("n3", "cancel", D(2020, 1, 7), "-80.00", -2, "FR", "DE"),  # cancels f4
            ("n4", "order", D(2020, 1, 8), "4.00", 1, "GB", "CN"),
        ],
        batch_id="b2",
    )
    summary = build_marts(con, settings)
    assert (summary["mode"], summary["facts_read"], summary["targets_rebuilt"]) == ("incremental", 4, [])
    assert latest(con) == {
        "anything_but_to_gb": Decimal("488.00"),  # 562 + 2 - 80 + 4
        "everything": Decimal("549.00"),  # 622 + 1 + 2 - 80 + 4
        "non_uk_goods_not_to_gb": Decimal("477.00"),  # 555 + 2 - 80
        "uk_goods_abroad": Decimal("11.00"),  # 7 + 4
        "all_goods_to_cn": Decimal("331.00"),  # 327 + 4
    }
    assert_equals_full_rebuild(con, settings)


def test_changing_a_scope_rebuilds_that_target_alone(scope_warehouse, settings) -> None:
    con = scope_warehouse
    build_marts(con, settings)
    before = table(con, "marts.agg_target_daily")
    # Hong Kong left out too: 562 - 160
    changed = {**TARGETS[0], "destination_exclude": ["GB", "HK"]}
    write_targets(settings, [changed, *TARGETS[1:]])
    summary = build_marts(con, settings)
    assert (summary["mode"], summary["targets_rebuilt"]) == ("incremental", ["anything_but_to_gb"])
    assert latest(con) == {**TOTALS, "anything_but_to_gb": Decimal("402.00")}
    assert table(con, "marts.agg_target_daily") != before
    assert_equals_full_rebuild(con, settings)


def test_the_reconcile_gate_rule_agrees_with_all_but_targets(scope_warehouse, settings) -> None:
    con = scope_warehouse
    build_marts(con, settings)
    (rule,) = [r for s in SUITES for r in s.rules if r.rule == "reconciles_with_core"]
    query = rule.kwargs["unexpected_rows_query"].format(batch="marts.export_progress_daily")
    assert con.execute(query).fetchall() == []
    # and the example check recomputed from core agrees with the headline mart
    example = (settings.sql_dir / "examples" / "progress_check_from_core.sql").read_text()
    from_core = {r[0]: r[2] for r in con.execute(example).fetchall()}
    assert from_core == TOTALS


def test_unknown_codes_in_an_exclude_list_are_named(scope_warehouse, settings) -> None:
    con = scope_warehouse
    write_targets(settings, [{**TARGETS[0], "destination_exclude": ["GB", "XX"]}])
    with pytest.raises(TargetsError, match=r"targets\[0\] \(anything_but_to_gb\)\.destination_exclude: .*\['XX'\]"):
        build_marts(con, settings)


def test_unquoted_no_in_targets_yml_is_norway(scope_warehouse, settings) -> None:
    con = scope_warehouse
    # written by hand, as a user would: NO unquoted (yaml.safe_load would read it as false)
    settings.home.joinpath("targets.sample.yml").write_text(
        """targets:
  - id: norwegian_goods_to_cn
    name: Norwegian goods to China
    amount: 1000
    origin_countries: [NO]
    destination_countries: [CN]
    window_start: 2020-01-01
    window_end: 2020-01-10
    deadlines: {stretch: 2020-01-05, final: 2020-01-10}
  - id: anything_not_to_norway
    name: Anything not to Norway
    origin_countries: all
    destination_countries: all
    destination_exclude: [NO, GB]
    window_start: 2020-01-01
    window_end: 2020-01-10
    deadlines: {stretch: 2020-01-05, final: 2020-01-10}
""",
        encoding="utf-8",
    )
    build_marts(con, settings)
    assert latest(con) == {"norwegian_goods_to_cn": Decimal("320.00"), "anything_not_to_norway": Decimal("562.00")}
