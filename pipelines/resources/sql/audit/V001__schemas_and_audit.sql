-- Layers of the warehouse and the audit tables every load writes to.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS audit;

-- Money helpers (DESIGN §4). DuckDB's DECIMAL / DECIMAL is a DOUBLE, so EUR conversion is done
-- in integers: both operands scaled to 10^6 units, quotient rounded half to even, exactly.
CREATE OR REPLACE MACRO core.div_half_even(n, d) AS (
    CASE
        WHEN (abs(n) % abs(d)) * 2 > abs(d)
          OR ((abs(n) % abs(d)) * 2 = abs(d) AND (abs(n) // abs(d)) % 2 = 1)
        THEN abs(n) // abs(d) + 1
        ELSE abs(n) // abs(d)
    END * sign(n) * sign(d)
);
-- amount (line currency, scale <= 6) / rate (units per EUR, scale <= 6) -> EUR at the cent,
-- half to even. Returns DECIMAL(38,2).
CREATE OR REPLACE MACRO core.to_eur(amount, rate) AS (
    core.div_half_even(
        round(amount::DECIMAL(38, 6) * 1000000)::HUGEINT * 100,
        round(rate::DECIMAL(38, 6) * 1000000)::HUGEINT
    )::DECIMAL(38, 0) * 0.01::DECIMAL(3, 2)
);

CREATE TABLE audit.runs (
    run_id      VARCHAR PRIMARY KEY,
    command     VARCHAR NOT NULL,          -- e.g. 'run', 'build', 'quality'
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,          -- running | success | failed
    detail      JSON
);
COMMENT ON TABLE audit.runs IS 'One row per pipeline run (CLI or Airflow task).';

-- One row per landed file ever seen, keyed by content checksum: a file whose sha256 is here
-- is never processed again. Rows balance: read = loaded + quarantined + duplicate.
CREATE TABLE audit.load_ledger (
    sha256           VARCHAR PRIMARY KEY,
    path             VARCHAR NOT NULL,     -- relative to the landing root
    feed             VARCHAR NOT NULL,     -- fx | suppliers | catalogues | sales
    source           VARCHAR,              -- supplier_id or channel (NULL for fx)
    contract         VARCHAR,              -- contract file name used
    batch_id         VARCHAR NOT NULL,     -- run that processed the file
    status           VARCHAR NOT NULL,     -- loaded | rejected
    rows_read        BIGINT NOT NULL,
    rows_loaded      BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_duplicate   BIGINT NOT NULL,
    message          VARCHAR,              -- why a file was rejected
    bytes            BIGINT,
    loaded_at        TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate)
);
COMMENT ON TABLE audit.load_ledger IS 'Every landed file: checksum, counts that balance (read = loaded + quarantined + duplicate).';

-- Sums of money per file and currency, split like the rows (sales and catalogues).
CREATE TABLE audit.load_ledger_amounts (
    sha256             VARCHAR NOT NULL,
    currency           VARCHAR NOT NULL,
    amount_read        DECIMAL(38, 4) NOT NULL,
    amount_loaded      DECIMAL(38, 4) NOT NULL,
    amount_quarantined DECIMAL(38, 4) NOT NULL,
    amount_duplicate   DECIMAL(38, 4) NOT NULL,
    PRIMARY KEY (sha256, currency),
    CHECK (amount_read = amount_loaded + amount_quarantined + amount_duplicate)
);

CREATE SEQUENCE audit.quarantine_seq;
-- Rejected rows (and whole rejected files, line_number = the offending line) with a reason code.
CREATE TABLE audit.quarantine (
    quarantine_id     BIGINT PRIMARY KEY DEFAULT nextval('audit.quarantine_seq'),
    sha256            VARCHAR,             -- file checksum (ledger key)
    path              VARCHAR,
    feed              VARCHAR NOT NULL,
    source            VARCHAR,
    line_number       BIGINT,              -- 1-based physical line (header = 1) or record number
    column_name       VARCHAR,
    reason            VARCHAR NOT NULL,    -- reason code, e.g. gtin_check_digit, fx_rate_missing
    detail            VARCHAR,
    raw_row           VARCHAR,             -- the row as landed (JSON text)
    batch_id          VARCHAR NOT NULL,
    quarantined_at    TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    resolved_at       TIMESTAMP,           -- late data: loaded by a later run
    resolved_batch_id VARCHAR
);
COMMENT ON TABLE audit.quarantine IS 'Rows that broke a rule, with file, line, column and reason code.';

-- Data-quality results, one row per expectation per validation (Great Expectations).
CREATE TABLE audit.dq_results (
    run_id           VARCHAR NOT NULL,
    suite            VARCHAR NOT NULL,
    expectation      VARCHAR NOT NULL,
    table_name       VARCHAR,
    column_name      VARCHAR,
    severity         VARCHAR NOT NULL,     -- critical | warning
    success          BOOLEAN NOT NULL,
    observed_value   VARCHAR,
    unexpected_count BIGINT,
    element_count    BIGINT,
    validated_at     TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);
COMMENT ON TABLE audit.dq_results IS 'Great Expectations results, trendable with SQL.';
