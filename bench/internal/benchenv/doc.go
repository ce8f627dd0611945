// Package benchenv owns what the benchmark commands under bench/ run in:
// the command's process (its interrupt signals, its CPU profile, its exit
// status), the local sandbox Spark Connect server they measure against
// (pyspark installed, the server started in a workspace — by default the
// shared bench workspace in the user cache — and stopped at the end only
// if this run started it), the schemas and folder a run creates on it, the
// pinned spark-pipelines CLI run against it, and where a run's markdown
// report goes (stdout and the -out file).
package benchenv
