"""The Spark driver of caregap (issue #10).

Three steps, each one Spark job or less:

1. **Bucket** (:func:`bucket_input`): every input-layer table Spark can read (Parquet, CSV,
   Delta) is written as ``<table>/bucket=<i>/part-*.parquet`` with
   ``bucket = pmod(xxhash64(person_id), N)`` — Spark's own function, which caregap
   reimplements bit for bit — plus ``_source_file_index`` and ``_source_row`` so that
   rejected rows name their original file and row. ``_partition.json`` lists the original files.
2. **Run** (:func:`run_buckets`): one Spark task per bucket runs the ``caregap`` binary on its
   bucket (``caregap run --bucket i``); no claim row crosses into Python. Each task writes its
   partial atomically (staging folder, then rename), so a task Spark retries replaces the
   failed attempt's leftovers and never adds to them.
3. **Merge**: ``caregap merge`` on the driver checks that every bucket is there exactly once
   and makes the outputs from the merged partials, byte-identical to ``caregap run`` on the
   whole input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

#: The input-layer tables caregap reads (spec input-layer.md), in caregap's order.
INPUT_TABLES = [
    "eligibility",
    "health_home_enrollment",
    "lab_result",
    "medical_claim",
    "observation",
    "pharmacy_claim",
]

HASH_DESCRIPTION = "pmod(xxhash64(person_id), buckets), Spark's XXH64 with seed 42"


class CaregapNotFound(FileNotFoundError):
    """No caregap binary was found (:func:`find_caregap`)."""


def _script_dirs() -> List[Path]:
    """Where pip puts the ``caregap`` command of ``pip install caregap-….whl`` for the Python
    that runs this driver: its scripts folder, ``sys.prefix/bin``, the user scheme's scripts
    folder (``pip install --user``). A worker's Python often has none of them on PATH."""
    candidates = [sysconfig.get_path("scripts"), os.path.join(sys.prefix, "bin")]
    if f"{os.name}_user" in sysconfig.get_scheme_names():
        candidates.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    dirs: List[Path] = []
    for d in candidates:
        if d and Path(d) not in dirs:
            dirs.append(Path(d))
    return dirs


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_caregap(explicit: Optional[str] = None) -> str:
    """The caregap binary the driver runs, first found of: ``explicit`` (``--caregap``), the
    environment variable ``CAREGAP_BIN``, the ``caregap`` command installed beside the running
    Python (:func:`_script_dirs`), ``caregap`` on PATH.

    A path given with ``--caregap`` or ``CAREGAP_BIN`` must be an executable file here (a bare
    name is looked up on PATH): the driver runs ``caregap merge`` itself, and the bucket tasks
    run the same path on the workers, so install the wheel into the same environment on every
    node. A given path that does not work is an error, never a reason to run another binary.
    Raises :class:`CaregapNotFound` naming everything tried."""
    tried = []
    given = (("--caregap", explicit, "not given"),
             ("CAREGAP_BIN", os.environ.get("CAREGAP_BIN"), "not set"))
    for source, value, absent in given:
        if not value:
            tried.append(f"{source}: {absent}")
            continue
        if os.sep in value:
            if _executable(Path(value)):
                # Absolute: the tasks' Python workers need not share the driver's folder.
                return os.path.abspath(value)
            tried.append(f"{source}={value}: not an executable file")
        else:
            found = shutil.which(value)
            if found:
                return found
            tried.append(f"{source}={value}: not found on PATH")
        raise CaregapNotFound(_not_found(tried))
    for d in _script_dirs():
        candidate = d / "caregap"
        if _executable(candidate):
            return str(candidate)
        tried.append(f"{candidate}: absent")
    found = shutil.which("caregap")
    if found:
        return found
    tried.append("caregap on PATH: absent")
    raise CaregapNotFound(_not_found(tried))


def _not_found(tried: Sequence[str]) -> str:
    return (
        "caregap binary not found. Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nInstall it into this Python with `pip install caregap-<version>-<platform>.whl`"
        " (build the wheel with `bash scripts/build-wheel`), or pass --caregap PATH or set"
        " CAREGAP_BIN."
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _table_files(root: Path, table: str) -> List[Path]:
    """The files of a table as caregap finds them: T.csv, T.parquet or T/*.{csv,parquet},
    sorted by name."""
    files = [root / f"{table}.{ext}" for ext in ("csv", "parquet")]
    files = [f for f in files if f.is_file()]
    folder = root / table
    if folder.is_dir():
        files += sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix in (".csv", ".parquet")
        )
    return files


def _read_file(spark, path: Path):
    if path.suffix == ".csv":
        # Every column as text, as caregap reads CSV (codes keep their leading zeros).
        return spark.read.option("header", True).option("inferSchema", False).csv(str(path))
    return spark.read.parquet(str(path))


def _with_row_numbers(spark, df, path: Path, offset: int):
    """Add ``_source_row``: the 1-based row of each record in its file, plus ``offset``."""
    from pyspark.sql import functions as F

    if path.suffix == ".parquet":
        # Spark ≥ 3.5 exposes the row's position in its Parquet file.
        return df.withColumn(
            "_source_row", F.col("_metadata.row_index") + F.lit(offset + 1)
        )
    # CSV has no row index in Spark: number the rows in file order (partitions follow the
    # file's byte order). This round-trips through the RDD API; prefer Parquet at scale.
    schema = df.schema.add("_source_row", "long")
    rdd = df.rdd.zipWithIndex().map(lambda r: tuple(r[0]) + (r[1] + offset + 1,))
    return spark.createDataFrame(rdd, schema)


def _local_path(uri: str) -> Optional[Path]:
    from urllib.parse import unquote, urlparse

    u = urlparse(uri)
    if u.scheme in ("", "file"):
        return Path(unquote(u.path))
    return None


def _bucket_column(df, buckets: int):
    from pyspark.sql import functions as F

    pid = "person_id" if "person_id" in df.columns else "patient_id"
    return pid, df.withColumn(
        "bucket", F.expr(f"pmod(xxhash64(CAST(`{pid}` AS STRING)), {int(buckets)})")
    )


def _read_dataset(spark, root: Path, table: str, fmt: str, buckets: int):
    """A table stored as a dataset Spark reads as a whole (a Delta table: ``fmt="delta"``).

    Its data files play the part of caregap's part files: sorted by path, each row numbered by
    its position in its file (``_metadata.row_index``) plus the rows of the files before it."""
    from pyspark.sql import functions as F

    df = spark.read.format(fmt).load(str(root / table))
    df = df.withColumn("_file", F.col("_metadata.file_path")).withColumn(
        "_ri", F.col("_metadata.row_index")
    )
    counts = sorted((r["_file"], r["count"]) for r in df.groupBy("_file").count().collect())
    pid, df = _bucket_column(df, buckets)
    records, index_rows, offset = [], [], 0
    for i, (uri, n) in enumerate(counts):
        local = _local_path(uri)
        try:
            rel = local.relative_to(root.resolve()).as_posix() if local else uri
        except ValueError:
            rel = uri
        records.append(
            {
                "file": rel,
                "rows": n,
                "sha256": _sha256(local) if local and local.is_file() else "",
                "column_aliases": {"person_id": "patient_id"} if pid == "patient_id" else {},
            }
        )
        index_rows.append((uri, i, offset))
        offset += n
    index = spark.createDataFrame(index_rows, "_file string, _source_file_index int, _offset long")
    df = (
        df.join(F.broadcast(index), "_file")
        .withColumn("_source_row", F.col("_offset") + F.col("_ri") + F.lit(1))
        .drop("_file", "_ri", "_offset")
    )
    return df, records


def bucket_input(spark, input_dir: str, out_dir: str, buckets: int,
                 dataset_format: Optional[str] = None) -> dict:
    """Write the input layer in ``input_dir`` bucketed by person into ``out_dir``.

    A table is a file (``T.parquet``, ``T.csv``), a folder of part files, or a Delta table (a
    folder with ``_delta_log``, read with Spark's ``delta`` format, which needs the delta-spark
    package). ``dataset_format`` reads every table folder as one dataset of that format (the
    Delta path, exercised in tests with ``"parquet"``).

    Returns the partition manifest (also written as ``_partition.json``)."""
    from pyspark.sql import functions as F

    root, out = Path(input_dir).resolve(), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"buckets": buckets, "hash": HASH_DESCRIPTION, "tables": {}}
    for table in INPUT_TABLES:
        fmt = dataset_format
        if fmt is None and (root / table / "_delta_log").is_dir():
            fmt = "delta"
        if fmt is not None and (root / table).is_dir():
            table_df, records = _read_dataset(spark, root, table, fmt, buckets)
            _write_buckets(table_df, out / table, buckets)
            manifest["tables"][table] = records
            _fill_empty_buckets(table_df, out, table, buckets)
            continue
        files = _table_files(root, table)
        if not files:
            continue
        frames, records, offset = [], [], 0
        for path in files:
            df = _read_file(spark, path)
            rows = df.count()
            rel = path.relative_to(root).as_posix()
            df = _with_row_numbers(spark, df, path, offset)
            df = df.withColumn("_source_file_index", F.lit(len(records)).cast("int"))
            pid, df = _bucket_column(df, buckets)
            frames.append(df)
            records.append(
                {
                    "file": rel,
                    "rows": rows,
                    "sha256": _sha256(path),
                    "column_aliases": {"person_id": "patient_id"} if pid == "patient_id" else {},
                }
            )
            offset += rows
        table_df = frames[0]
        for df in frames[1:]:
            table_df = table_df.unionByName(df, allowMissingColumns=True)
        _write_buckets(table_df, out / table, buckets)
        _fill_empty_buckets(table_df, out, table, buckets)
        manifest["tables"][table] = records
    shutil.rmtree(out / "_empty", ignore_errors=True)
    (out / "_partition.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def _write_buckets(table_df, folder: Path, buckets: int):
    """One file per bucket, rows in their original order (caregap then reads them as they
    are; it would have to sort them otherwise). Sorting by bucket first satisfies the ordering
    Spark's partitioned writer needs, so it adds no sort of its own."""
    (
        table_df.repartition(int(buckets), "bucket")
        .sortWithinPartitions("bucket", "_source_row")
        .write.mode("overwrite")
        .partitionBy("bucket")
        .parquet(str(folder))
    )


def _fill_empty_buckets(table_df, out: Path, table: str, buckets: int):
    """Every bucket has the table, if only as an empty file with its schema."""
    empty = table_df.drop("bucket").limit(0)
    for i in range(buckets):
        d = out / table / f"bucket={i}"
        if not d.is_dir() or not any(p.suffix == ".parquet" for p in d.iterdir()):
            tmp = out / "_empty" / table / str(i)
            empty.coalesce(1).write.mode("overwrite").parquet(str(tmp))
            d.mkdir(parents=True, exist_ok=True)
            for p in tmp.glob("*.parquet"):
                shutil.move(str(p), str(d / "part-empty.parquet"))


def _bucket_task(caregap: str, bucketed: str, partials: str, run_args: Sequence[str],
                 threads: int, fail_once: Optional[int]):
    """The function each Spark task runs: ``caregap run --bucket i`` on its bucket."""

    def task(i: int):
        out = Path(partials) / f"bucket={i}"
        if fail_once is not None and i == fail_once:
            marker = Path(partials) / f".killed-once-{i}"
            if not marker.exists():
                marker.write_text("killed")
                # Leave half a bucket behind, then die as an executor would.
                out.mkdir(parents=True, exist_ok=True)
                (out / "half-written.parquet").write_bytes(b"PAR1")
                os._exit(137)
        env = dict(os.environ, POLARS_MAX_THREADS=str(threads), RAYON_NUM_THREADS=str(threads))
        cmd = [caregap, "run", *run_args, "--input", bucketed, "--bucket", str(i),
               "--out", str(out), "--threads", str(threads)]
        if out.exists() and not (out / "partial.json").exists():
            # Leftovers of a killed attempt: caregap refuses to replace a folder it did not
            # write, so clear it (it holds only this bucket's unfinished files).
            shutil.rmtree(out)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"caregap bucket {i} failed ({r.returncode}): {r.stderr}")
        return i, str(out)

    return task


def run_buckets(spark, caregap: str, bucketed: str, partials: str, buckets: int,
                run_args: Sequence[str], threads: int = 1,
                fail_once: Optional[int] = None) -> List[str]:
    """Run one Spark task per bucket; returns the partial folders in bucket order."""
    Path(partials).mkdir(parents=True, exist_ok=True)
    task = _bucket_task(caregap, bucketed, partials, list(run_args), threads, fail_once)
    done = (
        spark.sparkContext.parallelize(range(buckets), buckets)
        .map(task)
        .collect()
    )
    return [p for _, p in sorted(done)]


def run(spark, caregap: str, input_dir: str, work_dir: str, out_dir: str, buckets: int,
        run_args: Sequence[str] = (), threads: int = 1, fail_once: Optional[int] = None,
        dataset_format: Optional[str] = None) -> str:
    """Bucket the input, run every bucket as a Spark task, merge into ``out_dir``."""
    work = Path(work_dir)
    bucketed = str(work / "input")
    partials = str(work / "partials")
    if Path(bucketed).exists():
        shutil.rmtree(bucketed)
    bucket_input(spark, input_dir, bucketed, buckets, dataset_format)
    folders = run_buckets(spark, caregap, bucketed, partials, buckets, run_args, threads,
                          fail_once)
    cmd = [caregap, "merge", *run_args, "--inputs", *folders, "--out", out_dir]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"caregap merge failed ({r.returncode}): {r.stderr}")
    return out_dir


def spark_session(master: Optional[str] = None, app: str = "caregap"):
    """A Spark session with the settings caregap needs (see docs/scale-out.md)."""
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName(app)
    if master:
        b = b.master(master)
    return (
        b.config("spark.ui.enabled", "false")
        # A failed bucket is retried by Spark; merge refuses a missing or doubled bucket.
        # (No Arrow settings: caregap reads the files Spark writes; no rows cross to Python.)
        .config("spark.task.maxFailures", "4")
        .getOrCreate()
    )


def main(argv: Optional[Iterable[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="caregap-spark",
        description="Run caregap on Spark: bucket by person, one task per bucket, exact merge.",
    )
    p.add_argument("--input", required=True, help="input-layer folder (Parquet or CSV tables)")
    p.add_argument("--out", required=True, help="output folder (as `caregap run --out`)")
    p.add_argument("--work", required=True,
                   help="working folder on storage every executor sees (bucketed input, partials)")
    p.add_argument("--buckets", type=int, required=True)
    p.add_argument("--caregap", default=None,
                   help="path of the caregap binary on the driver and every worker (default:"
                        " $CAREGAP_BIN, then the caregap installed beside this Python by"
                        " `pip install caregap-….whl`, then PATH)")
    p.add_argument("--threads", type=int, default=1, help="threads per bucket task")
    p.add_argument("--master", default=None, help="Spark master (default: from spark-submit)")
    args, run_args = p.parse_known_args(list(argv) if argv is not None else None)
    try:
        caregap = find_caregap(args.caregap)
    except CaregapNotFound as e:
        print(f"caregap-spark: error: {e}", file=sys.stderr)
        return 2
    spark = spark_session(args.master)
    try:
        run(spark, caregap, args.input, args.work, args.out, args.buckets, run_args,
            args.threads)
    finally:
        spark.stop()
    print(f"caregap-spark: {args.buckets} buckets merged into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
