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
),
`customer_totals` AS (
SELECT * FROM (
WITH per_order AS (SELECT customer_id, amount FROM `big_orders`)
SELECT customer_id, SUM(amount) AS total FROM per_order GROUP BY customer_id
) AS `customer_totals`
),
`events` AS (
SELECT `event_id`, `customer_id`, `kind`, `at` FROM (
SELECT id AS event_id, customer_id, kind, ts AS at FROM main.landing.app_events
) AS `app_events`
WHERE (kind IN ('click', 'view')) IS TRUE
UNION ALL
SELECT `event_id`, `customer_id`, `kind`, `at` FROM (
SELECT event_id, customer_id, kind, at FROM main.landing.web_events
) AS `web_events`
WHERE (kind IN ('click', 'view')) IS TRUE
),
`select` AS (
SELECT * FROM (
SELECT kind, COUNT(*) AS n FROM `events` GROUP BY kind
) AS `select`
)
SELECT * FROM (
SELECT c.customer_id, c.total FROM `customer_totals` AS c
JOIN `select` AS s ON s.n > 0
WHERE c.total > 1000
) AS `preview`
LIMIT 10
