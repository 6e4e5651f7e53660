"""Run the month-by-month reference (``reference.sql``) in this process: ``python -m pipelines.bench.reference``.

Modes: ``full`` (catalogues, ECB rates and every sales file under the landing root, the sales
month by month), ``increment`` (one day on top of the reference database the full mode left: the
catalogue snapshots and ECB daily file of that date if any, then its sales folder), ``progress``
(only the daily cumulative progress, the counterpart of the marts refresh). The result (seconds
per step, rows read, EUR totals in cents) is written as JSON to ``--out``.

The runner only lists files and sets variables; the work is the SQL (with the reading parts of
``readers.sql``, which the single-pass reference shares). It imports nothing from the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Callable
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipelines.bench.xlsx import xlsx_to_csv

SQL_PATH = files("pipelines.bench") / "reference.sql"
READERS_PATH = files("pipelines.bench") / "readers.sql"
VARIABLE = "getvariable('files')"  # where the month-by-month runner's reading parts find their files
STEP = re.compile(r"^-- @step (\w+)\s*$", re.MULTILINE)
INCLUDE = re.compile(r"\{@(\w+)\}")
# The reading parts of readers.sql and the landed files they read: globs under the landing root,
# with {name} the file name's stem (a snapshot date; "*" for every file) and {day} a day folder.
CATALOGUE_PARTS = {
    "catalogue_gb_csv": ["catalogues/GB*/{name}.csv"],
    "catalogue_es_csv": ["catalogues/ES*/{name}.csv"],
    "catalogue_fr_csv": ["catalogues/FR*/{name}.csv", "catalogues/BE*/{name}.csv"],
    "catalogue_parquet": ["catalogues/*/{name}.parquet"],
    "catalogue_jsonl": ["catalogues/*/{name}.jsonl"],
    "catalogue_json": ["catalogues/*/{name}.json"],
}
# DuckDB's core reads UTF-8 and latin-1 only: these are converted to UTF-8 CSV first, in Python.
CP1252_PART, CP1252_GLOB = "catalogue_de_csv", "catalogues/DE*/{name}.csv"
XLSX_PART, XLSX_GLOB, XLSX_SHEET = "catalogue_xlsx", "catalogues/*/{name}.xlsx", "Catalogo"
RATE_PARTS = {"rates_history": ["fx/eurofxref-hist.csv"], "rates_daily": ["fx/daily/{day}/eurofxref.csv"]}
EVENT_PARTS = {
    "events_tmall_global": ["sales/tmall_global/{day}/*.jsonl"],
    "events_own_webshop": ["sales/own_webshop/{day}/*.csv"],
    "events_jd_worldwide": ["sales/jd_worldwide/{day}/*.parquet"],
}


def steps(sql: str) -> dict[str, str]:
    """The script's steps (or parts) by name, in order."""
    marks = list(STEP.finditer(sql))
    return {
        m.group(1): sql[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(sql)].strip()
        for i, m in enumerate(marks)
    }


def readers() -> dict[str, str]:
    """The parts of readers.sql (shared by both references)."""
    return steps(READERS_PATH.read_text(encoding="utf-8"))


def script(path: Traversable, parts: dict[str, str]) -> dict[str, str]:
    """The steps of the script at ``path`` with their ``{@part}`` includes filled in."""
    text = path.read_text(encoding="utf-8")
    return {name: INCLUDE.sub(lambda m: parts[m.group(1)], sql) for name, sql in steps(text).items()}


def reading(parts: dict[str, str], part: str, files: str) -> str:
    """A reading part reading ``files`` (SQL: a variable or parameter); catalogues with supplier and date."""
    sql = parts[part].replace("{files}", files)
    return parts["catalogue_snapshot"].replace("{rows}", sql) if part.startswith("catalogue_") else sql


def filled(patterns: list[str], name: str = "*", day: str = "*") -> list[str]:
    return [p.format(name=name, day=day) for p in patterns]


def listed(root: Path, patterns: list[str]) -> list[str]:
    """Files under ``root`` matching the globs, sorted, as absolute paths."""
    return sorted({str(p) for pattern in patterns for p in root.glob(pattern) if p.is_file()})


def convert(landing: Path, scratch: Path, pattern: str, conversion: Callable[[Path, Path], object]) -> list[str]:
    """Convert the files matching ``pattern`` to UTF-8 CSV under ``scratch`` (same relative paths)."""
    out = []
    for path in listed(landing, [pattern]):
        target = scratch / Path(path).relative_to(landing).with_suffix(".csv")
        target.parent.mkdir(parents=True, exist_ok=True)
        conversion(Path(path), target)
        out.append(str(target))
    return out


def cp1252_to_utf8(source: Path, target: Path) -> None:
    target.write_text(source.read_bytes().decode("cp1252"), encoding="utf-8")


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


def connection_config() -> dict[str, Any]:
    """DuckDB settings both references take from the environment (XBORDER_THREADS, XBORDER_MEMORY_LIMIT)."""
    config: dict[str, Any] = {}
    if os.environ.get("XBORDER_THREADS"):
        config["threads"] = int(os.environ["XBORDER_THREADS"])
    if os.environ.get("XBORDER_MEMORY_LIMIT"):
        config["memory_limit"] = os.environ["XBORDER_MEMORY_LIMIT"]
    return config


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class Reference:
    """One reference process: a DuckDB connection on the reference database and the script's steps."""

    def __init__(self, db: Path, landing: Path, target: dict[str, Any], lookback: int) -> None:
        self.con = duckdb.connect(str(db), config=connection_config())
        self.landing = landing
        self.parts = readers()
        self.sql = script(SQL_PATH, self.parts)
        self.seconds: dict[str, float] = {}
        self.rows: dict[str, int] = {}
        self.con.execute("SET VARIABLE lookback = ?", [lookback])
        for name in ("origins", "origin_exclude", "destinations", "destination_exclude"):
            self.con.execute(f"SET VARIABLE {name} = ?::VARCHAR[]", [target[name]])
        for name in ("window_start", "window_end"):
            self.con.execute(f"SET VARIABLE {name} = ?::DATE", [target[name]])

    def run(self, step: str, sql: str | None = None, files: list[str] | None = None) -> int:
        """Run a step of the script (or ``sql`` timed as ``step``) reading ``files``; files read.

        A reading step without files is skipped (DuckDB refuses an empty file list).
        """
        if files is not None:
            if not files:
                return 0
            self.con.execute("SET VARIABLE files = ?::VARCHAR[]", [files])
        started = time.perf_counter()
        self.con.execute(self.sql[step] if sql is None else sql)
        self.seconds[step] = round(self.seconds.get(step, 0) + time.perf_counter() - started, 3)
        return len(files or [])

    def read(self, table: str, part: str, files: list[str]) -> int:
        """Insert what the reading part ``part`` reads from ``files`` into ``table``; files read.

        A file read before (``ref_file``) is not read again: an increment's day may name a file
        the history already had (its ECB file, a snapshot).
        """
        seen = {
            path
            for (path,) in self.con.execute(
                "SELECT path FROM ref_file WHERE list_contains(?, path)", [files]
            ).fetchall()
        }
        fresh = [f for f in files if f not in seen]
        read = self.run(part, f"INSERT INTO {table} {reading(self.parts, part, VARIABLE)}", fresh)
        self.con.execute("INSERT INTO ref_file SELECT unnest(?::VARCHAR[])", [fresh])
        return read

    def count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]

    def catalogues(self, scratch: Path, name: str) -> int:
        """Read the catalogue snapshots named ``name`` (a date, or "*"); files read."""
        read = sum(
            self.read("catalogue_raw", part, listed(self.landing, filled(p, name)))
            for part, p in CATALOGUE_PARTS.items()
        )
        for part, pattern, conversion in (
            (CP1252_PART, CP1252_GLOB, cp1252_to_utf8),
            (XLSX_PART, XLSX_GLOB, lambda src, dst: xlsx_to_csv(src, dst, XLSX_SHEET)),
        ):
            started = time.perf_counter()
            files = convert(self.landing, scratch, pattern.format(name=name), conversion)
            if files:
                self.seconds[f"convert {pattern}"] = round(time.perf_counter() - started, 3)
            read += self.read("catalogue_raw", part, files)
        return read

    def rates(self, day: str, history: bool) -> int:
        """Read the ECB files: the daily files of ``day`` (or "*") and, with ``history``, the history file."""
        return sum(
            self.read("rate_raw", part, listed(self.landing, filled(patterns, day=day)))
            for part, patterns in RATE_PARTS.items()
            if history or part != "rates_history"
        )

    def full(self, scratch: Path) -> None:
        self.run("session")
        self.run("setup")
        self.catalogues(scratch, "*")
        self.rows["catalogue_rows"] = self.count("catalogue_raw")
        self.rates("*", history=True)
        self.rows["rate_rows"] = self.count("rate_raw")
        self.run("dims")
        # Month by month (in date order), as a streaming job would: at 100M lines the whole history
        # in one batch needs more temporary disk than the machine has (the rules are batch-invariant:
        # re-deliveries are dropped against everything loaded, cancels and returns wait for their line).
        months = sorted({p.name[:7] for p in self.landing.glob("sales/*/*") if p.is_dir()})
        for month in months:
            self.events(f"{month}-*")
        self.run("progress")

    def increment(self, day: str, scratch: Path) -> None:
        """One day as one more batch: the catalogue snapshots and ECB file of that day first, if any."""
        self.run("session")
        if self.catalogues(scratch, day) + self.rates(day, history=False):
            self.run("dims")
        self.events(day)
        self.run("progress")

    def events(self, day: str) -> None:
        self.run("batch")
        for part, patterns in EVENT_PARTS.items():
            self.read("batch_events", part, listed(self.landing, filled(patterns, day=day)))
        self.rows["event_rows"] = self.rows.get("event_rows", 0) + self.count("batch_events")
        self.run("value")
        self.rows["events_new"] = self.rows.get("events_new", 0) + self.count("batch_new")

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
    parser.add_argument("--day", help="increment: the day (YYYY-MM-DD): its sales folders, snapshots and ECB file")
    parser.add_argument("--lookback", type=int, default=7)
    parser.add_argument("--scratch", type=Path, help="where XLSX and cp1252 catalogues are converted to CSV")
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
        ref.increment(args.day, args.scratch or args.db.with_suffix(".xlsx"))
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
