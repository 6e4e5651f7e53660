"""Quality gates: evaluate a stage's suites as SQL inside DuckDB, record every result, stop on critical.

``run_gate(con, stage, settings, run_id)`` validates through the pipeline's open writer
connection (no second connection to the file), one statement per suite
(:mod:`pipelines.quality.evaluate`, GX's semantics), writes one ``audit.dq_results`` row per
expectation and one ``audit.dq_gate_runs`` row, and raises :class:`QualityGateFailed` naming
the expectation, the table and what was observed when a critical expectation fails. Warnings
are recorded, shown in Data Docs, and returned. Stages: ``fx``, ``catalogues``, ``sales``
(the rows of load batches not yet validated), ``core`` and ``marts`` (whole tables).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from pipelines.errors import UserFacingError
from pipelines.quality.evaluate import evaluate, vacuous
from pipelines.quality.results import Finding, write_findings, write_gate_run
from pipelines.quality.suites import FEEDS, STAGES, suites_for
from pipelines.quality.validations import spool
from pipelines.settings import Settings
from pipelines.state import data_state
from pipelines.warehouse import transaction

log = logging.getLogger(__name__)
MAX_LISTED = 8  # failures spelled out in a gate's message


@dataclass
class GateResult:
    """What a gate found: every finding, the failed ones split by severity."""

    stage: str
    run_id: str
    findings: list[Finding]
    seconds: float
    batches: list[str] = field(default_factory=list)
    data_docs: str | None = None

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.success and f.severity == "critical"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.success and f.severity != "critical"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def message(self) -> str:
        """One line per critical failure (the first ones), then where to look."""
        if self.passed:
            return (
                f"quality gate '{self.stage}' passed: {len(self.findings)} expectations, "
                f"{len(self.warnings)} warning(s)"
            )
        lines = [f"quality gate '{self.stage}' failed: {self.failures[0].message()}"]
        lines += [f"  also: {f.message()}" for f in self.failures[1:MAX_LISTED]]
        if len(self.failures) > MAX_LISTED:
            lines.append(f"  ... and {len(self.failures) - MAX_LISTED} more critical failure(s)")
        lines.append(
            f"  {len(self.warnings)} warning(s); every result is in audit.dq_results (run_id '{self.run_id}')"
            + (f"; Data Docs: {self.data_docs}" if self.data_docs else "")
        )
        if self.stage in FEEDS:
            lines.append(
                "  the batches stay pending (nothing is published) until fixed: `xborder db retract FILE` and land "
                f"a corrected file, or to publish anyway after review: xborder quality --accept {self.run_id} "
                '--note "..."'
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (Airflow XCom, ``audit.runs.detail``)."""
        return {
            "stage": self.stage,
            "run_id": self.run_id,
            "passed": self.passed,
            "counts": {
                "expectations": len(self.findings),
                "succeeded": sum(f.success for f in self.findings),
                "failed_critical": len(self.failures),
                "failed_warning": len(self.warnings),
                "batches": len(self.batches),
            },
            "failures": [f.message() for f in self.failures],
            "warnings": [f.message() for f in self.warnings],
            "seconds": round(self.seconds, 3),
            "data_docs": self.data_docs,
        }


class QualityGateFailed(UserFacingError):
    """A critical expectation failed: nothing after the gate (publish) may run."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(result.message())


def run_gate(con: duckdb.DuckDBPyConnection, stage: str, settings: Settings, run_id: str) -> GateResult:
    """Validate ``stage`` through ``con``; record results; raise :class:`QualityGateFailed` on a critical failure.

    The rules run as SQL (:mod:`pipelines.quality.evaluate`); GX is not imported here. The GX
    validation results are spooled for the next Data Docs build (:mod:`pipelines.quality.validations`);
    a feed gate with no pending batch runs no query and spools nothing.
    """
    if stage not in STAGES:
        raise UserFacingError(f"unknown quality stage {stage!r}; stages: {', '.join(STAGES)}")
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    batches = pending_batches(con, stage)
    state = data_state(con)
    parameters = expectation_parameters(settings)
    idle = stage in FEEDS and not batches  # nothing new: every rule holds over no rows
    variables = {"fx_lookback_days": settings.fx_lookback_days}
    try:
        done = [vacuous(s, parameters) if idle else evaluate(con, s, parameters, variables) for s in suites_for(stage)]
        found = [f for validation in done for f in validation.findings(stage)]
    except Exception as exc:  # the rules could not run at all (a broken suite): a critical failure
        log.exception("quality gate %s could not run", stage)
        done, found = [], [_checkpoint_error(stage, exc)]
    result = GateResult(stage, run_id, found, time.perf_counter() - started, batches)
    if done and not idle:
        spool(settings, stage, run_id, started_at, parameters, done, batches)
    if not result.passed:
        result.data_docs = _docs_after_failure(con, settings)
    validated_at = started_at.replace(tzinfo=None)
    with transaction(con):
        write_findings(con, found, run_id, validated_at)
        write_gate_run(
            con,
            {
                "run_id": run_id,
                "stage": stage,
                "started_at": validated_at,
                "seconds": result.seconds,
                "passed": result.passed,
                "expectations": len(found),
                "failed_critical": len(result.failures),
                "failed_warning": len(result.warnings),
                "batches": batches,
                "message": None if result.passed else result.message(),
                "data_state": state,
            },
        )
    if not result.passed:
        raise QualityGateFailed(result)
    return result


def pending_batches(con: duckdb.DuckDBPyConnection, stage: str) -> list[str]:
    """Load batches of a feed stage no passed (or accepted) gate has validated yet; [] for core/marts."""
    if stage not in FEEDS:
        return []
    rows = con.execute(
        "SELECT batch_id FROM audit.dq_pending_batches WHERE feed = ? ORDER BY batch_id", [stage]
    ).fetchall()
    return [r[0] for r in rows]


def expectation_parameters(settings: Settings) -> dict[str, str]:
    """Values for the suites' ``$PARAMETER``s: the tracking window spanned by all targets (UTC)."""
    from pipelines.targets import load_targets

    targets = load_targets(settings.targets_path)
    start = min(t.window_start for t in targets)
    end = max(t.window_end for t in targets) + timedelta(days=1)
    return {"window_start": f"{start.isoformat()} 00:00:00", "window_end": f"{end.isoformat()} 00:00:00"}


def accept(con: duckdb.DuckDBPyConnection, run_id: str, note: str) -> list[tuple[str, int]]:
    """Let the batches of a reviewed failed gate run through; returns (stage, batches) accepted.

    A held landed file (a path, not a run id) is released by :func:`accept_file`.
    """
    rows = con.execute(
        """UPDATE audit.dq_gate_runs SET accepted_at = ?, accepted_note = ?
           WHERE run_id = ? AND NOT passed RETURNING stage, len(batches)""",
        [datetime.now(UTC).replace(tzinfo=None), note, run_id],
    ).fetchall()
    if not rows:
        raise UserFacingError(f"no failed quality gate run {run_id!r} in audit.dq_gate_runs")
    return [(stage, n) for stage, n in rows]


def accept_file(con: duckdb.DuckDBPyConnection, path: str, note: str) -> tuple[str, str]:
    """Release a held landed file after review; returns (sha256, why it was held).

    The acceptance goes to ``audit.file_acceptance``; the held ledger row, its money sums and its
    quarantine row are forgotten, so the next run loads the file without the check that held it.
    """
    held = con.execute(
        "SELECT sha256, feed, message FROM audit.load_ledger WHERE path = ? AND status = 'held'", [path]
    ).fetchall()
    if not held:
        held_now = con.execute("SELECT path FROM audit.load_ledger WHERE status = 'held' ORDER BY 1").fetchall()
        listed = [r[0] for r in held_now]
        raise UserFacingError(
            f"{path} is not a held file in audit.load_ledger (paths are relative to the landing root); "
            f"held now: {', '.join(listed) if listed else 'none'}"
        )
    sha, feed, message = held[0]
    reason = con.execute(
        "SELECT any_value(reason) FROM audit.quarantine WHERE sha256 = ? AND path = ? AND line_number IS NULL",
        [sha, path],
    ).fetchall()[0][0]
    con.execute(
        "INSERT OR REPLACE INTO audit.file_acceptance VALUES (?, ?, ?, ?, ?, ?, ?)",
        [sha, path, feed, reason or "held", message, datetime.now(UTC).replace(tzinfo=None), note],
    )
    con.execute("DELETE FROM audit.quarantine WHERE sha256 = ? AND path = ?", [sha, path])
    con.execute("DELETE FROM audit.load_ledger WHERE sha256 = ? AND path = ? AND status = 'held'", [sha, path])
    con.execute(
        "DELETE FROM audit.load_ledger_amounts WHERE sha256 = ? "
        "AND sha256 NOT IN (SELECT sha256 FROM audit.load_ledger)",
        [sha],
    )
    return sha, message


def _checkpoint_error(stage: str, exc: Exception) -> Finding:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Finding(
        stage=stage,
        suite=stage,
        rule="checkpoint_runs",
        expectation="checkpoint",
        table=f"checkpoint {stage}",
        column=None,
        severity="critical",
        success=False,
        observed=f"error: {text}",
        unexpected_count=None,
        element_count=None,
        description=None,
        error=f"{type(exc).__name__}: {text}",
    )


def _docs_after_failure(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    """Rebuild Data Docs so the failure can be read there; never hides the failure itself."""
    try:
        from pipelines.quality.docs import build_data_docs

        return str(build_data_docs(settings, con=con))
    except Exception:  # noqa: BLE001 - the gate's own failure is what must reach the user
        log.exception("Data Docs could not be rebuilt after a failed quality gate")
        return None
