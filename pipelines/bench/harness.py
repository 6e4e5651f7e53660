"""The benchmark run: stages of the pipeline and the plain-DuckDB reference, each a fresh process.

Order: generate or reuse the sample (not a stage), build the run's landing without the last
sales day, read every file once (warm page cache for both sides), then

  load      pipeline: every feed (``runner.ingest_all``)    reference: ``full``
  marts     pipeline: ``runner.refresh_marts``               reference: ``progress``
  quality   pipeline: ``runner.gate_pending``, then the core and marts gates (no counterpart)
  publish   pipeline: ``runner.publish_snapshot``            (no counterpart)
  increment the last day's sales files land; pipeline: ``runner.ingest_all`` again
                                                          reference: ``increment``

After load and increment the target's EUR total must be equal to the cent on both sides (and
the mart's cumulative after marts); otherwise the run fails and lists the rows that differ.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import psutil

from pipelines.bench.data import Dataset, ensure_dataset, link_tree, prewarm, stage_history
from pipelines.bench.reference import target_variables
from pipelines.bench.rss import Measured, run_measured
from pipelines.settings import REPO_ROOT

SCHEMA = "xborder.bench/1"
STAGES = ("load", "marts", "quality", "publish", "increment")
REFERENCE_MODE = {"load": "full", "marts": "progress", "increment": "increment"}
# A stage runs only after these succeeded (when they were asked for; load always is).
NEEDS = {
    "marts": ("load",),
    "quality": ("load", "marts"),
    "publish": ("load", "marts", "quality"),  # nothing is published that no gate passed
    "increment": ("load",),
}
# Settings that must follow XBORDER_HOME inside a run (a user's own values would point elsewhere).
RUN_SCOPED = ("XBORDER_LANDING", "XBORDER_WAREHOUSE", "XBORDER_TARGETS_FILE")
Progress = Callable[[str], None]


@dataclass
class BenchOptions:
    """What to run (``xborder bench`` flags)."""

    home: Path
    order_lines: int = 1_000_000
    seed: int = 2018
    stages: tuple[str, ...] = STAGES
    keep: bool = False
    target_id: str = "uk_goods_to_cn"


@dataclass
class Run:
    """Paths and state of one benchmark run."""

    options: BenchOptions
    bench_home: Path
    home: Path  # the run's XBORDER_HOME
    env: dict[str, str]
    stages: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    failed: bool = False

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def reference_db(self) -> Path:
        return self.home / "reference.duckdb"

    @property
    def targets(self) -> Path:
        return self.home / "targets.sample.yml"


def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the result document (also written under ``<home>/bench/``)."""
    say = progress or (lambda _: None)
    bench_home = (options.home / "bench").resolve()
    run = Run(options, bench_home, bench_home / "runs" / f"{options.seed}-{options.order_lines}", _env(options))
    run.env["XBORDER_HOME"] = str(run.home)
    shutil.rmtree(run.home, ignore_errors=True)
    run.logs.mkdir(parents=True)
    started = datetime.now(UTC)
    load_start = list(os.getloadavg())  # other work on the machine makes timings noisy

    say(f"sample data: {options.order_lines:,} order lines, seed {options.seed}")
    dataset = ensure_dataset(bench_home, options.seed, options.order_lines, run.logs, run.env)
    if dataset.targets.exists():
        shutil.copy2(dataset.targets, run.targets)
    else:
        shutil.copy2(REPO_ROOT / "targets.yml", run.targets)
    history, later = stage_history(dataset, run.landing)
    say("reading every file once (warm page cache)")
    t0 = time.perf_counter()
    warmed = prewarm(history + later)
    prepare = {"prewarm_s": round(time.perf_counter() - t0, 3), "prewarm_bytes": warmed}
    target = target_variables(run.targets, options.target_id)

    # load always runs; publishing needs the gates (nothing is published that no gate passed)
    asked = set(options.stages) | {"load"} | ({"marts", "quality"} if "publish" in options.stages else set())
    wanted = [s for s in STAGES if s in asked]
    done: set[str] = set()
    for stage in wanted:
        missing = [d for d in NEEDS.get(stage, ()) if d in wanted and d not in done]
        if missing:
            run.stages.append({"name": stage, "status": "skipped", "note": f"needs {', '.join(missing)}"})
            continue
        if stage == "increment":
            link_tree(dataset.landing, run.landing, later)
        if stage == "quality" and not _quality_available():
            run.stages.append({"name": stage, "status": "unavailable", "note": "pipelines.quality not importable"})
            continue
        say(f"{stage}: pipeline")
        record = _pipeline_stage(run, stage)
        run.stages.append(record)
        if record["status"] != "ok":
            run.failed = True
            continue
        if stage in REFERENCE_MODE:
            say(f"{stage}: reference")
            record["reference"] = _reference_stage(run, stage, dataset)
            if record["reference"]["status"] != "ok":
                run.failed = True
                continue
            record["ratio"] = round(record["wall_s"] / record["reference"]["wall_s"], 3)
            _check(run, stage, target, record)
        done.add(stage)

    from pipelines.bench.report import evaluate_targets

    result: dict[str, Any] = {
        "schema": SCHEMA,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "order_lines": options.order_lines,
        "seed": options.seed,
        "increment_day": dataset.last_day,
        "target": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in target.items()},
        "host": {**_host(), "loadavg_start": load_start, "loadavg_end": list(os.getloadavg())},
        "code": _code_version(),
        "data": {**dataset.to_dict(), "held_back_files": len(later), **prepare},
        "run_home": str(run.home),
        "stages": run.stages,
        "checks": run.checks,
    }
    result["targets"] = evaluate_targets(result, bench_home / "results")
    result["ok"] = not run.failed and all(c["equal"] for c in run.checks)
    path = write_result(bench_home, result)
    result["result_file"] = str(path)
    if not options.keep:
        _clean(run)
    return result


def _env(options: BenchOptions) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RUN_SCOPED}
    env["COLUMNS"] = "120"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _quality_available() -> bool:
    """The quality gates exist in this checkout (runner step and its module)."""
    from importlib.util import find_spec

    from pipelines import runner

    try:
        return callable(getattr(runner, "quality_gate", None)) and find_spec("pipelines.quality.gates") is not None
    except ModuleNotFoundError:
        return False


def _measure(run: Run, name: str, cmd: list[str]) -> Measured:
    return run_measured(cmd, stdout=run.logs / f"{name}.out", stderr=run.logs / f"{name}.err", env=run.env)


def _failure(run: Run, name: str, measured: Measured) -> str:
    err = (run.logs / f"{name}.err").read_text(encoding="utf-8", errors="replace").strip().splitlines()
    tail = " | ".join(err[-3:]) if err else "(no output)"
    return f"exit {measured.returncode}: {tail} (log: {run.logs / (name + '.err')})"


def _pipeline_stage(run: Run, stage: str) -> dict[str, Any]:
    out = run.logs / f"{stage}.json"
    step = "load" if stage == "increment" else stage
    measured = _measure(run, stage, [sys.executable, "-m", "pipelines.bench.stage", step, "--out", str(out)])
    record: dict[str, Any] = {
        "name": stage,
        "status": "ok" if measured.returncode == 0 else "failed",
        "wall_s": round(measured.wall_s, 3),
        "peak_rss_bytes": measured.peak_rss_bytes,
    }
    if measured.returncode != 0:
        record["error"] = _failure(run, stage, measured)
        return record
    detail = json.loads(out.read_text(encoding="utf-8"))
    rows = detail.pop("rows", None)
    if rows is None:
        rows = _fact_rows(run.warehouse)
    record.update(rows=rows, rows_per_s=round(rows / measured.wall_s) if measured.wall_s else None, detail=detail)
    return record


def _reference_stage(run: Run, stage: str, dataset: Dataset) -> dict[str, Any]:
    mode = REFERENCE_MODE[stage]
    name = f"reference-{mode}"
    out = run.logs / f"{name}.json"
    cmd = [sys.executable, "-m", "pipelines.bench.reference", mode, "--landing", str(run.landing)]
    cmd += ["--db", str(run.reference_db), "--targets", str(run.targets), "--target-id", run.options.target_id]
    cmd += ["--out", str(out), "--scratch", str(run.home / "reference-xlsx")]
    if mode == "increment":
        cmd += ["--day", dataset.last_day]
    measured = _measure(run, name, cmd)
    record: dict[str, Any] = {
        "mode": mode,
        "status": "ok" if measured.returncode == 0 else "failed",
        "wall_s": round(measured.wall_s, 3),
        "peak_rss_bytes": measured.peak_rss_bytes,
    }
    if measured.returncode != 0:
        record["error"] = _failure(run, name, measured)
        return record
    detail = json.loads(out.read_text(encoding="utf-8"))
    rows = sum(detail["rows"].get(k, 0) for k in ("catalogue_rows", "rate_rows", "event_rows"))
    if mode == "progress":
        rows = detail["totals"]["moves"]
    record.update(rows=rows, rows_per_s=round(rows / measured.wall_s) if measured.wall_s else None, detail=detail)
    return record


def _fact_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM core.fct_sales_event").fetchone()[0])  # type: ignore[index]


def _cents(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * 100)


def _eur(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2).quantize(Decimal("0.01")))


TRACKED = """(len($origins::VARCHAR[]) = 0 OR list_contains($origins::VARCHAR[], {origin}))
             AND NOT list_contains($origin_exclude::VARCHAR[], {origin})
             AND (len($destinations::VARCHAR[]) = 0 OR list_contains($destinations::VARCHAR[], {ship_to}))
             AND NOT list_contains($destination_exclude::VARCHAR[], {ship_to})
             AND {day} BETWEEN $window_start::DATE AND $window_end::DATE"""


def _check(run: Run, stage: str, target: dict[str, Any], record: dict[str, Any]) -> None:
    """Compare the target's EUR on both sides after ``stage``; on a mismatch, list what differs."""
    totals = record["reference"]["detail"]["totals"]
    reference = totals["target_cents"]
    keys = ("origins", "origin_exclude", "destinations", "destination_exclude", "window_start", "window_end")
    params = {k: target[k] for k in keys}
    with duckdb.connect() as con:
        con.execute("ATTACH ? AS wh (READ_ONLY)", [str(run.warehouse)])
        if stage == "marts":
            name = "mart cumulative EUR (export_progress_latest)"
            row = con.execute(
                "SELECT cumulative_net_eur FROM wh.marts.export_progress_latest WHERE target_id = ?",
                [target["target_id"]],
            ).fetchone()
            pipeline = _cents(row[0] if row else None)
        else:
            name = "EUR total (core.fct_sales_event)"
            sql = "SELECT sum(eur_amount) FROM wh.core.fct_sales_event WHERE " + TRACKED.format(
                origin="country_of_origin", ship_to="ship_to_country", day="event_date"
            )
            pipeline = _cents(con.execute(sql, params).fetchone()[0])  # type: ignore[index]
        check: dict[str, Any] = {
            "stage": stage,
            "name": name,
            "target_id": target["target_id"],
            "pipeline_eur": _eur(pipeline),
            "reference_eur": _eur(reference),
            "equal": pipeline == reference,
        }
        if pipeline != reference:
            check["differences"] = _differences(con, run.reference_db, params)
    run.checks.append(check)


def _differences(con: duckdb.DuckDBPyConnection, reference_db: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Days and events whose tracked EUR differs between the warehouse and the reference."""
    con.execute("ATTACH ? AS ref (READ_ONLY)", [str(reference_db)])
    pipeline_events = "SELECT channel, event_id, event_type, event_date, (eur_amount * 100)::HUGEINT AS cents "
    pipeline_events += "FROM wh.core.fct_sales_event WHERE " + TRACKED.format(
        origin="country_of_origin", ship_to="ship_to_country", day="event_date"
    )
    reference_events = "SELECT channel, event_id, event_date, cents FROM ref.ref_move WHERE " + TRACKED.format(
        origin="origin", ship_to="ship_to", day="event_date"
    )
    days = con.execute(
        f"""SELECT coalesce(p.event_date, r.event_date) AS day, p.cents AS pipeline_cents, r.cents AS reference_cents
            FROM (SELECT event_date, sum(cents) AS cents FROM ({pipeline_events}) GROUP BY 1) p
            FULL JOIN (SELECT event_date, sum(cents) AS cents FROM ({reference_events}) GROUP BY 1) r
              ON p.event_date = r.event_date
            WHERE p.cents IS DISTINCT FROM r.cents ORDER BY day""",
        params,
    ).fetchall()
    events = con.execute(
        f"""SELECT coalesce(p.channel, r.channel), coalesce(p.event_id, r.event_id), p.event_type,
                   coalesce(p.event_date, r.event_date), p.cents, r.cents
            FROM ({pipeline_events}) p
            FULL JOIN ({reference_events}) r ON p.channel = r.channel AND p.event_id = r.event_id
            WHERE p.cents IS DISTINCT FROM r.cents ORDER BY 4, 1, 2""",
        params,
    ).fetchall()
    return {
        "days": len(days),
        "first_days": [
            {"day": d.isoformat(), "pipeline_eur": _eur(p or 0), "reference_eur": _eur(r or 0)} for d, p, r in days[:10]
        ],
        "events": len(events),
        "first_events": [
            {
                "channel": c,
                "event_id": e,
                "event_type": t,
                "day": d.isoformat(),
                "pipeline_eur": None if p is None else _eur(p),
                "reference_eur": None if r is None else _eur(r),
            }
            for c, e, t, d, p, r in events[:20]
        ],
    }


def _host() -> dict[str, Any]:
    versions = {}
    for package in ("duckdb", "polars", "pyarrow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **versions,
    }


def _code_version() -> dict[str, Any]:
    """The checkout's commit and whether the working tree differs from it (read-only git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "modified": None}
    return {"commit": commit, "modified": bool(dirty)}


def write_result(bench_home: Path, result: dict[str, Any]) -> Path:
    """``<bench>/results/<UTC time>-<seed>-<lines>.json`` and a copy as ``<bench>/latest.json``."""
    folder = bench_home / "results"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    path = folder / f"{stamp}-{result['seed']}-{result['order_lines']}.json"
    text = json.dumps(result, indent=1, default=str)
    path.write_text(text, encoding="utf-8")
    (bench_home / "latest.json").write_text(text, encoding="utf-8")
    return path


def _clean(run: Run) -> None:
    """Drop the run's bulky outputs (landing links, warehouse, snapshots, reference DB); keep logs."""
    for child in run.home.iterdir():
        if child == run.logs:
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
