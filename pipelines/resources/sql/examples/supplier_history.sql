-- One supplier's history, month by month: order lines, gross, cancelled, returned, net EUR
-- (all goods, every destination) and its catalogue deliveries. Pick the supplier here; the
-- default is the supplier with the most net sales. Supplier ids: SELECT * FROM core.dim_supplier.
-- xborder sql --file sql/examples/supplier_history.sql
SET VARIABLE supplier = (
    SELECT supplier_id FROM core.fct_sales_event GROUP BY 1 ORDER BY sum(eur_amount) DESC, 1 LIMIT 1
);
-- SET VARIABLE supplier = 'GB004';

WITH sales AS (
    SELECT date_trunc('month', event_date)::DATE AS month,
           count(*) FILTER (WHERE event_type = 'order') AS order_lines,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'order'), 0) AS gross_eur,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'cancel'), 0) AS cancelled_eur,
           coalesce(sum(eur_amount) FILTER (WHERE event_type = 'return'), 0) AS returned_eur,
           sum(eur_amount) AS net_eur,
           count(DISTINCT supplier_sku) AS skus_sold
    FROM core.fct_sales_event
    WHERE supplier_id = getvariable('supplier')
    GROUP BY 1
),
catalogues AS (
    SELECT date_trunc('month', snapshot_date)::DATE AS month, count(DISTINCT snapshot_date) AS catalogues_received
    FROM raw.catalogue_items
    WHERE supplier_id = getvariable('supplier')
    GROUP BY 1
)
SELECT getvariable('supplier') AS supplier_id,
       (SELECT legal_name FROM core.dim_supplier WHERE supplier_id = getvariable('supplier')) AS legal_name,
       month, order_lines, gross_eur, cancelled_eur, returned_eur, net_eur,
       sum(net_eur) OVER (ORDER BY month) AS cumulative_net_eur,
       skus_sold,
       coalesce(catalogues_received, 0) AS catalogues_received
FROM sales FULL JOIN catalogues USING (month)
ORDER BY month;
