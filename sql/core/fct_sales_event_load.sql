-- Conform one channel's batch of canonical sales events (temp table batch_events) into
-- core.fct_sales_event, by the rules of DESIGN §4. Variables: channel, batch_id, lookback.
-- Leaves temp table dispositions(sha256, line_number, status, reason, column_name, detail):
-- status loaded | quarantined | duplicate; pending orphans are 'quarantined' (orphan_reference).

-- 1. Duplicates and id conflicts, against history and within the batch.
CREATE OR REPLACE TEMP TABLE ev AS
SELECT b.*,
       core.sales_event_content(event_type, event_ts, order_id, line_id, supplier_id, supplier_sku,
           quantity, unit_price, currency, discount, ship_to_country, ship_to_region) AS content
FROM batch_events b;

CREATE OR REPLACE TEMP TABLE seen AS
SELECT event_id, core.sales_event_content(event_type, event_ts, order_id, line_id, supplier_id, supplier_sku,
           quantity, unit_price, currency, discount, ship_to_country, ship_to_region) AS content
FROM (
    SELECT * EXCLUDE (sha256, quarantine_id) FROM raw.pending_sales_events
    UNION ALL
    SELECT * FROM raw.sales_events
) h
SEMI JOIN (SELECT DISTINCT event_id FROM ev) e USING (event_id)  -- probes the history, builds on the batch
WHERE h.channel = getvariable('channel');

CREATE OR REPLACE TEMP TABLE ev_status AS
SELECT ev.*,
    CASE
        WHEN s.event_id IS NOT NULL AND s.content = ev.content THEN 'duplicate'
        WHEN s.event_id IS NOT NULL THEN 'event_id_conflict'
        WHEN row_number() OVER w = 1 THEN 'new'
        WHEN first_value(ev.content) OVER w = ev.content THEN 'duplicate'
        ELSE 'event_id_conflict'
    END AS status
FROM ev LEFT JOIN seen s USING (event_id)
WINDOW w AS (PARTITION BY ev.event_id ORDER BY ev.source_file, ev.line_number);

-- 2. Orders: product version valid at the order's UTC date, ECB rate of that date (or the
--    latest within the look-back), EUR rounded half-even per line.
CREATE OR REPLACE TEMP TABLE orders AS
WITH o AS (
    SELECT *, event_ts::DATE AS order_date FROM ev_status WHERE status = 'new' AND event_type = 'order'
),
priced AS (
    SELECT o.*, r.rate AS asof_rate, r.rate_date AS asof_date
    FROM o ASOF LEFT JOIN core.fx_rate r ON r.currency = o.currency AND o.order_date >= r.rate_date
)
SELECT priced.*,
    p.product_sk, p.country_of_origin, p.hs_code, p.hs_chapter, p.category, p.unit_weight_kg,
    CASE WHEN priced.currency = 'EUR' THEN 1::DECIMAL(18, 6)
         WHEN priced.order_date - asof_date <= getvariable('lookback') THEN asof_rate END AS fx_rate,
    CASE WHEN priced.currency = 'EUR' THEN priced.order_date
         WHEN priced.order_date - asof_date <= getvariable('lookback') THEN asof_date END AS fx_rate_date,
    (priced.quantity * priced.unit_price - coalesce(priced.discount, 0))::DECIMAL(18, 4) AS local_amount
FROM priced
LEFT JOIN core.dim_product p
  ON p.supplier_id = priced.supplier_id AND p.supplier_sku = priced.supplier_sku
 AND p.valid_from <= priced.order_date AND priced.order_date < p.valid_to;

INSERT INTO core.fct_sales_event BY NAME
SELECT channel, event_id, event_type, event_ts, order_date AS event_date, order_id, line_id, order_date,
       supplier_id, supplier_sku, product_sk, country_of_origin, hs_code, hs_chapter, category,
       quantity, currency, local_amount, fx_rate, fx_rate_date,
       core.to_eur(local_amount, fx_rate)::DECIMAL(18, 2) AS eur_amount,
       (quantity * unit_weight_kg)::DECIMAL(18, 4) AS weight_kg,
       ship_to_country, ship_to_region, source_file, line_number, getvariable('batch_id') AS batch_id
FROM orders WHERE product_sk IS NOT NULL AND fx_rate IS NOT NULL;

-- 3. Cancellations and returns of this batch plus those pending from earlier batches.
CREATE OR REPLACE TEMP TABLE refs AS
SELECT * EXCLUDE (content, status), NULL::BIGINT AS quarantine_id, FALSE AS was_pending
FROM ev_status WHERE status = 'new' AND event_type IN ('cancel', 'return')
UNION ALL BY NAME
SELECT * EXCLUDE (batch_id), TRUE AS was_pending
FROM raw.pending_sales_events WHERE channel = getvariable('channel');

-- The facts of the referenced order lines only: a semi join probes the (large) history with the
-- (small) set of lines, so no hash table is ever built over the history.
CREATE OR REPLACE TEMP TABLE ref_lines AS
SELECT f.* FROM core.fct_sales_event f
SEMI JOIN (SELECT DISTINCT channel, order_id, line_id FROM refs) l USING (channel, order_id, line_id);

CREATE OR REPLACE TEMP TABLE ref_eval AS
WITH prior AS (
    SELECT f.channel, f.order_id, f.line_id,
           bool_or(f.event_type = 'cancel') AS cancelled,
           coalesce(sum(CASE WHEN f.event_type = 'return' THEN -f.quantity END), 0) AS returned
    FROM ref_lines f
    WHERE f.event_type IN ('cancel', 'return')
    GROUP BY ALL
),
matched AS (
    SELECT r.*, o.event_id IS NOT NULL AS has_order,
           o.quantity AS order_qty, o.local_amount AS order_local, o.eur_amount AS order_eur,
           o.fx_rate AS o_fx_rate, o.fx_rate_date AS o_fx_rate_date, o.order_date AS o_order_date,
           o.supplier_id AS o_supplier_id, o.supplier_sku AS o_supplier_sku, o.product_sk AS o_product_sk,
           o.country_of_origin AS o_origin, o.hs_code AS o_hs_code, o.hs_chapter AS o_hs_chapter,
           o.category AS o_category, o.currency AS o_currency, o.weight_kg AS order_weight,
           o.ship_to_country AS o_ship_to_country, o.ship_to_region AS o_ship_to_region,
           coalesce(p.cancelled, FALSE) AS was_cancelled, coalesce(p.returned, 0) AS was_returned
    FROM refs r
    LEFT JOIN ref_lines o
      ON o.channel = r.channel AND o.order_id = r.order_id AND o.line_id = r.line_id AND o.event_type = 'order'
    LEFT JOIN prior p ON p.channel = r.channel AND p.order_id = r.order_id AND p.line_id = r.line_id
),
sequenced AS (
    SELECT *,
        coalesce(sum(CASE WHEN event_type = 'return' THEN quantity END) OVER before, 0) AS batch_returned,
        coalesce(bool_or(event_type = 'cancel') OVER before, FALSE) AS batch_cancelled
    FROM matched
    WINDOW before AS (PARTITION BY channel, order_id, line_id ORDER BY event_ts, event_id
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT *,
    CASE
        WHEN NOT has_order THEN 'orphan_reference'
        WHEN was_cancelled OR batch_cancelled THEN 'already_cancelled'
        WHEN event_type = 'cancel' AND was_returned + batch_returned > 0 THEN 'already_returned'
        WHEN event_type = 'return' AND was_returned + batch_returned + quantity > order_qty
            THEN 'return_exceeds_quantity'
    END AS reason
FROM sequenced;

-- A cancel removes the whole line on its own date; a return removes the returned share of the
-- line's value at the original order's rate: round_half_even(local * r / q / rate, 2).
INSERT INTO core.fct_sales_event BY NAME
SELECT channel, event_id, event_type, event_ts, event_ts::DATE AS event_date, order_id, line_id,
       o_order_date AS order_date, o_supplier_id AS supplier_id, o_supplier_sku AS supplier_sku,
       o_product_sk AS product_sk, o_origin AS country_of_origin, o_hs_code AS hs_code,
       o_hs_chapter AS hs_chapter, o_category AS category,
       CASE WHEN event_type = 'cancel' THEN -order_qty ELSE -quantity END AS quantity,
       o_currency AS currency,
       CASE WHEN event_type = 'cancel' THEN -order_local
            ELSE -(core.div_half_even(round(order_local * 10000)::HUGEINT * quantity, order_qty)::DECIMAL(38, 0)
                   * 0.0001::DECIMAL(5, 4)) END::DECIMAL(18, 4) AS local_amount,
       o_fx_rate AS fx_rate, o_fx_rate_date AS fx_rate_date,
       CASE WHEN event_type = 'cancel' THEN -order_eur
            ELSE -core.to_eur_share(order_local, o_fx_rate, quantity, order_qty) END::DECIMAL(18, 2) AS eur_amount,
       CASE WHEN event_type = 'cancel' THEN -order_weight
            ELSE -(order_weight / order_qty * quantity) END::DECIMAL(18, 4) AS weight_kg,
       o_ship_to_country AS ship_to_country, o_ship_to_region AS ship_to_region,
       source_file, line_number, getvariable('batch_id') AS batch_id
FROM ref_eval WHERE reason IS NULL;

-- 4. Raw history of what was loaded (canonical, as landed).
INSERT INTO raw.sales_events BY NAME
SELECT channel, event_id, event_type, event_ts, order_id, line_id, supplier_id, supplier_sku, quantity,
       unit_price, currency, discount, ship_to_country, ship_to_region, source_file, line_number,
       getvariable('batch_id') AS batch_id
FROM ev_status WHERE status = 'new'
  AND ((event_type = 'order' AND event_id IN (SELECT event_id FROM orders WHERE product_sk IS NOT NULL AND fx_rate IS NOT NULL))
    OR (event_type <> 'order' AND event_id IN (SELECT event_id FROM ref_eval WHERE reason IS NULL AND NOT was_pending)));
INSERT INTO raw.sales_events BY NAME
SELECT * EXCLUDE (sha256, quarantine_id, batch_id), getvariable('batch_id') AS batch_id
FROM raw.pending_sales_events
WHERE channel = getvariable('channel')
  AND quarantine_id IN (SELECT quarantine_id FROM ref_eval WHERE was_pending AND reason IS NULL);

-- 5. Late data: resolved pending events leave the queue; new orphans join it.
UPDATE audit.quarantine SET resolved_at = current_localtimestamp(), resolved_batch_id = getvariable('batch_id')
WHERE quarantine_id IN (SELECT quarantine_id FROM ref_eval WHERE was_pending AND reason IS NULL);
UPDATE audit.quarantine q
SET detail = q.detail || '; the order line arrived in batch ' || getvariable('batch_id') || ' but: ' || e.reason
FROM ref_eval e
WHERE q.quarantine_id = e.quarantine_id AND e.was_pending AND e.reason NOT IN ('orphan_reference');
DELETE FROM raw.pending_sales_events
WHERE channel = getvariable('channel')
  AND quarantine_id IN (SELECT quarantine_id FROM ref_eval WHERE was_pending AND reason <> 'orphan_reference'
                        OR (was_pending AND reason IS NULL));

CREATE OR REPLACE TEMP TABLE orphans AS
SELECT *, nextval('audit.quarantine_seq') AS new_quarantine_id
FROM ref_eval WHERE reason = 'orphan_reference' AND NOT was_pending;
INSERT INTO raw.pending_sales_events BY NAME
SELECT channel, event_id, event_type, event_ts, order_id, line_id, supplier_id, supplier_sku, quantity,
       unit_price, currency, discount, ship_to_country, ship_to_region, source_file, line_number,
       getvariable('batch_id') AS batch_id, sha256, new_quarantine_id AS quarantine_id
FROM orphans;

-- 6. What happened to each row of this batch.
CREATE OR REPLACE TEMP TABLE dispositions AS
SELECT sha256, line_number, 'duplicate' AS status, NULL AS reason, NULL AS column_name, NULL AS detail,
       NULL::BIGINT AS quarantine_id
FROM ev_status WHERE status = 'duplicate'
UNION ALL
SELECT sha256, line_number, 'quarantined', 'event_id_conflict', 'event_id',
       'event id already loaded with different content', NULL
FROM ev_status WHERE status = 'event_id_conflict'
UNION ALL
SELECT sha256, line_number,
       CASE WHEN product_sk IS NULL OR fx_rate IS NULL THEN 'quarantined' ELSE 'loaded' END,
       CASE WHEN product_sk IS NULL THEN 'unknown_product' WHEN fx_rate IS NULL THEN 'fx_rate_missing' END,
       CASE WHEN product_sk IS NULL THEN 'supplier_sku' WHEN fx_rate IS NULL THEN 'currency' END,
       CASE WHEN product_sk IS NULL THEN 'no product version of ' || supplier_id || '/' || supplier_sku
                                         || ' valid on ' || order_date::VARCHAR
            WHEN fx_rate IS NULL THEN 'no ECB ' || currency || ' rate within ' || getvariable('lookback')::VARCHAR
                                      || ' days before ' || order_date::VARCHAR END,
       NULL
FROM orders
UNION ALL
SELECT sha256, line_number, CASE WHEN reason IS NULL THEN 'loaded' ELSE 'quarantined' END, reason,
       CASE WHEN reason IS NULL THEN NULL WHEN reason = 'return_exceeds_quantity' THEN 'quantity' ELSE 'order_id' END,
       CASE WHEN reason = 'orphan_reference' THEN 'no order line ' || order_id || '/' || line_id
                 || ' loaded yet; waits in raw.pending_sales_events and loads when it arrives'
            WHEN reason IS NOT NULL THEN 'order line ' || order_id || '/' || line_id END,
       o.new_quarantine_id
FROM ref_eval LEFT JOIN (SELECT sha256, line_number, new_quarantine_id FROM orphans) o USING (sha256, line_number)
WHERE NOT ref_eval.was_pending;
