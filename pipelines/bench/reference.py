"""Run the plain-DuckDB reference (``reference.sql``) in this process: ``python -m pipelines.bench.reference``.

Modes: ``full`` (catalogues, ECB rates and every sales file under the landing root),
``increment`` (one day's sales folder on top of the reference database the full mode left),
``progress`` (only the daily cumulative progress, the counterpart of the marts refresh). The
result (seconds per step, rows read, EUR totals in cents) is written as JSON to ``--out``.

The runner only lists files and sets variables; the work is the SQL. It imports nothing from
the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipelines.bench.xlsx import xlsx_to_csv

SQL_PATH = Path(__file__).with_name("reference.sql")
STEP = re.compile(r"^-- @step (\w+)\s*$", re.MULTILINE)
# Reading steps and the landed files they read (globs under the landing root).
CATALOGUE_STEPS = {
    "catalogue_gb_csv": ["catalogues/GB*/*.csv"],
    "catalogue_es_csv": ["catalogues/ES*/*.csv"],
    "catalogue_fr_csv": ["catalogues/FR*/*.csv", "catalogues/BE*/*.csv"],
    "catalogue_parquet": ["catalogues/*/*.parquet"],
    "catalogue_jsonl": ["catalogues/*/*.jsonl"],
    "catalogue_json": ["catalogues/*/*.json"],
}
# DuckDB's core reads UTF-8 and latin-1 only; these are converted to UTF-8 CSV first, in Python.
XLSX_GLOB = "catalogues/*/*.xlsx"
XLSX_SHEET = "Catalogo"
CP1252_GLOB = "catalogues/DE*/*.csv"
RATE_STEPS = {"rates_history": ["fx/eurofxref-hist.csv"], "rates_daily": ["fx/daily/*/eurofxref.csv"]}
EVENT_STEPS = {
    "events_tmall_global": "sales/tmall_global/{day}/*.jsonl",
    "events_own_webshop": "sales/own_webshop/{day}/*.csv",
    "events_jd_worldwide": "sales/jd_worldwide/{day}/*.parquet",
}


def steps(sql: str) -> dict[str, str]:
    """The script's steps by name, in order."""
    marks = list(STEP.finditer(sql))
    return {
        m.group(1): sql[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(sql)] for i, m in enumerate(marks)
    }


def listed(root: Path, patterns: list[str]) -> list[str]:
    """Files under ``root`` matching the globs, sorted, as absolute paths."""
    return sorted({str(p) for pattern in patterns for p in root.glob(pattern) if p.is_file()})


def target_variables(targets_file: Path, target_id: str | None) -> dict[str, Any]:
    """origins, destinations (empty: every country), their excludes and the window of the tracked target.

    First target by default. Read with PyYAML's BaseLoader (safe; every scalar a string), so an
    unquoted ``NO`` is Norway here whatever YAML 1.1 says.
    """
    doc = yaml.load(targets_file.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    targets = doc["targets"]
    chosen = next((t for t in targets if target_id is None or t["id"] == target_id), None)
    if chosen is None:
        raise SystemExit(f"{targets_file}: no target {target_id!r}")

    def codes(key: str) -> list[str]:
        value = chosen.get(key) or []
        return [] if value == "all" else [str(c) for c in value]

    return {
        "target_id": chosen["id"],
        "origins": codes("origin_countries"),
        "origin_exclude": codes("origin_exclude"),
        "destinations": codes("destination_countries"),
        "destination_exclude": codes("destination_exclude"),
        "window_start": _day(chosen["window_start"]),
        "window_end": _day(chosen["window_end"]),
    }


def _cp1252_to_utf8(source: Path, target: Path) -> None:
    target.write_text(source.read_bytes().decode("cp1252"), encoding="utf-8")


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class Reference:
    """One reference process: a DuckDB connection on the reference database and the script's steps."""

    def __init__(self, db: Path, landing: Path, target: dict[str, Any], lookback: int) -> None:
        config: dict[str, Any] = {}
        if os.environ.get("XBORDER_THREADS"):
            config["threads"] = int(os.environ["XBORDER_THREADS"])
        if os.environ.get("XBORDER_MEMORY_LIMIT"):
            config["memory_limit"] = os.environ["XBORDER_MEMORY_LIMIT"]
        self.con = duckdb.connect(str(db), config=config)
        self.landing = landing
        self.sql = steps(SQL_PATH.read_text(encoding="utf-8"))
        self.seconds: dict[str, float] = {}
        self.rows: dict[str, int] = {}
        self.con.execute("SET VARIABLE lookback = ?", [lookback])
        for name in ("origins", "origin_exclude", "destinations", "destination_exclude"):
            self.con.execute(f"SET VARIABLE {name} = ?::VARCHAR[]", [target[name]])
        for name in ("window_start", "window_end"):
            self.con.execute(f"SET VARIABLE {name} = ?::DATE", [target[name]])

    def run(self, step: str, files: list[str] | None = None) -> None:
        """Run one step (a reading step with its file list; skipped when there are none)."""
        if files is not None:
            if not files:
                return
            self.con.execute("SET VARIABLE files = ?::VARCHAR[]", [files])
        started = time.perf_counter()
        self.con.execute(self.sql[step])
        self.seconds[step] = round(self.seconds.get(step, 0) + time.perf_counter() - started, 3)

    def count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]

    def full(self, scratch: Path) -> None:
        self.run("session")
        self.run("setup")
        for step, patterns in CATALOGUE_STEPS.items():
            self.run(step, listed(self.landing, patterns))
        self.run("catalogue_de_csv", self._convert(scratch, CP1252_GLOB, _cp1252_to_utf8))
        self.run(
            "catalogue_xlsx", self._convert(scratch, XLSX_GLOB, lambda src, dst: xlsx_to_csv(src, dst, XLSX_SHEET))
        )
        self.rows["catalogue_rows"] = self.count("ref_catalogue_raw")
        for step, patterns in RATE_STEPS.items():
            self.run(step, listed(self.landing, patterns))
        self.rows["rate_rows"] = self.count("ref_rate_raw")
        self.run("dims")
        # Month by month (in date order), as a streaming job would: at 100M lines the whole history
        # in one batch needs more temporary disk than the machine has (the rules are batch-invariant:
        # re-deliveries are dropped against everything loaded, cancels and returns wait for their line).
        months = sorted({p.name[:7] for p in self.landing.glob("sales/*/*") if p.is_dir()})
        for month in months:
            self.events(f"{month}-*")
        self.run("progress")

    def increment(self, day: str) -> None:
        self.run("session")
        self.events(day)
        self.run("progress")

    def events(self, day: str) -> None:
        self.run("batch")
        for step, pattern in EVENT_STEPS.items():
            self.run(step, listed(self.landing, [pattern.format(day=day)]))
        self.rows["event_rows"] = self.rows.get("event_rows", 0) + self.count("batch_events")
        self.run("value")
        self.rows["events_new"] = self.rows.get("events_new", 0) + self.count("batch_new")

    def _convert(self, scratch: Path, pattern: str, convert: Callable[[Path, Path], object]) -> list[str]:
        """Convert the files matching ``pattern`` to UTF-8 CSV under ``scratch`` (same relative paths)."""
        started = time.perf_counter()
        out = []
        for path in listed(self.landing, [pattern]):
            target = scratch / Path(path).relative_to(self.landing).with_suffix(".csv")
            target.parent.mkdir(parents=True, exist_ok=True)
            convert(Path(path), target)
            out.append(str(target))
        if out:
            self.seconds[f"convert {pattern}"] = round(time.perf_counter() - started, 3)
        return out

    def totals(self) -> dict[str, Any]:
        """Cents of the tracked target (all days, and cumulative on its last day), per-day rows."""
        tracked, days, last = self.con.execute(
            "SELECT coalesce(sum(net_cents), 0), count(*), max(event_date) FROM ref_progress"
        ).fetchone()  # type: ignore[misc]
        every = self.con.execute("SELECT coalesce(sum(cents), 0), count(*) FROM ref_move").fetchone()
        return {
            "target_cents": int(tracked),
            "target_days": int(days),
            "last_day": last.isoformat() if last else None,
            "all_cents": int(every[0]),  # type: ignore[index]
            "moves": int(every[1]),  # type: ignore[index]
            "pending": self.count("ref_pending"),
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.bench.reference", description=__doc__)
    parser.add_argument("mode", choices=("full", "increment", "progress"))
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True, help="the reference's own DuckDB file")
    parser.add_argument("--targets", type=Path, required=True, help="targets YAML (the tracked target)")
    parser.add_argument("--target-id", default="uk_goods_to_cn")
    parser.add_argument("--day", help="increment: the sales day folder (YYYY-MM-DD)")
    parser.add_argument("--lookback", type=int, default=7)
    parser.add_argument("--scratch", type=Path, help="full: where XLSX catalogues are converted to CSV")
    parser.add_argument("--out", type=Path, required=True, help="result JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.mode == "full":
        args.db.unlink(missing_ok=True)
    ref = Reference(args.db, args.landing.resolve(), target_variables(args.targets, args.target_id), args.lookback)
    if args.mode == "full":
        ref.full(args.scratch or args.db.with_suffix(".xlsx"))
    elif args.mode == "increment":
        if not args.day:
            parser.error("--day is required for increment")
        ref.increment(args.day)
    else:
        ref.run("session")
        ref.run("progress")
    ref.con.execute("CHECKPOINT")
    result = {
        "mode": args.mode,
        "seconds": round(time.perf_counter() - started, 3),
        "steps": ref.seconds,
        "rows": ref.rows,
        "totals": ref.totals(),
    }
    ref.con.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
