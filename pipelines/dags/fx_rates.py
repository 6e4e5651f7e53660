"""
### fx_rates: ECB euro reference rates into `core.fx_rate` (daily)

Loads the ECB files that landed under `$XBORDER_HOME/landing/fx/` and are not yet in
`audit.load_ledger` (by content checksum): the history file `eurofxref-hist.csv` and the daily
`daily/<date>/eurofxref.csv`. A rate that disagrees with one already loaded is quarantined as
`fx_rate_conflict`, never overwritten. Then **resolve_pending** loads the sales that were waiting
for a rate (`fx_rate_missing`, in `raw.pending_sales_events`) in every channel, even when no sales
file is new; then the `fx` quality gate runs and the asset `xborder_fx_rates` is updated, which
schedules **warehouse_build** (its feed gates validate what the pending pass loaded).

The ECB is one source, so the load is one task (its files are small; loading them in one batch
checks them against each other). No new files: the gate is skipped and nothing downstream runs.

* Re-running, clearing or backfilling changes nothing: known files are skipped.
* Every task that opens the warehouse runs in the pool `xborder_warehouse` (one slot).
* Settings: `XBORDER_*` environment or the Airflow Variables `xborder_home`, ... (docs/airflow.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task
from xborder_common import DEFAULT_ARGS, FX_RATES, POOL, START_DATE, TAGS, call, load_reference, publish_feed


@dag(
    dag_id="fx_rates",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "feed", "fx"],
    doc_md=__doc__,
)
def fx_rates() -> None:
    @task(pool=POOL)
    def load_fx() -> dict[str, Any]:
        """New ECB files into `raw.fx_rates` and `core.fx_rate` (one transaction; conflicts quarantined)."""
        return call("ingest_feed", "fx")

    @task(pool=POOL, outlets=[FX_RATES], execution_timeout=timedelta(minutes=30))
    def quality_fx(summary: dict[str, Any], *, outlet_events: Any = None, dag_run: Any = None) -> dict[str, Any]:
        """The `fx` quality gate; on success the asset event (with row counts) triggers the build."""
        return publish_feed("fx", [summary], outlet_events[FX_RATES], dag_run)

    @task(pool=POOL, trigger_rule="none_failed", execution_timeout=timedelta(minutes=30))
    def resolve_pending() -> dict[str, Any]:
        """Sales waiting for a product version, rate or order line that has landed load now (every channel)."""
        return call("resolve_pending")

    loaded = load_fx()
    load_reference() >> loaded
    pending = resolve_pending()
    loaded >> pending >> quality_fx(loaded)  # type: ignore[arg-type]  # XComArgs: the values at run time


fx_rates()
