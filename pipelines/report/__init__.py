"""The export-tracking report: one self-contained HTML file (inline CSS and SVG, no network).

``write_report(settings)`` reads the published snapshot read-only (never the warehouse, so it
never waits for or blocks the writer) and writes ``reports/export_tracking.html`` plus the
headline chart as ``reports/<target_id>_progress.svg`` and ``.png`` (for e-mail clients that show
no SVG), and the finance workbook ``reports/export_tracking.xlsx`` (:mod:`pipelines.report.workbook`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipelines.report.data import report_data
from pipelines.report.format import FILTERS
from pipelines.report.png import progress_png
from pipelines.report.workbook import WORKBOOK, write_workbook
from pipelines.settings import Settings
from pipelines.snapshot import current_snapshot

__all__ = ["REPORT", "WORKBOOK", "render", "report_data", "write_report"]

REPORT = "export_tracking.html"
TEMPLATES = "templates"  # package data of pipelines.report, read through importlib


def render(data: dict[str, Any], *, snapshot: str, quality_link: str | None, generated: datetime) -> str:
    """The report's HTML for ``report_data`` output."""
    env = Environment(
        loader=PackageLoader("pipelines.report", TEMPLATES),
        autoescape=select_autoescape(["j2", "html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env.get_template("report.html.j2").render(
        **data, snapshot=snapshot, quality_link=quality_link, generated=generated
    )


def write_report(settings: Settings) -> Path:
    """Write the report, the headline SVG and PNG and the workbook from the published snapshot;
    return the HTML path."""
    snapshot = current_snapshot(settings)
    out = settings.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    generated = datetime.now(UTC)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        data = report_data(con, generated.date(), settings.stale_days)
        write_workbook(con, out / WORKBOOK, snapshot=snapshot.name, generated=generated)
        if data["targets"]:
            write_png(con, data["targets"][0], out)
    docs = settings.gx_output_dir / "data_docs" / "index.html"
    link = Path(os.path.relpath(docs, out)).as_posix() if docs.exists() else None
    html = render(data, snapshot=snapshot.name, quality_link=link, generated=generated)
    path = out / REPORT
    tmp = out / f".{REPORT}.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)  # a reader of the report never sees half a file
    if data["targets"]:
        headline = data["targets"][0]
        svg = out / f"{headline['target_id']}_progress.svg"
        svg.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + headline["chart"], encoding="utf-8")
    return path


def write_png(con: duckdb.DuckDBPyConnection, t: dict[str, Any], out: Path) -> Path:
    """The headline chart of target ``t`` as ``<target_id>_progress.png`` beside the SVG."""
    series = con.execute(
        "SELECT date, cumulative_net_eur FROM marts.export_progress_daily WHERE target_id = ? ORDER BY date",
        [t["target_id"]],
    ).fetchall()
    return progress_png(
        series,
        out / f"{t['target_id']}_progress.png",
        start=t["window_start"],
        stretch=t["stretch_deadline"],
        final=t["final_deadline"],
        amount=t["target_eur"],
        projected=t["projected_completion_date"],
        title=f"{t['name']}: cumulative net sales against the target",
        as_of=t["date"],
        reached_on=t.get("reached_on"),
        fan=t["forecast"]["fan"] if t.get("forecast") else None,
    )
