"""The real DAGs, run with ``dag.test()`` over a small generated sample, end to end.

One module-scoped pipeline run (the four DAGs in order, as ``make demo`` runs them); the tests
then check what it did: every task ran, the feeds fanned out per supplier and channel, the
settings came from an Airflow Variable, the assets carry the loaded counts and queue the build,
the marts equal an independent SQL computation, and a re-run or backfill changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
import yaml

from pipelines.airflow_setup import DAG_ORDER, load_dags, run_dag
from pipelines.generate import generate
from pipelines.settings import Settings, reset_settings

pytestmark = pytest.mark.e2e

START, END = date(2019, 10, 1), date(2019, 12, 31)  # includes 11.11
CHANNELS = ["jd_worldwide", "own_webshop", "tmall_global"]
XBORDER_ENV = (
    "XBORDER_HOME",
    "XBORDER_LANDING",
    "XBORDER_WAREHOUSE",
    "XBORDER_TARGETS_FILE",
    "XBORDER_LOCK_TIMEOUT_S",
    "XBORDER_THREADS",
    "XBORDER_MEMORY_LIMIT",
)


@pytest.fixture(scope="module")
def pipeline(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """Generate a sample, then run fx_rates, supplier_catalogues, sales_events, warehouse_build."""
    from airflow.models.variable import Variable

    home = tmp_path_factory.mktemp("xborder") / "home"
    decoy = tmp_path_factory.mktemp("decoy")
    generate(home / "landing", order_lines=8_000, seed=11, start=START, end=END)
    with pytest.MonkeyPatch.context() as mp:
        for name in XBORDER_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("XBORDER_HOME", str(decoy))  # the Airflow Variable below must win over it
        mp.setenv("XBORDER_LOCK_TIMEOUT_S", "10")
        Variable.set("xborder_home", str(home))
        reset_settings()
        try:
            dags = load_dags()
            runs = {dag_id: run_dag(dags[dag_id]) for dag_id in DAG_ORDER}
            yield SimpleNamespace(home=home, decoy=decoy, dags=dags, runs=runs, settings=Settings(home=home))
        finally:
            Variable.delete("xborder_home")
            reset_settings()


def read(pipeline: SimpleNamespace) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(pipeline.settings.warehouse_path), read_only=True)


def test_every_task_ran_and_the_feeds_fanned_out(pipeline: SimpleNamespace) -> None:
    for dag_id, run in pipeline.runs.items():
        assert run.state == "success", dag_id
        assert {s for states in run.states().values() for s in states} == {"success"}, (dag_id, run.states())
    suppliers = sorted(p.name for p in (pipeline.home / "landing" / "catalogues").iterdir())
    catalogue_tasks = [
        t["label"] for t in pipeline.runs["supplier_catalogues"].tasks if t["task_id"] == "load_catalogue"
    ]
    assert sorted(catalogue_tasks) == suppliers and len(suppliers) == 44  # one mapped task per supplier
    channel_tasks = [t["label"] for t in pipeline.runs["sales_events"].tasks if t["task_id"] == "load_channel"]
    assert sorted(channel_tasks) == CHANNELS  # one mapped task per channel


def test_settings_came_from_the_airflow_variable(pipeline: SimpleNamespace) -> None:
    assert pipeline.settings.warehouse_path.exists()
    assert not (pipeline.decoy / "warehouse.duckdb").exists()
    assert (pipeline.home / "snapshot" / "current.duckdb").exists()


def test_task_results_balance_with_the_ledger(pipeline: SimpleNamespace) -> None:
    with read(pipeline) as con:
        ledger = {
            feed: (files, loaded, quarantined, duplicate)
            for feed, files, loaded, quarantined, duplicate in con.execute(
                """SELECT feed, count(*), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate)
                   FROM audit.load_ledger GROUP BY feed"""
            ).fetchall()
        }
        (net_eur,) = con.execute("SELECT sum(eur_amount) FROM core.fct_sales_event").fetchone()
    gates = {
        "fx": pipeline.runs["fx_rates"].results("quality_fx")[0]["loaded"],
        "catalogues": pipeline.runs["supplier_catalogues"].results("quality_catalogues")[0]["loaded"],
        "sales": pipeline.runs["sales_events"].results("quality_sales")[0]["loaded"],
    }
    suppliers = pipeline.runs["supplier_catalogues"].results("load_suppliers")[0]
    for feed, loaded in gates.items():
        files, rows, quarantined, duplicate = ledger[feed]
        if feed == "catalogues":  # the gate adds up the supplier master and the catalogue loads
            files, rows = files + suppliers["files"], rows + suppliers["rows_loaded"]
            quarantined, duplicate = (
                quarantined + suppliers["rows_quarantined"],
                duplicate + suppliers["rows_duplicate"],
            )
        assert (loaded["files"], loaded["rows_loaded"]) == (files, rows), feed
        assert (loaded["rows_quarantined"], loaded["rows_duplicate"]) == (quarantined, duplicate), feed
        assert loaded["files"] > 0 and loaded["rows_loaded"] > 0, feed
    assert Decimal(gates["sales"]["eur_loaded"]) == net_eur > 0


def test_feed_assets_carry_the_counts_and_queue_the_build(pipeline: SimpleNamespace) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    run_ids = [run.run_id for run in pipeline.runs.values()]
    with create_session() as session:
        events = session.execute(
            select(AssetModel.name, AssetEvent.source_task_id, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_run_id.in_(run_ids))
        ).all()
        queued = set(session.scalars(select(AssetDagRunQueue.target_dag_id)))
    by_asset = {name: (task, extra) for name, task, extra in events}
    sales_gate = pipeline.runs["sales_events"].results("quality_sales")[0]["loaded"]
    assert by_asset["xborder_sales_events"] == (
        "quality_sales",
        {**sales_gate, "feed": "sales", "quality_gate": "passed", "run_type": "manual"},
    )
    assert by_asset["xborder_fx_rates"][0] == "quality_fx"
    assert by_asset["xborder_product_catalogue"][0] == "quality_catalogues"
    assert by_asset["xborder_marts"][1]["export_progress_daily_rows"] > 0
    assert by_asset["xborder_snapshot"][1]["path"].startswith(str(pipeline.home / "snapshot"))
    assert "warehouse_build" in queued  # the scheduler would start the build from these events


def independent_daily(con: duckdb.DuckDBPyConnection, target: dict, last: date) -> list[tuple]:
    """Net and cumulative EUR per day of one target, straight from the fact table (not the marts code)."""

    def codes(key: str) -> list[str]:  # `all` or empty: every country
        value = target.get(key) or []
        return [] if value == "all" else value

    origins, destinations = codes("origin_countries"), codes("destination_countries")
    return con.execute(
        """WITH days AS (SELECT unnest(range(?::DATE, ?::DATE + 1, INTERVAL 1 DAY))::DATE AS date),
                events AS (SELECT event_date AS date, eur_amount FROM core.fct_sales_event
                           WHERE (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], country_of_origin))
                             AND NOT list_contains(?::VARCHAR[], country_of_origin)
                             AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], ship_to_country))
                             AND NOT list_contains(?::VARCHAR[], ship_to_country)
                             AND event_date BETWEEN ? AND ?)
           SELECT d.date, coalesce(sum(e.eur_amount), 0) AS net,
                  sum(coalesce(sum(e.eur_amount), 0)) OVER (ORDER BY d.date) AS cumulative
           FROM days d LEFT JOIN events e USING (date) GROUP BY d.date ORDER BY d.date""",
        [
            target["window_start"],
            last,
            origins,
            origins,
            codes("origin_exclude"),
            destinations,
            destinations,
            codes("destination_exclude"),
            target["window_start"],
            target["window_end"],
        ],
    ).fetchall()


def test_marts_equal_an_independent_sql_computation(pipeline: SimpleNamespace) -> None:
    targets = yaml.safe_load((pipeline.home / "targets.sample.yml").read_text(encoding="utf-8"))["targets"]
    assert {t["id"] for t in targets} >= {"uk_goods_to_cn"}
    with read(pipeline) as con:
        (last_event,) = con.execute("SELECT max(event_date) FROM core.fct_sales_event").fetchone()
        for target in targets:
            mart = con.execute(
                """SELECT date, net_eur, cumulative_net_eur, target_eur FROM marts.export_progress_daily
                   WHERE target_id = ? ORDER BY date""",
                [target["id"]],
            ).fetchall()
            expected = independent_daily(con, target, min(last_event, target["window_end"]))
            assert [(d, n, c) for d, n, c, _ in mart] == expected, target["id"]
            amount = target.get("amount")
            assert {m[3] for m in mart} == {None if amount is None else Decimal(str(amount))}
        (headline,) = con.execute(
            "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = 'uk_goods_to_cn'"
        ).fetchone()
    assert headline > 0


def test_warehouse_equals_plain_sql_over_the_landed_files(pipeline: SimpleNamespace) -> None:
    """Independent of the whole pipeline: the reference script reads the landing zone itself."""
    settings = pipeline.settings
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        con.execute("SET VARIABLE landing = ?", [str(settings.landing_dir)])
        con.execute("SET VARIABLE lookback = ?", [settings.fx_lookback_days])
        con.execute((settings.sql_dir / "reference" / "net_eur_by_day.sql").read_text(encoding="utf-8"))
        (expected,) = con.execute(
            "SELECT sum(net_eur) FROM reference_daily WHERE origin = 'GB' AND ship_to = 'CN'"
        ).fetchone()
        (headline,) = con.execute(
            "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = 'uk_goods_to_cn'"
        ).fetchone()
    assert headline == expected > 0


def test_the_snapshot_and_the_report_are_published(pipeline: SimpleNamespace) -> None:
    reports = pipeline.runs["warehouse_build"].results("write_reports")[0]
    assert Path(reports["report"]).is_file()
    snapshot = pipeline.runs["warehouse_build"].results("publish_snapshot")[0]
    assert (pipeline.home / "snapshot" / "current.duckdb").resolve() == Path(snapshot)
    query = "SELECT * FROM marts.export_progress_daily ORDER BY ALL"
    with duckdb.connect(snapshot, read_only=True) as published, read(pipeline) as warehouse:
        assert published.execute(query).fetchall() == warehouse.execute(query).fetchall()


def lineage_events(airflow_home: Path) -> list[dict]:
    """The OpenLineage events the tasks emitted (the file transport the project configures)."""
    path = airflow_home / "lineage" / "openlineage.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def completed(events: list[dict], job: str) -> list[dict]:
    return [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == job]


def names(datasets: list[dict], namespace: str) -> set[str]:
    return {d["name"] for d in datasets if d["namespace"] == namespace}


def test_lineage_events_name_every_file_and_table(pipeline: SimpleNamespace, airflow_home: Path) -> None:
    """Every task emits START and COMPLETE; the loads name their files, the build its tables."""
    events = lineage_events(airflow_home)
    for dag_id, run in pipeline.runs.items():
        for task_id in {t["task_id"] for t in run.tasks}:
            job = [e for e in events if (e["job"]["namespace"], e["job"]["name"]) == ("xborder", f"{dag_id}.{task_id}")]
            assert {"START", "COMPLETE"} <= {e["eventType"] for e in job}, (dag_id, task_id)
            assert all(e["producer"].startswith("https://github.com/apache/airflow") for e in job)
    warehouse = f"duckdb://{pipeline.settings.warehouse_path}"
    landing = pipeline.home / "landing"
    sales_files = {str(p) for p in (landing / "sales").rglob("*") if p.is_file()}
    loads = completed(events, "sales_events.load_channel")
    assert {n for e in loads for n in names(e["inputs"], "file")} == sales_files
    assert all("warehouse.core.fct_sales_event" in names(e["outputs"], warehouse) for e in loads)
    fx = completed(events, "fx_rates.load_fx")
    assert names(fx[0]["inputs"], "file") == {str(p) for p in (landing / "fx").rglob("*") if p.is_file()}
    assert {"warehouse.raw.fx_rates", "warehouse.core.fx_rate"} <= names(fx[0]["outputs"], warehouse)

    marts = completed(events, "warehouse_build.refresh_marts")[0]
    assert {"warehouse.core.fct_sales_event", "warehouse.core.dim_target"} <= names(marts["inputs"], warehouse)
    outputs = {d["name"]: d for d in marts["outputs"]}
    assert {"warehouse.marts.export_progress_daily", "warehouse.marts.export_breakdown_monthly"} <= set(outputs)
    cumulative = outputs["warehouse.marts.export_progress_daily"]["facets"]["columnLineage"]["fields"]
    assert cumulative["cumulative_net_eur"]["inputFields"] == [
        {"namespace": warehouse, "name": "warehouse.marts.agg_target_daily", "field": "net_eur", "transformations": []}
    ]
    snapshot = pipeline.runs["warehouse_build"].results("publish_snapshot")[0]
    published = completed(events, "warehouse_build.publish_snapshot")[0]
    assert names(published["outputs"], "file") == {snapshot}
    gate = completed(events, "warehouse_build.quality_core")[0]
    assert "warehouse.core.fct_sales_event" in names(gate["inputs"], warehouse)
    assert names(gate["outputs"], warehouse) == {"warehouse.audit.dq_results", "warehouse.audit.dq_gate_runs"}


def warehouse_state(settings: Settings) -> dict[str, list]:
    """Every row of every raw, core and mart table, and of the ledger and quarantine."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        tables = [
            f"{schema}.{table}"
            for schema, table in con.execute(
                """SELECT schema_name, table_name FROM duckdb_tables()
                   WHERE schema_name IN ('raw', 'core', 'marts') ORDER BY ALL"""
            ).fetchall()
        ] + ["audit.load_ledger", "audit.load_ledger_amounts", "audit.quarantine"]
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}


def test_rerun_and_backfill_change_nothing(pipeline: SimpleNamespace) -> None:
    """Re-running every DAG, and backfill-style runs for past dates, over the same files."""
    before = warehouse_state(pipeline.settings)
    assert sum(len(rows) for rows in before.values()) > 10_000
    with pytest.MonkeyPatch.context() as mp:
        for name in XBORDER_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("XBORDER_HOME", str(pipeline.home))
        reset_settings()
        again = {dag_id: run_dag(pipeline.dags[dag_id]) for dag_id in DAG_ORDER}
        past = datetime(2019, 11, 11, 10, tzinfo=UTC)
        backfill = [run_dag(pipeline.dags[d], logical_date=past) for d in ("fx_rates", "sales_events")]
    reset_settings()
    assert warehouse_state(pipeline.settings) == before
    assert again["fx_rates"].results("load_fx")[0]["files"] == 0
    assert again["supplier_catalogues"].states()["load_catalogue"] == ["skipped"]  # nothing to map
    assert again["sales_events"].states()["load_channel"] == ["skipped"]
    assert again["sales_events"].results("quality_sales")[0]["loaded"]["files"] == 0
    assert [run.state for run in backfill] == ["success", "success"]
