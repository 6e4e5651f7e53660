-- Daily progress per target (DESIGN §4). One row per target and calendar day from the window
-- start to the last day with data (or the window end); days without sales are 0.
CREATE OR REPLACE TABLE marts.export_progress_daily AS
WITH last_day AS (SELECT max(event_date) AS d FROM core.fct_sales_event),
days AS (
    SELECT t.target_id,
           unnest(generate_series(t.window_start,
                                  greatest(t.window_start, least(t.window_end, coalesce((SELECT d FROM last_day), t.window_start))),
                                  INTERVAL 1 DAY))::DATE AS date
    FROM core.dim_target t
),
daily AS (
    SELECT t.target_id, f.event_date AS date,
           sum(f.eur_amount) AS net_eur,
           sum(f.eur_amount) FILTER (WHERE f.event_type = 'order') AS gross_eur,
           sum(f.eur_amount) FILTER (WHERE f.event_type = 'cancel') AS cancelled_eur,
           sum(f.eur_amount) FILTER (WHERE f.event_type = 'return') AS returned_eur,
           sum(f.quantity) AS units,
           sum(f.weight_kg) AS kg
    FROM core.fct_sales_event f
    JOIN core.dim_target t
      ON (len(t.origin_countries) = 0 OR list_contains(t.origin_countries, f.country_of_origin))
     AND list_contains(t.destination_countries, f.ship_to_country)
     AND f.event_date BETWEEN t.window_start AND t.window_end
    GROUP BY ALL
),
series AS (
    SELECT d.target_id, d.date,
           coalesce(x.net_eur, 0)::DECIMAL(18, 2) AS net_eur,
           coalesce(x.gross_eur, 0)::DECIMAL(18, 2) AS gross_eur,
           coalesce(x.cancelled_eur, 0)::DECIMAL(18, 2) AS cancelled_eur,
           coalesce(x.returned_eur, 0)::DECIMAL(18, 2) AS returned_eur,
           coalesce(x.units, 0)::BIGINT AS units,
           coalesce(x.kg, 0)::DECIMAL(18, 4) AS kg
    FROM days d LEFT JOIN daily x USING (target_id, date)
),
running AS (
    SELECT *,
           sum(net_eur) OVER upto AS cumulative_net_eur,
           sum(units) OVER upto AS cumulative_units,
           sum(kg) OVER upto AS cumulative_kg,
           sum(net_eur) OVER (PARTITION BY target_id ORDER BY date ROWS BETWEEN 29 PRECEDING AND CURRENT ROW) AS net_30d,
           sum(net_eur) OVER (PARTITION BY target_id ORDER BY date ROWS BETWEEN 89 PRECEDING AND CURRENT ROW) AS net_90d,
           row_number() OVER upto AS day_number
    FROM series
    WINDOW upto AS (PARTITION BY target_id ORDER BY date ROWS UNBOUNDED PRECEDING)
),
rated AS (
    SELECT r.*, t.amount, t.stretch_deadline, t.final_deadline,
           -- EUR per day over the trailing window; fewer days at the window start
           (r.net_30d / least(r.day_number, 30))::DECIMAL(18, 2) AS run_rate_30d,
           (r.net_90d / least(r.day_number, 90))::DECIMAL(18, 2) AS run_rate_90d,
           min(r.date) FILTER (WHERE r.cumulative_net_eur >= t.amount)
               OVER (PARTITION BY r.target_id ORDER BY r.date ROWS UNBOUNDED PRECEDING) AS reached_on
    FROM running r JOIN core.dim_target t USING (target_id)
),
projected AS (
    SELECT *,
           CASE WHEN amount IS NULL THEN NULL
                WHEN reached_on IS NOT NULL THEN reached_on
                WHEN run_rate_30d > 0
                    THEN date + ceil((amount - cumulative_net_eur) / run_rate_30d)::INTEGER
           END AS projected_completion_date
    FROM rated
)
SELECT target_id, date, net_eur, gross_eur, cancelled_eur, returned_eur, units, kg,
       cumulative_net_eur, cumulative_units, cumulative_kg,
       amount AS target_eur,
       (100 * cumulative_net_eur / amount)::DECIMAL(9, 4) AS pct_of_target,
       run_rate_30d, run_rate_90d,
       CASE WHEN amount IS NULL OR date >= stretch_deadline THEN NULL
            WHEN cumulative_net_eur >= amount THEN 0
            ELSE ((amount - cumulative_net_eur) / (stretch_deadline - date))::DECIMAL(18, 2)
       END AS pace_needed_stretch,
       CASE WHEN amount IS NULL OR date >= final_deadline THEN NULL
            WHEN cumulative_net_eur >= amount THEN 0
            ELSE ((amount - cumulative_net_eur) / (final_deadline - date))::DECIMAL(18, 2)
       END AS pace_needed_final,
       projected_completion_date,
       CASE WHEN amount IS NULL THEN NULL
            WHEN projected_completion_date <= stretch_deadline THEN 'on_track'
            WHEN projected_completion_date <= final_deadline THEN 'at_risk'
            ELSE 'off_track'
       END AS status
FROM projected
ORDER BY target_id, date;

COMMENT ON TABLE marts.export_progress_daily IS 'Daily progress per target: net EUR, cumulative, % of target, run-rates, pace needed, projection, status (DESIGN §4).';
COMMENT ON COLUMN marts.export_progress_daily.net_eur IS 'Net EUR that day: orders minus cancellations and returns counted on their own dates.';
COMMENT ON COLUMN marts.export_progress_daily.cumulative_net_eur IS 'Net EUR since the window start, up to and including the day.';
COMMENT ON COLUMN marts.export_progress_daily.pct_of_target IS 'cumulative_net_eur / target_eur x 100.';
COMMENT ON COLUMN marts.export_progress_daily.run_rate_30d IS 'Net EUR per day over the trailing 30 days (days elapsed, if fewer).';
COMMENT ON COLUMN marts.export_progress_daily.run_rate_90d IS 'Net EUR per day over the trailing 90 days (days elapsed, if fewer).';
COMMENT ON COLUMN marts.export_progress_daily.pace_needed_stretch IS 'EUR per day still needed from the next day to reach the target by the stretch deadline; 0 once reached.';
COMMENT ON COLUMN marts.export_progress_daily.pace_needed_final IS 'EUR per day still needed from the next day to reach the target by the final deadline; 0 once reached.';
COMMENT ON COLUMN marts.export_progress_daily.projected_completion_date IS 'Day the target is reached at the 30-day run-rate (the day it was reached, once reached).';
COMMENT ON COLUMN marts.export_progress_daily.status IS 'on_track: projected by the stretch deadline; at_risk: by the final deadline; off_track: later or no run-rate.';
