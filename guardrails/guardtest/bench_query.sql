WITH recent AS (
  SELECT o.order_id, o.customer_id, o.amount, CAST(o.ts AS DATE) AS order_date
  FROM spark_catalog.samples.orders AS o
  WHERE o.ts >= current_date() - INTERVAL 30 DAYS AND o.status IN ('paid', 'shipped')
),
customers AS (
  SELECT c.customer_id, upper(trim(c.name)) AS name, c.country -- normalised
  FROM spark_catalog.samples.customers c
)
SELECT r.order_date,
       cu.country,
       count(DISTINCT r.customer_id) AS buyers,
       sum(r.amount) FILTER (WHERE r.amount > 0) AS revenue,
       percentile_approx(r.amount, 0.5) AS median_amount,
       row_number() OVER (PARTITION BY cu.country ORDER BY sum(r.amount) DESC) AS rank
FROM recent r
JOIN customers cu ON r.customer_id = cu.customer_id
LEFT JOIN orders_clean f ON f.order_id = r.order_id
WHERE f.order_id IS NULL
  AND EXTRACT(YEAR FROM r.order_date) = 2026
  AND r.customer_id NOT IN (SELECT customer_id FROM dev.s.blocked)
GROUP BY r.order_date, cu.country
HAVING sum(r.amount) > 100
/* keep the ordering stable */
ORDER BY r.order_date, revenue DESC
