-- Rebuild core.dim_product (SCD type 2) for the suppliers in temp table affected_suppliers,
-- from every catalogue snapshot in raw.catalogue_items. Recomputing a supplier's whole history
-- makes out-of-order snapshots and re-deliveries come out right; cost is per supplier.
--   * one delivery per (supplier, snapshot_date): the latest loaded (batch, then path) wins, so a
--     second file for a date is a correction; a new version at the same path retracts the old
--     one first (pipelines/retract.py), and rows are matched by (source_file, batch_id) so an
--     older delivery at the same path can never mix with the newer one;
--   * a version opens when a SKU appears, reappears after a gap (delisted, relisted), or a
--     tracked attribute changes (price, currency, origin, HS code, title, weight);
--   * it closes (valid_to, exclusive) at the supplier's next snapshot after its last one,
--     or stays open (9999-12-31) when it is in the latest snapshot;
--   * gtin, brand and category are type 1 within a version (its latest values);
--   * attribute_source names, per attribute, the snapshot its value came from ('catalogue:<path>').
-- A channel's own products (source_file 'contract:<contract>', pipelines/ingest/channel_products.py)
-- are no catalogue's and are never deleted here (their supplier ids are not catalogue suppliers).
DELETE FROM core.dim_product
WHERE supplier_id IN (SELECT supplier_id FROM affected_suppliers) AND NOT starts_with(source_file, 'contract:');

INSERT INTO core.dim_product BY NAME
WITH snaps AS (
    SELECT DISTINCT supplier_id, snapshot_date, source_file, batch_id
    FROM raw.catalogue_items
    WHERE supplier_id IN (SELECT supplier_id FROM affected_suppliers)
    QUALIFY row_number() OVER (PARTITION BY supplier_id, snapshot_date ORDER BY batch_id DESC, source_file DESC) = 1
),
calendar AS (
    SELECT *,
           lag(snapshot_date) OVER (PARTITION BY supplier_id ORDER BY snapshot_date) AS prev_snapshot,
           lead(snapshot_date) OVER (PARTITION BY supplier_id ORDER BY snapshot_date) AS next_snapshot
    FROM snaps
),
present AS (
    SELECT r.*, c.prev_snapshot, c.next_snapshot,
           md5(concat_ws('|', r.unit_price, r.currency, r.country_of_origin, r.hs_code, r.title,
                         coalesce(r.unit_weight_kg::VARCHAR, ''))) AS attrs
    FROM raw.catalogue_items r
    JOIN calendar c USING (supplier_id, snapshot_date, source_file, batch_id)
),
marked AS (
    SELECT *,
           CASE WHEN lag(snapshot_date) OVER sku IS DISTINCT FROM prev_snapshot
                  OR lag(attrs) OVER sku IS DISTINCT FROM attrs THEN 1 ELSE 0 END AS opens
    FROM present
    WINDOW sku AS (PARTITION BY supplier_id, supplier_sku ORDER BY snapshot_date)
),
versions AS (
    SELECT *, sum(opens) OVER (PARTITION BY supplier_id, supplier_sku ORDER BY snapshot_date) AS version
    FROM marked
)
SELECT
    md5(supplier_id || '|' || supplier_sku || '|' || min(snapshot_date)::VARCHAR) AS product_sk,
    supplier_id,
    supplier_sku,
    arg_max(gtin, snapshot_date) AS gtin,
    arg_min(title, snapshot_date) AS title,
    arg_max(brand, snapshot_date) AS brand,
    arg_max(category, snapshot_date) AS category,
    arg_min(hs_code, snapshot_date) AS hs_code,
    left(arg_min(hs_code, snapshot_date), 2) AS hs_chapter,
    arg_min(country_of_origin, snapshot_date) AS country_of_origin,
    arg_min(unit_price, snapshot_date) AS unit_price,
    arg_min(currency, snapshot_date) AS currency,
    arg_min(unit_weight_kg, snapshot_date) AS unit_weight_kg,
    min(snapshot_date) AS valid_from,
    -- next_snapshot is NULL only on the supplier's latest snapshot (arg_max would skip it)
    CASE WHEN bool_or(next_snapshot IS NULL) THEN DATE '9999-12-31' ELSE max(next_snapshot) END AS valid_to,
    bool_or(next_snapshot IS NULL) AS is_current,
    arg_min(source_file, snapshot_date) AS source_file,
    core.attribute_sources(
        'catalogue:' || arg_min(source_file, snapshot_date) FILTER (WHERE country_of_origin IS NOT NULL),
        'catalogue:' || arg_min(source_file, snapshot_date) FILTER (WHERE hs_code IS NOT NULL),
        'catalogue:' || arg_max(source_file, snapshot_date) FILTER (WHERE category IS NOT NULL),
        'catalogue:' || arg_min(source_file, snapshot_date) FILTER (WHERE unit_weight_kg IS NOT NULL),
        'catalogue:' || arg_min(source_file, snapshot_date) FILTER (WHERE title IS NOT NULL),
        'catalogue:' || arg_max(source_file, snapshot_date) FILTER (WHERE brand IS NOT NULL)
    ) AS attribute_source
FROM versions
GROUP BY supplier_id, supplier_sku, version;
