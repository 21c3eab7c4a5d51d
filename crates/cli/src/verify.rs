//! `caregap verify-truth`: compare a run's outputs with the ground truth the synthetic
//! generator planted (`ground_truth.parquet`). The generator never runs the measure code, so
//! agreement here is evidence, not an echo.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::*;

/// Result of a comparison.
#[derive(Debug, Default)]
pub struct Agreement {
    /// Planted eligibility rows compared.
    pub eligibility_checked: usize,
    /// Planted care-gap rows compared.
    pub care_gaps_checked: usize,
    /// Every disagreement, in words.
    pub disagreements: Vec<String>,
}

fn read(path: &Path) -> Result<DataFrame> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(ParquetReader::new(f).finish()?)
}

fn text(df: &DataFrame, c: &str, i: usize) -> String {
    match df.column(c).ok().and_then(|s| s.get(i).ok()) {
        None | Some(AnyValue::Null) => String::new(),
        Some(AnyValue::String(s)) => s.to_string(),
        Some(AnyValue::Date(d)) => caregap_transform::params::from_epoch_days(d).to_string(),
        Some(v) => v.to_string(),
    }
}

/// Compare `out`'s eligibility and care_gaps with `input/ground_truth.parquet`.
pub fn verify(input: &Path, out: &Path) -> Result<Agreement> {
    let truth = read(&input.join("ground_truth.parquet"))?;
    let elig = read(&out.join("eligibility.parquet"))?;
    let gaps = read(&out.join("care_gaps.parquet"))?;
    let mut a = Agreement::default();

    let mut el: BTreeMap<String, (bool, String)> = BTreeMap::new();
    let rules = elig.column("rules")?.list()?.clone();
    for (i, r) in rules.series_iter().enumerate() {
        let joined = r
            .map(|s| {
                s.str()
                    .map(|x| x.iter().flatten().collect::<Vec<_>>().join(";"))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        el.insert(
            text(&elig, "person_id", i),
            (text(&elig, "eligible", i) == "true", joined),
        );
    }
    let mut got: BTreeMap<(String, String, String), (String, String)> = BTreeMap::new();
    for i in 0..gaps.height() {
        got.insert(
            (
                text(&gaps, "person_id", i),
                text(&gaps, "measure", i),
                text(&gaps, "index_date", i),
            ),
            (text(&gaps, "status", i), text(&gaps, "exclusion_reason", i)),
        );
    }
    let mut planted: BTreeSet<(String, String, String)> = BTreeSet::new();
    // Each scenario person's scenario (the description's first word), for messages.
    let mut scenario_of: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..truth.height() {
        let (pid, kind) = (text(&truth, "person_id", i), text(&truth, "kind", i));
        let (status, rule, desc) = (
            text(&truth, "expected_status", i),
            text(&truth, "expected_rule", i),
            text(&truth, "description", i),
        );
        if kind == "eligibility" {
            a.eligibility_checked += 1;
            match el.get(&pid) {
                None => a
                    .disagreements
                    .push(format!("{pid}: no eligibility row ({desc})")),
                Some((e, r)) if *e != (status == "eligible") || *r != rule => {
                    a.disagreements.push(format!(
                    "{pid}: eligibility expected {status} [{rule}], got eligible={e} [{r}] ({desc})"
                ))
                }
                _ => {}
            }
            continue;
        }
        a.care_gaps_checked += 1;
        scenario_of
            .entry(pid.clone())
            .or_insert_with(|| desc.split(':').next().unwrap_or("").to_string());
        let k = (
            pid,
            text(&truth, "measure", i),
            text(&truth, "index_date", i),
        );
        planted.insert(k.clone());
        match (status.as_str(), got.get(&k)) {
            ("no_row", None) => {}
            ("no_row", Some(g)) => a
                .disagreements
                .push(format!("{k:?} ({desc}): expected no row, got {g:?}")),
            (_, None) => a
                .disagreements
                .push(format!("{k:?} ({desc}): expected {status}, no row")),
            (_, Some((gs, gr))) if *gs != status || *gr != rule => a.disagreements.push(format!(
                "{k:?} ({desc}): expected {status} {rule:?}, got {gs} {gr:?}"
            )),
            _ => {}
        }
    }
    let scenario_persons: BTreeSet<&String> = planted.iter().map(|k| &k.0).collect();
    for (k, g) in &got {
        if scenario_persons.contains(&k.0) && !planted.contains(k) {
            let sc = scenario_of.get(&k.0).map(String::as_str).unwrap_or("");
            a.disagreements.push(format!(
                "{k:?}: row {g:?} that no scenario planted (person of scenario {sc})"
            ));
        }
    }
    Ok(a)
}
