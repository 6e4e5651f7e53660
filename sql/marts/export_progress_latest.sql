-- The headline: the latest day of each target.
CREATE OR REPLACE VIEW marts.export_progress_latest AS
SELECT p.*, t.name, t.stretch_deadline, t.final_deadline, t.scaled_from, t.scale_note
FROM marts.export_progress_daily p
JOIN core.dim_target t USING (target_id)
QUALIFY row_number() OVER (PARTITION BY p.target_id ORDER BY p.date DESC) = 1;

COMMENT ON VIEW marts.export_progress_latest IS 'One row per target: its latest day in marts.export_progress_daily, with the target definition.';
