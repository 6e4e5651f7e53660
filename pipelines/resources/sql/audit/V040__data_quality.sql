-- Data quality (Great Expectations, pipelines/quality): gate history, the load batches a feed
-- gate has still to validate, the latest result of every rule, and the reference data and SQL
-- helpers the suites' rules push down to DuckDB.

-- Every result row says which gate stage and which named rule (great_expectations/expectations/
-- *.json, meta.rule) it belongs to, so a rule can be trended even when its thresholds change.
ALTER TABLE audit.dq_results ADD COLUMN stage VARCHAR;
ALTER TABLE audit.dq_results ADD COLUMN rule VARCHAR;
ALTER TABLE audit.dq_results ADD COLUMN description VARCHAR;
COMMENT ON COLUMN audit.dq_results.rule IS 'Stable rule name within the suite (the expectation''s meta.rule).';
COMMENT ON COLUMN audit.dq_results.observed_value IS 'What GX observed: a value, or "n unexpected of m rows", or "error: ..." when the rule could not run.';

-- One row per gate run (stage) with the load batches it validated.
CREATE TABLE audit.dq_gate_runs (
    run_id          VARCHAR NOT NULL,
    stage           VARCHAR NOT NULL,      -- fx | catalogues | sales | core | marts
    started_at      TIMESTAMP NOT NULL,
    seconds         DOUBLE NOT NULL,
    passed          BOOLEAN NOT NULL,      -- no critical expectation failed
    expectations    INTEGER NOT NULL,
    failed_critical INTEGER NOT NULL,
    failed_warning  INTEGER NOT NULL,
    batches         VARCHAR[] NOT NULL,    -- load batch ids validated (feed stages)
    message         VARCHAR,               -- the failure message, when it failed
    accepted_at     TIMESTAMP,             -- a reviewed failure let through: xborder quality --accept
    accepted_note   VARCHAR,
    PRIMARY KEY (run_id, stage)
);
COMMENT ON TABLE audit.dq_gate_runs IS 'Quality gate runs: stage, pass/fail, counts, batches validated, acceptance of reviewed failures.';

-- Load batches of a feed that no passed (or accepted) gate has validated yet. The feed suites
-- validate exactly these rows, so their cost follows the new data; a failed batch stays here
-- (and keeps failing the gate) until its data is fixed or the failure is accepted.
CREATE VIEW audit.dq_pending_batches AS
WITH done AS (
    SELECT stage AS feed, unnest(batches) AS batch_id
    FROM audit.dq_gate_runs
    WHERE passed OR accepted_at IS NOT NULL
)
SELECT DISTINCT l.feed, l.batch_id
FROM audit.load_ledger l
ANTI JOIN done d ON d.feed = l.feed AND d.batch_id = l.batch_id;
COMMENT ON VIEW audit.dq_pending_batches IS 'Load batches per feed not yet validated by a passed or accepted quality gate.';

-- The latest result of every rule: the current state of data quality.
CREATE VIEW audit.dq_latest AS
SELECT *
FROM audit.dq_results
QUALIFY row_number() OVER (
    PARTITION BY suite, coalesce(rule, expectation || '/' || coalesce(column_name, ''))
    ORDER BY validated_at DESC, run_id DESC
) = 1;
COMMENT ON VIEW audit.dq_latest IS 'Latest audit.dq_results row per suite and rule.';

-- TARGET2 closing days, on which the ECB publishes no reference rates: New Year's Day and
-- Christmas Day always; Good Friday, Easter Monday, 1 May and 26 December since 2000;
-- 31 December in 1999-2001. Easter Sunday by the anonymous Gregorian algorithm.
CREATE TABLE audit.target_holiday (
    holiday DATE PRIMARY KEY,
    name    VARCHAR NOT NULL
);
COMMENT ON TABLE audit.target_holiday IS 'TARGET2 closing days 1999-2099 (no ECB reference rates).';
INSERT INTO audit.target_holiday
WITH y AS (SELECT unnest(range(1999, 2100)) AS y),
s AS (SELECT y, y % 19 AS a, y // 100 AS b, y % 100 AS c FROM y),
t AS (SELECT *, b // 4 AS d, b % 4 AS e, (b + 8) // 25 AS f FROM s),
u AS (SELECT *, (19 * a + b - d - (b - f + 1) // 3 + 15) % 30 AS h, c // 4 AS i, c % 4 AS k FROM t),
v AS (SELECT *, (32 + 2 * e + 2 * i - h - k) % 7 AS l FROM u),
w AS (SELECT *, (a + 11 * h + 22 * l) // 451 AS m FROM v),
easter AS (
    SELECT y, make_date(y, ((h + l - 7 * m + 114) // 31)::INTEGER, ((h + l - 7 * m + 114) % 31 + 1)::INTEGER) AS sunday
    FROM w
)
SELECT make_date(y, 1, 1), 'New Year''s Day' FROM easter
UNION ALL SELECT make_date(y, 12, 25), 'Christmas Day' FROM easter
UNION ALL SELECT sunday - 2, 'Good Friday' FROM easter WHERE y >= 2000
UNION ALL SELECT sunday + 1, 'Easter Monday' FROM easter WHERE y >= 2000
UNION ALL SELECT make_date(y, 5, 1), 'Labour Day' FROM easter WHERE y >= 2000
UNION ALL SELECT make_date(y, 12, 26), 'Christmas Holiday' FROM easter WHERE y >= 2000
UNION ALL SELECT make_date(y, 12, 31), 'TARGET closing day' FROM easter WHERE y BETWEEN 1999 AND 2001;

-- A day on which the ECB publishes reference rates: a weekday that is not a TARGET holiday.
CREATE MACRO audit.is_target_business_day(d) AS (
    dayofweek(d) NOT IN (0, 6) AND d NOT IN (SELECT holiday FROM audit.target_holiday)
);

-- GS1 check digit of a GTIN-8/12/13/14 given as text (the same rule as
-- pipelines.validation.gtin_valid): digits left-padded to 14, weights 3,1,3,... on the first
-- 13, check digit = (10 - sum mod 10) mod 10. NULL stays NULL.
CREATE MACRO audit.gtin_valid(code) AS (
    regexp_full_match(code, '\d{8}|\d{12,14}')
    AND (10 - list_sum(list_transform(range(1, 14),
            lambda i: (ascii(substr(lpad(code, 14, '0'), i::INTEGER, 1)) - 48) * CASE WHEN i % 2 = 1 THEN 3 ELSE 1 END)) % 10) % 10
        = ascii(substr(lpad(code, 14, '0'), 14, 1)) - 48
);
