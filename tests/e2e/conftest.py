"""End-to-end tests run Airflow from a throwaway AIRFLOW_HOME, configured before Airflow is imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipelines.airflow_setup import DAGS_FOLDER
from tests.dags.airflow_env import configure_airflow, migrated_airflow

configure_airflow()
if str(DAGS_FOLDER) not in sys.path:  # as Airflow does: DAG files import their shared module
    sys.path.append(str(DAGS_FOLDER))


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """The session's AIRFLOW_HOME, its metadata database migrated and the pool created."""
    return migrated_airflow()
