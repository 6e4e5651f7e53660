-- audit.load_ledger keyed by (sha256, path) instead of sha256 alone, so that every landed file
-- has its own ledger row: a byte-identical re-delivery at a second path is a row with status
-- 'duplicate' (rows_read = rows_duplicate = the original's rows_read), and a file retracted
-- (xborder db retract) keeps its row with status 'retracted' while the same bytes may load again.
-- Same columns, data and CHECK; the table is rebuilt because a primary key cannot be altered.
-- Views reading it (audit.dq_pending_batches) bind by name and keep working.
CREATE TABLE audit.load_ledger_v075 (
    sha256           VARCHAR NOT NULL,
    path             VARCHAR NOT NULL,     -- relative to the landing root
    feed             VARCHAR NOT NULL,     -- fx | suppliers | catalogues | sales
    source           VARCHAR,              -- supplier_id or channel (NULL for fx)
    contract         VARCHAR,              -- contract file name used
    batch_id         VARCHAR NOT NULL,     -- run that processed the file
    status           VARCHAR NOT NULL,     -- loaded | rejected | duplicate | retracted
    rows_read        BIGINT NOT NULL,
    rows_loaded      BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_duplicate   BIGINT NOT NULL,
    message          VARCHAR,              -- why a file was rejected, of which file it is a copy, why retracted
    bytes            BIGINT,
    loaded_at        TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    PRIMARY KEY (sha256, path),
    CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate)
);
INSERT INTO audit.load_ledger_v075 (sha256, path, feed, source, contract, batch_id, status, rows_read, rows_loaded,
                                    rows_quarantined, rows_duplicate, message, bytes, loaded_at)
SELECT sha256, path, feed, source, contract, batch_id, status, rows_read, rows_loaded,
       rows_quarantined, rows_duplicate, message, bytes, loaded_at
FROM audit.load_ledger;
DROP TABLE audit.load_ledger;
ALTER TABLE audit.load_ledger_v075 RENAME TO load_ledger;
COMMENT ON TABLE audit.load_ledger IS 'Every landed file, one row per (content checksum, path): status loaded | rejected | duplicate (the same bytes as a file already in the ledger) | retracted; counts that balance (read = loaded + quarantined + duplicate).';
COMMENT ON COLUMN audit.load_ledger.status IS 'loaded | rejected (nothing loaded) | duplicate (byte-identical copy of another ledger file: all rows duplicate) | retracted (its rows were removed: audit.retractions).';
