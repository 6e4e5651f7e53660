-- The France procurement centre's view: every sale by country of origin and ship-to country,
-- whatever the targets say (built-in marts.export_all_goods_monthly), year by year.
-- xborder sql --file sql/examples/all_goods_by_origin.sql
SELECT year(month) AS year,
       country_of_origin,
       any_value(origin_name) AS origin,
       ship_to_country,
       sum(order_lines) AS order_lines,
       sum(gross_eur) AS gross_eur,
       sum(cancelled_eur + returned_eur) AS cancelled_and_returned_eur,
       sum(net_eur) AS net_eur
FROM marts.export_all_goods_monthly
GROUP BY year, country_of_origin, ship_to_country
ORDER BY year, net_eur DESC;
