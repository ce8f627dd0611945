package samples

import "fmt"

// DefaultSchema is the schema the samples are loaded into, in the
// spark_catalog catalog.
const DefaultSchema = "samples"

// InitialEvents is the number of events a fresh load creates.
const InitialEvents = 5000

// table is one sample table: its name, comment and the query that fills it.
type table struct {
	name    string
	comment string
	// query returns the SELECT that fills the table; s is the quoted
	// catalog.schema (the change feed reads nothing, but products are
	// joined into order items).
	query func(s string) string
}

// firstNames, lastNames and cities feed the generated customers.
const (
	firstNames = `array('Ada','Ben','Chloe','David','Emma','Farid','Grace','Hugo','Ines','Jonas','Keiko','Liam')`
	lastNames  = `array('Martin','Schmidt','Garcia','Rossi','Silva','Novak','Dubois','Weber','Costa','Berg')`
	cities     = `array('Paris','Lyon','Berlin','Madrid','Rome','Lisbon','Vienna','Prague')`
)

// tables lists the sample tables in load order (products before order
// items, which copy their prices).
var tables = []table{
	{
		name: "customers",
		comment: "Retail customers (200 ids). Dirty on purpose: 4 ids appear twice, some emails are " +
			"missing or malformed (no @), some names have stray spaces and lower case.",
		query: func(string) string {
			return `WITH base AS (
  SELECT CAST(id AS INT) AS customer_id,
    CASE WHEN id % 41 = 0 THEN lower(concat('  ', element_at(` + firstNames + `, pmod(hash(id, 'first'), 12) + 1), ' ', element_at(` + lastNames + `, pmod(hash(id, 'last'), 10) + 1), ' '))
         ELSE concat(element_at(` + firstNames + `, pmod(hash(id, 'first'), 12) + 1), ' ', element_at(` + lastNames + `, pmod(hash(id, 'last'), 10) + 1)) END AS name,
    CASE WHEN id % 37 = 0 THEN CAST(NULL AS STRING)
         WHEN id % 53 = 0 THEN concat('customer', id, '.example.com')
         ELSE concat('customer', id, '@example.com') END AS email,
    element_at(` + cities + `, pmod(hash(id, 'city'), 8) + 1) AS city,
    date_add(DATE'2024-01-01', pmod(hash(id, 'signup'), 365)) AS signup_date
  FROM range(1, 201))
SELECT * FROM base
UNION ALL
SELECT * FROM base WHERE customer_id % 50 = 0`
		},
	},
	{
		name:    "products",
		comment: "Products (30) with category and unit price in EUR. Dirty: product 30 has no price.",
		query: func(string) string {
			return `SELECT CAST(id AS INT) AS product_id,
  concat(element_at(array('Classic','Urban','Trail','Studio','Nordic','Coastal'), pmod(hash(id, 'adj'), 6) + 1), ' ',
         element_at(array('Mug','Lamp','Chair','Backpack','Notebook','Jacket','Kettle','Desk'), pmod(hash(id, 'noun'), 8) + 1), ' ', id) AS name,
  element_at(array('home','office','outdoor','apparel','kitchen'), pmod(hash(id, 'cat'), 5) + 1) AS category,
  CASE WHEN id = 30 THEN CAST(NULL AS DECIMAL(10,2))
       ELSE CAST(5 + pmod(hash(id, 'price'), 19500) / 100.0 AS DECIMAL(10,2)) END AS unit_price
FROM range(1, 31)`
		},
	},
	{
		name: "orders",
		comment: "Orders (1000) from 2025-01-01 to 2025-03-31, status completed, shipped or cancelled. " +
			"Dirty: some orders have no customer_id or a customer_id that does not exist (900+).",
		query: func(string) string {
			return `SELECT CAST(id AS INT) AS order_id,
  CASE WHEN id % 97 = 0 THEN CAST(NULL AS INT)
       WHEN id % 89 = 0 THEN CAST(900 + id % 10 AS INT)
       ELSE CAST(pmod(hash(id, 'customer'), 200) + 1 AS INT) END AS customer_id,
  timestamp_seconds(1735689600 + pmod(hash(id, 'ts'), 7776000)) AS order_ts,
  element_at(array('completed','completed','completed','shipped','cancelled'), pmod(hash(id, 'status'), 5) + 1) AS status
FROM range(1, 1001)`
		},
	},
	{
		name: "order_items",
		comment: "Order lines: 1 to 3 per order, quantity and the unit price at order time. " +
			"Dirty: some quantities are 0 or negative, some lines name product 99, which does not exist.",
		query: func(s string) string {
			return `WITH lines AS (
  SELECT CAST(o.id AS INT) AS order_id, CAST(l.id AS INT) AS line_no,
    CASE WHEN (o.id * 3 + l.id) % 101 = 0 THEN 99 ELSE CAST(pmod(hash(o.id, l.id, 'product'), 30) + 1 AS INT) END AS product_id,
    CASE WHEN (o.id + l.id) % 67 = 0 THEN 0
         WHEN (o.id + l.id) % 71 = 0 THEN -1
         ELSE CAST(pmod(hash(o.id, l.id, 'qty'), 5) + 1 AS INT) END AS quantity
  FROM range(1, 1001) AS o CROSS JOIN range(1, 4) AS l
  WHERE l.id <= pmod(hash(o.id, 'lines'), 3) + 1)
SELECT lines.order_id, lines.line_no, lines.product_id, lines.quantity,
  coalesce(p.unit_price, CAST(9.99 AS DECIMAL(10,2))) AS unit_price
FROM lines LEFT JOIN ` + s + `.products AS p ON p.product_id = lines.product_id`
		},
	},
	{
		name: "events",
		comment: "Append-only clickstream: one event every 37 seconds from 2025-01-01 (event_id ascending). " +
			"Grows with `sdp-mcp sandbox samples --append N`. product_id is empty for search events.",
		query: func(string) string { return eventsQuery(1, InitialEvents) },
	},
	{
		name: "customer_changes",
		comment: "Change feed of customer updates, in change_id order: op is INSERT, UPDATE or DELETE; " +
			"email and city are the values after the change (empty for DELETE). Customers 201-210 are new.",
		query: func(string) string {
			return `SELECT CAST(id AS INT) AS change_id,
  CASE WHEN id > 290 THEN CAST(id - 90 AS INT) ELSE CAST(pmod(hash(id, 'who'), 200) + 1 AS INT) END AS customer_id,
  CASE WHEN id > 290 THEN 'INSERT' WHEN id % 29 = 0 THEN 'DELETE' ELSE 'UPDATE' END AS op,
  CASE WHEN id % 29 = 0 AND id <= 290 THEN CAST(NULL AS STRING) ELSE concat('customer', id, '.new@example.com') END AS email,
  CASE WHEN id % 29 = 0 AND id <= 290 THEN CAST(NULL AS STRING) ELSE element_at(` + cities + `, pmod(hash(id, 'newcity'), 8) + 1) END AS city,
  timestamp_seconds(1738368000 + id * 3600) AS changed_at
FROM range(1, 301)`
		},
	},
}

// eventsQuery is the SELECT of the events with ids first..last, a pure
// function of the id: appending gives the same rows whatever the batches.
func eventsQuery(first, last int64) string {
	return fmt.Sprintf(`SELECT id AS event_id,
  timestamp_seconds(1735689600 + id * 37) AS event_ts,
  CAST(pmod(hash(id, 'who'), 200) + 1 AS INT) AS customer_id,
  element_at(array('page_view','page_view','page_view','search','add_to_cart','add_to_cart','checkout'), pmod(hash(id, 'type'), 7) + 1) AS event_type,
  CASE WHEN pmod(hash(id, 'type'), 7) = 3 THEN CAST(NULL AS INT) ELSE CAST(pmod(hash(id, 'product'), 30) + 1 AS INT) END AS product_id
FROM range(%d, %d)`, first, last+1)
}
