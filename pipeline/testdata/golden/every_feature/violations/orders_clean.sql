WITH `__sdp_mcp_rows` AS (
SELECT (amount > 0) IS TRUE AS `e0`, (customer_id IS NOT NULL) IS TRUE AS `e1`, (order_date >= DATE'2020-01-01') IS TRUE AS `e2`, (amount < 1000000 AND amount <> 0.5) IS TRUE AS `e3` FROM (
-- keep one row per order
SELECT order_id, customer_id, amount, order_date
FROM `dev`.`shop_dev`.`orders_raw`
WHERE amount IS NOT NULL -- drop broken rows
) AS `orders_clean`
)
SELECT stack(4, 'positive_amount', `p0`, `f0`, 'has_customer', `p1`, `f1`, 'recent', `p2`, `f2`, 'sane_amount', `p3`, `f3`) AS (`expectation`, `passed`, `failed`)
FROM (SELECT COUNT_IF(`e0`) AS `p0`, COUNT_IF(NOT `e0`) AS `f0`, COUNT_IF(`e1`) AS `p1`, COUNT_IF(NOT `e1`) AS `f1`, COUNT_IF(`e2`) AS `p2`, COUNT_IF(NOT `e2`) AS `f2`, COUNT_IF(`e3`) AS `p3`, COUNT_IF(NOT `e3`) AS `f3` FROM `__sdp_mcp_rows`) AS `counts`
