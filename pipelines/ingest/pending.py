"""Waiting sales events (``raw.pending_sales_events``) re-evaluated when what they wait for lands.

Orders and standalone credits whose product version (``unknown_product``) or ECB rate
(``fx_rate_missing``) is missing, and cancels and returns whose order line is not loaded
(``orphan_reference``), wait in ``raw.pending_sales_events`` with an open quarantine row. Every
sales load of a channel re-evaluates that channel's waiting events
(``pipelines/resources/sql/core/fct_sales_event_load.sql``);
:func:`resolve_pending` runs the same SQL for every channel without new sales files, so that a
catalogue snapshot or an ECB file that lands after the sales it prices loads them in the same run
(``pipelines.runner.resolve_pending``: after the feeds in ``xborder run``, and in the fx and
catalogue DAGs); a channel contract whose ``products`` section or SKU map changed is applied first
(``refresh_products``: its facts re-pointed). Orders and credits are evaluated before cancels
and returns, so an order line that loads takes its waiting cancels and returns along in the
same pass.

A row that loads leaves the queue, its quarantine row gets ``resolved_at`` (its file's ledger row
keeps counting it as quarantined, as for every late row); a row still waiting ``waiting.max_days``
(contract; default ``XBORDER_WAIT_DAYS``) after its quarantine row was written is final: it leaves
the queue, its quarantine row stays open and says it stopped waiting. Running a pass again with
nothing new changes nothing.

A pass that loaded anything is recorded in ``audit.pending_passes``; its batch id is then a
pending ``sales`` batch (``audit.dq_pending_batches``) that the sales gate validates before
anything is published.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import duckdb

from pipelines.contracts import channel_contracts, load_contracts
from pipelines.ingest.channel_products import refresh_products
from pipelines.ingest.sales import conform, pending_notes, wait_days
from pipelines.retract import atomic
from pipelines.settings import Settings
from pipelines.state import ledger_state


@dataclass
class PendingPass:
    """What one pass did to the waiting events (counts over every channel)."""

    batch_id: str
    channels: list[str] = field(default_factory=list)  # channels that had waiting events
    loaded: int = 0
    eur_loaded: Decimal = Decimal("0.00")
    final: int = 0  # refused once it arrived: an already cancelled line, a currency without ECB rates
    expired: int = 0  # stopped waiting after waiting.max_days
    waiting: int = 0  # still waiting after the pass
    notes: list[str] = field(default_factory=list)
    inputs: str = ""  # what the pass saw (ledger state, wait days): an unchanged one skips the next pass
    next_expiry: str | None = None  # when the first waiting row stops waiting (ISO, local time)
    skipped: bool = False  # nothing new since the last pass: nothing was evaluated

    @property
    def changed(self) -> bool:
        return bool(self.loaded or self.final or self.expired)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable (money as a string, exact)."""
        out = asdict(self)
        out["eur_loaded"] = str(self.eur_loaded)
        return out


def resolve_pending(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch_id: str,
    channels: list[str] | None = None,
    previous: dict | None = None,
) -> PendingPass:
    """Re-evaluate the waiting events of every channel (or of ``channels``) in one transaction.

    Facts and raw rows that load carry ``batch_id``. Returns the counts; a pass that changed
    anything is recorded in ``audit.pending_passes``. ``previous`` (the last pass's
    :meth:`PendingPass.to_dict`) lets a pass over every channel skip when nothing it depends
    on changed since (:func:`_unchanged`).
    """
    result = PendingPass(batch_id)
    contracts = channel_contracts(load_contracts(settings.contracts_dir, "sales"))
    waits = {channel: wait_days(contract, settings) for channel, contract in contracts.items()}
    with atomic(con):
        for channel, contract in sorted(contracts.items()):  # a changed product map applies without new sales
            if channels is None or channel in channels:
                result.notes += refresh_products(con, settings, contract, batch_id)
        if channels is None and not result.notes and _unchanged(con, result, _inputs(con, waits), previous):
            return result
        found = [
            c for (c,) in con.execute("SELECT DISTINCT channel FROM raw.pending_sales_events ORDER BY 1").fetchall()
        ]
        result.channels = [c for c in found if channels is None or c in channels]
        if not result.channels:
            result.inputs = _inputs(con, waits)
            return result
        con.execute(
            "CREATE OR REPLACE TEMP TABLE batch_events AS "
            "SELECT * EXCLUDE (batch_id, quarantine_id) FROM raw.pending_sales_events LIMIT 0"
        )
        try:
            for channel in result.channels:
                conform(con, settings, batch_id, channel, contracts.get(channel))
                ((loaded, eur, final, expired, waiting),) = con.execute(
                    "SELECT loaded, eur_loaded, final, expired, waiting FROM pending_counts"
                ).fetchall()
                result.loaded += loaded
                result.eur_loaded += eur
                result.final += final
                result.expired += expired
                result.waiting += waiting
                result.notes += pending_notes(con, channel)
        finally:
            con.execute("DROP TABLE IF EXISTS batch_events")
        if result.changed:
            con.execute(
                "INSERT INTO audit.pending_passes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch_id,
                    datetime.now(UTC).replace(tzinfo=None),
                    result.channels,
                    result.loaded,
                    result.eur_loaded,
                    result.final,
                    result.expired,
                    result.waiting,
                ],
            )
        result.inputs = _inputs(con, waits)
        result.next_expiry = _next_expiry(con, waits)
    return result


def _inputs(con: duckdb.DuckDBPyConnection, waits: dict[str, int]) -> str:
    """What a pass's outcome depends on, but the clock: the ledger, earlier passes, the wait days."""
    return f"{ledger_state(con)}:{sorted(waits.items())}"


def _next_expiry(con: duckdb.DuckDBPyConnection, waits: dict[str, int]) -> str | None:
    """When the first waiting row reaches its channel's ``waiting.max_days`` (ISO, local time as the SQL), or None."""
    rows = con.execute(
        """SELECT p.channel, min(q.quarantined_at) FROM raw.pending_sales_events p
           JOIN audit.quarantine q USING (quarantine_id) GROUP BY p.channel"""
    ).fetchall()
    due = [since + timedelta(days=waits.get(channel, 0)) for channel, since in rows]
    return min(due).isoformat() if due else None


def _unchanged(con: duckdb.DuckDBPyConnection, result: PendingPass, inputs: str, previous: dict | None) -> bool:
    """True (and ``result`` marked skipped) when the last pass saw these inputs and no row expires yet.

    A pass with nothing new changes nothing, so it is skipped: only a load, retraction or
    acceptance (the ledger), a changed wait or the clock passing an expiry can change its outcome.
    """
    if not previous or previous.get("inputs") != inputs:
        return False
    expiry = previous.get("next_expiry")
    if expiry is not None and datetime.fromisoformat(expiry) <= datetime.now():  # as current_localtimestamp()
        return False
    result.skipped, result.inputs, result.next_expiry = True, inputs, expiry
    result.waiting = int(previous.get("waiting") or 0)
    return True
