"""The export-tracking report: one self-contained HTML file (inline CSS and SVG, no network).

``write_report(settings)`` reads the published snapshot read-only (never the warehouse, so it
never waits for or blocks the writer) and writes ``reports/export_tracking.html`` plus the
headline chart as ``reports/<target_id>_progress.svg`` for e-mail.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipelines.report.data import report_data
from pipelines.report.format import FILTERS
from pipelines.settings import Settings
from pipelines.snapshot import current_snapshot

__all__ = ["REPORT", "render", "report_data", "write_report"]

REPORT = "export_tracking.html"
TEMPLATES = Path(__file__).parent / "templates"


def render(data: dict[str, Any], *, snapshot: str, quality_link: str | None, generated: datetime) -> str:
    """The report's HTML for ``report_data`` output."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
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
    """Write the report and the headline SVG from the published snapshot; return the HTML path."""
    snapshot = current_snapshot(settings)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        data = report_data(con)
    out = settings.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    docs = settings.gx_output_dir / "data_docs" / "index.html"
    link = Path(os.path.relpath(docs, out)).as_posix() if docs.exists() else None
    html = render(data, snapshot=snapshot.name, quality_link=link, generated=datetime.now(UTC))
    path = out / REPORT
    tmp = out / f".{REPORT}.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)  # a reader of the report never sees half a file
    if data["targets"]:
        headline = data["targets"][0]
        svg = out / f"{headline['target_id']}_progress.svg"
        svg.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + headline["chart"], encoding="utf-8")
    return path
