-- Incremental marts (pipelines/marts.py): additive base aggregates kept between builds, and the
-- state that says which fact batches and which target definitions they already hold. The
-- published marts (sql/marts/export_*.sql) are derived from these on every build.

ALTER TABLE core.dim_target ADD COLUMN position INTEGER;
COMMENT ON COLUMN core.dim_target.position IS 'Order of the target in targets.yml (0 = first: the report''s headline).';
COMMENT ON COLUMN core.dim_target.target_id IS 'Target id from targets.yml (lower_snake_case).';
COMMENT ON COLUMN core.dim_target.name IS 'Human-readable target name.';
COMMENT ON COLUMN core.dim_target.amount IS 'Target amount in EUR; NULL = tracked only (no %, pace, projection or status).';
COMMENT ON COLUMN core.dim_target.origin_countries IS 'Country of origin (ISO alpha-2) of the product version valid at order time; empty = all goods.';
COMMENT ON COLUMN core.dim_target.destination_countries IS 'Ship-to countries (ISO alpha-2); Hong Kong (HK) and Macao (MO) count only if listed.';
COMMENT ON COLUMN core.dim_target.window_start IS 'First event_date that counts (inclusive).';
COMMENT ON COLUMN core.dim_target.window_end IS 'Last event_date that counts (inclusive).';
COMMENT ON COLUMN core.dim_target.stretch_deadline IS 'on_track if the projected completion date is on or before this day.';
COMMENT ON COLUMN core.dim_target.final_deadline IS 'at_risk if projected after the stretch deadline but on or before this day; later = off_track.';
COMMENT ON COLUMN core.dim_target.scaled_from IS 'For a sample-scaled target (targets.sample.yml): the real amount it stands for.';
COMMENT ON COLUMN core.dim_target.scale_note IS 'For a sample-scaled target: how and why the amount was scaled.';

CREATE TABLE marts.agg_target_daily (
    target_id     VARCHAR NOT NULL,
    date          DATE NOT NULL,
    order_lines   BIGINT NOT NULL,
    gross_eur     DECIMAL(18, 2) NOT NULL,
    cancelled_eur DECIMAL(18, 2) NOT NULL,
    returned_eur  DECIMAL(18, 2) NOT NULL,
    net_eur       DECIMAL(18, 2) NOT NULL,
    units         BIGINT NOT NULL,
    kg            DECIMAL(18, 4) NOT NULL
);
COMMENT ON TABLE marts.agg_target_daily IS 'Incremental base of export_progress_daily: per target, sums of the events counted on each day that has any (maintained additively per new fact batch).';
COMMENT ON COLUMN marts.agg_target_daily.target_id IS 'core.dim_target.target_id.';
COMMENT ON COLUMN marts.agg_target_daily.date IS 'event_date (UTC) the events count on.';
COMMENT ON COLUMN marts.agg_target_daily.order_lines IS 'Order events (lines ordered) that day.';
COMMENT ON COLUMN marts.agg_target_daily.gross_eur IS 'EUR of orders (positive).';
COMMENT ON COLUMN marts.agg_target_daily.cancelled_eur IS 'EUR of cancellations (negative).';
COMMENT ON COLUMN marts.agg_target_daily.returned_eur IS 'EUR of returns (negative).';
COMMENT ON COLUMN marts.agg_target_daily.net_eur IS 'gross_eur + cancelled_eur + returned_eur.';
COMMENT ON COLUMN marts.agg_target_daily.units IS 'Net units (signed quantities summed).';
COMMENT ON COLUMN marts.agg_target_daily.kg IS 'Net weight in kg (signed; lines without a catalogue weight count 0).';

CREATE TABLE marts.agg_target_monthly (
    target_id     VARCHAR NOT NULL,
    month         DATE NOT NULL,
    dimension     VARCHAR NOT NULL,
    member        VARCHAR NOT NULL,
    order_lines   BIGINT NOT NULL,
    gross_eur     DECIMAL(18, 2) NOT NULL,
    cancelled_eur DECIMAL(18, 2) NOT NULL,
    returned_eur  DECIMAL(18, 2) NOT NULL,
    net_eur       DECIMAL(18, 2) NOT NULL,
    units         BIGINT NOT NULL,
    kg            DECIMAL(18, 4) NOT NULL
);
COMMENT ON TABLE marts.agg_target_monthly IS 'Incremental base of export_breakdown_monthly for the dimensions read from the facts (hs_chapter, category, supplier, channel, ship_to_region, origin_country, ship_to_country); hs_section and supplier_country are derived from it.';
COMMENT ON COLUMN marts.agg_target_monthly.target_id IS 'core.dim_target.target_id.';
COMMENT ON COLUMN marts.agg_target_monthly.month IS 'First day of the month of event_date.';
COMMENT ON COLUMN marts.agg_target_monthly.dimension IS 'hs_chapter | category | supplier | channel | ship_to_region | origin_country | ship_to_country.';
COMMENT ON COLUMN marts.agg_target_monthly.member IS 'The value of the dimension (? when unknown).';
COMMENT ON COLUMN marts.agg_target_monthly.order_lines IS 'Order events in the month.';
COMMENT ON COLUMN marts.agg_target_monthly.gross_eur IS 'EUR of orders (positive).';
COMMENT ON COLUMN marts.agg_target_monthly.cancelled_eur IS 'EUR of cancellations (negative).';
COMMENT ON COLUMN marts.agg_target_monthly.returned_eur IS 'EUR of returns (negative).';
COMMENT ON COLUMN marts.agg_target_monthly.net_eur IS 'gross_eur + cancelled_eur + returned_eur.';
COMMENT ON COLUMN marts.agg_target_monthly.units IS 'Net units.';
COMMENT ON COLUMN marts.agg_target_monthly.kg IS 'Net weight in kg.';

CREATE TABLE marts.agg_all_goods_monthly (
    month             DATE NOT NULL,
    country_of_origin VARCHAR NOT NULL,
    ship_to_country   VARCHAR NOT NULL,
    order_lines       BIGINT NOT NULL,
    gross_eur         DECIMAL(18, 2) NOT NULL,
    cancelled_eur     DECIMAL(18, 2) NOT NULL,
    returned_eur      DECIMAL(18, 2) NOT NULL,
    net_eur           DECIMAL(18, 2) NOT NULL,
    units             BIGINT NOT NULL,
    kg                DECIMAL(18, 4) NOT NULL
);
COMMENT ON TABLE marts.agg_all_goods_monthly IS 'Incremental base of export_all_goods_monthly: every sales event regardless of target, by month, origin and ship-to country.';
COMMENT ON COLUMN marts.agg_all_goods_monthly.month IS 'First day of the month of event_date.';
COMMENT ON COLUMN marts.agg_all_goods_monthly.country_of_origin IS 'Origin of the product version valid at order time.';
COMMENT ON COLUMN marts.agg_all_goods_monthly.ship_to_country IS 'Ship-to country.';
COMMENT ON COLUMN marts.agg_all_goods_monthly.order_lines IS 'Order events in the month.';
COMMENT ON COLUMN marts.agg_all_goods_monthly.gross_eur IS 'EUR of orders (positive).';
COMMENT ON COLUMN marts.agg_all_goods_monthly.cancelled_eur IS 'EUR of cancellations (negative).';
COMMENT ON COLUMN marts.agg_all_goods_monthly.returned_eur IS 'EUR of returns (negative).';
COMMENT ON COLUMN marts.agg_all_goods_monthly.net_eur IS 'gross_eur + cancelled_eur + returned_eur.';
COMMENT ON COLUMN marts.agg_all_goods_monthly.units IS 'Net units.';
COMMENT ON COLUMN marts.agg_all_goods_monthly.kg IS 'Net weight in kg.';

-- Fact batches already added into the aggregates, with a fingerprint: facts are insert-only,
-- so a batch whose fingerprint changed or vanished means core was rewritten -> full rebuild.
CREATE TABLE audit.mart_batches (
    batch_id   VARCHAR NOT NULL,
    events     BIGINT NOT NULL,
    eur_amount DECIMAL(38, 2) NOT NULL,
    quantity   HUGEINT NOT NULL
);
COMMENT ON TABLE audit.mart_batches IS 'Fact batches (core.fct_sales_event.batch_id) the mart aggregates hold, with row count and sums as a fingerprint.';
COMMENT ON COLUMN audit.mart_batches.batch_id IS 'core.fct_sales_event.batch_id.';
COMMENT ON COLUMN audit.mart_batches.events IS 'Fact rows of the batch when it was aggregated.';
COMMENT ON COLUMN audit.mart_batches.eur_amount IS 'Sum of eur_amount of the batch when it was aggregated.';
COMMENT ON COLUMN audit.mart_batches.quantity IS 'Sum of quantity of the batch when it was aggregated.';

-- One row per aggregated part ('target:<id>' or 'all_goods'): the fingerprint of its definition
-- and of the aggregation SQL. A part whose fingerprint differs is rebuilt from all facts.
CREATE TABLE audit.mart_state (
    part        VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    built_at    TIMESTAMP NOT NULL
);
COMMENT ON TABLE audit.mart_state IS 'Which mart parts (a target, or all_goods) the aggregates hold, and for which definition.';
COMMENT ON COLUMN audit.mart_state.part IS 'target:<target_id> or all_goods.';
COMMENT ON COLUMN audit.mart_state.fingerprint IS 'md5 of the target definition and the aggregation SQL it was built with.';
COMMENT ON COLUMN audit.mart_state.built_at IS 'When the part was last rebuilt from all facts (UTC).';
