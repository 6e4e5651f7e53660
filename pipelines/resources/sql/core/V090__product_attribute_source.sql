-- Channels without a catalogue (issue 13): a sales channel contract may describe its own products
-- (section products: defaults and/or a SKU map file; pipelines/ingest/channel_products.py), so
-- core.dim_product holds versions no catalogue built. Each version now says where each of its
-- attributes came from, and a channel product has no list price.

-- attribute -> where its value came from; an attribute without a value has no key.
--   'catalogue:<source_file>'          the catalogue snapshot (landing path) it was read from
--   'sku_map:<path>'                   a channel's SKU map (path relative to the contracts dir)
--   'contract:<path>'                  a channel contract's products.defaults
--   'supplier_sku'                     title only: nothing gave one, the SKU stands for it
ALTER TABLE core.dim_product ADD COLUMN attribute_source MAP(VARCHAR, VARCHAR);

CREATE OR REPLACE MACRO core.attribute_sources(country_of_origin, hs_code, category, unit_weight_kg, title, brand) AS (
    map_from_entries(list_filter([
        {'key': 'country_of_origin', 'value': country_of_origin},
        {'key': 'hs_code', 'value': hs_code},
        {'key': 'category', 'value': category},
        {'key': 'unit_weight_kg', 'value': unit_weight_kg},
        {'key': 'title', 'value': title},
        {'key': 'brand', 'value': brand}
    ], lambda e: e.value IS NOT NULL))
);

-- Versions built so far all came from catalogues: their first snapshot (source_file). gtin, brand
-- and category are type 1 within a version (its latest values), so for them the next rebuild of
-- the supplier (sql/core/dim_product_rebuild.sql) names the latest snapshot that gave the value.
UPDATE core.dim_product SET attribute_source = core.attribute_sources(
    CASE WHEN country_of_origin IS NOT NULL THEN 'catalogue:' || source_file END,
    CASE WHEN hs_code IS NOT NULL THEN 'catalogue:' || source_file END,
    CASE WHEN category IS NOT NULL THEN 'catalogue:' || source_file END,
    CASE WHEN unit_weight_kg IS NOT NULL THEN 'catalogue:' || source_file END,
    CASE WHEN title IS NOT NULL THEN 'catalogue:' || source_file END,
    CASE WHEN brand IS NOT NULL THEN 'catalogue:' || source_file END);

-- A channel's own products have no list price (the channel sells them at its own prices).
ALTER TABLE core.dim_product ALTER COLUMN unit_price DROP NOT NULL;
ALTER TABLE core.dim_product ALTER COLUMN currency DROP NOT NULL;

COMMENT ON COLUMN core.dim_product.attribute_source IS 'Where each attribute of the version came from: attribute (country_of_origin, hs_code, category, unit_weight_kg, title, brand) -> ''catalogue:<landing path>'', ''sku_map:<map path>'' (a channel''s SKU map, relative to the contracts dir), ''contract:<contract path>'' (a channel contract''s products.defaults) or, for title, ''supplier_sku'' (none given: the SKU stands for it). No key when the attribute has no value. E.g. attribute_source[''hs_code''].';
COMMENT ON COLUMN core.dim_product.source_file IS 'Catalogue versions: the landing path of their first snapshot. Channel products (no catalogue): ''contract:<contract path>'' of the channel contract that describes them (valid 1900-01-01 to 9999-12-31; catalogue rebuilds never touch them).';
COMMENT ON COLUMN core.dim_product.unit_price IS 'List price of the catalogue version (in currency); NULL for a channel''s own products, which have no catalogue.';
