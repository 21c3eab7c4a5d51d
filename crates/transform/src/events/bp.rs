//! **BP readings** (§1): `bp_reading` — one row per observation in `bp_systolic` /
//! `bp_diastolic` (LOINC; a numeric result) and per claim line with a CPT II BP code, dated in
//! the measurement period: `date`, `id` (observation_id or claim_id), `code` (the LOINC or CPT
//! II code matched), `systolic`, `diastolic` (one of them may be missing).

use polars::prelude::*;

use super::{Build, PersonEvents, Rows};
use crate::params::in_list;

/// The value sets BP readings read.
pub const VALUE_SETS: &[&str] = &["bp_systolic", "bp_diastolic"];
/// CPT II systolic codes and the value each stands for (§1).
pub const CPT2_SYSTOLIC: [(&str, f64); 3] = [("3074F", 129.0), ("3075F", 139.0), ("3077F", 140.0)];
/// CPT II diastolic codes and the value each stands for (§1).
pub const CPT2_DIASTOLIC: [(&str, f64); 3] = [("3078F", 79.0), ("3079F", 89.0), ("3080F", 90.0)];

/// A BP reading (one component or both).
#[derive(Debug, Clone)]
pub struct BpReading {
    /// The reading date, as days since 1970-01-01.
    pub date: i32,
    /// The observation_id or claim_id (the evidence).
    pub id: Option<String>,
    /// The LOINC or CPT II code that made it a reading.
    pub code: Option<String>,
    /// Systolic mmHg, when this reading has it.
    pub systolic: Option<f64>,
    /// Diastolic mmHg, when this reading has it.
    pub diastolic: Option<f64>,
}

/// The value a CPT II code of `table` stands for (null for any other code).
pub fn cpt2_value(table: &[(&str, f64)]) -> Expr {
    let mut e = lit(NULL).cast(DataType::Float64);
    for (code, v) in table.iter().rev() {
        e = when(col("hcpcs_code").eq(lit(*code)))
            .then(lit(*v))
            .otherwise(e);
    }
    e
}

/// The `bp_reading` table with `pidx`, sorted by (pidx, date, id).
pub fn table(b: &Build) -> PolarsResult<LazyFrame> {
    let vs = b.vs;
    let obs = b
        .input
        .lazy("observation")
        .with_column(coalesce(&[col("normalized_code"), col("source_code")]).alias("code"));
    let num = col("result")
        .str()
        .strip_chars(lit(NULL))
        .cast(DataType::Float64);
    let bp_obs = obs
        .filter(
            vs.matches("bp_systolic", "loinc", col("code"))
                .or(vs.matches("bp_diastolic", "loinc", col("code"))),
        )
        .select([
            col("person_id"),
            col("observation_date").alias("date"),
            col("observation_id").alias("id"),
            col("code"),
            when(vs.matches("bp_systolic", "loinc", col("code")))
                .then(num.clone())
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("sys"),
            when(vs.matches("bp_diastolic", "loinc", col("code")))
                .then(num)
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("dia"),
        ]);
    let sys_codes: Vec<&str> = CPT2_SYSTOLIC.iter().map(|x| x.0).collect();
    let dia_codes: Vec<&str> = CPT2_DIASTOLIC.iter().map(|x| x.0).collect();
    let bp_cpt = b
        .lines
        .clone()
        .filter(in_list(col("hcpcs_code"), &sys_codes).or(in_list(col("hcpcs_code"), &dia_codes)))
        .select([
            col("person_id"),
            col("date"),
            col("claim_id").alias("id"),
            col("hcpcs_code").alias("code"),
            cpt2_value(&CPT2_SYSTOLIC).alias("sys"),
            cpt2_value(&CPT2_DIASTOLIC).alias("dia"),
        ]);
    Ok(b.with_pidx(concat([bp_obs, bp_cpt], UnionArgs::default())?)
        .filter(
            b.in_mp(col("date"))
                .and(col("sys").is_not_null().or(col("dia").is_not_null())),
        )
        .sort(["pidx", "date", "id"], Default::default()))
}

/// Fill every person's BP readings.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let bp = table(b)?.collect()?;
    let r = Rows { df: &bp };
    for (((((i, d), id), code), s), di) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.str("id")?)
        .zip(r.str("code")?)
        .zip(r.f64("sys")?)
        .zip(r.f64("dia")?)
    {
        if let Some(d) = d {
            people[i as usize].bp.push(BpReading {
                date: d,
                id,
                code,
                systolic: s,
                diastolic: di,
            });
        }
    }
    Ok(())
}
