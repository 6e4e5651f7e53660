"""Fixtures for feed tests: a migrated warehouse with the real reference dimensions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.reference import load_reference
from pipelines.ledger import new_batch_id
from pipelines.runner import load_feed
from pipelines.settings import Settings


@pytest.fixture
def wh(con: duckdb.DuckDBPyConnection, settings: Settings) -> duckdb.DuckDBPyConnection:
    """The test warehouse with countries, currencies and HS codes loaded."""
    load_reference(con, settings)
    return con


@pytest.fixture
def landing(settings: Settings) -> Callable[[str, bytes | str], Path]:
    """Write a file under the landing root: landing('sales/x/2020-01-01/a.csv', text)."""

    def write(rel: str, content: bytes | str) -> Path:
        path = settings.landing_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write


@pytest.fixture
def load(wh: duckdb.DuckDBPyConnection, settings: Settings):
    """Run one feed's loader the way the runner does (one transaction, a new batch id)."""

    def run(feed: str, units: list[str] | None = None):
        return load_feed(feed, wh, settings, new_batch_id(), units)

    return run


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()
