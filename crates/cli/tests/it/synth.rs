//! The synthetic generator: same seed, same bytes; and the pipeline's eligibility agrees with
//! the ground truth the generator planted by construction.

use std::fs;
use std::path::Path;

use caregap_synth::{generate, Format, SynthConfig};
use polars::prelude::*;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn same_seed_gives_identical_bytes_whatever_the_chunking() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        persons: 600,
        seed: 11,
        chunk: 600,
        ..Default::default()
    };
    generate(&cfg, a.path()).unwrap();
    generate(&cfg, b.path()).unwrap();
    assert_eq!(files(a.path()), files(b.path()));
    // A different seed gives different data.
    generate(
        &SynthConfig {
            seed: 12,
            ..cfg.clone()
        },
        c.path(),
    )
    .unwrap();
    assert_ne!(files(a.path()), files(c.path()));
}

#[test]
fn csv_format_round_trips_through_ingest() {
    let d = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        persons: 150,
        seed: 3,
        format: Format::Csv,
        chunk: 100,
        ..Default::default()
    };
    let s = generate(&cfg, d.path()).unwrap();
    assert!(d.path().join("medical_claim/part-00001.csv").exists());
    let layer = caregap_ingest::read_input_layer(d.path()).unwrap();
    assert_eq!(layer.rejects.height(), 0, "{}", layer.rejects);
    assert_eq!(
        layer.table("medical_claim").rows_read,
        s.rows["medical_claim"]
    );
}

#[test]
fn pipeline_eligibility_agrees_with_planted_ground_truth() {
    let d = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        persons: 3000,
        seed: 2025,
        chunk: 1000,
        ..Default::default()
    };
    generate(&cfg, &d.path().join("in")).unwrap();
    let (_tmp, r) = crate::common::run_2025(d.path().join("in"));
    let r = r.unwrap();
    let elig = r.outputs["eligibility"].clone().lazy().select([
        col("person_id"),
        col("eligible"),
        col("rules").list().join(lit(";"), true).alias("rules"),
    ]);
    let truth = LazyFrame::scan_parquet(
        PlRefPath::new(
            d.path()
                .join("in/ground_truth.parquet")
                .to_string_lossy()
                .as_ref(),
        ),
        Default::default(),
    )
    .unwrap()
    .filter(col("kind").eq(lit("eligibility")));
    let j = truth
        .join(
            elig,
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            col("expected_status")
                .eq(lit("eligible"))
                .eq(col("eligible"))
                .and(col("expected_rule").eq(col("rules")))
                .fill_null(lit(false))
                .alias("agree"),
        )
        .collect()
        .unwrap();
    assert_eq!(j.height(), 3000);
    let disagree = j
        .clone()
        .lazy()
        .filter(col("agree").not())
        .collect()
        .unwrap();
    assert_eq!(disagree.height(), 0, "disagreements:\n{disagree}");
    let eligible = j
        .column("expected_status")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .filter(|s| *s == Some("eligible"))
        .count();
    assert!(
        eligible > 300 && eligible < 2000,
        "a realistic share is eligible: {eligible}"
    );
    // The near misses the spec names are planted.
    let desc = j.column("description").unwrap().str().unwrap();
    for needle in [
        "on one outpatient date only",
        "by one acute inpatient stay",
        "not covered on the as-of date",
        "by tobacco-status observation",
    ] {
        assert!(
            desc.iter().flatten().any(|s| s.contains(needle)),
            "no planted case: {needle}"
        );
    }
}

#[test]
fn care_gaps_agree_with_every_planted_scenario() {
    let d = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        persons: 4000,
        seed: 77,
        chunk: 2000,
        // About 12 persons per scenario (35 of them): every scenario is planted.
        scenario_rate: 0.1,
        ..Default::default()
    };
    generate(&cfg, &d.path().join("in")).unwrap();
    let out = d.path().join("out");
    let opts = caregap_cli::pipeline::RunOptions::new(
        d.path().join("in"),
        out.clone(),
        caregap_transform::Params::calendar_year(2025),
    );
    caregap_cli::pipeline::run(&opts).unwrap();
    let a = caregap_cli::verify::verify(&d.path().join("in"), &out).unwrap();
    assert!(
        a.care_gaps_checked > 300,
        "enough planted rows: {}",
        a.care_gaps_checked
    );
    assert_eq!(a.eligibility_checked, 4000);
    assert!(
        a.disagreements.is_empty(),
        "{} disagreements:\n{}",
        a.disagreements.len(),
        a.disagreements.join("\n")
    );
    // Every scenario was planted at least once.
    let truth =
        ParquetReader::new(fs::File::open(d.path().join("in/ground_truth.parquet")).unwrap())
            .finish()
            .unwrap();
    let desc = truth.column("description").unwrap().str().unwrap();
    for s in caregap_synth::scenarios::SCENARIOS {
        assert!(
            desc.iter()
                .flatten()
                .any(|x| x.starts_with(&format!("{s}:"))),
            "scenario {s} not planted"
        );
    }
}

#[test]
fn verify_catches_a_wrong_answer() {
    // The comparison itself can fail: alter one planted status and it must be reported.
    let d = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        persons: 800,
        seed: 5,
        chunk: 800,
        ..Default::default()
    };
    generate(&cfg, &d.path().join("in")).unwrap();
    let out = d.path().join("out");
    let opts = caregap_cli::pipeline::RunOptions::new(
        d.path().join("in"),
        out.clone(),
        caregap_transform::Params::calendar_year(2025),
    );
    caregap_cli::pipeline::run(&opts).unwrap();
    let p = d.path().join("in/ground_truth.parquet");
    let mut t = ParquetReader::new(fs::File::open(&p).unwrap())
        .finish()
        .unwrap();
    t = t
        .lazy()
        .with_column(
            when(
                col("kind")
                    .eq(lit("care_gap"))
                    .and(col("expected_status").eq(lit("closed"))),
            )
            .then(lit("open"))
            .otherwise(col("expected_status"))
            .alias("expected_status"),
        )
        .collect()
        .unwrap();
    ParquetWriter::new(fs::File::create(&p).unwrap())
        .finish(&mut t)
        .unwrap();
    let a = caregap_cli::verify::verify(&d.path().join("in"), &out).unwrap();
    assert!(!a.disagreements.is_empty());
}
