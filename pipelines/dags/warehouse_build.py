"""
### warehouse_build: marts, quality gates, the analysts' snapshot, the reports

Scheduled on the feeds' assets: it runs whenever **fx_rates**, **supplier_catalogues** or
**sales_events** published new data (`xborder_fx_rates | xborder_product_catalogue |
xborder_sales_events`). Core (dimensions and EUR facts) is conformed by the feed loads
themselves; this DAG turns it into what people read:

1. **feed_gates**: every load batch no passed feed gate has validated yet (a gate that failed, or
   never ran because a task was killed or timed out) is gated again first; a failure stops the
   build here, so nothing ungated is ever built or published.
2. **refresh_marts**: `marts.export_progress_daily` (cumulative EUR, % of target, run-rates,
   pace needed, projection, status per target) and the monthly breakdowns, for every target in
   the targets file.
3. **quality_core**, **quality_marts**: the Great Expectations gates. A failed critical
   expectation fails the run here, before publishing: the previous snapshot stays live.
4. **publish_snapshot**: copies the warehouse to a new file and switches
   `$XBORDER_HOME/snapshot/current.duckdb` to it atomically (analysts never see a half-built state).
5. **write_reports**: the Data Docs (with the quarantine summary) and the export-tracking report, from
   the published snapshot.

Every task that opens the warehouse runs in the pool `xborder_warehouse` (one slot). The same
steps run from the command line: `xborder run --build-only`. A failed gate is e-mailed with its
rules; a run that has not succeeded `XBORDER_BUILD_DEADLINE_MINUTES` (120) after it was queued
is e-mailed by its deadline alert (docs/airflow.md, "Alerts").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import chain, dag, task
from xborder_alerts import build_deadline
from xborder_common import (
    DEFAULT_ARGS,
    FX_RATES,
    MARTS,
    POOL,
    PRODUCT_CATALOGUE,
    REPORTS,
    SALES_EVENTS,
    SNAPSHOT,
    START_DATE,
    TAGS,
    call,
    log,
)


@dag(
    dag_id="warehouse_build",
    schedule=(FX_RATES | PRODUCT_CATALOGUE | SALES_EVENTS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=DEFAULT_ARGS,
    deadline=build_deadline("warehouse_build"),  # e-mail when a run has not succeeded in time
    tags=[*TAGS, "build"],
    doc_md=__doc__,
)
def warehouse_build() -> None:
    @task(pool=POOL, execution_timeout=timedelta(minutes=30))
    def feed_gates() -> dict[str, Any]:
        """Gate every pending load batch of fx, catalogues and sales; a failure stops the build."""
        return call("gate_pending")

    @task(pool=POOL, outlets=[MARTS])
    def refresh_marts(*, triggering_asset_events: Any = None, outlet_events: Any = None) -> dict[str, Any]:
        """Rebuild the marts from core for every target (one transaction)."""
        for asset, events in (triggering_asset_events or {}).items():
            for event in events:
                log.info("triggered by %s: %s", getattr(asset, "name", asset), event.extra)
        result = call("refresh_marts")
        outlet_events[MARTS].extra = {k: v for k, v in result.items() if k.endswith("_rows")}
        return result

    @task(pool=POOL, execution_timeout=timedelta(minutes=30))
    def quality_core() -> dict[str, Any]:
        """The `core` quality gate (dimensions and EUR facts); critical failures stop the build."""
        return call("quality_gate", "core")

    @task(pool=POOL, execution_timeout=timedelta(minutes=30))
    def quality_marts() -> dict[str, Any]:
        """The `marts` quality gate; critical failures stop the build before publishing."""
        return call("quality_gate", "marts")

    @task(pool=POOL, outlets=[SNAPSHOT])
    def publish_snapshot(*, outlet_events: Any = None) -> str:
        """Copy the warehouse to a new snapshot file; switch `current.duckdb` to it atomically."""
        path = call("publish_snapshot")
        outlet_events[SNAPSHOT].extra = {"path": path}
        return path

    @task(outlets=[REPORTS], execution_timeout=timedelta(minutes=30))
    def write_reports(*, outlet_events: Any = None) -> dict[str, str]:
        """Data Docs and the export-tracking report, from the published snapshot (not the warehouse)."""
        paths = call("write_reports")
        outlet_events[REPORTS].extra = paths
        return paths

    chain(feed_gates(), refresh_marts(), quality_core(), quality_marts(), publish_snapshot(), write_reports())


warehouse_build()
