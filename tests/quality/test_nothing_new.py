"""A run with nothing new: no gate, no mart refresh, no publish, no report (issue 14 §2).

The live snapshot is current when it was built from the current data state and build inputs
(targets file, SQL, version) and the reports were written from it; anything else builds.
"""

from __future__ import annotations

import os

from pipelines import runner
from pipelines.settings import Settings
from pipelines.snapshot import current_snapshot
from pipelines.state import REPORTS_STAMP
from tests.quality.conftest import land, one, query


def commands_since(settings: Settings, started: str) -> list[str]:
    rows = query(
        settings, "SELECT command FROM audit.runs WHERE started_at > ?::TIMESTAMP ORDER BY started_at", [started]
    )
    return [c for (c,) in rows]


def last_start(settings: Settings) -> str:
    return str(one(settings, "SELECT max(started_at) FROM audit.runs"))


def test_a_second_run_with_nothing_new_builds_nothing(sample: Settings) -> None:
    first = runner.run(settings=sample)
    assert first.nothing_new_since is None and "publish" in first.built
    snapshot = current_snapshot(sample)
    report = sample.reports_dir / "export_tracking.html"
    written = report.stat().st_mtime_ns
    published_at = one(sample, "SELECT published_at FROM audit.publications")
    mark = last_start(sample)

    second = runner.run(settings=sample)

    assert second.nothing_new_since == published_at
    assert second.built == {runner.NOTHING_NEW: published_at} and second.gates == {}
    assert current_snapshot(sample) == snapshot and report.stat().st_mtime_ns == written
    # only discovery and the (skipped) pending pass ran: no gate, marts or publish step
    assert set(commands_since(sample, mark)) == {f"ingest:{feed}" for feed in runner.FEEDS} | {"pending"}
    assert one(sample, "SELECT count(*) FROM audit.publications") == 1


def test_new_data_changed_targets_or_a_lost_report_build_again(sample: Settings) -> None:
    runner.run(settings=sample)
    targets = sample.targets_path.read_text(encoding="utf-8")

    sample.targets_path.write_text(targets + "\n# a comment changes the file, so the build runs\n", encoding="utf-8")
    assert runner.run(settings=sample).nothing_new_since is None
    assert runner.run(settings=sample).nothing_new_since is not None

    (sample.reports_dir / REPORTS_STAMP).unlink()  # a run killed between publish and reports
    rebuilt = runner.run(settings=sample)
    assert rebuilt.nothing_new_since is None and "reports" in rebuilt.built
    assert (sample.reports_dir / REPORTS_STAMP).read_text(encoding="utf-8").strip() == current_snapshot(sample).name

    assert runner.run(settings=sample, force=True).nothing_new_since is None  # --rebuild

    fx = sorted((sample.landing_dir / "fx").rglob("*.*"))[-1]
    land(sample, "fx/late/" + fx.name, fx.read_text(encoding="utf-8"))  # a byte-identical copy: a ledger row
    assert runner.run(settings=sample).nothing_new_since is None


def test_a_snapshot_switched_elsewhere_is_not_current(sample: Settings) -> None:
    runner.run(settings=sample)
    first = current_snapshot(sample)
    runner.run(settings=sample, force=True)
    link = sample.snapshot_dir / "current.duckdb"
    link.unlink()
    os.symlink(first.name, link)  # someone pointed current.duckdb back at an older snapshot
    assert runner.run(settings=sample).nothing_new_since is None
    assert current_snapshot(sample) != first


def test_the_pending_pass_is_skipped_until_something_it_depends_on_changes(sample: Settings) -> None:
    runner.run(settings=sample)
    waiting = one(sample, "SELECT count(*) FROM raw.pending_sales_events")
    assert waiting > 0  # the sample has sales before their catalogue or rate

    again = runner.resolve_pending(settings=sample)
    assert again["skipped"] and again["waiting"] == waiting and again["channels"] == []

    # the clock passing the first row's expiry makes the pass run (and expire that row)
    with_expiry = one(
        sample,
        "SELECT detail->>'next_expiry' FROM audit.runs WHERE command = 'pending' ORDER BY started_at DESC LIMIT 1",
    )
    assert with_expiry is not None
    from tests.quality.conftest import execute

    execute(
        sample,
        'UPDATE audit.runs SET detail = json_merge_patch(detail, \'{"next_expiry": "2000-01-01T00:00:00"}\') '
        "WHERE run_id = (SELECT run_id FROM audit.runs WHERE command = 'pending' ORDER BY started_at DESC LIMIT 1)",
    )
    ran = runner.resolve_pending(settings=sample)
    assert not ran["skipped"] and ran["channels"]
    assert runner.resolve_pending(settings=sample)["skipped"]
