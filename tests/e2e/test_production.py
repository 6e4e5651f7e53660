"""The production profile end to end: Postgres, Redis, the scheduler and two Celery workers.

One module-scoped run (``pipelines.airflow_prod``, under a temporary directory, every port on
127.0.0.1): a small generated sample is landed, the profile is started with its DAGs paused, the
feed DAGs are triggered through the REST API and every DAG unpaused; then the **scheduler** runs
them on the Celery workers (no ``dag.test()``), and the feeds' asset events start
``warehouse_build``. Once nothing is queued or running any more, what the metadata database
says is read, and everything is stopped. The tests then check that every run succeeded, that the
marts equal an independent SQL computation to the cent, that no two tasks of the one-slot pool
``xborder_warehouse`` ever overlapped, that the tasks ran on the two Celery workers, and that
the stop left no process behind.

Skipped only when PostgreSQL 15 or Redis is not installed (``make services`` installs them;
``make test`` runs it first).
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import psycopg2
import pytest
import yaml

from pipelines.airflow_prod import (
    POOL,
    WORKERS,
    Profile,
    binaries_missing,
    configure,
    free_port,
    session_members,
    start,
    status,
    stop,
)
from pipelines.generate import generate
from pipelines.local_processes import HOST, port_in_use
from pipelines.settings import Settings
from tests.e2e.test_airflow_dags import independent_daily
from tests.e2e.test_generated_pipeline import reference_net

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(binaries_missing()),
        reason=f"PostgreSQL / Redis not installed ({', '.join(binaries_missing())}): run `make services`",
    ),
]

START, END = date(2019, 11, 1), date(2019, 11, 14)
FEEDS = ("fx_rates", "supplier_catalogues", "sales_events")
DAGS = (*FEEDS, "warehouse_build", "alerts")
SETTLE_TIMEOUT_S = 900


def api(profile: Profile, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    """One call of the Airflow REST API (JSON in, JSON out)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(profile.api_url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def query(profile: Profile, sql: str) -> list[dict[str, Any]]:
    """Rows of the Airflow metadata database (Postgres), as dicts."""
    with psycopg2.connect(profile.db_url) as con, con.cursor() as cur:
        cur.execute(sql)
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def settled(profile: Profile) -> bool:
    """Every triggered feed run finished, nothing queued or running (runs, Celery tasks), no asset event waiting.

    A run that failed stops the wait at once with the task instances that did not succeed.
    """
    runs = query(profile, "SELECT dag_id, run_id, run_type, state FROM dag_run")
    failed = [r for r in runs if r["state"] == "failed"]
    if failed:
        tis = query(
            profile,
            "SELECT dag_id, run_id, task_id, map_index, state FROM task_instance "
            "WHERE state NOT IN ('success', 'skipped') OR state IS NULL",
        )
        raise AssertionError(f"DAG runs failed: {failed}; task instances: {tis}")
    manual = {r["dag_id"] for r in runs if r["run_type"] == "manual" and r["state"] == "success"}
    busy = [r for r in runs if r["state"] in ("queued", "running")]
    waiting = query(profile, "SELECT target_dag_id FROM asset_dag_run_queue")
    built = [r for r in runs if r["dag_id"] == "warehouse_build" and r["state"] == "success"]
    # a task reports its state to the API before its Celery task ends: wait for those too
    unfinished = query(profile, "SELECT task_id FROM celery_taskmeta WHERE status NOT IN ('SUCCESS', 'FAILURE')")
    return manual >= set(FEEDS) and not busy and not waiting and bool(built) and not unfinished


@pytest.fixture(scope="module")
def production() -> Iterator[SimpleNamespace]:
    """Land a sample, start the profile, let the scheduler run everything, read the results, stop."""
    root = Path(tempfile.mkdtemp(prefix="xborder-prod-"))
    root.chmod(0o755)  # PostgreSQL runs as the user `postgres`, which must reach its data directory
    home = root / "home"
    try:
        generate(
            home / "landing",
            order_lines=1_000,
            seed=7,
            start=START,
            end=END,
            suppliers=3,
            skus_per_supplier=10,
        )
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("XBORDER_HOME", str(home))  # written to the profile's env file
            profile = configure(
                root / "airflow", api_port=free_port(), dags_paused=True, api_workers=1, worker_concurrency=2
            )
        started = time.monotonic()
        services = []
        try:
            services = start(profile, say=lambda _text: None)
            running = status(profile)
            token = api(profile, "POST", "/auth/token", {"username": "admin", "password": profile.admin_password()})[
                "access_token"
            ]
            deadline = time.monotonic() + 180  # the DAG processor parses dags/ after it starts
            while {d["dag_id"] for d in api(profile, "GET", "/api/v2/dags", token=token)["dags"]} < set(DAGS):
                assert time.monotonic() < deadline, "the DAG processor did not parse the DAGs"
                time.sleep(2)
            triggered = {
                dag_id: api(profile, "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None}, token)[
                    "dag_run_id"
                ]
                for dag_id in FEEDS
            }
            for dag_id in DAGS:
                api(profile, "PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False}, token)
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while not settled(profile):
                assert time.monotonic() < deadline, f"runs not finished after {SETTLE_TIMEOUT_S}s"
                time.sleep(3)
            ran_for = time.monotonic() - started
            runs = query(profile, "SELECT dag_id, run_id, run_type, state FROM dag_run ORDER BY id")
            tis = query(
                profile,
                """SELECT ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.state, ti.pool, ti.queue,
                          ti.hostname, ti.start_date, ti.end_date, ti.external_executor_id, c.worker, c.status
                   FROM task_instance ti LEFT JOIN celery_taskmeta c ON c.task_id = ti.external_executor_id
                   ORDER BY ti.start_date""",
            )
        finally:
            stop(profile, timeout=30, say=lambda _text: None)
        leftovers = [pid for s in services for pid in session_members(s.pid)]
        ports_open = [p for p in (profile.postgres_port, profile.redis_port, profile.api_port) if port_in_use(p)]
        yield SimpleNamespace(
            profile=profile,
            settings=Settings(home=home),
            running=running,
            triggered=triggered,
            runs=runs,
            tis=tis,
            services=services,
            leftovers=leftovers,
            ports_open=ports_open,
            ran_for=ran_for,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_profile_ran_every_component(production: SimpleNamespace) -> None:
    running = production.running
    assert running["health"] == dict.fromkeys(["metadatabase", "scheduler", "triggerer", "dag_processor"], "healthy")
    assert running["workers"] == sorted(f"{name}@{socket.gethostname()}" for name in WORKERS)
    assert {name: p["alive"] for name, p in running["processes"].items()} == dict.fromkeys(
        ["redis", "api-server", "scheduler", "dag-processor", "triggerer", *WORKERS], True
    )
    env = production.profile.env
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert env["AIRFLOW__CELERY__BROKER_URL"].endswith(f"@{HOST}:{production.profile.redis_port}/0")


def test_the_scheduler_ran_every_dag_and_the_assets_triggered_the_build(production: SimpleNamespace) -> None:
    runs = production.runs
    assert {r["state"] for r in runs} == {"success"}, runs
    manual = {r["dag_id"]: r["run_id"] for r in runs if r["run_type"] == "manual"}
    assert manual == production.triggered  # the three feed runs triggered through the REST API
    builds = [r for r in runs if r["dag_id"] == "warehouse_build"]
    assert builds and {r["run_type"] for r in builds} == {"asset_triggered"}
    assert "alerts" in {r["dag_id"] for r in runs}
    by_run = {(t["dag_id"], t["run_id"]) for t in production.tis if t["state"] == "success"}
    assert all((r["dag_id"], r["run_id"]) in by_run for r in runs)


def test_marts_equal_an_independent_sql_computation(production: SimpleNamespace) -> None:
    settings = production.settings
    targets = yaml.safe_load(settings.targets_path.read_text(encoding="utf-8"))["targets"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        (last_event,) = con.execute("SELECT max(event_date) FROM core.fct_sales_event").fetchone()
        for target in targets:
            mart = con.execute(
                """SELECT date, net_eur, cumulative_net_eur FROM marts.export_progress_daily
                   WHERE target_id = ? ORDER BY date""",
                [target["id"]],
            ).fetchall()
            assert mart == independent_daily(con, target, min(last_event, target["window_end"])), target["id"]
        reference_net(con, settings)  # plain SQL over the landed files, apart from the pipeline
        (expected,) = con.execute(
            "SELECT sum(net_eur) FROM reference_daily WHERE origin = 'GB' AND ship_to = 'CN'"
        ).fetchone()
        (headline,) = con.execute(
            "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = 'uk_goods_to_cn'"
        ).fetchone()
        per_day = con.execute(
            """SELECT count(*) FROM (
                 SELECT event_date, sum(net_eur) n FROM reference_daily
                 WHERE origin = 'GB' AND ship_to = 'CN' GROUP BY 1) r
               FULL JOIN (SELECT date AS event_date, net_eur n FROM marts.export_progress_daily
                          WHERE target_id = 'uk_goods_to_cn' AND net_eur <> 0) m USING (event_date)
               WHERE r.n IS DISTINCT FROM m.n"""
        ).fetchone()
    assert isinstance(headline, Decimal) and headline == expected > 0
    assert per_day == (0,)
    with duckdb.connect(str(settings.snapshot_dir / "current.duckdb"), read_only=True) as published:
        (snapshot_headline,) = published.execute(
            "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = 'uk_goods_to_cn'"
        ).fetchone()
    assert snapshot_headline == expected


def test_no_two_warehouse_tasks_ever_overlapped(production: SimpleNamespace) -> None:
    ran = [t for t in production.tis if t["pool"] == POOL and t["start_date"] and t["end_date"]]
    assert {t["dag_id"] for t in ran} == set(DAGS)
    assert len(ran) >= 25
    ran.sort(key=lambda t: t["start_date"])
    busy_until: datetime = ran[0]["end_date"]
    for before, task in zip(ran, ran[1:], strict=False):
        assert task["start_date"] >= busy_until, (before, task)
        busy_until = max(busy_until, task["end_date"])


def test_tasks_ran_on_the_celery_workers(production: SimpleNamespace) -> None:
    executed = [t for t in production.tis if t["external_executor_id"]]
    assert len(executed) >= 25
    workers = {f"{name}@{socket.gethostname()}" for name in WORKERS}
    for t in executed:  # skipped: a feed run that found no new files skips its gate itself
        assert t["state"] in {"success", "skipped"}, t
        assert (t["worker"], t["status"], t["queue"]) in {(w, "SUCCESS", "default") for w in workers}, t
    assert len({t["hostname"] for t in executed}) == 1 and executed[0]["hostname"]
    # Tasks that never ran (skipped by the scheduler: nothing to map) went to no worker.
    assert all(t["state"] == "skipped" for t in production.tis if not t["external_executor_id"])


def test_stop_leaves_no_process_and_no_open_port(production: SimpleNamespace) -> None:
    assert len(production.services) == 1 + 6  # redis and the six Airflow processes (Postgres: pg_ctl)
    assert production.leftovers == []
    assert production.ports_open == []
    assert not (production.profile.pgdata / "postmaster.pid").exists()
