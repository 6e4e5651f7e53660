"""The OpenLineage provider's extractor for the xborder tasks (``[openlineage] extractors``).

Every xborder task is a ``@task`` that runs one ``pipelines.runner`` step through the DAGs'
``call``, which records the step's inputs and outputs (``pipelines.lineage.remember``). On
completion this extractor hands them to the provider, which emits them on the task's COMPLETE
event beside its own run facets. At start nothing is known yet (which files a load picks is
decided when it runs), so START events carry no datasets.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage

from pipelines import lineage


class XborderTaskExtractor(BaseExtractor):
    """Datasets of the step an xborder ``@task`` ran."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["_PythonDecoratedOperator"]

    def _execute_extraction(self) -> OperatorLineage | None:
        return OperatorLineage()

    def extract_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        recorded = lineage.take()
        if recorded is None:
            return OperatorLineage()
        return OperatorLineage(inputs=list(recorded.inputs), outputs=list(recorded.outputs))

    def extract_on_failure(self, task_instance: Any) -> OperatorLineage | None:
        lineage.take()  # a failed step's outputs were rolled back: report none
        return OperatorLineage()
