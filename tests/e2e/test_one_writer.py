"""One writer at a time on the warehouse: the Airflow pool, and the file lock behind it.

What is tested and why:

* ``dag.test()`` runs a DAG's tasks one after another in one process and never looks at
  pools, so it cannot show the pool at work. The pool is tested with the scheduler's own
  selection step (``SchedulerJobRunner._executable_task_instances_to_queued``) against the
  serialized DAGs: with warehouse tasks of four DAGs ready at once, it queues exactly one,
  and the next only after that one finished; a task outside the pool is not held back.
* The warehouse lock is what protects the file from writers outside Airflow (``xborder run``,
  a second Airflow). Tested with real processes: two writers started together both succeed,
  one after the other; and a DAG task that finds the file held fails its try with the clear
  ``WarehouseLocked`` message and succeeds on Airflow's retry once the file is free.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.airflow_setup import DAGS_FOLDER, POOL, load_dags
from pipelines.settings import Settings, reset_settings

pytestmark = pytest.mark.e2e

WAREHOUSE_TASKS = [
    ("fx_rates", "load_fx"),
    ("supplier_catalogues", "load_suppliers"),
    ("sales_events", "channels_with_new_files"),
    ("warehouse_build", "refresh_marts"),
]


def test_the_pool_admits_one_warehouse_task_at_a_time(airflow_home: Path) -> None:
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dagbag import DBDagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import update

    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(
        BundleDagBag(str(DAGS_FOLDER), bundle_path=DAGS_FOLDER, bundle_name="dags-folder"), "dags-folder", None
    )
    when = datetime(2031, 1, 1, tzinfo=UTC)
    scheduled = {*WAREHOUSE_TASKS, ("warehouse_build", "write_reports")}
    with create_session() as session:
        runs = []
        for dag_id in sorted({d for d, _ in scheduled}):
            dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
            run = dag.create_dagrun(
                run_id=f"pool_test_{dag_id}",
                logical_date=when,
                data_interval=(when, when),
                run_after=when,
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.TEST,
                state=DagRunState.RUNNING,
                session=session,
            )
            runs.append(run)
            for ti in run.get_task_instances(session=session):
                if (dag_id, ti.task_id) in scheduled:
                    ti.state = TaskInstanceState.SCHEDULED
        session.commit()
        try:
            scheduler = SchedulerJobRunner(job=Job())
            admitted = []
            for _ in range(len(WAREHOUSE_TASKS) + 1):
                queued = scheduler._executable_task_instances_to_queued(max_tis=32, session=session)
                admitted.append(sorted((ti.dag_id, ti.task_id, ti.pool) for ti in queued))
                if queued:  # the tasks ran; their pool slots free up
                    session.execute(
                        update(TaskInstance)
                        .where(TaskInstance.id.in_([ti.id for ti in queued]))
                        .values(state=TaskInstanceState.SUCCESS)
                    )
                session.commit()
            in_pool = [[(d, t) for d, t, pool in batch if pool == POOL] for batch in admitted]
            assert [len(batch) for batch in in_pool] == [1, 1, 1, 1, 0]  # one at a time, then none left
            assert sorted(task for batch in in_pool for task in batch) == sorted(WAREHOUSE_TASKS)
            assert ("warehouse_build", "write_reports", "default_pool") in admitted[0]  # not held by the pool
        finally:
            for run in runs:
                session.delete(run)
            session.commit()


def _write_marts(home: str, start, results) -> None:
    """A writer process: wait for the start signal, then rebuild the marts (opens the warehouse)."""
    from pipelines import runner

    start.wait()
    try:
        runner.refresh_marts(settings=Settings(home=Path(home), lock_timeout_s=60))
        results.put("ok")
    except Exception as exc:  # reported to the test
        results.put(f"{type(exc).__name__}: {exc}")


def test_two_writers_started_together_both_succeed_one_after_the_other(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    writers = [ctx.Process(target=_write_marts, args=(str(home), start, results)) for _ in range(2)]
    for w in writers:
        w.start()
    start.set()
    for w in writers:
        w.join(120)
    assert [results.get(timeout=5) for _ in writers] == ["ok", "ok"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        runs = con.execute(
            "SELECT started_at, finished_at, status FROM audit.runs WHERE command = 'marts' ORDER BY started_at"
        ).fetchall()
    assert [status for *_, status in runs] == ["success", "success"]
    (_, first_end, _), (second_start, _, _) = runs
    assert first_end <= second_start  # the second writer got the file only after the first let go


def _hold_warehouse(path: str, holding, release) -> None:
    """Another process holding the warehouse open read-write until told to let go."""
    con = duckdb.connect(path)
    holding.set()
    release.wait(120)
    con.close()


def test_a_locked_warehouse_fails_the_try_clearly_and_the_retry_succeeds(
    airflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from pipelines.warehouse import bootstrap

    home = tmp_path / "home"
    monkeypatch.setenv("XBORDER_HOME", str(home))
    monkeypatch.setenv("XBORDER_LOCK_TIMEOUT_S", "1")
    reset_settings()
    bootstrap()
    dag = load_dags()["warehouse_build"]
    dag.deadline = None  # Airflow 3.3.2's dag.test() cannot run a DAG with deadline alerts (see run_dag)
    marts = dag.task_dict["refresh_marts"]
    marts.retry_delay, marts.max_retry_delay = timedelta(seconds=1), timedelta(seconds=1)  # keep the test short

    ctx = multiprocessing.get_context("spawn")
    holding, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_warehouse, args=(str(home / "warehouse.duckdb"), holding, release))
    holder.start()
    assert holding.wait(60)
    logical_date = datetime(2032, 2, 2, tzinfo=UTC)

    def release_after_first_failure() -> None:
        """Free the file once Airflow has put the task up for retry (its first try failed)."""
        for _ in range(600):
            with create_session() as session:
                state = session.scalar(
                    select(TaskInstance.state).where(
                        TaskInstance.dag_id == "warehouse_build",
                        TaskInstance.task_id == "refresh_marts",
                        TaskInstance.logical_date == logical_date,
                    )
                )
            if state == "up_for_retry":
                break
            release.wait(0.2)
        release.set()

    watcher = threading.Thread(target=release_after_first_failure)
    watcher.start()
    try:
        run = dag.test(
            logical_date=logical_date, mark_success_pattern="feed_gates|quality_.*|publish_snapshot|write_reports"
        )
    finally:
        release.set()
        watcher.join()
        holder.join(60)
        reset_settings()
    with create_session() as session:
        ti = session.scalar(
            select(TaskInstance).where(
                TaskInstance.dag_id == "warehouse_build",
                TaskInstance.task_id == "refresh_marts",
                TaskInstance.run_id == run.run_id,
            )
        )
        assert (str(run.state), ti.state, ti.try_number) == ("success", "success", 2)
    out, err = capfd.readouterr()
    assert f"warehouse {home / 'warehouse.duckdb'} is locked by another process (waited 1s)" in out + err
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT status FROM audit.runs WHERE command = 'marts'").fetchall() == [("success",)]
