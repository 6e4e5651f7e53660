"""Alerts without Airflow: the messages, the status transitions, and what is due from the warehouse.

The same alerts sent for real (an SMTP server, the DAGs) are tested in ``tests/e2e/test_alerts.py``.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import alerts
from pipelines.alerts import (
    Alert,
    AlertConfig,
    AlertConfigError,
    FailedGate,
    RejectedFile,
    RuleFailure,
    TargetStatus,
    TaskRef,
)
from pipelines.settings import Settings

NOW = datetime(2024, 3, 4, 12, 0, 0)
TASK = TaskRef("warehouse_build", "feed_gates", "asset_triggered__2024-03-04T11:00:00", 1, "http://af/log")
RULE = RuleFailure(
    rule="catalogue_landed.mostly_loaded",
    expectation="unexpected_rows_expectation 'most rows of a catalogue load'",
    table="raw.catalogue_items",
    column=None,
    observed="1 row unexpected, first: catalogues/GB001/2020-01-05.csv 66.7%",
)


def status(target_id: str, value: str | None, **extra: object) -> TargetStatus:
    return TargetStatus(target_id=target_id, name=f"Target {target_id}", status=value, **extra)  # type: ignore[arg-type]


# ---- configuration -------------------------------------------------------------------------


def test_config_from_the_environment() -> None:
    config = AlertConfig.from_env(
        {
            "XBORDER_ALERT_TO": " data@example.com, ops@example.com ,",
            "XBORDER_ALERT_SMTP_CONN": "smtp_default",
            "XBORDER_STALE_SALES_HOURS": "6",
            "XBORDER_BUILD_DEADLINE_MINUTES": "45",
        }
    )
    assert config == AlertConfig(("data@example.com", "ops@example.com"), "smtp_default", 6.0, 45.0)
    assert AlertConfig.from_env({}) == AlertConfig((), "xborder_smtp", 24.0, 120.0)


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_bad_threshold_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(AlertConfigError, match=f"XBORDER_STALE_SALES_HOURS='{value}'"):
        AlertConfig.from_env({"XBORDER_STALE_SALES_HOURS": value})


# ---- messages ------------------------------------------------------------------------------


def test_a_failed_gate_names_the_gate_rule_table_and_observed_value() -> None:
    other = RuleFailure("catalogues.hs_code_known", "expect_column_values_to_be_in_set", "raw.catalogue_items",
                        "hs_code", "14 of 42 rows unexpected")  # fmt: skip
    alert = alerts.gate_failed([FailedGate("catalogues", "20240304T110000Z-ab12cd34", (RULE, other), 2)], TASK)
    assert alert.subject == (
        "[xborder] quality gate 'catalogues' failed: catalogue_landed.mostly_loaded on raw.catalogue_items (+1 more)"
    )
    body = alert.body
    assert "warehouse_build.feed_gates (Airflow run asset_triggered__2024-03-04T11:00:00, try 1)" in body
    assert "Gate 'catalogues', gate run 20240304T110000Z-ab12cd34 (2 critical failure(s)):" in body
    assert "    table:       raw.catalogue_items.hs_code\n    observed:    14 of 42 rows unexpected" in body
    assert "expectation: unexpected_rows_expectation 'most rows of a catalogue load'" in body
    assert "xborder quality --accept 20240304T110000Z-ab12cd34" in body
    assert body.endswith("Log: http://af/log")


def test_failed_gates_are_found_behind_the_airflow_exception() -> None:
    """The task raises AirflowFailException from the pipeline's error; the alert reads the gate from its cause."""
    from pipelines import runner
    from pipelines.quality.gates import GateResult, QualityGateFailed
    from pipelines.quality.results import Finding

    finding = Finding("sales", "sales", "eur_amount_present", "expect_column_values_to_not_be_null",
                      "core.fct_sales_event", "eur_amount", "critical", False, None, 3, 100, None)  # fmt: skip
    passed = Finding("sales", "sales", "rows", "expect_table_row_count_to_be_between", "core.fct_sales_event",
                     None, "critical", True, "100", None, None, None)  # fmt: skip
    result = GateResult("sales", "gate-1", [finding, passed], 0.1)
    for raised in (QualityGateFailed(result), runner.FeedGatesFailed([result.to_dict()], ["x"], [result])):
        try:
            try:
                raise raised
            except Exception as exc:
                raise RuntimeError("quality_gate: ...") from exc
        except RuntimeError as wrapped:
            gates = alerts.failed_gates(wrapped)
        assert gates == [
            FailedGate(
                "sales",
                "gate-1",
                (
                    RuleFailure(
                        "sales.eur_amount_present",
                        "expect_column_values_to_not_be_null",
                        "core.fct_sales_event",
                        "eur_amount",
                        "3 of 100 rows unexpected",
                    ),
                ),
            )
        ]
    assert alerts.failed_gates(RuntimeError("disk full")) == []
    assert alerts.failed_gates(None) == []


def test_another_failure_names_the_task_and_its_error() -> None:
    alert = alerts.task_failed(TASK, ValueError("refresh_marts: targets.yml: target x: bad window\nmore"))
    assert alert.subject == (
        "[xborder] task warehouse_build.feed_gates failed: refresh_marts: targets.yml: target x: bad window"
    )
    assert "Error (ValueError):\n  refresh_marts: targets.yml: target x: bad window\n  more" in alert.body


def rejected(path: str, reason: str | None = "truncated_file", status: str = "rejected") -> RejectedFile:
    return RejectedFile(path, "sales", "own_webshop", status, reason, f"{path}: line 2: cut; rule: csv.final_newline",
                        2, NOW, "20240304T110000Z-ffff0000", "a" * 64)  # fmt: skip


def test_a_rejected_file_names_the_file_and_the_reason() -> None:
    alert = alerts.files_rejected([rejected("sales/own_webshop/2024-03-04/cut.csv")])
    assert alert.subject == "[xborder] file rejected: sales/own_webshop/2024-03-04/cut.csv (truncated_file)"
    assert "  file:    sales/own_webshop/2024-03-04/cut.csv\n  feed:    sales (own_webshop)" in alert.body
    assert "  reason:  truncated_file (line 2)" in alert.body
    assert "  message: sales/own_webshop/2024-03-04/cut.csv: line 2: cut; rule: csv.final_newline" in alert.body
    assert alert.keys == ("file:" + "a" * 64 + ":sales/own_webshop/2024-03-04/cut.csv",)

    both = alerts.files_rejected([rejected("a.csv"), rejected("b.csv", None, "held")])
    assert both.subject == "[xborder] 2 files rejected: a.csv (truncated_file) and more"
    assert "  file:    b.csv" in both.body and "  reason:  unknown (line 2)" in both.body
    assert len(both.keys) == 2
    held = alerts.files_rejected([rejected("c.csv", "implausible_delisting", "held")])
    assert held.subject == "[xborder] file held for review: c.csv (implausible_delisting)"


def test_the_sales_feed_is_stale_after_the_threshold_only() -> None:
    last = NOW - timedelta(hours=30)
    alert = alerts.sales_stale(last, "sales/jd_worldwide/2024-03-03/e.csv", 24, NOW)
    assert alert is not None
    assert alert.subject == "[xborder] sales feed stale: no new sales loaded for 30.0 h (threshold 24 h)"
    assert "No sales file has loaded rows since 2024-03-03 06:00:00 UTC" in alert.body
    assert "  last file loaded: sales/jd_worldwide/2024-03-03/e.csv" in alert.body
    assert alert.keys == ("stale:sales:2024-03-03T06:00:00",)
    assert alerts.sales_stale(NOW - timedelta(hours=23, minutes=59), "x", 24, NOW) is None
    assert alerts.sales_stale(None, None, 24, NOW) is None  # no sales yet: nothing to be stale against
    assert "for 3.0 days" in alerts.sales_stale(NOW - timedelta(days=3), "x", 24, NOW).subject  # type: ignore[union-attr]


def test_transitions_to_at_risk_or_off_track_relative_to_the_previous_statuses() -> None:
    current = [
        status("steady", "at_risk"),
        status("worse", "off_track"),
        status("slipped", "at_risk"),
        status("better", "on_track"),
        status("recovering", "at_risk"),
        status("tracking_only", None),
        status("new", "off_track"),
    ]
    previous = {
        "steady": "at_risk",
        "worse": "at_risk",
        "slipped": "on_track",
        "better": "off_track",
        "recovering": "off_track",
        "tracking_only": None,
    }
    found = {(t.target.target_id, t.previous, t.first_seen) for t in alerts.transitions(previous, current)}
    assert found == {
        ("worse", "at_risk", False),
        ("slipped", "on_track", False),
        ("recovering", "off_track", False),
        ("new", None, True),
    }
    assert alerts.transitions({}, [status("a", "on_track"), status("b", None)]) == []


def test_a_status_move_names_the_target_its_figures_and_the_snapshot() -> None:
    target = status(
        "uk_goods_to_cn",
        "off_track",
        date=date(2019, 12, 31),
        cumulative_net_eur=Decimal("123456.78"),
        target_eur=Decimal("1000000.00"),
        pct_of_target=Decimal("12.3457"),
        run_rate_30d=Decimal("1000.00"),
        pace_needed_stretch=None,
        pace_needed_final=Decimal("2400.10"),
        projected_completion_date=date(2022, 5, 1),
        stretch_deadline=date(2020, 6, 30),
        final_deadline=date(2020, 12, 31),
        data_through=date(2019, 12, 31),
    )
    alert = alerts.target_status_changed(alerts.Transition(target, "at_risk", False), "/srv/snap/snapshot-2.duckdb")
    assert alert.subject == "[xborder] target uk_goods_to_cn is now off_track (was at_risk)"
    body = alert.body
    assert "Target uk_goods_to_cn (Target uk_goods_to_cn) is off_track: not projected" in body
    assert "  cumulative net EUR:  123,456.78 of 1,000,000.00 (12.3457%)" in body
    assert "  projected to reach:  2022-05-01" in body
    assert "  final deadline:      2020-12-31 (needs 2,400.10 EUR/day)" in body
    assert "  stretch deadline:    2020-06-30 (needs n/a EUR/day)" in body
    assert "Published snapshot: /srv/snap/snapshot-2.duckdb" in body
    assert alert.keys == ("target:uk_goods_to_cn:snapshot-2.duckdb",)
    first = alerts.target_status_changed(alerts.Transition(target, None, True), "s.duckdb")
    assert first.subject == "[xborder] target uk_goods_to_cn is now off_track (was first published build read)"


def test_a_move_to_reached_is_one_good_news_notice_not_a_risk_alert() -> None:
    current = [
        status("made_it", "reached"),
        status("made_it_from_risk", "reached"),
        status("still_reached", "reached"),
        status("first_seen_reached", "reached"),
    ]
    previous = {"made_it": "on_track", "made_it_from_risk": "off_track", "still_reached": "reached"}
    found = {(t.target.target_id, t.previous, t.first_seen) for t in alerts.transitions(previous, current)}
    # already reached when first read, or reached before: no news
    assert found == {("made_it", "on_track", False), ("made_it_from_risk", "off_track", False)}
    target = status(
        "uk_goods_to_cn",
        "reached",
        date=date(2021, 6, 30),
        cumulative_net_eur=Decimal("2200000001.00"),
        target_eur=Decimal("2200000000.00"),
        pct_of_target=Decimal("100.0000"),
        stretch_deadline=date(2020, 6, 30),
        final_deadline=date(2021, 6, 30),
        data_through=date(2021, 6, 30),
        reached_on=date(2021, 6, 29),
        reached_by_stretch=False,
    )
    alert = alerts.target_status_changed(alerts.Transition(target, "at_risk", False), "/srv/snap/snapshot-9.duckdb")
    assert alert.kind == "target_reached"
    assert alert.subject == (
        "[xborder] target uk_goods_to_cn reached on 2021-06-29 (after the stretch deadline, by the final deadline)"
    )
    assert "Good news: target uk_goods_to_cn (Target uk_goods_to_cn) reached its amount on 2021-06-29" in alert.body
    assert "This is a notice, not a risk alert" in alert.body
    assert "  cumulative net EUR:  2,200,000,001.00 of 2,200,000,000.00 (100.0000%)" in alert.body
    assert alert.keys == ("target:uk_goods_to_cn:snapshot-9.duckdb",)
    early = status("t", "reached", reached_on=date(2020, 1, 3), reached_by_stretch=True)
    assert alerts.target_status_changed(alerts.Transition(early, "on_track", False), "s").subject == (
        "[xborder] target t reached on 2020-01-03 (by the stretch deadline)"
    )


def test_a_late_build_names_the_run_and_the_deadline() -> None:
    alert = alerts.build_late(
        "warehouse_build", "asset_triggered__x", "2024-03-04 10:00:00+00:00", "2024-03-04 12:00:00+00:00",
        timedelta(minutes=120),
    )  # fmt: skip
    assert alert.subject == "[xborder] warehouse_build has not succeeded within 2 h: run asset_triggered__x"
    assert "queued at 2024-03-04 10:00:00+00:00 and had not succeeded by its deadline" in alert.body
    assert "2024-03-04 12:00:00+00:00 (2 h after it was queued" in alert.body
    assert "within 45 min" in alerts.build_late("d", "r", None, None, timedelta(minutes=45)).subject


def test_the_html_body_is_escaped() -> None:
    alert = Alert("x", "s", "rule <a> & 'b'")
    assert alert.html() == '<pre style="font-family: monospace">rule &lt;a&gt; &amp; &#x27;b&#x27;</pre>'


# ---- what is due, from the warehouse -------------------------------------------------------


def ledger_row(con: duckdb.DuckDBPyConnection, path: str, status: str, loaded_at: datetime, rows: int = 1) -> str:
    sha = hashlib.sha256(path.encode()).hexdigest()
    con.execute(
        """INSERT INTO audit.load_ledger (sha256, path, feed, source, batch_id, status, rows_read, rows_loaded,
                                          rows_quarantined, rows_duplicate, message, loaded_at)
           VALUES (?, ?, 'sales', 'own_webshop', 'b1', ?, ?, ?, ?, 0, ?, ?)""",
        [sha, path, status, rows, rows if status == "loaded" else 0, 0 if status == "loaded" else rows,
         None if status == "loaded" else f"{path}: line 2: cut", loaded_at],
    )  # fmt: skip
    if status != "loaded":
        con.execute(
            """INSERT INTO audit.quarantine (sha256, path, feed, line_number, reason, detail, batch_id)
               VALUES (?, ?, 'sales', 2, 'truncated_file', 'cut', 'b1')""",
            [sha, path],
        )
    return sha


def snapshot(settings: Settings, name: str, statuses: dict[str, str | None]) -> Path:
    """A published snapshot with marts.export_progress_latest (the columns the alerts read)."""
    folder = settings.snapshot_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.export_progress_latest (position INTEGER, target_id VARCHAR, name VARCHAR, "
            "status VARCHAR, date DATE, cumulative_net_eur DECIMAL(18,2), target_eur DECIMAL(18,2), "
            "pct_of_target DECIMAL(12,4), run_rate_30d DECIMAL(18,2), pace_needed_stretch DECIMAL(18,2), "
            "pace_needed_final DECIMAL(18,2), projected_completion_date DATE, stretch_deadline DATE, "
            "final_deadline DATE, data_through DATE)"
        )
        for i, (target, value) in enumerate(statuses.items()):
            con.execute(
                "INSERT INTO marts.export_progress_latest (position, target_id, name, status) VALUES (?, ?, ?, ?)",
                [i, target, target.upper(), value],
            )
    current = folder / "current.duckdb"
    current.unlink(missing_ok=True)
    current.symlink_to(path.name)
    return path


def test_run_alerts_sends_each_alert_once(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    ledger_row(con, "sales/own_webshop/2024-03-01/ok.csv", "loaded", NOW - timedelta(hours=30))
    ledger_row(con, "sales/own_webshop/2024-03-01/cut.csv", "rejected", NOW - timedelta(hours=29))
    con.close()
    snapshot(settings, "snapshot-1.duckdb", {"a": "on_track", "b": "at_risk", "c": None})
    config = AlertConfig(("team@example.com",), stale_sales_hours=24)
    sent: list[Alert] = []

    first = alerts.run_alerts(sent.append, config=config, settings=settings, now=NOW)
    assert [a.subject for a in sent] == [
        "[xborder] file rejected: sales/own_webshop/2024-03-01/cut.csv (truncated_file)",
        "[xborder] sales feed stale: no new sales loaded for 30.0 h (threshold 24 h)",
        "[xborder] target b is now at_risk (was first published build read)",
    ]
    assert first == {"due": [a.subject for a in sent], "sent": 3, "recipients": 1}
    assert "  reason:  truncated_file (line 2)" in sent[0].body

    # nothing new: nothing is sent again
    assert alerts.run_alerts(sent.append, config=config, settings=settings, now=NOW + timedelta(hours=1))["sent"] == 0
    assert len(sent) == 3

    # the next publication: a moves to off_track, b stays at_risk, c gets a status; a new rejection
    snapshot(settings, "snapshot-2.duckdb", {"a": "off_track", "b": "at_risk", "c": "on_track"})
    with duckdb.connect(str(settings.warehouse_path)) as again:
        ledger_row(again, "sales/own_webshop/2024-03-04/bad.csv", "rejected", NOW)
    alerts.run_alerts(sent.append, config=config, settings=settings, now=NOW + timedelta(hours=2))
    assert [a.subject for a in sent[3:]] == [
        "[xborder] file rejected: sales/own_webshop/2024-03-04/bad.csv (truncated_file)",
        "[xborder] target a is now off_track (was on_track)",
    ]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as check:
        kinds = check.execute("SELECT kind, count(*) FROM audit.alerts_sent GROUP BY ALL ORDER BY 1").fetchall()
        baseline = check.execute("SELECT target_id, status FROM audit.alert_target_status ORDER BY 1").fetchall()
    assert kinds == [("feed_stale", 1), ("file_rejected", 2), ("target_status", 2)]
    assert baseline == [("a", "off_track"), ("b", "at_risk"), ("c", "on_track")]


def test_an_alert_that_could_not_be_sent_is_sent_by_the_next_run(
    con: duckdb.DuckDBPyConnection, settings: Settings
) -> None:
    ledger_row(con, "sales/own_webshop/2024-03-04/cut.csv", "rejected", NOW)
    con.close()
    snapshot(settings, "snapshot-1.duckdb", {"a": "off_track", "b": "at_risk"})
    config = AlertConfig(("team@example.com",))
    sent: list[Alert] = []

    def flaky(alert: Alert) -> None:
        if alert.target_id == "b":
            raise ConnectionRefusedError("smtp down")
        sent.append(alert)

    with pytest.raises(ConnectionRefusedError):
        alerts.run_alerts(flaky, config=config, settings=settings, now=NOW)
    assert [a.kind for a in sent] == ["file_rejected", "target_status"]
    alerts.run_alerts(sent.append, config=config, settings=settings, now=NOW)
    assert [a.subject for a in sent[2:]] == ["[xborder] target b is now at_risk (was first published build read)"]


def test_without_recipients_nothing_is_sent_or_recorded(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    ledger_row(con, "sales/own_webshop/2024-03-04/cut.csv", "rejected", NOW)
    con.close()
    sent: list[Alert] = []
    summary = alerts.run_alerts(sent.append, config=AlertConfig(), settings=settings, now=NOW)
    assert summary == {
        "due": ["[xborder] file rejected: sales/own_webshop/2024-03-04/cut.csv (truncated_file)"],
        "sent": 0,
        "recipients": 0,
    }
    assert sent == []
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as check:
        assert check.execute("SELECT count(*) FROM audit.alerts_sent").fetchall() == [(0,)]


def test_airflow_variables_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines import alert_mail

    for name in ("XBORDER_ALERT_SMTP_CONN", "XBORDER_BUILD_DEADLINE_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XBORDER_ALERT_TO", "env@example.com")
    monkeypatch.setenv("XBORDER_STALE_SALES_HOURS", "6")
    monkeypatch.setattr(alert_mail, "_variable", {"xborder_alert_to": "var@example.com, ops@example.com"}.get)
    assert alert_mail.alert_config() == AlertConfig(("var@example.com", "ops@example.com"), "xborder_smtp", 6.0, 120.0)
