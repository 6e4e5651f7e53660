"""The report answers "will we make it, and how sure are we": the forecast's probabilities, its
fan on the chart and PNG, the back-test table; a reached target reads reached (no projection
in the past); headline amounts in EUR m/bn with the exact figure on hover; stale data warned."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from pipelines.marts import build_marts
from pipelines.report import write_report
from pipelines.report.data import stale_feeds
from pipelines.report.format import eur, eur_compact, prob
from pipelines.snapshot import publish
from tests.marts.conftest import (
    D,
    add_chinese_new_year,
    add_facts,
    daily_facts,
    seasonal_history,
    target,
    write_targets,
)
from tests.report.chromium import CHROMIUM, Browser


def section(html: str, target_id: str) -> str:
    return html.split(f'id="target-{target_id}"')[1].split("</section>")[0]


def test_formats() -> None:
    assert eur_compact(Decimal("2200000000")) == "EUR 2.20 bn"
    assert eur_compact(Decimal("28531000")) == "EUR 28.5 m"
    assert eur_compact(Decimal("1995000000.00")) == "EUR 2.00 bn"  # half to even: 1.995 -> 2.00
    assert eur_compact(Decimal("999999.99")) == "EUR 999,999.99"  # below a million: exact
    assert eur_compact(Decimal("-3400000")) == "-EUR 3.4 m"
    assert [prob(Decimal(v)) for v in ("0.7340", "0", "0.0020", "0.9960", "1")] == [
        "73 %",
        "0 %",
        "< 1 %",
        "> 99 %",
        "100 %",
    ]


def test_stale_feeds_against_the_run_date() -> None:
    latest = date(2020, 1, 10)
    assert stale_feeds(latest, latest, date(2020, 1, 17), 7) == []  # 7 days old: not yet stale
    (sales, fx) = stale_feeds(latest, date(2020, 1, 9), date(2020, 1, 18), 7)
    assert (sales["feed"], sales["age"], fx["feed"], fx["age"]) == ("sales", 8, "fx", 9)
    assert sales["text"].startswith("Stale data: the latest sales event is from 10 Jan 2020, 8 days before this run")
    assert stale_feeds(latest, None, date(2020, 1, 10), 7)[0]["text"] == (
        "No ECB rate loaded yet: the figures are not current."
    )


def forecast_report(con, settings):
    add_chinese_new_year(con, settings)
    daily_facts(con, seasonal_history(D(2018, 7, 1), D(2020, 2, 29)))
    write_targets(settings, [target("seasonal", D(2018, 7, 1), D(2021, 6, 30), D(2020, 6, 30), amount="1500000")])
    build_marts(con, settings)
    publish(con, settings)
    return write_report(settings)


def test_the_report_shows_the_forecast_its_fan_and_back_test(con, settings) -> None:
    html = forecast_report(con, settings).read_text(encoding="utf-8")
    ((p_stretch, p_final, p10, p50, p90, horizon_end),) = con.execute(
        """SELECT p_reach_by_stretch, p_reach_by_final, completion_p10, completion_p50, completion_p90, horizon_end
           FROM marts.export_forecast"""
    ).fetchall()
    part = section(html, "seasonal")
    assert f'data-field="p_reach_by_stretch" data-value="{p_stretch}">P(reach by stretch) {prob(p_stretch)}<' in part
    assert f'data-field="p_reach_by_final" data-value="{p_final}">P(reach by final) {prob(p_final)}<' in part
    # the status badge says what it rests on, beside the forecast's answer (no contradiction unexplained)
    ((status,),) = con.execute("SELECT status FROM marts.export_progress_latest").fetchall()
    assert status in ("on_track", "at_risk", "off_track")
    basis = re.search(r'data-field="status_basis">([^<]*)<br>([^<]*)<', part)
    assert basis and basis.groups() == ("at the 30-day run-rate;", f"forecast: {prob(p_final)} by the final deadline")
    shown = re.search(r'data-field="completion_dates">([^<]*)<', part)
    expected = [f"{c:%d %b %Y}" if c else f"after {horizon_end:%d %b %Y}" for c in (p10, p50, p90)]
    assert shown and shown.group(1) == " · ".join(expected)
    # the fan is drawn on the chart, in the SVG file and the PNG beside it
    assert 'data-series="fan"' in part and "forecast P50, band P10-P90" in part
    reports = settings.reports_dir
    assert 'data-series="fan"' in (reports / "seasonal_progress.svg").read_text()
    assert (reports / "seasonal_progress.png").stat().st_size > 20_000
    # the back-test table: one row per horizon, its counts from the mart
    for horizon, cutoffs, inside in con.execute(
        """SELECT horizon_days, count(*), count(*) FILTER (WHERE inside_p10_p90)
           FROM marts.export_forecast_backtest GROUP BY 1 ORDER BY 1"""
    ).fetchall():
        assert re.search(rf'data-field="coverage_{horizon}" data-value="[0-9.]+">{inside} of {cutoffs} \(', part), (
            horizon
        )
    # headline amounts: compact, the exact figure on hover
    ((cumulative,),) = con.execute("SELECT cumulative_net_eur FROM marts.export_progress_latest").fetchall()
    assert f'title="{eur(cumulative)}" data-field="cumulative_net_eur" data-value="{cumulative}">' in part
    assert f">{eur_compact(Decimal(1500000))}</b> target" in part


def test_a_reached_target_shows_the_day_reached_not_a_projection(con, settings) -> None:
    add_facts(
        con,
        [
            ("a", "order", D(2020, 1, 1), "60.00", 1, "GB", "CN"),
            ("b", "order", D(2020, 1, 3), "50.00", 1, "GB", "CN"),
            ("c", "return", D(2020, 1, 7), "-20.00", -1, "GB", "CN"),
        ],
    )
    write_targets(settings, [target("uk_goods_to_cn", D(2020, 1, 1), D(2020, 1, 10), D(2020, 1, 5))])
    build_marts(con, settings)
    publish(con, settings)
    html = write_report(settings).read_text(encoding="utf-8")
    part = section(html, "uk_goods_to_cn")
    assert 'data-field="status" data-value="reached">Reached<' in part
    assert 'data-field="reached_on" data-value="2020-01-03">03 Jan 2020<' in part
    assert 'data-field="reached_by_stretch" data-value="True">by the stretch deadline' in part
    assert "Projected completion" not in part and 'data-field="projected_completion_date"' not in part
    assert "Target reached on 03 Jan 2020, by the stretch deadline." in part
    assert "Reached on 03 Jan 2020</span> by the stretch deadline" in part  # the forecast has nothing left
    # the data is years older than the run date: both feeds are flagged (no FX rates at all here)
    assert 'data-field="stale_sales"' in html and 'data-field="stale_fx"' in html


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser installs it)")
def test_the_forecast_renders_in_chromium(con, settings, tmp_path) -> None:
    report = forecast_report(con, settings)
    with Browser(tmp_path / "profile") as browser:
        page = browser.open(report.as_uri())
        shot = page.screenshot(tmp_path / "forecast.png")
        shown = page.evaluate(
            """[document.querySelector('[data-field="p_reach_by_final"]').textContent.trim(),
                document.querySelectorAll('g[data-series="fan"] polygon').length,
                document.querySelectorAll('table[data-table="backtest"] tbody tr').length]"""
        )
    print(f"screenshot: {shot}")
    ((p_final, horizons),) = con.execute(
        "SELECT (SELECT p_reach_by_final FROM marts.export_forecast), "
        "(SELECT count(DISTINCT horizon_days) FROM marts.export_forecast_backtest)"
    ).fetchall()
    assert page.errors == [] and page.remote_requests == []
    assert shown == [f"P(reach by final) {prob(p_final)}", 1, horizons]
