"""The run's state machine: no batch is built or published before its feed gate passed.

Reproduces issue 12 §1: a catalogue snapshot that fails its gate makes ``xborder run`` fail,
and so does every later run until the data is fixed or the failure accepted; a gate that never
ran (a kill, a lock) runs before anything is built; the core and marts gates must have passed
on exactly the data being published.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import runner
from pipelines.quality.gates import QualityGateFailed, accept
from pipelines.settings import Settings
from pipelines.snapshot import current_snapshot
from pipelines.warehouse import WarehouseLocked
from tests.quality.conftest import BROKEN_CATALOGUE, broken_catalogue_text, land, one, query

BROKEN = BROKEN_CATALOGUE


def broken_catalogue(settings: Settings) -> Path:
    """GB001's last snapshot again, dated later, with every third row's HS code made up (a third quarantined)."""
    return land(settings, BROKEN, broken_catalogue_text(settings.landing_dir))


def snapshot_facts(settings: Settings) -> tuple:
    with duckdb.connect(str(current_snapshot(settings)), read_only=True) as con:
        return con.execute(
            "SELECT count(*), sum(eur_amount), (SELECT count(*) FROM raw.catalogue_items) FROM core.fct_sales_event"
        ).fetchall()[0]


def test_a_failed_feed_gate_holds_every_later_run_until_accepted(sample: Settings) -> None:
    first = runner.run(settings=sample)
    assert "publish" in first.built
    published = current_snapshot(sample)
    before = snapshot_facts(sample)

    broken_catalogue(sample)
    with pytest.raises(runner.FeedGatesFailed, match="catalogue_landed.mostly_loaded") as failed:
        runner.run(settings=sample)
    assert BROKEN in str(failed.value)  # the message names the file responsible
    assert current_snapshot(sample) == published

    # the second run loads nothing new, and still refuses: the failed batch is gated again
    with pytest.raises(runner.FeedGatesFailed, match=BROKEN):
        runner.run(settings=sample)
    with pytest.raises(runner.RunRefused, match="catalogues: 1 batch"):
        runner.publish_snapshot(settings=sample)
    assert current_snapshot(sample) == published
    assert snapshot_facts(sample) == before

    run_id = one(sample, "SELECT max(run_id) FROM audit.dq_gate_runs WHERE stage = 'catalogues' AND NOT passed")
    with duckdb.connect(str(sample.warehouse_path)) as con:
        assert accept(con, run_id, "supplier confirmed the codes") == [("catalogues", 1)]
    accepted = runner.run(settings=sample)
    assert current_snapshot(sample) != published
    loaded = one(sample, "SELECT count(*) FROM raw.catalogue_items WHERE source_file = ?", [BROKEN])
    assert loaded > 0 and snapshot_facts(sample)[2] == before[2] + loaded
    assert accepted.gates == {}  # nothing pending any more


def test_a_gate_that_never_ran_runs_before_the_build(sample: Settings) -> None:
    # the sample is what a run killed after its loads leaves: every feed batch ungated
    with pytest.raises(runner.RunRefused, match="core quality gate has not passed"):
        runner.publish_snapshot(settings=sample)
    runner.quality_gate("core", settings=sample)
    runner.quality_gate("marts", settings=sample)
    with pytest.raises(runner.RunRefused, match="fx: 1 batch.*not gated yet") as refused:
        runner.publish_snapshot(settings=sample)
    assert not isinstance(refused.value, runner.StaleGates)
    assert not (sample.snapshot_dir / "current.duckdb").exists()

    results = runner.build(settings=sample)
    assert list(results["feed gates"]) == ["fx", "catalogues", "sales"]
    stages = [s for (s,) in query(sample, "SELECT stage FROM audit.dq_gate_runs ORDER BY started_at")]
    assert stages == ["core", "marts", "fx", "catalogues", "sales", "core", "marts"]
    assert current_snapshot(sample) == Path(results["publish"])


def test_publish_refuses_data_that_changed_after_the_gates(sample: Settings) -> None:
    runner.build(settings=sample)
    land(
        sample,
        "sales/own_webshop/2019-12-31/late.csv",
        "event_id,placed_at,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,"
        "ship_country,ship_region\n",
    )
    runner.ingest_feed("sales", settings=sample)
    runner.quality_gate("sales", settings=sample)
    with pytest.raises(runner.StaleGates, match="data changed after the core gate"):
        runner.publish_snapshot(settings=sample)
    runner.build(settings=sample)  # the next build gates and publishes it
    assert one(sample, "SELECT count(*) FROM audit.dq_pending_batches WHERE feed = 'sales'") == 0


def test_a_failed_gate_is_not_fixed_by_running_it_again(sample: Settings) -> None:
    runner.quality_gate("catalogues", settings=sample)  # the sample's own snapshots pass
    broken_catalogue(sample)
    runner.ingest_feed("catalogues", settings=sample)
    for _ in range(2):
        with pytest.raises(QualityGateFailed):
            runner.quality_gate("catalogues", settings=sample)
    with pytest.raises(runner.FeedGatesFailed):
        runner.build(settings=sample)
    assert not (sample.snapshot_dir / "current.duckdb").exists()


def _hold_lock(home: str, seconds: float, ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    settings = Settings(home=Path(home))
    with runner.run_lock(settings):
        ready.set()
        time.sleep(seconds)


def test_runs_take_turns_and_a_dead_run_is_marked_interrupted(sample: Settings) -> None:
    with duckdb.connect(str(sample.warehouse_path)) as con:  # what a SIGKILLed step leaves behind
        con.execute(
            "INSERT INTO audit.runs (run_id, command, started_at, status) "
            "VALUES ('dead', 'ingest:sales', now()::TIMESTAMP, 'running')"
        )
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(sample.home), 4.0, ready))
    holder.start()
    try:
        assert ready.wait(60)
        impatient = Settings(home=sample.home, lock_timeout_s=0.5)
        with pytest.raises(WarehouseLocked, match="another xborder run holds"):
            runner.ingest_feed("fx", settings=impatient)
        assert one(sample, "SELECT status FROM audit.runs WHERE run_id = 'dead'") == "running"
        patient = Settings(home=sample.home, lock_timeout_s=60)
        started = time.monotonic()
        runner.ingest_feed("fx", settings=patient)  # waits for the holder, then runs
        assert time.monotonic() - started > 1.0
    finally:
        holder.join(30)
    assert one(sample, "SELECT status FROM audit.runs WHERE run_id = 'dead'") == "interrupted"
    assert one(sample, "SELECT count(*) FROM audit.runs WHERE status = 'running'") == 0
