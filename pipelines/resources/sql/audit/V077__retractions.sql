-- Loaded files that were taken out of the warehouse again (xborder db retract, or automatically
-- when a new version of a sales or catalogue file lands at the same path): what was removed,
-- by whom and why. The file's ledger row has status 'retracted'.
CREATE TABLE audit.retractions (
    retraction_id      VARCHAR PRIMARY KEY,   -- also the batch_id of the quarantine/pending rows it wrote
    run_id             VARCHAR NOT NULL,      -- audit.runs / load batch that retracted it
    path               VARCHAR NOT NULL,      -- relative to the landing root
    sha256             VARCHAR NOT NULL,
    feed               VARCHAR NOT NULL,      -- sales | catalogues | fx
    source             VARCHAR,               -- channel or supplier_id
    batch_id           VARCHAR NOT NULL,      -- the load batch the file came in
    rows_removed       MAP(VARCHAR, BIGINT) NOT NULL,  -- table -> rows removed (or moved back to pending)
    eur_removed        DECIMAL(38, 2) NOT NULL,        -- net EUR that left core.fct_sales_event
    dependents_pending BIGINT NOT NULL,       -- cancels/returns of other files sent back to pending
    retracted_by       VARCHAR NOT NULL,      -- OS user
    retracted_at       TIMESTAMP NOT NULL,    -- UTC
    note               VARCHAR                -- why ('superseded by <sha256>' for a new version)
);
COMMENT ON TABLE audit.retractions IS 'Files retracted after loading: rows removed per table, EUR removed, by whom, when and why.';
COMMENT ON COLUMN audit.retractions.rows_removed IS 'Rows removed per table; core.fct_sales_event includes the dependent cancels/returns sent back to raw.pending_sales_events.';
COMMENT ON COLUMN audit.retractions.eur_removed IS 'Net EUR of the facts removed from core.fct_sales_event (the file''s and its dependents'').';
COMMENT ON COLUMN audit.retractions.note IS 'The operator''s note, or ''superseded by <sha256>'' when a new version of the file replaced it.';
