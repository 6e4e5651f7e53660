-- core.fct_sales_event without its ART primary key on (channel, event_id).
-- The index had to live in memory (GBs at 100M events) and slowed every insert, while the load
-- already decides uniqueness itself: an event id seen before is a duplicate or an
-- event_id_conflict (sql/core/fct_sales_event_load.sql), and the core quality gate checks the
-- key is unique after every load (rule fct_sales_event.event_key_unique).
CREATE TABLE core.fct_sales_event_v050 (
    channel           VARCHAR NOT NULL,
    event_id          VARCHAR NOT NULL,
    event_type        VARCHAR NOT NULL,     -- order | cancel | return
    event_ts          TIMESTAMP NOT NULL,   -- UTC
    event_date        DATE NOT NULL,        -- UTC date the value counts on
    order_id          VARCHAR NOT NULL,
    line_id           VARCHAR NOT NULL,
    order_date        DATE NOT NULL,        -- UTC date of the original order (FX date)
    supplier_id       VARCHAR NOT NULL,
    supplier_sku      VARCHAR NOT NULL,
    product_sk        VARCHAR NOT NULL,     -- version valid at order time
    country_of_origin VARCHAR NOT NULL,
    hs_code           VARCHAR NOT NULL,
    hs_chapter        VARCHAR NOT NULL,
    category          VARCHAR,
    quantity          INTEGER NOT NULL,     -- signed units
    currency          VARCHAR NOT NULL,
    local_amount      DECIMAL(18, 4) NOT NULL,  -- signed, line currency
    fx_rate           DECIMAL(18, 6) NOT NULL,  -- 1 for EUR
    fx_rate_date      DATE NOT NULL,
    eur_amount        DECIMAL(18, 2) NOT NULL,  -- signed, rounded half-even per line
    weight_kg         DECIMAL(18, 4),           -- signed
    ship_to_country   VARCHAR NOT NULL,
    ship_to_region    VARCHAR,
    source_file       VARCHAR NOT NULL,
    line_number       BIGINT NOT NULL,
    batch_id          VARCHAR NOT NULL
);
INSERT INTO core.fct_sales_event_v050 SELECT * FROM core.fct_sales_event;
DROP TABLE core.fct_sales_event;
ALTER TABLE core.fct_sales_event_v050 RENAME TO fct_sales_event;
COMMENT ON TABLE core.fct_sales_event IS 'Sales events valued in EUR at the ECB rate of the order date; signed (cancel/return negative). Key (channel, event_id), unique by the load and checked by the core quality gate.';
