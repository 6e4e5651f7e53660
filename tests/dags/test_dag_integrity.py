"""DAG integrity: the DAGs import cleanly and carry the defaults production relies on.

Parsing only (no metadata database), so these run in seconds. What each DAG *does* is tested
end to end in ``tests/e2e/test_airflow_dags.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from pipelines.airflow_setup import DAG_ORDER, DAGS_FOLDER, POOL, environment, load_dags

# Tasks that open no warehouse file: they may run outside the one-slot pool.
OUTSIDE_POOL = {("warehouse_build", "write_reports")}
FEED_GATES = {
    "fx_rates": ("quality_fx", "xborder_fx_rates"),
    "supplier_catalogues": ("quality_catalogues", "xborder_product_catalogue"),
    "sales_events": ("quality_sales", "xborder_sales_events"),
}


@pytest.fixture(scope="module")
def dags() -> dict:
    return load_dags()


def all_tasks(dags: dict):
    for dag_id, dag in sorted(dags.items()):
        for task in dag.tasks:
            yield dag_id, task


def test_exactly_the_project_dags_import(dags: dict) -> None:
    assert sorted(dags) == sorted(DAG_ORDER)


def test_dag_files_do_only_cheap_work_at_import() -> None:
    """Parsing must not import Polars or DuckDB (Polars breaks in a forked task process)."""
    code = (
        "import sys, json\n"
        "from pipelines.airflow_setup import load_dags\n"
        "dags = load_dags()\n"
        "print(json.dumps({'dags': sorted(dags), 'heavy': sorted(m for m in ('polars', 'duckdb', 'pyarrow') "
        "if m in sys.modules)}))\n"
    )
    env = {**environment(), "PYTHONPATH": str(DAGS_FOLDER.parent)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"dags": sorted(DAG_ORDER), "heavy": []}


def test_no_cycles(dags: dict) -> None:
    for dag in dags.values():
        dag.check_cycle()  # raises AirflowDagCycleException
        assert dag.topological_sort()


def test_dag_defaults(dags: dict) -> None:
    for dag_id, dag in dags.items():
        assert dag.max_active_runs == 1, dag_id
        assert dag.catchup is False, dag_id
        assert "xborder" in dag.tags, dag_id
        assert dag.dagrun_timeout is not None, dag_id
        assert dag.doc_md and dag_id in dag.doc_md, f"{dag_id}: doc_md (shown in the UI) must describe the DAG"


def test_every_task_has_owner_retries_backoff_timeout_and_docs(dags: dict) -> None:
    for dag_id, task in all_tasks(dags):
        where = f"{dag_id}.{task.task_id}"
        assert task.owner == "xborder-data-team", where
        assert task.retries >= 1, where
        assert task.retry_exponential_backoff >= 2, where
        assert task.max_retry_delay is not None, where
        assert timedelta(0) < task.execution_timeout <= timedelta(hours=4), where
        assert task.doc_md, f"{where}: no doc_md"


def test_every_task_that_opens_the_warehouse_is_in_the_one_slot_pool(dags: dict) -> None:
    outside = {(dag_id, task.task_id) for dag_id, task in all_tasks(dags) if task.pool != POOL}
    assert outside == OUTSIDE_POOL
    for dag_id, task in all_tasks(dags):
        assert task.pool_slots == 1, f"{dag_id}.{task.task_id}"


def test_schedules(dags: dict) -> None:
    assert dags["fx_rates"].schedule == "@daily"
    assert dags["supplier_catalogues"].schedule == "@daily"
    assert dags["sales_events"].schedule == "@hourly"
    condition = dags["warehouse_build"].timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"  # any feed's new data triggers a build
    assert sorted(a.name for a in condition.objects) == sorted(asset for _, asset in FEED_GATES.values())


def test_each_feed_publishes_its_asset_from_its_quality_gate(dags: dict) -> None:
    for dag_id, (gate, asset) in FEED_GATES.items():
        dag = dags[dag_id]
        producers = {t.task_id: [a.name for a in t.outlets] for t in dag.tasks if t.outlets}
        assert producers == {gate: [asset]}, dag_id
        assert dag.task_dict[gate].trigger_rule in {"all_success", "none_failed"}
        assert not dag.task_dict[gate].downstream_list  # the gate is the last step


def test_feeds_fan_out_by_supplier_and_channel(dags: dict) -> None:
    mapped = {(dag_id, t.task_id) for dag_id, t in all_tasks(dags) if type(t).__name__.endswith("MappedOperator")}
    assert mapped == {("supplier_catalogues", "load_catalogue"), ("sales_events", "load_channel")}
    upstream = dags["sales_events"].task_dict["load_channel"].upstream_task_ids
    assert upstream == {"channels_with_new_files"}
    upstream = dags["supplier_catalogues"].task_dict["load_catalogue"].upstream_task_ids
    assert upstream == {"suppliers_with_new_files"}


def test_build_order(dags: dict) -> None:
    dag = dags["warehouse_build"]
    order = [t.task_id for t in dag.topological_sort()]
    assert order == [
        "feed_gates",
        "refresh_marts",
        "quality_core",
        "quality_marts",
        "publish_snapshot",
        "write_reports",
    ]


def test_reference_dims_and_suppliers_load_before_discovery(dags: dict) -> None:
    cat = dags["supplier_catalogues"].task_dict
    assert cat["load_suppliers"].upstream_task_ids == {"load_reference"}
    assert cat["suppliers_with_new_files"].upstream_task_ids == {"load_suppliers"}
    assert dags["sales_events"].task_dict["channels_with_new_files"].upstream_task_ids == {"load_reference"}
    assert dags["fx_rates"].task_dict["load_fx"].upstream_task_ids == {"load_reference"}


# The helpers the tasks share (pipelines/dags/xborder_common.py), without a running task.


def test_combine_adds_counts_and_money_exactly() -> None:
    from xborder_common import combine

    totals = combine(
        [
            {"files": 2, "rows_read": 5, "rows_loaded": 4, "rows_quarantined": 1, "eur_loaded": "0.10"},
            {"files": 1, "rows_read": 3, "rows_loaded": 3, "rows_duplicate": 0, "eur_loaded": "0.20"},
            {"files": 1, "files_rejected": 1, "eur_loaded": None},
        ]
    )
    assert totals == {
        "files": 4,
        "files_rejected": 1,
        "rows_read": 8,
        "rows_loaded": 7,
        "rows_quarantined": 1,
        "rows_duplicate": 0,
        "eur_loaded": "0.30",
    }
    assert Decimal(totals["eur_loaded"]) == Decimal("0.30")  # not 0.30000000000000004


@pytest.mark.parametrize("run_type", ["scheduled", "backfill"])
def test_a_scheduled_or_backfill_run_without_new_files_publishes_nothing(run_type: str) -> None:
    from airflow.sdk.exceptions import AirflowSkipException
    from xborder_common import publish_feed

    event = SimpleNamespace(extra={})
    with pytest.raises(AirflowSkipException, match="no new sales files"):
        publish_feed("sales", [{"files": 0}, {"files": 0}], event, SimpleNamespace(run_type=run_type))
    assert event.extra == {}


def test_pipeline_errors_fail_at_once_but_a_locked_warehouse_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A data problem cannot be fixed by retrying; a busy warehouse can."""
    import xborder_common
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines import runner
    from pipelines.errors import UserFacingError
    from pipelines.warehouse import WarehouseLocked

    monkeypatch.setattr(xborder_common, "apply_variables", lambda: None)  # no Airflow Variables outside a task

    def locked(**_: object) -> None:
        raise WarehouseLocked("warehouse /x/warehouse.duckdb is locked by another process (waited 30s)")

    def bad_targets(**_: object) -> None:
        raise UserFacingError("targets.yml: target uk_goods_to_cn: window_end is before window_start")

    monkeypatch.setattr(runner, "refresh_marts", locked)
    with pytest.raises(WarehouseLocked, match="locked by another process"):
        xborder_common.call("refresh_marts")
    monkeypatch.setattr(runner, "refresh_marts", bad_targets)
    with pytest.raises(AirflowFailException, match="refresh_marts: targets.yml: target uk_goods_to_cn"):
        xborder_common.call("refresh_marts")


def test_failed_gates_are_mailed_and_a_late_build_hits_its_deadline(dags: dict) -> None:
    """Every task (the quality_* gates and feed_gates among them) e-mails its failure; the build has a deadline."""
    from airflow.sdk import AsyncCallback, DeadlineReference

    from pipelines.alert_mail import deadline_missed, on_task_failure

    gates = {
        (d, t.task_id) for d, t in all_tasks(dags) if t.task_id.startswith("quality_") or t.task_id == "feed_gates"
    }
    assert len(gates) == 6
    for dag_id, task in all_tasks(dags):
        assert list(task.on_failure_callback) == [on_task_failure], f"{dag_id}.{task.task_id}"
    (deadline,) = dags["warehouse_build"].deadline
    assert deadline.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert deadline.interval == timedelta(minutes=120)  # XBORDER_BUILD_DEADLINE_MINUTES unset
    assert deadline.callback == AsyncCallback(deadline_missed, kwargs={"dag_id": "warehouse_build", "minutes": 120.0})
    assert deadline.callback.path == "pipelines.alert_mail.deadline_missed"  # importable by the triggerer
    assert all(not dag.deadline for dag_id, dag in dags.items() if dag_id != "warehouse_build")


def test_the_alerts_dag_runs_hourly_and_after_every_publication(dags: dict) -> None:
    dag = dags["alerts"]
    assert [t.task_id for t in dag.tasks] == ["send_alerts"]
    assert dag.task_dict["send_alerts"].pool == POOL
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert dag.timetable.asset_condition.name == "xborder_snapshot"
    assert (dag.timetable.timetable.expression, str(dag.timetable.timetable.timezone)) == ("0 * * * *", "UTC")
