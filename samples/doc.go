// Package samples owns the sample data set of the sandbox: a small retail
// model (customers, products, orders, order items, with some dirty rows),
// an append-only events feed that grows on demand, and a change feed of
// customer updates.
//
// Every row is generated inside Spark by SQL this package writes, from
// range() and hash() alone: nothing is downloaded and the same load gives
// the same rows on every machine (Checksums proves it). Tables are created
// with CREATE TABLE … AS SELECT without a USING clause, so they take the
// session's default table format (parquet, Delta, …). Loading is
// idempotent: a table that exists is left alone (events keep what was
// appended), Reset drops and recreates them.
package samples
