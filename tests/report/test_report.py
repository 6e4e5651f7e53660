"""The export-tracking report: self-contained, numbers equal to the mart, renders in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.marts import build_marts
from pipelines.report import write_report
from pipelines.snapshot import publish
from tests.report.chromium import CHROMIUM, Browser


@pytest.fixture
def report(fixture_warehouse, settings) -> Path:
    build_marts(fixture_warehouse, settings)
    publish(fixture_warehouse, settings)
    return write_report(settings)


def test_report_is_self_contained_and_matches_the_mart(report, fixture_warehouse) -> None:
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://""", html)  # nothing from the network
    assert "<script" not in html
    ((cumulative, pct, status),) = fixture_warehouse.execute(
        "SELECT cumulative_net_eur, pct_of_target, status FROM marts.export_progress_latest "
        "WHERE target_id = 'uk_goods_to_cn'"
    ).fetchall()
    section = html.split('id="target-uk_goods_to_cn"')[1].split("</section>")[0]
    assert f'data-field="cumulative_net_eur" data-value="{cumulative}">EUR 25.00<' in section
    assert f'data-field="pct_of_target" data-value="{pct}"' in section
    assert f'data-field="status" data-value="{status}">Off track<' in section
    svg = (report.parent / "uk_goods_to_cn_progress.svg").read_text()
    assert svg.startswith('<?xml version="1.0"') and "<svg" in svg


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser installs it)")
def test_report_renders_in_chromium_without_errors(report, fixture_warehouse, tmp_path) -> None:
    with Browser(tmp_path / "profile") as browser:
        page = browser.open(report.as_uri())
        shot = page.screenshot(tmp_path / "report.png")
        shown = page.evaluate(
            """Object.fromEntries([...document.querySelectorAll('[data-target="uk_goods_to_cn"] [data-field]')]
                 .map(e => [e.dataset.field, [e.dataset.value, e.textContent.trim()]]))"""
        )
        charts = page.evaluate("document.querySelectorAll('svg').length")
    print(f"screenshot: {shot}")
    assert page.errors == [] and page.remote_requests == []
    assert shot.stat().st_size > 20_000 and charts >= 2
    ((cumulative, pct, status, target),) = fixture_warehouse.execute(
        "SELECT cumulative_net_eur, pct_of_target, status, target_eur FROM marts.export_progress_latest "
        "WHERE target_id = 'uk_goods_to_cn'"
    ).fetchall()
    assert shown["cumulative_net_eur"] == [str(cumulative), "EUR 25.00"]
    assert shown["pct_of_target"][0] == str(pct)
    assert shown["target_eur"][0] == str(target)
    assert shown["status"] == [status, "Off track"]


def test_freshness_panel_lists_rejected_and_held_files_until_a_fixed_one_loads(fixture_warehouse, settings) -> None:
    from pipelines.ledger import FileOutcome, record_files

    def outcome(sha: str, path: str, status: str, message: str | None) -> FileOutcome:
        return FileOutcome(sha, path, "sales", "tmall_global", "tmall_global", status=status, message=message)

    record_files(
        fixture_warehouse,
        [
            outcome(
                "a" * 64,
                "sales/tmall_global/2021-02-30/x.jsonl",
                "rejected",
                "sales/tmall_global/2021-02-30/x.jsonl: 2021-02-30 is not a calendar date; <b>rule</b>: file_name",
            ),
            outcome("b" * 64, "sales/tmall_global/2021-01-05/y.jsonl", "rejected", "y.jsonl: line 3: truncated"),
        ],
        "b1",
    )
    record_files(fixture_warehouse, [outcome("c" * 64, "sales/tmall_global/2021-01-05/y.jsonl", "loaded", None)], "b2")
    build_marts(fixture_warehouse, settings)
    publish(fixture_warehouse, settings)
    html = write_report(settings).read_text(encoding="utf-8")
    panel = html.split('id="freshness"')[1].split("</section>")[0]
    assert 'data-field="rejected_files">1<' in panel  # the corrected re-delivery of y.jsonl loaded
    assert "<code>sales/tmall_global/2021-02-30/x.jsonl</code>" in panel
    assert "2021-02-30 is not a calendar date; &lt;b&gt;rule&lt;/b&gt;: file_name" in panel  # escaped, path once
    assert "y.jsonl" not in panel
