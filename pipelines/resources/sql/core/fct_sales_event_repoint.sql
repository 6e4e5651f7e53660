-- Re-point the facts of the suppliers in temp table affected_suppliers at the product versions
-- valid on their order dates, after core.dim_product was rebuilt (a late, corrected or
-- retracted catalogue snapshot re-sliced the history). Variable: batch_id (the run doing it).
-- Temp table rp_before holds those suppliers' versions as they were before the rebuild: only
-- facts on a version that changed or vanished are looked at (a new latest snapshot that leaves
-- most versions as they were costs little), plus the held lines that come back.
--   * product_sk, country_of_origin, hs_code, hs_chapter, category and weight_kg follow the
--     version valid on the order date; cancels and returns copy their order's (weight: the
--     cancelled line's, or the returned share of it, as the load computes them); a standalone
--     credit is its own line: it follows the version valid on its own date;
--   * an order line whose order date has no version any more (the snapshot shows the SKU not
--     listed then) leaves core whole (order, cancels, returns) for core.fct_sales_event_held,
--     each fact quarantined as unknown_product; it comes back, re-pointed, when a version
--     covers the date again. EUR values never change: they depend on price, rate and date only.
-- Leaves temp table repoint_counts(restored, repointed, held, eur_held, eur_restored).

-- 1. Held order lines (and credits) whose order date has a version again come back (re-pointed in
--    step 2). credit_id: a credit is a line of its own, whatever order line shares its ids.
CREATE OR REPLACE TEMP TABLE rp_restore AS
SELECT DISTINCT h.channel, h.order_id, h.line_id, CASE WHEN h.event_type = 'credit' THEN h.event_id END AS credit_id
FROM core.fct_sales_event_held h
JOIN core.dim_product p
  ON p.supplier_id = h.supplier_id AND p.supplier_sku = h.supplier_sku
 AND p.valid_from <= h.order_date AND h.order_date < p.valid_to
WHERE h.event_type IN ('order', 'credit') AND h.supplier_id IN (SELECT supplier_id FROM affected_suppliers);

CREATE OR REPLACE TEMP TABLE rp_restored AS
SELECT h.* FROM core.fct_sales_event_held h
SEMI JOIN rp_restore r
  ON r.channel = h.channel AND r.order_id = h.order_id AND r.line_id = h.line_id
 AND r.credit_id IS NOT DISTINCT FROM CASE WHEN h.event_type = 'credit' THEN h.event_id END;

UPDATE audit.quarantine SET resolved_at = current_localtimestamp(), resolved_batch_id = getvariable('batch_id')
WHERE quarantine_id IN (SELECT quarantine_id FROM rp_restored);
INSERT INTO core.fct_sales_event BY NAME SELECT * EXCLUDE (quarantine_id, held_batch_id) FROM rp_restored;
DELETE FROM core.fct_sales_event_held h USING rp_restored r
WHERE h.channel = r.channel AND h.event_id = r.event_id;

-- 2. The version valid on each candidate fact's order date, taken from the line's order.
CREATE OR REPLACE TEMP TABLE rp_changed AS
SELECT product_sk FROM (
    SELECT product_sk, valid_from, valid_to, country_of_origin, hs_code, hs_chapter, category, unit_weight_kg
    FROM rp_before
    EXCEPT
    SELECT product_sk, valid_from, valid_to, country_of_origin, hs_code, hs_chapter, category, unit_weight_kg
    FROM core.dim_product WHERE supplier_id IN (SELECT supplier_id FROM affected_suppliers)
)
UNION
SELECT DISTINCT product_sk FROM rp_restored;

CREATE OR REPLACE TEMP TABLE rp_facts AS
SELECT f.* FROM core.fct_sales_event f
WHERE f.supplier_id IN (SELECT supplier_id FROM affected_suppliers)
  AND f.product_sk IN (SELECT product_sk FROM rp_changed);

CREATE OR REPLACE TEMP TABLE rp_orders AS
SELECT f.channel, f.order_id, f.line_id, CASE WHEN f.event_type = 'credit' THEN f.event_id END AS credit_id,
       f.quantity AS order_qty, p.product_sk, p.country_of_origin, p.hs_code, p.hs_chapter, p.category,
       (f.quantity * p.unit_weight_kg)::DECIMAL(18, 4) AS order_weight  -- a credit's: negative, as stored
FROM rp_facts f
LEFT JOIN core.dim_product p
  ON p.supplier_id = f.supplier_id AND p.supplier_sku = f.supplier_sku
 AND p.valid_from <= f.order_date AND f.order_date < p.valid_to
WHERE f.event_type IN ('order', 'credit');

CREATE OR REPLACE TEMP TABLE rp_new AS
SELECT f.channel, f.event_id, f.eur_amount, o.product_sk IS NULL AS lost,
       o.product_sk, o.country_of_origin, o.hs_code, o.hs_chapter, o.category,
       CASE WHEN f.event_type IN ('order', 'credit') THEN o.order_weight
            WHEN f.event_type = 'cancel' THEN -o.order_weight
            ELSE -(o.order_weight / o.order_qty * -f.quantity) END::DECIMAL(18, 4) AS weight_kg,
       (o.product_sk, o.country_of_origin, o.hs_code, o.hs_chapter, o.category)
           IS DISTINCT FROM (f.product_sk, f.country_of_origin, f.hs_code, f.hs_chapter, f.category)
       OR CASE WHEN f.event_type IN ('order', 'credit') THEN o.order_weight
               WHEN f.event_type = 'cancel' THEN -o.order_weight
               ELSE -(o.order_weight / o.order_qty * -f.quantity) END::DECIMAL(18, 4)
           IS DISTINCT FROM f.weight_kg AS changed
FROM rp_facts f
JOIN rp_orders o
  ON o.channel = f.channel AND o.order_id = f.order_id AND o.line_id = f.line_id
 AND o.credit_id IS NOT DISTINCT FROM CASE WHEN f.event_type = 'credit' THEN f.event_id END;

-- 3. Lines without a version leave core for the held table, quarantined as unknown_product.
CREATE OR REPLACE TEMP TABLE rp_hold AS
SELECT channel, event_id, nextval('audit.quarantine_seq') AS quarantine_id FROM rp_new WHERE lost;

INSERT INTO audit.quarantine (quarantine_id, sha256, path, feed, source, line_number, column_name, reason, detail,
                              raw_row, batch_id)
SELECT h.quarantine_id, l.sha256, f.source_file, 'sales', f.channel, f.line_number, 'supplier_sku', 'unknown_product',
       'no product version of ' || f.supplier_id || '/' || f.supplier_sku || ' valid on ' || f.order_date::VARCHAR
       || ' any more (a catalogue snapshot re-sliced the history); order line ' || f.order_id || '/' || f.line_id
       || ' waits in core.fct_sales_event_held and returns when a version covers that date',
       to_json(r)::VARCHAR, getvariable('batch_id')
FROM core.fct_sales_event f
JOIN rp_hold h USING (channel, event_id)
LEFT JOIN raw.sales_events r USING (channel, event_id)
LEFT JOIN (SELECT path, arg_max(sha256, loaded_at) AS sha256 FROM audit.load_ledger
           WHERE feed = 'sales' AND status = 'loaded' GROUP BY path) l ON l.path = f.source_file;

INSERT INTO core.fct_sales_event_held BY NAME
SELECT f.*, h.quarantine_id, getvariable('batch_id') AS held_batch_id
FROM core.fct_sales_event f JOIN rp_hold h USING (channel, event_id);
DELETE FROM core.fct_sales_event f USING rp_hold h WHERE f.channel = h.channel AND f.event_id = h.event_id;

-- 4. The others take the attributes of the version valid on their order date.
UPDATE core.fct_sales_event f
SET product_sk = n.product_sk, country_of_origin = n.country_of_origin, hs_code = n.hs_code,
    hs_chapter = n.hs_chapter, category = n.category, weight_kg = n.weight_kg
FROM rp_new n
WHERE f.channel = n.channel AND f.event_id = n.event_id AND n.changed AND NOT n.lost;

CREATE OR REPLACE TEMP TABLE repoint_counts AS
SELECT (SELECT count(*) FROM rp_restored) AS restored,
       (SELECT count(*) FROM rp_new WHERE changed AND NOT lost) AS repointed,
       (SELECT count(*) FROM rp_new WHERE lost) AS held,
       (SELECT coalesce(sum(eur_amount), 0) FROM rp_new WHERE lost)::DECIMAL(38, 2) AS eur_held,
       (SELECT coalesce(sum(eur_amount), 0) FROM rp_restored)::DECIMAL(38, 2) AS eur_restored;
