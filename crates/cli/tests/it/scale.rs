//! Person buckets (issues #9 and #10): the same outputs, byte for byte, whatever the number of
//! buckets, the way they were run (in-process, `partition` + `run --bucket` + `merge`), the
//! number of threads; Spark's bucket function; merges that would lose or double persons are
//! refused.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use caregap_ingest::partition::{bucket_of, spark_xxhash64};

fn caregap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caregap"))
}

fn ok(c: &mut Command) -> String {
    let o = c.output().expect("caregap runs");
    assert!(
        o.status.success(),
        "{:?} failed: {}{}",
        c,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Output files of `a` (all but the run manifest, whose timings differ) that are missing from
/// `b` or differ from it byte for byte.
pub fn differing_outputs(a: &Path, b: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(a)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n != "run_manifest.json")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    assert!(
        names.iter().any(|n| n == "report.html"),
        "{} holds no outputs",
        a.display()
    );
    names
        .into_iter()
        .filter(|n| fs::read(a.join(n)).ok() != fs::read(b.join(n)).ok())
        .collect()
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(out.join("run_manifest.json")).unwrap()).unwrap()
}

/// The stages a run timed, in order.
fn stages(out: &Path) -> Vec<String> {
    manifest(out)["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stage"].as_str().unwrap().to_string())
        .collect()
}

/// The number of buckets a run in `out` was computed in (1: one pass).
pub fn bucket_count(out: &Path) -> usize {
    stages(out)
        .iter()
        .filter(|s| s.starts_with("bucket ") && s.ends_with(": ingest"))
        .count()
        .max(1)
}

/// The run manifests of `a` and `b` agree on everything but timings.
fn same_manifest_facts(a: &Path, b: &Path) {
    let (a, b) = (manifest(a), manifest(b));
    for key in [
        "summary",
        "inputs",
        "data_quality",
        "coverage_check",
        "output_sha256",
    ] {
        assert_eq!(a[key], b[key], "manifest `{key}`");
    }
}

fn synth(dir: &Path, persons: usize, seed: u64) -> PathBuf {
    synth_chunked(dir, persons, seed, 700)
}

/// `caregap synth` writes persons in id order, `chunk` to a file: with small chunks, an input
/// clustered by person.
fn synth_chunked(dir: &Path, persons: usize, seed: u64, chunk: usize) -> PathBuf {
    let input = dir.join("input");
    ok(caregap()
        .args([
            "synth",
            "--persons",
            &persons.to_string(),
            "--seed",
            &seed.to_string(),
            "--chunk",
            &chunk.to_string(),
            "--out",
        ])
        .arg(&input));
    input
}

const RUN: [&str; 4] = ["--period", "2025", "--bootstrap-draws", "200"];

/// `caregap run` of `input` into `out` with the options `extra`, checked to give the outputs
/// (byte for byte) and manifest facts of the run in `whole`; returns the run's stages and its
/// stderr.
fn run_same_as(whole: &Path, input: &Path, out: &Path, extra: &[&str]) -> (Vec<String>, String) {
    let o = caregap()
        .arg("run")
        .args(RUN)
        .args(extra)
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{extra:?}: {o:?}");
    assert_eq!(
        differing_outputs(whole, out),
        Vec::<String>::new(),
        "{extra:?}"
    );
    same_manifest_facts(whole, out);
    (stages(out), String::from_utf8_lossy(&o.stderr).to_string())
}

#[test]
fn buckets_threads_and_merge_give_byte_identical_outputs() {
    let d = tempfile::tempdir().unwrap();
    let input = synth_chunked(d.path(), 2500, 11, 100);
    let whole = d.path().join("whole");
    ok(caregap()
        .arg("run")
        .args(RUN)
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&whole));

    let big = caregap_cli::pipeline::buckets_for_memory(&input, 64 << 30).unwrap();
    let small = caregap_cli::pipeline::buckets_for_memory(&input, 1 << 20).unwrap();
    assert_eq!(big, 1);
    assert!(small > 1, "{small}");

    // One thread, in-process buckets (person ranges, as this input is clustered by person,
    // or a hash partition), a memory cap that forces buckets.
    let variants: Vec<(&str, Vec<&str>, &str)> = vec![
        ("one thread", vec!["--threads", "1"], "none"),
        ("5 buckets in-process", vec!["--buckets", "5"], "plan"),
        (
            "5 hash buckets",
            vec!["--buckets", "5", "--bucketing", "hash"],
            "partition",
        ),
        (
            "memory limit",
            vec!["--memory-limit", "1MiB", "--threads", "1"],
            "plan",
        ),
    ];
    for (name, extra, split_stage) in variants {
        let out = d.path().join(name.replace(' ', "_"));
        let (stages, stderr) = run_same_as(&whole, &input, &out, &extra);
        for split in ["plan", "partition"] {
            assert_eq!(
                stages.iter().any(|s| s == split),
                split == split_stage,
                "{name}: {stages:?}"
            );
        }
        if name != "one thread" {
            assert!(stderr.contains("person bucket(s)"), "{stderr}");
            assert!(
                bucket_count(&out) > 1,
                "{name} must split the input: {stages:?}"
            );
        }
    }

    // partition + one process per bucket + merge, buckets given in any order.
    let parts = d.path().join("parts");
    let text = ok(caregap()
        .args(["partition", "--buckets", "4", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&parts));
    assert!(text.contains("medical_claim"), "{text}");
    let mut outs = vec![];
    for i in [2, 0, 3, 1] {
        let o = d.path().join(format!("bucket{i}"));
        ok(caregap()
            .arg("run")
            .args(RUN)
            .args(["--bucket", &i.to_string(), "--input"])
            .arg(&parts)
            .arg("--out")
            .arg(&o));
        outs.push(o);
    }
    // A retried bucket task (same bucket, same folder) leaves the same partial.
    let before = fs::read(outs[0].join("utilization_persons.parquet")).unwrap();
    ok(caregap()
        .arg("run")
        .args(RUN)
        .args(["--bucket", "2", "--input"])
        .arg(&parts)
        .arg("--out")
        .arg(&outs[0]));
    assert_eq!(
        before,
        fs::read(outs[0].join("utilization_persons.parquet")).unwrap()
    );
    let merged = d.path().join("merged");
    ok(caregap()
        .arg("merge")
        .args(RUN)
        .arg("--inputs")
        .args(&outs)
        .arg("--out")
        .arg(&merged));
    assert_eq!(differing_outputs(&whole, &merged), Vec::<String>::new());

    same_manifest_facts(&whole, &merged);

    // Merges that would lose or double persons, or mix settings, are refused.
    let refused = |args: Vec<&PathBuf>, extra: &[&str], want: &str| {
        let o = caregap()
            .arg("merge")
            .args(extra)
            .arg("--inputs")
            .args(args)
            .arg("--out")
            .arg(d.path().join("refused"))
            .output()
            .unwrap();
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(want), "{e}");
        assert!(!d.path().join("refused").exists());
    };
    refused(vec![&outs[0], &outs[1], &outs[2]], &RUN, "missing: [1]");
    refused(
        vec![&outs[0], &outs[1], &outs[2], &outs[3], &outs[1]],
        &RUN,
        "given more than once: [0]",
    );
    refused(
        outs.iter().collect(),
        &["--period", "2024", "--bootstrap-draws", "200"],
        "other settings",
    );
    refused(vec![&whole], &RUN, "not a bucket output");
    // A partial of another on-disk format version (another caregap wrote it) is refused,
    // naming the file, both versions and what to do.
    let facts = outs[1].join(caregap_scaleout::PARTIAL_FACTS);
    let mut json: serde_json::Value = serde_json::from_slice(&fs::read(&facts).unwrap()).unwrap();
    json["format_version"] = (caregap_scaleout::FORMAT_VERSION + 1).into();
    fs::write(&facts, serde_json::to_vec(&json).unwrap()).unwrap();
    refused(
        outs.iter().collect(),
        &RUN,
        &format!(
            "{}: partial format version {}, this caregap reads version {}",
            facts.display(),
            caregap_scaleout::FORMAT_VERSION + 1,
            caregap_scaleout::FORMAT_VERSION
        ),
    );
    refused(outs.iter().collect(), &RUN, "re-run the buckets");
}

#[test]
fn partition_puts_every_row_in_exactly_one_bucket_with_its_origin() {
    let d = tempfile::tempdir().unwrap();
    let input = synth(d.path(), 600, 3);
    let parts = d.path().join("parts");
    let s = caregap_ingest::partition::partition(&input, &parts, 5).unwrap();
    let whole = caregap_ingest::read_input_layer(&input).unwrap();
    for (table, per_bucket) in &s.rows_per_bucket {
        let t = whole.table(table);
        assert_eq!(
            per_bucket.iter().sum::<usize>(),
            t.rows_read,
            "{table}: rows lost or duplicated"
        );
        let mut rows = vec![];
        for b in 0..5 {
            let l = caregap_ingest::read_input_layer_in(
                &parts,
                caregap_ingest::Layout::Bucket(b),
                Some(&[table.as_str()]),
            )
            .unwrap();
            let bt = l.table(table);
            assert!(bt.present, "{table} bucket {b} must exist even if empty");
            // Every person of the bucket hashes to it.
            for id in bt.data.column("person_id").unwrap().str().unwrap().iter() {
                assert_eq!(bucket_of(id, 5), b, "{table}: {id:?}");
            }
            // The manifest names the original files.
            let files: Vec<&str> = bt.files.iter().map(|f| f.relative.as_str()).collect();
            let orig: Vec<&str> = t.files.iter().map(|f| f.relative.as_str()).collect();
            assert_eq!(files, orig);
            rows.push(bt.rows_read);
        }
        assert_eq!(&rows, per_bucket);
    }
    let pm = caregap_ingest::partition::PartitionManifest::read(&parts)
        .unwrap()
        .unwrap();
    assert_eq!(pm.buckets, 5);
    let sha: Vec<&str> = pm.tables["medical_claim"]
        .iter()
        .map(|r| r.sha256.as_str())
        .collect();
    let orig: Vec<&str> = whole
        .table("medical_claim")
        .files
        .iter()
        .map(|f| f.sha256.as_str())
        .collect();
    assert_eq!(sha, orig);
}

#[test]
fn bucket_out_of_range_is_an_input_error() {
    let d = tempfile::tempdir().unwrap();
    let input = synth(d.path(), 50, 1);
    let parts = d.path().join("parts");
    caregap_ingest::partition::partition(&input, &parts, 2).unwrap();
    let o = caregap()
        .arg("run")
        .args(RUN)
        .args(["--bucket", "2", "--input"])
        .arg(&parts)
        .arg("--out")
        .arg(d.path().join("b2"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("buckets 0..2"));
    // A flat input has no partition manifest.
    let o = caregap()
        .arg("run")
        .args(RUN)
        .args(["--bucket", "0", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(d.path().join("b0"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("partition manifest"));
}

/// `xxhash64(person_id)` and `pmod(…, 8)`, `pmod(…, 16)` as Spark computed them (pyspark 4.3,
/// `local[1]`, 2026-11-25; `python/tests/spark_hash_values.py` prints them again).
#[test]
fn bucket_ids_equal_sparks() {
    let long = "x".repeat(1000);
    let cases: [(Option<&str>, i64, u32, u32); 11] = [
        (Some(""), -7444071767201028348, 4, 4),
        (Some("a"), -8582455328737087284, 4, 12),
        (Some("abc"), 1423657621850124518, 6, 6),
        (Some("P000001"), -7552983495468795018, 6, 6),
        (Some("person-42"), 8149993531380652062, 6, 14),
        (Some("Müller-Ñandú"), -4485535677801268062, 2, 2),
        (Some("日本語の患者"), 5820782791961828981, 5, 5),
        (Some("😀 emoji"), -5487103425106627094, 2, 10),
        (Some(long.as_str()), -8448076897081045321, 7, 7),
        (
            Some("0123456789abcdefghijklmnopqrstuvwxyz0123456789"),
            5396364714218335326,
            6,
            14,
        ),
        (None, 42, 2, 10),
    ];
    for (id, h, b8, b16) in cases {
        assert_eq!(spark_xxhash64(id), h, "{id:?}");
        assert_eq!(bucket_of(id, 8), b8, "{id:?}");
        assert_eq!(bucket_of(id, 16), b16, "{id:?}");
    }
}

/// Every table of the synthetic input `src` written to `dst` as `parts` files, rows dealt out
/// round-robin (so that no file is clustered by person when `parts > 1`), after `edit`.
fn rewrite(
    src: &Path,
    dst: &Path,
    parts: u32,
    edit: impl Fn(&str, polars::prelude::LazyFrame) -> polars::prelude::LazyFrame,
) {
    use polars::prelude::*;
    for spec in caregap_ingest::schema::all_tables() {
        let table = spec.name;
        let dir = src.join(table);
        if !dir.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let scans: Vec<LazyFrame> = files
            .iter()
            .map(|p| {
                LazyFrame::scan_parquet(
                    PlRefPath::new(p.to_string_lossy().as_ref()),
                    Default::default(),
                )
                .unwrap()
            })
            .collect();
        let all = edit(
            table,
            concat(scans, UnionArgs::default())
                .unwrap()
                .with_row_index("__i", None),
        );
        fs::create_dir_all(dst.join(table)).unwrap();
        for k in 0..parts {
            let mut part = all
                .clone()
                .filter((col("__i") % lit(parts)).eq(lit(k)))
                .drop(cols(["__i"]))
                .collect()
                .unwrap();
            let f = fs::File::create(dst.join(table).join(format!("part-{k}.parquet"))).unwrap();
            ParquetWriter::new(f).finish(&mut part).unwrap();
        }
    }
}

/// `src` with no file clustered by person (3 files per table, rows dealt round-robin). Some
/// medical claim lines lose their person id and some get a start date that is no date, so
/// that the runs have rejects to name by file and row.
fn unclustered(src: &Path, dst: &Path) {
    use polars::prelude::*;
    rewrite(src, dst, 3, |table, lf| {
        if table != "medical_claim" {
            return lf;
        }
        lf.with_columns([
            when((col("__i") % lit(101)).eq(lit(7)))
                .then(lit(NULL).cast(DataType::String))
                .otherwise(col("person_id"))
                .alias("person_id"),
            when((col("__i") % lit(53)).eq(lit(5)))
                .then(lit("2025-02-30"))
                .otherwise(col("claim_start_date").cast(DataType::String))
                .alias("claim_start_date"),
        ])
    });
}

#[test]
fn person_ids_stored_as_numbers_split_the_same_way_in_every_mode() {
    use polars::prelude::*;
    let d = tempfile::tempdir().unwrap();
    let input = synth_chunked(d.path(), 800, 9, 100);
    // `P00000123` → 123, an Int64 column: runs read the id as its text, "123".
    let numeric = d.path().join("numeric");
    rewrite(&input, &numeric, 1, |_, lf| {
        lf.with_column(
            col("person_id")
                .str()
                .strip_prefix(lit("P"))
                .cast(DataType::Int64)
                .alias("person_id"),
        )
    });
    let whole = d.path().join("whole");
    ok(caregap()
        .arg("run")
        .args(RUN)
        .arg("--input")
        .arg(&numeric)
        .arg("--out")
        .arg(&whole));
    let rows = &manifest(&whole)["output_rows"];
    assert_eq!(
        rows["eligibility"], 800,
        "every numeric id is a person: {rows}"
    );
    assert_eq!(rows["rejects"], 0, "{rows}");
    assert!(rows["care_gaps"].as_u64().unwrap() > 0, "{rows}");
    for bucketing in ["range", "hash"] {
        let out = d.path().join(bucketing);
        run_same_as(
            &whole,
            &numeric,
            &out,
            &["--buckets", "4", "--bucketing", bucketing],
        );
    }
}

#[test]
fn person_ranges_are_exact_on_an_unclustered_input_with_rejects() {
    let d = tempfile::tempdir().unwrap();
    let input = synth(d.path(), 1200, 5);
    let mixed = d.path().join("mixed");
    unclustered(&input, &mixed);
    let whole = d.path().join("whole");
    ok(caregap()
        .arg("run")
        .args(RUN)
        .arg("--input")
        .arg(&mixed)
        .arg("--out")
        .arg(&whole));
    let rejects = manifest(&whole)["data_quality"].to_string();
    assert!(
        rejects.contains("medical_claim") && rejects.contains("date"),
        "the mixed input must have rejects: {rejects}"
    );
    for (name, extra, split_stage) in [
        // Not clustered: auto bucketing takes the hash partition.
        ("auto", vec!["--buckets", "4"], "partition"),
        ("memory limit", vec!["--memory-limit", "1MiB"], "partition"),
        // Person ranges forced on an unclustered input: slow, and still exact.
        (
            "ranges",
            vec!["--buckets", "4", "--bucketing", "range"],
            "plan",
        ),
    ] {
        let out = d.path().join(name.replace(' ', "_"));
        let (stages, _) = run_same_as(&whole, &mixed, &out, &extra);
        assert!(
            stages.iter().any(|s| s == split_stage),
            "{name}: {stages:?}"
        );
    }
}

#[test]
fn person_ranges_put_every_row_in_exactly_one_bucket() {
    let d = tempfile::tempdir().unwrap();
    let input = synth_chunked(d.path(), 600, 3, 50);
    let survey = caregap_ingest::ranges::survey(&input).unwrap();
    let plan = survey.plan(5);
    assert_eq!(plan.buckets(), 5);
    // 12 files per table, each a range of persons: clustered (each cut makes one file be
    // read twice).
    assert!(plan.read_factor() < 1.5, "{}", plan.read_factor());
    let whole = caregap_ingest::read_input_layer(&input).unwrap();
    for (table, t) in &whole.tables {
        if !t.present {
            continue;
        }
        let mut rows = 0;
        for b in 0..5 {
            let l = caregap_ingest::read_input_layer_range(&input, &plan, b).unwrap();
            let bt = l.table(table);
            assert!(bt.present, "{table} bucket {b}");
            let (lo, hi) = plan.bounds(b);
            for id in bt.data.column("person_id").unwrap().str().unwrap().iter() {
                let id = id.expect("synth ids are never null");
                assert!(lo.is_none_or(|lo| id >= lo) && hi.is_none_or(|hi| id < hi));
            }
            // Files are named, with their SHA-256, as a whole run names them.
            let files: Vec<(&str, &str)> = bt
                .files
                .iter()
                .map(|f| (f.relative.as_str(), f.sha256.as_str()))
                .collect();
            let orig: Vec<(&str, &str)> = t
                .files
                .iter()
                .map(|f| (f.relative.as_str(), f.sha256.as_str()))
                .collect();
            assert_eq!(files, orig);
            rows += bt.rows_read;
        }
        assert_eq!(rows, t.rows_read, "{table}: rows lost or duplicated");
    }
}
