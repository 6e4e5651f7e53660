"""Alerts sent for real: the DAGs run with ``dag.test()`` against a local SMTP server (aiosmtpd).

One module-scoped story over a small generated sample, each step's e-mails checked as they
arrive: the first pipeline run (a truncated sales file is rejected), a new targets file that puts
the headline target off track, a sales feed gone quiet, a catalogue whose gate fails (in its
feed DAG and again in the build's ``feed_gates``), and the build's deadline alert run the way the
triggerer runs it. Every message goes through the SMTP provider's ``SmtpNotifier`` and the
Airflow connection ``xborder_smtp``; the tests read subject, recipients and body off the wire.
"""

from __future__ import annotations

import asyncio
import email
import html
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
import yaml
from aiosmtpd.controller import Controller

from pipelines.airflow_setup import DAG_ORDER, load_dags, run_dag
from pipelines.generate import generate
from pipelines.settings import Settings, reset_settings
from tests.quality.conftest import BROKEN_CATALOGUE, broken_catalogue_text

pytestmark = pytest.mark.e2e

START, END = date(2019, 10, 1), date(2019, 12, 31)
TEAM = "data-team@example.com"
CUT = "sales/own_webshop/2019-12-31/late-cut.csv"
BROKEN = BROKEN_CATALOGUE
XBORDER_ENV = ("XBORDER_HOME", "XBORDER_LANDING", "XBORDER_WAREHOUSE", "XBORDER_TARGETS_FILE")


@dataclass
class Mail:
    subject: str
    to: list[str]
    sender: str
    kind: str | None
    body: str  # the HTML part as text (tags stripped, entities unescaped)


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        part = message.get_body(preferencelist=("html",))
        text = html.unescape(re.sub(r"<[^>]+>", "", part.get_content() if part else ""))
        self.mails.append(
            Mail(str(message["Subject"]), list(envelope.rcpt_tos), envelope.mail_from, message["X-Xborder-Alert"], text)
        )
        return "250 Message accepted for delivery"

    def take(self) -> list[Mail]:
        """The messages received since the last call."""
        mails, self.mails = self.mails, []
        return mails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        handler.port = controller.port  # type: ignore[attr-defined]
        yield handler
    finally:
        controller.stop()


def set_amount(home: Path, amount: str) -> None:
    """Give the headline target another amount in the sample's targets file."""
    path = home / "targets.sample.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["targets"][0]["amount"] = amount
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def truncated_sales_file(landing: Path) -> Path:
    """An own_webshop file cut off mid-row (no final newline): rejected as a whole."""
    source = sorted((landing / "sales" / "own_webshop").rglob("*.csv"))[0]
    header, first, *_ = source.read_text(encoding="utf-8").splitlines()
    path = landing / CUT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{header}\n{first}\n{first[: len(first) // 2]}", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def story(airflow_home: Path, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The sample, the SMTP connection and recipients in the environment, the DAGs parsed."""
    home = tmp_path_factory.mktemp("alerts") / "home"
    generate(home / "landing", order_lines=2_000, seed=5, start=START, end=END)
    set_amount(home, "1.00")  # reached at once (status reached, sticky)
    truncated_sales_file(home / "landing")
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": inbox.port,  # type: ignore[attr-defined]
        "extra": {"from_email": "xborder@example.com", "disable_tls": True, "disable_ssl": True, "retry_limit": 0},
    }
    with pytest.MonkeyPatch.context() as mp:
        for name in XBORDER_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("XBORDER_HOME", str(home))
        mp.setenv("XBORDER_LOCK_TIMEOUT_S", "10")
        mp.setenv("AIRFLOW_CONN_XBORDER_SMTP", json.dumps(connection))
        mp.setenv("XBORDER_ALERT_TO", TEAM)
        mp.setenv("XBORDER_STALE_SALES_HOURS", "24")
        reset_settings()
        try:
            yield SimpleNamespace(home=home, settings=Settings(home=home), dags=load_dags(), runs={})
        finally:
            reset_settings()


def warehouse(story: SimpleNamespace, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(story.settings.warehouse_path), read_only=read_only)


def only(mails: list[Mail], kind: str) -> list[Mail]:
    return [m for m in mails if m.kind == kind]


def test_1_a_rejected_file_is_mailed_after_the_pipeline_runs(story: SimpleNamespace, inbox: Inbox) -> None:
    story.runs.update({dag_id: run_dag(story.dags[dag_id]) for dag_id in DAG_ORDER})
    with warehouse(story) as con:
        ((reason, line, message),) = con.execute(
            """SELECT q.reason, q.line_number, l.message FROM audit.load_ledger l
               JOIN audit.quarantine q USING (sha256, path) WHERE l.path = ? AND l.status = 'rejected'""",
            [CUT],
        ).fetchall()
        (status,) = con.execute("SELECT status FROM marts.export_progress_latest WHERE position = 0").fetchone()
    assert reason == "truncated_file" and status == "reached"
    mails = inbox.take()
    assert (
        [(m.kind, m.subject) for m in mails] == [("file_rejected", f"[xborder] file rejected: {CUT} (truncated_file)")]
    )  # first read already reached (no news) and a target without an amount: no status mail; sales just loaded: not stale
    mail = mails[0]
    assert mail.to == [TEAM] and mail.sender == "xborder@example.com"
    assert f"  file:    {CUT}\n  feed:    sales (own_webshop)\n  status:  rejected" in mail.body
    assert f"  reason:  truncated_file (line {line})" in mail.body
    assert f"  message: {message}" in mail.body and message.startswith(f"{CUT}: ")
    assert story.runs["alerts"].results("send_alerts")[0]["sent"] == 1


def test_2_a_target_moving_off_track_is_mailed_once(story: SimpleNamespace, inbox: Inbox) -> None:
    set_amount(story.home, "999999999999.00")
    build = run_dag(story.dags["warehouse_build"])
    alerts = run_dag(story.dags["alerts"])
    assert build.state == alerts.state == "success"
    snapshot = build.results("publish_snapshot")[0]
    mails = inbox.take()
    assert [(m.kind, m.subject) for m in mails] == [
        ("target_status", "[xborder] target uk_goods_to_cn is now off_track (was reached)")
    ]
    body = mails[0].body
    assert "Target uk_goods_to_cn (UK goods to Chinese consumers (sample scale)) is off_track" in body
    assert " of 999,999,999,999.00 (" in body
    assert f"Published snapshot: {snapshot}" in body
    with warehouse(story) as con:
        assert con.execute(
            "SELECT target_id, status, snapshot FROM audit.alert_target_status ORDER BY 1"
        ).fetchall() == [
            ("all_goods_to_cn", None, snapshot),
            ("uk_goods_to_cn", "off_track", snapshot),
        ]
    run_dag(story.dags["alerts"])  # the same snapshot again: nothing new to tell
    assert inbox.take() == []


def test_3_a_stale_sales_feed_is_mailed_once_per_spell(story: SimpleNamespace, inbox: Inbox) -> None:
    with warehouse(story, read_only=False) as con:  # as if the last sales had loaded three days ago
        con.execute("UPDATE audit.load_ledger SET loaded_at = loaded_at - INTERVAL 3 DAY WHERE feed = 'sales'")
        ((last, path),) = con.execute(
            """SELECT loaded_at, path FROM audit.load_ledger WHERE feed = 'sales' AND status = 'loaded'
               AND rows_loaded > 0 ORDER BY loaded_at DESC, path DESC LIMIT 1"""
        ).fetchall()
    run_dag(story.dags["alerts"])
    mails = inbox.take()
    assert [m.kind for m in mails] == ["feed_stale"]
    assert re.fullmatch(
        r"\[xborder\] sales feed stale: no new sales loaded for 3\.0 days \(threshold 24 h\)", mails[0].subject
    )
    assert f"No sales file has loaded rows since {last:%Y-%m-%d %H:%M:%S} UTC" in mails[0].body
    assert f"  last file loaded: {path}" in mails[0].body
    run_dag(story.dags["alerts"])
    assert inbox.take() == []


def broken_catalogue(landing: Path) -> None:
    """GB001's last snapshot again, dated later, with every third row's HS code made up."""
    (landing / BROKEN).write_text(broken_catalogue_text(landing), encoding="utf-8")


def test_4_a_failed_gate_is_mailed_with_its_rule_table_and_observed_value(story: SimpleNamespace, inbox: Inbox) -> None:
    broken_catalogue(story.settings.landing_dir)
    feed = run_dag(story.dags["supplier_catalogues"], check=False)
    assert feed.state == "failed" and feed.states()["quality_catalogues"] == ["failed"]
    with warehouse(story) as con:
        ((gate_run, table, observed),) = con.execute(
            """SELECT r.run_id, r.table_name, r.observed_value FROM audit.dq_results r
               JOIN audit.dq_gate_runs g USING (run_id)
               WHERE g.stage = 'catalogues' AND NOT g.passed AND NOT r.success AND r.severity = 'critical'"""
        ).fetchall()
    mails = inbox.take()
    assert [m.kind for m in mails] == ["gate_failed"]
    mail = mails[0]
    assert mail.subject == (f"[xborder] quality gate 'catalogues' failed: catalogue_landed.mostly_loaded on {table}")
    assert "in supplier_catalogues.quality_catalogues (Airflow run manual__" in mail.body
    assert f"Gate 'catalogues', gate run {gate_run} (1 critical failure(s)):" in mail.body
    assert "  - rule:        catalogue_landed.mostly_loaded\n" in mail.body
    assert f"    table:       {table}\n" in mail.body
    # what was observed, with the first offending row: the file responsible
    assert f"    observed:    {observed} row unexpected, first: source_file={BROKEN}, quarantined=" in mail.body
    assert f"SELECT * FROM audit.dq_results WHERE run_id = '{gate_run}'" in mail.body

    # the build gates the pending batch again: its feed_gates fails, and says so by e-mail
    build = run_dag(story.dags["warehouse_build"], check=False)
    assert build.states()["feed_gates"] == ["failed"] and build.state == "failed"
    mails = inbox.take()
    assert [m.kind for m in mails] == ["gate_failed"]
    assert mails[0].subject.startswith("[xborder] quality gate 'catalogues' failed: catalogue")
    assert "in warehouse_build.feed_gates (Airflow run manual__" in mails[0].body


def test_5_the_build_deadline_alert_mails_through_the_triggerer_callback(story: SimpleNamespace, inbox: Inbox) -> None:
    """The DAG's DeadlineAlert callback, run as the triggerer runs it with the scheduler's context."""
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse
    from airflow.models.dagrun import DagRun
    from airflow.triggers.callback import CallbackTrigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    (deadline,) = story.dags["warehouse_build"].deadline
    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == "warehouse_build").order_by(DagRun.id.desc()).limit(1)
        ).one()
        context = {
            "dag_run": DAGRunResponse.model_validate(run).model_dump(mode="json"),
            "deadline": {"id": "d-1", "deadline_time": "2019-12-31T12:00:00+00:00"},
        }
        run_id = run.run_id
    trigger = CallbackTrigger(deadline.callback.path, {**deadline.callback.kwargs, "context": context})

    async def events() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    payloads = asyncio.run(events())
    expected = f"[xborder] warehouse_build has not succeeded within 2 h: run {run_id}"
    assert [p["state"] for p in payloads] == ["running", "success"], payloads
    assert payloads[-1]["body"] == expected
    mails = inbox.take()
    assert [(m.kind, m.subject, m.to) for m in mails] == [("build_late", expected, [TEAM])]
    assert (
        f"The warehouse_build run {run_id} was queued at {context['dag_run']['queued_at'] or context['dag_run']['start_date']}"
        in mails[0].body
    )
    assert "had not succeeded by its deadline\n2019-12-31T12:00:00+00:00 (2 h after it was queued" in mails[0].body
