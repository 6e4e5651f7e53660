"""Build the marts (``sql/marts/*.sql``) from core for every target in the targets file."""

from __future__ import annotations

import time
from typing import Any

import duckdb
import polars as pl

from pipelines.ledger import insert_frame
from pipelines.settings import Settings
from pipelines.targets import load_targets
from pipelines.warehouse import transaction

# Run in this order (a model may read the ones before it).
MODELS = ("export_progress_daily.sql", "export_progress_latest.sql", "export_breakdown_monthly.sql")


def targets_frame(settings: Settings) -> pl.DataFrame:
    """``core.dim_target`` rows from the targets file in force (validated)."""
    return pl.DataFrame(
        [
            {
                "target_id": t.id,
                "name": t.name,
                "amount": t.amount,
                "origin_countries": t.origin_countries,
                "destination_countries": t.destination_countries,
                "window_start": t.window_start,
                "window_end": t.window_end,
                "stretch_deadline": t.deadlines.stretch,
                "final_deadline": t.deadlines.final,
                "scaled_from": t.scaled_from,
                "scale_note": t.scale_note,
            }
            for t in load_targets(settings.targets_path)
        ],
        schema_overrides={
            "amount": pl.Decimal(18, 2),
            "scaled_from": pl.Decimal(18, 2),
            "origin_countries": pl.List(pl.String),
            "destination_countries": pl.List(pl.String),
        },
    )


def build_marts(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Reload the targets and rebuild every mart in one transaction; rows and seconds per mart."""
    started = time.perf_counter()
    result: dict[str, Any] = {"targets_file": str(settings.targets_path)}
    targets = targets_frame(settings)
    with transaction(con):
        con.execute("DELETE FROM core.dim_target")
        insert_frame(con, "core.dim_target", targets)
        for model in MODELS:
            t0 = time.perf_counter()
            con.execute((settings.sql_dir / "marts" / model).read_text(encoding="utf-8"))
            result[model.removesuffix(".sql")] = round(time.perf_counter() - t0, 3)
    for table in ("export_progress_daily", "export_breakdown_monthly"):
        result[f"{table}_rows"] = con.execute(f"SELECT count(*) FROM marts.{table}").fetchone()[0]
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result
