"""The benchmark run: stages of the pipeline and two plain-DuckDB references, each a fresh process.

Order: generate or reuse the sample and the same-size day (not stages), build the run's landing
without the last sales day, read every file once (warm page cache for both sides), then

  load .. publish  optional: one runner step per process (``runner.ingest_all``, ``refresh_marts``,
                   the gates, ``publish_snapshot``) in a warehouse of their own on the same landing
  run        a whole ``xborder run`` (``runner.run()``) from an empty warehouse
  noop       ``runner.run()`` again, nothing new landed
  increment  the last day's sales files land; ``runner.run()``
  day        the same-size day (a one-day sample for the 1st of the next month) lands; ``runner.run()``

The references run per landing state (history, after the increment, after the day): the single
pass (``single_pass.sql``, one statement over every file; for a one-day stage also over that day's
sales alone, the stage's speed limit) and the month-by-month reference (``reference.sql``: the
full history, then each day as one more batch). After each loading stage the target's EUR must be
equal to the cent in the warehouse and in both references (and the mart's cumulative, and the EUR
of every event), and the two references must agree day by day; otherwise the run fails and lists
what differs. Run stages also report their steps' seconds from ``audit.runs``.
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
from typing import Any, cast

import duckdb
import psutil

from pipelines.bench.data import (
    Dataset,
    delivery,
    ensure_dataset,
    first_of_next_month,
    link_tree,
    prewarm,
    stage_history,
)
from pipelines.bench.reference import target_variables
from pipelines.bench.rss import Measured, run_measured
from pipelines.bench.single_pass import TARGET_KEYS
from pipelines.settings import RESOURCES

SCHEMA = "xborder.bench/2"
CODE = Path(__file__).resolve().parent  # in a checkout, inside its git work tree
STEP_STAGES = ("load", "marts", "quality", "publish")
RUN_STAGES = ("run", "noop", "increment", "day")
STAGES = STEP_STAGES + RUN_STAGES
DEFAULT_STAGES = RUN_STAGES  # the step stages load the history a second time: asked for by name
# A stage runs only after these succeeded (when they were asked for).
NEEDS = {
    "marts": ("load",),
    "quality": ("load", "marts"),
    "publish": ("load", "marts", "quality"),  # nothing is published that no gate passed
    "noop": ("run",),
    "increment": ("run",),
    "day": ("run",),
}
# The landing state each stage sees, and its references: (column, reference kind) pairs.
STATE = {"increment": "increment", "day": "day"}
COMPARE = {
    "load": {"single_pass": "single_pass", "month_by_month": "monthly"},
    "marts": {"month_by_month": "monthly_progress"},
    "run": {"single_pass": "single_pass", "month_by_month": "monthly"},
    "noop": {"single_pass": "single_pass"},
    "increment": {"single_pass": "single_pass_day", "month_by_month": "monthly"},
    "day": {"single_pass": "single_pass_day", "month_by_month": "monthly"},
}
SMALL_HISTORY = 1_000_000
# Settings that must follow XBORDER_HOME inside a run (a user's own values would point elsewhere).
RUN_SCOPED = ("XBORDER_LANDING", "XBORDER_WAREHOUSE", "XBORDER_TARGETS_FILE")
Progress = Callable[[str], None]


def default_day_events(order_lines: int) -> int:
    """The same-size day's events: about 1,500 on 1M lines (a day of that history), 100,000 above."""
    return 1_500 if order_lines <= SMALL_HISTORY else 100_000


@dataclass
class BenchOptions:
    """What to run (``xborder bench`` flags)."""

    home: Path
    order_lines: int = 1_000_000
    seed: int = 2018
    stages: tuple[str, ...] = DEFAULT_STAGES
    keep: bool = False
    target_id: str = "uk_goods_to_cn"
    day_events: int | None = None  # the same-size day; default by size (default_day_events)
    baseline: Path | None = None  # a 1M result JSON for the same-size-day target


@dataclass
class Run:
    """Paths and state of one benchmark run."""

    options: BenchOptions
    bench_home: Path
    home: Path  # the run's XBORDER_HOME
    env: dict[str, str]
    stages: list[dict[str, Any]] = field(default_factory=list)
    references: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
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
    def steps_home(self) -> Path:
        """XBORDER_HOME of the step stages (their own warehouse, the same landing and targets)."""
        return self.home / "steps"

    @property
    def reference_db(self) -> Path:
        return self.home / "reference.duckdb"

    @property
    def targets(self) -> Path:
        return self.home / "targets.sample.yml"

    def warehouse_of(self, stage: str) -> Path:
        return self.steps_home / "warehouse.duckdb" if stage in STEP_STAGES else self.warehouse

    def env_of(self, stage: str) -> dict[str, str]:
        if stage not in STEP_STAGES:
            return self.env
        return {
            **self.env,
            "XBORDER_HOME": str(self.steps_home),
            "XBORDER_LANDING": str(self.landing),
            "XBORDER_TARGETS_FILE": str(self.targets),
        }


def wanted_stages(asked: tuple[str, ...]) -> list[str]:
    """The stages to run, in order: publishing brings the gates and marts, gates bring the load."""
    chosen = set(asked)
    if "publish" in chosen:
        chosen |= {"marts", "quality"}
    if chosen & {"marts", "quality"}:
        chosen.add("load")
    if chosen & {"noop", "increment", "day"}:
        chosen.add("run")
    return [s for s in STAGES if s in chosen]


def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the result document (also written under ``<home>/bench/``)."""
    say = progress or (lambda _: None)
    bench_home = (options.home / "bench").resolve()
    started = datetime.now(UTC)
    # a folder of its own: benches sharing a cache (and a size) never touch each other's runs
    name = f"{options.seed}-{options.order_lines}-{started:%Y%m%dT%H%M%SZ}-{os.getpid()}"
    run = Run(options, bench_home, bench_home / "runs" / name, _env(options))
    run.env["XBORDER_HOME"] = str(run.home)
    run.logs.mkdir(parents=True)
    load_start = list(os.getloadavg())  # other work on the machine makes timings noisy
    wanted = wanted_stages(options.stages)
    day_events = options.day_events or default_day_events(options.order_lines)

    say(f"sample data: {options.order_lines:,} order lines, seed {options.seed}")
    dataset = ensure_dataset(bench_home, options.seed, options.order_lines, run.logs, run.env)
    shutil.copy2(dataset.targets if dataset.targets.exists() else RESOURCES / "targets.yml", run.targets)
    history, later = stage_history(dataset, run.landing)
    same_day: Dataset | None = None
    day_files: list[Path] = []
    day_date = first_of_next_month(dataset.last_day)
    if "day" in wanted:
        say(f"same-size day: {day_events:,} order lines on {day_date}")
        same_day = ensure_dataset(bench_home, options.seed, day_events, run.logs, run.env, day_date)
        day_files = delivery(same_day.landing, day_date)
    say("reading every file once (warm page cache)")
    t0 = time.perf_counter()
    warmed = prewarm(history + later + day_files)
    prepare = {"prewarm_s": round(time.perf_counter() - t0, 3), "prewarm_bytes": warmed}
    target = target_variables(run.targets, options.target_id)

    done: set[str] = set()
    for stage in wanted:
        missing = [d for d in NEEDS.get(stage, ()) if d not in done]
        if missing:
            run.stages.append({"name": stage, "status": "skipped", "note": f"needs {', '.join(missing)}"})
            continue
        if stage == "quality" and not _quality_available():
            run.stages.append({"name": stage, "status": "unavailable", "note": "pipelines.quality not importable"})
            continue
        if stage == "increment":
            link_tree(dataset.landing, run.landing, later)
        if stage == "day" and same_day is not None:
            link_tree(same_day.landing, run.landing, day_files)
        day = {"increment": dataset.last_day, "day": day_date}.get(stage)
        if _stage(run, stage, target, day, say):
            done.add(stage)
        if stage == "publish" and not options.keep:
            shutil.rmtree(run.steps_home, ignore_errors=True)  # the step stages' copy of the history

    from pipelines.bench.report import evaluate_targets

    result: dict[str, Any] = {
        "schema": SCHEMA,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "order_lines": options.order_lines,
        "seed": options.seed,
        "increment_day": dataset.last_day,
        "same_size_day": {"day": day_date, "order_lines": day_events, "files": len(day_files)},
        "target": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in target.items()},
        "host": {**_host(), "loadavg_start": load_start, "loadavg_end": list(os.getloadavg())},
        "code": _code_version(),
        "data": {**dataset.to_dict(), "held_back_files": len(later), **prepare},
        "run_home": str(run.home),
        "stages": run.stages,
        "references": list(run.references.values()),
        "checks": run.checks,
    }
    result["targets"] = evaluate_targets(result, bench_home / "results", options.baseline)
    result["ok"] = not run.failed and all(c["equal"] for c in run.checks)
    path = write_result(bench_home, result)
    result["result_file"] = str(path)
    if not options.keep:
        _clean(run)
    return result


def _stage(run: Run, stage: str, target: dict[str, Any], day: str | None, say: Progress) -> bool:
    """One stage, its references and checks; True when the pipeline's side succeeded."""
    say(f"{stage}: pipeline")
    record = _pipeline_stage(run, stage)
    run.stages.append(record)
    if record["status"] != "ok":
        run.failed = True
        return False
    state = STATE.get(stage, "history")
    record["compare"] = {}
    for column, kind in COMPARE.get(stage, {}).items():
        say(f"{stage}: reference ({kind.replace('_', ' ')})")
        ref = _reference(run, state, kind, day)
        entry: dict[str, Any] = {"reference": f"{state}/{kind}", "status": ref["status"], "wall_s": ref["wall_s"]}
        if ref["status"] == "ok":
            entry["ratio"] = round(record["wall_s"] / ref["wall_s"], 3)
        record["compare"][column] = entry
    if stage in ("load", "run", "increment", "day"):
        say(f"{stage}: checks")
        if stage != "load":
            _reference(run, state, "single_pass", None)  # the whole landing, for the EUR checks
        _checks(run, stage, state, target)
    elif stage == "marts":
        _checks(run, stage, state, target)
    return True


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


def _measure(run: Run, name: str, cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    return run_measured(cmd, stdout=run.logs / f"{name}.out", stderr=run.logs / f"{name}.err", env=env or run.env)


def _failure(run: Run, name: str, measured: Measured) -> str:
    err = (run.logs / f"{name}.err").read_text(encoding="utf-8", errors="replace").strip().splitlines()
    tail = " | ".join(err[-3:]) if err else "(no output)"
    return f"exit {measured.returncode}: {tail} (log: {run.logs / (name + '.err')})"


def _pipeline_stage(run: Run, stage: str) -> dict[str, Any]:
    out = run.logs / f"{stage}.json"
    step = "run" if stage in RUN_STAGES else stage
    since = datetime.now(UTC).replace(tzinfo=None)  # audit.runs keeps naive UTC
    cmd = [sys.executable, "-m", "pipelines.bench.stage", step, "--out", str(out)]
    measured = _measure(run, stage, cmd, run.env_of(stage))
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
        rows = _fact_rows(run.warehouse_of(stage))
    events = detail.pop("events", None)
    per_s = events if events is not None else rows
    record.update(rows=rows, events=events, rows_per_s=round(per_s / measured.wall_s) if per_s else None)
    record["detail"] = detail
    if stage in RUN_STAGES:
        record["run_steps"] = run_steps(run.warehouse, since, measured.wall_s)
    return record


def run_steps(warehouse: Path, since: datetime, wall_s: float) -> dict[str, Any]:
    """The steps a run recorded in ``audit.runs`` since ``since``: seconds each, the gates' share.

    ``unrecorded_s`` is the process's time outside the steps: start-up and imports, the run's own
    lock and migration check, Data Docs and the report.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """SELECT command, status, epoch(finished_at - started_at) FROM audit.runs
               WHERE started_at >= ? ORDER BY started_at""",
            [since],
        ).fetchall()
    steps = [{"step": c, "status": s, "seconds": round(float(sec or 0), 3)} for c, s, sec in rows]
    recorded = sum(s["seconds"] for s in steps)
    gates = sum(s["seconds"] for s in steps if s["step"].startswith("quality:"))
    return {
        "steps": steps,
        "recorded_s": round(recorded, 3),
        "unrecorded_s": round(wall_s - recorded, 3),
        "gates_s": round(gates, 3),
        "gates_share": round(gates / wall_s, 4) if wall_s else None,
    }


def _reference(run: Run, state: str, kind: str, day: str | None) -> dict[str, Any]:
    """A reference on the landing as it is now (``state``), run once per state and kind."""
    key = (state, kind)
    if key in run.references:
        return run.references[key]
    name = f"reference-{state}-{kind}"
    out = run.logs / f"{name}.json"
    common = ["--landing", str(run.landing), "--targets", str(run.targets), "--target-id", run.options.target_id]
    common += ["--out", str(out)]
    if kind.startswith("single_pass"):
        cmd = [sys.executable, "-m", "pipelines.bench.single_pass", *common, "--scratch", str(run.home / name)]
        cmd += ["--day", day] if kind == "single_pass_day" and day else []
    else:
        mode = "progress" if kind == "monthly_progress" else ("full" if state == "history" else "increment")
        cmd = [sys.executable, "-m", "pipelines.bench.reference", mode, *common, "--db", str(run.reference_db)]
        day_args = ["--day", cast(str, day)] if mode == "increment" else []  # an increment stage has its day
        cmd += ["--scratch", str(run.home / "reference-convert")] + day_args
    measured = _measure(run, name, cmd)
    record: dict[str, Any] = {
        "state": state,
        "kind": kind,
        "status": "ok" if measured.returncode == 0 else "failed",
        "wall_s": round(measured.wall_s, 3),
        "peak_rss_bytes": measured.peak_rss_bytes,
    }
    if kind.startswith("single_pass"):
        shutil.rmtree(run.home / name, ignore_errors=True)
    run.references[key] = record
    if measured.returncode != 0:
        record["error"] = _failure(run, name, measured)
        run.failed = True
        return record
    detail = json.loads(out.read_text(encoding="utf-8"))
    daily = detail.pop("daily", None)
    if kind == "monthly_progress":
        rows = detail["totals"]["moves"]
    elif kind.startswith("single_pass"):
        rows = detail["rows"]["events_kept"]
    else:
        rows = sum(detail["rows"].get(k, 0) for k in ("catalogue_rows", "rate_rows", "event_rows"))
    record.update(rows=rows, rows_per_s=round(rows / measured.wall_s) if measured.wall_s else None, detail=detail)
    if daily is not None:
        record["_daily"] = {d: net for d, net, _ in daily}  # for the day-by-day check; not written
    return record


def _fact_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM core.fct_sales_event").fetchone()[0])  # type: ignore[index]


def _cents(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * 100)


def _eur(cents: int | None) -> str | None:
    return None if cents is None else str(Decimal(cents).scaleb(-2).quantize(Decimal("0.01")))


TRACKED = """(len($origins::VARCHAR[]) = 0 OR list_contains($origins::VARCHAR[], {origin}))
             AND NOT list_contains($origin_exclude::VARCHAR[], {origin})
             AND (len($destinations::VARCHAR[]) = 0 OR list_contains($destinations::VARCHAR[], {ship_to}))
             AND NOT list_contains($destination_exclude::VARCHAR[], {ship_to})
             AND {day} BETWEEN $window_start::DATE AND $window_end::DATE"""


def _totals(run: Run, state: str, kind: str) -> dict[str, Any] | None:
    ref = run.references.get((state, kind))
    return ref["detail"]["totals"] if ref and ref["status"] == "ok" else None


def _checks(run: Run, stage: str, state: str, target: dict[str, Any]) -> None:
    """Compare the EUR after ``stage``: warehouse, month-by-month and single pass; on a mismatch, what differs."""
    monthly = _totals(run, state, "monthly_progress" if stage == "marts" else "monthly")
    single = None if stage == "marts" else _totals(run, state, "single_pass")
    params = {k: target[k] for k in TARGET_KEYS}
    tracked = "SELECT sum(eur_amount) FROM wh.core.fct_sales_event WHERE " + TRACKED.format(
        origin="country_of_origin", ship_to="ship_to_country", day="event_date"
    )
    mart = "SELECT max(cumulative_net_eur) FROM wh.marts.export_progress_latest WHERE target_id = $target_id"
    # name, warehouse query, month-by-month total, single-pass total
    wanted = {
        "EUR total (core.fct_sales_event)": (tracked, "target_cents", "target_cents"),
        "mart cumulative EUR (export_progress_latest)": (mart, "target_cents", "cumulative_cents"),
        "EUR of every valued event, any origin or destination": (
            "SELECT sum(eur_amount) FROM wh.core.fct_sales_event",
            "all_cents",
            "all_cents",
        ),
    }
    names = {"load": [0, 2], "marts": [1]}.get(stage, [0, 1, 2])
    with duckdb.connect() as con:
        con.execute("ATTACH ? AS wh (READ_ONLY)", [str(run.warehouse_of(stage))])
        for name in [list(wanted)[i] for i in names]:
            sql, monthly_key, single_key = wanted[name]
            bound = {**params, "target_id": target["target_id"]} if "target_id" in sql else params
            bound = {k: v for k, v in bound.items() if f"${k}" in sql}
            pipeline = _cents(con.execute(sql, bound).fetchone()[0])  # type: ignore[index]
            sides = {"month_by_month": monthly[monthly_key] if monthly else None}
            if stage != "marts":
                sides["single_pass"] = single[single_key] if single else None
            check = _check_record(stage, name, target["target_id"], pipeline, sides)
            if not check["equal"] and monthly is not None and name.startswith("EUR total"):
                check["differences"] = _differences(con, run.reference_db, params)
            run.checks.append(check)
    if stage != "marts":
        run.checks.append(_daily_check(run, stage, state, target["target_id"]))


def _check_record(stage: str, name: str, target_id: str, pipeline: int, sides: dict[str, int | None]) -> dict[str, Any]:
    """One EUR check: equal when every side that ran has the pipeline's cents."""
    return {
        "stage": stage,
        "name": name,
        "target_id": target_id,
        "pipeline_eur": _eur(pipeline),
        **{f"{side}_eur": _eur(cents) for side, cents in sides.items()},
        "equal": all(cents is not None and cents == pipeline for cents in sides.values()),
    }


def _daily_check(run: Run, stage: str, state: str, target_id: str) -> dict[str, Any]:
    """The two references' net EUR of the target, day by day (the days that differ, if any)."""
    single = run.references.get((state, "single_pass"), {}).get("_daily")
    check: dict[str, Any] = {"stage": stage, "name": "references agree day by day (target's net EUR)"}
    check["target_id"] = target_id
    if single is None or not run.reference_db.exists():
        return {**check, "equal": False, "note": "a reference did not run"}
    with duckdb.connect(str(run.reference_db), read_only=True) as con:
        monthly = {
            d.isoformat(): int(c) for d, c in con.execute("SELECT event_date, net_cents FROM ref_progress").fetchall()
        }
    days = sorted(d for d in set(monthly) | set(single) if monthly.get(d) != single.get(d))
    check.update(days=len(monthly), equal=not days, differing_days=len(days))
    if days:
        check["first_days"] = [
            {"day": d, "month_by_month_eur": _eur(monthly.get(d)), "single_pass_eur": _eur(single.get(d))}
            for d in days[:10]
        ]
    return check


def _differences(con: duckdb.DuckDBPyConnection, reference_db: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Days and events whose tracked EUR differs between the warehouse and the month-by-month reference."""
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
                "pipeline_eur": _eur(p),
                "reference_eur": _eur(r),
            }
            for c, e, t, d, p, r in events[:20]
        ],
    }


def _host() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
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
    """The checkout's commit and whether the working tree differs from it (read-only git; None when installed)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=CODE, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=CODE,
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
    for ref in result["references"]:
        ref.pop("_daily", None)
    text = json.dumps(result, indent=1, default=str)
    path.write_text(text, encoding="utf-8")
    (bench_home / "latest.json").write_text(text, encoding="utf-8")
    return path


def _clean(run: Run) -> None:
    """Drop the run's bulky outputs (landing links, warehouses, snapshots, reference DB); keep logs."""
    for child in run.home.iterdir():
        if child == run.logs:
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
