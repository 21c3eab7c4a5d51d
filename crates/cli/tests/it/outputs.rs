//! The output contract (crates/report/src/contract.rs) against what runs really write: every
//! file of a run's output folder and of a bucket's partial is declared, each declared file is
//! written with exactly its declared schema (read back with polars, and the Arrow types stored
//! in the file), rows come in the declared order, and `caregap outputs` prints the dictionary.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use caregap_cli::pipeline::{self, RunOptions};
use caregap_report::contract::{self, Format, Output};
use caregap_transform::Params;
use polars::prelude::*;

/// The names of the files in `dir`.
fn files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

/// Each file of `outputs` in `dir` has its declared schema, and its rows their declared order.
fn check_declared_files(dir: &Path, outputs: impl Iterator<Item = &'static Output>) {
    for o in outputs {
        let path = dir.join(o.file);
        match o.format {
            Format::Parquet => {
                o.check_parquet_file(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let df = ParquetReader::new(fs::File::open(&path).unwrap())
                    .finish()
                    .unwrap();
                if !o.sort.is_empty() {
                    let sorted = df
                        .clone()
                        .lazy()
                        .sort(
                            o.sort.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                            SortMultipleOptions::default().with_maintain_order(true),
                        )
                        .collect()
                        .unwrap();
                    assert!(
                        df.equals_missing(&sorted),
                        "{}: rows are not sorted by {:?}",
                        path.display(),
                        o.sort
                    );
                }
            }
            Format::Csv => {
                let text = fs::read_to_string(&path).unwrap();
                let header = text.lines().next().unwrap_or_default();
                let declared: Vec<&str> = o.columns.iter().map(|c| c.name).collect();
                assert_eq!(header, declared.join(","), "{}", path.display());
            }
        }
    }
}

/// A run writes exactly the declared run outputs (and report.html, run_manifest.json), each
/// with its declared schema; the manifest's row counts and hashes are keyed by output names.
#[test]
fn every_file_of_a_run_is_declared_and_has_its_declared_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    caregap_synth::generate(
        &caregap_synth::SynthConfig {
            persons: 1500,
            seed: 5,
            chunk: 1500,
            ..Default::default()
        },
        &synth,
    )
    .unwrap();
    let stories = [
        (synth, 2025),
        (crate::common::shared().join("cases/worklist"), 2025),
        (crate::common::shared().join("cases/input_rules"), 2025),
    ];
    let mut expected: BTreeSet<String> = contract::run_outputs().map(|o| o.file.into()).collect();
    for (f, _) in contract::RUN_OTHER_FILES {
        expected.insert(f.to_string());
    }
    let mut nonempty = BTreeSet::new();
    for (i, (input, year)) in stories.into_iter().enumerate() {
        let mut opts = RunOptions::new(
            input,
            tmp.path().join(format!("out{i}")),
            Params::calendar_year(year),
        );
        opts.max_reject_rate = Some(1.0);
        opts.bootstrap.draws = 50;
        let run = pipeline::run(&opts).unwrap();
        assert_eq!(
            files(&opts.out),
            expected,
            "files of {}",
            opts.out.display()
        );
        check_declared_files(&opts.out, contract::run_outputs());
        let hashed: BTreeSet<&str> = run
            .manifest
            .output_sha256
            .keys()
            .map(String::as_str)
            .collect();
        let mut names: BTreeSet<&str> = contract::run_outputs().map(|o| o.name).collect();
        names.insert("report.html");
        assert_eq!(hashed, names);
        for (name, df) in &run.outputs {
            if df.height() > 0 {
                nonempty.insert(name.to_string());
            }
        }
    }
    // The checks above saw rows (not only empty frames) of every Parquet output.
    let parquet: BTreeSet<String> = contract::run_outputs()
        .filter(|o| o.format == Format::Parquet)
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(nonempty, parquet);
}

/// A bucket's partial (`caregap run --bucket i`) writes exactly the declared partial files.
#[test]
fn every_file_of_a_bucket_partial_is_declared_and_has_its_declared_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let buckets = tmp.path().join("buckets");
    pipeline::partition_input(&crate::common::shared().join("cases/worklist"), &buckets, 2)
        .unwrap();
    let mut expected: BTreeSet<String> =
        contract::partial_outputs().map(|o| o.file.into()).collect();
    expected.insert(caregap_scaleout::PARTIAL_FACTS.into());
    for b in 0..2 {
        let mut opts = RunOptions::new(
            buckets.clone(),
            tmp.path().join(format!("part{b}")),
            Params::calendar_year(2025),
        );
        opts.max_reject_rate = Some(1.0);
        pipeline::run_bucket(&opts, b).unwrap();
        assert_eq!(files(&opts.out), expected);
        check_declared_files(&opts.out, contract::partial_outputs());
    }
}

/// `caregap outputs` prints docs/outputs.md; `--format json` every declared output.
#[test]
fn caregap_outputs_prints_the_dictionary() {
    let bin = env!("CARGO_BIN_EXE_caregap");
    let md = std::process::Command::new(bin)
        .arg("outputs")
        .output()
        .unwrap();
    assert!(md.status.success());
    assert_eq!(String::from_utf8(md.stdout).unwrap(), contract::markdown());
    let json = std::process::Command::new(bin)
        .args(["outputs", "--format", "json"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let names: Vec<&str> = v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    let declared: Vec<&str> = contract::OUTPUTS.iter().map(|o| o.name).collect();
    assert_eq!(names, declared);
    let status = &v["outputs"][0]["columns"][4];
    assert_eq!(status["name"], "status");
    assert_eq!(status["arrow_type"], "large_string");
    assert_eq!(status["nullable"], false);
}
