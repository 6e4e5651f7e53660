-- The layouts as landed, read by both references (reference.sql month by month, single_pass.sql in
-- one statement): one SELECT per catalogue layout, ECB file and sales channel, and the two
-- dimension rules. Written apart from the pipeline's code: its own readers, time zones and types.
--
-- A reading part names its files as {files}: the month-by-month runner puts getvariable('files')
-- (a list it made), the single pass a bound parameter (globs under the landing root). A part runs
-- only when it has files (DuckDB refuses an empty file list); that is the only reason for the cut.
-- Sales timestamps are cast to DATE in the session's time zone, which both set to UTC. Sales
-- columns are read typed where the layout fixes them (the CSV's columns and their order are its
-- contract's); money is an exact integer x 10^4 (amount4) and rates x 10^6 (rate6), BIGINT.
--
-- Catalogue parts give (filename, sku, origin); catalogue_snapshot turns them into (supplier_id,
-- snapshot_date, sku, origin) from the path catalogues/<supplier>/<YYYY-MM-DD>.<ext>.
-- XLSX and Windows-1252 catalogues come converted to UTF-8 CSV (DuckDB's core reads neither).

-- @step catalogue_gb_csv
SELECT filename, sku, origin_country AS origin
FROM read_csv({files}, delim = ',', header = true, all_varchar = true, filename = true)

-- @step catalogue_de_csv
SELECT filename, Artikelnummer AS sku, Ursprungsland AS origin
FROM read_csv({files}, delim = ';', header = true, all_varchar = true, filename = true)

-- @step catalogue_es_csv
SELECT filename, Referencia AS sku, "País de origen" AS origin
FROM read_csv({files}, delim = ';', header = true, all_varchar = true, filename = true)

-- @step catalogue_fr_csv
SELECT filename, "Référence" AS sku, "Pays d'origine" AS origin
FROM read_csv({files}, delim = ';', header = true, encoding = 'latin-1', all_varchar = true, filename = true)

-- @step catalogue_parquet
SELECT filename, SKU AS sku, CountryOfOrigin AS origin
FROM read_parquet({files}, filename = true)

-- @step catalogue_jsonl
SELECT filename, artikelcode AS sku, land_van_oorsprong AS origin
FROM read_json({files}, format = 'newline_delimited',
               columns = {artikelcode: 'VARCHAR', land_van_oorsprong: 'VARCHAR'}, filename = true)

-- @step catalogue_json
SELECT filename, item.sku AS sku, item.origin AS origin
FROM (SELECT filename, unnest(items) AS item FROM read_json({files}, format = 'auto', filename = true))

-- @step catalogue_xlsx
SELECT filename, "Codice articolo" AS sku, "Paese di origine" AS origin
FROM read_csv({files}, delim = ',', header = true, all_varchar = true, filename = true)

-- @step catalogue_snapshot
SELECT snap.supplier AS supplier_id, snap.day::DATE AS snapshot_date, sku, origin
FROM (SELECT regexp_extract(filename, '/catalogues/([^/]+)/(\d{4}-\d{2}-\d{2})\.[A-Za-z]+$', ['supplier', 'day']) AS snap,
             sku, origin
      FROM ({rows}))

-- @step rates_history
-- The ECB history file: Date as YYYY-MM-DD, one column per currency, N/A when not quoted, a trailing comma.
SELECT trim(currency) AS currency, trim(Date)::DATE AS rate_date, trim(rate) AS rate
FROM (UNPIVOT (SELECT * FROM read_csv({files}, header = true, all_varchar = true))
      ON COLUMNS(* EXCLUDE (Date)) INTO NAME currency VALUE rate)

-- @step rates_daily
-- The ECB daily file: ", " separators and a date like "30 June 2021".
SELECT trim(currency) AS currency, strptime(trim(Date), '%d %B %Y')::DATE AS rate_date, trim(rate) AS rate
FROM (UNPIVOT (SELECT * FROM read_csv({files}, header = true, all_varchar = true, union_by_name = true))
      ON COLUMNS(* EXCLUDE (Date)) INTO NAME currency VALUE rate)

-- @step events_tmall_global
-- JSON lines; explicit event type; timestamps carry their +08:00 offset.
SELECT 'tmall_global' AS channel, trim(event_id) AS event_id,
       CASE trim(type) WHEN 'PAID' THEN 'order' WHEN 'CANCELLED' THEN 'cancel' WHEN 'REFUNDED' THEN 'return' END AS kind,
       created_at::DATE AS event_date,
       trim(order_no) AS order_id, line_no::VARCHAR AS line_id, trim(supplier) AS supplier_id, trim(sku) AS sku,
       qty AS qty,
       ((qty * price - coalesce(discount, 0)) * 10000)::BIGINT AS amount4,
       upper(trim(currency)) AS currency, upper(trim(country)) AS ship_to
FROM read_json({files},
               format = 'newline_delimited',
               columns = {event_id: 'VARCHAR', type: 'VARCHAR', created_at: 'TIMESTAMPTZ', order_no: 'VARCHAR',
                          line_no: 'BIGINT', supplier: 'VARCHAR', sku: 'VARCHAR', qty: 'BIGINT',
                          price: 'DECIMAL(18, 4)', currency: 'VARCHAR', discount: 'DECIMAL(18, 4)', country: 'VARCHAR'})

-- @step events_own_webshop
-- CSV (the contract's columns, in order); a cancellation is a negative quantity; naive timestamps in Europe/London.
SELECT 'own_webshop' AS channel, trim(event_id) AS event_id,
       CASE WHEN quantity < 0 THEN 'cancel' ELSE 'order' END AS kind,
       timezone('Europe/London', placed_at)::DATE AS event_date,
       trim(order_ref) AS order_id, trim(line) AS line_id, trim(supplier_id) AS supplier_id, trim(sku) AS sku,
       abs(quantity) AS qty,
       ((abs(quantity) * unit_price - coalesce(discount, 0)) * 10000)::BIGINT AS amount4,
       upper(trim(currency)) AS currency, upper(trim(ship_country)) AS ship_to
FROM read_csv({files}, header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
              columns = {event_id: 'VARCHAR', order_ref: 'VARCHAR', line: 'VARCHAR', supplier_id: 'VARCHAR',
                         sku: 'VARCHAR', quantity: 'BIGINT', unit_price: 'DECIMAL(18, 4)', currency: 'VARCHAR',
                         discount: 'DECIMAL(18, 4)', ship_country: 'VARCHAR', ship_region: 'VARCHAR',
                         placed_at: 'TIMESTAMP'})

-- @step events_jd_worldwide
-- Parquet; the event type is the event id's prefix; timestamps are UTC instants.
SELECT 'jd_worldwide' AS channel, event_id,
       CASE left(event_id, 2) WHEN 'O-' THEN 'order' WHEN 'C-' THEN 'cancel' WHEN 'R-' THEN 'return' END AS kind,
       event_time::TIMESTAMPTZ::DATE AS event_date,
       order_id, line_id, supplier_code AS supplier_id, sku_code AS sku, quantity::BIGINT AS qty,
       ((quantity * unit_price - coalesce(discount, 0)) * 10000)::BIGINT AS amount4,
       upper(currency) AS currency, upper(ship_country) AS ship_to
FROM read_parquet({files})

-- @step catalogue_dim
-- Products: one origin per (supplier, SKU, snapshot); a SKU listed twice with two origins counts as unknown.
SELECT supplier_id, snapshot_date, trim(sku) AS sku, any_value(upper(trim(origin))) AS origin
FROM catalogue_raw
WHERE nullif(trim(sku), '') IS NOT NULL
GROUP BY ALL
HAVING count(DISTINCT upper(trim(origin))) = 1

-- @step rate_dim
-- ECB rates (units per EUR), long: currency, day, rate x 10^6. Quoted twice (history and daily
-- file) with two values: the smaller is kept (the ECB never revises; the generator never does).
SELECT currency, rate_date, (min(rate::DECIMAL(18, 6)) * 1000000)::BIGINT AS rate6
FROM rate_raw
WHERE regexp_full_match(currency, '[A-Z]{3}') AND regexp_full_match(rate, '\d+(\.\d{1,6})?')
GROUP BY ALL
