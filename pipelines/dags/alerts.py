"""
### alerts: e-mail the team what needs a person (hourly, and after every publication)

Runs every hour and whenever **warehouse_build** publishes a snapshot (asset
`xborder_snapshot`). One step, **send_alerts**, decides from the warehouse what is due and sends
each alert once (`audit.alerts_sent`):

* a **rejected or held file** (`audit.load_ledger`, with the reason code from `audit.quarantine`);
* a **stale sales feed**: no sales file loaded rows for `XBORDER_STALE_SALES_HOURS` (24), measured
  on the ledger's `loaded_at`;
* a **target that moved to `at_risk` or `off_track`** in the published snapshot, relative to the
  statuses of the snapshot the alerts read before (`audit.alert_target_status`).

A failed quality gate is e-mailed at once by the failing task's `on_failure_callback`, and a
build that has not succeeded in time by **warehouse_build**'s deadline alert. SMTP connection,
recipients and thresholds: docs/airflow.md, "Alerts". No recipients: alerts are logged only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task
from xborder_alerts import send_due_alerts
from xborder_common import DEFAULT_ARGS, POOL, SNAPSHOT, START_DATE, TAGS


@dag(
    dag_id="alerts",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("@hourly", timezone="UTC"), assets=SNAPSHOT),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "alerts"],
    doc_md=__doc__,
)
def alerts() -> None:
    @task(pool=POOL, execution_timeout=timedelta(minutes=15))
    def send_alerts() -> dict[str, Any]:
        """Rejected files, a stale sales feed and target status moves not alerted yet: one e-mail each."""
        return send_due_alerts()

    send_alerts()


alerts()
