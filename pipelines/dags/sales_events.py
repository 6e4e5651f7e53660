"""
### sales_events: sales-channel files into `core.fct_sales_event` (hourly)

1. **load_reference**: ISO countries and currencies, HS 2022 (only when changed).
2. **channels_with_new_files**: which channels have files under
   `landing/sales/<channel>/<date>/` not yet in `audit.load_ledger`.
3. **load_channel**: one mapped task per such channel: files read through the channel's contract
   (`pipelines/resources/contracts/channels/`), events valued in EUR at the ECB rate of the order date (exact,
   half-even per line), cancellations and returns applied, bad rows quarantined with a reason,
   late cancels and returns held until their order line arrives.
4. **quality_sales**: the `sales` quality gate; on success the asset `xborder_sales_events` is
   updated, which schedules **warehouse_build**.

Sales are valued with the FX rates and product versions already loaded; a sale whose product
version or rate has not arrived yet waits in `raw.pending_sales_events` (quarantined
`unknown_product` / `fx_rate_missing`, like a cancel before its order) and loads by itself when
`supplier_catalogues` or `fx_rates` brings it (their **resolve_pending** step), so the DAGs may run
in any order. No new files: nothing downstream runs.
Re-runs and backfills change nothing (file checksums and event ids). Every task that opens the
warehouse runs in the pool `xborder_warehouse` (one slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import dag, get_current_context, task
from xborder_common import DEFAULT_ARGS, POOL, SALES_EVENTS, START_DATE, TAGS, call, load_reference, publish_feed


@dag(
    dag_id="sales_events",
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=4),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "feed", "sales"],
    doc_md=__doc__,
)
def sales_events() -> None:
    @task(pool=POOL, execution_timeout=timedelta(minutes=10))
    def channels_with_new_files() -> list[str]:
        """Channels with sales files not yet in the ledger: one mapped load each."""
        return call("pending_units", "sales")

    @task(
        pool=POOL,
        map_index_template="{{ channel }}",
        execution_timeout=timedelta(hours=3),
        doc_md="One channel's new files, in date order, chunk by chunk (each chunk all or nothing).",
    )
    def load_channel(channel: str) -> dict[str, Any]:
        get_current_context()["channel"] = channel  # type: ignore[typeddict-unknown-key]
        return call("ingest_feed", "sales", [channel])

    @task(pool=POOL, outlets=[SALES_EVENTS], trigger_rule="none_failed", execution_timeout=timedelta(minutes=30))
    def quality_sales(
        channels: Sequence[dict[str, Any]], *, outlet_events: Any = None, dag_run: Any = None
    ) -> dict[str, Any]:
        """The `sales` quality gate; on success the asset event (files, rows, EUR) triggers the build."""
        # channels[:] fetches every mapped result in one request
        return publish_feed("sales", channels[:], outlet_events[SALES_EVENTS], dag_run)

    pending = channels_with_new_files()
    load_reference() >> pending
    quality_sales(load_channel.expand(channel=pending))  # type: ignore[arg-type]  # XComArgs: the values at run time


sales_events()
