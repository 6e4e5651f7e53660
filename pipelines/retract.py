"""Retracting a loaded file: its rows leave raw and core, with an audit trail (``xborder db retract``).

What a retraction removes, by feed:

* **sales**: the file's events from ``raw.sales_events`` and their facts from
  ``core.fct_sales_event`` (or ``core.fct_sales_event_held``); cancels and returns of *other*
  files that refer to the file's order lines go back to ``raw.pending_sales_events`` with an open
  ``orphan_reference`` quarantine row, and load again when a file brings those order lines; the
  file's own pending orphans leave the queue (``pipelines/resources/sql/core/fct_sales_event_retract.sql``);
* **catalogues**: the snapshot's rows from ``raw.catalogue_items``; the supplier's product
  history is rebuilt and its facts re-pointed at the versions now valid on their order dates
  (``pipelines/resources/sql/core/fct_sales_event_repoint.sql``);
* **fx**: the rates that came from the file (``raw.fx_rates``, ``core.fx_rate``) — refused while
  any fact is valued at one of them: retract those sales files first (facts are never re-valued
  behind the user's back).

The ledger row becomes ``retracted`` (its money sums go, its open quarantine rows are
resolved), ``audit.retractions`` records rows removed per table, EUR removed, who and why, and
the marts are invalidated so the next build is a full one. The (path, sha256) is not loaded again
by itself; a corrected delivery (new bytes) loads, and so do the same bytes landed at another path
or after ``xborder db reprocess <path>``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import duckdb

from pipelines.errors import UserFacingError
from pipelines.ledger import new_batch_id
from pipelines.settings import Settings

RETRACT_SQL = "core/fct_sales_event_retract.sql"
FEEDS = ("sales", "catalogues", "fx")


class RetractError(UserFacingError):
    """The file cannot be retracted (not loaded, or facts depend on it)."""


@dataclass
class Retraction:
    """What a retraction removed (or, for a dry run, would remove)."""

    path: str
    sha256: str
    feed: str
    source: str | None
    batch_id: str
    rows_removed: dict[str, int] = field(default_factory=dict)
    eur_removed: Decimal = Decimal("0.00")
    dependents_pending: int = 0
    note: str | None = None
    retracted_by: str = ""
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable (money as a string, exact)."""
        out = asdict(self)
        out["eur_removed"] = str(self.eur_removed)
        return out


def operator() -> str:
    """The OS user running the retraction."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return os.environ.get("USER") or f"uid {os.getuid()}"


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether an explicit transaction is open on ``con``.

    DuckDB has no API for it, and a failed BEGIN aborts the open transaction; but within a
    transaction every statement sees the same ``txid_current()``, in autocommit each its own.
    """
    first = con.execute("SELECT txid_current()").fetchall()
    return con.execute("SELECT txid_current()").fetchall() == first


@contextmanager
def atomic(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """A transaction of its own, or part of the caller's when one is open."""
    if in_transaction(con):
        yield
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def loaded_delivery(con: duckdb.DuckDBPyConnection, path: str, sha256: str | None = None) -> tuple:
    """(sha256, feed, source, batch_id) of the loaded delivery of ``path`` (the latest, or ``sha256``)."""
    rows = con.execute(
        "SELECT sha256, feed, source, batch_id, status FROM audit.load_ledger WHERE path = ? ORDER BY loaded_at DESC",
        [path],
    ).fetchall()
    if not rows:
        raise RetractError(f"{path} is not in audit.load_ledger (paths are relative to the landing root)")
    loaded = [r for r in rows if r[4] == "loaded" and (sha256 is None or r[0] == sha256)]
    if not loaded:
        statuses = ", ".join(sorted({r[4] for r in rows}))
        hint = {
            "rejected": "nothing of it was loaded; `xborder db reprocess` lets it load again once fixed",
            "retracted": "it was already retracted (see audit.retractions)",
            "duplicate": "it is a byte-identical copy of another file: retract the original",
        }
        why = "; ".join(hint[s] for s in sorted({r[4] for r in rows}) if s in hint)
        raise RetractError(f"{path} has no loaded delivery (status {statuses}): {why or 'nothing to retract'}")
    sha, feed, source, batch_id, _ = loaded[0]
    if feed not in FEEDS:
        raise RetractError(f"{path}: {feed} files cannot be retracted (only {', '.join(FEEDS)}); land a corrected one")
    return sha, feed, source, batch_id


def retract_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    path: str,
    *,
    note: str | None = None,
    run_id: str | None = None,
    sha256: str | None = None,
    by: str | None = None,
) -> Retraction:
    """Retract the loaded delivery of ``path`` on an open writer connection (in the caller's transaction)."""
    sha, feed, source, batch_id = loaded_delivery(con, path, sha256)
    # the retraction's own id marks the rows it writes (quarantine, pending): they belong to no
    # load batch, so no feed gate counts them as rows of the batch being gated
    retraction_id = new_batch_id()
    result = Retraction(path, sha, feed, source, batch_id, note=note, retracted_by=by or operator())
    if feed == "sales":
        _sales(con, settings, result, retraction_id)
    elif feed == "catalogues":
        _catalogue(con, settings, result, retraction_id)
    else:
        _fx(con, result)
    _close(con, result, retraction_id, run_id or retraction_id)
    from pipelines.marts import invalidate

    invalidate(con)
    return result


def retract(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    path: str,
    *,
    note: str | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
) -> Retraction:
    """Retract ``path`` as one transaction; a dry run does it all, reports, and rolls back."""
    con.execute("BEGIN TRANSACTION")
    try:
        result = retract_file(con, settings, path, note=note, run_id=run_id)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if dry_run:
        con.execute("ROLLBACK")
        result.dry_run = True
    else:
        con.execute("COMMIT")
    return result


def supersede(
    con: duckdb.DuckDBPyConnection, settings: Settings, path: str, old: str, new: str, batch_id: str
) -> list[str]:
    """Retract the loaded delivery ``old`` of ``path`` because new content ``new`` landed there.

    Returns notes for the load summary: what was retracted, then what that changed.
    """
    with atomic(con):
        result = retract_file(con, settings, path, note=f"superseded by {new}", run_id=batch_id, sha256=old)
    removed = ", ".join(f"{n} {t}" for t, n in result.rows_removed.items() if n) or "no rows"
    return [
        f"{path}: new version {new[:12]} supersedes {old[:12]} (retracted: {removed}; EUR {result.eur_removed})",
        *result.notes,
    ]


def _sales(con: duckdb.DuckDBPyConnection, settings: Settings, result: Retraction, retraction_id: str) -> None:
    for name, value in (("rt_path", result.path), ("rt_sha", result.sha256), ("rt_batch", result.batch_id)):
        con.execute(f"SET VARIABLE {name} = ?", [value])
    con.execute("SET VARIABLE retraction_id = ?", [retraction_id])
    con.execute((settings.sql_dir / RETRACT_SQL).read_text(encoding="utf-8"))
    ((raw, facts, eur, held, dependents, pending),) = con.execute(
        "SELECT raw_events, facts, eur, held, dependents, pending FROM retract_counts"
    ).fetchall()
    result.rows_removed = {
        "raw.sales_events": raw,
        "core.fct_sales_event": facts,
        "core.fct_sales_event_held": held,
        "raw.pending_sales_events": pending,
    }
    result.eur_removed = eur
    result.dependents_pending = dependents
    if dependents:
        result.notes.append(
            f"{dependents} cancel(s)/return(s) of other files refer to its order lines: back in "
            "raw.pending_sales_events (orphan_reference) until a file brings those order lines"
        )


def _catalogue(con: duckdb.DuckDBPyConnection, settings: Settings, result: Retraction, retraction_id: str) -> None:
    from pipelines.ingest.catalogues import rebuild_products

    ((before,),) = con.execute(
        "SELECT count(*) FROM core.dim_product WHERE supplier_id = ?", [result.source]
    ).fetchall()
    ((removed,),) = con.execute(
        "SELECT count(*) FROM raw.catalogue_items WHERE source_file = ? AND batch_id = ?",
        [result.path, result.batch_id],
    ).fetchall()
    con.execute(
        "DELETE FROM raw.catalogue_items WHERE source_file = ? AND batch_id = ?", [result.path, result.batch_id]
    )
    assert result.source is not None  # a loaded catalogue file's supplier
    result.notes += rebuild_products(con, settings, [result.source], retraction_id)
    ((after,),) = con.execute("SELECT count(*) FROM core.dim_product WHERE supplier_id = ?", [result.source]).fetchall()
    counts = con.execute("SELECT restored, repointed, held, eur_held - eur_restored FROM repoint_counts").fetchall()
    restored, repointed, held, eur_held = counts[0] if counts else (0, 0, 0, Decimal("0.00"))
    result.rows_removed = {
        "raw.catalogue_items": removed,
        "core.dim_product versions (net)": before - after,
        "core.fct_sales_event re-pointed": repointed,
        "core.fct_sales_event held (unknown_product)": held - restored,
    }
    result.eur_removed = eur_held


def _fx(con: duckdb.DuckDBPyConnection, result: Retraction) -> None:
    rates = "SELECT currency, rate_date FROM core.fx_rate WHERE source_file = ? AND batch_id = ?"
    used = con.execute(
        f"""WITH rates AS ({rates}),
            facts AS (SELECT f.source_file, f.fx_rate_date, f.eur_amount FROM core.fct_sales_event f
                      SEMI JOIN rates r ON r.currency = f.currency AND r.rate_date = f.fx_rate_date
                      UNION ALL
                      SELECT h.source_file, h.fx_rate_date, h.eur_amount FROM core.fct_sales_event_held h
                      SEMI JOIN rates r ON r.currency = h.currency AND r.rate_date = h.fx_rate_date)
            SELECT count(*), coalesce(sum(eur_amount), 0), min(fx_rate_date), max(fx_rate_date),
                   count(DISTINCT source_file), list(DISTINCT source_file ORDER BY source_file)[1:3]
            FROM facts""",
        [result.path, result.batch_id],
    ).fetchall()
    facts, eur, first, last, files, some = used[0]
    if facts:
        raise RetractError(
            f"{result.path}: {facts} sales fact(s) (EUR {eur}) from {files} file(s) are valued at its rates "
            f"(rate dates {first} to {last}), e.g. {', '.join(some)}; retract those sales files first "
            "(xborder db retract <file>), then this one, then load the corrected rates and reprocess the sales files"
        )
    counts = {}
    for table in ("raw.fx_rates", "core.fx_rate"):
        where = "source_file = ? AND batch_id = ?"
        ((counts[table],),) = con.execute(
            f"SELECT count(*) FROM {table} WHERE {where}", [result.path, result.batch_id]
        ).fetchall()
        con.execute(f"DELETE FROM {table} WHERE {where}", [result.path, result.batch_id])
    result.rows_removed = counts


def _close(con: duckdb.DuckDBPyConnection, result: Retraction, retraction_id: str, run_id: str) -> None:
    """Ledger row retracted, its sums and open quarantine rows closed, the audit row written."""
    now = datetime.now(UTC).replace(tzinfo=None)
    message = f"retracted {now:%Y-%m-%d %H:%M:%S} UTC by {result.retracted_by}" + (
        f": {result.note}" if result.note else ""
    )
    con.execute(
        "UPDATE audit.load_ledger SET status = 'retracted', message = ? WHERE sha256 = ? AND path = ?",
        [message, result.sha256, result.path],
    )
    con.execute("DELETE FROM audit.load_ledger_amounts WHERE sha256 = ?", [result.sha256])
    con.execute(
        "UPDATE audit.quarantine SET resolved_at = ?, resolved_batch_id = ? "
        "WHERE sha256 = ? AND path = ? AND resolved_at IS NULL",
        [now, retraction_id, result.sha256, result.path],
    )
    con.execute(
        """INSERT INTO audit.retractions (retraction_id, run_id, path, sha256, feed, source, batch_id, rows_removed,
               eur_removed, dependents_pending, retracted_by, retracted_at, note)
           VALUES (?, ?, ?, ?, ?, ?, ?, map(?::VARCHAR[], ?::BIGINT[]), ?, ?, ?, ?, ?)""",
        [
            retraction_id,
            run_id,
            result.path,
            result.sha256,
            result.feed,
            result.source,
            result.batch_id,
            list(result.rows_removed),
            list(result.rows_removed.values()),
            result.eur_removed,
            result.dependents_pending,
            result.retracted_by,
            now,
            result.note,
        ],
    )
