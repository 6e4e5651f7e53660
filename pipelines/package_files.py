"""Files the package ships besides its modules, as real paths (:mod:`importlib.resources`).

``pipelines/resources/`` holds what the pipeline reads but never generates: the SQL migrations and
models (``sql/``), the contracts (``contracts/``), the reference data (``reference/``), the Great
Expectations project (``great_expectations/``) and the default targets (``targets.yml``);
``pipelines/dags/`` holds the Airflow DAG files. They are package data, found the same way from a
checkout (``pip install -e .``) and from an installed wheel, never through the repository's layout.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

_extracted = ExitStack()
atexit.register(_extracted.close)


def package_path(*parts: str) -> Path:
    """A file or folder of the package as a real path (DuckDB, GX, Airflow and globs need paths).

    An installed package is plain files, so this is the file itself; were the package imported
    from a zip, ``as_file`` would extract it for the life of the process.
    """
    return _extracted.enter_context(as_file(files("pipelines").joinpath(*parts)))


RESOURCES = package_path("resources")
DAGS = package_path("dags")
