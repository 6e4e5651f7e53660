"""A throwaway AIRFLOW_HOME for the test session, set before anything imports Airflow.

Airflow reads its configuration at import, so the conftests of ``tests/dags`` and ``tests/e2e``
call :func:`configure_airflow` when pytest loads them (before any test module imports Airflow).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from pipelines.airflow_setup import AirflowSetupError, ensure_pool, environment, migrate_db

_state: dict[str, Path] = {}


def configure_airflow() -> Path:
    """Point this process at a fresh AIRFLOW_HOME (once per session); return it."""
    if "home" not in _state:
        if "airflow.configuration" in sys.modules:
            raise AirflowSetupError("Airflow was imported before the test AIRFLOW_HOME was set")
        home = Path(tempfile.mkdtemp(prefix="xborder-airflow-"))
        env = environment(home)
        env.pop("XBORDER_HOME")  # the tests' own `settings` fixture owns XBORDER_HOME
        os.environ.update(env)
        atexit.register(shutil.rmtree, home, True)
        _state["home"] = home
    return _state["home"]


def migrated_airflow() -> Path:
    """The session's AIRFLOW_HOME with its metadata database migrated and the pool created (once)."""
    home = configure_airflow()
    if "migrated" not in _state:
        migrate_db({**environment(home), "XBORDER_HOME": os.environ.get("XBORDER_HOME", "data")})
        ensure_pool()
        _state["migrated"] = home
    return home
