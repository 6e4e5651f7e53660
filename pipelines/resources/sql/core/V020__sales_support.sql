-- Returns are valued at the original order's rate on the returned share of the line:
-- EUR = round_half_even(amount * part / whole / rate, 2), computed exactly in integers.
CREATE OR REPLACE MACRO core.to_eur_share(amount, rate, part, whole) AS (
    core.div_half_even(
        round(amount::DECIMAL(38, 6) * 1000000)::HUGEINT * part * 100,
        round(rate::DECIMAL(38, 6) * 1000000)::HUGEINT * whole
    )::DECIMAL(38, 0) * 0.01::DECIMAL(3, 2)
);

-- Cancellations and returns whose order line is not loaded yet (late data). They are
-- quarantined as orphan_reference and loaded automatically by the sales load that brings
-- their order line; then the row leaves this table and its quarantine row is resolved.
CREATE TABLE raw.pending_sales_events AS SELECT * FROM raw.sales_events WITH NO DATA;
ALTER TABLE raw.pending_sales_events ADD COLUMN sha256 VARCHAR;
ALTER TABLE raw.pending_sales_events ADD COLUMN quarantine_id BIGINT;

-- Content fingerprint of a canonical sales event: a re-delivered event with the same id and
-- fingerprint is a duplicate; the same id with another fingerprint is an event_id_conflict.
CREATE OR REPLACE MACRO core.sales_event_content(event_type, event_ts, order_id, line_id, supplier_id,
        supplier_sku, quantity, unit_price, currency, discount, ship_to_country, ship_to_region) AS (
    md5(concat_ws('|', event_type, event_ts::VARCHAR, order_id, line_id, coalesce(supplier_id, ''),
        coalesce(supplier_sku, ''), quantity::VARCHAR, coalesce(unit_price::VARCHAR, ''),
        coalesce(currency, ''), coalesce(discount::VARCHAR, ''), coalesce(ship_to_country, ''),
        coalesce(ship_to_region, '')))
);
