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

fn synth(dir: &Path, persons: usize, seed: u64) -> PathBuf {
    let input = dir.join("input");
    ok(caregap()
        .args([
            "synth",
            "--persons",
            &persons.to_string(),
            "--seed",
            &seed.to_string(),
            "--chunk",
            "700",
            "--out",
        ])
        .arg(&input));
    input
}

const RUN: [&str; 4] = ["--period", "2025", "--bootstrap-draws", "200"];

#[test]
fn buckets_threads_and_merge_give_byte_identical_outputs() {
    let d = tempfile::tempdir().unwrap();
    let input = synth(d.path(), 2500, 11);
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

    // One thread, in-process buckets, a memory cap that forces buckets.
    let variants: Vec<(&str, Vec<&str>)> = vec![
        ("one thread", vec!["--threads", "1"]),
        ("5 buckets in-process", vec!["--buckets", "5"]),
        (
            "memory limit",
            vec!["--memory-limit", "1MiB", "--threads", "1"],
        ),
    ];
    for (name, extra) in variants {
        let out = d.path().join(name.replace(' ', "_"));
        let stderr = caregap()
            .arg("run")
            .args(RUN)
            .args(&extra)
            .arg("--input")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(stderr.status.success(), "{name}: {stderr:?}");
        if name == "memory limit" {
            let e = String::from_utf8_lossy(&stderr.stderr);
            assert!(e.contains("person bucket(s)"), "{e}");
            let m: serde_json::Value =
                serde_json::from_slice(&fs::read(out.join("run_manifest.json")).unwrap()).unwrap();
            let stages: Vec<&str> = m["timings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["stage"].as_str().unwrap())
                .collect();
            assert!(stages.contains(&"partition"), "{stages:?}");
            assert!(
                stages
                    .iter()
                    .filter(|s| s.starts_with("bucket ") && s.ends_with(": ingest"))
                    .count()
                    > 1,
                "a 1 MiB cap must split the input: {stages:?}"
            );
        }
        assert_eq!(
            differing_outputs(&whole, &out),
            Vec::<String>::new(),
            "{name}"
        );
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

    // The manifests agree on everything but timings.
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&fs::read(p.join("run_manifest.json")).unwrap()).unwrap()
    };
    let (a, b) = (read(&whole), read(&merged));
    for key in [
        "summary",
        "inputs",
        "data_quality",
        "coverage_check",
        "output_sha256",
    ] {
        assert_eq!(a[key], b[key], "manifest `{key}`");
    }

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
