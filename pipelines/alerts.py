"""Alerts: what the team is told by e-mail, and when.

Messages are composed by pure functions (:func:`gate_failed`, :func:`files_rejected`,
:func:`sales_stale`, :func:`target_status_changed`, :func:`build_late`, :func:`task_failed`):
a subject and a plain-text body that name the gate and rule, the file and reason, the target.
What is due is decided from the warehouse (:func:`collect`): rejected or held files not alerted
yet (``audit.load_ledger`` and the file's ``audit.quarantine`` row), a sales feed with no file
that loaded rows for ``XBORDER_STALE_SALES_HOURS``, targets whose status in the published
snapshot moved to ``at_risk`` or ``off_track`` since the snapshot the alerts last read. What was
sent is remembered (``audit.alerts_sent``, ``audit.alert_target_status``), so nothing is sent
twice. Sending is Airflow's (``pipelines.alert_mail``, the SMTP provider's ``SmtpNotifier``);
nothing here imports Airflow.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import UserFacingError

if TYPE_CHECKING:  # DAG files import this module: DuckDB is imported where it is used
    import duckdb

log = logging.getLogger(__name__)

PREFIX = "[xborder]"
ALERT_STATUSES = ("at_risk", "off_track")  # a move to one of these is alerted (a risk)
REACHED = "reached"  # a move to it is good news: one notice (kind target_reached), never a risk alert
DEFAULT_CONN_ID = "xborder_smtp"
DEFAULT_STALE_SALES_HOURS = 24.0
DEFAULT_BUILD_DEADLINE_MINUTES = 120.0
MAX_FAILURES_LISTED = 10
MAX_FILES_LISTED = 50


class AlertConfigError(UserFacingError):
    """An alert setting (recipients, threshold) is invalid."""


@dataclass(frozen=True)
class AlertConfig:
    """Who is told and the thresholds (``XBORDER_ALERT_*`` environment, or Airflow Variables).

    No recipients: alerts are composed and logged, nothing is sent or recorded as sent.
    """

    recipients: tuple[str, ...] = ()
    smtp_conn_id: str = DEFAULT_CONN_ID
    stale_sales_hours: float = DEFAULT_STALE_SALES_HOURS
    build_deadline_minutes: float = DEFAULT_BUILD_DEADLINE_MINUTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertConfig:
        """``XBORDER_ALERT_TO`` (comma-separated), ``XBORDER_ALERT_SMTP_CONN``,
        ``XBORDER_STALE_SALES_HOURS``, ``XBORDER_BUILD_DEADLINE_MINUTES``."""
        env = os.environ if env is None else env
        recipients = tuple(a.strip() for a in (env.get("XBORDER_ALERT_TO") or "").split(",") if a.strip())
        return cls(
            recipients=recipients,
            smtp_conn_id=(env.get("XBORDER_ALERT_SMTP_CONN") or DEFAULT_CONN_ID).strip(),
            stale_sales_hours=_positive(env, "XBORDER_STALE_SALES_HOURS", DEFAULT_STALE_SALES_HOURS),
            build_deadline_minutes=_positive(env, "XBORDER_BUILD_DEADLINE_MINUTES", DEFAULT_BUILD_DEADLINE_MINUTES),
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise AlertConfigError(f"{name}={text!r} is not a number") from None
    if not value > 0:
        raise AlertConfigError(f"{name}={text!r} must be greater than 0")
    return value


@dataclass(frozen=True)
class Alert:
    """One e-mail: its kind, subject and plain-text body; ``keys`` mark it sent in ``audit.alerts_sent``."""

    kind: str
    subject: str
    body: str
    keys: tuple[str, ...] = ()
    target_id: str | None = None  # target_status alerts: the target whose status is recorded once sent

    def html(self) -> str:
        """The body as HTML (the SMTP notifier sends HTML): preformatted, escaped."""
        return f'<pre style="font-family: monospace">{html.escape(self.body)}</pre>'

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "body": self.body, "keys": list(self.keys)}


# ---- failed quality gates ----------------------------------------------------------------


@dataclass(frozen=True)
class RuleFailure:
    """One failed critical rule of a gate."""

    rule: str  # suite.rule
    expectation: str
    table: str
    column: str | None
    observed: str  # what was observed (Finding.outcome())


@dataclass(frozen=True)
class FailedGate:
    """A gate run that failed, with its failed critical rules."""

    stage: str
    gate_run_id: str
    failures: tuple[RuleFailure, ...]
    warnings: int = 0
    data_docs: str | None = None


@dataclass(frozen=True)
class TaskRef:
    """Where in Airflow something failed."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int | None = None
    log_url: str | None = None


def failed_gates(error: BaseException | None) -> list[FailedGate]:
    """The failed gates behind a task's error (its chain: ``QualityGateFailed``, ``FeedGatesFailed``)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        results = getattr(error, "gates", None)
        if results is None and hasattr(getattr(error, "result", None), "failures"):
            results = [error.result]  # type: ignore[attr-defined]
        if results:
            return [_failed_gate(r) for r in results]
        error = error.__cause__ or error.__context__
    return []


def _failed_gate(result: Any) -> FailedGate:
    failures = tuple(
        RuleFailure(
            rule=f"{f.suite}.{f.rule}",
            expectation=f"{f.expectation} '{f.description}'" if f.description else f.expectation,
            table=f.table,
            column=f.column,
            observed=f.outcome(),
        )
        for f in result.failures
    )
    return FailedGate(result.stage, result.run_id, failures, len(result.warnings), result.data_docs)


def gate_failed(gates: Sequence[FailedGate], task: TaskRef) -> Alert:
    """A failed gate: the gate, each failed rule (expectation, table, observed) and what to do."""
    first = gates[0]
    rule = first.failures[0] if first.failures else None
    where = _where(rule) if rule else "its checkpoint"
    more = sum(len(g.failures) for g in gates) - 1
    subject = f"{PREFIX} quality gate '{first.stage}' failed: {rule.rule if rule else 'checkpoint'} on {where}"
    if more > 0:
        subject += f" (+{more} more)"
    lines = [
        f"The quality gate{'s' if len(gates) > 1 else ''} {', '.join(repr(g.stage) for g in gates)} failed in "
        f"{task.dag_id}.{task.task_id} (Airflow run {task.run_id}"
        + (f", try {task.try_number}" if task.try_number else "")
        + "). Nothing after the gate is built or published: the previous snapshot stays live.",
    ]
    for gate in gates:
        lines += ["", f"Gate '{gate.stage}', gate run {gate.gate_run_id} ({len(gate.failures)} critical failure(s)):"]
        for f in gate.failures[:MAX_FAILURES_LISTED]:
            lines += [
                f"  - rule:        {f.rule}",
                f"    expectation: {f.expectation}",
                f"    table:       {_where(f)}",
                f"    observed:    {f.observed}",
            ]
        if len(gate.failures) > MAX_FAILURES_LISTED:
            lines.append(f"  ... and {len(gate.failures) - MAX_FAILURES_LISTED} more")
        lines.append(f"  warnings: {gate.warnings}")
        if gate.data_docs:
            lines.append(f"  Data Docs: {gate.data_docs}")
    lines += [
        "",
        f"Every result: SELECT * FROM audit.dq_results WHERE run_id = '{first.gate_run_id}'.",
        "Fix the data (xborder db retract FILE, then land a corrected file) or, after review,",
        f'accept it: xborder quality --accept {first.gate_run_id} --note "...", then clear the task.',
    ]
    if task.log_url:
        lines.append(f"Log: {task.log_url}")
    return Alert("gate_failed", subject, "\n".join(lines))


def _where(f: RuleFailure) -> str:
    return f"{f.table}.{f.column}" if f.column else f.table


def task_failed(task: TaskRef, error: BaseException | str | None) -> Alert:
    """A task that failed for good (retries spent, or a pipeline error a retry cannot fix)."""
    text = str(error).strip() if error else "no error recorded"
    first = text.splitlines()[0] if text else ""
    subject = f"{PREFIX} task {task.dag_id}.{task.task_id} failed: {first[:150]}"
    lines = [
        f"Task {task.dag_id}.{task.task_id} failed (Airflow run {task.run_id}"
        + (f", try {task.try_number}" if task.try_number else "")
        + ").",
        "",
        f"Error ({type(error).__name__ if isinstance(error, BaseException) else 'message'}):",
        *[f"  {line}" for line in text.splitlines()],
        "",
        "Fix the cause, then clear the task in the Airflow UI (or `airflow tasks clear`).",
    ]
    if task.log_url:
        lines.append(f"Log: {task.log_url}")
    return Alert("task_failed", subject, "\n".join(lines))


# ---- rejected files ----------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedFile:
    """A landed file the load rejected (or held for review), from ``audit.load_ledger``."""

    path: str
    feed: str
    source: str | None
    status: str  # rejected | held
    reason: str | None  # audit.quarantine reason code of the whole-file row
    message: str | None  # audit.load_ledger message
    line_number: int | None
    loaded_at: datetime
    batch_id: str
    sha256: str

    @property
    def key(self) -> str:
        return f"file:{self.sha256}:{self.path}"


def files_rejected(files: Sequence[RejectedFile]) -> Alert:
    """Rejected or held files (one e-mail for those found together): each file, reason code and message."""
    first = files[0]
    verb = "held for review" if all(f.status == "held" for f in files) else "rejected"
    if len(files) == 1:
        subject = f"{PREFIX} file {verb}: {first.path} ({first.reason or first.status})"
    else:
        subject = f"{PREFIX} {len(files)} files {verb}: {first.path} ({first.reason or first.status}) and more"
    lines = [
        f"{len(files)} landed file(s) did not load. The feed's other files loaded; these are in",
        "audit.load_ledger (status rejected or held) with the reason in audit.quarantine.",
    ]
    for f in files[:MAX_FILES_LISTED]:
        lines += [
            "",
            f"  file:    {f.path}",
            f"  feed:    {f.feed}" + (f" ({f.source})" if f.source else ""),
            f"  status:  {f.status}",
            f"  reason:  {f.reason or 'unknown'}" + (f" (line {f.line_number})" if f.line_number is not None else ""),
            f"  message: {f.message or ''}",
            f"  loaded:  {f.loaded_at:%Y-%m-%d %H:%M:%S} UTC, batch {f.batch_id}, sha256 {f.sha256[:12]}",
        ]
    if len(files) > MAX_FILES_LISTED:
        lines += [
            "",
            f"  ... and {len(files) - MAX_FILES_LISTED} more (SELECT * FROM audit.load_ledger "
            "WHERE status IN ('rejected', 'held'))",
        ]
    lines += [
        "",
        "A rejected file is not loaded again under the same content: land a corrected file (new bytes).",
        'A held file loads after review: xborder quality --accept <path> --note "...".',
    ]
    return Alert("file_rejected", subject, "\n".join(lines), tuple(f.key for f in files))


# ---- a stale feed ------------------------------------------------------------------------


def sales_stale(last_loaded_at: datetime | None, last_path: str | None, hours: float, now: datetime) -> Alert | None:
    """The sales feed is stale when no file loaded sales rows for ``hours`` (by ledger ``loaded_at``, UTC).

    Returns None when it is fresh, or when no sales ever loaded (nothing to be stale against).
    One alert per stale spell: its key is the last load.
    """
    if last_loaded_at is None:
        return None
    age = now - last_loaded_at
    if age < timedelta(hours=hours):
        return None
    subject = f"{PREFIX} sales feed stale: no new sales loaded for {_hours(age)} (threshold {hours:g} h)"
    body = "\n".join(
        [
            f"No sales file has loaded rows since {last_loaded_at:%Y-%m-%d %H:%M:%S} UTC ({_hours(age)} ago;",
            f"XBORDER_STALE_SALES_HOURS = {hours:g}). Measured on what loaded: audit.load_ledger.loaded_at of",
            "sales files with status 'loaded' and rows loaded (a file that landed but was rejected does not count).",
            "",
            f"  last file loaded: {last_path}",
            f"  checked at:       {now:%Y-%m-%d %H:%M:%S} UTC",
            "",
            "Check the channels' deliveries into landing/sales/<channel>/<date>/ and the sales_events DAG.",
            "This alert is sent once per stale spell; the next one follows a new load that goes stale again.",
        ]
    )
    return Alert("feed_stale", subject, body, (f"stale:sales:{last_loaded_at.isoformat()}",))


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


# ---- target status -----------------------------------------------------------------------


@dataclass(frozen=True)
class TargetStatus:
    """One target's headline in a published snapshot (``marts.export_progress_latest``)."""

    target_id: str
    name: str
    status: str | None
    date: dt.date | None = None
    cumulative_net_eur: Decimal | None = None
    target_eur: Decimal | None = None
    pct_of_target: Decimal | None = None
    run_rate_30d: Decimal | None = None
    pace_needed_stretch: Decimal | None = None
    pace_needed_final: Decimal | None = None
    projected_completion_date: dt.date | None = None
    stretch_deadline: dt.date | None = None
    final_deadline: dt.date | None = None
    data_through: dt.date | None = None
    reached_on: dt.date | None = None
    reached_by_stretch: bool | None = None


@dataclass(frozen=True)
class Transition:
    """A target whose status moved to at_risk, off_track or reached; ``previous`` None: first seen."""

    target: TargetStatus
    previous: str | None
    first_seen: bool


def transitions(previous: Mapping[str, str | None], current: Iterable[TargetStatus]) -> list[Transition]:
    """Targets now at_risk or off_track whose status differs from ``previous`` (target id -> status),
    and targets that moved to reached.

    A target not in ``previous`` (the first snapshot read, or a new target) is alerted when it
    is already at risk or off track. Moves to on_track (or to no status) are not alerted. A move
    to reached from a known earlier status is good news, sent once as a notice (no risk); a
    target first seen already reached is no news and sends nothing. Reached is sticky in the
    marts, so a target leaves it only when its definition changes (then the usual rules apply).
    """
    out = []
    for target in current:
        before = previous.get(target.target_id)
        seen = target.target_id in previous
        if target.status in ALERT_STATUSES and (not seen or before != target.status):
            out.append(Transition(target, before, not seen))
        elif target.status == REACHED and seen and before != REACHED:
            out.append(Transition(target, before, False))
    return out


def target_status_changed(change: Transition, snapshot: str) -> Alert:
    """A target moved to at_risk or off_track: its figures, deadlines and the pace it needs
    (a move to reached: :func:`target_reached`)."""
    t = change.target
    if t.status == REACHED:
        return target_reached(change, snapshot)
    was = "first published build read" if change.first_seen else (change.previous or "no status")
    subject = f"{PREFIX} target {t.target_id} is now {t.status} (was {was})"
    meaning = {
        "at_risk": "projected to reach the amount after the stretch deadline, by the final deadline",
        "off_track": "not projected to reach the amount by the final deadline",
    }
    lines = [
        f"Target {t.target_id} ({t.name}) is {t.status}: {meaning.get(t.status or '', '')}.",
        f"Previous status: {was}.",
        "",
        f"  as of:               {t.date} (data through {t.data_through})",
        f"  cumulative net EUR:  {_eur(t.cumulative_net_eur)} of {_eur(t.target_eur)}"
        + (f" ({t.pct_of_target}%)" if t.pct_of_target is not None else ""),
        f"  30-day run-rate:     {_eur(t.run_rate_30d)} EUR/day",
        f"  projected to reach:  {t.projected_completion_date or 'never at the current run-rate'}",
        f"  stretch deadline:    {t.stretch_deadline} (needs {_eur(t.pace_needed_stretch)} EUR/day)",
        f"  final deadline:      {t.final_deadline} (needs {_eur(t.pace_needed_final)} EUR/day)",
        "",
        f"Published snapshot: {snapshot}",
        "Details: marts.export_progress_latest and marts.export_progress_daily in the snapshot.",
    ]
    key = f"target:{t.target_id}:{Path(snapshot).name}"
    return Alert("target_status", subject, "\n".join(lines), (key,), t.target_id)


def target_reached(change: Transition, snapshot: str) -> Alert:
    """Good news: the cumulative reached the amount (the date, and whether by the stretch deadline)."""
    t = change.target
    when = (
        "by the stretch deadline"
        if t.reached_by_stretch
        else "after the stretch deadline"
        + (", by the final deadline" if t.reached_on and t.final_deadline and t.reached_on <= t.final_deadline else "")
    )
    subject = f"{PREFIX} target {t.target_id} reached on {t.reached_on} ({when})"
    lines = [
        f"Good news: target {t.target_id} ({t.name}) reached its amount on {t.reached_on}, {when}.",
        f"Previous status: {change.previous or 'no status'}. This is a notice, not a risk alert:",
        "the status stays reached from now on.",
        "",
        f"  as of:               {t.date} (data through {t.data_through})",
        f"  cumulative net EUR:  {_eur(t.cumulative_net_eur)} of {_eur(t.target_eur)}"
        + (f" ({t.pct_of_target}%)" if t.pct_of_target is not None else ""),
        f"  stretch deadline:    {t.stretch_deadline}",
        f"  final deadline:      {t.final_deadline}",
        "",
        f"Published snapshot: {snapshot}",
        "Details: marts.export_progress_latest and marts.export_progress_daily in the snapshot.",
    ]
    key = f"target:{t.target_id}:{Path(snapshot).name}"
    return Alert("target_reached", subject, "\n".join(lines), (key,), t.target_id)


def _eur(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


# ---- a late build (Airflow deadline) -----------------------------------------------------


def build_late(dag_id: str, run_id: str, queued_at: str | None, deadline: str | None, within: timedelta) -> Alert:
    """A ``warehouse_build`` run that has not succeeded within its deadline (Airflow deadline alert)."""
    subject = f"{PREFIX} {dag_id} has not succeeded within {_duration(within)}: run {run_id}"
    body = "\n".join(
        [
            f"The {dag_id} run {run_id} was queued at {queued_at} and had not succeeded by its deadline",
            f"{deadline} ({_duration(within)} after it was queued; XBORDER_BUILD_DEADLINE_MINUTES).",
            "Until it succeeds, analysts read the previous snapshot and the reports are not refreshed.",
            "",
            "Look at the run in the Airflow UI: a task waiting for the pool xborder_warehouse (another",
            "writer), retrying a locked warehouse, or a failed gate (its own alert names the rule).",
        ]
    )
    return Alert("build_late", subject, body)


def _duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:g} h"


# ---- what is due, from the warehouse -----------------------------------------------------


@dataclass
class Due:
    """Alerts due now and the target statuses of the published snapshot read (recorded once sent)."""

    alerts: list[Alert] = field(default_factory=list)
    snapshot: str | None = None
    statuses: dict[str, str | None] = field(default_factory=dict)


def rejected_files(con: duckdb.DuckDBPyConnection) -> list[RejectedFile]:
    """Rejected or held files not alerted yet, oldest first, with their whole-file quarantine reason."""
    rows = con.execute(
        """SELECT l.path, l.feed, l.source, l.status, q.reason, l.message, q.line_number, l.loaded_at,
                  l.batch_id, l.sha256
           FROM audit.load_ledger l
           LEFT JOIN (SELECT sha256, path, arg_min(reason, quarantine_id) AS reason,
                             arg_min(line_number, quarantine_id) AS line_number
                      FROM audit.quarantine WHERE raw_row IS NULL GROUP BY sha256, path) q USING (sha256, path)
           WHERE l.status IN ('rejected', 'held')
             AND 'file:' || l.sha256 || ':' || l.path NOT IN (SELECT alert_key FROM audit.alerts_sent)
           ORDER BY l.loaded_at, l.path"""
    ).fetchall()
    return [RejectedFile(*row) for row in rows]


def last_sales_load(con: duckdb.DuckDBPyConnection) -> tuple[datetime | None, str | None]:
    """When the last sales file that loaded rows was loaded (ledger time, UTC) and its path."""
    rows = con.execute(
        """SELECT loaded_at, path FROM audit.load_ledger
           WHERE feed = 'sales' AND status = 'loaded' AND rows_loaded > 0
           ORDER BY loaded_at DESC, path DESC LIMIT 1"""
    ).fetchall()
    return (rows[0][0], rows[0][1]) if rows else (None, None)


STATUS_COLUMNS = [
    "target_id",
    "name",
    "status",
    "date",
    "cumulative_net_eur",
    "target_eur",
    "pct_of_target",
    "run_rate_30d",
    "pace_needed_stretch",
    "pace_needed_final",
    "projected_completion_date",
    "stretch_deadline",
    "final_deadline",
    "data_through",
    "reached_on",
    "reached_by_stretch",
]


def published_statuses(snapshot: Path) -> list[TargetStatus]:
    """Every target's headline in a published snapshot (opened read-only, as analysts do)."""
    import duckdb

    with duckdb.connect(str(snapshot), read_only=True) as con:
        present = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'marts' AND table_name = 'export_progress_latest'"
            ).fetchall()
        }
        # a snapshot published before a column existed reads it as NULL
        columns = ", ".join(c if c in present else f"NULL AS {c}" for c in STATUS_COLUMNS)
        rows = con.execute(
            f"SELECT {columns} FROM marts.export_progress_latest ORDER BY position, target_id"
        ).fetchall()
    return [TargetStatus(*row) for row in rows]


def recorded_statuses(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str | None, str]]:
    """Target id -> (status last recorded, the snapshot it was read from)."""
    rows = con.execute("SELECT target_id, status, snapshot FROM audit.alert_target_status").fetchall()
    return {t: (s, snap) for t, s, snap in rows}


def collect(con: duckdb.DuckDBPyConnection, config: AlertConfig, now: datetime, snapshot: Path | None) -> Due:
    """The alerts due now: rejected files, a stale sales feed, target status transitions.

    ``snapshot``: the published snapshot (None before the first publication); a target whose
    status was already recorded from this snapshot yields no transition.
    """
    due = Due()
    files = rejected_files(con)
    if files:
        due.alerts.append(files_rejected(files))
    last, path = last_sales_load(con)
    stale = sales_stale(last, path, config.stale_sales_hours, now)
    if stale and not already_sent(con, stale.keys):
        due.alerts.append(stale)
    if snapshot is not None:
        recorded = recorded_statuses(con)
        fresh = [t for t in published_statuses(snapshot) if recorded.get(t.target_id, (None, ""))[1] != str(snapshot)]
        previous = {target: status for target, (status, _) in recorded.items()}
        due.snapshot = str(snapshot)
        due.statuses = {t.target_id: t.status for t in fresh}
        due.alerts += [target_status_changed(c, str(snapshot)) for c in transitions(previous, fresh)]
    return due


def already_sent(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> bool:
    """Whether every key was sent already."""
    ((found,),) = con.execute(
        "SELECT count(*) FROM audit.alerts_sent WHERE list_contains(?, alert_key)", [list(keys)]
    ).fetchall()
    return found == len(set(keys))


def record_sent(
    con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert], recipients: Sequence[str], now: datetime
) -> None:
    """Remember the alerts sent (one row per key)."""
    rows = [(key, a.kind, a.subject, ",".join(recipients), now) for a in alerts for key in a.keys]
    if rows:
        con.executemany("INSERT OR REPLACE INTO audit.alerts_sent VALUES (?, ?, ?, ?, ?)", rows)


def record_statuses(
    con: duckdb.DuckDBPyConnection, snapshot: str, statuses: Mapping[str, str | None], now: datetime
) -> None:
    """The statuses read from ``snapshot``: the baseline for the next publication."""
    rows = [(target, status, snapshot, now) for target, status in statuses.items()]
    if rows:
        con.executemany("INSERT OR REPLACE INTO audit.alert_target_status VALUES (?, ?, ?, ?)", rows)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def run_alerts(
    send: Callable[[Alert], None],
    *,
    config: AlertConfig,
    settings: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Collect what is due (under the run lock), send each alert, record what was sent.

    Sending happens outside the lock (a slow mail server never blocks a load). An alert whose
    sending raised is not recorded, so the next run sends it again; the error is re-raised after
    the alerts sent before it are recorded. Without recipients nothing is sent or recorded.
    """
    from pipelines.runner import run_lock
    from pipelines.settings import get_settings
    from pipelines.snapshot import NoSnapshot, current_snapshot
    from pipelines.warehouse import migrate, session, transaction

    settings = settings or get_settings()
    now = now or _utcnow()
    try:
        snapshot: Path | None = current_snapshot(settings)
    except NoSnapshot:
        snapshot = None
    with run_lock(settings), session(settings=settings) as con:
        migrate(con, settings.sql_dir)
        due = collect(con, config, now, snapshot)
    summary: dict[str, Any] = {"due": [a.subject for a in due.alerts], "sent": 0, "recipients": len(config.recipients)}
    if not config.recipients:
        for alert in due.alerts:
            log.warning("alert not sent (no recipients: set XBORDER_ALERT_TO): %s", alert.subject)
        return summary
    sent: list[Alert] = []
    failure: BaseException | None = None
    for alert in due.alerts:
        try:
            send(alert)
        except Exception as exc:  # noqa: BLE001 - recorded below, re-raised after the sent ones are kept
            failure = exc
            break
        sent.append(alert)
    unsent = {a.target_id for a in due.alerts[len(sent) :] if a.target_id}
    with run_lock(settings), session(settings=settings) as con, transaction(con):
        record_sent(con, sent, config.recipients, now)
        if due.snapshot:
            kept = {t: s for t, s in due.statuses.items() if t not in unsent}
            record_statuses(con, due.snapshot, kept, now)
    summary["sent"] = len(sent)
    if failure is not None:
        raise failure
    return summary
