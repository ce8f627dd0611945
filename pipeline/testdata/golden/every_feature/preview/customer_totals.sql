WITH `orders_raw` AS (
SELECT * FROM (
SELECT * FROM main.landing.orders
) AS `orders_raw`
),
`orders_clean` AS (
SELECT * FROM (
-- keep one row per order
SELECT order_id, customer_id, amount, order_date
FROM `orders_raw`
WHERE amount IS NOT NULL -- drop broken rows
) AS `orders_clean`
WHERE (amount > 0) IS TRUE
  AND (amount < 1000000 AND amount <> 0.5) IS TRUE
),
`big_orders` AS (
SELECT * FROM (
SELECT * FROM `orders_clean` WHERE amount > 100
) AS `big_orders`
WHERE (customer_id <> 42) IS TRUE
)
SELECT * FROM (
WITH per_order AS (SELECT customer_id, amount FROM `big_orders`)
SELECT customer_id, SUM(amount) AS total FROM per_order GROUP BY customer_id
) AS `preview`
LIMIT 10
