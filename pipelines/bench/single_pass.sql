-- The benchmark's single-pass reference: the pipeline's essential work as ONE DuckDB statement over
-- the files as landed, with no state between runs. It is the speed limit the pipeline's stages are
-- measured against (issue 14); reference.sql, the same rules month by month, checks them.
--
-- pipelines/bench/single_pass.py fills in the reading parts of readers.sql that have files
-- ({catalogue_rows}, {rate_rows}, {event_rows}: UNION ALL of the parts, each reading a bound
-- parameter $<part> of globs under the landing root) and runs it in an in-memory database in the
-- UTC time zone. {@name} includes the part `name` of readers.sql.
--
-- Parameters: the parts' globs; $lookback (FX look-back in days); $origins, $origin_exclude,
-- $destinations, $destination_exclude (VARCHAR[]; empty includes: every country); $window_start,
-- $window_end (DATE): the tracked target.
--
-- Rules: those of reference.sql, in one pass. Every file is read at once, so no cancel or return
-- waits for its order line: it is valued if its line is valued anywhere in the files. A
-- re-delivered event is one event (DISTINCT ON (channel, event_id); a re-delivery repeats the
-- event, so which copy is kept does not matter). Cents are rounded once per move, half to even,
-- from an exact integer numerator and denominator: an order amount x 10^4 / rate x 10^6, a cancel
-- the negated order, a return -amount x returned / (rate x ordered). The as-of rules (each
-- supplier's latest snapshot, each currency's latest rate within the look-back) are resolved once
-- per calendar day in small tables, which the orders then join on their date: the same answer as
-- an as-of join of every order, for a fraction of the cost (no sort of the orders).
--
-- Result: one row per day with any valued move: the target's net cents that day (NULL when
-- nothing tracked moved) and cumulative, all moves' cents and count; then one row without a day
-- whose last column is the number of events kept.

-- @step statement
WITH
catalogue_raw AS ({catalogue_rows}),
catalogue AS ({@catalogue_dim}),
snapshot_day AS (SELECT DISTINCT supplier_id, snapshot_date FROM catalogue),
rate_raw AS ({rate_rows}),
rate AS ({@rate_dim}),
events AS (SELECT DISTINCT ON (channel, event_id) * FROM ({event_rows})),
-- Every day from the first snapshot to the last event: a supplier's snapshot and a currency's rate per day.
calendar AS (
    SELECT unnest(range(min(snapshot_date), (SELECT max(event_date) FROM events) + 1, INTERVAL 1 DAY))::DATE AS day
    FROM snapshot_day
),
supplier_day AS (
    SELECT d.supplier_id, d.day, s.snapshot_date
    FROM (SELECT supplier_id, day FROM (SELECT DISTINCT supplier_id FROM snapshot_day), calendar) d
    ASOF JOIN snapshot_day s ON s.supplier_id = d.supplier_id AND d.day >= s.snapshot_date
),
currency_day AS (
    SELECT c.currency, c.day, r.rate6
    FROM (SELECT currency, day FROM (SELECT DISTINCT currency FROM rate), calendar) c
    ASOF JOIN rate r ON r.currency = c.currency AND c.day >= r.rate_date
    WHERE c.day - r.rate_date <= $lookback
    UNION ALL
    SELECT 'EUR', day, 1000000 FROM calendar
),
-- Orders with the snapshot of their UTC date, then the SKU's origin in it and the rate (MATERIALIZED:
-- the snapshot is joined first, not the catalogue's rows per day).
orders AS MATERIALIZED (
    SELECT o.*, s.snapshot_date
    FROM (SELECT * FROM events WHERE kind = 'order') o
    JOIN supplier_day s ON s.supplier_id = o.supplier_id AND s.day = o.event_date
),
lines AS (
    SELECT o.channel, o.order_id, o.line_id, o.event_date, o.qty, o.amount4, c.origin, o.ship_to, r.rate6
    FROM orders o
    JOIN catalogue c ON c.supplier_id = o.supplier_id AND c.snapshot_date = o.snapshot_date AND c.sku = o.sku
    JOIN currency_day r ON r.currency = o.currency AND r.day = o.event_date
),
valued AS (SELECT * FROM lines),
moves AS (
    SELECT event_date, origin, ship_to, amount4 * 10000 AS n, rate6 AS d FROM valued
    UNION ALL
    SELECT r.event_date, l.origin, l.ship_to,
           -l.amount4::HUGEINT * 10000 * CASE WHEN r.kind = 'cancel' THEN 1 ELSE r.qty END AS n,
           l.rate6 * CASE WHEN r.kind = 'cancel' THEN 1 ELSE l.qty END AS d
    FROM (SELECT * FROM events WHERE kind IN ('cancel', 'return')) r
    JOIN valued l USING (channel, order_id, line_id)
),
parts AS (SELECT event_date, origin, ship_to, sign(n) AS s, abs(n) // d AS q, 2 * (abs(n) % d) AS r2, d FROM moves),
cents AS (
    SELECT event_date, origin, ship_to,
           s * (q + CASE WHEN r2 > d OR (r2 = d AND q % 2 = 1) THEN 1 ELSE 0 END) AS cents
    FROM parts
),
daily AS (
    SELECT event_date,
           sum(cents) FILTER (
               WHERE (len($destinations::VARCHAR[]) = 0 OR list_contains($destinations::VARCHAR[], ship_to))
                 AND NOT list_contains($destination_exclude::VARCHAR[], ship_to)
                 AND (len($origins::VARCHAR[]) = 0 OR list_contains($origins::VARCHAR[], origin))
                 AND NOT list_contains($origin_exclude::VARCHAR[], origin)
                 AND event_date BETWEEN $window_start::DATE AND $window_end::DATE
           ) AS net_cents,
           sum(cents) AS all_cents, count(*) AS moves
    FROM cents
    GROUP BY event_date
)
SELECT * FROM (
    SELECT event_date, net_cents,
           sum(net_cents) OVER (ORDER BY event_date ROWS UNBOUNDED PRECEDING) AS cumulative_cents,
           all_cents, moves
    FROM daily
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, (SELECT count(*) FROM events)
)
ORDER BY event_date NULLS LAST
