"""Benchmark worker: fetches a query's rows with pyspark's Spark Connect client.

Run by `make bench` (bench/connectbench) side by side with the Go worker, against
the same server and query. Prints one JSON object on stdout.
"""
import argparse
import json
import resource
import time


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("--iters", type=int, default=5)
    args = ap.parse_args()

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(args.url).getOrCreate()
    df = spark.sql(args.query)
    rows = len(df.collect())  # warm-up, not measured
    lat, cpu = [], []
    for _ in range(args.iters):
        c0, t0 = cpu_seconds(), time.perf_counter()
        n = len(spark.sql(args.query).collect())
        t1, c1 = time.perf_counter(), cpu_seconds()
        if n != rows:
            raise SystemExit(f"row count changed: {n} != {rows}")
        lat.append((t1 - t0) * 1000)
        cpu.append((c1 - c0) * 1000)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    spark.stop()
    print(json.dumps({"rows": rows, "latency_ms": lat, "cpu_ms": cpu, "peak_rss_kb": peak_kb}))


if __name__ == "__main__":
    main()
