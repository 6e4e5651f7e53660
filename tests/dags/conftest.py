"""DAG tests run against a throwaway AIRFLOW_HOME, configured before Airflow is imported."""

import sys

from pipelines.airflow_setup import DAGS_FOLDER
from tests.dags.airflow_env import configure_airflow

configure_airflow()
if str(DAGS_FOLDER) not in sys.path:  # as Airflow does: DAG files import their shared module
    sys.path.append(str(DAGS_FOLDER))
