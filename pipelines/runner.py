"""The pipeline's steps, shared by ``xborder run`` and the Airflow DAGs (one code path).

Each step opens the warehouse itself (one writer at a time), records itself in
``audit.runs`` and returns a JSON-serialisable summary (Airflow passes these as XCom).
Feeds run in dependency order: reference dims, suppliers, FX, catalogues, then sales.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import duckdb

from pipelines.ledger import FeedSummary, new_batch_id
from pipelines.settings import Settings, get_settings
from pipelines.warehouse import migrate, session, transaction

FEEDS = ("reference", "suppliers", "fx", "catalogues", "sales")
# description, done, total: a hook the CLI binds to a rich progress bar.
ProgressHook = Callable[[str, int, int], None]


@contextmanager
def recorded_run(
    command: str, settings: Settings | None = None, run_id: str | None = None
) -> Iterator[tuple[duckdb.DuckDBPyConnection, str, dict[str, Any]]]:
    """A migrated writer connection plus a run id, logged to ``audit.runs`` (status, detail)."""
    settings = settings or get_settings()
    run_id = run_id or new_batch_id()
    detail: dict[str, Any] = {}
    with session(settings=settings) as con:
        migrate(con, settings.sql_dir)
        con.execute(
            "INSERT OR REPLACE INTO audit.runs (run_id, command, started_at, status) VALUES (?, ?, ?, 'running')",
            [run_id, command, datetime.now(UTC).replace(tzinfo=None)],
        )
        status = "failed"
        try:
            yield con, run_id, detail
            status = "success"
        finally:
            con.execute(
                "UPDATE audit.runs SET finished_at = ?, status = ?, detail = ? WHERE run_id = ?",
                [datetime.now(UTC).replace(tzinfo=None), status, json.dumps(detail, default=str), run_id],
            )


def ingest_feed(
    feed: str,
    units: list[str] | None = None,
    *,
    settings: Settings | None = None,
    progress: ProgressHook | None = None,
    run_id: str | None = None,
) -> FeedSummary:
    """Load the new landed files of one feed (optionally only some suppliers or channels)."""
    settings = settings or get_settings()
    with recorded_run(f"ingest:{feed}", settings, run_id) as (con, batch_id, detail):
        summary = load_feed(feed, con, settings, batch_id, units, progress)
        detail.update(summary.to_dict())
    return summary


def load_feed(
    feed: str,
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    units: list[str] | None = None,
    progress: ProgressHook | None = None,
) -> FeedSummary:
    """One feed's load on an open writer connection; all or nothing (sales: per chunk of files)."""
    if feed == "sales":  # commits chunk by chunk itself
        return _load(feed, con, settings, batch_id, units, progress)
    with transaction(con):
        return _load(feed, con, settings, batch_id, units, progress)


def _load(
    feed: str,
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    units: list[str] | None,
    progress: ProgressHook | None,
) -> FeedSummary:
    if feed == "reference":
        from pipelines.ingest.reference import load_reference

        return load_reference(con, settings)
    if feed == "suppliers":
        from pipelines.ingest.suppliers import load_suppliers

        return load_suppliers(con, settings, batch_id)
    if feed == "fx":
        from pipelines.ingest.fx import load_fx

        return load_fx(con, settings, batch_id)
    if feed == "catalogues":
        from pipelines.ingest.catalogues import load_catalogues

        return load_catalogues(con, settings, batch_id, suppliers=units, progress=progress)
    if feed == "sales":
        from pipelines.ingest.sales import load_sales

        return load_sales(con, settings, batch_id, channels=units, progress=progress)
    raise ValueError(f"unknown feed {feed!r}; feeds: {', '.join(FEEDS)}")


def ingest_all(*, settings: Settings | None = None, progress: ProgressHook | None = None) -> dict[str, FeedSummary]:
    """Every feed, in dependency order."""
    return {feed: ingest_feed(feed, settings=settings, progress=progress) for feed in FEEDS}


def pending_units(feed: str, *, settings: Settings | None = None) -> list[str]:
    """Suppliers (catalogues) or channels (sales) that have landed files not yet in the ledger.

    The Airflow DAGs map one task per returned unit.
    """
    from pipelines.ingest.discovery import pending_units as discover_pending

    settings = settings or get_settings()
    with session(settings=settings) as con:
        migrate(con, settings.sql_dir)
        return discover_pending(con, settings, feed)


def refresh_marts(*, settings: Settings | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Rebuild the marts from core for every target in ``targets.yml``."""
    from pipelines.marts import build_marts

    settings = settings or get_settings()
    with recorded_run("marts", settings, run_id) as (con, _, detail):
        detail.update(build_marts(con, settings))
    return detail


def quality_gate(stage: str, *, settings: Settings | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Run the Great Expectations gate of a stage (fx, catalogues, sales, core, marts).

    A failed critical expectation raises ``QualityGateFailed`` (nothing is published).
    """
    from pipelines.quality.gates import run_gate

    settings = settings or get_settings()
    with recorded_run(f"quality:{stage}", settings, run_id) as (con, rid, detail):
        detail.update(run_gate(con, stage, settings, rid).to_dict())
    return detail


def publish_snapshot(*, settings: Settings | None = None, run_id: str | None = None) -> str:
    """Publish the analysts' read-only snapshot (atomic switch); return its path."""
    from pipelines.snapshot import publish

    settings = settings or get_settings()
    with recorded_run("publish", settings, run_id) as (con, _, detail):
        path = publish(con, settings)
        detail["snapshot"] = str(path)
    return str(path)


def write_reports(*, settings: Settings | None = None) -> dict[str, str]:
    """Data Docs (with the quarantine summary) and the export-tracking report that links to them.

    Both read the published snapshot (the last green build), never the writer's file.
    """
    from pipelines.quality.docs import build_data_docs
    from pipelines.report import write_report

    settings = settings or get_settings()
    docs = build_data_docs(settings)
    return {"data_docs": str(docs), "report": str(write_report(settings))}


def build(*, settings: Settings | None = None, progress: ProgressHook | None = None) -> dict[str, Any]:
    """Marts, the core and marts quality gates, publish, reports: what follows every ingest.

    A failed critical expectation raises ``QualityGateFailed`` before the publish step, so the
    previous snapshot (and the reports read from it) stay live.
    """
    settings = settings or get_settings()
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("marts", lambda: refresh_marts(settings=settings)),
        ("quality core", lambda: quality_gate("core", settings=settings)),
        ("quality marts", lambda: quality_gate("marts", settings=settings)),
        ("publish", lambda: publish_snapshot(settings=settings)),
        ("reports", lambda: write_reports(settings=settings)),
    ]
    results: dict[str, Any] = {}
    for done, (name, step) in enumerate(steps):
        if progress:
            progress(name, done, len(steps))
        results[name] = step()
    if progress:
        progress("done", len(steps), len(steps))
    return results


def retract(
    path: str,
    *,
    note: str | None = None,
    dry_run: bool = False,
    settings: Settings | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Take a loaded file's rows out of raw and core (``xborder db retract``); see ``pipelines.retract``.

    One transaction; a dry run computes everything and rolls back. Returns what was (or would
    be) removed; ``audit.retractions`` keeps the record.
    """
    from pipelines.retract import retract as retract_path

    settings = settings or get_settings()
    with recorded_run("retract", settings, run_id) as (con, rid, detail):
        detail.update(retract_path(con, settings, path, note=note, run_id=rid, dry_run=dry_run).to_dict())
    return detail
