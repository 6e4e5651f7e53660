-- Rows a contract excludes by rule (its `exclude` section: postage, fees, test orders...) are
-- neither loaded nor errors: audit.load_ledger counts them in rows_excluded (read = loaded +
-- quarantined + duplicate + excluded), audit.load_ledger_amounts in amount_excluded, and
-- audit.load_exclusions lists them per file and rule. The two tables are rebuilt because a
-- CHECK constraint cannot be altered; columns, keys and data are kept.
CREATE TABLE audit.load_ledger_v080 (
    sha256           VARCHAR NOT NULL,
    path             VARCHAR NOT NULL,     -- relative to the landing root
    feed             VARCHAR NOT NULL,     -- fx | suppliers | catalogues | sales
    source           VARCHAR,              -- supplier_id or channel (NULL for fx)
    contract         VARCHAR,              -- contract file name used
    batch_id         VARCHAR NOT NULL,     -- run that processed the file
    status           VARCHAR NOT NULL,     -- loaded | rejected | held | duplicate | retracted
    rows_read        BIGINT NOT NULL,
    rows_loaded      BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_duplicate   BIGINT NOT NULL,
    rows_excluded    BIGINT NOT NULL DEFAULT 0,
    message          VARCHAR,
    bytes            BIGINT,
    loaded_at        TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    PRIMARY KEY (sha256, path),
    CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate + rows_excluded)
);
INSERT INTO audit.load_ledger_v080 (sha256, path, feed, source, contract, batch_id, status, rows_read, rows_loaded,
                                    rows_quarantined, rows_duplicate, rows_excluded, message, bytes, loaded_at)
SELECT sha256, path, feed, source, contract, batch_id, status, rows_read, rows_loaded,
       rows_quarantined, rows_duplicate, 0, message, bytes, loaded_at
FROM audit.load_ledger;
DROP TABLE audit.load_ledger;
ALTER TABLE audit.load_ledger_v080 RENAME TO load_ledger;
COMMENT ON TABLE audit.load_ledger IS 'Every landed file, one row per (content checksum, path), with counts that balance: read = loaded + quarantined + duplicate + excluded.';
COMMENT ON COLUMN audit.load_ledger.sha256 IS 'sha256 of the file''s bytes; for catalogue snapshots sha256 of "<path>\0<bytes'' sha256>" (the date is in the path).';
COMMENT ON COLUMN audit.load_ledger.status IS 'loaded | rejected (nothing loaded) | held (a catalogue that would delist an implausible share, until xborder quality --accept) | duplicate (byte-identical copy of another ledger file: all rows duplicate) | retracted (its rows were removed: audit.retractions).';
COMMENT ON COLUMN audit.load_ledger.rows_excluded IS 'Rows the contract''s exclude rules left out (non-merchandise lines, test orders): not errors; per rule in audit.load_exclusions.';

CREATE TABLE audit.load_ledger_amounts_v080 (
    sha256             VARCHAR NOT NULL,
    currency           VARCHAR NOT NULL,
    amount_read        DECIMAL(38, 4) NOT NULL,
    amount_loaded      DECIMAL(38, 4) NOT NULL,
    amount_quarantined DECIMAL(38, 4) NOT NULL,
    amount_duplicate   DECIMAL(38, 4) NOT NULL,
    amount_excluded    DECIMAL(38, 4) NOT NULL DEFAULT 0,
    PRIMARY KEY (sha256, currency),
    CHECK (amount_read = amount_loaded + amount_quarantined + amount_duplicate + amount_excluded)
);
INSERT INTO audit.load_ledger_amounts_v080 BY NAME SELECT *, 0 AS amount_excluded FROM audit.load_ledger_amounts;
DROP TABLE audit.load_ledger_amounts;
ALTER TABLE audit.load_ledger_amounts_v080 RENAME TO load_ledger_amounts;
COMMENT ON TABLE audit.load_ledger_amounts IS 'Money per sales file and currency (quantity x unit price - discount as landed), split like the rows: read = loaded + quarantined + duplicate + excluded.';

CREATE TABLE audit.load_exclusions (
    sha256   VARCHAR NOT NULL,
    path     VARCHAR NOT NULL,
    feed     VARCHAR NOT NULL,
    source   VARCHAR,
    rule     VARCHAR NOT NULL,     -- the contract's exclude rule name
    rows     BIGINT NOT NULL,
    first_line BIGINT,             -- an example line of the file
    batch_id VARCHAR NOT NULL,
    PRIMARY KEY (sha256, path, rule)
);
COMMENT ON TABLE audit.load_exclusions IS 'Rows excluded by a contract rule, per file and rule (sums to audit.load_ledger.rows_excluded); never errors.';
