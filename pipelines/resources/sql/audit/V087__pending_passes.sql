-- Pending passes (pipelines/ingest/pending.py): the waiting sales events of every channel
-- re-evaluated after catalogue and FX loads, without new sales files. A pass that loaded events
-- has its own batch id on the facts and raw rows it added; that batch is a pending 'sales' batch
-- until the sales gate has validated it, like a batch of landed files.
CREATE TABLE audit.pending_passes (
    batch_id   VARCHAR PRIMARY KEY,   -- the run (audit.runs) and the batch_id of what it loaded
    passed_at  TIMESTAMP NOT NULL,    -- UTC
    channels   VARCHAR[] NOT NULL,    -- channels that had waiting events
    loaded     BIGINT NOT NULL,       -- waiting events that loaded
    eur_loaded DECIMAL(38, 2) NOT NULL,  -- their net EUR
    final      BIGINT NOT NULL,       -- refused once what they waited for arrived (already cancelled, no ECB rates)
    expired    BIGINT NOT NULL,       -- stopped waiting after waiting.max_days
    waiting    BIGINT NOT NULL        -- still waiting after the pass
);
COMMENT ON TABLE audit.pending_passes IS 'Pending passes that changed anything: waiting sales events loaded, made final or expired without new sales files.';

CREATE OR REPLACE VIEW audit.dq_pending_batches AS
WITH done AS (
    SELECT stage AS feed, unnest(batches) AS batch_id
    FROM audit.dq_gate_runs
    WHERE passed OR accepted_at IS NOT NULL
),
batches AS (
    SELECT feed, batch_id FROM audit.load_ledger
    UNION ALL
    SELECT 'sales' AS feed, batch_id FROM audit.pending_passes WHERE loaded > 0
)
SELECT DISTINCT b.feed, b.batch_id
FROM batches b
ANTI JOIN done d ON d.feed = b.feed AND d.batch_id = b.batch_id;
COMMENT ON VIEW audit.dq_pending_batches IS 'Load batches per feed (landed files, and pending passes that loaded sales) not yet validated by a passed or accepted quality gate.';
