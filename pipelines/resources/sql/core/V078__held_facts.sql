-- Facts held back because the product history no longer has a version valid on their order date
-- (a late catalogue snapshot or a retracted one re-sliced it: the SKU was not listed then). The
-- whole order line (order, cancels, returns) waits here, quarantined as unknown_product, and
-- returns to core.fct_sales_event by itself, re-pointed, once a version covers that date again
-- (sql/core/fct_sales_event_repoint.sql). Their EUR values do not depend on the product.
CREATE TABLE core.fct_sales_event_held AS SELECT * FROM core.fct_sales_event WITH NO DATA;
ALTER TABLE core.fct_sales_event_held ADD COLUMN quarantine_id BIGINT;
ALTER TABLE core.fct_sales_event_held ADD COLUMN held_batch_id VARCHAR;
COMMENT ON TABLE core.fct_sales_event_held IS 'Facts whose order date lost its product version (late or retracted catalogue): held out of core, quarantined as unknown_product (quarantine_id), re-applied when a version covers the date again.';
