-- Independent reference for tests and the benchmark: plain DuckDB SQL over the landed files,
-- written apart from the pipeline (its own parsing, dedupe, FX as-of and rounding). Product
-- origin comes from the warehouse's core.dim_product (SCD2, tested on its own).
-- Variables: landing (landing root), lookback (days). Result: temp table reference_daily
-- (event_date, origin, ship_to, net_eur) of every conformed event. Orders and standalone credits
-- (tmall CREDIT: a credit note naming no order line) are valued as themselves at their own date's
-- rate, credits negative; cancels and returns at their order line's.

CREATE OR REPLACE TEMP TABLE ref_rates AS
WITH hist AS (
    UNPIVOT (SELECT * FROM read_csv(getvariable('landing') || '/fx/eurofxref-hist.csv', all_varchar = true))
    ON COLUMNS(* EXCLUDE (Date)) INTO NAME currency VALUE rate
),
daily AS (
    UNPIVOT (SELECT * FROM read_csv(getvariable('landing') || '/fx/daily/*/eurofxref.csv', all_varchar = true,
                                    delim = ',', header = true, normalize_names = false))
    ON COLUMNS(* EXCLUDE (Date)) INTO NAME currency VALUE rate
)
SELECT DISTINCT trim(currency) AS currency, rate_date, trim(rate)::DECIMAL(18, 6) AS rate
FROM (
    SELECT currency, Date::DATE AS rate_date, rate FROM hist
    UNION ALL
    SELECT currency, strptime(trim(Date), '%d %B %Y')::DATE, rate FROM daily
)
WHERE trim(rate) NOT IN ('N/A', '') AND trim(currency) <> '';

CREATE OR REPLACE TEMP TABLE ref_events AS
SELECT DISTINCT * FROM (
    SELECT 'tmall_global' AS channel, event_id,
           CASE type WHEN 'PAID' THEN 'order' WHEN 'CANCELLED' THEN 'cancel' WHEN 'REFUNDED' THEN 'return'
                     WHEN 'CREDIT' THEN 'credit' END AS kind,
           (created_at::TIMESTAMPTZ AT TIME ZONE 'UTC') AS ts, order_no AS order_id, line_no::VARCHAR AS line_id,
           supplier AS supplier_id, sku,
           CASE WHEN type = 'PAID' THEN qty ELSE abs(qty) END::INTEGER AS qty, price::DECIMAL(18, 4) AS price, currency,
           discount::DECIMAL(18, 4) AS discount, country
    FROM read_json(getvariable('landing') || '/sales/tmall_global/*/*.jsonl', format = 'newline_delimited',
                   columns = {event_id: 'VARCHAR', type: 'VARCHAR', created_at: 'VARCHAR', order_no: 'VARCHAR',
                              line_no: 'BIGINT', supplier: 'VARCHAR', sku: 'VARCHAR', qty: 'BIGINT', price: 'VARCHAR',
                              currency: 'VARCHAR', discount: 'VARCHAR', country: 'VARCHAR', province: 'VARCHAR'})
    UNION ALL
    SELECT 'own_webshop', event_id, CASE WHEN quantity::INTEGER < 0 THEN 'cancel' ELSE 'order' END,
           ((placed_at::TIMESTAMP AT TIME ZONE 'Europe/London') AT TIME ZONE 'UTC'), order_ref, line, supplier_id, sku,
           abs(quantity::INTEGER), unit_price::DECIMAL(18, 4), currency, discount::DECIMAL(18, 4), ship_country
    FROM read_csv(getvariable('landing') || '/sales/own_webshop/*/*.csv', all_varchar = true)
    UNION ALL
    SELECT 'jd_worldwide', event_id,
           CASE left(event_id, 2) WHEN 'O-' THEN 'order' WHEN 'C-' THEN 'cancel' WHEN 'R-' THEN 'return' END,
           (event_time AT TIME ZONE 'UTC'), order_id, line_id, supplier_code, sku_code, quantity,
           unit_price::DECIMAL(18, 4), currency, discount::DECIMAL(18, 4), ship_country
    FROM read_parquet(getvariable('landing') || '/sales/jd_worldwide/*/*.parquet')
);

-- Exact division rounded half to even: n / d in integers.
CREATE OR REPLACE TEMP MACRO ref_round(n, d) AS (
    CASE WHEN 2 * (n % d) > d OR (2 * (n % d) = d AND (n // d) % 2 = 1) THEN n // d + 1 ELSE n // d END
);

CREATE OR REPLACE TEMP TABLE ref_orders AS
SELECT e.*, e.ts::DATE AS order_date, p.country_of_origin AS origin,
       CASE WHEN e.currency = 'EUR' THEN 1::DECIMAL(18, 6) ELSE r.rate END AS rate,
       (e.qty * e.price - e.discount) AS amount
FROM ref_events e
JOIN core.dim_product p
  ON p.supplier_id = e.supplier_id AND p.supplier_sku = e.sku
 AND p.valid_from <= e.ts::DATE AND e.ts::DATE < p.valid_to
LEFT JOIN ref_rates r
  ON r.currency = e.currency
 AND r.rate_date = (SELECT max(rate_date) FROM ref_rates x
                    WHERE x.currency = e.currency AND x.rate_date <= e.ts::DATE
                      AND x.rate_date >= e.ts::DATE - getvariable('lookback'))
WHERE e.kind IN ('order', 'credit');

CREATE OR REPLACE TEMP TABLE reference_daily AS
WITH valued AS (
    SELECT channel, event_id, kind, ts, order_id, line_id, qty, amount, rate, origin, country,
           -- cents = amount * 100 / rate, both as integers in 1e-6 units
           ref_round((amount * 1000000)::HUGEINT * 100, (rate * 1000000)::HUGEINT) AS cents
    FROM ref_orders WHERE rate IS NOT NULL
),
moves AS (
    -- orders and credits: themselves, on their own date (a credit negative)
    SELECT ts::DATE AS event_date, origin, country AS ship_to,
           CASE kind WHEN 'order' THEN cents ELSE -cents END AS cents
    FROM valued
    UNION ALL
    -- cancels and returns: their order line's value, at its rate, on their own date
    SELECT e.ts::DATE AS event_date, v.origin, v.country AS ship_to,
           CASE e.kind
               WHEN 'cancel' THEN -v.cents
               ELSE -ref_round((v.amount * 1000000)::HUGEINT * 100 * e.qty, (v.rate * 1000000)::HUGEINT * v.qty)
           END AS cents
    FROM ref_events e
    JOIN valued v ON v.kind = 'order' AND v.channel = e.channel AND v.order_id = e.order_id AND v.line_id = e.line_id
    WHERE e.kind IN ('cancel', 'return')
)
SELECT event_date, origin, ship_to, (sum(cents)::DECIMAL(38, 0) / 100)::DECIMAL(38, 2) AS net_eur
FROM moves GROUP BY ALL;
