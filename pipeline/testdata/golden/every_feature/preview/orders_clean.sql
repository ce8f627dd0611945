WITH `orders_raw` AS (
SELECT * FROM (
SELECT * FROM main.landing.orders
) AS `orders_raw`
)
SELECT * FROM (
-- keep one row per order
SELECT order_id, customer_id, amount, order_date
FROM `orders_raw`
WHERE amount IS NOT NULL -- drop broken rows
) AS `preview`
WHERE (amount > 0) IS TRUE
  AND (amount < 1000000 AND amount <> 0.5) IS TRUE
LIMIT 10
