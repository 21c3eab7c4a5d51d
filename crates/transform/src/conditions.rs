//! Chronic conditions (spec §3): who has which condition in the look-back window.
//!
//! **Rule (§3).** A person has condition C when, by service date in the look-back window
//! (default MP start − 1 year … MP end), a diagnosis in any position from C's value set is on
//! at least one acute-inpatient line (a line of an institutional 11x claim that forms a stay
//! under §1, claim-date fallback included) or on lines of at least two distinct service dates.
//! `smoking` and `overweight` need one date, or the observation rule (§2): an observation
//! LOINC 72166-2 (tobacco status) answered with a current-smoker answer, or a BMI (LOINC
//! 39156-5) above 25. Smoking also counts from its CPT codes (99406, 99407, 4004F).
//! `mental_illness` and `schizophrenia_bipolar` are identified the same way.
//!
//! Output (§6 `conditions`): one row per person and condition present, with `first_date`,
//! `last_date`, `dates` (distinct evidence dates), `inpatient` (any acute-inpatient line), and
//! `basis` (`claims`, `observation` or `claims+observation`).

use caregap_ingest::InputLayer;
use polars::prelude::*;

use crate::claims::{diagnosis_long, service_date};
use crate::params::{date_lit, in_list, Params};
use crate::value_sets::ValueSets;

/// The conditions caregap identifies: the eight qualifying ones (§3), mental_illness and
/// schizophrenia_bipolar (used by SSD).
pub const CONDITIONS: [&str; 10] = [
    "serious_mental_illness",
    "asthma",
    "substance_use_disorder",
    "diabetes",
    "cardiovascular",
    "overweight",
    "developmental_disability",
    "smoking",
    "mental_illness",
    "schizophrenia_bipolar",
];

/// The observation value sets condition evidence reads beyond the conditions' own sets.
pub const OBSERVATION_SETS: [&str; 2] = ["tobacco_status", "bmi"];

/// Conditions present on one date of evidence (§3).
const ONE_DATE_CONDITIONS: [&str; 2] = ["smoking", "overweight"];

/// Diagnosis code systems a value set may be written in.
const DIAGNOSIS_SYSTEMS: [&str; 3] = ["icd-10-cm", "icd-9-cm", "snomed-ct"];

/// `system` column holds a diagnosis system; match `code` against set in that system.
pub fn diagnosis_in(vs: &ValueSets, set: &str) -> Expr {
    DIAGNOSIS_SYSTEMS
        .iter()
        .map(|s| {
            col("system")
                .eq(lit(*s))
                .and(vs.matches(set, s, col("code")))
        })
        .reduce(|a, b| a.or(b))
        .expect("systems")
}

/// Every evidence row: `person_id, condition, date, inpatient, from_observation`.
pub fn condition_evidence(
    input: &InputLayer,
    vs: &ValueSets,
    p: &Params,
) -> PolarsResult<LazyFrame> {
    let in_window = |d: Expr| {
        d.clone()
            .gt_eq(date_lit(p.lookback_start))
            .and(d.lt_eq(date_lit(p.period_end)))
    };
    let claims = input.lazy("medical_claim");
    // Built once and reused by every condition.
    let dx = diagnosis_long(
        claims.clone(),
        &crate::claims::diagnosis_columns_in_use(input),
    )?
    .filter(in_window(col("service_date")))
    .collect()?
    .lazy();
    let mut parts = Vec::new();
    for c in CONDITIONS {
        parts.push(dx.clone().filter(diagnosis_in(vs, c)).select([
            col("person_id"),
            lit(c).alias("condition"),
            col("service_date").alias("date"),
            col("acute").alias("inpatient"),
            lit(false).alias("from_observation"),
        ]));
        if !vs.codes(c, "hcpcs").is_empty() {
            parts.push(
                claims
                    .clone()
                    .with_column(service_date().alias("date"))
                    .filter(in_window(col("date")))
                    .filter(vs.matches(c, "hcpcs", col("hcpcs_code")))
                    .select([
                        col("person_id"),
                        lit(c).alias("condition"),
                        col("date"),
                        lit(false).alias("inpatient"),
                        lit(false).alias("from_observation"),
                    ]),
            );
        }
    }
    // §2 observation rules (smoking answers, BMI > 25).
    let obs = input
        .lazy("observation")
        .with_column(coalesce(&[col("normalized_code"), col("source_code")]).alias("code"))
        .filter(in_window(col("observation_date")));
    let result = col("result").str().strip_chars(lit(NULL));
    let smoker_answer = vs
        .matches("smoking", "snomed-ct", result.clone())
        .or(vs.matches("smoking", "text", col("result")));
    let observed = |cond: &str, test: Expr| {
        obs.clone().filter(test).select([
            col("person_id"),
            lit(cond).alias("condition"),
            col("observation_date").alias("date"),
            lit(false).alias("inpatient"),
            lit(true).alias("from_observation"),
        ])
    };
    parts.push(observed(
        "smoking",
        vs.matches("tobacco_status", "loinc", col("code"))
            .and(smoker_answer),
    ));
    parts.push(observed(
        "overweight",
        vs.matches("bmi", "loinc", col("code")).and(
            result
                .cast(DataType::Float64)
                .gt(lit(25.0))
                .fill_null(lit(false)),
        ),
    ));
    concat(parts, UnionArgs::default())
}

/// §6 `conditions`: one row per person and condition present, sorted by (person, condition).
pub fn conditions(input: &InputLayer, vs: &ValueSets, p: &Params) -> PolarsResult<LazyFrame> {
    Ok(condition_evidence(input, vs, p)?
        .group_by([col("person_id"), col("condition")])
        .agg([
            col("date").min().alias("first_date"),
            col("date").max().alias("last_date"),
            col("date").n_unique().cast(DataType::Int64).alias("dates"),
            col("inpatient").any(false).alias("inpatient"),
            col("from_observation").all(false).alias("all_obs"),
            col("from_observation").any(false).alias("any_obs"),
        ])
        .filter(
            col("inpatient")
                .or(col("dates").gt_eq(lit(2)))
                .or(in_list(col("condition"), &ONE_DATE_CONDITIONS)),
        )
        .select([
            col("person_id"),
            col("condition"),
            col("first_date"),
            col("last_date"),
            col("dates"),
            col("inpatient"),
            when(col("all_obs"))
                .then(lit("observation"))
                .when(col("any_obs"))
                .then(lit("claims+observation"))
                .otherwise(lit("claims"))
                .alias("basis"),
        ])
        .sort(["person_id", "condition"], Default::default()))
}
