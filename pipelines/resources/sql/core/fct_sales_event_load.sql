-- Conform one channel's batch of canonical sales events (temp table batch_events) into
-- core.fct_sales_event, by the rules of docs/design.md §4, and re-evaluate the channel's waiting events
-- (raw.pending_sales_events). Variables: channel, batch_id, lookback, wait_days.
-- With an empty batch_events it is the channel's share of a pending pass (pipelines/ingest/pending.py).
-- Leaves temp tables dispositions(sha256, line_number, status, reason, column_name, detail,
-- quarantine_id): status quarantined | duplicate of each batch row that did not load (waiting rows
-- are 'quarantined' with the quarantine_id that links their raw.pending_sales_events row; every
-- other row loaded), and pending_counts (what happened to the events that were waiting).
--
-- Waiting: an order or standalone credit without a product version valid on its date
-- (unknown_product) or an ECB rate within the look-back (fx_rate_missing; a currency of which no
-- rate at all is loaded while others are, such as XXX, does not wait), and a cancel or return
-- whose order line is not loaded (orphan_reference), wait in raw.pending_sales_events and load by
-- themselves once what they need is there: orders and credits are evaluated first, so a waiting
-- order line and its waiting cancels and returns load in the same pass. A row still waiting
-- wait_days after its quarantine row was written is final: it leaves the queue, its quarantine
-- row stays open with a detail saying it stopped waiting (wait_days 0: nothing waits).

-- 1. Duplicates and id conflicts, against history and within the batch. Only an event whose id
--    occurs twice in the batch or is already loaded or waiting has its content compared: the
--    history is probed by id alone (two narrow columns), and the few rows found are fetched by row id.
CREATE OR REPLACE TEMP TABLE batch_ids AS
SELECT event_id, count(*) AS copies FROM batch_events GROUP BY event_id;

CREATE OR REPLACE TEMP TABLE seen_rows AS
SELECT h.rowid AS row_id FROM raw.sales_events h
SEMI JOIN batch_ids b USING (event_id)  -- probes the history, builds on the batch
WHERE h.channel = getvariable('channel');

CREATE OR REPLACE TEMP TABLE seen AS
SELECT event_id, core.sales_event_content(event_type, event_ts, order_id, line_id, supplier_id, supplier_sku,
           quantity, unit_price, currency, discount, ship_to_country, ship_to_region) AS content
FROM (
    SELECT * EXCLUDE (sha256, quarantine_id) FROM raw.pending_sales_events
    WHERE channel = getvariable('channel') AND event_id IN (SELECT event_id FROM batch_ids)
    UNION ALL BY NAME
    SELECT * FROM raw.sales_events WHERE rowid IN (SELECT row_id FROM seen_rows)
);

CREATE OR REPLACE TEMP TABLE repeated AS
SELECT b.*,
       core.sales_event_content(event_type, event_ts, order_id, line_id, supplier_id, supplier_sku,
           quantity, unit_price, currency, discount, ship_to_country, ship_to_region) AS content
FROM batch_events b
WHERE event_id IN (SELECT event_id FROM batch_ids WHERE copies > 1 UNION ALL SELECT event_id FROM seen);

CREATE OR REPLACE TEMP TABLE ev_status AS
SELECT r.*,
    CASE
        WHEN s.event_id IS NOT NULL AND s.content = r.content THEN 'duplicate'
        WHEN s.event_id IS NOT NULL THEN 'event_id_conflict'
        WHEN row_number() OVER w = 1 THEN 'new'
        WHEN first_value(r.content) OVER w = r.content THEN 'duplicate'
        ELSE 'event_id_conflict'
    END AS status
FROM repeated r LEFT JOIN seen s USING (event_id)
WINDOW w AS (PARTITION BY r.event_id ORDER BY r.source_file, r.line_number);

-- The batch rows to load: those of an id seen once, and the first of a repeated id.
CREATE OR REPLACE TEMP VIEW fresh AS
SELECT b.* FROM batch_events b ANTI JOIN (SELECT DISTINCT event_id FROM repeated) r USING (event_id)
UNION ALL BY NAME
SELECT * EXCLUDE (content, status) FROM ev_status WHERE status = 'new';

-- 2. Orders and standalone credits, of this batch and waiting from earlier ones: product version
--    valid at their own UTC date, ECB rate of that date (or the latest within the look-back), EUR
--    rounded half-even per line. A credit is valued as itself and stored negative. The rates are
--    first laid out per currency and day over the days the orders span (fx_daily), so each order
--    finds its rate by an equality join. The valued rows go straight into the facts; only those that
--    do not load and the waiting ones are kept (valued_eval).
CREATE OR REPLACE TEMP TABLE fx_daily AS
WITH spans AS (
    SELECT currency, min(event_ts)::DATE AS first_day, max(event_ts)::DATE AS last_day
    FROM (
        SELECT currency, event_ts FROM batch_events WHERE event_type IN ('order', 'credit')
        UNION ALL
        SELECT currency, event_ts FROM raw.pending_sales_events
        WHERE channel = getvariable('channel') AND event_type IN ('order', 'credit')
    )
    WHERE currency IS NOT NULL
    GROUP BY currency
),
days AS (
    SELECT currency, unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS day FROM spans
)
SELECT d.currency, d.day, r.rate, r.rate_date
FROM days d ASOF JOIN core.fx_rate r ON r.currency = d.currency AND d.day >= r.rate_date
WHERE d.day - r.rate_date <= getvariable('lookback');

CREATE OR REPLACE TEMP VIEW valued AS
WITH v AS (
    SELECT *, NULL::BIGINT AS quarantine_id, FALSE AS was_pending
    FROM fresh WHERE event_type IN ('order', 'credit')
    UNION ALL BY NAME
    SELECT * EXCLUDE (batch_id), TRUE AS was_pending
    FROM raw.pending_sales_events
    WHERE channel = getvariable('channel') AND event_type IN ('order', 'credit')
),
joined AS (
    SELECT v.*, v.event_ts::DATE AS order_date,
        CASE WHEN v.event_type = 'credit' THEN -1 ELSE 1 END AS direction,
        p.product_sk, p.country_of_origin, p.hs_code, p.hs_chapter, p.category, p.unit_weight_kg,
        CASE WHEN v.currency = 'EUR' THEN 1::DECIMAL(18, 6) ELSE r.rate END AS fx_rate,
        CASE WHEN v.currency = 'EUR' THEN v.event_ts::DATE ELSE r.rate_date END AS fx_rate_date,
        (v.quantity * v.unit_price - coalesce(v.discount, 0))::DECIMAL(18, 4) AS local_amount
    FROM v
    LEFT JOIN fx_daily r ON r.currency = v.currency AND r.day = v.event_ts::DATE
    LEFT JOIN core.dim_product p
      ON p.supplier_id = v.supplier_id AND p.supplier_sku = v.supplier_sku
     AND p.valid_from <= v.event_ts::DATE AND v.event_ts::DATE < p.valid_to
),
evaluated AS (
    SELECT *,
        CASE WHEN product_sk IS NULL THEN 'unknown_product' WHEN fx_rate IS NULL THEN 'fx_rate_missing' END AS reason,
        CASE WHEN product_sk IS NULL THEN 'supplier_sku' WHEN fx_rate IS NULL THEN 'currency' END AS column_name,
        CASE WHEN product_sk IS NULL THEN 'no product version of ' || supplier_id || '/' || supplier_sku
                                          || ' valid on ' || order_date::VARCHAR
             WHEN fx_rate IS NULL THEN 'no ECB ' || currency || ' rate within ' || getvariable('lookback')::VARCHAR
                                       || ' days before ' || order_date::VARCHAR END AS problem,
        CASE WHEN product_sk IS NULL THEN 'a catalogue snapshot (or product map) brings a version valid that day'
             WHEN fx_rate IS NULL THEN 'the ECB rate arrives' END AS awaits,
        -- a rate can arrive only for a currency the ECB quotes (any rate of it loaded), or before any rate is
        -- loaded at all; a row without a rate in a currency the ECB never quotes is final at once
        product_sk IS NULL OR fx_rate IS NULL AND (currency IN (SELECT DISTINCT currency FROM core.fx_rate)
                                                  OR NOT EXISTS (SELECT 1 FROM core.fx_rate)) AS waits
    FROM joined
)
SELECT *,
    CASE WHEN reason IS NULL THEN (direction * core.to_eur(local_amount, fx_rate))::DECIMAL(18, 2) END AS eur_amount
FROM evaluated;

INSERT INTO core.fct_sales_event BY NAME
SELECT channel, event_id, event_type, event_ts, order_date AS event_date, order_id, line_id, order_date,
       supplier_id, supplier_sku, product_sk, country_of_origin, hs_code, hs_chapter, category,
       direction * quantity AS quantity, currency, (direction * local_amount)::DECIMAL(18, 4) AS local_amount,
       fx_rate, fx_rate_date, eur_amount,
       (direction * quantity * unit_weight_kg)::DECIMAL(18, 4) AS weight_kg,
       ship_to_country, ship_to_region, source_file, line_number, getvariable('batch_id') AS batch_id
FROM valued WHERE reason IS NULL;

CREATE OR REPLACE TEMP TABLE valued_eval AS SELECT * FROM valued WHERE reason IS NOT NULL OR was_pending;

-- 3. Cancellations and returns of this batch plus those pending from earlier batches (after the
--    orders above, so an order line that just loaded takes its waiting cancels and returns along).
CREATE OR REPLACE TEMP TABLE refs AS
SELECT *, NULL::BIGINT AS quarantine_id, FALSE AS was_pending
FROM fresh WHERE event_type IN ('cancel', 'return')
UNION ALL BY NAME
SELECT * EXCLUDE (batch_id), TRUE AS was_pending
FROM raw.pending_sales_events WHERE channel = getvariable('channel') AND event_type IN ('cancel', 'return');

-- The facts of the referenced order lines only: a semi join probes the (large) history with the
-- (small) set of lines, reading only the three key columns, so no hash table is ever built over the
-- history; the rows found are then fetched whole by row id.
CREATE OR REPLACE TEMP TABLE ref_rows AS
SELECT f.rowid AS row_id FROM core.fct_sales_event f
SEMI JOIN (SELECT DISTINCT channel, order_id, line_id FROM refs) l USING (channel, order_id, line_id)
WHERE f.channel = getvariable('channel');

CREATE OR REPLACE TEMP TABLE ref_lines AS
SELECT * FROM core.fct_sales_event WHERE rowid IN (SELECT row_id FROM ref_rows);

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

-- 4. What happened to the events that were waiting: loaded now, final (a reference whose order
--    line arrived but cannot take it: already cancelled...; an order whose currency turns out to
--    have no ECB rates at all), still waiting, or waited too long.
CREATE OR REPLACE TEMP TABLE pending_eval AS
WITH now_ AS (
    SELECT quarantine_id, event_type,
           CASE WHEN reason IS NULL THEN 'loaded' WHEN waits THEN 'waiting' ELSE 'final' END AS outcome,
           reason, column_name,
           CASE WHEN waits THEN problem || '; waits in raw.pending_sales_events until ' || awaits END AS detail,
           '; then the ECB rates loaded hold no ' || currency || ' rate at all: final' AS final_note,
           eur_amount
    FROM valued_eval WHERE was_pending
    UNION ALL
    SELECT quarantine_id, event_type,
           CASE WHEN reason IS NULL THEN 'loaded' WHEN reason = 'orphan_reference' THEN 'waiting' ELSE 'final' END,
           reason, NULL, NULL,
           '; the order line arrived in batch ' || getvariable('batch_id') || ' but: ' || reason,
           CASE WHEN reason IS NULL THEN CASE WHEN event_type = 'cancel' THEN -order_eur
                ELSE -core.to_eur_share(order_local, o_fx_rate, quantity, order_qty) END END
    FROM ref_eval WHERE was_pending
)
SELECT n.* REPLACE (
           CASE WHEN n.outcome = 'waiting'
                 AND q.quarantined_at + to_days(getvariable('wait_days')::INTEGER) <= current_localtimestamp()
                THEN 'expired' ELSE n.outcome END AS outcome),
       q.reason AS was_reason, q.quarantined_at
FROM now_ n LEFT JOIN audit.quarantine q USING (quarantine_id);

-- 5. Raw history of what was loaded (canonical, as landed): this batch's rows and the waiting ones.
INSERT INTO raw.sales_events BY NAME
SELECT channel, event_id, event_type, event_ts, order_id, line_id, supplier_id, supplier_sku, quantity,
       unit_price, currency, discount, ship_to_country, ship_to_region, source_file, line_number,
       getvariable('batch_id') AS batch_id
FROM fresh f
ANTI JOIN (
    SELECT sha256, line_number FROM valued_eval WHERE NOT was_pending
    UNION ALL
    SELECT sha256, line_number FROM ref_eval WHERE reason IS NOT NULL AND NOT was_pending
) n USING (sha256, line_number);
INSERT INTO raw.sales_events BY NAME
SELECT * EXCLUDE (sha256, quarantine_id, batch_id), getvariable('batch_id') AS batch_id
FROM raw.pending_sales_events
WHERE channel = getvariable('channel')
  AND quarantine_id IN (SELECT quarantine_id FROM pending_eval WHERE outcome = 'loaded');

-- 6. Late data: loaded events leave the queue and their quarantine rows are resolved; final and
--    expired ones leave it with a detail saying why; waiting ones say what they wait for now.
UPDATE audit.quarantine SET resolved_at = current_localtimestamp(), resolved_batch_id = getvariable('batch_id')
WHERE quarantine_id IN (SELECT quarantine_id FROM pending_eval WHERE outcome = 'loaded');
UPDATE audit.quarantine q
SET reason = CASE WHEN e.event_type IN ('order', 'credit') THEN e.reason ELSE q.reason END,
    column_name = CASE WHEN e.event_type IN ('order', 'credit') THEN e.column_name ELSE q.column_name END,
    detail = q.detail || e.final_note
FROM pending_eval e
WHERE q.quarantine_id = e.quarantine_id AND e.outcome = 'final';
UPDATE audit.quarantine q
SET reason = e.reason, column_name = e.column_name,
    detail = e.detail || ' (waiting since ' || strftime(q.quarantined_at, '%Y-%m-%d %H:%M') || ', at most '
             || getvariable('wait_days')::VARCHAR || ' days; was ' || q.reason || ')'
FROM pending_eval e
WHERE q.quarantine_id = e.quarantine_id AND e.outcome IN ('waiting', 'expired') AND e.reason IS DISTINCT FROM q.reason
  AND e.event_type IN ('order', 'credit');
UPDATE audit.quarantine q
SET detail = q.detail || '; stopped waiting on ' || strftime(current_localtimestamp(), '%Y-%m-%d')
             || ' after ' || getvariable('wait_days')::VARCHAR || ' days (waiting.max_days): final, '
             || 'no longer loads by itself (a new delivery of it loads)'
FROM pending_eval e
WHERE q.quarantine_id = e.quarantine_id AND e.outcome = 'expired';
DELETE FROM raw.pending_sales_events
WHERE channel = getvariable('channel')
  AND quarantine_id IN (SELECT quarantine_id FROM pending_eval WHERE outcome IN ('loaded', 'final', 'expired'));

CREATE OR REPLACE TEMP TABLE pending_counts AS
SELECT count(*) FILTER (WHERE outcome = 'loaded') AS loaded,
       coalesce(sum(eur_amount) FILTER (WHERE outcome = 'loaded'), 0)::DECIMAL(38, 2) AS eur_loaded,
       count(*) FILTER (WHERE outcome = 'final') AS final,
       count(*) FILTER (WHERE outcome = 'expired') AS expired,
       count(*) FILTER (WHERE outcome = 'waiting') AS waiting
FROM pending_eval;

-- 7. New waiting rows: this batch's orders and credits without a product version or rate (in a
--    currency the ECB quotes), and its cancels and returns without their order line (not when the
--    channel waits 0 days).
CREATE OR REPLACE TEMP TABLE waiting AS
SELECT *, nextval('audit.quarantine_seq') AS new_quarantine_id
FROM (
    SELECT channel, event_id, event_type, event_ts, order_id, line_id, supplier_id, supplier_sku, quantity,
           unit_price, currency, discount, ship_to_country, ship_to_region, source_file, line_number, sha256
    FROM valued_eval WHERE reason IS NOT NULL AND waits AND NOT was_pending
    UNION ALL
    SELECT channel, event_id, event_type, event_ts, order_id, line_id, supplier_id, supplier_sku, quantity,
           unit_price, currency, discount, ship_to_country, ship_to_region, source_file, line_number, sha256
    FROM ref_eval WHERE reason = 'orphan_reference' AND NOT was_pending
)
WHERE getvariable('wait_days') > 0;
INSERT INTO raw.pending_sales_events BY NAME
SELECT * EXCLUDE (new_quarantine_id), getvariable('batch_id') AS batch_id, new_quarantine_id AS quarantine_id
FROM waiting;

-- 8. What happened to the rows of this batch that did not load (every other row loaded).
CREATE OR REPLACE TEMP TABLE dispositions AS
SELECT sha256, line_number, 'duplicate' AS status, NULL AS reason, NULL AS column_name, NULL AS detail,
       NULL::BIGINT AS quarantine_id
FROM ev_status WHERE status = 'duplicate'
UNION ALL
SELECT sha256, line_number, 'quarantined', 'event_id_conflict', 'event_id',
       'event id already loaded with different content', NULL
FROM ev_status WHERE status = 'event_id_conflict'
UNION ALL
SELECT v.sha256, v.line_number, 'quarantined', v.reason,
       v.column_name,
       CASE WHEN w.new_quarantine_id IS NOT NULL
            THEN v.problem || '; waits in raw.pending_sales_events (at most ' || getvariable('wait_days')::VARCHAR
                 || ' days) and loads when ' || v.awaits
            WHEN NOT v.waits
            THEN v.problem || '; the ECB publishes no ' || v.currency || ' rates: final, it does not wait'
            ELSE v.problem || ' (the channel does not wait: waiting.max_days 0)' END,
       w.new_quarantine_id
FROM valued_eval v LEFT JOIN (SELECT sha256, line_number, new_quarantine_id FROM waiting) w USING (sha256, line_number)
WHERE NOT v.was_pending AND v.reason IS NOT NULL
UNION ALL
SELECT r.sha256, r.line_number, 'quarantined', r.reason,
       CASE WHEN r.reason = 'return_exceeds_quantity' THEN 'quantity' ELSE 'order_id' END,
       CASE WHEN w.new_quarantine_id IS NOT NULL
            THEN 'no order line ' || r.order_id || '/' || r.line_id || ' loaded yet; waits in raw.pending_sales_events'
                 || ' (at most ' || getvariable('wait_days')::VARCHAR || ' days) and loads when it arrives'
            WHEN r.reason = 'orphan_reference'
            THEN 'no order line ' || r.order_id || '/' || r.line_id
                 || ' loaded (the channel does not wait: waiting.max_days 0)'
            ELSE 'order line ' || r.order_id || '/' || r.line_id END,
       w.new_quarantine_id
FROM ref_eval r LEFT JOIN (SELECT sha256, line_number, new_quarantine_id FROM waiting) w USING (sha256, line_number)
WHERE NOT r.was_pending AND r.reason IS NOT NULL;
