"""The GX project in ``pipelines/resources/great_expectations/`` as a file data context.

Suites, validation definitions and checkpoints are read from the repository (committed);
validation results and Data Docs go to ``settings.gx_output_dir`` (under ``XBORDER_HOME``),
through the ``${XBORDER_GX_OUTPUT}`` substitution in ``great_expectations.yml``. Nothing is
written into the repository at run time. Contexts are cached per (project, output) folder:
loading one costs milliseconds once GX is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.settings import Settings

if TYPE_CHECKING:
    from great_expectations.data_context import FileDataContext

OUTPUT_VARIABLE = "XBORDER_GX_OUTPUT"
_contexts: dict[tuple[Path, Path], FileDataContext] = {}


def get_context(settings: Settings) -> FileDataContext:
    """The project's file data context, progress bars off, output under ``settings.gx_output_dir``."""
    key = (settings.gx_dir.resolve(), settings.gx_output_dir)
    if key not in _contexts:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        import pipelines.quality.datasource  # noqa: F401  (registers the xborder_duckdb datasource type)

        settings.gx_output_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(
            mode="file",
            context_root_dir=key[0],
            runtime_environment={OUTPUT_VARIABLE: str(settings.gx_output_dir)},
        )
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        _contexts[key] = context
    return _contexts[key]
