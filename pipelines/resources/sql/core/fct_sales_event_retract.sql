-- Take one loaded sales file out of raw and core (xborder db retract; pipelines/retract.py).
-- Variables: rt_path, rt_sha, rt_batch (the batch that loaded the file), retraction_id (marks the
-- quarantine and pending rows it writes, and the quarantine rows it resolves).
--   * the file's events: raw.sales_events rows loaded in its batch, plus its waiting events
--     (orphans, orders and credits that waited for a product version or rate) that a later batch
--     or pending pass loaded (their quarantine rows name the file's sha256 and that batch);
--     their facts leave core.fct_sales_event (or core.fct_sales_event_held);
--   * cancels and returns of other files that refer to the file's order lines go back to
--     raw.pending_sales_events, each with an unresolved orphan_reference quarantine row, exactly
--     like a cancel whose order has not arrived: the load that brings the order line applies them;
--   * the file's own waiting events leave the queue and its open quarantine rows are resolved.
-- Leaves temp table retract_counts (one row of counts and EUR).

CREATE OR REPLACE TEMP TABLE rt_own AS
SELECT r.channel, r.event_id, r.event_type, r.order_id, r.line_id
FROM raw.sales_events r
WHERE r.source_file = getvariable('rt_path') AND r.batch_id = getvariable('rt_batch')
UNION
SELECT r.channel, r.event_id, r.event_type, r.order_id, r.line_id
FROM raw.sales_events r
JOIN audit.quarantine q
  ON q.sha256 = getvariable('rt_sha') AND q.path = r.source_file
 AND q.reason IN ('orphan_reference', 'unknown_product', 'fx_rate_missing')
 AND q.line_number = r.line_number AND q.resolved_batch_id = r.batch_id
WHERE r.source_file = getvariable('rt_path');

CREATE OR REPLACE TEMP TABLE rt_dependents AS
SELECT r.*
FROM raw.sales_events r
SEMI JOIN (SELECT DISTINCT channel, order_id, line_id FROM rt_own WHERE event_type = 'order') o
     USING (channel, order_id, line_id)
ANTI JOIN rt_own USING (channel, event_id)
WHERE r.event_type IN ('cancel', 'return');

CREATE OR REPLACE TEMP TABLE rt_events AS
SELECT channel, event_id FROM rt_own UNION SELECT channel, event_id FROM rt_dependents;

CREATE OR REPLACE TEMP TABLE retract_counts AS
SELECT (SELECT count(*) FROM raw.sales_events r SEMI JOIN rt_events USING (channel, event_id)) AS raw_events,
       (SELECT count(*) FROM core.fct_sales_event f SEMI JOIN rt_events USING (channel, event_id)) AS facts,
       (SELECT coalesce(sum(eur_amount), 0) FROM core.fct_sales_event f SEMI JOIN rt_events USING (channel, event_id))
           ::DECIMAL(38, 2) AS eur,
       (SELECT count(*) FROM core.fct_sales_event_held h SEMI JOIN rt_events USING (channel, event_id)) AS held,
       (SELECT count(*) FROM rt_dependents) AS dependents,
       (SELECT count(*) FROM raw.pending_sales_events
        WHERE sha256 = getvariable('rt_sha') AND source_file = getvariable('rt_path')) AS pending;

-- dependents back to pending, each with its own open orphan_reference quarantine row
CREATE OR REPLACE TEMP TABLE rt_pend AS
SELECT d.*, l.sha256, nextval('audit.quarantine_seq') AS quarantine_id
FROM rt_dependents d
LEFT JOIN (SELECT path, arg_max(sha256, loaded_at) AS sha256 FROM audit.load_ledger
           WHERE feed = 'sales' AND status = 'loaded' GROUP BY path) l ON l.path = d.source_file;

INSERT INTO audit.quarantine (quarantine_id, sha256, path, feed, source, line_number, column_name, reason, detail,
                              raw_row, batch_id)
SELECT quarantine_id, sha256, source_file, 'sales', channel, line_number, 'order_id', 'orphan_reference',
       'no order line ' || order_id || '/' || line_id || ' loaded any more (' || getvariable('rt_path')
       || ' was retracted); waits in raw.pending_sales_events and loads when it arrives',
       to_json(struct_pack(channel, event_id, event_type, event_ts, order_id, line_id, supplier_id, supplier_sku,
                           quantity, unit_price, currency, discount, ship_to_country, ship_to_region))::VARCHAR,
       getvariable('retraction_id')
FROM rt_pend;

INSERT INTO raw.pending_sales_events BY NAME
SELECT * EXCLUDE (batch_id), getvariable('retraction_id') AS batch_id FROM rt_pend;

-- facts held for want of a product version close their quarantine rows as they go
UPDATE audit.quarantine SET resolved_at = current_localtimestamp(), resolved_batch_id = getvariable('retraction_id')
WHERE quarantine_id IN (SELECT quarantine_id FROM core.fct_sales_event_held SEMI JOIN rt_events USING (channel, event_id));

DELETE FROM core.fct_sales_event f USING rt_events e WHERE f.channel = e.channel AND f.event_id = e.event_id;
DELETE FROM core.fct_sales_event_held h USING rt_events e WHERE h.channel = e.channel AND h.event_id = e.event_id;
DELETE FROM raw.sales_events r USING rt_events e WHERE r.channel = e.channel AND r.event_id = e.event_id;

-- the file's own waiting events leave the queue; its open quarantine rows are closed
DELETE FROM raw.pending_sales_events WHERE sha256 = getvariable('rt_sha') AND source_file = getvariable('rt_path');
UPDATE audit.quarantine SET resolved_at = current_localtimestamp(), resolved_batch_id = getvariable('retraction_id')
WHERE sha256 = getvariable('rt_sha') AND path = getvariable('rt_path') AND resolved_at IS NULL;
