SELECT * FROM (
SELECT `event_id`, `customer_id`, `kind`, `at` FROM (
SELECT id AS event_id, customer_id, kind, ts AS at FROM main.landing.app_events
) AS `app_events`
WHERE (kind IN ('click', 'view')) IS TRUE
UNION ALL
SELECT `event_id`, `customer_id`, `kind`, `at` FROM (
SELECT event_id, customer_id, kind, at FROM main.landing.web_events
) AS `web_events`
WHERE (kind IN ('click', 'view')) IS TRUE
) AS `preview`
LIMIT 10
