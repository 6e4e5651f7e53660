-- raw: rows as landed, mapped to canonical names and typed by their contract, with lineage
-- (source file, line number, batch). Only rows that passed validation; the rest are in
-- audit.quarantine.

CREATE TABLE raw.fx_rates (
    rate_date   DATE NOT NULL,
    currency    VARCHAR NOT NULL,
    rate        DECIMAL(18, 6) NOT NULL,   -- units of currency per 1 EUR
    source_file VARCHAR NOT NULL,
    line_number BIGINT NOT NULL,
    batch_id    VARCHAR NOT NULL
);

CREATE TABLE raw.suppliers (
    supplier_id VARCHAR NOT NULL,
    legal_name  VARCHAR NOT NULL,
    country     VARCHAR NOT NULL,          -- ISO 3166 alpha-2 of the supplier (not the goods)
    vat_id      VARCHAR,
    currency    VARCHAR NOT NULL,          -- ISO 4217
    source_file VARCHAR NOT NULL,
    line_number BIGINT NOT NULL,
    batch_id    VARCHAR NOT NULL
);

CREATE TABLE raw.catalogue_items (
    supplier_id       VARCHAR NOT NULL,
    snapshot_date     DATE NOT NULL,
    supplier_sku      VARCHAR NOT NULL,
    gtin              VARCHAR,
    title             VARCHAR NOT NULL,
    brand             VARCHAR,
    category          VARCHAR,
    hs_code           VARCHAR NOT NULL,    -- 6-digit HS 2022
    country_of_origin VARCHAR NOT NULL,    -- ISO alpha-2
    unit_price        DECIMAL(18, 4) NOT NULL,
    currency          VARCHAR NOT NULL,
    unit_weight_kg    DECIMAL(12, 4),
    source_file       VARCHAR NOT NULL,
    line_number       BIGINT NOT NULL,
    batch_id          VARCHAR NOT NULL
);

-- Canonical sales event. quantity is always positive; event_type carries the direction.
-- For cancel/return, (order_id, line_id) is the order line referred to.
CREATE TABLE raw.sales_events (
    channel         VARCHAR NOT NULL,
    event_id        VARCHAR NOT NULL,       -- unique within the channel
    event_type      VARCHAR NOT NULL,       -- order | cancel | return
    event_ts        TIMESTAMP NOT NULL,     -- UTC
    order_id        VARCHAR NOT NULL,
    line_id         VARCHAR NOT NULL,
    supplier_id     VARCHAR,
    supplier_sku    VARCHAR,
    quantity        INTEGER NOT NULL,
    unit_price      DECIMAL(18, 4),
    currency        VARCHAR,
    discount        DECIMAL(18, 4),         -- whole-line discount, line currency
    ship_to_country VARCHAR,
    ship_to_region  VARCHAR,
    source_file     VARCHAR NOT NULL,
    line_number     BIGINT NOT NULL,
    batch_id        VARCHAR NOT NULL
);
