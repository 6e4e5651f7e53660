"""The export-tracking report: self-contained, numbers equal to the mart, renders in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.marts import build_marts
from pipelines.report import write_report
from pipelines.snapshot import publish

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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
def test_report_renders_in_chromium_without_errors(report, tmp_path) -> None:
    shot = tmp_path / "report.png"
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000"]
    subprocess.run([*common, f"--screenshot={shot}", report.as_uri()], check=True, capture_output=True, timeout=120)
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
    dom = subprocess.run(
        [*common, "--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "CONSOLE" not in dom.stderr or "Uncaught" not in dom.stderr
    rendered = dom.stdout
    assert 'data-field="cumulative_net_eur" data-value="25.00"' in rendered
    assert "<svg" in rendered and 'data-field="status" data-value="off_track">Off track<' in rendered
