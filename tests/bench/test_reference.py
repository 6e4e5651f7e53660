"""The plain-DuckDB reference: hand-checked EUR on a small landing zone, and equal to the pipeline."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.bench import reference
from pipelines.runner import ingest_all
from pipelines.settings import Settings
from tests.bench.fixture import HISTORY_CENTS, INCREMENT_DAY, TARGETS, TOTAL_CENTS, write_landing


def run_reference(tmp: Path, landing: Path, mode: str, day: str | None = None) -> dict:
    targets = tmp / "targets.yml"
    targets.write_text(TARGETS, encoding="utf-8")
    out = tmp / f"{mode}.json"
    args = [mode, "--landing", str(landing), "--db", str(tmp / "ref.duckdb"), "--targets", str(targets)]
    args += ["--out", str(out), "--scratch", str(tmp / "scratch")]
    reference.main(args + (["--day", day] if day else []))
    return json.loads(out.read_text(encoding="utf-8"))


def test_full_reference_gives_the_hand_computed_total(tmp_path: Path) -> None:
    write_landing(tmp_path / "landing")
    result = run_reference(tmp_path, tmp_path / "landing", "full")
    totals = result["totals"]
    assert totals["target_cents"] == TOTAL_CENTS  # EUR 41.17, see tests/bench/fixture.py
    # every valued event of any origin/destination: + TM-2 6.49 (FR origin) + WS-2 29.00 (to HK)
    assert totals["all_cents"] == TOTAL_CENTS + 649 + 2900
    assert totals["moves"] == 9 and totals["pending"] == 1  # C-9 waits for an order line
    assert result["rows"]["event_rows"] == 13 and result["rows"]["events_new"] == 12  # O-1 twice
    with duckdb.connect(str(tmp_path / "ref.duckdb"), read_only=True) as con:
        daily = dict(con.execute("SELECT event_date, net_cents FROM ref_progress").fetchall())
        last = con.execute("SELECT cumulative_cents FROM ref_progress ORDER BY event_date DESC LIMIT 1").fetchone()
    assert daily == {
        date(2019, 11, 2): 2597,
        date(2019, 11, 3): 1013,  # 07:00 in Shanghai on the 4th is the 3rd in UTC
        date(2019, 11, 4): 252 + 4000,
        date(2019, 11, 5): -4000,
        date(2019, 11, 9): 382,
        date(2019, 11, 20): -127,
    }
    assert last == (TOTAL_CENTS,)


def test_increment_on_top_of_history_equals_loading_everything_at_once(tmp_path: Path) -> None:
    everything = tmp_path / "all"
    write_landing(everything)
    landing = tmp_path / "landing"
    shutil.copytree(everything, landing, ignore=lambda folder, names: [n for n in names if n == INCREMENT_DAY])
    history = run_reference(tmp_path, landing, "full")
    assert history["totals"]["target_cents"] == HISTORY_CENTS
    shutil.copytree(everything / "sales/jd_worldwide" / INCREMENT_DAY, landing / "sales/jd_worldwide" / INCREMENT_DAY)
    increment = run_reference(tmp_path, landing, "increment", INCREMENT_DAY)
    assert increment["totals"]["target_cents"] == TOTAL_CENTS
    assert increment["rows"] == {"event_rows": 2, "events_new": 2}
    again = run_reference(tmp_path, landing, "increment", INCREMENT_DAY)  # the same day again: nothing new
    assert again["totals"]["target_cents"] == TOTAL_CENTS and again["rows"]["events_new"] == 0


def test_reference_equals_the_pipeline_on_the_hand_made_landing(settings: Settings, tmp_path: Path) -> None:
    write_landing(settings.landing_dir)
    ingest_all(settings=settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        (pipeline,) = con.execute(
            """SELECT sum(eur_amount) * 100 FROM core.fct_sales_event
               WHERE country_of_origin = 'GB' AND ship_to_country = 'CN'
                 AND event_date BETWEEN DATE '2019-11-01' AND DATE '2019-11-30'"""
        ).fetchone()
    result = run_reference(tmp_path, settings.landing_dir, "full")
    assert pipeline == result["totals"]["target_cents"] == TOTAL_CENTS


@pytest.mark.e2e
def test_reference_equals_the_pipeline_on_a_generated_sample(settings: Settings, tmp_path: Path) -> None:
    from pipelines.generate import generate

    generate(settings.landing_dir, order_lines=4_000, seed=5, start=date(2020, 10, 1), end=date(2020, 11, 30))
    ingest_all(settings=settings)
    targets = settings.home / "targets.sample.yml"
    out = tmp_path / "full.json"
    reference.main(
        ["full", "--landing", str(settings.landing_dir), "--db", str(tmp_path / "ref.duckdb")]
        + ["--targets", str(targets), "--out", str(out), "--scratch", str(tmp_path / "scratch")]
    )
    totals = json.loads(out.read_text(encoding="utf-8"))["totals"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        tracked, every, moves = con.execute(
            """SELECT sum(eur_amount) FILTER (WHERE country_of_origin = 'GB' AND ship_to_country = 'CN') * 100,
                      sum(eur_amount) * 100, count(*)
               FROM core.fct_sales_event"""
        ).fetchone()
    assert tracked > 0
    assert (tracked, every, moves) == (totals["target_cents"], totals["all_cents"], totals["moves"])
