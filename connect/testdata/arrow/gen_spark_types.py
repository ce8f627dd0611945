"""Regenerates spark_types.arrows: the raw arrow_batch.data bytes that a real
Spark Connect server sends for one query covering every Spark SQL type.

Run with the pyspark installed by `sdp-mcp sandbox install` (it needs Java):

    python gen_spark_types.py

The Go test TestArrowSparkGolden decodes the file and checks every value.
"""

import os
import sys

import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql.connect.client import core

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spark_types.arrows")

QUERY = """
SELECT
  true AS b, CAST(-128 AS TINYINT) AS i8, CAST(32767 AS SMALLINT) AS i16,
  -2147483648 AS i32, 9223372036854775807L AS i64,
  CAST(1.5 AS FLOAT) AS f32, CAST(-0.1 AS DOUBLE) AS f64,
  CAST(-12.340 AS DECIMAL(10,3)) AS dec,
  CAST('-99999999999999999999999999999999999999' AS DECIMAL(38,0)) AS dec38,
  'héllo' AS s, CAST('ab' AS VARCHAR(5)) AS vc, X'00FF' AS bin,
  DATE'1969-12-31' AS d,
  TIMESTAMP'1969-12-31 23:59:59.999999' AS ts,
  TIMESTAMP_NTZ'2024-02-29 12:34:56.123456' AS ntz,
  INTERVAL '-1-2' YEAR TO MONTH AS ym,
  INTERVAL '-1 02:03:04.5' DAY TO SECOND AS dt,
  make_interval(1, 2, 0, 3, 4, 5, 6.000007) AS cal,
  NULL AS v,
  array(1, NULL, 3) AS arr,
  map('a', 1, 'b', NULL) AS m,
  named_struct('x', CAST(NULL AS INT), 'y', 'z') AS st,
  array(named_struct('id', 1, 'tags', map('k', array(CAST(1.25 AS DECIMAL(5,2)), NULL))),
        CAST(NULL AS STRUCT<id: INT, tags: MAP<STRING, ARRAY<DECIMAL(5,2)>>>)) AS nested,
  parse_json('{"a":1}') AS var
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
"""


def main():
    batches = []
    real_pa = core.pa

    class Shim:
        def __getattr__(self, name):
            return getattr(real_pa, name)

        class ipc:
            @staticmethod
            def open_stream(data):
                batches.append(bytes(data))
                return real_pa.ipc.open_stream(data)

    core.pa = Shim()
    spark = SparkSession.builder.remote("local[1]").getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
    try:
        spark.sql(QUERY).coalesce(1).collect()
    except Exception as e:  # pyspark cannot convert every type; the bytes are in
        print(f"client-side conversion failed (expected for intervals): {e}")
    spark.stop()
    if len(batches) != 1:
        sys.exit(f"expected one arrow batch, got {len(batches)}")
    with open(OUT, "wb") as f:
        f.write(batches[0])
    print(f"wrote {len(batches[0])} bytes to {OUT}")


if __name__ == "__main__":
    main()
