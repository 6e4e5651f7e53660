"""The project's own Airflow: environment, metadata database and the warehouse pool.

``make demo``, ``make airflow`` and the tests run Airflow from a project-local ``AIRFLOW_HOME``
(default ``./airflow_home``) with the DAGs shipped in the package (``pipelines/dags/``) and no
example DAGs. Airflow reads its configuration when it is first imported, so :func:`configure`
must run before any ``import airflow`` in the process; it refuses if Airflow was already
imported with another home.

``python -m pipelines.airflow_setup`` does the whole set-up: environment, ``airflow db migrate``,
and the pool ``xborder_warehouse`` of one slot that every task opening the warehouse runs in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.errors import UserFacingError
from pipelines.package_files import DAGS

# Package data, not an importable subpackage: Airflow parses the folder as a bundle (on sys.path).
DAGS_FOLDER = DAGS
DEFAULT_AIRFLOW_HOME = Path("airflow_home")  # under the working directory, as XBORDER_HOME's ./data
POOL = "xborder_warehouse"
POOL_SLOTS = 1
POOL_DESCRIPTION = "xborder: one writer at a time on the DuckDB warehouse (one read-write process per file)"
# Feeds first (FX and products value the sales), then the build they trigger, then the alerts.
DAG_ORDER = ("fx_rates", "supplier_catalogues", "sales_events", "warehouse_build", "alerts")


class AirflowSetupError(UserFacingError):
    """Airflow could not be prepared or a DAG did not succeed."""


def environment(airflow_home: Path | str | None = None) -> dict[str, str]:
    """The environment the project's Airflow runs with (all paths absolute).

    ``AIRFLOW_HOME``: the argument, else the environment, else ``./airflow_home`` of the working
    directory. ``XBORDER_HOME`` is made absolute so that tasks find the same data whatever their
    working directory. DAGs start unpaused so that the asset-scheduled ``warehouse_build`` queues
    a run as soon as a feed publishes.
    """
    home = Path(airflow_home or os.environ.get("AIRFLOW_HOME") or DEFAULT_AIRFLOW_HOME).resolve()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "XBORDER_HOME": str(Path(os.environ.get("XBORDER_HOME") or "data").resolve()),
        **lineage_environment(home),
    }


def lineage_environment(airflow_home: Path) -> dict[str, str]:
    """OpenLineage: the xborder extractor, namespace ``xborder``, events to a file unless configured.

    Without a transport of your own (``AIRFLOW__OPENLINEAGE__TRANSPORT``, e.g. HTTP to Marquez)
    every event is appended as one JSON line to ``$AIRFLOW_HOME/lineage/openlineage.jsonl``.
    Emission runs in a thread of the task process, not a fork of it (the task holds DuckDB open).
    """
    events = airflow_home / "lineage" / "openlineage.jsonl"
    events.parent.mkdir(parents=True, exist_ok=True)
    defaults = {
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "xborder",
        "AIRFLOW__OPENLINEAGE__EXTRACTORS": "pipelines.lineage_extractor.XborderTaskExtractor",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
    }
    return {key: os.environ.get(key) or value for key, value in defaults.items()}


def configure(airflow_home: Path | str | None = None) -> dict[str, str]:
    """Export :func:`environment` into this process; must run before Airflow is imported."""
    env = environment(airflow_home)
    if "airflow.configuration" in sys.modules:
        imported_home = sys.modules["airflow.configuration"].AIRFLOW_HOME
        if Path(imported_home).resolve() != Path(env["AIRFLOW_HOME"]):
            raise AirflowSetupError(
                f"Airflow was imported with AIRFLOW_HOME={imported_home} before the project set "
                f"{env['AIRFLOW_HOME']}; set AIRFLOW_HOME before Airflow is imported"
            )
    os.environ.update(env)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


def airflow_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``airflow <args>`` of this interpreter; on failure raise with the end of its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env={**os.environ, **(env or environment())},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise AirflowSetupError(f"`airflow {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
    return proc


def migrate_db(env: dict[str, str] | None = None) -> None:
    """Create or upgrade Airflow's metadata database (``airflow db migrate``; safe to re-run)."""
    airflow_cli("db", "migrate", env=env)


def ensure_pool() -> None:
    """Create (or reset to one slot) the warehouse pool in the configured metadata database."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(POOL, slots=POOL_SLOTS, description=POOL_DESCRIPTION, include_deferred=False)


def pool_slots() -> int | None:
    """Slots of the warehouse pool in the metadata database (None when it does not exist)."""
    from airflow.models.pool import Pool

    pool = Pool.get_pool(POOL)
    return None if pool is None else pool.slots


def setup(airflow_home: Path | str | None = None) -> dict[str, str]:
    """Environment, metadata database and pool: everything Airflow needs to run the DAGs."""
    env = configure(airflow_home)
    migrate_db(env)
    ensure_pool()
    return env


def load_dags() -> dict:
    """The project's DAGs parsed from ``pipelines/dags/`` (after :func:`configure`); import errors raise.

    Parsed as Airflow's DAG processor does (the folder is a bundle on ``sys.path``, so the DAG
    files can import their shared module ``xborder_common``).
    """
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(DAGS_FOLDER), bundle_path=DAGS_FOLDER, bundle_name="dags-folder")
    if bag.import_errors:
        problems = "\n".join(f"{path}: {error}" for path, error in bag.import_errors.items())
        raise AirflowSetupError(f"the DAGs in {DAGS_FOLDER} do not import:\n{problems}")
    return dict(bag.dags)


@dataclass
class DagRunOutcome:
    """What one DAG run did: its state and each task instance's state and return value."""

    dag_id: str
    run_id: str
    state: str
    tasks: list[dict[str, Any]] = field(default_factory=list)

    def results(self, task_id: str) -> list[Any]:
        """Return values of a task (one per mapped instance, in map order)."""
        return [t["result"] for t in self.tasks if t["task_id"] == task_id]

    def states(self) -> dict[str, list[str]]:
        """Task id -> states of its instances."""
        out: dict[str, list[str]] = {}
        for t in self.tasks:
            out.setdefault(t["task_id"], []).append(t["state"])
        return out


def run_dag(dag: Any, *, logical_date: datetime | None = None, check: bool = True) -> DagRunOutcome:
    """Run one DAG for real in this process with ``dag.test()`` (tasks in order, no scheduler).

    With ``check``, a run that did not succeed raises :class:`AirflowSetupError` naming its tasks.
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    # Airflow 3.3's dag.test() cannot finish a successful run of a DAG with deadline alerts (it looks
    # the local DAG's alert definitions up as database ids); no scheduler fires them here anyway.
    deadline, dag.deadline = getattr(dag, "deadline", None), None
    try:
        run = dag.test(logical_date=logical_date) if logical_date else dag.test()
    finally:
        dag.deadline = deadline
        stop_listeners()
    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=dag.dag_id, key="return_value")).all()
        values = {(x.task_id, x.map_index): XComModel.deserialize_value(x) for x in rows}
        tis = sorted(run.get_task_instances(session=session), key=lambda ti: (ti.task_id, ti.map_index))
        outcome = DagRunOutcome(
            dag.dag_id,
            run.run_id,
            _value(run.state),
            [
                {
                    "task_id": ti.task_id,
                    "map_index": ti.map_index,
                    "label": ti.rendered_map_index,
                    "state": _value(ti.state),
                    "try_number": ti.try_number,
                    "result": values.get((ti.task_id, ti.map_index)),
                }
                for ti in tis
            ],
        )
    if check and outcome.state != "success":
        by_state: dict[str, set[str]] = {}
        for t in outcome.tasks:
            by_state.setdefault(t["state"], set()).add(t["task_id"])
        problems = "; ".join(
            f"{state}: {', '.join(sorted(ids))}"
            for state, ids in sorted(by_state.items())
            if state not in {"success", "skipped"}
        )
        raise AirflowSetupError(f"DAG {dag.dag_id} run {run.run_id} ended {outcome.state} ({problems})")
    return outcome


def stop_listeners() -> None:
    """Let Airflow's listeners finish (``before_stopping``), as a scheduler does when it stops.

    OpenLineage emits a ``dag.test()`` run's DAG-level events from its listener's process pool;
    shutting the pool down sends them, and its workers do not outlive a process that ends with
    ``os._exit`` (holding its stdout open). The next event starts a new pool.
    """
    from airflow.listeners.listener import get_listener_manager

    get_listener_manager().hook.before_stopping(component=None)


def _value(state: Any) -> str:
    return str(getattr(state, "value", state))


if __name__ == "__main__":
    done = setup()
    print(f"Airflow ready: AIRFLOW_HOME={done['AIRFLOW_HOME']}, DAGs {DAGS_FOLDER}, pool {POOL} ({POOL_SLOTS} slot)")
