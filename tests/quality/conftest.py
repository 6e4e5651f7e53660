"""A small generated sample, ingested once per session; each test corrupts its own copy.

The base state is what `xborder run` leaves before any quality gate: every feed loaded (so the
feed gates have their load batches pending) and the marts built. Tests copy the whole
``XBORDER_HOME`` (landing zone, warehouse, sample targets) into their own ``tmp_path`` and
break one thing there, so they stay independent of each other and of the order they run in.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import runner
from pipelines.generate import generate
from pipelines.quality.gates import GateResult, QualityGateFailed
from pipelines.quality.results import Finding
from pipelines.settings import Settings

START, END = date(2019, 10, 1), date(2019, 12, 31)
ORDER_LINES = 3_000  # a few hundred sales files over three months; the whole package runs in about a minute


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """XBORDER_HOME of the ingested sample (read it, never write it: copy it with ``sample``)."""
    home = tmp_path_factory.mktemp("quality_sample") / "home"
    settings = Settings(home=home)
    generate(settings.landing_dir, order_lines=ORDER_LINES, seed=11, start=START, end=END, skus_per_supplier=40)
    runner.ingest_all(settings=settings)
    runner.refresh_marts(settings=settings)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("CHECKPOINT")  # one self-contained file to copy
    return home


@pytest.fixture
def sample(sample_home: Path, settings: Settings) -> Settings:
    """The test's own copy of the sample; ``settings`` points at it."""
    shutil.copytree(sample_home, settings.home)
    return settings


def execute(settings: Settings, *statements: str) -> None:
    """Run SQL on the test's warehouse (to corrupt it), committed when this returns."""
    with duckdb.connect(str(settings.warehouse_path)) as con:
        for statement in statements:
            con.execute(statement)


def query(settings: Settings, sql: str, params: Iterable | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, list(params or [])).fetchall()


def one(settings: Settings, sql: str, params: Iterable | None = None) -> object:
    ((value,),) = query(settings, sql, params)
    return value


def land(settings: Settings, rel: str, text: str) -> Path:
    path = settings.landing_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def gate_fails(stage: str, settings: Settings) -> tuple[GateResult, str]:
    """Run a gate the way the pipeline does; it must raise. Returns the result and the message."""
    with pytest.raises(QualityGateFailed) as info:
        runner.quality_gate(stage, settings=settings)
    return info.value.result, str(info.value)


def rules(found: Iterable[Finding]) -> set[str]:
    """``suite.rule`` of each finding."""
    return {f"{f.suite}.{f.rule}" for f in found}


BROKEN_CATALOGUE = "catalogues/GB001/2020-01-05.csv"


def broken_catalogue_text(landing: Path) -> str:
    """GB001's last snapshot again, with every third row's HS code made up (a third quarantined)."""
    latest = sorted((landing / "catalogues" / "GB001").glob("*.csv"))[-1]
    header, *rows = list(csv.reader(io.StringIO(latest.read_text(encoding="utf-8"))))
    hs = header.index("hs_code")
    for i, row in enumerate(rows):
        if i % 3 == 0:
            row[hs] = "999999"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()
