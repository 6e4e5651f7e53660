-- Cancellation and return rates by month and channel for the headline target: the share of
-- gross sales taken back, counted in the month the cancel or return happened.
-- xborder sql --file sql/examples/returns_by_month.sql
SELECT month,
       member AS channel,
       gross_eur,
       cancelled_eur,
       returned_eur,
       round(-100 * cancelled_eur / nullif(gross_eur, 0), 2) AS cancelled_pct,
       round(-100 * returned_eur / nullif(gross_eur, 0), 2) AS returned_pct
FROM marts.export_breakdown_monthly
WHERE target_id = (SELECT target_id FROM core.dim_target ORDER BY position LIMIT 1)
  AND dimension = 'channel'
ORDER BY month, channel;
