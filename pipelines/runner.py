"""The run's state machine, shared by ``xborder run`` and the Airflow DAGs (one code path).

A run is: load the new landed files of each feed, gate every **pending** load batch (a batch no
passed or accepted feed gate has validated: just loaded, or left failed or ungated by an earlier
run that failed, was killed or died waiting for a lock), then build: marts, the core and marts
gates, publish, reports. The rules live here and nowhere else:

* a feed gate runs for every pending batch of its feed, whether or not this run loaded anything;
* ``build`` refuses while any batch is pending after its gates ran (failed gates stay failed until
  the data is retracted or the failure accepted: ``xborder quality --accept``);
* ``publish_snapshot`` refuses unless no batch is pending and the core and marts gates passed on
  exactly the data being published (``data_state``), so nothing ungated is ever published;
* one run at a time: a run-level lock (``run_lock``) is held for a whole ``xborder run`` and for
  each DAG step, so two runs take turns as wholes; a run killed mid-way is marked
  ``interrupted`` in ``audit.runs`` by the next one.

Each step opens the warehouse itself (one writer at a time), records itself in ``audit.runs``
and returns a JSON-serialisable summary (Airflow passes these as XCom). Feeds load in dependency
order: reference dims, suppliers, FX, catalogues, then sales; then a pending pass loads the sales
that waited for a product version or rate that has now landed (``resolve_pending``).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.errors import UserFacingError
from pipelines.ledger import FeedSummary, new_batch_id
from pipelines.settings import Settings, get_settings
from pipelines.state import data_state, record_publication, stamp_reports, up_to_date
from pipelines.warehouse import WarehouseLocked, kept_open, migrate, session, transaction

FEEDS = ("reference", "suppliers", "fx", "catalogues", "sales")
GATED_FEEDS = ("fx", "catalogues", "sales")  # feeds with a quality gate of their own
NOTHING_NEW = "nothing new since"  # build()'s only key when the live snapshot is current
# description, done, total: a hook the CLI binds to a rich progress bar.
ProgressHook = Callable[[str, int, int], None]


class RunRefused(UserFacingError):
    """A step the state machine does not allow now (ungated or failed batches, stale gates)."""


class StaleGates(RunRefused):
    """The data changed after the build's gates ran: the build that follows the change publishes it."""


class FeedGatesFailed(RunRefused):
    """At least one feed gate failed: nothing is built or published until it is fixed or accepted."""

    def __init__(self, results: list[dict[str, Any]], messages: list[str], gates: list[Any] | None = None) -> None:
        self.results = results
        self.gates = gates or []  # the failed gates' GateResult (the alerts name their rules)
        super().__init__("\n".join(messages))


# ---- one run at a time -------------------------------------------------------------------

_held: dict[Path, int] = {}  # lock file -> depth (re-entrant within a process)
_unchecked: set[Path] = set()  # locks taken whose runs left 'running' are not yet marked interrupted


def lock_path(settings: Settings) -> Path:
    """The run lock beside the warehouse file (``warehouse.duckdb.run.lock``)."""
    return settings.warehouse_path.with_name(settings.warehouse_path.name + ".run.lock")


@contextmanager
def run_lock(settings: Settings | None = None) -> Iterator[bool]:
    """Hold the run-level lock (``flock``), waiting up to ``lock_timeout_s``; yields True when outermost.

    The first step recorded under a fresh hold marks runs left ``running`` as ``interrupted``:
    holding the lock, no other live process can be running one.

    Re-entrant within a process, so a whole ``xborder run`` holds it across its steps and each
    step takes it again for free. The kernel drops it when the process dies, however it dies.
    While held, the warehouse stays open (:func:`pipelines.warehouse.kept_open`).
    """
    settings = settings or get_settings()
    path = lock_path(settings)
    if path in _held:
        _held[path] += 1
        try:
            yield False
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, settings.lock_timeout_s)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n".encode())
        _held[path] = 1
        _unchecked.add(path)
        try:
            with kept_open(settings):  # the steps of this hold share one open database
                yield True
        finally:
            del _held[path]
            _unchecked.discard(path)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                raise WarehouseLocked(
                    f"another xborder run holds {path} (pid and start: {holder}); waited {timeout_s:.0f}s "
                    "(XBORDER_LOCK_TIMEOUT_S); runs take turns, try again when it has finished"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    """Runs left ``running`` by a process that died (only called while holding the run lock)."""
    rows = con.execute(
        "UPDATE audit.runs SET status = 'interrupted', finished_at = ? WHERE status = 'running' RETURNING run_id",
        [_now()],
    ).fetchall()
    return len(rows)


@contextmanager
def recorded_run(
    command: str, settings: Settings | None = None, run_id: str | None = None
) -> Iterator[tuple[duckdb.DuckDBPyConnection, str, dict[str, Any]]]:
    """Under the run lock: a migrated writer connection plus a run id, logged to ``audit.runs``."""
    settings = settings or get_settings()
    run_id = run_id or new_batch_id()
    detail: dict[str, Any] = {}
    with run_lock(settings), session(settings=settings) as con:
        migrate(con, settings.sql_dir)
        if lock_path(settings) in _unchecked:  # first step under this hold of the lock
            mark_interrupted(con)
            _unchecked.discard(lock_path(settings))
        con.execute(
            "INSERT OR REPLACE INTO audit.runs (run_id, command, started_at, status) VALUES (?, ?, ?, 'running')",
            [run_id, command, _now()],
        )
        status = "failed"
        try:
            yield con, run_id, detail
            status = "success"
        finally:
            try:
                con.execute(
                    "UPDATE audit.runs SET finished_at = ?, status = ?, detail = ? WHERE run_id = ?",
                    [_now(), status, json.dumps(detail, default=str), run_id],
                )
            except duckdb.Error:  # the connection died with the step (disk full...): the next run marks it
                if status == "success":
                    raise


# ---- loading -----------------------------------------------------------------------------


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
        if summary.files:
            con.execute("CHECKPOINT")  # the WAL stays small: what loaded is in the file
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
    """Every feed, in dependency order, then a pending pass (waiting sales whose product or rate landed)."""
    settings = settings or get_settings()
    with run_lock(settings):
        summaries = {feed: ingest_feed(feed, settings=settings, progress=progress) for feed in FEEDS}
        resolve_pending(settings=settings)
        return summaries


def resolve_pending(*, settings: Settings | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Load the waiting sales events of every channel whose product version, rate or order line landed.

    Sales that arrived before the catalogue snapshot or ECB rate they need wait in
    ``raw.pending_sales_events`` (``pipelines.ingest.pending``); a sales load re-evaluates its own
    channel, this step every channel, so they load whatever order the feeds arrive in. It runs
    after the feeds in :func:`run` and after the fx and catalogue loads in their DAGs; with
    nothing new it changes nothing. Rows waiting longer than ``waiting.max_days`` become final.
    """
    from pipelines.ingest.pending import resolve_pending as resolve

    settings = settings or get_settings()
    with recorded_run("pending", settings, run_id) as (con, batch_id, detail):
        result = resolve(con, settings, batch_id, previous=last_detail(con, "pending"))
        if result.loaded:
            con.execute("CHECKPOINT")
        detail.update(result.to_dict())
    return detail


def last_detail(con: duckdb.DuckDBPyConnection, command: str) -> dict[str, Any] | None:
    """The ``audit.runs`` detail of the latest successful run of ``command``."""
    rows = con.execute(
        "SELECT detail FROM audit.runs WHERE command = ? AND status = 'success' ORDER BY started_at DESC LIMIT 1",
        [command],
    ).fetchall()
    return json.loads(rows[0][0]) if rows and rows[0][0] else None


def pending_units(feed: str, *, settings: Settings | None = None) -> list[str]:
    """Suppliers (catalogues) or channels (sales) that have landed files not yet in the ledger.

    The Airflow DAGs map one task per returned unit.
    """
    from pipelines.ingest.discovery import pending_units as discover_pending

    settings = settings or get_settings()
    with run_lock(settings), session(settings=settings) as con:
        migrate(con, settings.sql_dir)
        return discover_pending(con, settings, feed)


# ---- gates -------------------------------------------------------------------------------


def pending_feeds(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Gated feeds with batches no passed or accepted gate has validated: feed -> batch ids."""
    rows = con.execute(
        "SELECT feed, list(batch_id ORDER BY batch_id) FROM audit.dq_pending_batches "
        "WHERE list_contains(?, feed) GROUP BY feed",
        [list(GATED_FEEDS)],
    ).fetchall()
    found = dict(rows)
    return {feed: found[feed] for feed in GATED_FEEDS if feed in found}


def feeds_pending_gates(*, settings: Settings | None = None) -> list[str]:
    """Gated feeds that have batches waiting for (or stuck on) their gate."""
    settings = settings or get_settings()
    with run_lock(settings), session(settings=settings) as con:
        migrate(con, settings.sql_dir)
        return list(pending_feeds(con))


def quality_gate(stage: str, *, settings: Settings | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Run the Great Expectations gate of a stage (fx, catalogues, sales, core, marts).

    A failed critical expectation raises ``QualityGateFailed`` (nothing is published).
    """
    from pipelines.quality.gates import run_gate

    settings = settings or get_settings()
    with recorded_run(f"quality:{stage}", settings, run_id) as (con, rid, detail):
        detail.update(run_gate(con, stage, settings, rid).to_dict())
    return detail


def gate_pending(*, settings: Settings | None = None, progress: ProgressHook | None = None) -> dict[str, Any]:
    """Gate every feed that has pending batches (this run's loads and any left by earlier runs).

    Every pending feed is gated even after one fails; then :class:`FeedGatesFailed` names each
    failure. Returns ``{feed: gate summary}`` (empty when nothing was pending).
    """
    from pipelines.quality.gates import QualityGateFailed

    settings = settings or get_settings()
    with run_lock(settings):
        with session(settings=settings) as con:
            migrate(con, settings.sql_dir)
            pending = pending_feeds(con)
        results: dict[str, Any] = {}
        failed: list[str] = []
        failed_gates: list[Any] = []
        for done, feed in enumerate(pending):
            if progress:
                progress(f"quality {feed}", done, len(pending))
            try:
                results[feed] = quality_gate(feed, settings=settings)
            except QualityGateFailed as exc:
                results[feed] = exc.result.to_dict()
                failed.append(str(exc))
                failed_gates.append(exc.result)
        if failed:
            raise FeedGatesFailed(list(results.values()), failed, failed_gates)
        return results


def require_gated(con: duckdb.DuckDBPyConnection, *, failed_only: bool = False) -> None:
    """Refuse (``RunRefused``) while any load batch is ungated or failed its gate (``failed_only``: failed)."""
    pending = pending_feeds(con)
    if not pending:
        return
    failed = dict(
        con.execute(
            """SELECT stage, list(run_id ORDER BY started_at DESC)[1] FROM audit.dq_gate_runs
               WHERE NOT passed AND accepted_at IS NULL GROUP BY stage"""
        ).fetchall()
    )
    if failed_only and not set(pending) & set(failed):
        return
    parts = []
    for feed, batches in pending.items():
        state = f"failed its gate (run {failed[feed]})" if feed in failed else "not gated yet"
        parts.append(f"{feed}: {len(batches)} batch(es) {state}")
    raise RunRefused(
        "nothing is published while load batches are not validated: "
        + "; ".join(parts)
        + ". Run `xborder run` (it gates pending batches first); for a failed gate fix the data "
        "(`xborder db retract FILE`, then land a corrected file) or accept it after review "
        "(`xborder quality --accept RUN_ID --note ...`)"
    )


# ---- build and publish -------------------------------------------------------------------


def refresh_marts(*, settings: Settings | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Rebuild the marts from core for every target in ``targets.yml``."""
    from pipelines.marts import build_marts

    settings = settings or get_settings()
    with recorded_run("marts", settings, run_id) as (con, _, detail):
        detail.update(build_marts(con, settings))
    return detail


def publish_allowed(con: duckdb.DuckDBPyConnection) -> None:
    """Raise unless core and marts passed on exactly this data and every batch passed its feed gate."""
    require_gated(con, failed_only=True)
    state = data_state(con)
    latest = dict(
        con.execute(
            """SELECT stage, arg_max(struct_pack(passed, data_state), started_at) FROM audit.dq_gate_runs
               WHERE stage IN ('core', 'marts') GROUP BY stage"""
        ).fetchall()
    )
    for stage in ("core", "marts"):
        gate = latest.get(stage)
        if gate is None or not gate["passed"]:
            raise RunRefused(f"the {stage} quality gate has not passed on the current data: nothing is published")
        if gate["data_state"] != state:
            raise StaleGates(
                f"the data changed after the {stage} gate passed (a load or mart refresh since): "
                "the next build gates and publishes it"
            )
    require_gated(con)


def publish_snapshot(*, settings: Settings | None = None, run_id: str | None = None) -> str:
    """Publish the analysts' read-only snapshot (atomic switch) if the gates allow it; return its path."""
    from pipelines.snapshot import publish

    settings = settings or get_settings()
    with recorded_run("publish", settings, run_id) as (con, rid, detail):
        publish_allowed(con)
        report: dict[str, Any] = {}
        path = publish(con, settings, report=report)
        record_publication(con, settings, rid, path, _now())
        detail.update(snapshot=str(path), copy=report)  # how it was written: whole copy or chunks rewritten
    return str(path)


def write_reports(*, settings: Settings | None = None) -> dict[str, str]:
    """Data Docs (with the quarantine summary) and the export-tracking report that links to them.

    Both read the published snapshot (the last green build), never the writer's file.
    """
    from pipelines.quality.docs import build_data_docs
    from pipelines.report import write_report
    from pipelines.snapshot import current_snapshot

    settings = settings or get_settings()
    snapshot = current_snapshot(settings)
    docs = build_data_docs(settings)
    written = {"data_docs": str(docs), "report": str(write_report(settings))}
    stamp_reports(settings, snapshot)  # last: a run killed before it writes the reports again
    return written


def nothing_new(*, settings: Settings | None = None) -> datetime | None:
    """When the live snapshot was published, if no batch is pending and nothing it was built from changed.

    A build then has nothing to do: :func:`build` skips its gates, marts, publish and reports
    (``force`` builds anyway). Returns None when a build is needed.
    """
    settings = settings or get_settings()
    with run_lock(settings), session(settings=settings) as con:
        migrate(con, settings.sql_dir)
        if pending_feeds(con):
            return None
        return up_to_date(con, settings)


def build(
    *, settings: Settings | None = None, progress: ProgressHook | None = None, force: bool = False
) -> dict[str, Any]:
    """Feed gates of pending batches, marts, the core and marts gates, publish, reports.

    A failed gate raises before the publish step (``FeedGatesFailed`` or ``QualityGateFailed``),
    so the previous snapshot (and the reports read from it) stay live. With nothing new since
    the live snapshot (:func:`nothing_new`) it does nothing and returns ``{"nothing new since": time}``,
    unless ``force``.
    """
    settings = settings or get_settings()
    if not force and (since := nothing_new(settings=settings)) is not None:
        return {NOTHING_NEW: since}
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("feed gates", lambda: gate_pending(settings=settings)),
        ("marts", lambda: refresh_marts(settings=settings)),
        ("quality core", lambda: quality_gate("core", settings=settings)),
        ("quality marts", lambda: quality_gate("marts", settings=settings)),
        ("publish", lambda: publish_snapshot(settings=settings)),
        ("reports", lambda: write_reports(settings=settings)),
    ]
    results: dict[str, Any] = {}
    with run_lock(settings):
        for done, (name, step) in enumerate(steps):
            if progress:
                progress(name, done, len(steps))
            results[name] = step()
    if progress:
        progress("done", len(steps), len(steps))
    return results


# ---- a whole run -------------------------------------------------------------------------


@dataclass
class RunResult:
    """What ``run`` did: feed summaries, feed gates, the build's steps, files rejected or held by this run."""

    summaries: list[FeedSummary] = field(default_factory=list)
    gates: dict[str, Any] = field(default_factory=dict)
    built: dict[str, Any] = field(default_factory=dict)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (path, rejected | held, message)
    landed_files: int = 0
    pending: dict[str, Any] = field(default_factory=dict)  # the pending pass (resolve_pending)

    @property
    def loaded_anything(self) -> bool:
        return any(s.files for s in self.summaries)

    @property
    def nothing_new_since(self) -> datetime | None:
        """When the live snapshot was published, if this run found it current and built nothing."""
        return self.built.get(NOTHING_NEW)


def run(
    feeds: list[str] | None = None,
    *,
    ingest: bool = True,
    build_after: bool = True,
    settings: Settings | None = None,
    progress: Callable[[str], ProgressHook] | None = None,
    force: bool = False,
) -> RunResult:
    """One whole run under the run lock: load, gate everything pending, build and publish.

    With nothing new since the live snapshot, the build does nothing (``force``: it runs anyway).
    ``progress(step)`` returns the hook for that step (the CLI's progress bar).
    """
    settings = settings or get_settings()
    result = RunResult()
    hook: Callable[[str], ProgressHook | None] = progress or (lambda step: None)
    with run_lock(settings):
        with session(settings=settings) as con:
            migrate(con, settings.sql_dir)
            ((started,),) = con.execute("SELECT current_localtimestamp()").fetchall()
        try:
            if ingest:
                for feed in [f for f in FEEDS if not feeds or f in feeds]:
                    result.summaries.append(ingest_feed(feed, settings=settings, progress=hook(f"load {feed}")))
                if not feeds or set(feeds) & set(GATED_FEEDS):  # a catalogue or rate may have landed for them
                    result.pending = resolve_pending(settings=settings)
            result.gates = gate_pending(settings=settings, progress=hook("quality"))
            if build_after:
                result.built = build(settings=settings, progress=hook("build"), force=force)
        except UserFacingError as exc:
            exc.run_result = result  # type: ignore[attr-defined]  # the CLI still shows what loaded
            raise
        finally:
            with session(settings=settings) as con:
                result.rejected = [
                    (str(path), str(status), str(message or ""))
                    for path, status, message in con.execute(
                        "SELECT path, status, message FROM audit.load_ledger "
                        "WHERE status IN ('rejected', 'held') AND loaded_at >= ? ORDER BY path",
                        [started],
                    ).fetchall()
                ]
                ((result.landed_files,),) = con.execute(
                    "SELECT count(*) FROM audit.load_ledger WHERE feed <> 'reference'"
                ).fetchall()
    return result


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
