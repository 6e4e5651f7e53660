-- The headline: each target's latest day, with its definition. A target whose window has not
-- started in the data yet still has a row (date NULL, nothing counted, status NULL).
CREATE OR REPLACE VIEW marts.export_progress_latest AS
WITH latest AS (
    SELECT * FROM marts.export_progress_daily
    QUALIFY row_number() OVER (PARTITION BY target_id ORDER BY date DESC) = 1
)
SELECT t.position, t.target_id, t.name, l.date, l.day_number,
       coalesce(l.cumulative_net_eur, 0)::DECIMAL(18, 2) AS cumulative_net_eur,
       coalesce(l.cumulative_units, 0)::BIGINT AS cumulative_units,
       coalesce(l.cumulative_kg, 0)::DECIMAL(18, 4) AS cumulative_kg,
       t.amount AS target_eur, l.pct_of_target,
       coalesce(l.remaining_eur, t.amount) AS remaining_eur,
       l.run_rate_30d, l.run_rate_90d, l.pace_needed_stretch, l.pace_needed_final,
       l.reached_on, l.reached_by_stretch, l.projected_completion_date, l.status,
       t.window_start, t.window_end, t.stretch_deadline, t.final_deadline,
       t.stretch_deadline - l.date AS days_to_stretch,
       t.final_deadline - l.date AS days_to_final,
       t.origin_countries, t.origin_exclude, t.destination_countries, t.destination_exclude, t.scaled_from, t.scale_note,
       (SELECT max(event_date) FROM core.fct_sales_event) AS data_through
FROM core.dim_target t
LEFT JOIN latest l USING (target_id)
ORDER BY t.position, t.target_id;

COMMENT ON VIEW marts.export_progress_latest IS 'The headline: one row per target with its latest day of marts.export_progress_daily and its definition (see that table for the metrics).';
COMMENT ON COLUMN marts.export_progress_latest.position IS 'Order in targets.yml (0 = the headline target).';
COMMENT ON COLUMN marts.export_progress_latest.target_id IS 'core.dim_target.target_id.';
COMMENT ON COLUMN marts.export_progress_latest.name IS 'Target name.';
COMMENT ON COLUMN marts.export_progress_latest.date IS 'Latest day of the series: min(window end, latest event date); NULL before the window starts.';
COMMENT ON COLUMN marts.export_progress_latest.day_number IS 'Days since the window start, counting it.';
COMMENT ON COLUMN marts.export_progress_latest.cumulative_net_eur IS 'Net EUR since the window start (0 before it starts).';
COMMENT ON COLUMN marts.export_progress_latest.cumulative_units IS 'Net units since the window start.';
COMMENT ON COLUMN marts.export_progress_latest.cumulative_kg IS 'Net kg since the window start.';
COMMENT ON COLUMN marts.export_progress_latest.target_eur IS 'Target amount in EUR (NULL: tracking only).';
COMMENT ON COLUMN marts.export_progress_latest.pct_of_target IS '100 x cumulative_net_eur / target_eur, 4 decimals.';
COMMENT ON COLUMN marts.export_progress_latest.remaining_eur IS 'max(target_eur - cumulative_net_eur, 0).';
COMMENT ON COLUMN marts.export_progress_latest.run_rate_30d IS 'Net EUR per day over the last 30 days (days elapsed if fewer).';
COMMENT ON COLUMN marts.export_progress_latest.run_rate_90d IS 'Net EUR per day over the last 90 days (days elapsed if fewer).';
COMMENT ON COLUMN marts.export_progress_latest.pace_needed_stretch IS 'EUR per day needed to reach the amount by the stretch deadline (0 once reached, NULL from the deadline on).';
COMMENT ON COLUMN marts.export_progress_latest.pace_needed_final IS 'EUR per day needed to reach the amount by the final deadline (0 once reached, NULL from the deadline on).';
COMMENT ON COLUMN marts.export_progress_latest.reached_on IS 'First day the cumulative was at or above the amount (sticky: stays set after a later return); NULL not yet reached.';
COMMENT ON COLUMN marts.export_progress_latest.reached_by_stretch IS 'Once reached: whether reached_on is on or before the stretch deadline; NULL not yet reached.';
COMMENT ON COLUMN marts.export_progress_latest.projected_completion_date IS 'Not yet reached: date + ceil(remaining / 30-day run-rate); NULL once reached (see reached_on) or without a positive run-rate.';
COMMENT ON COLUMN marts.export_progress_latest.status IS 'reached | on_track | at_risk | off_track (see marts.export_progress_daily.status); NULL without an amount or before the window starts.';
COMMENT ON COLUMN marts.export_progress_latest.window_start IS 'First day that counts.';
COMMENT ON COLUMN marts.export_progress_latest.window_end IS 'Last day that counts.';
COMMENT ON COLUMN marts.export_progress_latest.stretch_deadline IS 'Stretch deadline.';
COMMENT ON COLUMN marts.export_progress_latest.final_deadline IS 'Final deadline.';
COMMENT ON COLUMN marts.export_progress_latest.days_to_stretch IS 'stretch_deadline - date (negative once past).';
COMMENT ON COLUMN marts.export_progress_latest.days_to_final IS 'final_deadline - date (negative once past).';
COMMENT ON COLUMN marts.export_progress_latest.origin_countries IS 'Origins counted (empty = every origin but origin_exclude: all goods).';
COMMENT ON COLUMN marts.export_progress_latest.origin_exclude IS 'With every origin: the origins left out.';
COMMENT ON COLUMN marts.export_progress_latest.destination_countries IS 'Ship-to countries counted (empty = every destination but destination_exclude).';
COMMENT ON COLUMN marts.export_progress_latest.destination_exclude IS 'With every destination: the ship-to countries left out (e.g. GB).';
COMMENT ON COLUMN marts.export_progress_latest.scaled_from IS 'Sample-scaled target: the real amount it stands for.';
COMMENT ON COLUMN marts.export_progress_latest.scale_note IS 'Sample-scaled target: how it was scaled.';
COMMENT ON COLUMN marts.export_progress_latest.data_through IS 'Latest event_date in core.fct_sales_event.';
