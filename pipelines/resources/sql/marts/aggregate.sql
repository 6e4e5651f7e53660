-- Add a set of sales events into the mart base aggregates (run by pipelines/marts.py).
-- Inputs, set up by the caller:
--   temp view  mart_source: the facts to add (every fact, or only those of new batches);
--   temp table mart_scope (core.dim_target rows): the targets to add them to;
--   variable   mart_all_goods (BOOLEAN): also add them to marts.agg_all_goods_monthly.
-- Additive (sums merge into existing rows), so adding each fact exactly once gives the same
-- aggregates as one pass over all facts. Money stays DECIMAL throughout. net_eur = gross_eur +
-- cancelled_eur + returned_eur + credited_eur (orders, cancels, returns, standalone credits).

-- One pass over the facts, every grain at once: per target and day, and per target, month and
-- each dimension read from the facts.
-- A fact counts for a target iff its origin and its ship-to country are in the target's scope
-- (core.in_country_scope: listed, or every country but the excluded) and its date is in the
-- window: one range join on the window (targets are few), membership tests, no country lists
-- expanded.
CREATE OR REPLACE TEMP TABLE mart_delta AS
WITH facts AS (
    SELECT s.target_id, f.event_date, date_trunc('month', f.event_date)::DATE AS month, f.event_type,
           f.eur_amount, f.quantity, coalesce(f.weight_kg, 0) AS weight_kg,
           f.hs_chapter, coalesce(f.category, '?') AS category, f.supplier_id, f.channel,
           coalesce(f.ship_to_region, '?') AS ship_to_region, f.country_of_origin, f.ship_to_country
    FROM mart_source f
    JOIN mart_scope s ON f.event_date BETWEEN s.window_start AND s.window_end
    WHERE core.in_country_scope(f.ship_to_country, s.destination_countries, s.destination_exclude)
      AND core.in_country_scope(f.country_of_origin, s.origin_countries, s.origin_exclude)
)
SELECT target_id,
       CASE WHEN grouping(event_date) = 0 THEN 'day'
            WHEN grouping(hs_chapter) = 0 THEN 'hs_chapter'
            WHEN grouping(category) = 0 THEN 'category'
            WHEN grouping(supplier_id) = 0 THEN 'supplier'
            WHEN grouping(channel) = 0 THEN 'channel'
            WHEN grouping(ship_to_region) = 0 THEN 'ship_to_region'
            WHEN grouping(country_of_origin) = 0 THEN 'origin_country'
            ELSE 'ship_to_country'
       END AS dimension,
       event_date,
       month,
       coalesce(hs_chapter, category, supplier_id, channel, ship_to_region, country_of_origin,
                ship_to_country) AS member,
       count(*) FILTER (WHERE event_type = 'order') AS order_lines,
       coalesce(sum(eur_amount) FILTER (WHERE event_type = 'order'), 0)::DECIMAL(18, 2) AS gross_eur,
       coalesce(sum(eur_amount) FILTER (WHERE event_type = 'cancel'), 0)::DECIMAL(18, 2) AS cancelled_eur,
       coalesce(sum(eur_amount) FILTER (WHERE event_type = 'return'), 0)::DECIMAL(18, 2) AS returned_eur,
       coalesce(sum(eur_amount) FILTER (WHERE event_type = 'credit'), 0)::DECIMAL(18, 2) AS credited_eur,
       sum(eur_amount)::DECIMAL(18, 2) AS net_eur,
       sum(quantity)::BIGINT AS units,
       sum(weight_kg)::DECIMAL(18, 4) AS kg
FROM facts
GROUP BY GROUPING SETS (
    (target_id, event_date),
    (target_id, month, hs_chapter),
    (target_id, month, category),
    (target_id, month, supplier_id),
    (target_id, month, channel),
    (target_id, month, ship_to_region),
    (target_id, month, country_of_origin),
    (target_id, month, ship_to_country)
);

MERGE INTO marts.agg_target_daily a
USING (SELECT target_id, event_date AS date, order_lines, gross_eur, cancelled_eur, returned_eur, credited_eur,
              net_eur, units, kg
       FROM mart_delta WHERE dimension = 'day') d
ON a.target_id = d.target_id AND a.date = d.date
WHEN MATCHED THEN UPDATE SET
    order_lines = a.order_lines + d.order_lines,
    gross_eur = a.gross_eur + d.gross_eur,
    cancelled_eur = a.cancelled_eur + d.cancelled_eur,
    returned_eur = a.returned_eur + d.returned_eur,
    credited_eur = a.credited_eur + d.credited_eur,
    net_eur = a.net_eur + d.net_eur,
    units = a.units + d.units,
    kg = a.kg + d.kg
WHEN NOT MATCHED THEN INSERT BY NAME;

MERGE INTO marts.agg_target_monthly a
USING (SELECT target_id, month, dimension, member, order_lines, gross_eur, cancelled_eur, returned_eur,
              credited_eur, net_eur, units, kg
       FROM mart_delta WHERE dimension <> 'day') d
ON a.target_id = d.target_id AND a.month = d.month AND a.dimension = d.dimension AND a.member = d.member
WHEN MATCHED THEN UPDATE SET
    order_lines = a.order_lines + d.order_lines,
    gross_eur = a.gross_eur + d.gross_eur,
    cancelled_eur = a.cancelled_eur + d.cancelled_eur,
    returned_eur = a.returned_eur + d.returned_eur,
    credited_eur = a.credited_eur + d.credited_eur,
    net_eur = a.net_eur + d.net_eur,
    units = a.units + d.units,
    kg = a.kg + d.kg
WHEN NOT MATCHED THEN INSERT BY NAME;

-- All goods, every destination: the procurement centre's view, independent of targets.
MERGE INTO marts.agg_all_goods_monthly a
USING (
    SELECT date_trunc('month', event_date)::DATE AS month, country_of_origin, ship_to_country,
           count(*) FILTER (WHERE event_type = 'order') AS order_lines,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'order'), 0)::DECIMAL(18, 2) AS gross_eur,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'cancel'), 0)::DECIMAL(18, 2) AS cancelled_eur,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'return'), 0)::DECIMAL(18, 2) AS returned_eur,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'credit'), 0)::DECIMAL(18, 2) AS credited_eur,
           sum(eur_amount)::DECIMAL(18, 2) AS net_eur,
           sum(quantity)::BIGINT AS units,
           coalesce(sum(weight_kg), 0)::DECIMAL(18, 4) AS kg
    FROM mart_source
    WHERE getvariable('mart_all_goods')
    GROUP BY ALL
) d
ON a.month = d.month AND a.country_of_origin = d.country_of_origin AND a.ship_to_country = d.ship_to_country
WHEN MATCHED THEN UPDATE SET
    order_lines = a.order_lines + d.order_lines,
    gross_eur = a.gross_eur + d.gross_eur,
    cancelled_eur = a.cancelled_eur + d.cancelled_eur,
    returned_eur = a.returned_eur + d.returned_eur,
    credited_eur = a.credited_eur + d.credited_eur,
    net_eur = a.net_eur + d.net_eur,
    units = a.units + d.units,
    kg = a.kg + d.kg
WHEN NOT MATCHED THEN INSERT BY NAME;
