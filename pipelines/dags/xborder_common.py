"""Shared wiring of the xborder DAGs (a helper module, not a DAG file: see ``.airflowignore``).

The DAGs only orchestrate: every task calls one step of ``pipelines.runner``, the same functions
``xborder run`` calls. Nothing here imports Polars or DuckDB; tasks import the pipeline when they
run (Polars must not be imported before the task process forks).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pendulum
from airflow.sdk import Asset, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from xborder_alerts import ON_FAILURE

from pipelines.airflow_setup import POOL

log = logging.getLogger(__name__)

OWNER = "xborder-data-team"
START_DATE = pendulum.datetime(2018, 7, 1, tz="UTC")  # the target window's first day
TAGS = ["xborder"]

# What the warehouse publishes. The feeds' assets schedule warehouse_build.
GROUP = "xborder"
FX_RATES = Asset(name="xborder_fx_rates", uri="xborder://warehouse/core.fx_rate", group=GROUP)
PRODUCT_CATALOGUE = Asset(name="xborder_product_catalogue", uri="xborder://warehouse/core.dim_product", group=GROUP)
SALES_EVENTS = Asset(name="xborder_sales_events", uri="xborder://warehouse/core.fct_sales_event", group=GROUP)
MARTS = Asset(name="xborder_marts", uri="xborder://warehouse/marts", group=GROUP)
SNAPSHOT = Asset(name="xborder_snapshot", uri="xborder://snapshot/current.duckdb", group=GROUP)
REPORTS = Asset(name="xborder_reports", uri="xborder://reports/export_tracking", group=GROUP)

# Every task: an owner, retries with exponential back-off (a locked warehouse clears), a timeout,
# and an e-mail when it fails for good (a failed gate names its rules: pipelines/dags/xborder_alerts.py).
DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=1),
    "on_failure_callback": ON_FAILURE,
}

# Airflow Variables that, when set, override the XBORDER_* environment inside tasks
# (e.g. `airflow variables set xborder_home /srv/xborder`). Unset: environment, then CLI defaults.
VARIABLES = {
    "xborder_home": "XBORDER_HOME",
    "xborder_landing": "XBORDER_LANDING",
    "xborder_warehouse": "XBORDER_WAREHOUSE",
    "xborder_targets_file": "XBORDER_TARGETS_FILE",
    "xborder_lock_timeout_s": "XBORDER_LOCK_TIMEOUT_S",
    "xborder_threads": "XBORDER_THREADS",
    "xborder_memory_limit": "XBORDER_MEMORY_LIMIT",
}


def apply_variables() -> None:
    """Map the ``xborder_*`` Airflow Variables that are set onto ``XBORDER_*`` (inside a task only)."""
    from airflow.sdk import Variable

    from pipelines.settings import reset_settings

    for variable, env in VARIABLES.items():
        value = Variable.get(variable, default=None)
        if value is not None:
            os.environ[env] = str(value)
    reset_settings()


def call(step: str, *args: Any, **kwargs: Any) -> Any:
    """Run ``pipelines.runner.<step>`` and return an XCom-safe result.

    A locked warehouse (``WarehouseLocked``, raised after ``XBORDER_LOCK_TIMEOUT_S``) fails the
    try and is retried with back-off. Data that changed after the build's gates (``StaleGates``:
    a feed task ran between them and the publish) skips the step: the build that change
    triggers publishes it. Any other pipeline error (a failed quality gate, a broken
    targets file...) is a data or configuration problem that a retry cannot fix: the task
    fails at once with the pipeline's message; fix the cause, then clear the task.
    """
    apply_variables()
    from pipelines import runner
    from pipelines.errors import UserFacingError
    from pipelines.warehouse import WarehouseLocked

    try:
        result = getattr(runner, step)(*args, **kwargs)
    except runner.StaleGates as exc:
        # a feed loaded after this build's gates: the build its asset event triggers publishes it
        raise AirflowSkipException(f"{step}: {exc}") from exc
    except WarehouseLocked:
        log.warning("the warehouse is busy (another writer holds it); this try fails and is retried")
        raise
    except UserFacingError as exc:
        raise AirflowFailException(f"{step}: {exc}") from exc
    if hasattr(result, "to_dict"):
        result = result.to_dict()
    log.info("%s: %s", step, result)
    record_lineage(step, args, result)
    return result


def record_lineage(step: str, args: Sequence[Any], result: Any) -> None:
    """Note what the step read and wrote for OpenLineage (``pipelines.lineage_extractor``).

    Lineage describes the run; it never fails it: a step whose lineage cannot be worked out
    still succeeds, with a warning and no datasets on its OpenLineage event.
    """
    from pipelines import lineage

    try:
        lineage.remember(step, args, result)
    except Exception:  # observability must not fail a load that succeeded
        log.warning("%s: no OpenLineage datasets (could not work them out)", step, exc_info=True)


@task(pool=POOL, execution_timeout=timedelta(minutes=10))
def load_reference() -> dict[str, Any]:
    """Reference dimensions shipped in `pipelines/resources/reference/` (ISO countries and currencies, HS 2022).

    Loaded only when a file's checksum is new; every feed needs them to validate its rows.
    """
    return call("ingest_feed", "reference")


def combine(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals of several ``FeedSummary.to_dict()`` results (money added exactly)."""
    totals: dict[str, Any] = {
        key: sum(int(s.get(key) or 0) for s in summaries)
        for key in ("files", "files_rejected", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")
    }
    eur = [Decimal(s["eur_loaded"]) for s in summaries if s.get("eur_loaded") is not None]
    totals["eur_loaded"] = str(sum(eur, Decimal(0))) if eur else None
    return totals


def publish_feed(stage: str, summaries: Sequence[dict[str, Any]], outlet_event: Any, dag_run: Any) -> dict[str, Any]:
    """Gate a feed's new data and describe it on the feed's asset event (which triggers the build).

    A scheduled or backfill run that found no new files and no batch still waiting for its gate
    (left by a killed or failed earlier run) is skipped here: no gate, no asset event, no build.
    A run triggered by hand always gates and publishes, so that an operator's trigger refreshes
    the marts, the snapshot and the reports downstream.
    """
    totals = combine(summaries)
    run_type = getattr(dag_run.run_type, "value", dag_run.run_type)  # "scheduled", "manual", "backfill", ...
    if totals["files"] == 0 and run_type != "manual" and stage not in call("feeds_pending_gates"):
        raise AirflowSkipException(f"no new {stage} files: nothing to gate, no asset event")
    quality = call("quality_gate", stage)
    # The gate raised if a critical expectation failed, so reaching here means it passed.
    outlet_event.extra = {**totals, "feed": stage, "quality_gate": "passed", "run_type": run_type}
    return {"loaded": totals, "quality": quality}
