//! The `caregap` binary: exit statuses and messages as the README documents them.

use std::process::Command;

use polars::prelude::SerReader;

fn caregap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caregap"))
}

#[test]
fn usage_error_exits_2() {
    let o = caregap()
        .args(["run", "--input", "x", "--out", "y", "--period", "20x5"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = caregap().args(["frobnicate"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn missing_table_exits_3_and_names_it() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("medical_claim.csv"), "claim_id\n").unwrap();
    let o = caregap()
        .args([
            "run",
            "--input",
            d.path().to_str().unwrap(),
            "--out",
            d.path().join("o").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("eligibility"));
}

#[test]
fn run_writes_outputs_and_manifest_and_reruns_identically() {
    let story = crate::common::shared().join("cases/input_rules");
    let d = tempfile::tempdir().unwrap();
    let run = |out: &str| {
        let o = caregap()
            .args([
                "run",
                "--input",
                story.to_str().unwrap(),
                "--out",
                d.path().join(out).to_str().unwrap(),
                "--period",
                "2025",
                // The story rejects rows on purpose.
                "--max-reject-rate",
                "1",
            ])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let m: serde_json::Value = serde_json::from_slice(
            &std::fs::read(d.path().join(out).join("run_manifest.json")).unwrap(),
        )
        .unwrap();
        m["output_sha256"].clone()
    };
    let a = run("a");
    let b = run("b");
    assert_eq!(a, b, "rerun on the same inputs gives identical outputs");
    for name in ["conditions", "eligibility", "rejects"] {
        assert!(a[name].is_string(), "{name} hashed");
        let x = std::fs::read(d.path().join("a").join(format!("{name}.parquet"))).unwrap();
        let y = std::fs::read(d.path().join("b").join(format!("{name}.parquet"))).unwrap();
        assert_eq!(x, y, "{name}.parquet differs between reruns");
    }
    let left: Vec<_> = std::fs::read_dir(d.path().join("a"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "no temporary files are left behind");
}

#[test]
fn validate_lists_every_problem() {
    let story = crate::common::shared().join("cases/input_rules");
    let o = caregap()
        .args(["validate", "--input", story.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("7 problem(s) found"), "{s}");
    assert!(
        s.contains("medical_claim/part-2.csv, 6, claim_start_date"),
        "{s}"
    );
}

#[test]
fn value_sets_export_writes_every_set() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("vs.csv");
    let o = caregap()
        .args(["value-sets", "export", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("value_set,code_system,code\n"));
    for set in [
        "ed_visit",
        "antipsychotic",
        "hospice",
        "smoking",
        "mh_telehealth",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{set},"))),
            "{set}"
        );
    }
}

#[test]
fn gaps_prints_one_persons_rows_with_evidence() {
    let story = crate::common::shared().join("cases/acute_claim_dates");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let o = caregap()
        .args([
            "run",
            "--input",
            story.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let o = caregap()
        .args(["gaps", "--person", "A1", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("fuh_7 index 2025-03-05 due 2025-03-12: closed"),
        "{s}"
    );
    assert!(
        s.contains("opened by: IA1") && s.contains("closed by: FA1 on 2025-03-10"),
        "{s}"
    );
    let o = caregap()
        .args(["gaps", "--person", "nobody", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("no care-gap rows"));
}

#[test]
fn bootstrap_is_identical_on_one_and_two_threads() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    let o = caregap()
        .args([
            "synth",
            "--persons",
            "1500",
            "--seed",
            "9",
            "--out",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let run = |threads: &str| {
        let out = d.path().join(format!("out{threads}"));
        let o = caregap()
            .env("RAYON_NUM_THREADS", threads)
            .env("POLARS_MAX_THREADS", threads)
            .args([
                "run",
                "--input",
                input.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--bootstrap-draws",
                "200",
            ])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    };
    let (a, b) = (run("1"), run("2"));
    for name in [
        "cost_effectiveness",
        "utilization_monthly",
        "care_gaps",
        "measure_summary",
        "eligibility",
        "comparison_assignment",
    ] {
        let x = std::fs::read(a.join(format!("{name}.parquet"))).unwrap();
        let y = std::fs::read(b.join(format!("{name}.parquet"))).unwrap();
        assert_eq!(x, y, "{name}.parquet differs between 1 and 2 threads");
    }
    let ce = polars::prelude::ParquetReader::new(
        std::fs::File::open(a.join("cost_effectiveness.parquet")).unwrap(),
    )
    .finish()
    .unwrap();
    assert_eq!(
        ce.column("did_ci_low").unwrap().null_count(),
        0,
        "every interval is computed: {ce}"
    );
}

/// `caregap measures` lists the registry: every measure the run computes, with its facts, in
/// the order the summary has them; the JSON form is for programs, the Markdown form is
/// docs/measures.md.
#[test]
fn measures_lists_the_registry() {
    let o = caregap()
        .args(["measures", "--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = v.as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, caregap_transform::measures::ids());
    for m in list {
        for key in [
            "name",
            "kind",
            "lower_is_better",
            "steward",
            "version",
            "spec",
        ] {
            assert!(!m[key].is_null(), "{key} missing for {}", m["id"]);
        }
    }
    let pcr = list.iter().find(|m| m["id"] == "pcr_30").unwrap();
    assert_eq!(pcr["lower_is_better"], true);
    assert_eq!(pcr["kind"], "episode");
    let text = caregap().args(["measures"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("id "), "{text}");
    assert_eq!(text.lines().count(), ids.len() + 1);
    let md = caregap()
        .args(["measures", "--format", "markdown"])
        .output()
        .unwrap();
    let docs = std::fs::read_to_string(crate::common::root().join("docs/measures.md")).unwrap();
    assert_eq!(String::from_utf8_lossy(&md.stdout), docs);
}

/// PCR-HH's risk-weight table (docs/measures/pcr.md): a good file runs; a bad row is a usage
/// error (exit 2) naming the file, row and column; a missing file is a usage error too.
#[test]
fn pcr_risk_weights_is_read_and_a_bad_row_is_a_usage_error() {
    let story = crate::common::root().join("fixtures/cases/measures/pcr_hh");
    let d = tempfile::tempdir().unwrap();
    let run = |weights: &std::path::Path, out: &str| {
        caregap()
            .args([
                "run",
                "--input",
                story.to_str().unwrap(),
                "--out",
                d.path().join(out).to_str().unwrap(),
                "--period",
                "2025",
                "--pcr-risk-weights",
                weights.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let good = d.path().join("good.csv");
    std::fs::write(
        &good,
        "factor,value,weight\nbase,,-2.0\nage_sex,female:18-44,0.1\nobservation,,0.4\ncomorbidity,PNEU:J18,0.3\ncomorbidity,DIAB:E11,0.2\n",
    )
    .unwrap();
    let o = run(&good, "a");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // core_set carries the expected readmissions and O/E of H2's program (one observation
    // index stay, not readmitted: p = logistic(-2.0 + 0.4 + …) > 0, O/E = 0).
    let cs = polars::prelude::ParquetReader::new(
        std::fs::File::open(d.path().join("a/core_set.parquet")).unwrap(),
    )
    .finish()
    .unwrap();
    let cell = |rate: &str| {
        use polars::prelude::*;
        cs.clone()
            .lazy()
            .filter(
                col("program")
                    .eq(lit("HH-P2"))
                    .and(col("rate").eq(lit(rate)))
                    .and(col("age_band").eq(lit("total")))
                    .and(col("stratum_type").eq(lit("none"))),
            )
            .collect()
            .unwrap()
            .column("value")
            .unwrap()
            .f64()
            .unwrap()
            .get(0)
    };
    let expected = cell("Expected readmissions").expect("an expected row");
    assert!(expected > 0.05 && expected < 0.5, "{expected}");
    assert_eq!(cell("O/E ratio"), Some(0.0));
    let bad = d.path().join("bad.csv");
    std::fs::write(&bad, "factor,value,weight\nbase,,-2.0\nlos,1-3,abc\n").unwrap();
    let o = run(&bad, "b");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.csv") && err.contains("row 2") && err.contains("weight"),
        "{err}"
    );
    let o = run(&d.path().join("absent.csv"), "c");
    assert_eq!(o.status.code(), Some(2));
}
