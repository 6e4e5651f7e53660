"""OpenLineage datasets of each pipeline step: which files and tables it read and wrote.

Names follow OpenLineage's naming spec: a landed or published file is namespace ``file``, name
its absolute path (``openlineage.client.naming.dataset.LocalFileSystem``); a warehouse table is
namespace ``duckdb://<absolute path of the DuckDB file>``, name ``<catalog>.<schema>.<table>``
(the convention of OpenLineage's dbt integration for DuckDB). The tables a step touches are
declared here once; the marts' inputs and outputs are read from their model files in ``sql/marts``
by OpenLineage's SQL parser, so a new mart appears in lineage by itself. Column lineage is
declared where it is cheap and matters: the path of the money, from the facts to the headline.

No Airflow here: ``pipelines.lineage_extractor`` hands :func:`take` to the OpenLineage provider,
and the DAGs' ``call`` reports each step with :func:`remember` (one task per process, as the
provider's own hook-lineage collector assumes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import DatasetFacet, column_lineage_dataset
from openlineage.client.naming.dataset import LocalFileSystem

from pipelines.quality.suites import FEEDS, asset, suites_for
from pipelines.settings import Settings, get_settings
from pipelines.snapshot import CURRENT

LEDGER = ("audit.load_ledger", "audit.load_ledger_amounts", "audit.quarantine")
GATE_OUTPUTS = ("audit.dq_results", "audit.dq_gate_runs")
PENDING = ("raw.pending_sales_events", "core.fx_rate", "core.dim_product", "core.fct_sales_event_held")

# What each feed's load reads (besides its landed files) and writes (besides the ledger).
FEED_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "reference": ((), ("core.dim_country", "core.dim_currency", "core.dim_hs_code", "core.dim_hs_section")),
    "suppliers": (("core.dim_country",), ("raw.suppliers", "core.dim_supplier")),
    "fx": (("core.dim_currency",), ("raw.fx_rates", "core.fx_rate")),
    "catalogues": (
        ("core.dim_supplier", "core.dim_hs_code", "core.dim_country", "core.dim_currency"),
        ("raw.catalogue_items", "core.dim_product", "core.fct_sales_event"),  # facts re-pointed to new versions
    ),
    "sales": (
        ("core.fx_rate", "core.dim_product", "core.dim_country", "raw.pending_sales_events"),
        ("raw.sales_events", "raw.pending_sales_events", "core.fct_sales_event", "core.fct_sales_event_held"),
    ),
}

# The base aggregates (sql/marts/aggregate.sql, MERGE statements the parser does not read).
AGGREGATE = (
    ("core.fct_sales_event", "core.dim_target"),
    ("marts.agg_target_daily", "marts.agg_target_monthly", "marts.agg_all_goods_monthly"),
)

# Column lineage of the money: output table -> column -> (input table, columns, how).
COLUMN_LINEAGE: dict[str, dict[str, tuple[str, tuple[str, ...], str]]] = {
    "core.fct_sales_event": {
        "eur_amount": ("raw.sales_events", ("amount", "currency", "event_date"), "amount at the ECB rate, half-even"),
    },
    "marts.agg_target_daily": {
        "net_eur": ("core.fct_sales_event", ("eur_amount",), "sum per target and day"),
        "gross_eur": ("core.fct_sales_event", ("eur_amount", "event_type"), "sum of orders per target and day"),
    },
    "marts.export_progress_daily": {
        "net_eur": ("marts.agg_target_daily", ("net_eur",), "the day's net"),
        "cumulative_net_eur": ("marts.agg_target_daily", ("net_eur",), "running sum of the daily net"),
    },
}


@dataclass(frozen=True)
class StepLineage:
    """What one step read and wrote, as OpenLineage datasets."""

    step: str
    inputs: tuple[Dataset, ...]
    outputs: tuple[Dataset, ...]


def file_dataset(path: Path | str) -> Dataset:
    """A local file: namespace ``file``, name its absolute path."""
    naming = LocalFileSystem(path=Path(path).absolute().as_posix())
    return Dataset(namespace=naming.get_namespace(), name=naming.get_name())


def table_namespace(warehouse: Path) -> str:
    return f"duckdb://{warehouse.absolute().as_posix()}"


def table_dataset(warehouse: Path, table: str, facets: Mapping[str, DatasetFacet] | None = None) -> Dataset:
    """A warehouse table ``schema.table``: namespace ``duckdb://<file>``, name ``<catalog>.<schema>.<table>``."""
    return Dataset(namespace=table_namespace(warehouse), name=f"{warehouse.stem}.{table}", facets=dict(facets or {}))


def column_lineage(warehouse: Path, table: str) -> dict[str, DatasetFacet]:
    """The declared column lineage of ``table`` as a ``columnLineage`` facet (none when not declared)."""
    columns = COLUMN_LINEAGE.get(table)
    if not columns:
        return {}
    namespace = table_namespace(warehouse)
    fields = {
        column: column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(namespace=namespace, name=f"{warehouse.stem}.{source}", field=field)
                for field in source_columns
            ],
            transformationDescription=how,
            transformationType="AGGREGATION" if "sum" in how else "TRANSFORMATION",
        )
        for column, (source, source_columns, how) in columns.items()
    }
    return {"columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)}


@cache
def mart_models(marts_dir: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Tables the mart model files read and the marts they create (OpenLineage's SQL parser)."""
    import openlineage_sql

    inputs: set[str] = set(AGGREGATE[0])
    outputs: set[str] = set(AGGREGATE[1])
    for path in sorted(marts_dir.glob("*.sql")):
        if path.name.startswith("V"):
            continue  # migrations: the tables' definitions, not the build
        parsed = openlineage_sql.parse([path.read_text(encoding="utf-8")], dialect="duckdb")
        outputs |= {f"{t.schema}.{t.name}" for t in parsed.out_tables if t.schema}
        inputs |= {f"{t.schema}.{t.name}" for t in parsed.in_tables if t.schema}
    return tuple(sorted(inputs - outputs)), tuple(sorted(outputs))


def step_tables(step: str, args: Sequence[Any], settings: Settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tables ``pipelines.runner.<step>(*args)`` reads and writes."""
    if step == "ingest_feed":
        reads, writes = FEED_TABLES[args[0]]
        return reads, (*writes, *LEDGER)
    if step == "resolve_pending":
        return PENDING, ("raw.pending_sales_events", "core.fct_sales_event", "core.fct_sales_event_held", *LEDGER)
    if step == "quality_gate":
        return _gated(args[0]), GATE_OUTPUTS
    if step == "gate_pending":
        return tuple(sorted({t for stage in FEEDS for t in _gated(stage)})), GATE_OUTPUTS
    if step == "refresh_marts":
        return mart_models(settings.sql_dir / "marts")
    if step == "publish_snapshot":
        return mart_models(settings.sql_dir / "marts")[1], ()
    if step in ("pending_units", "feeds_pending_gates"):
        return ("audit.load_ledger",), ()
    if step == "send_due_alerts":
        return ("audit.load_ledger", "marts.export_progress_latest", "core.fct_sales_event"), ("audit.alerts_sent",)
    return (), ()


def _gated(stage: str) -> tuple[str, ...]:
    """The tables a stage's suites validate."""
    return tuple(sorted({asset(suite.asset).table for suite in suites_for(stage)}))


def step_lineage(step: str, args: Sequence[Any], result: Any, settings: Settings | None = None) -> StepLineage:
    """Inputs and outputs of one step that ran with ``args`` and returned ``result`` (its XCom value)."""
    settings = settings or get_settings()
    warehouse = settings.warehouse_path
    reads, writes = step_tables(step, args, settings)
    inputs = [table_dataset(warehouse, t) for t in reads]
    outputs = [table_dataset(warehouse, t, column_lineage(warehouse, t)) for t in writes]
    if step == "ingest_feed":
        root = settings.reference_dir if args[0] == "reference" else settings.landing_dir
        inputs = [*(file_dataset(root / p) for p in _paths(result)), *inputs]
    elif step == "publish_snapshot" and isinstance(result, str):
        outputs.append(file_dataset(result))
    elif step == "write_reports" and isinstance(result, Mapping):
        inputs.append(file_dataset(settings.snapshot_dir / CURRENT))
        outputs.extend(file_dataset(p) for p in result.values() if isinstance(p, str))
    return StepLineage(step, tuple(inputs), tuple(outputs))


def _paths(result: Any) -> list[str]:
    paths = result.get("paths") if isinstance(result, Mapping) else getattr(result, "paths", None)
    return [str(p) for p in paths or ()]


_last: StepLineage | None = None


def remember(step: str, args: Sequence[Any], result: Any) -> None:
    """Record the lineage of the step this task process just ran (read back by :func:`take`)."""
    global _last
    _last = step_lineage(step, args, result)


def take() -> StepLineage | None:
    """The lineage :func:`remember` recorded in this process, once."""
    global _last
    recorded, _last = _last, None
    return recorded
