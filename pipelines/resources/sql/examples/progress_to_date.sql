-- Progress to date: the headline of every target (what the report shows at the top).
-- xborder sql --file sql/examples/progress_to_date.sql
SELECT target_id,
       date AS data_through,
       cumulative_net_eur,
       target_eur,
       pct_of_target,
       run_rate_30d,
       pace_needed_final,
       projected_completion_date,
       status
FROM marts.export_progress_latest
ORDER BY position;
