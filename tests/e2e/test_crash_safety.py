"""Crashes and concurrency: a SIGKILL at any moment, then one restart, equals a clean run; two runs take turns.

Real processes (``python -m pipelines run``) on a small generated landing zone. The kill moments
are the midpoint of every step of a clean run (each load, each feed gate, the marts, the core and
marts gates, the publish), taken from that run's ``audit.runs`` timeline, plus a few drawn with a
fixed seed. After each kill: no published snapshot holds a batch that no gate passed; after one
restart: the warehouse equals the clean run's (facts, marts, ledger, quarantine, pending events)
and no run is left ``running``.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.generate import generate
from pipelines.settings import Settings
from pipelines.state import data_state

pytestmark = pytest.mark.e2e
RANDOM_KILLS = 3


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a generated landing zone and its sample targets (no warehouse)."""
    home = tmp_path_factory.mktemp("crash") / "landed"
    generate(
        Settings(home=home).landing_dir,
        order_lines=2_000,
        seed=5,
        start=date(2019, 10, 1),
        end=date(2019, 11, 30),
        skus_per_supplier=20,
    )
    return home


def fresh(landed: Path, home: Path) -> Path:
    shutil.copytree(landed, home)
    return home


def start_run(home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "XBORDER_HOME": str(home), "XBORDER_LOCK_TIMEOUT_S": "600"}
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = 300) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(errors="replace")


def outcome(home: Path) -> dict[str, Any]:
    """What a run leaves that must not depend on how it got there (batch ids and times aside)."""
    with duckdb.connect(str(Settings(home=home).warehouse_path), read_only=True) as con:

        def q(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        return {
            "facts": q(
                "SELECT channel, event_type, count(*), sum(eur_amount) FROM core.fct_sales_event GROUP BY ALL "
                "ORDER BY ALL"
            ),
            "latest": q("SELECT target_id, cumulative_net_eur, status FROM marts.export_progress_latest ORDER BY 1"),
            "daily": q(
                "SELECT target_id, count(*), sum(net_eur) FROM marts.export_progress_daily GROUP BY 1 ORDER BY 1"
            ),
            "ledger": q(
                "SELECT path, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate "
                "FROM audit.load_ledger ORDER BY path"
            ),
            "quarantine": q(
                "SELECT feed, reason, count(*) FROM audit.quarantine WHERE resolved_at IS NULL "
                "GROUP BY ALL ORDER BY ALL"
            ),
            "pending": q("SELECT count(*) FROM raw.pending_sales_events"),
            "products": q("SELECT count(*), count(DISTINCT product_sk) FROM core.dim_product"),
            "rates": q("SELECT count(*) FROM core.fx_rate"),
            "running": q("SELECT count(*) FROM audit.runs WHERE status = 'running'"),
        }


def ungated_in_snapshots(home: Path) -> list[str]:
    """Problems in any published snapshot: a batch no gate passed, or core/marts gates not on its data."""
    problems = []
    for path in sorted((home / "snapshot").glob("xborder-*.duckdb")):
        with duckdb.connect(str(path), read_only=True) as con:
            pending = con.execute(
                "SELECT feed, batch_id FROM audit.dq_pending_batches WHERE feed IN ('fx', 'catalogues', 'sales')"
            ).fetchall()
            problems += [f"{path.name}: {feed} batch {batch} ungated" for feed, batch in pending]
            state = data_state(con)
            for stage in ("core", "marts"):
                ok = con.execute(
                    "SELECT count(*) FROM audit.dq_gate_runs WHERE stage = ? AND passed AND data_state = ?",
                    [stage, state],
                ).fetchall()[0][0]
                if not ok:
                    problems.append(f"{path.name}: no passed {stage} gate on the published data")
    return problems


@pytest.fixture(scope="module")
def clean(landed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A clean run: its outcome and the moments (seconds after start) at which each step ran."""
    home = fresh(landed, tmp_path_factory.mktemp("clean") / "home")
    started = datetime.now(UTC).replace(tzinfo=None)
    code, out = finish(start_run(home))
    assert code == 0, out
    with duckdb.connect(str(Settings(home=home).warehouse_path), read_only=True) as con:
        steps = con.execute("SELECT command, started_at, finished_at FROM audit.runs ORDER BY started_at").fetchall()
    moments = {
        command: ((begin - started).total_seconds() + (end - started).total_seconds()) / 2
        for command, begin, end in steps
    }
    assert {"quality:fx", "quality:catalogues", "quality:sales", "quality:core", "quality:marts", "publish"} <= set(
        moments
    )
    assert ungated_in_snapshots(home) == []
    return {"outcome": outcome(home), "moments": moments}


SCALES = (1.0, 0.6, 0.3)  # of a kill moment measured on the clean run


def kill_points(clean: dict[str, Any]) -> list[tuple[str, float]]:
    moments = clean["moments"]
    end = max(moments.values())
    rng = random.Random(12)
    return [*moments.items(), *((f"random {i}", rng.uniform(0.2, end)) for i in range(RANDOM_KILLS))]


def test_sigkill_at_any_moment_then_one_restart_equals_a_clean_run(
    landed: Path, clean: dict[str, Any], tmp_path: Path
) -> None:
    killed = 0
    for n, (moment, after) in enumerate(kill_points(clean)):
        for attempt, scale in enumerate(SCALES):  # a run faster than the clean one: kill it earlier
            home = fresh(landed, tmp_path / f"kill{n}-{attempt}")
            proc = start_run(home)
            time.sleep(after * scale)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                killed += 1
                break
            proc.wait(60)
        proc.wait(60)
        assert ungated_in_snapshots(home) == [], f"after a kill at {moment} ({after:.1f}s)"
        code, out = finish(start_run(home))
        assert code == 0, f"restart after a kill at {moment}: {out}"
        assert ungated_in_snapshots(home) == []
        assert outcome(home) == clean["outcome"], f"after a kill at {moment} ({after:.1f}s)"
    print(f"\n{killed} of {len(kill_points(clean))} runs SIGKILLed mid-way; each restart equals the clean run")
    assert killed == len(kill_points(clean))  # every moment got its kill (earlier, if the machine ran faster)


def test_two_runs_started_together_take_turns_and_are_exact(
    landed: Path, clean: dict[str, Any], tmp_path: Path
) -> None:
    home = fresh(landed, tmp_path / "twice")
    first, second = start_run(home), start_run(home)
    results = [finish(first), finish(second)]
    assert [code for code, _ in results] == [0, 0], results
    assert outcome(home) == clean["outcome"]
    with duckdb.connect(str(Settings(home=home).warehouse_path), read_only=True) as con:
        commands = [c for (c,) in con.execute("SELECT command FROM audit.runs ORDER BY started_at").fetchall()]
    # whole runs one after the other: the first run's publish comes before the second run's first load
    assert commands.count("publish") == 1
    assert commands.index("publish") < commands.index("ingest:reference", 1)
    # the second run found nothing new: no gate, no marts, no publish
    second_run = commands[commands.index("ingest:reference", 1) :]
    assert [c for c in second_run if c.startswith(("quality:", "marts", "publish"))] == []
    assert ungated_in_snapshots(home) == []
