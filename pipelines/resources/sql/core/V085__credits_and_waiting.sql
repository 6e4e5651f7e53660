-- Standalone credits and waiting sales (issue 13). A credit is a negative line that references no
-- original order line (a credit note, a refund): valued as itself at its own date's ECB rate and
-- product version, stored negative with event_type 'credit'. Orders and credits whose product
-- version or rate has not arrived wait in raw.pending_sales_events like orphan cancels and
-- returns, and load by themselves when it lands (sql/core/fct_sales_event_load.sql,
-- pipelines/ingest/pending.py).
COMMENT ON COLUMN raw.sales_events.event_type IS 'order | cancel | return | credit (a standalone negative line: credit note, refund). quantity is always positive; the event type carries the direction.';
COMMENT ON COLUMN core.fct_sales_event.event_type IS 'order | cancel | return | credit. Orders positive; cancels and returns negative at their order''s rate and version; credits (standalone credit notes and refunds, referencing no order line) negative, valued as themselves at their own date''s rate and product version (order_date = their own date).';
COMMENT ON COLUMN core.fct_sales_event.order_date IS 'UTC date of the original order (FX and product version date); a credit''s own date.';
COMMENT ON TABLE core.fct_sales_event IS 'Sales events valued in EUR at the ECB rate of the order date; signed (orders positive; cancel, return and credit negative). Key (channel, event_id), unique by the load and checked by the core quality gate.';
COMMENT ON TABLE raw.pending_sales_events IS 'Sales events waiting for what they need, each with an open audit.quarantine row (quarantine_id): orders and credits for a product version (unknown_product) or an ECB rate (fx_rate_missing), cancels and returns for their order line (orphan_reference). They load by themselves when it lands (every sales load of the channel, and a pending pass after catalogue and FX loads) and leave the queue; after waiting.max_days they are final and leave it too.';
