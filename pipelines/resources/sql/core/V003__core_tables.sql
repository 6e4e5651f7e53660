-- core: conformed dimensions and facts; money in EUR.

CREATE TABLE core.dim_country (
    country_code VARCHAR PRIMARY KEY,      -- ISO 3166 alpha-2 ('NA' is Namibia)
    alpha3       VARCHAR,
    numeric_code VARCHAR,
    name         VARCHAR NOT NULL,
    region       VARCHAR,
    sub_region   VARCHAR,
    currency     VARCHAR
);
COMMENT ON TABLE core.dim_country IS 'ISO 3166 countries (reference/country-codes.csv).';

CREATE TABLE core.dim_currency (
    currency_code VARCHAR PRIMARY KEY,     -- ISO 4217 alpha
    name          VARCHAR NOT NULL,
    minor_unit    INTEGER,
    is_active     BOOLEAN NOT NULL
);
COMMENT ON TABLE core.dim_currency IS 'ISO 4217 currencies (reference/iso4217_codes-all.csv).';

CREATE TABLE core.dim_hs_section (
    section VARCHAR PRIMARY KEY,           -- roman numeral I..XXI
    name    VARCHAR NOT NULL
);
COMMENT ON TABLE core.dim_hs_section IS 'The 21 HS sections.';

CREATE TABLE core.dim_hs_code (
    hs_code     VARCHAR PRIMARY KEY,       -- 2, 4 or 6 digits, as text
    level       INTEGER NOT NULL,
    description VARCHAR NOT NULL,
    parent      VARCHAR,
    chapter     VARCHAR NOT NULL,          -- first two digits
    section     VARCHAR NOT NULL
);
COMMENT ON TABLE core.dim_hs_code IS 'HS 2022 nomenclature: chapters, headings, subheadings.';

CREATE TABLE core.dim_supplier (
    supplier_id VARCHAR PRIMARY KEY,
    legal_name  VARCHAR NOT NULL,
    country     VARCHAR NOT NULL,
    vat_id      VARCHAR,
    currency    VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
COMMENT ON TABLE core.dim_supplier IS 'Supplier master (where the supplier sits, not where goods come from).';

-- Products, SCD type 2 keyed by (supplier_id, supplier_sku). valid_to is exclusive;
-- open versions have valid_to = DATE '9999-12-31'. A SKU missing from a later full snapshot is
-- closed at that snapshot's date (delisted) and reopened as a new version if it returns.
CREATE TABLE core.dim_product (
    product_sk        VARCHAR PRIMARY KEY, -- md5(supplier_id|supplier_sku|valid_from)
    supplier_id       VARCHAR NOT NULL,
    supplier_sku      VARCHAR NOT NULL,
    gtin              VARCHAR,
    title             VARCHAR NOT NULL,
    brand             VARCHAR,
    category          VARCHAR,
    hs_code           VARCHAR NOT NULL,
    hs_chapter        VARCHAR NOT NULL,
    country_of_origin VARCHAR NOT NULL,
    unit_price        DECIMAL(18, 4) NOT NULL,
    currency          VARCHAR NOT NULL,
    unit_weight_kg    DECIMAL(12, 4),
    valid_from        DATE NOT NULL,
    valid_to          DATE NOT NULL,
    is_current        BOOLEAN NOT NULL,
    source_file       VARCHAR NOT NULL
);
COMMENT ON TABLE core.dim_product IS 'Products as SCD type 2: one row per version, valid_from inclusive, valid_to exclusive.';

CREATE TABLE core.fx_rate (
    currency    VARCHAR NOT NULL,
    rate_date   DATE NOT NULL,             -- ECB publication date (TARGET business day)
    rate        DECIMAL(18, 6) NOT NULL,   -- units per 1 EUR
    source_file VARCHAR NOT NULL,
    batch_id    VARCHAR NOT NULL,
    PRIMARY KEY (currency, rate_date)
);
COMMENT ON TABLE core.fx_rate IS 'ECB euro reference rates, one per currency and published date (units per EUR).';

-- One row per sales event, conformed and valued in EUR (DESIGN §4). Signed: orders positive,
-- cancellations and returns negative, so SUM(eur_amount) is net sales.
CREATE TABLE core.fct_sales_event (
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
    batch_id          VARCHAR NOT NULL,
    PRIMARY KEY (channel, event_id)
);
COMMENT ON TABLE core.fct_sales_event IS 'Sales events valued in EUR at the ECB rate of the order date; signed (cancel/return negative).';
