//! **Lab results** (§1, §8), both dated in the measurement period:
//!
//! - `hba1c_result` — one row per lab result in `hba1c` (LOINC) and per claim line with a CPT
//!   II HbA1c result code: `date` (result_date else collection_date; the line's service
//!   date), `id`, `code` (the LOINC or CPT II code matched), `value` (the §8 value in %, or
//!   none when the result does not count for control).
//! - `glycemic_test` — one row per glucose or HbA1c test of any kind: lab results in `hba1c` or
//!   `glucose_test` (LOINC), claim lines in `glucose_test` / `hba1c_test` (CPT) or with a CPT
//!   II HbA1c code: `date`, `id`.
//! - `gmi_result` — one row per glucose management indicator (`gmi`, LOINC 97506-0) in
//!   lab_result (result_date else collection_date) or observation (observation_date): `date`
//!   (taken as the end of the CGM range, `docs/measures/gsd.md` §4), `id`, `code`, `value` (read
//!   by the same §8 rule as an HbA1c: a plain decimal in %, else none).

use polars::prelude::*;

use super::{push_dated, Build, PersonEvents, Rows};
use crate::params::in_list;

/// The value sets lab events read.
pub const VALUE_SETS: &[&str] = &["hba1c", "glucose_test", "hba1c_test", "gmi"];
/// CPT II HbA1c result codes and the value each stands for (§1).
pub const CPT2_HBA1C: [(&str, f64); 4] = [
    ("3044F", 6.9),
    ("3051F", 7.9),
    ("3052F", 9.0),
    ("3046F", 9.1),
];

/// An HbA1c result; `value` None = a test that does not count for control.
#[derive(Debug, Clone)]
pub struct Hba1c {
    /// The result date, as days since 1970-01-01.
    pub date: i32,
    /// The lab_result_id or claim_id (the evidence).
    pub id: Option<String>,
    /// The LOINC or CPT II code that made it a result.
    pub code: Option<String>,
    /// The result in % (§8), or none when it does not count for control.
    pub value: Option<f64>,
}

/// §8 HbA1c result in % (null when it does not count for control): ingest's own reading of
/// the value ([`caregap_ingest::sense::hba1c`]), with the unit normalized, else source.
pub fn hba1c_value() -> Expr {
    caregap_ingest::sense::hba1c(
        col("result"),
        coalesce(&[col("normalized_units"), col("source_units")]),
    )
}

fn labs(b: &Build) -> LazyFrame {
    b.input.lazy("lab_result").with_columns([
        coalesce(&[col("normalized_code"), col("source_code")]).alias("code"),
        coalesce(&[col("result_date"), col("collection_date")]).alias("date"),
    ])
}

fn cpt2_hba1c_codes() -> Vec<&'static str> {
    CPT2_HBA1C.iter().map(|x| x.0).collect()
}

/// The `hba1c_result` table with `pidx`, sorted by (pidx, date, id).
pub fn hba1c_table(b: &Build) -> PolarsResult<LazyFrame> {
    let lab = labs(b)
        .filter(b.vs.matches("hba1c", "loinc", col("code")))
        .select([
            col("person_id"),
            col("date"),
            col("lab_result_id").alias("id"),
            col("code"),
            hba1c_value().alias("v"),
        ]);
    let cpt = b
        .lines
        .clone()
        .filter(in_list(col("hcpcs_code"), &cpt2_hba1c_codes()))
        .select([
            col("person_id"),
            col("date"),
            col("claim_id").alias("id"),
            col("hcpcs_code").alias("code"),
            super::bp::cpt2_value(&CPT2_HBA1C).alias("v"),
        ]);
    Ok(b.with_pidx(concat([lab, cpt], UnionArgs::default())?)
        .filter(b.in_mp(col("date")))
        .sort(["pidx", "date", "id"], Default::default()))
}

/// The `gmi_result` table with `pidx`, sorted by (pidx, date, id): GMI results in lab_result
/// and observation dated in the MP (`docs/measures/gsd.md` §4).
pub fn gmi_table(b: &Build) -> PolarsResult<LazyFrame> {
    let value = || {
        caregap_ingest::sense::hba1c(
            col("result"),
            coalesce(&[col("normalized_units"), col("source_units")]),
        )
        .alias("v")
    };
    let lab = labs(b)
        .filter(b.vs.matches("gmi", "loinc", col("code")))
        .select([
            col("person_id"),
            col("date"),
            col("lab_result_id").alias("id"),
            col("code"),
            value(),
        ]);
    let obs = b
        .input
        .lazy("observation")
        .with_column(coalesce(&[col("normalized_code"), col("source_code")]).alias("code"))
        .filter(b.vs.matches("gmi", "loinc", col("code")))
        .select([
            col("person_id"),
            col("observation_date").alias("date"),
            col("observation_id").alias("id"),
            col("code"),
            value(),
        ]);
    Ok(b.with_pidx(concat([lab, obs], UnionArgs::default())?)
        .filter(b.in_mp(col("date")))
        .sort(["pidx", "date", "id"], Default::default()))
}

/// The `glycemic_test` table with `pidx`, sorted by (pidx, date, id).
pub fn glycemic_table(b: &Build) -> PolarsResult<LazyFrame> {
    let vs = b.vs;
    let tests = concat(
        [
            labs(b)
                .filter(vs.matches("hba1c", "loinc", col("code")).or(vs.matches(
                    "glucose_test",
                    "loinc",
                    col("code"),
                )))
                .select([
                    col("person_id"),
                    col("date"),
                    col("lab_result_id").alias("id"),
                ]),
            b.lines
                .clone()
                .filter(
                    vs.matches("glucose_test", "hcpcs", col("hcpcs_code"))
                        .or(vs.matches("hba1c_test", "hcpcs", col("hcpcs_code")))
                        .or(in_list(col("hcpcs_code"), &cpt2_hba1c_codes())),
                )
                .select([col("person_id"), col("date"), col("claim_id").alias("id")]),
        ],
        UnionArgs::default(),
    )?;
    Ok(b.with_pidx(tests)
        .filter(b.in_mp(col("date")))
        .sort(["pidx", "date", "id"], Default::default()))
}

/// Push the rows of a result frame (`pidx`, `date`, `id`, `code`, `v`) into `field`.
fn push_results(
    df: &DataFrame,
    people: &mut [PersonEvents],
    field: impl Fn(&mut PersonEvents) -> &mut Vec<Hba1c>,
) -> PolarsResult<()> {
    let r = Rows { df };
    for ((((i, d), id), code), v) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.str("id")?)
        .zip(r.str("code")?)
        .zip(r.f64("v")?)
    {
        if let Some(d) = d {
            field(&mut people[i as usize]).push(Hba1c {
                date: d,
                id,
                code,
                value: v,
            });
        }
    }
    Ok(())
}

/// Fill every person's HbA1c results, GMI results and glycemic tests.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    push_results(&hba1c_table(b)?.collect()?, people, |pe| &mut pe.hba1c)?;
    push_results(&gmi_table(b)?.collect()?, people, |pe| &mut pe.gmi)?;
    push_dated(&glycemic_table(b)?.collect()?, "date", "id", people, |pe| {
        &mut pe.glycemic_tests
    })
}
