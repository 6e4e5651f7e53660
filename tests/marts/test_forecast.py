"""The seasonal Monte Carlo forecast (sql/marts/export_forecast.sql, docs/forecast.md): answers
computable by hand, determinism for a seed, calibration and accuracy on a generated history."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import duckdb

from pipelines.marts import build_marts
from pipelines.settings import Settings
from tests.marts.conftest import D, add_chinese_new_year, daily_facts, seasonal_history, target, write_targets


def forecast(con: duckdb.DuckDBPyConnection, target_id: str) -> dict:
    cur = con.execute("SELECT * FROM marts.export_forecast WHERE target_id = ?", [target_id])
    names = [c[0] for c in cur.description]
    (row,) = cur.fetchall()
    return dict(zip(names, row, strict=True))


def fan(con: duckdb.DuckDBPyConnection, target_id: str) -> list[tuple]:
    return con.execute(
        "SELECT date, cumulative_p10_eur, cumulative_p50_eur, cumulative_p90_eur FROM marts.export_forecast_fan "
        "WHERE target_id = ? ORDER BY date",
        [target_id],
    ).fetchall()


def constant(start: date, end: date, eur: str) -> dict[date, Decimal]:
    return {start + timedelta(days=i): Decimal(eur) for i in range((end - start).days + 1)}


def test_a_constant_history_forecasts_the_constant_exactly(con, settings: Settings) -> None:
    add_chinese_new_year(con, settings)
    # 1.00 EUR every day from 2019-01-01 to 2020-01-31 (396 days): whatever day is drawn, it is 1.00,
    # and the year-on-year growth of every four-week block is 28 / 28 = 1
    daily_facts(con, constant(D(2019, 1, 1), D(2020, 1, 31), "1.00"))
    write_targets(settings, [target("flat", D(2019, 1, 1), D(2020, 12, 31), D(2020, 6, 30), amount="700")])
    build_marts(con, settings)
    f = forecast(con, "flat")
    # 396 so far, 304 to go at 1.00 a day: the 304th day after 2020-01-31 is 2020-11-30 in every sim
    assert (f["cutoff_date"], f["cumulative_net_eur"], f["horizon_end"]) == (D(2020, 1, 31), 396, D(2020, 12, 31))
    assert (f["completion_p10"], f["completion_p50"], f["completion_p90"]) == (D(2020, 11, 30),) * 3
    assert (f["p_reach_by_stretch"], f["p_reach_by_final"], f["sims"], f["growth_yoy"]) == (0, 1, 500, 1)
    assert f["reached_on"] is None
    rows = fan(con, "flat")
    assert rows[0] == (D(2020, 1, 31), 396, 396, 396)  # the fan starts at the actual cumulative
    assert len(rows) == 1 + 335  # 2020-02-01 .. 2020-12-31
    # on the stretch deadline: 396 + 151 days (Feb 29 included) = 547, all three percentiles
    assert [r for r in rows if r[0] == D(2020, 6, 30)] == [(D(2020, 6, 30), 547, 547, 547)]
    assert (f["final_cumulative_p50_eur"], f["final_cumulative_p10_eur"]) == (396 + 335, 396 + 335)


def test_growth_scales_the_earlier_year(con, settings: Settings) -> None:
    # 1.00 a day in 2019, 2.00 a day in January 2020: the one four-week block with a year before
    # it (2020-01-04..31 = 56 against 2019-01-05..02-01 = 28) grows 2x, so every draw from 2019 is
    # 2.00. 365 + 62 = 427 so far, 373 to go: 187 days at 2.00 (186 give 799) -> 2020-08-05,
    # the same day as the straight line at the 30-day run-rate of 2.00
    daily_facts(con, constant(D(2019, 1, 1), D(2019, 12, 31), "1.00") | constant(D(2020, 1, 1), D(2020, 1, 31), "2.00"))
    write_targets(settings, [target("doubling", D(2019, 1, 1), D(2020, 12, 31), D(2020, 6, 30), amount="800")])
    build_marts(con, settings)
    f = forecast(con, "doubling")
    assert (f["growth_yoy"], f["growth_blocks"]) == (2, 1)
    assert (f["completion_p10"], f["completion_p50"], f["completion_p90"]) == (D(2020, 8, 5),) * 3
    assert (f["p_reach_by_stretch"], f["p_reach_by_final"]) == (0, 1)
    ((projected,),) = con.execute(
        "SELECT projected_completion_date FROM marts.export_progress_latest WHERE target_id = 'doubling'"
    ).fetchall()
    assert projected == D(2020, 8, 5)


def test_singles_day_draws_singles_day_and_chinese_new_year_moves(con, settings: Settings) -> None:
    add_chinese_new_year(con, settings)
    history = constant(D(2018, 7, 1), D(2019, 10, 31), "10.00")
    history[D(2018, 11, 11)] = Decimal("500.00")  # the only big day
    for offset in range(-10, 16):  # the New Year period of 2019 (02-05) is quiet
        history[D(2019, 2, 5) + timedelta(days=offset)] = Decimal("1.00")
    daily_facts(con, history)
    write_targets(settings, [target("events", D(2018, 7, 1), D(2020, 6, 30), D(2020, 6, 30), amount="100000000")])
    build_marts(con, settings)
    rows = {r[0]: r for r in fan(con, "events")}
    growth = forecast(con, "events")["growth_yoy"]
    assert growth == 1  # 10.00 against 10.00 in every block with a year before it

    def day_net(d: date) -> Decimal:
        return rows[d][2] - rows[d - timedelta(days=1)][2]

    # 11.11 draws only 11.11 of earlier years; 11-10 and 11-12 never draw it
    assert day_net(D(2019, 11, 11)) == 500
    assert (day_net(D(2019, 11, 10)), day_net(D(2019, 11, 12))) == (10, 10)
    # Chinese New Year 2020 is 01-25 (11 days earlier than 2019's): the quiet days move with it
    assert day_net(D(2020, 1, 25)) == 1 and day_net(D(2020, 1, 15)) == 1
    assert day_net(D(2020, 2, 5)) == 1  # offset +11, inside the period
    # just outside it (offset -11 and +16) a day draws plain days: 2019's near 01-14 are 10.00; near
    # 02-10 2019 had only New Year days, so it draws the last 28 days instead (10.00)
    assert (day_net(D(2020, 1, 14)), day_net(D(2020, 2, 10))) == (10, 10)


def test_same_seed_same_forecast_another_seed_other_draws(con, settings: Settings, monkeypatch) -> None:
    add_chinese_new_year(con, settings)
    daily_facts(con, seasonal_history(D(2018, 7, 1), D(2020, 2, 29)))
    write_targets(settings, [target("seasonal", D(2018, 7, 1), D(2021, 6, 30), D(2020, 6, 30), amount="1500000")])
    build_marts(con, settings)
    first = (forecast(con, "seasonal"), fan(con, "seasonal"))
    assert build_marts(con, settings)["forecast"] == "unchanged"  # same inputs: not recomputed
    assert build_marts(con, settings, full=True)["forecast"] == "built"  # recomputed: the same
    assert (forecast(con, "seasonal"), fan(con, "seasonal")) == first
    assert first[0]["seed"] == settings.forecast_seed == 2026
    monkeypatch.setattr(settings, "forecast_seed", 7)
    assert build_marts(con, settings)["forecast"] == "built"  # another seed is another input
    other = (forecast(con, "seasonal"), fan(con, "seasonal"))
    assert other[0]["seed"] == 7
    assert other[1][0] == first[1][0]  # the same actual start
    changed = sum(a != b for a, b in zip(other[1][1:], first[1][1:], strict=True))
    assert changed > 0.9 * (len(first[1]) - 1)  # other draws nearly every day
    # but the same answer, roughly: the median completion within a few weeks
    assert abs((other[0]["completion_p50"] - first[0]["completion_p50"]).days) <= 21


def test_backtest_on_a_generated_history_is_calibrated_and_beats_the_straight_line(con, settings: Settings) -> None:
    add_chinese_new_year(con, settings)
    daily_facts(con, seasonal_history(D(2018, 7, 1), D(2021, 6, 30), seed=2018))
    write_targets(settings, [target("generated", D(2018, 7, 1), D(2021, 6, 30), D(2020, 6, 30), amount="2000000")])
    build_marts(con, settings)
    ((cutoffs, first, last),) = con.execute(
        "SELECT count(DISTINCT cutoff_date), min(cutoff_date), max(cutoff_date) FROM marts.export_forecast_backtest"
    ).fetchall()
    # every month end with 392 days of history (from 2019-07-31) and 30 days of actuals after it
    assert (cutoffs, first, last) == (23, D(2019, 7, 31), D(2021, 5, 31))
    ((rows, inside, p50_error, straight_error),) = con.execute(
        """SELECT count(*), avg(inside_p10_p90::INTEGER), avg(p50_abs_error_eur), avg(straight_line_abs_error_eur)
           FROM marts.export_forecast_backtest"""
    ).fetchall()
    assert rows == 23 + 21 + 18  # horizons 30, 90, 180 days while the data reaches them
    assert 0.6 <= inside <= 0.95, inside  # the P10-P90 band holds the outcome about 80 % of the time
    assert p50_error < straight_error, (p50_error, straight_error)  # the seasons beat the 30-day run-rate
    # each horizon on its own too
    for horizon, p50, straight in con.execute(
        """SELECT horizon_days, avg(p50_abs_error_eur), avg(straight_line_abs_error_eur)
           FROM marts.export_forecast_backtest GROUP BY 1 ORDER BY 1"""
    ).fetchall():
        assert p50 < straight, (horizon, p50, straight)


def test_a_reached_target_is_certain_and_a_target_without_amount_has_no_forecast(con, settings: Settings) -> None:
    daily_facts(con, constant(D(2020, 1, 1), D(2020, 1, 10), "30.00"))
    write_targets(
        settings,
        [
            target("reached", D(2020, 1, 1), D(2020, 12, 31), D(2020, 1, 5), amount="100"),
            target("tracking", D(2020, 1, 1), D(2020, 12, 31), D(2020, 1, 5), amount=None),
        ],
    )
    build_marts(con, settings)
    f = forecast(con, "reached")
    # 120 on 01-04, by the stretch deadline: every sim has completed on that day
    assert (f["reached_on"], f["completion_p10"], f["completion_p50"], f["completion_p90"]) == (D(2020, 1, 4),) * 4
    assert (f["p_reach_by_stretch"], f["p_reach_by_final"]) == (1, 1)
    assert con.execute("SELECT count(*) FROM marts.export_forecast WHERE target_id = 'tracking'").fetchall() == [(0,)]
    # less than a year of history: the 28 most recent days (here all 10 at 30.00) are drawn
    assert fan(con, "reached")[-1] == (
        D(2020, 12, 31),
        Decimal(300 + 30 * 356),
        Decimal(300 + 30 * 356),
        Decimal(300 + 30 * 356),
    )
