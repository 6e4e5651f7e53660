"""The single-pass reference: one statement, hand-checked EUR, equal to the month-by-month reference."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.bench import reference, single_pass
from tests.bench.fixture import INCREMENT_DAY, TARGETS, TOTAL_CENTS, write_landing

HAND_DAILY = {  # tests/bench/fixture.py, cents per day of the tracked target
    "2019-11-02": 2597,
    "2019-11-03": 1013,  # 07:00 in Shanghai on the 4th is the 3rd in UTC
    "2019-11-04": 252 + 4000,
    "2019-11-05": -4000,
    "2019-11-09": 382,
    "2019-11-20": -127,
}


def run_single_pass(tmp: Path, landing: Path, targets: Path, day: str | None = None) -> dict:
    out = tmp / f"single-{day or 'all'}.json"
    args = ["--landing", str(landing), "--targets", str(targets), "--scratch", str(tmp / "scratch"), "--out", str(out)]
    single_pass.main(args + (["--day", day] if day else []))
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture
def hand_made(tmp_path: Path) -> tuple[Path, Path]:
    write_landing(tmp_path / "landing")
    (tmp_path / "targets.yml").write_text(TARGETS, encoding="utf-8")
    return tmp_path / "landing", tmp_path / "targets.yml"


def test_single_pass_gives_the_hand_computed_total(tmp_path: Path, hand_made: tuple[Path, Path]) -> None:
    result = run_single_pass(tmp_path, *hand_made)
    totals = result["totals"]
    assert totals["target_cents"] == totals["cumulative_cents"] == TOTAL_CENTS  # EUR 41.17
    # every valued event of any origin/destination: + TM-2 6.49 (FR origin) + WS-2 29.00 (to HK)
    assert totals["all_cents"] == TOTAL_CENTS + 649 + 2900
    assert totals["moves"] == 9  # C-9 never finds its line; TM-3 (unknown SKU) and O-2 (no rate) are not valued
    assert result["rows"]["events_kept"] == 12  # 13 read, O-1 twice
    assert {d: net for d, net, _ in result["daily"]} == HAND_DAILY
    assert result["daily"][-1] == ["2019-11-20", -127, TOTAL_CENTS]


def test_one_day_reads_that_days_sales_with_every_catalogue_and_rate(
    tmp_path: Path, hand_made: tuple[Path, Path]
) -> None:
    webshop = run_single_pass(tmp_path, *hand_made, day="2019-11-04")
    assert webshop["rows"]["events_kept"] == 3  # WS-1..3
    assert {d: net for d, net, _ in webshop["daily"]} == {"2019-11-04": 252 + 4000}  # WS-2 ships to HK
    assert webshop["totals"]["all_cents"] == 252 + 4000 + 2900
    # The increment day alone: R-1's order line is in an earlier day, O-2 has no rate within 7 days.
    last = run_single_pass(tmp_path, *hand_made, day=INCREMENT_DAY)
    assert last["rows"]["events_kept"] == 2
    assert last["totals"] == {
        "target_cents": 0,
        "target_days": 0,
        "last_day": None,
        "cumulative_cents": 0,
        "all_cents": 0,
        "moves": 0,
    }


def test_the_reference_is_one_statement_reading_the_landed_layouts(
    hand_made: tuple[Path, Path], tmp_path: Path
) -> None:
    landing, _ = hand_made
    converted = {reference.CP1252_PART: tmp_path / "cp1252", reference.XLSX_PART: tmp_path / "xlsx"}
    reference.convert(landing, converted[reference.CP1252_PART], "catalogues/DE*/*.csv", reference.cp1252_to_utf8)
    found = single_pass.sources(landing, converted)
    assert sorted(found) == [
        "catalogue_de_csv",
        "catalogue_gb_csv",
        "events_jd_worldwide",
        "events_own_webshop",
        "events_tmall_global",
        "rates_daily",
        "rates_history",
    ]
    assert found["events_tmall_global"] == [str(landing / "sales/tmall_global/*/*.jsonl")]  # a glob, as landed
    sql = single_pass.statement(found)
    with duckdb.connect() as con:
        assert len(con.extract_statements(sql)) == 1
    for function in ("read_json(", "read_csv(", "read_parquet("):
        assert function in sql


@pytest.mark.e2e
def test_single_pass_equals_the_month_by_month_reference_on_a_generated_sample(tmp_path: Path) -> None:
    from pipelines.generate import generate

    landing = tmp_path / "landing"
    generate(landing, order_lines=4_000, seed=5, start=date(2020, 10, 1), end=date(2020, 11, 30))
    targets = tmp_path / "targets.sample.yml"  # written by generate beside the landing folder
    out = tmp_path / "monthly.json"
    reference.main(
        ["full", "--landing", str(landing), "--db", str(tmp_path / "ref.duckdb"), "--targets", str(targets)]
        + ["--out", str(out), "--scratch", str(tmp_path / "convert")]
    )
    monthly = json.loads(out.read_text(encoding="utf-8"))["totals"]
    single = run_single_pass(tmp_path, landing, targets)
    assert single["totals"]["target_cents"] > 0
    for key in ("target_cents", "target_days", "last_day", "all_cents", "moves"):
        assert single["totals"][key] == monthly[key], key
    with duckdb.connect(str(tmp_path / "ref.duckdb"), read_only=True) as con:
        daily = {
            d.isoformat(): int(c) for d, c in con.execute("SELECT event_date, net_cents FROM ref_progress").fetchall()
        }
    assert {d: net for d, net, _ in single["daily"]} == daily
