-- Write the versions of a channel's own products (no catalogue describes them) into core.dim_product,
-- from temp table channel_products (pipelines/ingest/channel_products.py): one row per
-- (supplier_id, supplier_sku) with its attributes as text and, per attribute, where it came from
-- (src_<attribute>). Variable: product_source, the owning contract ('contract:channels/<name>.yml').
--   * a SKU gets one version, valid from 1900-01-01 to 9999-12-31 (a map is no dated snapshot),
--     keyed like a catalogue version: md5(supplier_id|supplier_sku|valid_from);
--   * a SKU whose origin or HS code is unknown gets none (its sales are unknown_product);
--   * only rows whose content differs are rewritten; a SKU that lost its origin or HS code loses its version.
-- Leaves temp tables rp_before (the SKUs' versions before, for sql/core/fct_sales_event_repoint.sql)
-- and cp_counts(skus, versions, changed, replaced, held).

CREATE OR REPLACE TEMP TABLE cp_new AS
SELECT md5(supplier_id || '|' || supplier_sku || '|' || DATE '1900-01-01'::VARCHAR) AS product_sk,
       supplier_id, supplier_sku, NULL::VARCHAR AS gtin, title, brand, category, hs_code,
       left(hs_code, 2) AS hs_chapter, country_of_origin,
       NULL::DECIMAL(18, 4) AS unit_price, NULL::VARCHAR AS currency,
       unit_weight_kg::DECIMAL(12, 4) AS unit_weight_kg,
       DATE '1900-01-01' AS valid_from, DATE '9999-12-31' AS valid_to, TRUE AS is_current,
       getvariable('product_source') AS source_file,
       core.attribute_sources(src_country_of_origin, src_hs_code, src_category, src_unit_weight_kg,
                              src_title, src_brand) AS attribute_source
FROM channel_products
WHERE country_of_origin IS NOT NULL AND hs_code IS NOT NULL;

CREATE OR REPLACE TEMP TABLE rp_before AS
SELECT p.* FROM core.dim_product p SEMI JOIN channel_products c USING (supplier_id, supplier_sku);

CREATE OR REPLACE TEMP TABLE cp_same AS
SELECT product_sk FROM (
    SELECT product_sk, title, brand, category, hs_code, hs_chapter, country_of_origin, unit_weight_kg,
           valid_from, valid_to, source_file, attribute_source::VARCHAR
    FROM rp_before
    INTERSECT
    SELECT product_sk, title, brand, category, hs_code, hs_chapter, country_of_origin, unit_weight_kg,
           valid_from, valid_to, source_file, attribute_source::VARCHAR
    FROM cp_new
);

DELETE FROM core.dim_product
WHERE product_sk IN (SELECT product_sk FROM rp_before) AND product_sk NOT IN (SELECT product_sk FROM cp_same);

INSERT INTO core.dim_product BY NAME
SELECT * FROM cp_new WHERE product_sk NOT IN (SELECT product_sk FROM cp_same);

CREATE OR REPLACE TEMP TABLE cp_counts AS
SELECT (SELECT count(*) FROM channel_products) AS skus,
       (SELECT count(*) FROM cp_new) AS versions,
       (SELECT count(*) FROM (SELECT product_sk FROM rp_before UNION SELECT product_sk FROM cp_new) a
        ANTI JOIN cp_same USING (product_sk)) AS changed,
       (SELECT count(*) FROM rp_before ANTI JOIN cp_same USING (product_sk)) AS replaced,
       (SELECT count(*) FROM core.fct_sales_event_held h
        SEMI JOIN cp_new n ON n.supplier_id = h.supplier_id AND n.supplier_sku = h.supplier_sku) AS held;
