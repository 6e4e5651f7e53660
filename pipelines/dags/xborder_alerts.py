"""Alert wiring of the xborder DAGs (a helper module, not a DAG file: see ``.airflowignore``).

* :data:`ON_FAILURE`: every task's ``on_failure_callback`` (``DEFAULT_ARGS``): a failed quality
  gate (``quality_*``, ``feed_gates``) is e-mailed with its rules, any other final failure too.
* :func:`build_deadline`: the Airflow deadline alert of ``warehouse_build``: a run that has not
  succeeded ``XBORDER_BUILD_DEADLINE_MINUTES`` (120) after it was queued is e-mailed.
* :func:`send_due_alerts`: the ``alerts`` DAG's step: rejected files, a stale sales feed, targets
  moved to at_risk / off_track (``pipelines.alerts``), sent once each.

Messages are composed in ``pipelines/alerts.py`` and sent by the SMTP provider's ``SmtpNotifier``
(``pipelines/alert_mail.py``); configuration in docs/airflow.md, "Alerts".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference

from pipelines.alert_mail import deadline_missed, on_task_failure
from pipelines.alerts import AlertConfig

ON_FAILURE = [on_task_failure]


def build_deadline(dag_id: str) -> DeadlineAlert:
    """A deadline alert: ``dag_id`` not succeeded within the configured minutes after it was queued."""
    minutes = AlertConfig.from_env().build_deadline_minutes
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(deadline_missed, kwargs={"dag_id": dag_id, "minutes": minutes}),
        name=f"{dag_id}_not_succeeded_in_time",
    )


def send_due_alerts() -> dict[str, Any]:
    """Send what is due (inside a task: Airflow Variables apply); returns the subjects due and the count sent."""
    from xborder_common import apply_variables, record_lineage

    apply_variables()
    from pipelines.alert_mail import alert_config, send
    from pipelines.alerts import run_alerts

    config = alert_config()
    result = run_alerts(lambda alert: send(alert, config), config=config)
    record_lineage("send_due_alerts", (), result)
    return result
