-- Built in, whatever targets.yml says: every sale regardless of origin or destination, by month,
-- country of origin and ship-to country (the France procurement centre's view of EU goods).
CREATE OR REPLACE VIEW marts.export_all_goods_monthly AS
SELECT a.month, a.country_of_origin, o.name AS origin_name, o.region AS origin_region,
       a.ship_to_country, d.name AS ship_to_name,
       a.order_lines, a.gross_eur, a.cancelled_eur, a.returned_eur, a.credited_eur, a.net_eur, a.units, a.kg
FROM marts.agg_all_goods_monthly a
LEFT JOIN core.dim_country o ON o.country_code = a.country_of_origin
LEFT JOIN core.dim_country d ON d.country_code = a.ship_to_country
ORDER BY a.month, a.net_eur DESC;

COMMENT ON VIEW marts.export_all_goods_monthly IS 'All goods regardless of origin (and of any target), by month, country of origin and ship-to country; gross, cancelled, returned, credited and net EUR, units, kg.';
COMMENT ON COLUMN marts.export_all_goods_monthly.month IS 'First day of the month of the event date.';
COMMENT ON COLUMN marts.export_all_goods_monthly.country_of_origin IS 'Origin (ISO alpha-2) of the product version valid at order time.';
COMMENT ON COLUMN marts.export_all_goods_monthly.origin_name IS 'Country name of the origin.';
COMMENT ON COLUMN marts.export_all_goods_monthly.origin_region IS 'UN region of the origin (Europe, Asia, ...).';
COMMENT ON COLUMN marts.export_all_goods_monthly.ship_to_country IS 'Ship-to country (ISO alpha-2).';
COMMENT ON COLUMN marts.export_all_goods_monthly.ship_to_name IS 'Country name of the ship-to country.';
COMMENT ON COLUMN marts.export_all_goods_monthly.order_lines IS 'Order lines ordered in the month.';
COMMENT ON COLUMN marts.export_all_goods_monthly.gross_eur IS 'EUR of orders (positive).';
COMMENT ON COLUMN marts.export_all_goods_monthly.cancelled_eur IS 'EUR of cancellations (negative).';
COMMENT ON COLUMN marts.export_all_goods_monthly.returned_eur IS 'EUR of returns (negative).';
COMMENT ON COLUMN marts.export_all_goods_monthly.credited_eur IS 'EUR of standalone credits (credit notes, refunds referencing no order line; negative).';
COMMENT ON COLUMN marts.export_all_goods_monthly.net_eur IS 'gross_eur + cancelled_eur + returned_eur + credited_eur.';
COMMENT ON COLUMN marts.export_all_goods_monthly.units IS 'Net units.';
COMMENT ON COLUMN marts.export_all_goods_monthly.kg IS 'Net weight in kg.';
