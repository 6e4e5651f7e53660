"""``pipelines.celery_compat``: the pinned Celery provider on the pinned Celery 5.7.

What the provider does with Celery's database result backend, done here for real on a SQLite
result database: its import of ``celery.backends.database.retry`` works, and the scheduler's
bulk state fetch (rows read straight from ``celery_taskmeta``, then ``meta_from_decoded``) turns a
stored failure back into the exception instead of raising ``TypeError``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery, states
from celery.backends.database import DatabaseBackend, session_cleanup
from sqlalchemy import select

from pipelines import celery_compat
from tests import REPO_ROOT


@pytest.fixture
def backend(tmp_path: Path) -> DatabaseBackend:
    celery_compat.install()
    app = Celery(broker="memory://", backend=f"db+sqlite:///{tmp_path / 'results.db'}")
    app.conf.result_extended = True
    return app.backend


def test_the_provider_imports_and_the_retry_decorator_retries_database_errors() -> None:
    from sqlalchemy.exc import OperationalError

    celery_compat.install()
    from celery.backends.database import retry  # what the provider imports

    calls: list[int] = []

    @retry
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("SELECT 1", {}, Exception("connection reset"))
        return "ok"

    assert flaky() == "ok" and len(calls) == 3

    @retry
    def broken() -> None:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("down"))

    calls.clear()
    with pytest.raises(OperationalError):
        broken()
    assert len(calls) == 3


def test_a_stored_failure_reads_back_as_the_provider_reads_it(backend: DatabaseBackend) -> None:
    backend.mark_as_failure("t-failed", ConnectionRefusedError(111, "Connection refused"))
    backend.mark_as_done("t-done", None)
    session = backend.ResultSession()
    with session_cleanup(session):  # as BulkStateFetcher._get_many_from_db_backend does
        rows = session.scalars(select(backend.task_cls).where(backend.task_cls.task_id.in_(["t-failed", "t-done"])))
        metas = {row.task_id: backend.meta_from_decoded(row.to_dict()) for row in rows}
    assert metas["t-failed"]["status"] == states.FAILURE
    assert isinstance(metas["t-failed"]["result"], ConnectionRefusedError)
    assert metas["t-failed"]["result"].args == (111, "Connection refused")
    assert (metas["t-done"]["status"], metas["t-done"]["result"]) == (states.SUCCESS, None)
    # Celery's own read path (already decoded) is unchanged
    assert isinstance(backend.get_task_meta("t-failed")["result"], ConnectionRefusedError)


def test_airflow_celery_executor_imports_through_the_wrapper(tmp_path: Path) -> None:
    """In a process of its own (Airflow reads its configuration at import)."""
    code = (
        "import pipelines.celery_compat as c; c.install(); "
        "from airflow.providers.celery.executors import celery_executor_utils; print('imported')"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("imported")
