"""OpenLineage datasets of the pipeline steps (pipelines/lineage.py), without Airflow."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines import lineage
from pipelines.marts import build_marts
from pipelines.settings import Settings


def pairs(datasets: tuple) -> set[tuple[str, str]]:
    return {(d.namespace, d.name) for d in datasets}


def test_files_and_tables_follow_the_openlineage_naming(tmp_path: Path) -> None:
    landed = tmp_path / "landing" / "fx" / "eurofxref-hist.csv"
    assert pairs((lineage.file_dataset(landed),)) == {("file", landed.as_posix())}
    table = lineage.table_dataset(tmp_path / "warehouse.duckdb", "core.fx_rate")
    assert (table.namespace, table.name) == (f"duckdb://{tmp_path}/warehouse.duckdb", "warehouse.core.fx_rate")


def test_a_load_names_its_landed_files_and_the_tables_it_writes(settings: Settings) -> None:
    result = {"feed": "sales", "files": 2, "paths": ["sales/tmall_global/2019-11-11/a.csv", "sales/x/b.json"]}
    step = lineage.step_lineage("ingest_feed", ["sales", ["tmall_global"]], result, settings)
    db = f"duckdb://{settings.warehouse_path}"
    assert pairs(step.inputs) == {
        ("file", str(settings.landing_dir / "sales/tmall_global/2019-11-11/a.csv")),
        ("file", str(settings.landing_dir / "sales/x/b.json")),
        *((db, f"warehouse.{t}") for t in ("core.fx_rate", "core.dim_product", "core.dim_country")),
        (db, "warehouse.raw.pending_sales_events"),
    }
    assert {name for _, name in pairs(step.outputs)} == {
        f"warehouse.{t}"
        for t in (
            "raw.sales_events",
            "raw.pending_sales_events",
            "core.fct_sales_event",
            "core.fct_sales_event_held",
            "audit.load_ledger",
            "audit.load_ledger_amounts",
            "audit.quarantine",
        )
    }
    facts = next(d for d in step.outputs if d.name == "warehouse.core.fct_sales_event")
    fields = facts.facets["columnLineage"].fields["eur_amount"].inputFields
    assert [(f.name, f.field) for f in fields] == [
        ("warehouse.raw.sales_events", "amount"),
        ("warehouse.raw.sales_events", "currency"),
        ("warehouse.raw.sales_events", "event_date"),
    ]


def test_the_marts_lineage_covers_every_mart_the_build_creates(
    settings: Settings, con: duckdb.DuckDBPyConnection
) -> None:
    """Outputs parsed from sql/marts equal what a build leaves in the marts schema."""
    build_marts(con, settings)
    built = {
        f"marts.{name}"
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
        ).fetchall()
    }
    reads, writes = lineage.step_tables("refresh_marts", [], settings)
    assert set(writes) == built
    assert {"core.fct_sales_event", "core.dim_target"} <= set(reads)
    assert not set(reads) & set(writes)


def test_gates_read_their_stage_tables(settings: Settings) -> None:
    reads, writes = lineage.step_tables("quality_gate", ["marts"], settings)
    assert set(reads) == {"marts.export_progress_daily", "marts.export_breakdown_monthly"}
    assert writes == ("audit.dq_results", "audit.dq_gate_runs")
    assert "core.fct_sales_event" in lineage.step_tables("quality_gate", ["core"], settings)[0]


def test_published_files_are_outputs(settings: Settings, tmp_path: Path) -> None:
    report = tmp_path / "reports" / "export_tracking.html"
    step = lineage.step_lineage("write_reports", [], {"report": str(report)}, settings)
    assert pairs(step.inputs) == {("file", str(settings.snapshot_dir / "current.duckdb"))}
    assert pairs(step.outputs) == {("file", str(report))}
    snapshot = lineage.step_lineage("publish_snapshot", [], str(tmp_path / "s.duckdb"), settings)
    assert ("file", str(tmp_path / "s.duckdb")) in pairs(snapshot.outputs)


def test_remembered_lineage_is_taken_once(settings: Settings) -> None:
    lineage.remember("pending_units", ["sales"], ["tmall_global"])
    taken = lineage.take()
    assert taken is not None and taken.step == "pending_units"
    assert {name for _, name in pairs(taken.inputs)} == {"warehouse.audit.load_ledger"}
    assert lineage.take() is None


@pytest.mark.parametrize("step", ["nothing_new", "retract"])
def test_steps_without_declared_lineage_have_none(settings: Settings, step: str) -> None:
    assert lineage.step_lineage(step, [], None, settings) == lineage.StepLineage(step, (), ())
