// Package sources owns the source tables an operator registers in the
// sandbox from files: it checks the name against the policy's source globs
// and the path on disk, creates an external table over the files (CSV,
// JSON or Parquet, schema inferred by Spark), lists the tables the policy
// lets agents read, and removes registered tables (never their files, and
// never a managed table).
package sources
