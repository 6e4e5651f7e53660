"""Expectation results as rows: one :class:`Finding` per expectation, kept in ``audit.dq_results``.

``make_finding`` turns one result (GX's SUMMARY result dict, from the SQL evaluator or from GX)
into a finding with a one-line message; ``findings`` does so for a GX checkpoint result;
``write_findings`` and ``write_gate_run`` store them through the pipeline's connection, so
data quality can be trended with SQL (``audit.dq_results``, ``audit.dq_latest``,
``audit.dq_gate_runs``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from pipelines.ledger import insert_frame
from pipelines.quality.suites import SUITES, asset

_SUITES = {s.name: s for s in SUITES}
_SQL_NOISE = re.compile(r"\n?\[SQL:.*|\(Background on this error.*", re.DOTALL)


@dataclass(frozen=True)
class Finding:
    """The outcome of one expectation on one table."""

    stage: str
    suite: str
    rule: str
    expectation: str
    table: str
    column: str | None
    severity: str
    success: bool
    observed: str | None
    unexpected_count: int | None
    element_count: int | None
    description: str | None
    error: str | None = None
    example: str | None = None  # the first offending row of a SQL rule

    @property
    def subject(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        what = f"{self.expectation} '{self.description}'" if self.description else self.expectation
        return f"{what} on {where}"

    def message(self) -> str:
        """``<expectation> on <table>.<column> (<severity>): <what was observed>``."""
        return f"{self.subject} ({self.severity}): {self.outcome()} [rule {self.suite}.{self.rule}]"

    def outcome(self) -> str:
        if self.error:
            return f"could not be evaluated: {self.error}"
        if self.expectation == "unexpected_rows_expectation" and self.unexpected_count is not None:
            text = f"{self.unexpected_count:,} row{'s' if self.unexpected_count != 1 else ''} unexpected"
            return f"{text}, first: {self.example}" if self.example else text
        if self.unexpected_count is not None and self.element_count is not None:
            return f"{self.unexpected_count:,} of {self.element_count:,} rows unexpected"
        return f"observed {self.observed}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def findings(checkpoint_result: Any, stage: str) -> list[Finding]:
    """Every expectation result of a GX ``CheckpointResult``, in checkpoint order."""
    out = []
    for suite_result in checkpoint_result.run_results.values():
        suite = _SUITES[suite_result.suite_name]
        table = asset(suite.asset).table
        for result in suite_result.results:
            out.append(_finding(result, stage, suite.name, table))
    return out


def _finding(result: Any, stage: str, suite: str, table: str) -> Finding:
    """A GX ``ExpectationValidationResult`` as a finding."""
    config = result.expectation_config
    detail = result.result or {}
    rows = (detail.get("details") or {}).get("unexpected_rows") or []
    return make_finding(
        stage,
        suite,
        table,
        expectation=config.type,
        rule=(config.meta or {}).get("rule", config.type),
        severity=str(getattr(config.severity, "value", config.severity) or "critical"),
        description=config.description,
        kwargs=config.kwargs,
        success=bool(result.success),
        detail=detail,
        error=_error(result.exception_info),
        example=row_text(list(rows[0]), list(rows[0].values())) if rows else None,
    )


def make_finding(
    stage: str,
    suite: str,
    table: str,
    *,
    expectation: str,
    rule: str,
    severity: str,
    description: str | None,
    kwargs: dict[str, Any],
    success: bool,
    detail: dict[str, Any],
    error: str | None,
    example: str | None = None,
) -> Finding:
    """The finding of one expectation result (GX's SUMMARY ``result`` dict as ``detail``)."""
    column = kwargs.get("column") or (",".join(kwargs["column_list"]) if kwargs.get("column_list") else None)
    unexpected = detail.get("unexpected_count")
    if expectation == "unexpected_rows_expectation" and isinstance(detail.get("observed_value"), int):
        unexpected = detail["observed_value"]
    else:
        example = None
    return Finding(
        stage=stage,
        suite=suite,
        rule=rule,
        expectation=expectation,
        table=table,
        column=column,
        severity=severity,
        success=success and error is None,
        observed=f"error: {error}" if error else _observed(detail),
        unexpected_count=unexpected,
        element_count=detail.get("element_count"),
        description=description,
        error=error,
        example=example,
    )


def row_text(names: list[str], row: Any) -> str:
    """A row as ``column=value, ...`` (a failed SQL rule's example)."""
    return ", ".join(f"{k}={_text(v)}" for k, v in zip(names, row, strict=True))


def _observed(detail: dict[str, Any]) -> str | None:
    if "observed_value" in detail:
        return _text(detail["observed_value"])
    count, total = detail.get("unexpected_count"), detail.get("element_count")
    if count is None or total is None:
        return None
    share = f" ({100 * count / total:.4g}%)" if total else ""
    return f"{count} unexpected of {total}{share}"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal | int | float):
        return str(value)
    return json.dumps(value, default=str)


def _error(exception_info: Any) -> str | None:
    """The first exception message GX recorded for an expectation, without SQLAlchemy's noise."""
    if not isinstance(exception_info, dict):
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception") and info.get("exception_message"):
            text = _SQL_NOISE.sub("", str(info["exception_message"])).strip()
            text = re.sub(r"^\([\w.]+\)\s*", "", text)
            return text.splitlines()[0] if text else "unknown error"
    return None


def write_findings(
    con: duckdb.DuckDBPyConnection, findings_: list[Finding], run_id: str, validated_at: datetime
) -> int:
    """Append one ``audit.dq_results`` row per finding; returns the rows written."""
    frame = pl.DataFrame(
        {
            "run_id": [run_id] * len(findings_),
            "stage": [f.stage for f in findings_],
            "suite": [f.suite for f in findings_],
            "rule": [f.rule for f in findings_],
            "expectation": [f.expectation for f in findings_],
            "description": [f.description for f in findings_],
            "table_name": [f.table for f in findings_],
            "column_name": [f.column for f in findings_],
            "severity": [f.severity for f in findings_],
            "success": [f.success for f in findings_],
            "observed_value": [f.observed for f in findings_],
            "unexpected_count": [f.unexpected_count for f in findings_],
            "element_count": [f.element_count for f in findings_],
            "validated_at": [validated_at] * len(findings_),
        },
        schema_overrides={
            "description": pl.String,
            "column_name": pl.String,
            "observed_value": pl.String,
            "unexpected_count": pl.Int64,
            "element_count": pl.Int64,
            "validated_at": pl.Datetime("us"),
        },
    )
    return insert_frame(con, "audit.dq_results", frame)


def write_gate_run(con: duckdb.DuckDBPyConnection, run: dict[str, Any]) -> None:
    """One ``audit.dq_gate_runs`` row (a re-run of the same run id and stage replaces it)."""
    con.execute(
        """INSERT OR REPLACE INTO audit.dq_gate_runs
           (run_id, stage, started_at, seconds, passed, expectations, failed_critical, failed_warning, batches, message,
            data_state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            run["run_id"],
            run["stage"],
            run["started_at"],
            run["seconds"],
            run["passed"],
            run["expectations"],
            run["failed_critical"],
            run["failed_warning"],
            run["batches"],
            run["message"],
            run.get("data_state"),
        ],
    )
