"""Alerts sent by Airflow's SMTP provider (``SmtpNotifier``), and the Airflow callbacks that send them.

* :func:`on_task_failure`: the ``on_failure_callback`` of every task (``pipelines/dags/xborder_common.py``
  ``DEFAULT_ARGS``): a failed quality gate names its gate, rules, tables and observed values;
  any other task that failed for good names the task and its error.
* :func:`deadline_missed`: the ``AsyncCallback`` of ``warehouse_build``'s ``DeadlineAlert``; the
  triggerer runs it (so it lives in the installed package, not in ``pipelines/dags/``).
* :func:`send`: one :class:`pipelines.alerts.Alert` through ``SmtpNotifier`` and the SMTP
  connection (``XBORDER_ALERT_SMTP_CONN``, default ``xborder_smtp``).

Airflow is imported inside the functions (this module is imported by DAG files at parse time).
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta
from typing import Any

from pipelines.alerts import (
    Alert,
    AlertConfig,
    TaskRef,
    build_late,
    failed_gates,
    gate_failed,
    task_failed,
)

log = logging.getLogger(__name__)

# Airflow Variables that, when set, override the XBORDER_ALERT_* environment.
VARIABLES = {
    "xborder_alert_to": "XBORDER_ALERT_TO",
    "xborder_alert_smtp_conn": "XBORDER_ALERT_SMTP_CONN",
    "xborder_stale_sales_hours": "XBORDER_STALE_SALES_HOURS",
}


def alert_config() -> AlertConfig:
    """Recipients, connection and thresholds: the environment, overridden by the Variables that are set."""
    env = dict(os.environ)
    for variable, name in VARIABLES.items():
        value = _variable(variable)
        if value is not None:
            env[name] = str(value)
    return AlertConfig.from_env(env)


def _variable(key: str) -> Any:
    try:
        from airflow.sdk import Variable

        return Variable.get(key, default=None)
    except Exception:  # noqa: BLE001 - no Airflow context (a test, the triggerer): the environment applies
        return None


def notifier(alert: Alert, config: AlertConfig) -> Any:
    """The ``SmtpNotifier`` for one alert (sender: the connection's ``from_email`` extra)."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(
        to=list(config.recipients),
        subject=alert.subject,
        html_content=alert.html(),
        smtp_conn_id=config.smtp_conn_id,
        custom_headers={"X-Xborder-Alert": alert.kind},
    )


def send(alert: Alert, config: AlertConfig, context: Any = None) -> None:
    """Send one alert now (subject and body as composed: no template rendering)."""
    notifier(alert, config).notify(context or {})
    log.info("alert sent to %s: %s", ", ".join(config.recipients), alert.subject)


def on_task_failure(context: Any) -> None:
    """``on_failure_callback``: e-mail a failed gate (its rules) or a task that failed for good."""
    config = alert_config()
    ti = context["ti"]
    task = TaskRef(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        try_number=getattr(ti, "try_number", None),
        log_url=_log_url(ti),
    )
    error = context.get("exception")
    gates = failed_gates(error if isinstance(error, BaseException) else None)
    alert = gate_failed(gates, task) if gates else task_failed(task, error)
    if not config.recipients:
        log.warning("alert not sent (no recipients: set XBORDER_ALERT_TO): %s", alert.subject)
        return
    send(alert, config, context)


def _log_url(ti: Any) -> str | None:
    try:
        return str(ti.log_url)
    except Exception:  # noqa: BLE001 - a link is a convenience
        return None


async def deadline_missed(context: dict[str, Any] | None = None, *, dag_id: str, minutes: float) -> str:
    """``AsyncCallback`` of the build's ``DeadlineAlert``: e-mail that the run has not succeeded in time.

    ``context`` is what the scheduler passes on a missed deadline: the ``dag_run`` (as the REST
    API shows it) and the ``deadline``.
    """
    context = context or {}
    run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    alert = build_late(
        run.get("dag_id") or dag_id,
        str(run.get("dag_run_id") or run.get("run_id") or "?"),
        _text(run.get("queued_at") or run.get("start_date")),
        _text(deadline.get("deadline_time")),
        timedelta(minutes=minutes),
    )
    config = await asyncio.to_thread(alert_config)
    if not config.recipients:
        log.warning("alert not sent (no recipients: set XBORDER_ALERT_TO): %s", alert.subject)
        return alert.subject
    await notifier(alert, config).async_notify(context)
    log.info("alert sent to %s: %s", ", ".join(config.recipients), alert.subject)
    return alert.subject


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
