-- Top 10 HS chapters of the headline target (the first in targets.yml) over its window:
-- gross sales, cancellations and returns apart, net and share of the net.
-- Another target: replace the target_id condition, e.g. WHERE b.target_id = 'all_goods_to_cn'.
-- xborder sql --file sql/examples/top_chapters.sql
SELECT b.member AS chapter,
       any_value(b.label) AS description,
       sum(b.gross_eur) AS gross_eur,
       sum(b.cancelled_eur) AS cancelled_eur,
       sum(b.returned_eur) AS returned_eur,
       sum(b.net_eur) AS net_eur,
       round(100 * sum(b.net_eur) / sum(sum(b.net_eur)) OVER (), 1) AS share_pct,
       sum(b.units) AS units
FROM marts.export_breakdown_monthly b
WHERE b.target_id = (SELECT target_id FROM core.dim_target ORDER BY position LIMIT 1)
  AND b.dimension = 'hs_chapter'
GROUP BY b.member
ORDER BY net_eur DESC
LIMIT 10;
