-- Monthly breakdowns per target (docs/design.md §4): by HS section and chapter, category, supplier,
-- supplier country, channel, ship-to region, origin and ship-to country; gross sales,
-- cancellations, returns and standalone credits apart. From marts.agg_target_monthly; hs_section and
-- supplier_country are rolled up from the chapter and supplier rows through today's dimensions.
CREATE OR REPLACE TABLE marts.export_breakdown_monthly AS
WITH measures AS (
    SELECT * FROM marts.agg_target_monthly
    UNION ALL
    SELECT a.target_id, a.month, 'hs_section' AS dimension, coalesce(h.section, '?') AS member,
           sum(a.order_lines), sum(a.gross_eur), sum(a.cancelled_eur), sum(a.returned_eur), sum(a.net_eur),
           sum(a.units), sum(a.kg), sum(a.credited_eur)
    FROM marts.agg_target_monthly a
    LEFT JOIN core.dim_hs_code h ON h.hs_code = a.member
    WHERE a.dimension = 'hs_chapter'
    GROUP BY ALL
    UNION ALL
    SELECT a.target_id, a.month, 'supplier_country' AS dimension, coalesce(s.country, '?') AS member,
           sum(a.order_lines), sum(a.gross_eur), sum(a.cancelled_eur), sum(a.returned_eur), sum(a.net_eur),
           sum(a.units), sum(a.kg), sum(a.credited_eur)
    FROM marts.agg_target_monthly a
    LEFT JOIN core.dim_supplier s ON s.supplier_id = a.member
    WHERE a.dimension = 'supplier'
    GROUP BY ALL
)
SELECT m.target_id, m.month, m.dimension, m.member,
       coalesce(CASE m.dimension
                    WHEN 'hs_section' THEN sec.name
                    WHEN 'hs_chapter' THEN ch.description
                    WHEN 'supplier' THEN sup.legal_name
                    WHEN 'supplier_country' THEN c.name
                    WHEN 'origin_country' THEN c.name
                    WHEN 'ship_to_country' THEN c.name
                END, m.member) AS label,
       m.order_lines::BIGINT AS order_lines,
       m.gross_eur::DECIMAL(18, 2) AS gross_eur,
       m.cancelled_eur::DECIMAL(18, 2) AS cancelled_eur,
       m.returned_eur::DECIMAL(18, 2) AS returned_eur,
       m.credited_eur::DECIMAL(18, 2) AS credited_eur,
       m.net_eur::DECIMAL(18, 2) AS net_eur,
       m.units::BIGINT AS units,
       m.kg::DECIMAL(18, 4) AS kg
FROM measures m
LEFT JOIN core.dim_hs_section sec ON m.dimension = 'hs_section' AND sec.section = m.member
LEFT JOIN core.dim_hs_code ch ON m.dimension = 'hs_chapter' AND ch.hs_code = m.member
LEFT JOIN core.dim_supplier sup ON m.dimension = 'supplier' AND sup.supplier_id = m.member
LEFT JOIN core.dim_country c
       ON m.dimension IN ('supplier_country', 'origin_country', 'ship_to_country') AND c.country_code = m.member
ORDER BY m.target_id, m.month, m.dimension, m.net_eur DESC, m.member;

COMMENT ON TABLE marts.export_breakdown_monthly IS 'Monthly EUR per target and dimension member; every dimension adds up to the target''s net for the month. Gross sales, cancellations, returns and standalone credits apart.';
COMMENT ON COLUMN marts.export_breakdown_monthly.target_id IS 'core.dim_target.target_id (targets.yml).';
COMMENT ON COLUMN marts.export_breakdown_monthly.month IS 'First day of the month of the event date (cancellations and returns count in their own month).';
COMMENT ON COLUMN marts.export_breakdown_monthly.dimension IS 'hs_section | hs_chapter | category | supplier | supplier_country | channel | ship_to_region | origin_country | ship_to_country.';
COMMENT ON COLUMN marts.export_breakdown_monthly.member IS 'Code of the member: HS section numeral, 2-digit chapter, category, supplier_id, ISO country, channel, region (? when unknown).';
COMMENT ON COLUMN marts.export_breakdown_monthly.label IS 'Readable name: HS section/chapter description, supplier legal name, country name; else the member.';
COMMENT ON COLUMN marts.export_breakdown_monthly.order_lines IS 'Order lines ordered in the month.';
COMMENT ON COLUMN marts.export_breakdown_monthly.gross_eur IS 'EUR of orders (positive).';
COMMENT ON COLUMN marts.export_breakdown_monthly.cancelled_eur IS 'EUR of cancellations (negative), in the month of the cancel date.';
COMMENT ON COLUMN marts.export_breakdown_monthly.returned_eur IS 'EUR of returns (negative), in the month of the return date, at the original order rate.';
COMMENT ON COLUMN marts.export_breakdown_monthly.credited_eur IS 'EUR of standalone credits (credit notes, refunds referencing no order line; negative), in the month of the credit, at its own date''s rate.';
COMMENT ON COLUMN marts.export_breakdown_monthly.net_eur IS 'gross_eur + cancelled_eur + returned_eur + credited_eur.';
COMMENT ON COLUMN marts.export_breakdown_monthly.units IS 'Net units.';
COMMENT ON COLUMN marts.export_breakdown_monthly.kg IS 'Net weight in kg.';
