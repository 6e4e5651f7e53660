"""Run the single-pass reference (``single_pass.sql``) in this process: ``python -m pipelines.bench.single_pass``.

ONE DuckDB statement reads every catalogue, ECB file and sales file under the landing root as
landed (JSON lines, CSV and Parquet read by DuckDB, by glob), drops re-delivered events and
values the rest: the speed limit of issue 14. ``--day`` reads only that day's sales folders
(with every catalogue and rate: a stateless pass needs them), the counterpart of a one-day run.
Before the statement, XLSX and Windows-1252 catalogues are converted to UTF-8 CSV (DuckDB's core
reads neither): XLSX with fastexcel (calamine), timed apart. No database file, no state.

The result (seconds: total, conversions, statement; totals in cents; the target's days) is
written as JSON to ``--out``. It imports nothing from the pipeline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb

from pipelines.bench.reference import (
    CATALOGUE_PARTS,
    CP1252_GLOB,
    CP1252_PART,
    EVENT_PARTS,
    RATE_PARTS,
    XLSX_GLOB,
    XLSX_PART,
    XLSX_SHEET,
    connection_config,
    convert,
    cp1252_to_utf8,
    filled,
    readers,
    reading,
    script,
    target_variables,
)

SQL_PATH = files("pipelines.bench") / "single_pass.sql"
TARGET_KEYS = ("origins", "origin_exclude", "destinations", "destination_exclude", "window_start", "window_end")


def xlsx_to_csv(source: Path, target: Path, sheet: str = XLSX_SHEET) -> None:
    """One worksheet to UTF-8 CSV with fastexcel: every cell as text."""
    import fastexcel
    import pyarrow.csv

    table = fastexcel.read_excel(str(source)).load_sheet_by_name(sheet, dtypes="string").to_arrow()
    pyarrow.csv.write_csv(table, str(target))


def matching(root: Path, patterns: list[str]) -> list[str]:
    """The globs (under ``root``, absolute) that match at least one file: DuckDB refuses one that matches none."""
    return [str(root / p) for p in patterns if any(path.is_file() for path in root.glob(p))]


def sources(landing: Path, converted: dict[str, Path], day: str = "*") -> dict[str, list[str]]:
    """Reading part -> its globs, for the parts that have files (sales: the folders of ``day``).

    ``converted``: reading part -> the folder its catalogues were converted to (as UTF-8 CSV).
    """
    found = {part: matching(landing, filled(p)) for part, p in CATALOGUE_PARTS.items()}
    found |= {part: matching(folder, ["catalogues/*/*.csv"]) for part, folder in converted.items()}
    found |= {part: matching(landing, filled(p)) for part, p in RATE_PARTS.items()}
    found |= {part: matching(landing, filled(p, day=day)) for part, p in EVENT_PARTS.items()}
    return {part: globs for part, globs in found.items() if globs}


def statement(found: dict[str, list[str]]) -> str:
    """The single statement, with the reading parts that have files (each reading ``$<part>``)."""
    parts = readers()
    sql = script(SQL_PATH, parts)["statement"]
    for token, prefix in (("{catalogue_rows}", "catalogue_"), ("{rate_rows}", "rates_"), ("{event_rows}", "events_")):
        chosen = [reading(parts, part, f"${part}") for part in found if part.startswith(prefix)]
        if not chosen:
            raise SystemExit(f"single pass: no landed files for {prefix}* under the landing root")
        sql = sql.replace(token, "\nUNION ALL\n".join(f"SELECT * FROM ({s})" for s in chosen))
    return sql


def run(landing: Path, scratch: Path, target: dict[str, Any], day: str | None = None, lookback: int = 7) -> dict:
    """Convert what DuckDB cannot read, run the statement; seconds, totals and the target's days."""
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    converted = {CP1252_PART: scratch / "cp1252", XLSX_PART: scratch / "xlsx"}
    for part, pattern, conversion in ((CP1252_PART, CP1252_GLOB, cp1252_to_utf8), (XLSX_PART, XLSX_GLOB, xlsx_to_csv)):
        t0 = time.perf_counter()
        shutil.rmtree(converted[part], ignore_errors=True)
        convert(landing, converted[part], pattern.format(name="*"), conversion)
        seconds[f"convert {part}"] = round(time.perf_counter() - t0, 3)
    found = sources(landing, converted, day or "*")
    params: dict[str, Any] = {**found, "lookback": lookback, **{k: target[k] for k in TARGET_KEYS}}
    config = {**connection_config(), "temp_directory": str(scratch / "tmp")}
    t0 = time.perf_counter()
    with duckdb.connect(config=config) as con:
        con.execute("SET TimeZone = 'UTC'")  # a TIMESTAMPTZ cast to DATE is then the UTC date
        rows = con.execute(statement(found), params).fetchall()
    seconds["statement"] = round(time.perf_counter() - t0, 3)
    *rows, (_, _, _, _, events_kept) = rows
    tracked = [(d, net, cum) for d, net, cum, *_ in rows if net is not None]
    return {
        "mode": "day" if day else "all",
        "day": day,
        "seconds": round(time.perf_counter() - started, 3),
        "steps": seconds,
        "rows": {"events_kept": int(events_kept)},
        "totals": {
            "target_cents": int(sum(net for _, net, _ in tracked)),
            "target_days": len(tracked),
            "last_day": tracked[-1][0].isoformat() if tracked else None,
            "cumulative_cents": int(tracked[-1][2]) if tracked else 0,
            "all_cents": int(sum(r[3] for r in rows)),
            "moves": int(sum(r[4] for r in rows)),
        },
        "daily": [[d.isoformat(), int(net), int(cum)] for d, net, cum in tracked],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.bench.single_pass", description=__doc__)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--targets", type=Path, required=True, help="targets YAML (the tracked target)")
    parser.add_argument("--target-id", default="uk_goods_to_cn")
    parser.add_argument("--day", help="only this day's sales folders (YYYY-MM-DD)")
    parser.add_argument("--lookback", type=int, default=7)
    parser.add_argument("--scratch", type=Path, required=True, help="converted catalogues and DuckDB's spill files")
    parser.add_argument("--out", type=Path, required=True, help="result JSON")
    args = parser.parse_args(argv)
    target = target_variables(args.targets, args.target_id)
    result = run(args.landing.resolve(), args.scratch.resolve(), target, args.day, args.lookback)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
