"""Shared fixtures: an isolated XBORDER_HOME per test and a migrated warehouse."""

from __future__ import annotations

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
