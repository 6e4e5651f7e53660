-- Monthly breakdowns per target: by HS section and chapter, category, supplier, supplier
-- country, channel and ship-to region; gross sales, cancellations and returns apart.
CREATE OR REPLACE TABLE marts.export_breakdown_monthly AS
WITH facts AS (
    SELECT t.target_id, date_trunc('month', f.event_date)::DATE AS month, f.event_type, f.eur_amount,
           f.quantity, f.weight_kg,
           coalesce(h.section, '?') AS hs_section, f.hs_chapter, coalesce(f.category, '?') AS category,
           f.supplier_id AS supplier, coalesce(s.country, '?') AS supplier_country, f.channel,
           coalesce(f.ship_to_region, '?') AS ship_to_region
    FROM core.fct_sales_event f
    JOIN core.dim_target t
      ON (len(t.origin_countries) = 0 OR list_contains(t.origin_countries, f.country_of_origin))
     AND list_contains(t.destination_countries, f.ship_to_country)
     AND f.event_date BETWEEN t.window_start AND t.window_end
    LEFT JOIN core.dim_hs_code h ON h.hs_code = f.hs_chapter
    LEFT JOIN core.dim_supplier s ON s.supplier_id = f.supplier_id
),
long AS (
    UNPIVOT facts
    ON hs_section, hs_chapter, category, supplier, supplier_country, channel, ship_to_region
    INTO NAME dimension VALUE member
),
agg AS (
    SELECT target_id, month, dimension, member,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'order'), 0)::DECIMAL(18, 2) AS gross_eur,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'cancel'), 0)::DECIMAL(18, 2) AS cancelled_eur,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'return'), 0)::DECIMAL(18, 2) AS returned_eur,
           sum(eur_amount)::DECIMAL(18, 2) AS net_eur,
           sum(quantity)::BIGINT AS units,
           sum(weight_kg)::DECIMAL(18, 4) AS kg
    FROM long
    GROUP BY ALL
)
SELECT a.*,
       CASE a.dimension
           WHEN 'hs_section' THEN sec.name
           WHEN 'hs_chapter' THEN ch.description
           WHEN 'supplier' THEN sup.legal_name
           WHEN 'supplier_country' THEN c.name
           ELSE a.member
       END AS label
FROM agg a
LEFT JOIN core.dim_hs_section sec ON a.dimension = 'hs_section' AND sec.section = a.member
LEFT JOIN core.dim_hs_code ch ON a.dimension = 'hs_chapter' AND ch.hs_code = a.member
LEFT JOIN core.dim_supplier sup ON a.dimension = 'supplier' AND sup.supplier_id = a.member
LEFT JOIN core.dim_country c ON a.dimension = 'supplier_country' AND c.country_code = a.member
ORDER BY target_id, month, dimension, net_eur DESC;

COMMENT ON TABLE marts.export_breakdown_monthly IS 'Monthly EUR per target by hs_section, hs_chapter, category, supplier, supplier_country, channel, ship_to_region; gross, cancelled and returned apart.';
COMMENT ON COLUMN marts.export_breakdown_monthly.gross_eur IS 'Orders (positive).';
COMMENT ON COLUMN marts.export_breakdown_monthly.cancelled_eur IS 'Cancellations (negative), on the cancel date.';
COMMENT ON COLUMN marts.export_breakdown_monthly.returned_eur IS 'Returns (negative), on the return date at the order rate.';
COMMENT ON COLUMN marts.export_breakdown_monthly.net_eur IS 'gross + cancelled + returned.';
