"""GX's SQL datasource over the pipeline's own DuckDB connection (the fix for GX issues 10738, 11579).

The gates no longer validate through GX (``pipelines.quality.evaluate`` runs the rules as SQL
with GX's semantics); this datasource is how GX itself validates the project's assets: the
equivalence tests' oracle (``tests/quality/test_evaluate.py``) and any ad-hoc GX checkpoint run.

GX 1.24 has no DuckDB datasource; its generic SQL datasource over duckdb-engine fails on
DuckDB: every expectation comes back failed with an empty result (``IndexError: list index
out of range`` in ``SqlAlchemyExecutionEngine.resolve_metric_bundle``). The cause:
``execute_query`` runs the query inside ``with engine.connect()`` and returns the
``CursorResult`` after the block has closed the connection; closing it rolls back the
transaction SQLAlchemy began, and a DuckDB rollback discards the result not fetched yet, so
``fetchall()`` returns ``[]``. GX keeps one persistent connection only for sqlite, mssql,
bigquery and databricks, which is why the issues say it "works if the connection is kept open".

The fix here is small and needs no change to GX:

* the DB-API connection GX gets (:class:`_ReadOnlyConnection`) makes ``begin``, ``commit``
  and ``rollback`` no-ops. Validation only reads, so each query simply runs in DuckDB's own
  auto-commit mode, and the rollback on close can no longer discard a pending result;
* the engine (``StaticPool``) wraps a cursor of the connection the pipeline already holds:
  a DuckDB file has one read-write process, so GX must not open the file a second time. A
  cursor is a separate connection to the same database: it sees what the pipeline committed,
  and GX cannot touch the pipeline's own transaction.

Use :func:`bound` around a validation; outside it the ``warehouse`` datasource refuses to
connect. The datasource type ``xborder_duckdb`` is registered with GX when this module is
imported (``pipelines.quality.context`` does so before loading the project).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Literal

import duckdb
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper
from great_expectations.compatibility import pydantic
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine

from pipelines.quality.evaluate import VARIABLE_NAME, set_variables

# duckdb-engine reflects no MAP type (core.dim_product.attribute_source): GX never validates that
# column, so the reflection's "Did not recognize type 'map'" warning on every gate says nothing.
UNREFLECTED_MAP = "Did not recognize type 'map'"

Variable = str | int | float | date | datetime


class _ReadOnlyConnection(ConnectionWrapper):
    """duckdb-engine's DB-API wrapper without transactions (GX only reads): results survive close."""

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


class _Binding:
    """The pipeline connection GX validates through, and the engines built on it."""

    def __init__(self, con: duckdb.DuckDBPyConnection, variables: Mapping[str, Variable]) -> None:
        self.con = con
        self.variables = dict(variables)
        self.engines: list[SqlAlchemyExecutionEngine] = []

    def connect(self) -> _ReadOnlyConnection:
        cursor = self.con.cursor()
        set_variables(cursor, self.variables)
        return _ReadOnlyConnection(cursor)

    def close(self) -> None:
        for engine in self.engines:
            engine.close()  # closes the cursor; the pipeline's connection stays open
        self.engines.clear()


_current: _Binding | None = None


@contextmanager
def bound(con: duckdb.DuckDBPyConnection, variables: Mapping[str, Variable] | None = None) -> Iterator[None]:
    """Let the ``warehouse`` datasource validate through (a cursor of) ``con`` inside the block.

    ``variables`` become DuckDB session variables on that cursor, for rules written as SQL
    (``getvariable('fx_lookback_days')``).
    """
    global _current
    if _current is not None:
        raise RuntimeError("a pipeline connection is already bound to the GX warehouse datasource")
    for name in variables or {}:
        if not VARIABLE_NAME.match(name):
            raise ValueError(f"not a variable name: {name!r}")
    _current = _Binding(con, variables or {})
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=UNREFLECTED_MAP, category=sa.exc.SAWarning)
            yield
    finally:
        binding, _current = _current, None
        binding.close()


def _binding() -> _Binding:
    if _current is None:
        raise RuntimeError(
            "the GX 'warehouse' datasource validates through the pipeline's open DuckDB connection: "
            "wrap the validation in pipelines.quality.datasource.bound(con)"
        )
    return _current


class PipelineDuckDBDatasource(SQLDatasource):
    """GX SQL datasource on the pipeline's DuckDB connection (see the module docstring)."""

    type: Literal["xborder_duckdb"] = "xborder_duckdb"  # type: ignore[assignment]
    connection_string: str = pydantic.Field(
        "duckdb://", description="Not used to connect: validation runs on the bound pipeline connection."
    )
    _bound_to: Any = pydantic.PrivateAttr(None)

    def get_engine(self) -> sa.engine.Engine:
        return self.get_execution_engine().engine

    def get_execution_engine(self) -> SqlAlchemyExecutionEngine:
        binding = _binding()
        if self._bound_to is not binding or self._execution_engine is None:
            engine = sa.create_engine("duckdb://", creator=binding.connect, poolclass=sa.StaticPool)
            execution_engine = SqlAlchemyExecutionEngine(name=self.name, engine=engine, create_temp_table=False)
            binding.engines.append(execution_engine)
            self._engine = engine
            self._execution_engine = execution_engine
            self._bound_to = binding
        return self._execution_engine
