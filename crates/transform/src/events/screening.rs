//! **Depression screening** (`docs/measures/cdf.md` §1, §3, §4): the events CDF reads.
//!
//! - `depression_line` — one row per medical claim line dated from the MP start − 14 days to
//!   the MP end that is a qualifying encounter (hcpcs in `cdf_encounter` on an outpatient-setting
//!   line, dated in the MP), a follow-up service (hcpcs in `cdf_follow_up`) or carries one of the
//!   CMS quality-data codes of [`G_CODES`]: `date`, `claim_id`, `code` (the hcpcs),
//!   `encounter`, `follow_up`.
//! - `depression_screen` — one row per screen in the same window: an observation or lab result
//!   in `depression_screen` (LOINC) whose result reads as positive or negative (§3: the numeric
//!   cut-offs of [`CUTOFFS`], else an answer in `depression_screen_positive` /
//!   `depression_screen_negative`), or a claim line with G8431 (positive, plan documented), G8510
//!   (negative) or G8511 (positive, no plan): `date`, `id`, `positive`, `plan`.
//! - per person: the first `bipolar_disorder` diagnosis (any position, any line on or before the
//!   MP end) and the first `depression` diagnosis from the look-back start to the MP end.

use chrono::Duration;
use polars::prelude::*;

use super::lines::any_dx_in;
use super::{Build, PersonEvents, Rows};
use crate::claims::{diagnosis_columns_in_use, service_date};
use crate::params::{date_lit, in_list};

/// The value sets depression-screening events read.
pub const VALUE_SETS: &[&str] = &[
    "cdf_encounter",
    "cdf_follow_up",
    "depression_screen",
    "depression_screen_positive",
    "depression_screen_negative",
    "bipolar_disorder",
    "depression",
];

/// The CMS quality-data codes of MIPS #134 / CDF (`docs/measures/cdf.md` §3, §4): G8431 positive
/// screen with a follow-up plan, G8510 negative screen, G8511 positive screen without a plan
/// (not met), G8432 not screened (not met), G8433 not screened for a documented reason
/// (exception), G9717 depression or bipolar disorder documented (exclusion).
pub const G_CODES: [&str; 6] = ["G8431", "G8510", "G8511", "G8432", "G8433", "G9717"];

/// Numeric cut-offs of the screening instruments (`docs/measures/cdf.md` §3): a total score at or
/// above the cut-off is a positive screen. PHQ-9, PHQ-2, PHQ-9 modified for teens.
pub const CUTOFFS: [(&str, f64); 3] = [("44261-6", 10.0), ("55758-7", 3.0), ("89204-2", 10.0)];

/// Days a screen may precede the encounter it counts for (§5: E − 14 … E).
pub const SCREEN_DAYS_BEFORE: i64 = 14;

/// A claim line CDF reads.
#[derive(Debug, Clone)]
pub struct DepressionLine {
    /// The service date, as days since 1970-01-01.
    pub date: i32,
    /// The claim (the evidence).
    pub claim_id: String,
    /// The line's hcpcs code.
    pub code: String,
    /// A qualifying encounter (§1; dated in the MP).
    pub encounter: bool,
    /// A follow-up service (§3, `cdf_follow_up`).
    pub follow_up: bool,
}

/// A depression screen, positive or negative.
#[derive(Debug, Clone)]
pub struct Screen {
    /// The screen date, as days since 1970-01-01.
    pub date: i32,
    /// The observation_id, lab_result_id or claim_id (the evidence).
    pub id: Option<String>,
    /// A positive screen.
    pub positive: bool,
    /// The screen itself documents a follow-up plan on its date (G8431).
    pub plan: bool,
}

/// The `depression_line` table with `pidx`, sorted by (pidx, date, claim_id).
pub fn lines_table(b: &Build) -> LazyFrame {
    let vs = b.vs;
    let from = date_lit(b.p.period_start - Duration::days(SCREEN_DAYS_BEFORE));
    let encounter = col("op_setting")
        .and(vs.matches("cdf_encounter", "hcpcs", col("hcpcs_code")))
        .and(b.in_mp(col("date")))
        .fill_null(lit(false));
    let follow_up = vs
        .matches("cdf_follow_up", "hcpcs", col("hcpcs_code"))
        .fill_null(lit(false));
    b.with_pidx(
        b.lines
            .clone()
            .filter(
                col("date")
                    .gt_eq(from)
                    .and(col("date").lt_eq(b.mp_end.clone())),
            )
            .with_columns([encounter.alias("encounter"), follow_up.alias("follow_up")])
            .filter(
                col("encounter")
                    .or(col("follow_up"))
                    .or(in_list(col("hcpcs_code"), &G_CODES).fill_null(lit(false))),
            )
            .select([
                col("person_id"),
                col("date"),
                col("claim_id"),
                col("hcpcs_code").alias("code"),
                col("encounter"),
                col("follow_up"),
            ]),
    )
    .sort(["pidx", "date", "claim_id"], Default::default())
}

/// Positive (true), negative (false) or not a screen (null) for a clinical result row with
/// `code` and `result` (§3).
fn screen_reading(b: &Build) -> Expr {
    let vs = b.vs;
    let num = col("result")
        .str()
        .strip_chars(lit(NULL))
        .cast(DataType::Float64);
    let mut cutoff = lit(NULL).cast(DataType::Float64);
    for (code, c) in CUTOFFS.iter().rev() {
        cutoff = when(col("code").eq(lit(*code)))
            .then(lit(*c))
            .otherwise(cutoff);
    }
    let answer = |set: &str| {
        vs.matches(set, "snomed-ct", col("result").str().strip_chars(lit(NULL)))
            .or(vs.matches(set, "text", col("result")))
            .fill_null(lit(false))
    };
    when(num.clone().is_not_null().and(cutoff.clone().is_not_null()))
        .then(num.gt_eq(cutoff))
        .when(answer("depression_screen_positive"))
        .then(lit(true))
        .when(answer("depression_screen_negative"))
        .then(lit(false))
        .otherwise(lit(NULL).cast(DataType::Boolean))
}

/// The `depression_screen` table with `pidx`, sorted by (pidx, date, id).
pub fn screens_table(b: &Build) -> PolarsResult<LazyFrame> {
    let vs = b.vs;
    let from = date_lit(b.p.period_start - Duration::days(SCREEN_DAYS_BEFORE));
    let code = || coalesce(&[col("normalized_code"), col("source_code")]).alias("code");
    let obs = b
        .input
        .lazy("observation")
        .with_column(code())
        .filter(vs.matches("depression_screen", "loinc", col("code")))
        .select([
            col("person_id"),
            col("observation_date").alias("date"),
            col("observation_id").alias("id"),
            screen_reading(b).alias("positive"),
            lit(false).alias("plan"),
        ]);
    let lab = b
        .input
        .lazy("lab_result")
        .with_column(code())
        .filter(vs.matches("depression_screen", "loinc", col("code")))
        .select([
            col("person_id"),
            coalesce(&[col("result_date"), col("collection_date")]).alias("date"),
            col("lab_result_id").alias("id"),
            screen_reading(b).alias("positive"),
            lit(false).alias("plan"),
        ]);
    let g = b
        .lines
        .clone()
        .filter(in_list(col("hcpcs_code"), &["G8431", "G8510", "G8511"]).fill_null(lit(false)))
        .select([
            col("person_id"),
            col("date"),
            col("claim_id").alias("id"),
            col("hcpcs_code").neq(lit("G8510")).alias("positive"),
            col("hcpcs_code").eq(lit("G8431")).alias("plan"),
        ]);
    Ok(b.with_pidx(concat([obs, lab, g], UnionArgs::default())?)
        .filter(
            col("positive")
                .is_not_null()
                .and(col("date").gt_eq(from))
                .and(col("date").lt_eq(b.mp_end.clone())),
        )
        .sort(["pidx", "date", "id"], Default::default()))
}

/// Per person: the first `bipolar_disorder` diagnosis on or before the MP end (any time) and the
/// first `depression` diagnosis from the look-back start to the MP end (§4), with `pidx`.
pub fn diagnoses_table(b: &Build) -> LazyFrame {
    let dxc = diagnosis_columns_in_use(b.input);
    let bip = any_dx_in(b.vs, "bipolar_disorder", &dxc);
    let dep =
        any_dx_in(b.vs, "depression", &dxc).and(col("service_date").gt_eq(b.lookback.clone()));
    let first = |flag: &str| {
        col("service_date")
            .filter(col(flag))
            .min()
            .alias(format!("{flag}_first"))
    };
    b.with_pidx(
        b.input
            .lazy("medical_claim")
            .with_column(service_date().alias("service_date"))
            .filter(col("service_date").lt_eq(b.mp_end.clone()))
            .with_columns([bip.alias("bipolar"), dep.alias("depression")])
            .filter(col("bipolar").or(col("depression")))
            .group_by([col("person_id")])
            .agg([first("bipolar"), first("depression")]),
    )
}

/// Fill every person's depression-screening lines, screens and first diagnoses.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let df = lines_table(b).collect()?;
    let r = Rows { df: &df };
    let (idx, date, claim, code) = (
        r.idx("pidx")?,
        r.date("date")?,
        r.str("claim_id")?,
        r.str("code")?,
    );
    let (enc, fu) = (r.bool("encounter")?, r.bool("follow_up")?);
    for k in 0..idx.len() {
        if let Some(d) = date[k] {
            people[idx[k] as usize]
                .depression_lines
                .push(DepressionLine {
                    date: d,
                    claim_id: claim[k].clone().unwrap_or_default(),
                    code: code[k].clone().unwrap_or_default(),
                    encounter: enc[k],
                    follow_up: fu[k],
                });
        }
    }
    let df = screens_table(b)?.collect()?;
    let r = Rows { df: &df };
    for ((((i, d), id), pos), plan) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.str("id")?)
        .zip(r.bool("positive")?)
        .zip(r.bool("plan")?)
    {
        if let Some(d) = d {
            people[i as usize].depression_screens.push(Screen {
                date: d,
                id,
                positive: pos,
                plan,
            });
        }
    }
    let df = diagnoses_table(b).collect()?;
    let r = Rows { df: &df };
    for ((i, bip), dep) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("bipolar_first")?)
        .zip(r.date("depression_first")?)
    {
        let pe = &mut people[i as usize];
        pe.bipolar_first = bip;
        pe.depression_first = dep;
    }
    Ok(())
}
