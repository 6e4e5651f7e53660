"""A failed critical expectation stops the build before publishing: analysts keep the last good snapshot."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipelines import runner
from pipelines.quality.gates import QualityGateFailed
from pipelines.settings import Settings
from pipelines.snapshot import CURRENT, current_snapshot
from tests.quality.conftest import execute, query, rules
from tests.quality.test_gates import core_negative_rate


def published(settings: Settings) -> dict[str, object]:
    """What analysts see: the file behind current.duckdb, its bytes, and the headline number in it."""
    link = settings.snapshot_dir / CURRENT
    path = current_snapshot(settings)
    with duckdb.connect(str(link), read_only=True) as con:
        total = con.execute(
            "SELECT cumulative_net_eur FROM marts.export_progress_latest WHERE target_id = 'uk_goods_to_cn'"
        ).fetchall()
        facts = con.execute("SELECT count(*), sum(eur_amount) FROM core.fct_sales_event").fetchall()
    return {
        "file": path,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "total": total,
        "facts": facts,
        "files": sorted(p.name for p in settings.snapshot_dir.iterdir()),
    }


FEED_GATES = [("fx", True), ("catalogues", True), ("sales", True)]  # the sample's loads, gated first


def gate_runs(settings: Settings) -> list[tuple]:
    return query(settings, "SELECT stage, passed FROM audit.dq_gate_runs ORDER BY started_at")


@pytest.fixture
def built(sample: Settings) -> dict[str, object]:
    """A green build of the sample: gates passed, a snapshot published."""
    results = runner.build(settings=sample)
    steps = list(results)
    gates = [step for step, result in results.items() if isinstance(result, dict) and "passed" in result]
    assert [(results[g]["stage"], results[g]["passed"]) for g in gates] == [("core", True), ("marts", True)]
    assert steps.index("feed gates") < steps.index("marts") < steps.index(gates[0])
    assert steps.index(gates[-1]) < steps.index("publish")
    assert Path(results["publish"]) == current_snapshot(sample)
    assert gate_runs(sample) == [*FEED_GATES, ("core", True), ("marts", True)]
    return published(sample)


def fact_redirected_to_hong_kong(s: Settings) -> None:
    """A UK-to-China fact rewritten as shipped to Hong Kong: same rows, EUR and units, so the
    incremental marts see no changed batch and keep counting it for China; only the marts gate notices."""
    execute(
        s,
        """UPDATE core.fct_sales_event SET ship_to_country = 'HK'
           WHERE (channel, event_id) = (SELECT (channel, event_id) FROM core.fct_sales_event
                                        WHERE event_type = 'order' AND country_of_origin = 'GB'
                                          AND ship_to_country = 'CN' ORDER BY ALL LIMIT 1)""",
    )


@pytest.mark.parametrize(
    ("corrupt", "stage", "rule", "gates_after", "probe"),
    [
        # core breaks: the core gate stops the build; the marts gate does not even run
        (
            core_negative_rate,
            "core",
            "fx_rate.rate_positive",
            [("core", False)],
            "SELECT count(*) FROM core.fx_rate WHERE rate <= 0",
        ),
        # core passes, the marts built on it disagree with it: the marts gate stops the build
        (
            fact_redirected_to_hong_kong,
            "marts",
            "export_progress_daily.reconciles_with_core",
            [("core", True), ("marts", False)],
            "SELECT count(*) FROM core.fct_sales_event WHERE ship_to_country = 'HK'",
        ),
    ],
    ids=["core_gate", "marts_gate"],
)
def test_failed_gate_leaves_the_published_snapshot_unchanged(
    sample: Settings,
    built: dict[str, object],
    corrupt: Callable[[Settings], None],
    stage: str,
    rule: str,
    gates_after: list[tuple],
    probe: str,
) -> None:
    publishes = query(sample, "SELECT count(*) FROM audit.runs WHERE command = 'publish'")
    corrupt(sample)

    with pytest.raises(QualityGateFailed) as info:
        runner.build(settings=sample, force=True)  # edited by hand, not loaded: the ledger does not see it

    assert info.value.result.stage == stage
    assert rules(info.value.result.failures) == {rule}
    assert published(sample) == built  # same file, same bytes, same numbers, no new snapshot file
    assert query(sample, "SELECT count(*) FROM audit.runs WHERE command = 'publish'") == publishes
    assert gate_runs(sample) == [*FEED_GATES, ("core", True), ("marts", True), *gates_after]
    # the warehouse holds what the gate refused to publish; the snapshot does not
    with duckdb.connect(str(sample.snapshot_dir / CURRENT), read_only=True) as snapshot:
        ((before,),) = snapshot.execute(probe).fetchall()
    ((after,),) = query(sample, probe)
    assert after == before + 1
