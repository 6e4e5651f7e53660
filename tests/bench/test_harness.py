"""The benchmark run end to end on a tiny cached sample: stages, EUR checks, JSON shape, targets."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from pipelines.bench.data import dataset_dir, record_dataset
from pipelines.bench.harness import BenchOptions, Run, _check, run_bench
from pipelines.bench.reference import target_variables
from pipelines.bench.report import evaluate_targets, render
from pipelines.settings import Settings
from tests.bench.fixture import INCREMENT_DAY, TARGETS, TOTAL_CENTS, write_landing

STAGE_KEYS = {"name", "status", "wall_s", "peak_rss_bytes", "rows", "rows_per_s", "detail"}
REFERENCE_KEYS = {"mode", "status", "wall_s", "peak_rss_bytes", "rows", "rows_per_s", "detail"}


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
    options = BenchOptions(
        home=home, order_lines=12, seed=1, stages=("load", "marts", "publish", "increment"), keep=True
    )
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
        "target",
        "host",
        "code",
        "data",
        "run_home",
        "stages",
        "checks",
        "targets",
        "ok",
        "result_file",
    } <= set(result)
    assert result["schema"] == "xborder.bench/1"
    assert result["increment_day"] == INCREMENT_DAY
    assert result["data"]["reused"] is True and result["data"]["held_back_files"] == 1
    assert [s["name"] for s in result["stages"]] == [
        "load",
        "marts",
        "quality",
        "publish",
        "increment",
    ]  # publish brings the gates
    for stage in result["stages"]:
        assert stage["status"] == "ok" and set(stage) >= STAGE_KEYS
        assert stage["peak_rss_bytes"] > 10_000_000  # a Python process with DuckDB loaded
    by_name = {s["name"]: s for s in result["stages"]}
    for name, mode in (("load", "full"), ("marts", "progress"), ("increment", "increment")):
        ref = by_name[name]["reference"]
        assert set(ref) >= REFERENCE_KEYS and ref["mode"] == mode and ref["status"] == "ok"
        assert by_name[name]["ratio"] == round(by_name[name]["wall_s"] / ref["wall_s"], 3)
    assert "reference" not in by_name["publish"]
    assert by_name["load"]["rows"] == sum(f["rows_read"] for f in by_name["load"]["detail"]["feeds"].values())
    assert by_name["increment"]["rows"] == 2  # R-1 and O-2
    assert [(c["stage"], c["pipeline_eur"], c["reference_eur"], c["equal"]) for c in result["checks"]] == [
        ("load", "42.44", "42.44", True),
        ("marts", "42.44", "42.44", True),
        ("increment", "41.17", "41.17", True),
    ]
    assert [t["id"] for t in result["targets"]] == [
        "load_vs_reference",
        "peak_memory",
        "increment_vs_1m",
        "quality_share",
    ]
    assert all(t["status"] in {"met", "not met", "n/a"} for t in result["targets"])
    saved = json.loads(Path(result["result_file"]).read_text(encoding="utf-8"))
    latest = json.loads((Path(result["result_file"]).parents[1] / "latest.json").read_text(encoding="utf-8"))
    assert saved == latest and saved["stages"] == result["stages"]


@pytest.mark.e2e
def test_summary_renders(bench_run: dict) -> None:
    out = io.StringIO()
    render(bench_run, Console(file=out, width=160))
    text = out.getvalue()
    assert "pipeline ÷ reference" in text and "equal after increment" in text and "OK" in text


@pytest.mark.e2e
def test_a_disagreement_is_reported_with_the_events_that_differ(bench_run: dict) -> None:
    home = Path(bench_run["run_home"])
    with duckdb.connect(str(home / "reference.duckdb")) as con:
        con.execute("UPDATE ref_move SET cents = cents + 1 WHERE event_id = 'TM-1'")
    run = Run(BenchOptions(home=home), home.parent, home, {})
    record = {"reference": {"detail": {"totals": {"target_cents": TOTAL_CENTS + 1}}}}
    _check(run, "increment", target_variables(home / "targets.sample.yml", "uk_goods_to_cn"), record)
    (check,) = run.checks
    assert check["equal"] is False
    assert (check["pipeline_eur"], check["reference_eur"]) == ("41.17", "41.18")
    assert check["differences"]["events"] == 1
    assert check["differences"]["first_events"] == [
        {
            "channel": "tmall_global",
            "event_id": "TM-1",
            "event_type": "order",
            "day": "2019-11-02",
            "pipeline_eur": "25.97",
            "reference_eur": "25.98",
        }
    ]
    assert check["differences"]["first_days"] == [
        {"day": "2019-11-02", "pipeline_eur": "25.97", "reference_eur": "25.98"}
    ]


@pytest.mark.e2e
def test_cache_is_reused_and_left_untouched(settings: Settings) -> None:
    folder = seed_cache(settings.home, seed=2)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    result = run_bench(BenchOptions(home=settings.home, order_lines=12, seed=2, stages=("load",)))
    assert result["ok"] and [s["name"] for s in result["stages"]] == ["load"]
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    run_home = Path(result["run_home"])
    assert sorted(p.name for p in run_home.iterdir()) == ["logs"]  # bulky outputs removed without --keep
    shutil.rmtree(folder)


def stage(name: str, wall: float, peak: int = 1_000_000_000, ratio: float | None = None) -> dict:
    return {"name": name, "status": "ok", "wall_s": wall, "peak_rss_bytes": peak, "ratio": ratio}


def test_targets_are_judged_against_their_limits_and_the_1m_baseline(tmp_path: Path) -> None:
    baseline = {"ok": True, "order_lines": 1_000_000, "seed": 7, "stages": [stage("increment", 10.0)]}
    (tmp_path / "20200101T000000Z-7-1000000.json").write_text(json.dumps(baseline), encoding="utf-8")
    result = {
        "order_lines": 100_000_000,
        "seed": 7,
        "stages": [
            stage("load", 100.0, ratio=1.2),
            stage("marts", 10.0, peak=9_000_000_000),
            stage("quality", 40.0),
            stage("publish", 10.0),
            stage("increment", 25.0),
        ],
    }
    targets = {t["id"]: t for t in evaluate_targets(result, tmp_path)}
    assert (targets["load_vs_reference"]["status"], targets["load_vs_reference"]["at_target_size"]) == ("met", False)
    assert (targets["peak_memory"]["measured"], targets["peak_memory"]["status"]) == (9_000_000_000, "not met")
    assert (targets["increment_vs_1m"]["measured"], targets["increment_vs_1m"]["status"]) == (2.5, "not met")
    assert (targets["quality_share"]["measured"], targets["quality_share"]["status"]) == (0.25, "not met")
    result["stages"][2] = stage("quality", 20.0)
    assert {t["id"]: t["status"] for t in evaluate_targets(result, tmp_path)}["quality_share"] == "met"
    assert {t["id"]: t["status"] for t in evaluate_targets({**result, "seed": 8}, tmp_path)}["increment_vs_1m"] == "n/a"
