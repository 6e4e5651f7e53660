"""
### supplier_catalogues: supplier master and catalogues into `core.dim_product` (daily)

1. **load_reference**: ISO countries and currencies, HS 2022 (only when changed).
2. **load_suppliers**: new supplier master files into `core.dim_supplier`.
3. **suppliers_with_new_files**: which suppliers have catalogue files under
   `landing/catalogues/<supplier_id>/` not yet in `audit.load_ledger`.
4. **load_catalogue**: one mapped task per such supplier: its files are read through the
   supplier's contract (`pipelines/resources/contracts/catalogues/`), bad rows quarantined with a reason, and its
   product history (SCD2 `core.dim_product`) rebuilt.
5. **resolve_pending**: the sales that were waiting for a product version (`unknown_product`, in
   `raw.pending_sales_events`) load now, in every channel, even when no sales file is new.
6. **quality_catalogues**: the `catalogues` quality gate; on success the asset
   `xborder_product_catalogue` is updated, which schedules **warehouse_build** (its feed gates
   validate what the pending pass loaded).

No new files: the mapped load has nothing to do and the gate is skipped (no asset event).
Re-runs and backfills change nothing (known checksums are skipped). Every task that opens the
warehouse runs in the pool `xborder_warehouse` (one slot). Onboarding a supplier is a new
contract file, no DAG change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import dag, get_current_context, task
from xborder_common import (
    DEFAULT_ARGS,
    POOL,
    PRODUCT_CATALOGUE,
    START_DATE,
    TAGS,
    call,
    load_reference,
    publish_feed,
)


@dag(
    dag_id="supplier_catalogues",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=4),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "feed", "catalogues"],
    doc_md=__doc__,
)
def supplier_catalogues() -> None:
    @task(pool=POOL, execution_timeout=timedelta(minutes=15))
    def load_suppliers() -> dict[str, Any]:
        """New supplier master files into `raw.suppliers` and `core.dim_supplier` (type 1)."""
        return call("ingest_feed", "suppliers")

    @task(pool=POOL, execution_timeout=timedelta(minutes=10))
    def suppliers_with_new_files() -> list[str]:
        """Supplier ids with catalogue files not yet in the ledger: one mapped load each."""
        return call("pending_units", "catalogues")

    @task(
        pool=POOL,
        map_index_template="{{ supplier_id }}",
        doc_md="One supplier's new catalogue files through its contract, then its SCD2 product history.",
    )
    def load_catalogue(supplier_id: str) -> dict[str, Any]:
        get_current_context()["supplier_id"] = supplier_id  # type: ignore[typeddict-unknown-key]
        return call("ingest_feed", "catalogues", [supplier_id])

    @task(pool=POOL, outlets=[PRODUCT_CATALOGUE], trigger_rule="none_failed", execution_timeout=timedelta(minutes=30))
    def quality_catalogues(
        suppliers: dict[str, Any],
        catalogues: Sequence[dict[str, Any]],
        *,
        outlet_events: Any = None,
        dag_run: Any = None,
    ) -> dict[str, Any]:
        """The `catalogues` quality gate; on success the asset event triggers the build."""
        # catalogues[:] fetches every mapped result in one request
        return publish_feed("catalogues", [suppliers, *catalogues[:]], outlet_events[PRODUCT_CATALOGUE], dag_run)

    @task(pool=POOL, trigger_rule="none_failed", execution_timeout=timedelta(minutes=30))
    def resolve_pending() -> dict[str, Any]:
        """Sales waiting for a product version, rate or order line that has landed load now (every channel)."""
        return call("resolve_pending")

    suppliers = load_suppliers()
    pending = suppliers_with_new_files()
    load_reference() >> suppliers >> pending
    loaded = load_catalogue.expand(supplier_id=pending)
    waiting = resolve_pending()
    loaded >> waiting >> quality_catalogues(suppliers, loaded)  # type: ignore[arg-type]  # XComArgs: the values at run time


supplier_catalogues()
