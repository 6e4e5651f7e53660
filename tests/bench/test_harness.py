"""The benchmark run end to end on a tiny cached sample: stages, EUR checks, JSON shape, targets."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from pipelines.bench.data import dataset_dir, record_dataset
from pipelines.bench.harness import BenchOptions, Run, _checks, default_day_events, run_bench, wanted_stages
from pipelines.bench.reference import target_variables
from pipelines.bench.report import evaluate_targets, render
from pipelines.settings import Settings
from tests.bench.fixture import INCREMENT_DAY, TARGETS, TOTAL_CENTS, write_landing

STAGE_KEYS = {"name", "status", "wall_s", "peak_rss_bytes", "rows", "events", "rows_per_s", "detail", "compare"}
REFERENCE_KEYS = {"state", "kind", "status", "wall_s", "peak_rss_bytes", "rows", "rows_per_s", "detail"}
LOAD_STEPS = ["ingest:reference", "ingest:suppliers", "ingest:fx", "ingest:catalogues", "ingest:sales", "pending"]
BUILD_STEPS = ["marts", "quality:core", "quality:marts", "publish"]
RUN_STEPS = {  # what each run records in audit.runs: a feed gate only for a feed with a pending batch
    "run": LOAD_STEPS + ["quality:fx", "quality:catalogues", "quality:sales"] + BUILD_STEPS,
    "noop": LOAD_STEPS,  # nothing new: no gate, marts, publish or report
    "increment": LOAD_STEPS + ["quality:sales"] + BUILD_STEPS,
}
CHECKS = [
    "EUR total (core.fct_sales_event)",
    "mart cumulative EUR (export_progress_latest)",
    "EUR of every valued event, any origin or destination",
    "references agree day by day (target's net EUR)",
]


def seed_cache(home: Path, seed: int = 1, lines: int = 12) -> Path:
    """Put the hand-made landing zone in the bench's data cache as if generated."""
    folder = dataset_dir(home / "bench", seed, lines)
    write_landing(folder / "landing")
    (folder / "targets.sample.yml").write_text(TARGETS, encoding="utf-8")
    record_dataset(folder, seed, lines)
    return folder


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("bench-home")
    seed_cache(home)
    options = BenchOptions(home=home, order_lines=12, seed=1, keep=True, day_events=1_000)
    return run_bench(options)


@pytest.mark.e2e
def test_run_document_has_the_documented_shape(bench_run: dict) -> None:
    result = bench_run
    assert result["ok"] is True
    assert {
        "schema",
        "started_at",
        "finished_at",
        "order_lines",
        "seed",
        "increment_day",
        "same_size_day",
        "target",
        "host",
        "code",
        "data",
        "run_home",
        "stages",
        "references",
        "checks",
        "targets",
        "ok",
        "result_file",
    } <= set(result)
    assert result["schema"] == "xborder.bench/2"
    assert result["increment_day"] == INCREMENT_DAY
    # the 1st of the next month, when every supplier delivers: 44 snapshots and three channels (a Sunday: no ECB file)
    assert result["same_size_day"] == {"day": "2019-12-01", "order_lines": 1_000, "files": 44 + 3}
    assert result["data"]["reused"] is True and result["data"]["held_back_files"] == 1
    assert [s["name"] for s in result["stages"]] == ["run", "noop", "increment", "day"]
    for stage in result["stages"]:
        assert stage["status"] == "ok" and set(stage) >= STAGE_KEYS | {"run_steps"}
        assert stage["peak_rss_bytes"] > 10_000_000  # a Python process with DuckDB loaded
        steps = stage["run_steps"]
        if stage["name"] in RUN_STEPS:
            assert [s["step"] for s in steps["steps"]] == RUN_STEPS[stage["name"]]
        assert all(s["status"] == "success" for s in steps["steps"])
        assert steps["recorded_s"] == pytest.approx(sum(s["seconds"] for s in steps["steps"]), abs=0.01)
        assert steps["gates_share"] == pytest.approx(steps["gates_s"] / stage["wall_s"], abs=1e-3)
    by_name = {s["name"]: s for s in result["stages"]}
    expected = {
        "run": {"single_pass": "history/single_pass", "month_by_month": "history/monthly"},
        "noop": {"single_pass": "history/single_pass"},
        "increment": {"single_pass": "increment/single_pass_day", "month_by_month": "increment/monthly"},
        "day": {"single_pass": "day/single_pass_day", "month_by_month": "day/monthly"},
    }
    references = {f"{r['state']}/{r['kind']}": r for r in result["references"]}
    for name, columns in expected.items():
        compare = by_name[name]["compare"]
        assert {column: entry["reference"] for column, entry in compare.items()} == columns
        for entry in compare.values():
            assert entry["ratio"] == round(by_name[name]["wall_s"] / references[entry["reference"]]["wall_s"], 3)
    assert sorted(references) == [
        "day/monthly",
        "day/single_pass",
        "day/single_pass_day",
        "history/monthly",
        "history/single_pass",
        "increment/monthly",
        "increment/single_pass",
        "increment/single_pass_day",
    ]
    for ref in result["references"]:
        assert set(ref) >= REFERENCE_KEYS and ref["status"] == "ok" and "_daily" not in ref
    assert by_name["run"]["events"] == 11 and by_name["noop"]["rows"] == 0
    assert by_name["increment"]["events"] == 2  # R-1 and O-2
    day_sales = by_name["day"]["detail"]["feeds"]["sales"]
    assert by_name["day"]["events"] == day_sales["rows_read"] > 1_000
    assert [(c["stage"], c["name"]) for c in result["checks"]] == [
        (stage, name) for stage in ("run", "increment", "day") for name in CHECKS
    ]
    assert all(c["equal"] for c in result["checks"])
    totals = {(c["stage"], c["name"]): c for c in result["checks"]}
    for stage, cents in (("run", "42.44"), ("increment", "41.17"), ("day", "41.17")):
        for name in CHECKS[:2]:
            check = totals[(stage, name)]
            assert (check["pipeline_eur"], check["month_by_month_eur"], check["single_pass_eur"]) == (cents,) * 3
        assert totals[(stage, "references agree day by day (target's net EUR)")]["differing_days"] == 0
    assert [t["id"] for t in result["targets"]] == [
        "full_run_10m",
        "full_run_1m",
        "noop_run",
        "same_size_day",
        "small_day",
        "gates_share",
        "peak_memory",
    ]
    assert all(t["status"] in {"met", "not met", "n/a"} for t in result["targets"])
    saved = json.loads(Path(result["result_file"]).read_text(encoding="utf-8"))
    latest = json.loads((Path(result["result_file"]).parents[1] / "latest.json").read_text(encoding="utf-8"))
    assert saved == latest and saved["stages"] == result["stages"]


@pytest.mark.e2e
def test_summary_renders(bench_run: dict) -> None:
    out = io.StringIO()
    render(bench_run, Console(file=out, width=200))
    text = out.getvalue()
    for part in ("÷ single pass", "÷ month-by-month", "Steps of each run", "gates' share", "References"):
        assert part in text
    assert "equal after increment" in text and "Targets (issue 14)" in text and "OK" in text


@pytest.mark.e2e
def test_a_disagreement_is_reported_with_the_events_that_differ(bench_run: dict) -> None:
    home = Path(bench_run["run_home"])
    with duckdb.connect(str(home / "reference.duckdb")) as con:
        con.execute("UPDATE ref_move SET cents = cents + 1 WHERE event_id = 'TM-1'")
        con.execute("UPDATE ref_progress SET net_cents = net_cents + 1 WHERE event_date = DATE '2019-11-02'")
    run = Run(BenchOptions(home=home), home.parent, home, {})  # the warehouse as the day stage left it
    refs = {(r["state"], r["kind"]): r for r in bench_run["references"]}
    monthly = refs[("day", "monthly")]
    run.references[("day", "monthly")] = {
        **monthly,
        "detail": {"totals": {**monthly["detail"]["totals"], "target_cents": TOTAL_CENTS + 1}},
    }
    single = refs[("day", "single_pass")]
    run.references[("day", "single_pass")] = {**single, "_daily": {"2019-11-02": 2597, "2019-11-20": -127}}
    _checks(run, "day", "day", target_variables(home / "targets.sample.yml", "uk_goods_to_cn"))
    total, mart, every, daily = run.checks
    assert (total["equal"], mart["equal"], every["equal"]) == (False, False, True)
    assert (total["pipeline_eur"], total["month_by_month_eur"], total["single_pass_eur"]) == ("41.17", "41.18", "41.17")
    assert total["differences"]["events"] == 1
    assert total["differences"]["first_events"] == [
        {
            "channel": "tmall_global",
            "event_id": "TM-1",
            "event_type": "order",
            "day": "2019-11-02",
            "pipeline_eur": "25.97",
            "reference_eur": "25.98",
        }
    ]
    assert total["differences"]["first_days"] == [
        {"day": "2019-11-02", "pipeline_eur": "25.97", "reference_eur": "25.98"}
    ]
    assert daily["equal"] is False and daily["differing_days"] == 5  # 11-02 off by a cent; 4 days single lacks
    assert daily["first_days"][0] == {"day": "2019-11-02", "month_by_month_eur": "25.98", "single_pass_eur": "25.97"}


@pytest.mark.e2e
def test_cache_is_reused_and_left_untouched(settings: Settings) -> None:
    folder = seed_cache(settings.home, seed=2)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    result = run_bench(BenchOptions(home=settings.home, order_lines=12, seed=2, stages=("load",)))
    assert result["ok"] and [s["name"] for s in result["stages"]] == ["load"]
    assert [c["name"] for c in result["checks"]] == [
        "EUR total (core.fct_sales_event)",
        "EUR of every valued event, any origin or destination",
        "references agree day by day (target's net EUR)",
    ]
    assert result["checks"][0]["single_pass_eur"] == result["checks"][0]["month_by_month_eur"] == "42.44"
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    run_home = Path(result["run_home"])
    assert run_home.parent == settings.home.resolve() / "bench" / "runs" and run_home.name.startswith("2-12-")
    assert run_home.name.endswith(f"-{os.getpid()}")  # a folder per run: benches sharing the cache never meet
    assert sorted(p.name for p in run_home.iterdir()) == ["logs"]  # bulky outputs removed without --keep
    shutil.rmtree(folder)


def test_stages_bring_what_they_need() -> None:
    assert wanted_stages(("publish",)) == ["load", "marts", "quality", "publish"]
    assert wanted_stages(("increment",)) == ["run", "increment"]
    assert wanted_stages(("day", "load")) == ["load", "run", "day"]
    assert default_day_events(1_000_000) == 1_500 and default_day_events(10_000_000) == 100_000


def stage(name: str, wall: float, peak: int = 1_000_000_000, events: int = 0, **compare: float) -> dict:
    """A stage record as the harness writes it, compared with references of the given seconds."""
    return {
        "name": name,
        "status": "ok",
        "wall_s": wall,
        "peak_rss_bytes": peak,
        "events": events,
        "compare": {k: {"wall_s": v, "ratio": round(wall / v, 3)} for k, v in compare.items()},
    }


def run_stage(wall: float, gates: dict[str, float], single_pass: float) -> dict:
    steps = [{"step": f"quality:{g}", "status": "success", "seconds": s} for g, s in gates.items()]
    record = stage("run", wall, single_pass=single_pass)
    record["run_steps"] = {"steps": steps, "gates_s": sum(gates.values()), "gates_share": sum(gates.values()) / wall}
    return record


def result_of(lines: int, *stages: dict, seed: int = 7, day_lines: int = 100_000) -> dict:
    return {"order_lines": lines, "seed": seed, "same_size_day": {"order_lines": day_lines}, "stages": list(stages)}


def by_id(result: dict, results_dir: Path, baseline: Path | None = None) -> dict[str, dict]:
    return {t["id"]: t for t in evaluate_targets(result, results_dir, baseline)}


def test_targets_at_1m_from_given_figures(tmp_path: Path) -> None:
    result = result_of(
        1_000_000,
        run_stage(20.0, {"fx": 0.5, "sales": 1.0, "core": 0.4}, single_pass=5.0),
        stage("noop", 6.0, single_pass=5.0),
        stage("increment", 7.0, events=1_457, single_pass=4.0),
        stage("day", 9.0, peak=2_500_000_000, events=1_510, single_pass=4.5),
        day_lines=1_500,
    )
    t = by_id(result, tmp_path)
    assert (t["full_run_1m"]["measured"], t["full_run_1m"]["status"], t["full_run_1m"]["at_target_size"]) == (
        4.0,
        "met",
        True,
    )
    assert t["full_run_1m"]["figure"] == "20.0 s ÷ 5.0 s"
    assert (t["full_run_10m"]["status"], t["full_run_10m"]["at_target_size"]) == ("not met", False)  # 4x > 3x
    assert (t["noop_run"]["measured"], t["noop_run"]["status"]) == (1.2, "not met")
    assert (t["small_day"]["measured"], t["small_day"]["status"]) == (1.75, "not met")
    assert t["small_day"]["note"] == "the last day (1,457 events)"
    assert (t["same_size_day"]["status"], t["same_size_day"]["figure"]) == ("n/a", "1,510 events in 9.0 s")
    assert (t["gates_share"]["measured"], t["gates_share"]["status"]) == (0.095, "met")  # 1.9 s of 20 s
    assert t["gates_share"]["note"] == "fx 0.5, sales 1.0, core 0.4"
    assert (t["peak_memory"]["measured"], t["peak_memory"]["figure"]) == (2_500_000_000, "2.50 GB (day)")
    assert t["peak_memory"]["status"] == "met" and t["peak_memory"]["at_target_size"] is False


def test_limits_are_inclusive_for_ratios_and_strict_for_shares_and_memory(tmp_path: Path) -> None:
    result = result_of(
        10_000_000,
        run_stage(30.0, {"sales": 3.0}, single_pass=10.0),
        stage("noop", 10.0, peak=6_000_000_000, single_pass=10.0),
    )
    t = by_id(result, tmp_path)
    assert (t["full_run_10m"]["measured"], t["full_run_10m"]["status"]) == (3.0, "met")
    assert (t["noop_run"]["measured"], t["noop_run"]["status"]) == (1.0, "met")
    assert (t["gates_share"]["measured"], t["gates_share"]["status"]) == (0.1, "not met")
    assert t["peak_memory"]["status"] == "not met"
    assert t["small_day"]["status"] == t["same_size_day"]["status"] == "n/a"  # no increment, no day


def test_same_size_day_against_a_1m_result_with_the_same_day(tmp_path: Path) -> None:
    day = stage("day", 30.0, events=101_000)
    big = result_of(100_000_000, run_stage(900.0, {"sales": 30.0}, single_pass=300.0), day)
    assert by_id(big, tmp_path)["same_size_day"]["status"] == "n/a"  # no 1M result yet
    other_size = result_of(1_000_000, stage("day", 2.0, events=1_500), day_lines=1_500)
    (tmp_path / "20260101T000000Z-7-1000000.json").write_text(json.dumps(other_size), encoding="utf-8")
    assert by_id(big, tmp_path)["same_size_day"]["status"] == "n/a"  # its day is another size
    same = result_of(1_000_000, stage("day", 25.0, events=100_900))
    (tmp_path / "20260102T000000Z-7-1000000.json").write_text(json.dumps(same), encoding="utf-8")
    target = by_id(big, tmp_path)["same_size_day"]
    assert (target["measured"], target["status"], target["figure"]) == (1.2, "met", "30.0 s ÷ 25.0 s")
    assert target["note"] == "101,000 events; 1M: 100,900 events (20260102T000000Z-7-1000000.json)"
    assert by_id({**big, "seed": 8}, tmp_path)["same_size_day"]["status"] == "n/a"  # another sample
    slow = tmp_path / "elsewhere.json"
    slow.write_text(json.dumps(result_of(1_000_000, stage("day", 15.0, events=100_900))), encoding="utf-8")
    assert by_id(big, tmp_path, baseline=slow)["same_size_day"]["status"] == "not met"  # 2x, the given baseline
