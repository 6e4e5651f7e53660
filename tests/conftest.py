"""Shared fixtures: an isolated XBORDER_HOME per test and a migrated warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import Settings, get_settings, reset_settings
from pipelines.warehouse import migrate


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose XBORDER_HOME is a fresh temporary folder."""
    monkeypatch.setenv("XBORDER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XBORDER_LOCK_TIMEOUT_S", "2")
    reset_settings()
    yield get_settings()
    reset_settings()


@pytest.fixture
def con(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a freshly migrated warehouse file under the test's XBORDER_HOME."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(settings.warehouse_path))
    migrate(connection, settings.sql_dir)
    yield connection
    connection.close()


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the test process as ``xborder`` does (``pipelines.cli.main``): ``os._exit`` after the summary.

    DuckDB's nanobind bindings print "leaked instances" lines at interpreter shutdown once GX and
    duckdb-engine were loaded (objects still referenced from their caches, not a real leak); a
    test run should end with its summary, not with those.
    """
    if _exit_status and not hasattr(config, "workerinput"):  # the controller, not an xdist worker
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
