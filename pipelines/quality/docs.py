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

The index reads per gate run (:class:`XborderSiteIndexBuilder`, :class:`XborderIndexPageRenderer`):
a heading per run with its stage, UTC time, run id and summary, then a row per suite with its
table, the load batches validated and its critical failures and warnings, red and amber.
Validation pages get Rule and Severity columns (GX's meta properties, made to work for
described expectations by :class:`XborderValidationResultsTable`), a status by severity and a
readable title (:class:`XborderValidationResultsPageRenderer`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, cast

import duckdb
from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.render import RenderedBootstrapTableContent, RenderedStringTemplateContent
from great_expectations.render.renderer import SiteIndexPageRenderer, ValidationResultsPageRenderer
from great_expectations.render.renderer.content_block import ValidationResultsTableContentBlockRenderer
from great_expectations.render.renderer.site_builder import DefaultSiteIndexBuilder
from great_expectations.render.util import resource_key_passes_run_name_filter
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from pipelines.quality.suites import SUITES, asset
from pipelines.settings import Settings

log = logging.getLogger(__name__)
TEMPLATES = "docs_templates"  # package data of pipelines.quality, read through importlib
FILE_ROWS = 500  # (file, reason) rows listed on the quarantine page


@dataclass(frozen=True)
class TableRow:
    cells: list[tuple[str, Mapping[str, Any]]]
    href: str | None
    css_class: str = ""  # the row's ``_row_class`` (the index: failed, warned or passed)
    group: str | None = None  # the row's ``_group`` HTML, shown above the first row of each group


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
    group = None
    for row in data:
        href = row.get("_table_row_link_path")
        cells = []
        for column in columns:
            value = str(row.get(column["field"], "") or "")
            if href and column["field"] == "run_time":
                value = f'<a href="{escape(href)}">{value}</a>'
            cells.append((value, column))
        header = row.get("_group")
        link = escape(href) if href else None
        rows.append(TableRow(cells, link, row.get("_row_class", ""), header if header != group else None))
        group = header
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


# ---- the index: per gate run, its stage, tables, load batches and a summary ------------------

_STAGE_OF = {s.name: s.stage for s in SUITES}
_TABLE_OF = {s.name: asset(s.asset).table for s in SUITES}
_ORDER = {s.name: i for i, s in enumerate(SUITES)}
BATCHES_SHOWN = 3  # load batch ids listed in a cell; the rest are counted (all of them in the title)


@dataclass(frozen=True)
class Summary:
    """What a stored validation result says, for the index (counted from its results, by severity)."""

    stage: str
    table: str
    batches: list[str] | None  # the gate's load batches; None: a whole-table stage or not recorded
    evaluated: int
    critical: int  # failed critical expectations (an expectation that raised counts as failed)
    warnings: int  # failed warning expectations

    @property
    def status(self) -> str:
        return "failed" if self.critical else "warned" if self.warnings else "passed"


def summarise(validation: ExpectationSuiteValidationResult) -> Summary:
    """The index's summary of a suite's validation result (``meta.xborder`` is written by the gates' spool)."""
    recorded: dict[str, Any] = dict(cast(Mapping[str, Any], validation.meta.get("xborder") or {}))
    suite = validation.suite_name
    failed = [r for r in validation.results if not r.success]

    def severity(result: Any) -> str:
        value = getattr(result.expectation_config, "severity", None)
        return str(getattr(value, "value", value) or "critical")

    batches = recorded.get("batches")
    return Summary(
        stage=recorded.get("stage") or _STAGE_OF.get(suite, "?"),
        table=recorded.get("table") or _TABLE_OF.get(suite, "?"),
        batches=list(batches) if batches else None,
        evaluated=len(validation.results),
        critical=sum(1 for r in failed if severity(r) != "warning"),
        warnings=sum(1 for r in failed if severity(r) == "warning"),
    )


def utc_text(value: Any) -> str:
    """A run time as ``2026-12-03 08:26:12 UTC`` (GX shows the machine's zone; the pipeline's is UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        return ""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def counted(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def summary_text(critical: int, warnings: int, evaluated: int) -> str:
    if not critical and not warnings:
        return f"all {counted(evaluated, 'expectation', 'expectations')} passed"
    parts = [counted(critical, "critical failure", "critical failures")] if critical else []
    parts += [counted(warnings, "warning", "warnings")] if warnings else []
    return ", ".join(parts)


class XborderSiteIndexBuilder(DefaultSiteIndexBuilder):
    """GX's index builder; each validation link also carries the :class:`Summary` of its result."""

    def _add_validations_to_index_links(self, index_links_dict: Any, site_keys: Any) -> None:
        validations = self.site_section_builders_config.get("validations")
        if not validations:
            return
        name_filter = validations["run_name_filter"]
        keys = [k for k in site_keys if resource_key_passes_run_name_filter(k, name_filter)]  # type: ignore[no-untyped-call]
        keys.sort(key=lambda k: k.run_id.run_time, reverse=True)
        for key in keys[: self.validation_results_limit or None]:
            validation: Any = self.data_context.get_validation_result(
                batch_identifier=key.batch_identifier,
                expectation_suite_name=key.expectation_suite_identifier.name,
                run_id=key.run_id,
                validation_results_store_name=self.source_stores.get("validations"),
            )
            if not isinstance(validation, ExpectationSuiteValidationResult):
                log.warning("validation result not found: %s - skipping", key.to_tuple())
                continue
            self.add_resource_info_to_index_links_dict(  # type: ignore[no-untyped-call]
                index_links_dict=index_links_dict,
                expectation_suite_name=key.expectation_suite_identifier.name,
                section_name="validations",
                batch_identifier=key.batch_identifier,
                run_id=key.run_id,
                validation_success=validation.success,
                run_time=key.run_id.run_time,
                run_name=key.run_id.run_name,
                asset_name=validation.asset_name,
            )
            index_links_dict["validations_links"][-1]["xb_summary"] = summarise(validation)


class XborderIndexPageRenderer(SiteIndexPageRenderer):
    """GX's index page with a readable validation table: grouped by gate run, newest first.

    Each run's heading gives its stage, run id, time (UTC) and summary; each row a suite's table,
    the load batches validated and its critical failures and warnings (no batch spec, no SQL).
    Rows are classed ``xb-row-failed`` (red), ``xb-row-warned`` (amber) or ``xb-row-passed``.
    """

    @classmethod
    def _generate_validation_results_link_table(cls, index_links_dict: Any) -> RenderedBootstrapTableContent:
        links = [d for d in index_links_dict.get("validations_links", []) if "xb_summary" in d]
        runs: dict[str, list[dict[str, Any]]] = {}
        for link in sorted(links, key=lambda d: (d["run_time"], d["run_name"]), reverse=True):  # newest first
            runs.setdefault(link["run_name"], []).append(link)
        table_data = []
        for run_name, run in runs.items():
            run.sort(key=lambda d: _ORDER.get(d["expectation_suite_name"], len(_ORDER)))
            summaries: list[Summary] = [d["xb_summary"] for d in run]
            stage = summaries[0].stage
            critical, warnings = sum(s.critical for s in summaries), sum(s.warnings for s in summaries)
            status = "failed" if critical else "warned" if warnings else "passed"
            header = (
                f'<span class="xb-run-stage">{escape(stage)}</span> gate · '
                f'<span class="xb-run-time">{escape(utc_text(run[0]["run_time"]))}</span> · '
                f'run <code class="xb-run-id">{escape(str(run_name))}</code> · '
                f"{counted(len(run), 'suite', 'suites')} · "
                f'<span class="xb-summary xb-summary-{status}">'
                f"{escape(summary_text(critical, warnings, sum(s.evaluated for s in summaries)))}</span>"
            )
            for link, summary in zip(run, summaries, strict=True):
                table_data.append(
                    {
                        "validation_success": cls._status_icon(summary.status),
                        "run_time": escape(utc_text(link["run_time"])),
                        "stage": escape(summary.stage),
                        "table": f"<code>{escape(summary.table)}</code>",
                        "batches": cls._batches_cell(summary.batches),
                        "summary": f'<span class="xb-summary xb-summary-{summary.status}">'
                        f"{escape(summary_text(summary.critical, summary.warnings, summary.evaluated))}</span>",
                        "expectation_suite_name": f'<a class="ge-index-page-table-expectation-suite-link" '
                        f'href="{escape(link["expectation_suite_filepath"] or "")}">'
                        f"{escape(link['expectation_suite_name'])}</a>",
                        "_table_row_link_path": link["filepath"],
                        "_row_class": f"xb-row-{summary.status}",
                        "_group": f'<tr class="xb-run xb-run-{status}" data-run="{escape(str(run_name))}">'
                        f'<th colspan="7">{header}</th></tr>',
                    }
                )
        columns = [
            {"field": "validation_success", "title": "Status", "align": "center"},
            {"field": "run_time", "title": "Run time (UTC)"},
            {"field": "stage", "title": "Stage"},
            {"field": "table", "title": "Table"},
            {"field": "batches", "title": "Load batches"},
            {"field": "summary", "title": "Summary"},
            {"field": "expectation_suite_name", "title": "Suite"},
        ]
        return RenderedBootstrapTableContent(
            table_columns=columns,
            table_data=table_data,
            table_options={},  # already in order: by run, newest first, suites in pipeline order
            styling={
                "classes": ["col-12", "ge-index-page-table-container"],
                "body": {"classes": ["table-sm", "ge-index-page-validation-results-table", "xb-index-table"]},
            },
        )

    @staticmethod
    def _status_icon(status: str) -> str:
        icon = {
            "failed": ("fa-times text-danger ge-failed-icon", "critical failure"),
            "warned": ("fa-exclamation-triangle text-warning ge-warning-icon", "warnings only"),
            "passed": ("fa-check-circle text-success ge-success-icon", "passed"),
        }[status]
        return f'<i class="fas {icon[0]}" title="{icon[1]}" aria-label="{icon[1]}"></i>'

    @staticmethod
    def _batches_cell(batches: list[str] | None) -> str:
        if not batches:
            return '<span class="text-muted">whole table</span>'
        shown = ", ".join(f"<code>{escape(b)}</code>" for b in batches[:BATCHES_SHOWN])
        more = len(batches) - BATCHES_SHOWN
        title = escape(", ".join(batches))
        return f'<span class="xb-batches" title="{title}">{shown}{f" and {more:,} more" if more > 0 else ""}</span>'


def _without_meta_properties(configuration: ExpectationConfiguration) -> ExpectationConfiguration:
    """The configuration without the ``meta_properties_to_render`` kwarg GX's page renderer adds to it."""
    if "meta_properties_to_render" not in configuration.kwargs:
        return configuration
    stripped = copy.deepcopy(configuration)
    stripped.kwargs.pop("meta_properties_to_render")
    return stripped


class XborderValidationResultsTable(ValidationResultsTableContentBlockRenderer):
    """GX's validation results table, with the Rule and Severity columns working for every expectation.

    GX 1.24 adds the suite's meta properties (``meta.notes`` in the ``meta_properties`` format) to
    each expectation's kwargs, then builds the expectation model to read its description, which
    an expectation with a description (the SQL rules) refuses ("extra fields not permitted"):
    the page is then not rendered. The description is read without that kwarg.
    """

    @classmethod
    def _get_content_block_fn_from_expectation_description(
        cls, expectation_config: ExpectationConfiguration
    ) -> Callable[..., Any] | None:
        return super()._get_content_block_fn_from_expectation_description(_without_meta_properties(expectation_config))

    @classmethod
    def _render_expectation_description(
        cls, configuration: ExpectationConfiguration, runtime_configuration: dict[str, Any], **kwargs: Any
    ) -> list[RenderedStringTemplateContent]:
        return super()._render_expectation_description(
            _without_meta_properties(configuration), runtime_configuration, **kwargs
        )


class XborderValidationResultsPageRenderer(ValidationResultsPageRenderer):
    """GX's validation page; its title: stage, suite, run time (``2026-12-03 08:26:11 UTC``), run id."""

    def _determine_page_title(
        self, run_name: str, run_time: str, data_asset_name: str, expectation_suite_name: str
    ) -> str:
        try:
            when = utc_text(datetime.fromisoformat(run_time.replace("Z", "+00:00")))
        except ValueError:  # GX's "__none__"
            when = run_time
        stage = _STAGE_OF.get(expectation_suite_name)
        return f"{f'{stage} gate / ' if stage else ''}{expectation_suite_name} / {when} / run {run_name}"

    @classmethod
    def _render_validation_header(cls, validation_results: Any) -> Any:
        """GX's overview, its status by severity: "Failed: 1 critical failure" or "Passed with 1 warning" (amber)."""
        header = super()._render_validation_header(validation_results)  # type: ignore[no-untyped-call]
        summary = summarise(validation_results)
        template = header.subheader.string_template
        params = template["params"]
        text = summary_text(summary.critical, summary.warnings, summary.evaluated)
        if summary.status == "warned":
            params["success"] = f"Passed with {text}"
            params["html_success_icon"] = '<i class="fas fa-exclamation-triangle ge-warning-icon" aria-hidden="true">'
            params["html_success_icon"] += "</i>"
        elif summary.status == "failed":
            params["success"] = f"Failed: {text}"
        template["styling"]["params"]["success"] = {"classes": ["xb-summary", f"xb-summary-{summary.status}"]}
        return header


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
