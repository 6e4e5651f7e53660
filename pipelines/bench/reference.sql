-- The benchmark's reference: the essential work of the pipeline as one plain DuckDB SQL script,
-- written apart from the pipeline's code (its own readers, time zones, dedupe, FX as-of rule,
-- product origin and half-even rounding in integers). It runs in one process on its own
-- database file, on the same landed files as the pipeline.
--
-- The script is cut into steps ("-- @step <name>"); pipelines/bench/reference.py runs them:
--   full load:  session, setup, catalogue_* and rates_* (those with files), dims, batch, events_*
--               (channels with files), value, progress
--   increment:  session, batch, events_* (channels with files in the new day), value, progress
-- A channel or layout step runs only when it has files; that is the only reason for the cut.
--
-- Variables (SET VARIABLE by the runner):
--   files      the landed files a reading step reads (VARCHAR[]): the runner lists them per step
--              (catalogues by layout, the ECB files, each channel's sales files: all days for the
--              full load, one day's folder for the increment); XLSX and Windows-1252 catalogues
--              come converted to UTF-8 CSV (DuckDB's core reads neither; see reference.py, xlsx.py)
--   lookback   FX look-back in days (7)
--   origins, destinations (VARCHAR[]; empty = every country), origin_exclude, destination_exclude
--   (VARCHAR[]), window_start, window_end (DATE): the target being tracked
--
-- Rules (DESIGN §4), as the reference reads them:
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

-- @step setup
CREATE TABLE ref_catalogue_raw (supplier_id VARCHAR, snapshot_date DATE, sku VARCHAR, origin VARCHAR);
CREATE TABLE ref_rate_raw (currency VARCHAR, rate_date DATE, rate VARCHAR);
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

-- Exact integer division n / d (d > 0) rounded half to even.
CREATE MACRO ref_div_even_pos(n, d) AS (
    n // d + CASE WHEN 2 * (n % d) > d OR (2 * (n % d) = d AND (n // d) % 2 = 1) THEN 1 ELSE 0 END
);
CREATE MACRO ref_div_even(n, d) AS (
    CASE WHEN n >= 0 THEN ref_div_even_pos(n, d) ELSE -ref_div_even_pos(-n, d) END
);
CREATE MACRO ref_snapshot(path) AS (
    regexp_extract(path, '/catalogues/([^/]+)/(\d{4}-\d{2}-\d{2})\.[A-Za-z]+$', ['supplier', 'day'])
);

-- @step catalogue_gb_csv
INSERT INTO ref_catalogue_raw
SELECT ref_snapshot(filename).supplier, ref_snapshot(filename).day::DATE, sku, origin_country
FROM read_csv(getvariable('files'), delim = ',', header = true,
              all_varchar = true, filename = true);

-- @step catalogue_de_csv
-- Windows-1252, converted to UTF-8 by the runner (DuckDB's core decodes UTF-8 and latin-1 only).
INSERT INTO ref_catalogue_raw
SELECT ref_snapshot(filename).supplier, ref_snapshot(filename).day::DATE, Artikelnummer, Ursprungsland
FROM read_csv(getvariable('files'), delim = ';', header = true, all_varchar = true, filename = true);

-- @step catalogue_es_csv
INSERT INTO ref_catalogue_raw
SELECT ref_snapshot(filename).supplier, ref_snapshot(filename).day::DATE, Referencia, "País de origen"
FROM read_csv(getvariable('files'), delim = ';', header = true,
              all_varchar = true, filename = true);

-- @step catalogue_fr_csv
INSERT INTO ref_catalogue_raw
SELECT ref_snapshot(filename).supplier, ref_snapshot(filename).day::DATE, "Référence", "Pays d'origine"
FROM read_csv(getvariable('files'), delim = ';', header = true, encoding = 'latin-1', all_varchar = true, filename = true);

-- @step catalogue_parquet
INSERT INTO ref_catalogue_raw
SELECT ref_snapshot(filename).supplier, ref_snapshot(filename).day::DATE, SKU, CountryOfOrigin
FROM read_parquet(getvariable('files'), filename = true);

-- @step catalogue_jsonl
INSERT INTO ref_catalogue_raw
SELECT ref_snapshot(filename).supplier, ref_snapshot(filename).day::DATE, artikelcode, land_van_oorsprong
FROM read_json(getvariable('files'), format = 'newline_delimited',
               columns = {artikelcode: 'VARCHAR', land_van_oorsprong: 'VARCHAR'}, filename = true);

-- @step catalogue_json
INSERT INTO ref_catalogue_raw
SELECT ref_snapshot(filename).supplier, ref_snapshot(filename).day::DATE, item.sku, item.origin
FROM (SELECT filename, unnest(items) AS item
      FROM read_json(getvariable('files'), format = 'auto', filename = true));

-- @step catalogue_xlsx
INSERT INTO ref_catalogue_raw
SELECT ref_snapshot(filename).supplier, ref_snapshot(filename).day::DATE, "Codice articolo", "Paese di origine"
FROM read_csv(getvariable('files'), delim = ',', header = true,
              all_varchar = true, filename = true);

-- @step rates_history
-- The ECB history file: Date as YYYY-MM-DD, one column per currency, N/A when not quoted, a trailing comma.
INSERT INTO ref_rate_raw
SELECT trim(currency), trim(Date)::DATE, trim(rate)
FROM (UNPIVOT (SELECT * FROM read_csv(getvariable('files'), header = true, all_varchar = true))
      ON COLUMNS(* EXCLUDE (Date)) INTO NAME currency VALUE rate);

-- @step rates_daily
-- The ECB daily file: ", " separators and a date like "30 June 2021".
INSERT INTO ref_rate_raw
SELECT trim(currency), strptime(trim(Date), '%d %B %Y')::DATE, trim(rate)
FROM (UNPIVOT (SELECT * FROM read_csv(getvariable('files'), header = true, all_varchar = true, union_by_name = true))
      ON COLUMNS(* EXCLUDE (Date)) INTO NAME currency VALUE rate);

-- @step dims
-- Products: one origin per (supplier, SKU, snapshot); a SKU listed twice with two origins counts as unknown.
CREATE TABLE ref_catalogue AS
SELECT supplier_id, snapshot_date, trim(sku) AS sku, any_value(upper(trim(origin))) AS origin
FROM ref_catalogue_raw
WHERE nullif(trim(sku), '') IS NOT NULL
GROUP BY ALL
HAVING count(DISTINCT upper(trim(origin))) = 1;
CREATE TABLE ref_snapshot_day AS SELECT DISTINCT supplier_id, snapshot_date FROM ref_catalogue;

-- ECB rates (units per EUR), long: currency, day, rate x 10^6. Quoted twice (history and daily
-- file) with two values: the smaller is kept (the ECB never revises; the generator never does).
CREATE TABLE ref_rate AS
SELECT currency, rate_date, (min(rate::DECIMAL(18, 6)) * 1000000)::HUGEINT AS rate6
FROM ref_rate_raw
WHERE regexp_full_match(currency, '[A-Z]{3}') AND regexp_full_match(rate, '\d+(\.\d{1,6})?')
GROUP BY ALL;

-- @step batch
CREATE OR REPLACE TEMP TABLE batch_events AS SELECT * FROM ref_event WITH NO DATA;

-- @step events_tmall_global
-- JSON lines; explicit event type; timestamps carry their +08:00 offset.
INSERT INTO batch_events
SELECT 'tmall_global' AS channel, trim(event_id) AS event_id,
       CASE trim(type) WHEN 'PAID' THEN 'order' WHEN 'CANCELLED' THEN 'cancel' WHEN 'REFUNDED' THEN 'return' END AS kind,
       created_at::TIMESTAMPTZ::DATE AS event_date,
       trim(order_no) AS order_id, line_no::VARCHAR AS line_id, trim(supplier) AS supplier_id, trim(sku) AS sku,
       qty AS qty,
       ((qty * price::DECIMAL(18, 4) - coalesce(discount::DECIMAL(18, 4), 0)) * 10000)::HUGEINT AS amount4,
       upper(trim(currency)) AS currency, upper(trim(country)) AS ship_to
FROM read_json(getvariable('files'),
               format = 'newline_delimited',
               columns = {event_id: 'VARCHAR', type: 'VARCHAR', created_at: 'VARCHAR', order_no: 'VARCHAR',
                          line_no: 'BIGINT', supplier: 'VARCHAR', sku: 'VARCHAR', qty: 'BIGINT',
                          price: 'VARCHAR', currency: 'VARCHAR', discount: 'VARCHAR', country: 'VARCHAR'});

-- @step events_own_webshop
-- CSV; a cancellation is a negative quantity; naive timestamps in Europe/London.
INSERT INTO batch_events
SELECT 'own_webshop' AS channel, trim(event_id) AS event_id,
       CASE WHEN quantity::BIGINT < 0 THEN 'cancel' ELSE 'order' END AS kind,
       timezone('Europe/London', placed_at::TIMESTAMP)::DATE AS event_date,
       trim(order_ref) AS order_id, trim(line) AS line_id, trim(supplier_id) AS supplier_id, trim(sku) AS sku,
       abs(quantity::BIGINT) AS qty,
       ((abs(quantity::BIGINT) * unit_price::DECIMAL(18, 4) - coalesce(discount::DECIMAL(18, 4), 0)) * 10000)::HUGEINT
           AS amount4,
       upper(trim(currency)) AS currency, upper(trim(ship_country)) AS ship_to
FROM read_csv(getvariable('files'), header = true,
              delim = ',', all_varchar = true);

-- @step events_jd_worldwide
-- Parquet; the event type is the event id's prefix; timestamps are UTC instants.
INSERT INTO batch_events
SELECT 'jd_worldwide' AS channel, event_id,
       CASE left(event_id, 2) WHEN 'O-' THEN 'order' WHEN 'C-' THEN 'cancel' WHEN 'R-' THEN 'return' END AS kind,
       event_time::TIMESTAMPTZ::DATE AS event_date,
       order_id, line_id, supplier_code AS supplier_id, sku_code AS sku, quantity::BIGINT AS qty,
       ((quantity * unit_price::DECIMAL(18, 4) - coalesce(discount::DECIMAL(18, 4), 0)) * 10000)::HUGEINT AS amount4,
       upper(currency) AS currency, upper(ship_country) AS ship_to
FROM read_parquet(getvariable('files'));

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
