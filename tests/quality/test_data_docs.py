"""Data Docs and the quarantine summary open complete and styled with the network off.

The site is built after a passed gate (fx) and a failed one (core, a negative rate), so the
index lists passed and failed validations and a result page shows a failed expectation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pytest

from pipelines import runner
from pipelines.quality.docs import build_data_docs
from pipelines.settings import Settings
from tests.quality.conftest import gate_fails, one, query
from tests.quality.test_gates import core_negative_rate
from tests.report.chromium import CHROMIUM

TRANSPARENT = ("rgba(0, 0, 0, 0)", "transparent")
NAVBAR_BLUE = "rgb(16, 42, 67)"  # .xb-navbar background #102a43 (xborder_docs.css)
PAGE_GREY = "rgb(245, 247, 250)"  # body.xb-docs background --xb-bg #f5f7fa


@dataclass
class Site:
    index: Path
    failed_page: Path  # the core gate's fx_rate result (rate_positive failed)
    validations: list[Path]
    negative_rate: str  # the corrupted value as the page prints it


@pytest.fixture
def site(sample: Settings) -> Site:
    runner.quality_gate("fx", settings=sample)
    core_negative_rate(sample)
    gate_fails("core", sample)
    rate = one(sample, "SELECT rate FROM core.fx_rate WHERE rate < 0")
    with duckdb.connect(str(sample.warehouse_path)) as con:
        index = build_data_docs(sample, con)
    validations = sorted((index.parent / "validations").rglob("*.html"))
    (failed_page,) = (index.parent / "validations" / "fx_rate").rglob("*.html")
    return Site(index, failed_page, validations, f"{rate.normalize():f}")


def test_site_is_built_from_local_files_only(site: Site, sample: Settings) -> None:
    pages = sorted(site.index.parent.rglob("*.html"))
    assert site.index in pages and (site.index.parent / "quarantine.html") in pages
    assert len(site.validations) == 7  # fx: 3 suites, core: 4 suites
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<(script|img|iframe)[^>]+src=[\"']?(https?:)?//", html), page
        assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", html), page
        assert "<style>" in html and "--xb-bg" in html, page  # the stylesheet is inline
    index = site.index.read_text(encoding="utf-8")
    for page in site.validations:  # the index lists every result, rendered into the HTML
        assert f'data-href="{page.relative_to(site.index.parent)}"' in index
    assert index.count("ge-failed-icon") == 1  # core's fx_rate suite


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from tests.report.chromium import Browser

    with Browser(tmp_path / "profile") as b:
        b.call(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        yield b


def opened(browser, path: Path, shot: Path):  # noqa: ANN001, ANN201 - tests.report.chromium types
    """Open a page offline: no console error, no remote request, the inline styles applied."""
    page = browser.open(path.as_uri())
    assert page.evaluate("navigator.onLine") is False  # the network really is off
    assert page.errors == [], (path, page.errors)
    assert page.remote_requests == [], (path, page.remote_requests)
    navbar = page.evaluate("getComputedStyle(document.querySelector('.navbar')).backgroundColor")
    assert navbar not in TRANSPARENT and navbar == NAVBAR_BLUE, path
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == PAGE_GREY, path
    quarantine_link = page.evaluate("[...document.querySelectorAll('a')].find(a => /quarantine/.test(a.href))?.href")
    index_link = page.evaluate("document.querySelector('.xb-brand').href")
    assert local(index_link) == path_of_site(path) / "index.html", (path, index_link)
    if quarantine_link:
        assert local(quarantine_link) == path_of_site(path) / "quarantine.html", (path, quarantine_link)
    page.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
    return page


def local(url: str) -> Path:
    assert url.startswith("file://"), url
    return Path(unquote(urlparse(url).path))


def path_of_site(page: Path) -> Path:
    return next(p for p in page.parents if (p / "index.html").is_file() and (p / "quarantine.html").is_file())


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser installs it)")
def test_data_docs_render_offline_in_chromium(site: Site, sample: Settings, browser, tmp_path: Path) -> None:
    index = opened(browser, site.index, tmp_path / "index.png")
    rows = index.evaluate(
        "[...document.querySelectorAll('.ge-index-page-validation-results-table tbody tr')]"
        ".map(r => [r.dataset.href, !!r.querySelector('.ge-failed-icon')])"
    )
    assert len(rows) == len(site.validations)
    assert {site.index.parent / href for href, _ in rows} == set(site.validations)
    assert [href for href, failed in rows if failed] == [str(site.failed_page.relative_to(site.index.parent))]
    assert index.evaluate("document.querySelectorAll('.xb-empty').length") == 0

    result = opened(browser, site.failed_page, tmp_path / "validation.png")
    text = result.evaluate("document.body.innerText")
    assert "1 unexpected values found" in text and site.negative_rate in text  # the offending value is shown
    visible = "(s) => [...document.querySelectorAll(s)].filter(e => e.getClientRects().length > 0).length"
    assert result.evaluate(f"({visible})('td .fa-times')") >= 1
    assert result.evaluate(f"({visible})('td.hide-succeeded-validation-target-child .fa-check-circle')") > 0
    result.evaluate("hideSucceededValidations(null)")  # the page's "failed only" filter, offline
    assert result.evaluate(f"({visible})('td.hide-succeeded-validation-target-child .fa-check-circle')") == 0
    assert result.evaluate(f"({visible})('td .fa-times')") >= 1

    quarantine = opened(browser, site.index.parent / "quarantine.html", tmp_path / "quarantine.png")
    reasons = query(sample, "SELECT feed, reason, count(*) FROM audit.quarantine GROUP BY ALL ORDER BY ALL")
    shown = quarantine.evaluate(
        "[...document.querySelectorAll('#by-reason tbody tr')].map(r => [...r.cells].slice(0, 3).map(c => c.innerText))"
    )
    assert sorted(shown) == sorted([feed, reason, f"{rows:,}"] for feed, reason, rows in reasons)
    total = sum(rows for _, _, rows in reasons)
    assert total > 0 and quarantine.evaluate("document.getElementById('kpi-rows').innerText") == f"{total:,}"
    runs = quarantine.evaluate(
        "[...document.querySelectorAll('#gate-runs tbody tr')].map(r => [r.cells[1].innerText, r.cells[4].innerText])"
    )
    assert sorted(runs) == [["core", "failed"], ["fx", "passed"]]
