-- Seasonal Monte Carlo forecast per target with an amount (docs/forecast.md, design §4).
--
-- For each simulation and each day after the cut-off (the target's latest day) up to
-- min(final deadline, window end), a day's net EUR is drawn from the target's own history: a day
-- of an earlier year in the same calendar period, scaled by the year-on-year growth to the power
-- of the years between them. The calendar period of a day is:
--   * Chinese New Year (core.dim_chinese_new_year): 10 days before to 15 after, keyed by the
--     offset from that year's New Year, so the dip moves with the real dates;
--   * 11.11 (Singles' Day: 1-13 November), 6.18 (JD: 1-20 June), 12.12 (10-14 December), keyed by
--     the offset from the event day; the event day itself draws only the same event day of
--     earlier years, the other days of the period only non-event days of it;
--   * any other day: the same day of the year +- 3 days (other plain days only).
-- Growth: each simulation takes one year-on-year ratio, drawn from the 13 four-week blocks of the
-- trailing year (net of the 28 days against the same 28 days 52 weeks earlier), so the spread of
-- growth across the year is the spread of the forecast's level. A day with no earlier year in its
-- period (less than a year of history) draws from the last 28 days instead, unscaled.
-- Every draw is deterministic: hash(seed, simulation, target, day) picks the day, hash(seed,
-- simulation, target) the growth block (no random()); same seed and data, same forecast.
--
-- The same forecast, with the history cut at the end of every month that has a year and four
-- weeks of history before it and 30 days of actuals after it, is back-tested against what
-- happened 30, 90 and 180 days later (marts.export_forecast_backtest).
--
-- Parameters: SET VARIABLE forecast_seed / forecast_sims (pipelines/marts.py sets them from
-- XBORDER_FORECAST_SEED, XBORDER_FORECAST_SIMS); defaults 2026 and 500.
-- Money here is an estimate: draws are DOUBLE, results rounded to the cent.

CREATE OR REPLACE TEMP TABLE fc_params AS
SELECT coalesce(getvariable('forecast_seed'), 2026)::UBIGINT AS seed,
       coalesce(getvariable('forecast_sims'), 500)::INTEGER AS sims;

-- the targets' daily series (targets with an amount)
CREATE OR REPLACE TEMP TABLE fc_series AS
SELECT d.target_id, d.date, d.net_eur::DOUBLE AS net, d.cumulative_net_eur, d.run_rate_30d, d.reached_on,
       t.amount, t.window_start, least(t.window_end, t.final_deadline) AS horizon_end,
       t.stretch_deadline, t.final_deadline
FROM marts.export_progress_daily d
JOIN core.dim_target t USING (target_id)
WHERE t.amount IS NOT NULL;

-- every day of the series and of the horizons with its calendar period and position in it
CREATE OR REPLACE TEMP TABLE fc_calendar AS
WITH days AS (
    SELECT unnest(generate_series(b.first, b.last, INTERVAL 1 DAY))::DATE AS date
    FROM (SELECT min(window_start) AS first, max(greatest(horizon_end, date)) AS last FROM fc_series) b
    WHERE b.first IS NOT NULL
),
keyed AS (
    SELECT d.date, month(d.date) AS m, day(d.date) AS dd, d.date - c.new_year_date AS cny_offset
    FROM days d
    LEFT JOIN core.dim_chinese_new_year c ON c.year = year(d.date)
),
periods AS (
    SELECT date,
           CASE WHEN cny_offset BETWEEN -10 AND 15 THEN 'cny'
                WHEN m = 11 AND dd BETWEEN 1 AND 13 THEN '11.11'
                WHEN m = 6 AND dd BETWEEN 1 AND 20 THEN '6.18'
                WHEN m = 12 AND dd BETWEEN 10 AND 14 THEN '12.12'
                ELSE 'plain'
           END AS period,
           CASE WHEN cny_offset BETWEEN -10 AND 15 THEN cny_offset
                WHEN m = 11 AND dd BETWEEN 1 AND 13 THEN dd - 11
                WHEN m = 6 AND dd BETWEEN 1 AND 20 THEN dd - 18
                WHEN m = 12 AND dd BETWEEN 10 AND 14 THEN dd - 12
                -- day of a common year (29 February counts as the 28th)
                ELSE make_date(2001, m, CASE WHEN m = 2 AND dd = 29 THEN 28 ELSE dd END) - DATE '2001-01-01'
           END AS pos
    FROM keyed
)
SELECT *, period IN ('11.11', '6.18', '12.12') AND pos = 0 AS event_day FROM periods;

-- forecast runs: the live one per target (from its latest day), and the back-test cut-offs
CREATE OR REPLACE TEMP TABLE fc_runs AS
WITH last AS (
    SELECT target_id, max(date) AS last_date FROM fc_series GROUP BY target_id
),
runs AS (
    SELECT s.target_id, 'live' AS kind, s.date AS cutoff, s.horizon_end AS run_end
    FROM fc_series s JOIN last l ON l.target_id = s.target_id AND s.date = l.last_date
    UNION ALL
    SELECT s.target_id, 'backtest', s.date, least(s.date + 180, l.last_date)
    FROM fc_series s JOIN last l USING (target_id)
    WHERE s.date = last_day(s.date) AND s.date - s.window_start + 1 >= 364 + 28 AND s.date + 30 <= l.last_date
)
SELECT row_number() OVER (ORDER BY r.target_id, r.kind DESC, r.cutoff)::INTEGER AS run_id, r.*,
       s.cumulative_net_eur AS start_cum, s.run_rate_30d AS start_rate_30d, s.reached_on AS start_reached_on,
       s.amount, s.window_start, s.stretch_deadline, s.final_deadline
FROM runs r JOIN fc_series s ON s.target_id = r.target_id AND s.date = r.cutoff;

-- trailing year-on-year growth: 13 four-week blocks back from the cut-off, each against the same
-- 28 days 364 days (52 weeks: the same weekdays) earlier; blocks whose year-earlier days precede
-- the history are left out
CREATE OR REPLACE TEMP TABLE fc_blocks AS
WITH blocks AS (
    SELECT r.run_id, r.target_id, r.cutoff, r.window_start, unnest(range(13))::INTEGER AS block FROM fc_runs r
)
SELECT b.run_id, b.block,
       sum(s.net) FILTER (WHERE s.date > b.cutoff - 28 * (b.block + 1) AND s.date <= b.cutoff - 28 * b.block) AS now_net,
       sum(s.net) FILTER (WHERE s.date > b.cutoff - 28 * (b.block + 1) - 364 AND s.date <= b.cutoff - 28 * b.block - 364)
           AS before_net
FROM blocks b
JOIN fc_series s ON s.target_id = b.target_id
               AND s.date > b.cutoff - 28 * (b.block + 1) - 364 AND s.date <= b.cutoff - 28 * b.block
WHERE b.cutoff - 28 * (b.block + 1) - 364 >= b.window_start - 1
GROUP BY ALL
HAVING before_net > 0;

CREATE OR REPLACE TEMP TABLE fc_growth AS
SELECT r.run_id,
       coalesce(sum(b.now_net) / sum(b.before_net), 1.0) AS growth,
       count(b.block)::INTEGER AS blocks,
       list(greatest(least(b.now_net / b.before_net, 5.0), 0.2) ORDER BY b.block) AS ratios
FROM fc_runs r LEFT JOIN fc_blocks b USING (run_id)
GROUP BY r.run_id;

-- the history each run may draw from, with its calendar period
CREATE OR REPLACE TEMP TABLE fc_history AS
SELECT s.target_id, s.date, s.net, c.period, c.pos, c.event_day
FROM fc_series s JOIN fc_calendar c USING (date);

-- the future days of each run and, for each, the days of earlier years it may draw
CREATE OR REPLACE TEMP TABLE fc_days AS
SELECT r.run_id, r.kind, r.target_id, r.cutoff, c.date, c.period, c.pos, c.event_day
FROM fc_runs r JOIN fc_calendar c ON c.date > r.cutoff AND c.date <= r.run_end;

CREATE OR REPLACE TEMP TABLE fc_pool AS
WITH seasonal AS (
    SELECT f.run_id, f.date, h.date AS source_date, h.net,
           greatest(round((f.date - h.date) / 365.2425), 1)::INTEGER AS years_back
    FROM fc_days f
    JOIN fc_history h ON h.target_id = f.target_id AND h.date <= f.cutoff AND h.period = f.period
                     AND f.date - h.date >= 300
                     AND CASE WHEN f.event_day THEN h.event_day
                              WHEN h.event_day THEN false
                              WHEN f.period = 'plain' THEN least(abs(f.pos - h.pos), 365 - abs(f.pos - h.pos)) <= 3
                              ELSE abs(f.pos - h.pos) <= 3
                         END
),
recent AS (  -- no earlier year in the period: the last 28 days, unscaled
    SELECT f.run_id, f.date, h.date AS source_date, h.net, 0 AS years_back
    FROM fc_days f
    JOIN fc_history h ON h.target_id = f.target_id AND h.date <= f.cutoff AND h.date > f.cutoff - 28
    WHERE NOT EXISTS (SELECT 1 FROM seasonal s WHERE s.run_id = f.run_id AND s.date = f.date)
)
SELECT *, row_number() OVER (PARTITION BY run_id, date ORDER BY source_date)::INTEGER AS idx,
       count(*) OVER (PARTITION BY run_id, date)::INTEGER AS n
FROM (SELECT * FROM seasonal UNION ALL SELECT * FROM recent);

-- each simulation's growth: one of the run's block ratios (hash of seed, simulation, target)
CREATE OR REPLACE TEMP TABLE fc_sims AS
SELECT r.run_id, s.sim,
       CASE WHEN g.blocks = 0 THEN 1.0
            ELSE g.ratios[(hash(p.seed, s.sim, r.target_id) % g.blocks::UBIGINT)::INTEGER + 1]
       END AS growth
FROM fc_runs r
JOIN fc_growth g USING (run_id)
CROSS JOIN fc_params p
CROSS JOIN LATERAL (SELECT unnest(range(p.sims))::INTEGER AS sim) s;

-- every draw: simulation x future day -> the pool's day picked by hash(seed, sim, target, day)
CREATE OR REPLACE TEMP VIEW fc_draws AS
WITH picks AS (
    SELECT s.run_id, d.kind, s.sim, s.growth, d.date,
           (hash(p.seed, s.sim, d.target_id, d.date) % n.n::UBIGINT)::INTEGER + 1 AS idx
    FROM fc_sims s
    JOIN fc_days d USING (run_id)
    JOIN (SELECT DISTINCT run_id, date, n FROM fc_pool) n USING (run_id, date)
    CROSS JOIN fc_params p
)
SELECT k.run_id, k.kind, k.sim, k.date, pool.net * pow(k.growth, pool.years_back) AS net
FROM picks k JOIN fc_pool pool USING (run_id, date, idx);

-- the live runs' simulated paths: the cumulative from the cut-off on, every day
CREATE OR REPLACE TEMP TABLE fc_paths AS
SELECT d.run_id, d.sim, d.date,
       r.start_cum::DOUBLE + sum(d.net) OVER (PARTITION BY d.run_id, d.sim ORDER BY d.date) AS cum
FROM fc_draws d JOIN fc_runs r USING (run_id)
WHERE d.kind = 'live';

-- each live simulation's completion date (NULL: not within the horizon)
CREATE OR REPLACE TEMP TABLE fc_completion AS
SELECT s.run_id, s.sim,
       coalesce(r.start_reached_on, min(p.date) FILTER (WHERE p.cum >= r.amount::DOUBLE)) AS completed_on
FROM fc_sims s
JOIN fc_runs r USING (run_id)
LEFT JOIN fc_paths p USING (run_id, sim)
WHERE r.kind = 'live'
GROUP BY s.run_id, s.sim, r.start_reached_on;

CREATE OR REPLACE TEMP TABLE fc_bands AS
SELECT run_id, date,
       quantile_cont(cum, 0.1) AS p10, quantile_cont(cum, 0.5) AS p50, quantile_cont(cum, 0.9) AS p90
FROM fc_paths GROUP BY ALL;

-- the back-test runs need each simulation's cumulative only at the horizons: sums, no paths
CREATE OR REPLACE TEMP TABLE fc_backtest_bands AS
WITH at_horizons AS (
    SELECT d.run_id, d.sim,
           sum(d.net) FILTER (WHERE d.date <= r.cutoff + 30) AS h30,
           sum(d.net) FILTER (WHERE d.date <= r.cutoff + 90) AS h90,
           sum(d.net) AS h180
    FROM fc_draws d JOIN fc_runs r USING (run_id)
    WHERE d.kind = 'backtest'
    GROUP BY d.run_id, d.sim
),
long AS (
    SELECT a.run_id, h.horizon_days,
           r.start_cum::DOUBLE + CASE h.horizon_days WHEN 30 THEN a.h30 WHEN 90 THEN a.h90 ELSE a.h180 END AS cum
    FROM at_horizons a
    JOIN fc_runs r USING (run_id)
    CROSS JOIN (VALUES (30), (90), (180)) h(horizon_days)
    WHERE r.cutoff + h.horizon_days <= r.run_end
)
SELECT run_id, horizon_days,
       quantile_cont(cum, 0.1) AS p10, quantile_cont(cum, 0.5) AS p50, quantile_cont(cum, 0.9) AS p90
FROM long GROUP BY ALL;

CREATE OR REPLACE TABLE marts.export_forecast AS
WITH outcome AS (
    SELECT r.run_id,
           count(*)::INTEGER AS sims,
           (count(*) FILTER (WHERE c.completed_on <= r.stretch_deadline) / count(*))::DECIMAL(5, 4) AS p_reach_by_stretch,
           (count(*) FILTER (WHERE c.completed_on <= r.run_end) / count(*))::DECIMAL(5, 4) AS p_reach_by_final,
           -- the k-th completion date of the sims in order, not reached last (9999: none)
           quantile_disc(coalesce(c.completed_on, DATE '9999-12-31'), 0.1) AS q10,
           quantile_disc(coalesce(c.completed_on, DATE '9999-12-31'), 0.5) AS q50,
           quantile_disc(coalesce(c.completed_on, DATE '9999-12-31'), 0.9) AS q90
    FROM fc_runs r JOIN fc_completion c USING (run_id)
    WHERE r.kind = 'live'
    GROUP BY r.run_id
)
SELECT r.target_id,
       r.cutoff AS cutoff_date,
       r.run_end AS horizon_end,
       o.sims,
       p.seed::BIGINT AS seed,
       (r.cutoff - r.window_start + 1)::INTEGER AS history_days,
       round(g.growth, 4)::DECIMAL(10, 4) AS growth_yoy,
       g.blocks AS growth_blocks,
       r.start_cum AS cumulative_net_eur,
       r.amount AS target_eur,
       r.start_reached_on AS reached_on,
       o.p_reach_by_stretch,
       o.p_reach_by_final,
       nullif(o.q10, DATE '9999-12-31') AS completion_p10,
       nullif(o.q50, DATE '9999-12-31') AS completion_p50,
       nullif(o.q90, DATE '9999-12-31') AS completion_p90,
       coalesce(b.p10, r.start_cum)::DECIMAL(18, 2) AS final_cumulative_p10_eur,
       coalesce(b.p50, r.start_cum)::DECIMAL(18, 2) AS final_cumulative_p50_eur,
       coalesce(b.p90, r.start_cum)::DECIMAL(18, 2) AS final_cumulative_p90_eur,
       r.stretch_deadline,
       r.final_deadline
FROM fc_runs r
JOIN outcome o USING (run_id)
JOIN fc_growth g USING (run_id)
CROSS JOIN fc_params p
LEFT JOIN fc_bands b ON b.run_id = r.run_id AND b.date = r.run_end
ORDER BY r.target_id;

CREATE OR REPLACE TABLE marts.export_forecast_fan AS
SELECT r.target_id, r.cutoff AS date, r.start_cum AS cumulative_p10_eur, r.start_cum AS cumulative_p50_eur,
       r.start_cum AS cumulative_p90_eur
FROM fc_runs r WHERE r.kind = 'live'
UNION ALL
SELECT r.target_id, b.date, b.p10::DECIMAL(18, 2), b.p50::DECIMAL(18, 2), b.p90::DECIMAL(18, 2)
FROM fc_runs r JOIN fc_bands b USING (run_id) WHERE r.kind = 'live'
ORDER BY target_id, date;

CREATE OR REPLACE TABLE marts.export_forecast_backtest AS
SELECT r.target_id,
       r.cutoff AS cutoff_date,
       b.horizon_days,
       (r.cutoff + b.horizon_days) AS horizon_date,
       r.start_cum AS cumulative_at_cutoff_eur,
       a.cumulative_net_eur AS actual_cumulative_eur,
       b.p10::DECIMAL(18, 2) AS p10_cumulative_eur,
       b.p50::DECIMAL(18, 2) AS p50_cumulative_eur,
       b.p90::DECIMAL(18, 2) AS p90_cumulative_eur,
       (r.start_cum + r.start_rate_30d * b.horizon_days)::DECIMAL(18, 2) AS straight_line_cumulative_eur,
       a.cumulative_net_eur BETWEEN b.p10 AND b.p90 AS inside_p10_p90,
       abs(b.p50 - a.cumulative_net_eur::DOUBLE)::DECIMAL(18, 2) AS p50_abs_error_eur,
       abs(r.start_cum + r.start_rate_30d * b.horizon_days - a.cumulative_net_eur)::DECIMAL(18, 2)
           AS straight_line_abs_error_eur
FROM fc_runs r
JOIN fc_backtest_bands b USING (run_id)
JOIN fc_series a ON a.target_id = r.target_id AND a.date = r.cutoff + b.horizon_days
WHERE r.kind = 'backtest'
ORDER BY r.target_id, b.horizon_days, r.cutoff;

DROP TABLE fc_params; DROP TABLE fc_series; DROP TABLE fc_calendar; DROP TABLE fc_runs; DROP TABLE fc_blocks;
DROP TABLE fc_growth; DROP TABLE fc_history; DROP TABLE fc_days; DROP TABLE fc_pool; DROP TABLE fc_sims;
DROP VIEW fc_draws; DROP TABLE fc_paths; DROP TABLE fc_completion; DROP TABLE fc_bands; DROP TABLE fc_backtest_bands;

COMMENT ON TABLE marts.export_forecast IS 'Seasonal Monte Carlo forecast per target with an amount, from its latest day (docs/forecast.md): probabilities of reaching the amount by each deadline and P10/P50/P90 completion dates.';
COMMENT ON COLUMN marts.export_forecast.target_id IS 'core.dim_target.target_id.';
COMMENT ON COLUMN marts.export_forecast.cutoff_date IS 'The last day of history the forecast uses (the target''s latest day in marts.export_progress_daily).';
COMMENT ON COLUMN marts.export_forecast.horizon_end IS 'Last simulated day: min(final deadline, window end).';
COMMENT ON COLUMN marts.export_forecast.sims IS 'Simulations (XBORDER_FORECAST_SIMS).';
COMMENT ON COLUMN marts.export_forecast.seed IS 'Seed of the hash-based draws (XBORDER_FORECAST_SEED): same seed and data, same forecast.';
COMMENT ON COLUMN marts.export_forecast.history_days IS 'Days of history from the window start to the cut-off.';
COMMENT ON COLUMN marts.export_forecast.growth_yoy IS 'Trailing year-on-year growth: net of the last 13 four-week blocks / the same blocks 52 weeks earlier (1 without a year and four weeks of history); each simulation draws one block''s ratio.';
COMMENT ON COLUMN marts.export_forecast.growth_blocks IS 'Four-week blocks behind growth_yoy (0: no year-earlier history, growth 1).';
COMMENT ON COLUMN marts.export_forecast.cumulative_net_eur IS 'Cumulative net EUR at the cut-off (exact).';
COMMENT ON COLUMN marts.export_forecast.target_eur IS 'The target amount.';
COMMENT ON COLUMN marts.export_forecast.reached_on IS 'Already reached at the cut-off: the day (then every simulation completes on it).';
COMMENT ON COLUMN marts.export_forecast.p_reach_by_stretch IS 'Share of simulations reaching the amount on or before the stretch deadline (1 if reached by it, 0 once past it unreached).';
COMMENT ON COLUMN marts.export_forecast.p_reach_by_final IS 'Share of simulations reaching the amount by horizon_end (the final deadline within the window).';
COMMENT ON COLUMN marts.export_forecast.completion_p10 IS '10th percentile of the simulated completion dates (sims that never reach it count as latest); NULL: later than horizon_end.';
COMMENT ON COLUMN marts.export_forecast.completion_p50 IS 'Median simulated completion date; NULL: more than half the sims do not reach the amount by horizon_end.';
COMMENT ON COLUMN marts.export_forecast.completion_p90 IS '90th percentile of the simulated completion dates; NULL: more than 10 % of sims do not reach the amount by horizon_end.';
COMMENT ON COLUMN marts.export_forecast.final_cumulative_p10_eur IS 'P10 of the simulated cumulative net EUR on horizon_end (to the cent).';
COMMENT ON COLUMN marts.export_forecast.final_cumulative_p50_eur IS 'P50 of the simulated cumulative net EUR on horizon_end.';
COMMENT ON COLUMN marts.export_forecast.final_cumulative_p90_eur IS 'P90 of the simulated cumulative net EUR on horizon_end.';
COMMENT ON COLUMN marts.export_forecast.stretch_deadline IS 'Stretch deadline.';
COMMENT ON COLUMN marts.export_forecast.final_deadline IS 'Final deadline.';

COMMENT ON TABLE marts.export_forecast_fan IS 'The forecast''s fan: per target and day from the cut-off (the actual cumulative) to horizon_end, the P10/P50/P90 of the simulated cumulative net EUR.';
COMMENT ON COLUMN marts.export_forecast_fan.target_id IS 'core.dim_target.target_id.';
COMMENT ON COLUMN marts.export_forecast_fan.date IS 'The day (the first row: the cut-off, where all three are the actual cumulative).';
COMMENT ON COLUMN marts.export_forecast_fan.cumulative_p10_eur IS '10th percentile of the simulated cumulative net EUR that day.';
COMMENT ON COLUMN marts.export_forecast_fan.cumulative_p50_eur IS 'Median simulated cumulative net EUR that day.';
COMMENT ON COLUMN marts.export_forecast_fan.cumulative_p90_eur IS '90th percentile of the simulated cumulative net EUR that day.';

COMMENT ON TABLE marts.export_forecast_backtest IS 'The forecast back-tested: cut at every month end with a year and four weeks of history before it, compared with the actual cumulative 30, 90 and 180 days later (when the data reaches that day).';
COMMENT ON COLUMN marts.export_forecast_backtest.target_id IS 'core.dim_target.target_id.';
COMMENT ON COLUMN marts.export_forecast_backtest.cutoff_date IS 'The month end the history was cut at.';
COMMENT ON COLUMN marts.export_forecast_backtest.horizon_days IS 'Days after the cut-off the forecast is compared at (30, 90, 180).';
COMMENT ON COLUMN marts.export_forecast_backtest.horizon_date IS 'cutoff_date + horizon_days.';
COMMENT ON COLUMN marts.export_forecast_backtest.cumulative_at_cutoff_eur IS 'Actual cumulative net EUR at the cut-off.';
COMMENT ON COLUMN marts.export_forecast_backtest.actual_cumulative_eur IS 'Actual cumulative net EUR on horizon_date.';
COMMENT ON COLUMN marts.export_forecast_backtest.p10_cumulative_eur IS 'Forecast P10 of the cumulative on horizon_date.';
COMMENT ON COLUMN marts.export_forecast_backtest.p50_cumulative_eur IS 'Forecast median of the cumulative on horizon_date.';
COMMENT ON COLUMN marts.export_forecast_backtest.p90_cumulative_eur IS 'Forecast P90 of the cumulative on horizon_date.';
COMMENT ON COLUMN marts.export_forecast_backtest.straight_line_cumulative_eur IS 'The marts'' straight line: cumulative at the cut-off + 30-day run-rate x horizon_days.';
COMMENT ON COLUMN marts.export_forecast_backtest.inside_p10_p90 IS 'Whether the actual cumulative lay within [P10, P90].';
COMMENT ON COLUMN marts.export_forecast_backtest.p50_abs_error_eur IS '|P50 - actual|.';
COMMENT ON COLUMN marts.export_forecast_backtest.straight_line_abs_error_eur IS '|straight line - actual|.';
