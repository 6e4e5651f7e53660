-- Daily progress per target (docs/design.md §4). One row per target and
-- calendar day from the window start to min(window end, latest event_date in core); days
-- without sales are rows of 0. Derived from marts.agg_target_daily (cheap: days x targets).
-- Every division is exact integer arithmetic on cents, rounded half to even (DuckDB's DECIMAL
-- division would be a DOUBLE): core.div_half_even(numerator, denominator).
CREATE OR REPLACE TABLE marts.export_progress_daily AS
WITH latest AS (SELECT max(event_date) AS d FROM core.fct_sales_event),
days AS (
    SELECT t.target_id,
           unnest(generate_series(t.window_start, least(t.window_end, l.d), INTERVAL 1 DAY))::DATE AS date
    FROM core.dim_target t, latest l
    WHERE l.d >= t.window_start
),
series AS (
    SELECT d.target_id, d.date,
           coalesce(a.order_lines, 0)::BIGINT AS order_lines,
           coalesce(a.gross_eur, 0)::DECIMAL(18, 2) AS gross_eur,
           coalesce(a.cancelled_eur, 0)::DECIMAL(18, 2) AS cancelled_eur,
           coalesce(a.returned_eur, 0)::DECIMAL(18, 2) AS returned_eur,
           coalesce(a.credited_eur, 0)::DECIMAL(18, 2) AS credited_eur,
           coalesce(a.net_eur, 0)::DECIMAL(18, 2) AS net_eur,
           coalesce(a.units, 0)::BIGINT AS units,
           coalesce(a.kg, 0)::DECIMAL(18, 4) AS kg
    FROM days d
    LEFT JOIN marts.agg_target_daily a USING (target_id, date)
),
running AS (
    -- the series has every day, so N rows back = N days back
    SELECT s.*, t.amount, t.window_start, t.stretch_deadline, t.final_deadline,
           (s.date - t.window_start + 1)::INTEGER AS day_number,
           sum(s.net_eur) OVER upto AS cum_net,
           sum(s.units) OVER upto AS cum_units,
           sum(s.kg) OVER upto AS cum_kg,
           sum(s.net_eur) OVER (PARTITION BY s.target_id ORDER BY s.date ROWS BETWEEN 29 PRECEDING AND CURRENT ROW)
               AS net_30d,
           sum(s.net_eur) OVER (PARTITION BY s.target_id ORDER BY s.date ROWS BETWEEN 89 PRECEDING AND CURRENT ROW)
               AS net_90d
    FROM series s
    JOIN core.dim_target t USING (target_id)
    WINDOW upto AS (PARTITION BY s.target_id ORDER BY s.date ROWS UNBOUNDED PRECEDING)
),
cents AS (
    SELECT *,
           (cum_net * 100)::HUGEINT AS cum_c,
           (amount * 100)::HUGEINT AS amount_c,
           (net_30d * 100)::HUGEINT AS net_30d_c,
           (net_90d * 100)::HUGEINT AS net_90d_c,
           least(day_number, 30) AS days_30d,
           least(day_number, 90) AS days_90d,
           -- reached (sticky, design §4): reached_on = the first day the cumulative was at or above
           -- the amount, on that day and every later one (a later return does not undo it)
           min(date) FILTER (WHERE cum_net >= amount) OVER upto AS reached_on
    FROM running
    WINDOW upto AS (PARTITION BY target_id ORDER BY date ROWS UNBOUNDED PRECEDING)
),
projected AS (
    SELECT *,
           CASE WHEN amount IS NULL THEN NULL
                WHEN reached_on IS NOT NULL THEN NULL  -- reached: no projection (reached_on says when)
                -- ceil(remaining / (net_30d / days_30d)) days after this one, in integers; a date
                -- past 9999-12-31 is no date at all (off_track)
                WHEN net_30d_c > 0 THEN
                    CASE WHEN ((amount_c - cum_c) * days_30d + net_30d_c - 1) // net_30d_c
                              <= DATE '9999-12-31' - date
                         THEN date + (((amount_c - cum_c) * days_30d + net_30d_c - 1) // net_30d_c)::INTEGER
                    END
           END AS projected_completion_date
    FROM cents
)
SELECT target_id,
       date,
       day_number,
       order_lines,
       gross_eur,
       cancelled_eur,
       returned_eur,
       credited_eur,
       net_eur,
       units,
       kg,
       cum_net::DECIMAL(18, 2) AS cumulative_net_eur,
       cum_units::BIGINT AS cumulative_units,
       cum_kg::DECIMAL(18, 4) AS cumulative_kg,
       amount AS target_eur,
       (core.div_half_even(cum_c * 1000000, amount_c)::DECIMAL(38, 0) * 0.0001::DECIMAL(5, 4))::DECIMAL(12, 4)
           AS pct_of_target,
       CASE WHEN amount IS NOT NULL THEN greatest(amount - cum_net, 0)::DECIMAL(18, 2) END AS remaining_eur,
       (core.div_half_even(net_30d_c, days_30d)::DECIMAL(38, 0) * 0.01::DECIMAL(3, 2))::DECIMAL(18, 2)
           AS run_rate_30d,
       (core.div_half_even(net_90d_c, days_90d)::DECIMAL(38, 0) * 0.01::DECIMAL(3, 2))::DECIMAL(18, 2)
           AS run_rate_90d,
       CASE WHEN amount IS NULL OR date >= stretch_deadline THEN NULL
            WHEN reached_on IS NOT NULL THEN 0::DECIMAL(18, 2)
            ELSE (core.div_half_even(amount_c - cum_c, stretch_deadline - date)::DECIMAL(38, 0)
                  * 0.01::DECIMAL(3, 2))::DECIMAL(18, 2)
       END AS pace_needed_stretch,
       CASE WHEN amount IS NULL OR date >= final_deadline THEN NULL
            WHEN reached_on IS NOT NULL THEN 0::DECIMAL(18, 2)
            ELSE (core.div_half_even(amount_c - cum_c, final_deadline - date)::DECIMAL(38, 0)
                  * 0.01::DECIMAL(3, 2))::DECIMAL(18, 2)
       END AS pace_needed_final,
       reached_on,
       reached_on <= stretch_deadline AS reached_by_stretch,
       projected_completion_date,
       CASE WHEN amount IS NULL THEN NULL
            WHEN reached_on IS NOT NULL THEN 'reached'
            WHEN projected_completion_date <= stretch_deadline THEN 'on_track'
            WHEN projected_completion_date <= final_deadline THEN 'at_risk'
            ELSE 'off_track'
       END AS status
FROM projected
ORDER BY target_id, date;

COMMENT ON TABLE marts.export_progress_daily IS 'Daily progress per target (docs/design.md §4): one row per calendar day from the window start to min(window end, latest event date); days without sales are 0.';
COMMENT ON COLUMN marts.export_progress_daily.target_id IS 'core.dim_target.target_id (targets.yml).';
COMMENT ON COLUMN marts.export_progress_daily.date IS 'The day (UTC event_date).';
COMMENT ON COLUMN marts.export_progress_daily.day_number IS 'Days since the window start, counting it: 1 on window_start.';
COMMENT ON COLUMN marts.export_progress_daily.order_lines IS 'Order lines ordered that day.';
COMMENT ON COLUMN marts.export_progress_daily.gross_eur IS 'EUR of orders that day (positive).';
COMMENT ON COLUMN marts.export_progress_daily.cancelled_eur IS 'EUR of cancellations that day (negative; the whole line value, on the cancel date).';
COMMENT ON COLUMN marts.export_progress_daily.returned_eur IS 'EUR of returns that day (negative; the returned share at the original order rate, on the return date).';
COMMENT ON COLUMN marts.export_progress_daily.credited_eur IS 'EUR of standalone credits that day (negative; credit notes and refunds referencing no order line, valued as themselves at their own date''s rate).';
COMMENT ON COLUMN marts.export_progress_daily.net_eur IS 'Net EUR that day: gross_eur + cancelled_eur + returned_eur + credited_eur.';
COMMENT ON COLUMN marts.export_progress_daily.units IS 'Net units that day (orders minus cancelled, returned and credited units).';
COMMENT ON COLUMN marts.export_progress_daily.kg IS 'Net weight in kg that day (catalogue unit weight x signed quantity).';
COMMENT ON COLUMN marts.export_progress_daily.cumulative_net_eur IS 'Net EUR from the window start up to and including the day.';
COMMENT ON COLUMN marts.export_progress_daily.cumulative_units IS 'Net units from the window start up to and including the day.';
COMMENT ON COLUMN marts.export_progress_daily.cumulative_kg IS 'Net kg from the window start up to and including the day.';
COMMENT ON COLUMN marts.export_progress_daily.target_eur IS 'The target amount in EUR; NULL for a tracking-only target.';
COMMENT ON COLUMN marts.export_progress_daily.pct_of_target IS '100 x cumulative_net_eur / target_eur, 4 decimals, half to even; NULL without an amount.';
COMMENT ON COLUMN marts.export_progress_daily.remaining_eur IS 'max(target_eur - cumulative_net_eur, 0).';
COMMENT ON COLUMN marts.export_progress_daily.run_rate_30d IS 'Net EUR per day over the 30 days ending on the day (within the window; at the window start divided by the days elapsed), to the cent half to even.';
COMMENT ON COLUMN marts.export_progress_daily.run_rate_90d IS 'Net EUR per day over the 90 days ending on the day (within the window; at the window start divided by the days elapsed), to the cent half to even.';
COMMENT ON COLUMN marts.export_progress_daily.pace_needed_stretch IS 'EUR per day needed from the next day on to reach the amount by the stretch deadline: (target_eur - cumulative_net_eur) / (stretch_deadline - date); 0 once reached; NULL on and after the deadline.';
COMMENT ON COLUMN marts.export_progress_daily.pace_needed_final IS 'EUR per day needed from the next day on to reach the amount by the final deadline: (target_eur - cumulative_net_eur) / (final_deadline - date); 0 once reached; NULL on and after the deadline.';
COMMENT ON COLUMN marts.export_progress_daily.reached_on IS 'The first day cumulative_net_eur was at or above target_eur, on that day and every later one (sticky: a later return below the amount does not undo it); NULL before.';
COMMENT ON COLUMN marts.export_progress_daily.reached_by_stretch IS 'Once reached: true if reached_on <= stretch deadline, false if after it; NULL before it is reached.';
COMMENT ON COLUMN marts.export_progress_daily.projected_completion_date IS 'Not yet reached: date + ceil((target_eur - cumulative_net_eur) / exact 30-day run-rate) days (always after the day); NULL once reached (see reached_on), if the 30-day run-rate <= 0 (or the date would pass 9999-12-31).';
COMMENT ON COLUMN marts.export_progress_daily.status IS 'reached: the amount was reached on or before the day (sticky; reached_on, reached_by_stretch); else on_track: projected_completion_date <= stretch deadline; at_risk: <= final deadline; off_track: later or no projection; NULL without an amount.';
