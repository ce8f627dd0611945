WITH `__sdp_mcp_rows` AS (
SELECT (total > 1000) IS TRUE AS `e0` FROM (
SELECT c.customer_id, c.total FROM `dev`.`shop_dev`.`customer_totals` AS c
JOIN `dev`.`shop_dev`.`select` AS s ON s.n > 0
WHERE c.total > 1000
) AS `vip_customers`
)
SELECT stack(1, 'big_spender', `p0`, `f0`) AS (`expectation`, `passed`, `failed`)
FROM (SELECT COUNT_IF(`e0`) AS `p0`, COUNT_IF(NOT `e0`) AS `f0` FROM `__sdp_mcp_rows`) AS `counts`
