SELECT * FROM (
SELECT order_date, SUM(amount) AS total
FROM `dev`.`sales`.`raw_orders`
GROUP BY order_date
) AS `preview`
LIMIT 10
