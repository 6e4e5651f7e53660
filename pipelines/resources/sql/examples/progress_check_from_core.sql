-- The headline recomputed straight from the facts (no marts): cumulative net EUR, % of target,
-- 30-day run-rate, reached date, projected completion date and status for every target, as of
-- min(window end, latest event date). Its numbers must equal marts.export_progress_latest.
-- xborder sql --file sql/examples/progress_check_from_core.sql
WITH as_of AS (
    SELECT * FROM (
        SELECT t.*, least(t.window_end, (SELECT max(event_date) FROM core.fct_sales_event)) AS as_of
        FROM core.dim_target t
    ) WHERE as_of >= window_start  -- targets whose window has started in the data
),
counted AS (        -- the facts each target counts: origin, ship-to country (empty list: every
    SELECT a.target_id, f.event_date, f.eur_amount    -- country but the excluded), window
    FROM as_of a
    JOIN core.fct_sales_event f
      ON f.event_date BETWEEN a.window_start AND a.as_of
     AND (len(a.destination_countries) = 0 OR list_contains(a.destination_countries, f.ship_to_country))
     AND NOT list_contains(a.destination_exclude, f.ship_to_country)
     AND (len(a.origin_countries) = 0 OR list_contains(a.origin_countries, f.country_of_origin))
     AND NOT list_contains(a.origin_exclude, f.country_of_origin)
),
daily AS (          -- running total by day, to find when the amount was reached
    SELECT target_id, event_date, sum(sum(eur_amount)) OVER (PARTITION BY target_id ORDER BY event_date) AS running
    FROM counted GROUP BY target_id, event_date
),
totals AS (
    SELECT a.target_id, a.amount, a.as_of, a.window_start, a.stretch_deadline, a.final_deadline,
           coalesce(sum(c.eur_amount), 0) AS cumulative,
           -- the last 30 days (fewer at the window start: divide by the days elapsed)
           coalesce(sum(c.eur_amount) FILTER (WHERE c.event_date > a.as_of - 30), 0) AS last_30d,
           least(a.as_of - a.window_start + 1, 30) AS days_30d
    FROM as_of a LEFT JOIN counted c USING (target_id)
    GROUP BY ALL
),
projected AS (
    SELECT t.*,
           -- reached (sticky): the first day the running total was at or above the amount
           (SELECT min(d.event_date) FROM daily d WHERE d.target_id = t.target_id AND d.running >= t.amount)
               AS reached_on,
           CASE WHEN (SELECT min(d.event_date) FROM daily d
                      WHERE d.target_id = t.target_id AND d.running >= t.amount) IS NOT NULL THEN NULL
                WHEN t.last_30d > 0 THEN  -- as_of + ceil(remaining / (last_30d / days_30d)), in whole cents
                    t.as_of + ((((t.amount - t.cumulative) * 100)::HUGEINT * t.days_30d + (t.last_30d * 100)::HUGEINT - 1)
                               // (t.last_30d * 100)::HUGEINT)::INTEGER
           END AS projected_completion_date
    FROM totals t
)
SELECT target_id,
       as_of,
       cumulative::DECIMAL(18, 2) AS cumulative_net_eur,
       amount AS target_eur,
       (core.div_half_even((cumulative * 100)::HUGEINT * 1000000, (amount * 100)::HUGEINT)::DECIMAL(38, 0)
           * 0.0001::DECIMAL(5, 4))::DECIMAL(12, 4) AS pct_of_target,
       (core.div_half_even((last_30d * 100)::HUGEINT, days_30d)::DECIMAL(38, 0) * 0.01::DECIMAL(3, 2))::DECIMAL(18, 2)
           AS run_rate_30d,
       CASE WHEN amount IS NOT NULL THEN reached_on END AS reached_on,
       CASE WHEN amount IS NOT NULL THEN projected_completion_date END AS projected_completion_date,
       CASE WHEN amount IS NULL THEN NULL
            WHEN reached_on IS NOT NULL THEN 'reached'
            WHEN projected_completion_date <= stretch_deadline THEN 'on_track'
            WHEN projected_completion_date <= final_deadline THEN 'at_risk'
            ELSE 'off_track'
       END AS status
FROM projected
ORDER BY target_id;
