"""The Spark driver end to end in Spark local mode (issue #10).

20,000 synthetic persons, 8 buckets: through Spark, and through `caregap partition` +
8 × `caregap run --bucket` + `caregap merge` without Spark, the outputs are byte-identical to
`caregap run` on the whole input; a bucket task killed once and retried by Spark gives the same
outputs; Spark's bucket of every person equals the bucket caregap put them in.

Needs the caregap binary (CAREGAP_BIN, default target/debug/caregap), pyspark and Java 17.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from caregap_spark import driver

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("CAREGAP_BIN", str(ROOT / "target" / "debug" / "caregap"))
PERSONS = int(os.environ.get("CAREGAP_SPARK_PERSONS", "20000"))
BUCKETS = 8
RUN_ARGS = ["--period", "2025", "--bootstrap-draws", "200"]


def caregap(*args):
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, f"caregap {args} failed: {r.stdout}{r.stderr}"
    return r.stdout


def differing(a: Path, b: Path):
    names = sorted(p.name for p in a.iterdir() if p.name != "run_manifest.json")
    assert "report.html" in names and "care_gaps.parquet" in names
    return [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("spark")
    caregap("synth", "--persons", PERSONS, "--seed", 20, "--chunk", 6000, "--out", d / "input")
    caregap("run", *RUN_ARGS, "--input", d / "input", "--out", d / "whole")
    return d


@pytest.fixture(scope="module")
def spark():
    s = driver.spark_session("local[2,3]", app="caregap-test")
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def test_spark_driver_equals_a_whole_run(data, spark):
    out = data / "spark_out"
    driver.run(spark, BIN, str(data / "input"), str(data / "spark_work"), str(out), BUCKETS,
               RUN_ARGS, threads=1)
    assert differing(data / "whole", out) == []
    # The bucketed layout Spark wrote holds every row once, in every bucket's folder.
    manifest = (data / "spark_work" / "input" / "_partition.json").read_text()
    assert '"buckets": 8' in manifest


def test_dataset_path_equals_a_whole_run(data, spark):
    """Tables read as whole datasets (the code path of Delta tables, here with Parquet
    folders, since delta-spark's jars are not on this machine): rows numbered from Spark's
    `_metadata` (file path, row index) give the same outputs."""
    out = data / "spark_dataset_out"
    driver.run(spark, BIN, str(data / "input"), str(data / "spark_dataset_work"), str(out),
               BUCKETS, RUN_ARGS, threads=1, dataset_format="parquet")
    assert differing(data / "whole", out) == []
    # The same original files, rows and hashes as caregap's own partition records.
    parts = data / "parts_for_manifest"
    if not parts.exists():
        caregap("partition", "--input", data / "input", "--out", parts, "--buckets", BUCKETS)
    ours = json.loads((parts / "_partition.json").read_text())
    spark_side = json.loads((data / "spark_dataset_work" / "input" / "_partition.json").read_text())
    assert spark_side == ours


def test_killed_bucket_task_is_retried_with_the_same_outputs(data, spark):
    out = data / "spark_retry_out"
    work = data / "spark_retry_work"
    driver.run(spark, BIN, str(data / "input"), str(work), str(out), BUCKETS, RUN_ARGS,
               threads=1, fail_once=3)
    assert (work / "partials" / ".killed-once-3").exists(), "the task was not killed"
    assert not (work / "partials" / "bucket=3" / "half-written.parquet").exists()
    assert differing(data / "whole", out) == []


def test_partition_run_bucket_merge_without_spark(data):
    parts = data / "parts"
    caregap("partition", "--input", data / "input", "--out", parts, "--buckets", BUCKETS)
    outs = []
    for i in range(BUCKETS):
        o = data / f"bucket_{i}"
        caregap("run", *RUN_ARGS, "--input", parts, "--bucket", i, "--out", o)
        outs.append(o)
    caregap("merge", *RUN_ARGS, "--inputs", *outs, "--out", data / "merged")
    assert differing(data / "whole", data / "merged") == []


def test_sparks_bucket_of_every_person_is_caregaps(data, spark):
    from pyspark.sql import functions as F

    parts = data / "parts"
    if not parts.exists():
        caregap("partition", "--input", data / "input", "--out", parts, "--buckets", BUCKETS)
    ours = (
        spark.read.parquet(str(parts / "eligibility"))
        .select("person_id", F.col("bucket").alias("ours"))
        .distinct()
    )
    spark_b = ours.withColumn("spark", F.expr(f"pmod(xxhash64(person_id), {BUCKETS})"))
    assert spark_b.count() >= PERSONS * 0.9
    assert spark_b.filter("ours != spark").count() == 0
