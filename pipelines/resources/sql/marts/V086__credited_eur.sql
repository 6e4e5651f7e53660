-- Standalone credits apart in the marts: credited_eur beside gross_eur, cancelled_eur and
-- returned_eur, so that net_eur = gross_eur + cancelled_eur + returned_eur + credited_eur.
-- Existing rows hold no credit (none could load before); the aggregation SQL changed with this
-- column, so the next build rebuilds every part from all facts anyway.
ALTER TABLE marts.agg_target_daily ADD COLUMN credited_eur DECIMAL(18, 2) NOT NULL DEFAULT 0;
ALTER TABLE marts.agg_target_monthly ADD COLUMN credited_eur DECIMAL(18, 2) NOT NULL DEFAULT 0;
ALTER TABLE marts.agg_all_goods_monthly ADD COLUMN credited_eur DECIMAL(18, 2) NOT NULL DEFAULT 0;
COMMENT ON COLUMN marts.agg_target_daily.credited_eur IS 'EUR of standalone credits (credit notes, refunds referencing no order line; negative).';
COMMENT ON COLUMN marts.agg_target_monthly.credited_eur IS 'EUR of standalone credits (negative).';
COMMENT ON COLUMN marts.agg_all_goods_monthly.credited_eur IS 'EUR of standalone credits (negative).';
COMMENT ON COLUMN marts.agg_target_daily.net_eur IS 'gross_eur + cancelled_eur + returned_eur + credited_eur.';
COMMENT ON COLUMN marts.agg_target_monthly.net_eur IS 'gross_eur + cancelled_eur + returned_eur + credited_eur.';
COMMENT ON COLUMN marts.agg_all_goods_monthly.net_eur IS 'gross_eur + cancelled_eur + returned_eur + credited_eur.';
