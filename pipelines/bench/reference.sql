-- The benchmark's month-by-month reference: the essential work of the pipeline as a plain DuckDB
-- SQL script, written apart from the pipeline's code (its own readers, time zones, dedupe, FX as-of
-- rule, product origin and half-even rounding in integers), run in batches with state in its own
-- database file, as a streaming job would. It checks the rules; single_pass.sql, the same rules in
-- one statement, is the speed limit.
--
-- The script is cut into steps ("-- @step <name>"); pipelines/bench/reference.py runs them, with
-- the reading parts of readers.sql (one per catalogue layout, ECB file and channel; those with
-- files) inserted into catalogue_raw, rate_raw and batch_events:
--   full load:  session, setup, catalogues and rates, dims, then per month: batch, events, value;
--               progress
--   increment:  session, the day's catalogues and rates (if any landed: dims again), batch,
--               the day's events, value, progress
-- {@name} includes the part `name` of readers.sql.
--
-- Variables (SET VARIABLE by the runner):
--   files      the landed files a reading step reads (VARCHAR[]): the runner lists them per part
--   lookback   FX look-back in days (7)
--   origins, destinations (VARCHAR[]; empty = every country), origin_exclude, destination_exclude
--   (VARCHAR[]), window_start, window_end (DATE): the target being tracked
--
-- Rules (docs/design.md §4), as the reference reads them:
--   * an event is counted once per (channel, event_id): re-deliveries are dropped;
--   * an order line's value is quantity x unit price - discount, in its currency, converted at the
--     ECB rate of the order's UTC date or the latest one up to `lookback` days before (EUR: 1);
--     EUR cents = amount / rate rounded half to even, computed exactly in integers;
--   * the product is the supplier's SKU in that supplier's latest catalogue snapshot on or before
--     the order's UTC date (no such row: the order does not count, nor do its cancels/returns);
--   * a cancel removes the line's cents on the cancel's date; a return removes
--     round_half_even(amount x returned / ordered / rate) on the return's date;
--   * a cancel or return whose order line is not (yet) valued waits in ref_pending.

-- @step session
SET TimeZone = 'UTC';  -- a TIMESTAMPTZ cast to DATE is then the UTC date
SET asof_loop_join_threshold = 0;  -- no nested-loop as-of join for a batch estimated small: it scans every rate

-- @step setup
CREATE TABLE catalogue_raw (supplier_id VARCHAR, snapshot_date DATE, sku VARCHAR, origin VARCHAR);
CREATE TABLE rate_raw (currency VARCHAR, rate_date DATE, rate VARCHAR);
CREATE TABLE ref_event (
    channel VARCHAR, event_id VARCHAR, kind VARCHAR, event_date DATE, order_id VARCHAR, line_id VARCHAR,
    supplier_id VARCHAR, sku VARCHAR, qty BIGINT, amount4 HUGEINT, currency VARCHAR, ship_to VARCHAR
);
CREATE TABLE ref_line (
    channel VARCHAR, order_id VARCHAR, line_id VARCHAR, qty BIGINT, amount4 HUGEINT, rate6 HUGEINT,
    cents HUGEINT, origin VARCHAR, ship_to VARCHAR
);
CREATE TABLE ref_move (channel VARCHAR, event_id VARCHAR, event_date DATE, origin VARCHAR, ship_to VARCHAR,
                       cents HUGEINT);
CREATE TABLE ref_pending AS SELECT * FROM ref_event WITH NO DATA;
CREATE TABLE ref_file (path VARCHAR);  -- every file read, so that none is read twice

-- Exact integer division n / d (d > 0) rounded half to even.
CREATE MACRO ref_div_even_pos(n, d) AS (
    n // d + CASE WHEN 2 * (n % d) > d OR (2 * (n % d) = d AND (n // d) % 2 = 1) THEN 1 ELSE 0 END
);
CREATE MACRO ref_div_even(n, d) AS (
    CASE WHEN n >= 0 THEN ref_div_even_pos(n, d) ELSE -ref_div_even_pos(-n, d) END
);

-- @step dims
CREATE OR REPLACE TABLE ref_catalogue AS {@catalogue_dim};
CREATE OR REPLACE TABLE ref_snapshot_day AS SELECT DISTINCT supplier_id, snapshot_date FROM ref_catalogue;
CREATE OR REPLACE TABLE ref_rate AS {@rate_dim};

-- @step batch
CREATE OR REPLACE TEMP TABLE batch_events AS SELECT * FROM ref_event WITH NO DATA;

-- @step value
-- The batch: every channel's events, one per (channel, event_id), minus those seen before.
CREATE OR REPLACE TEMP TABLE batch_all AS SELECT DISTINCT ON (channel, event_id) * FROM batch_events;
DROP TABLE batch_events;
CREATE OR REPLACE TEMP TABLE batch_new AS
SELECT b.* FROM batch_all b
ANTI JOIN (SELECT channel, event_id FROM ref_event WHERE event_id IN (SELECT event_id FROM batch_all)) s
USING (channel, event_id);
INSERT INTO ref_event SELECT * FROM batch_new;

-- Orders: the supplier's catalogue snapshot on or before the UTC order date, the SKU's origin in
-- it, the ECB rate as of that date, the line's EUR cents.
CREATE OR REPLACE TEMP TABLE new_lines AS
WITH o AS (SELECT * FROM batch_new WHERE kind = 'order'),
snap AS (
    SELECT o.*, s.snapshot_date
    FROM o ASOF JOIN ref_snapshot_day s ON s.supplier_id = o.supplier_id AND o.event_date >= s.snapshot_date
),
product AS (
    SELECT snap.*, c.origin FROM snap JOIN ref_catalogue c USING (supplier_id, snapshot_date, sku)
),
rated AS (
    SELECT p.*, CASE WHEN p.currency = 'EUR' THEN 1000000::HUGEINT
                     WHEN p.event_date - r.rate_date <= getvariable('lookback') THEN r.rate6 END AS rate6
    FROM product p ASOF LEFT JOIN ref_rate r ON r.currency = p.currency AND p.event_date >= r.rate_date
)
SELECT channel, event_id, event_date, order_id, line_id, qty, amount4, rate6,
       ref_div_even(amount4 * 10000, rate6) AS cents, origin, ship_to
FROM rated WHERE rate6 IS NOT NULL;
INSERT INTO ref_line SELECT channel, order_id, line_id, qty, amount4, rate6, cents, origin, ship_to FROM new_lines;
INSERT INTO ref_move SELECT channel, event_id, event_date, origin, ship_to, cents FROM new_lines;

-- Cancels and returns (new ones and those still waiting) against the valued order lines.
CREATE OR REPLACE TEMP TABLE refs AS
SELECT * FROM batch_new WHERE kind IN ('cancel', 'return')
UNION ALL
SELECT * FROM ref_pending;
CREATE OR REPLACE TEMP TABLE refs_matched AS
SELECT r.channel, r.event_id, r.event_date, l.origin, l.ship_to,
       CASE WHEN r.kind = 'cancel' THEN -l.cents
            ELSE -ref_div_even(l.amount4 * 10000 * r.qty, l.rate6 * l.qty) END AS cents
FROM refs r
JOIN (SELECT * FROM ref_line WHERE order_id IN (SELECT order_id FROM refs)) l USING (channel, order_id, line_id);
INSERT INTO ref_move SELECT * FROM refs_matched;
DELETE FROM ref_pending;
INSERT INTO ref_pending SELECT * FROM refs ANTI JOIN refs_matched USING (channel, event_id);

-- @step progress
-- The target's daily net EUR and cumulative progress since the window start.
CREATE OR REPLACE TABLE ref_progress AS
WITH daily AS (
    SELECT event_date, sum(cents) AS cents
    FROM ref_move
    WHERE (len(getvariable('destinations')) = 0 OR list_contains(getvariable('destinations'), ship_to))
      AND NOT list_contains(getvariable('destination_exclude'), ship_to)
      AND (len(getvariable('origins')) = 0 OR list_contains(getvariable('origins'), origin))
      AND NOT list_contains(getvariable('origin_exclude'), origin)
      AND event_date BETWEEN getvariable('window_start') AND getvariable('window_end')
    GROUP BY event_date
)
SELECT event_date, cents AS net_cents,
       sum(cents) OVER (ORDER BY event_date ROWS UNBOUNDED PRECEDING) AS cumulative_cents
FROM daily;
