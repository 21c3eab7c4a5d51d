"""Print Spark's xxhash64 and pmod buckets for the ids in caregap's test
`bucket_ids_equal_sparks` (crates/cli/tests/it/scale.rs)."""
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
ids = ["", "a", "abc", "P000001", "person-42", "Müller-Ñandú", "日本語の患者", "😀 emoji",
       "x" * 1000, "0123456789abcdefghijklmnopqrstuvwxyz0123456789"]
df = spark.createDataFrame([(i,) for i in ids] + [(None,)], "person_id string")
for r in df.select(
    "person_id",
    F.xxhash64("person_id").alias("h"),
    F.expr("pmod(xxhash64(person_id), 8)").alias("b8"),
    F.expr("pmod(xxhash64(person_id), 16)").alias("b16"),
).collect():
    pid = r.person_id
    shown = pid if pid is None or len(pid) < 60 else f"{pid[:3]}... ({len(pid)} chars)"
    print(repr(shown), r.h, r.b8, r.b16)
spark.stop()
