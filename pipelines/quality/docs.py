"""Data Docs that render complete and styled with no network, plus a quarantine summary.

GX's stock pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs,
the logo from S3, and fill the index tables in the browser with bootstrap-table: offline they
are unstyled and the index is empty. The GX package ships only its own fonts, images and a
small stylesheet, and no installed package ships Bootstrap or jQuery. So the project's views
(:class:`OfflinePageView`, :class:`OfflineIndexPageView`, configured in
``great_expectations.yml``) put ``docs_templates/`` in front of GX's templates: the page shell
links nothing remote and inlines ``xborder_docs.css`` (the subset of Bootstrap 4 the pages
use, written for them) and ``xborder_docs.js`` (tabs, collapsible panels, the failed-only
filter); index tables are rendered into the HTML. Beside the index, ``quarantine.html``
summarises ``audit.quarantine`` (rows per reason per file) and the recent gate runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import duckdb
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from pipelines.settings import Settings

log = logging.getLogger(__name__)
TEMPLATES = "docs_templates"  # package data of pipelines.quality, read through importlib
FILE_ROWS = 500  # (file, reason) rows listed on the quarantine page


@dataclass(frozen=True)
class TableRow:
    cells: list[tuple[str, Mapping[str, Any]]]
    href: str | None


def table_rows(
    table_data: Iterable[Mapping[str, Any]], columns: list[Mapping[str, Any]], options: Mapping[str, Any]
) -> list[TableRow]:
    """GX's bootstrap-table rows, sorted as its options say; the run time links to the page."""
    data = list(table_data)
    sort_field = options.get("sortName")
    if sort_field:
        column = next((c for c in columns if c.get("field") == sort_field), {})
        key = column.get("sortName", sort_field)
        descending = options.get("sortOrder") == "desc"
        data.sort(key=lambda row: (row.get(key) is None, row.get(key) or ""), reverse=descending)
    rows = []
    for row in data:
        href = row.get("_table_row_link_path")
        cells = []
        for column in columns:
            value = str(row.get(column["field"], "") or "")
            if href and column["field"] == "run_time":
                value = f'<a href="{escape(href)}">{value}</a>'
            cells.append((value, column))
        rows.append(TableRow(cells, escape(href) if href else None))
    return rows


def _go_offline(env: Environment) -> None:
    assert env.loader is not None  # GX's views load their own templates
    env.loader = ChoiceLoader([PackageLoader("pipelines.quality", TEMPLATES), env.loader])
    env.filters["xb_table_rows"] = table_rows


class OfflinePageView(DefaultJinjaPageView):
    """GX's page view with the project's offline templates first."""

    def __init__(self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        _go_offline(self.env)


class OfflineIndexPageView(DefaultJinjaIndexPageView):
    """GX's index view with the project's offline templates first."""

    def __init__(self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        _go_offline(self.env)


def build_data_docs(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> Path:
    """Build the Data Docs site and the quarantine summary; return the index page.

    ``con`` (the pipeline's connection) is read for the quarantine summary; without it the
    published snapshot is read, or the warehouse when nothing is published yet.
    """
    from pipelines.quality.context import get_context
    from pipelines.quality.validations import store_spooled

    store_spooled(settings)  # the gates' results, spooled without GX
    get_context(settings).build_data_docs()
    index = settings.gx_output_dir / "data_docs" / "index.html"
    write_quarantine_page(index.parent / "quarantine.html", _summary(settings, con))
    return index


@dataclass
class QuarantineSummary:
    source: str
    by_reason: list[dict[str, Any]] = field(default_factory=list)
    by_file: list[dict[str, Any]] = field(default_factory=list)
    files_total: int = 0
    gate_runs: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)  # lines left out by contract rules
    problem: str | None = None


def _summary(settings: Settings, con: duckdb.DuckDBPyConnection | None) -> QuarantineSummary:
    if con is not None:
        return quarantine_summary(con, "the warehouse")
    from pipelines.snapshot import NoSnapshot, current_snapshot

    try:
        path, source = current_snapshot(settings), "the published snapshot"
    except NoSnapshot:
        path, source = settings.warehouse_path, "the warehouse"
    if not path.exists():
        return QuarantineSummary(source, problem=f"no warehouse at {path} yet")
    try:
        with duckdb.connect(str(path), read_only=True) as reader:
            return quarantine_summary(reader, f"{source} ({path.name})")
    except duckdb.Error as exc:
        return QuarantineSummary(source, problem=f"{path} could not be read: {exc}")


def _dicts(relation: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def quarantine_summary(con: duckdb.DuckDBPyConnection, source: str) -> QuarantineSummary:
    """Quarantined rows per feed and reason, per file and reason, and the latest gate runs."""
    summary = QuarantineSummary(source)
    summary.by_reason = _dicts(
        con.execute(
            """SELECT feed, reason, count(*) AS rows, count(DISTINCT path) AS files,
                      count(*) FILTER (WHERE resolved_at IS NULL) AS open
               FROM audit.quarantine GROUP BY feed, reason ORDER BY feed, rows DESC, reason"""
        )
    )
    summary.files_total = con.execute(  # type: ignore[index]  # count(*): one row
        "SELECT count(*) FROM (SELECT DISTINCT path, reason FROM audit.quarantine)"
    ).fetchone()[0]
    summary.by_file = _dicts(
        con.execute(
            """SELECT path, feed, reason, count(*) AS rows, count(*) FILTER (WHERE resolved_at IS NULL) AS open,
                      min(line_number) AS first_line, arg_min(column_name, line_number) AS column_name,
                      arg_min(detail, line_number) AS example, max(quarantined_at) AS last_seen
               FROM audit.quarantine GROUP BY path, feed, reason
               ORDER BY last_seen DESC, rows DESC, path, reason LIMIT ?""",
            [FILE_ROWS],
        )
    )
    try:
        summary.excluded = _dicts(
            con.execute(
                """SELECT feed, source, rule, sum(rows) AS rows, count(DISTINCT path) AS files
                   FROM audit.load_exclusions GROUP BY ALL ORDER BY rows DESC, feed, source, rule"""
            )
        )
    except duckdb.CatalogException:  # a snapshot from before exclude rules existed
        summary.excluded = []
    try:
        summary.gate_runs = _dicts(
            con.execute(
                """SELECT run_id, stage, started_at, round(seconds, 2) AS seconds, passed, expectations,
                          failed_critical, failed_warning, len(batches) AS batches, accepted_at
                   FROM audit.dq_gate_runs ORDER BY started_at DESC LIMIT 30"""
            )
        )
    except duckdb.CatalogException:  # a snapshot from before the quality gates existed
        summary.gate_runs = []
    return summary


def write_quarantine_page(path: Path, summary: QuarantineSummary) -> Path:
    """``quarantine.html``: the same look as the Data Docs, every value escaped (rows come from landed files)."""
    env = Environment(loader=PackageLoader("pipelines.quality", TEMPLATES), autoescape=select_autoescape(default=True))
    html = env.get_template("quarantine.html.j2").render(
        summary=summary,
        file_rows=FILE_ROWS,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        xb_home="./",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
