"""`all`-but targets over a generated sample equal the independent SQL reference, day by day."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.generate import generate
from pipelines.marts import build_marts
from pipelines.runner import build, ingest_all
from pipelines.settings import Settings
from tests.e2e.test_generated_pipeline import END, START, reference_net

WINDOW = f"""    window_start: {START}
    window_end: {END}
    deadlines: {{stretch: {END}, final: {END}}}
"""
TARGETS = f"""targets:
  - id: anywhere_but_cn
    name: Every destination but mainland China
    origin_countries: all
    destination_countries: all
    destination_exclude: [CN]
{WINDOW}  - id: non_uk_goods_anywhere
    name: Goods of every origin but the UK, anywhere
    origin_countries: all
    origin_exclude: [GB]
    destination_countries: all
{WINDOW}"""
# the same scopes over the reference's (event_date, origin, ship_to, net_eur)
REFERENCE = {"anywhere_but_cn": "ship_to <> 'CN'", "non_uk_goods_anywhere": "origin <> 'GB'"}


@pytest.mark.e2e
def test_all_but_targets_equal_the_independent_reference(settings: Settings) -> None:
    generate(settings.landing_dir, order_lines=3_000, seed=13, start=START, end=END)
    ingest_all(settings=settings)
    build(settings=settings)
    settings.targets_path.write_text(TARGETS, encoding="utf-8")  # the sample's targets file, replaced
    with duckdb.connect(str(settings.warehouse_path)) as con:
        build_marts(con, settings)
        reference_net(con, settings)
        for target_id, scope in REFERENCE.items():
            expected = con.execute(
                f"""SELECT event_date, sum(net_eur) FROM reference_daily
                    WHERE {scope} AND event_date BETWEEN ? AND ? GROUP BY 1 HAVING sum(net_eur) <> 0 ORDER BY 1""",
                [START, END],
            ).fetchall()
            mart = con.execute(
                """SELECT date, net_eur FROM marts.export_progress_daily
                   WHERE target_id = ? AND net_eur <> 0 ORDER BY date""",
                [target_id],
            ).fetchall()
            assert mart == expected and len(mart) > 10, target_id
            ((cumulative,),) = con.execute(
                "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = ?", [target_id]
            ).fetchall()
            assert cumulative == sum(n for _, n in expected) > 0, target_id
