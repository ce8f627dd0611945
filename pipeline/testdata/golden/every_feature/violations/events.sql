WITH `__sdp_mcp_rows` AS (
SELECT (event_id IS NOT NULL) IS TRUE AS `e0`, (kind IN ('click', 'view')) IS TRUE AS `e1` FROM (
SELECT id AS event_id, customer_id, kind, ts AS at FROM main.landing.app_events
) AS `app_events`
UNION ALL
SELECT (event_id IS NOT NULL) IS TRUE AS `e0`, (kind IN ('click', 'view')) IS TRUE AS `e1` FROM (
SELECT event_id, customer_id, kind, at FROM main.landing.web_events
) AS `web_events`
)
SELECT stack(2, 'has_id', `p0`, `f0`, 'known_kind', `p1`, `f1`) AS (`expectation`, `passed`, `failed`)
FROM (SELECT COUNT_IF(`e0`) AS `p0`, COUNT_IF(NOT `e0`) AS `f0`, COUNT_IF(`e1`) AS `p1`, COUNT_IF(NOT `e1`) AS `f1` FROM `__sdp_mcp_rows`) AS `counts`
