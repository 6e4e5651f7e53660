"""Incremental mart builds: only new fact batches and changed targets are aggregated, and the
result always equals a full rebuild."""

from __future__ import annotations

import random
import shutil
from datetime import timedelta
from decimal import Decimal

from pipelines.marts import build_marts
from tests.marts.conftest import A_TARGETS, D, add_facts, table, target, write_targets

MARTS = (
    "marts.export_progress_daily",
    "marts.export_progress_latest",
    "marts.export_breakdown_monthly",
    "marts.export_all_goods_monthly",
    "marts.agg_target_daily",
    "marts.agg_target_monthly",
)


def marts(con) -> dict[str, list[tuple]]:
    return {name: table(con, name) for name in MARTS}


def assert_equals_full_rebuild(con, settings) -> None:
    incremental = marts(con)
    summary = build_marts(con, settings, full=True)
    assert summary["mode"] == "full"
    assert marts(con) == incremental


def test_new_batch_is_added_alone_and_equals_full(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    first = build_marts(con, settings)
    assert first["mode"] == "full" and first["facts_read"] == 7
    # a later batch: a sale on a day already counted, a return across the month end of an order of
    # the first batch, a cancel, a sale outside every window
    add_facts(
        con,
        [
            ("n1", "order", D(2020, 1, 2), "4.00", 1, "GB", "CN"),
            ("n2", "return", D(2020, 2, 1), "-2.00", -1, "GB", "CN"),
            ("n3", "cancel", D(2020, 1, 9), "-4.00", -1, "GB", "CN"),
            ("n4", "order", D(2020, 3, 1), "1.00", 1, "FR", "HK"),
        ],
        batch_id="b2",
    )
    second = build_marts(con, settings)
    assert (second["mode"], second["facts_read"], second["targets_rebuilt"]) == ("incremental", 4, [])
    ((cumulative,),) = con.execute(
        "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = 'uk_goods_to_cn'"
    ).fetchall()
    assert cumulative == Decimal("25.00")  # 25 + 4 - 4; the February return is past the window end
    assert con.execute(
        "SELECT max(date) FROM marts.export_progress_daily WHERE target_id = 'uk_goods_to_cn'"
    ).fetchall() == [(D(2020, 1, 10),)]
    assert_equals_full_rebuild(con, settings)
    third = build_marts(con, settings)  # nothing new: nothing read
    assert (third["mode"], third["facts_read"]) == ("incremental", 0)


def test_changed_targets_are_rebuilt_alone(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    renamed = {**A_TARGETS[0], "name": "UK goods, renamed", "scale_note": "a note changes no number"}
    changed = {**A_TARGETS[1], "destination_countries": ["CN", "HK"]}
    added = target("fr_goods_to_cn", D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5), origins=["FR"])
    write_targets(settings, [renamed, changed, added])  # uk_goods_to_de and uk_goods_2021 removed
    add_facts(con, [("n1", "order", D(2020, 1, 3), "6.00", 1, "FR", "CN")], batch_id="b2")
    summary = build_marts(con, settings)
    assert summary["mode"] == "incremental"
    assert summary["targets_rebuilt"] == ["all_goods_to_cn", "fr_goods_to_cn"]
    latest = dict(con.execute("SELECT target_id, cumulative_net_eur FROM marts.export_progress_latest").fetchall())
    # all goods now with Hong Kong: 75 + 30 (HK) + 6; France: 50 + 6; the UK: unchanged 25
    assert latest == {"uk_goods_to_cn": Decimal(25), "all_goods_to_cn": Decimal(111), "fr_goods_to_cn": Decimal(56)}
    assert con.execute("SELECT DISTINCT target_id FROM marts.agg_target_monthly ORDER BY 1").fetchall() == [
        ("all_goods_to_cn",),
        ("fr_goods_to_cn",),
        ("uk_goods_to_cn",),
    ]
    assert_equals_full_rebuild(con, settings)


def test_rewritten_core_forces_a_full_rebuild(fixture_warehouse, settings) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    con.execute("DELETE FROM core.fct_sales_event WHERE event_id = 'e2'")  # facts are insert-only; this is not
    summary = build_marts(con, settings)
    assert summary["mode"] == "full"
    ((cumulative,),) = con.execute(
        "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = 'uk_goods_to_cn'"
    ).fetchall()
    assert cumulative == Decimal(5)


def test_changed_aggregation_sql_forces_a_rebuild(fixture_warehouse, settings, monkeypatch, tmp_path) -> None:
    con = fixture_warehouse
    build_marts(con, settings)
    sql = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, sql)
    (sql / "marts" / "aggregate.sql").write_text(
        "-- a new version\n" + (settings.sql_dir / "marts" / "aggregate.sql").read_text()
    )
    monkeypatch.setattr(settings, "sql_dir", sql)
    assert build_marts(con, settings)["mode"] == "full"


def test_many_batches_in_any_order_equal_one_full_build(con, settings) -> None:
    """Random sales in random batches, built after every batch, equal one full build at the end."""
    rng = random.Random(20240607)
    write_targets(
        settings,
        [
            target("uk_goods_to_cn", D(2020, 1, 1), D(2020, 6, 30), D(2020, 3, 31), amount="5000"),
            target(
                "eu_goods_to_cn_hk",
                D(2020, 2, 1),
                D(2020, 12, 31),
                D(2020, 9, 30),
                origins=["FR", "DE"],
                dest=["CN", "HK"],
                amount="3000",
            ),
            target("all_goods_to_cn", D(2019, 12, 1), D(2020, 12, 31), D(2020, 6, 30), origins=[], amount=None),
        ],
    )
    serial = 0
    for batch in range(6):
        rows = []
        for _ in range(rng.randint(1, 40)):
            serial += 1
            kind = rng.choice(["order"] * 6 + ["cancel", "return", "credit"])
            sign = 1 if kind == "order" else -1
            rows.append(
                (
                    f"x{serial}",
                    kind,
                    D(2019, 12, 15) + timedelta(days=rng.randint(0, 400)),
                    f"{sign * rng.randint(1, 99_999) / 100:.2f}",
                    sign * rng.randint(1, 3),
                    rng.choice(["GB", "FR", "DE", "IT"]),
                    rng.choice(["CN", "CN", "HK", "MO"]),
                    {
                        "supplier_id": rng.choice(["GB001", "FR001", "DE007"]),
                        "hs_chapter": rng.choice(["22", "91"]),
                        "channel": rng.choice(["tmall_global", "jd_worldwide"]),
                    },
                )
            )
        add_facts(con, rows, batch_id=f"b{batch}")
        summary = build_marts(con, settings)
        assert summary["facts_read"] == (serial if batch == 0 else len(rows))
    assert_equals_full_rebuild(con, settings)
    ((mart,),) = con.execute(
        "SELECT sum(net_eur) FROM marts.export_progress_daily WHERE target_id = 'all_goods_to_cn'"
    ).fetchall()
    ((core,),) = con.execute(
        "SELECT sum(eur_amount) FROM core.fct_sales_event WHERE ship_to_country = 'CN' "
        "AND event_date BETWEEN '2019-12-01' AND '2020-12-31'"
    ).fetchall()
    assert mart == core
