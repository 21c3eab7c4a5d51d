//! **Coded events** (`coded_event`, docs/measures/col.md §3, §4, §8): one row per person, set
//! and dated piece of evidence whose code is in a set some registered measure declared in
//! [`super::Uses::coded`], dated from the set's [`Reach`] through the MP's last day:
//!
//! - a medical claim line (its service date, §1) whose `hcpcs_code` is in the set (`hcpcs`),
//!   whose `procedure_code_1…25` is (`icd-10-pcs`, when procedure_code_type is ICD-10-PCS or
//!   null), or whose diagnosis in any position is (the line's diagnosis system);
//! - an observation (observation_date) or lab result (result_date, else collection_date)
//!   whose code (normalized_code, else source_code, §8) is in the set (`loinc`).
//!
//! Columns: `set`, `date`, `id` (claim_id, observation_id or lab_result_id), `acute` (a line of
//! an acute inpatient stay, §1; false for clinical rows). Screening sets reach 10 years back,
//! the lifetime exclusions any time: only rows of a declared set inside its reach are kept, so
//! the table stays small on a large input. Matching runs vectorised on a narrow frame, one
//! boolean column per set.

use polars::prelude::*;

use super::lines::any_dx_in;
use super::needs::Reach;
use super::{Build, PersonEvents, Rows};
use crate::claims::{
    is_acute_stay_line, procedure_columns_in_use, procedure_type_is_pcs, service_date,
};
use crate::params::{date_lit, epoch_days};

/// A coded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coded {
    /// The service, observation or result date, as days since 1970-01-01.
    pub date: i32,
    /// The claim_id, observation_id or lab_result_id (the evidence).
    pub id: Option<String>,
    /// A line of an acute inpatient stay (§1).
    pub acute: bool,
}

/// `d` minus `n` whole years, same month and day (29 February → 1 March).
pub fn years_before(d: chrono::NaiveDate, n: u32) -> chrono::NaiveDate {
    use chrono::Datelike;
    let y = d.year() - n as i32;
    d.with_year(y)
        .or_else(|| chrono::NaiveDate::from_ymd_opt(y, 3, 1))
        .expect("valid date")
}

/// The first day a set of reach `r` keeps (none: any time), as days since 1970-01-01.
pub fn reach_start(period_start: chrono::NaiveDate, r: Reach) -> Option<i32> {
    match r {
        Reach::Years(n) => Some(epoch_days(years_before(period_start, n))),
        Reach::AnyTime => None,
    }
}

fn column(i: usize) -> String {
    format!("coded_{i}")
}

/// Dated on or before the MP end and, for set `i`, inside its reach.
fn in_reach(b: &Build, i: usize, r: Reach) -> Expr {
    let hit = col(column(i));
    match r {
        Reach::Years(n) => hit.and(col("date").gt_eq(date_lit(years_before(b.p.period_start, n)))),
        Reach::AnyTime => hit,
    }
}

/// Claim lines: `person_id, date, id, acute` and one boolean per declared set.
fn claim_rows(b: &Build) -> LazyFrame {
    let vs = b.vs;
    let dxc = crate::claims::diagnosis_columns_in_use(b.input);
    let pcs = procedure_columns_in_use(b.input);
    let mut cols = vec![
        col("person_id"),
        service_date().alias("date"),
        col("claim_id").alias("id"),
        is_acute_stay_line().alias("acute"),
    ];
    for (i, (set, _)) in b.needs.coded.iter().enumerate() {
        let mut m = vs
            .matches(set, "hcpcs", col("hcpcs_code"))
            .or(any_dx_in(vs, set, &dxc));
        let codes = vs.codes(set, "icd-10-pcs");
        if !codes.is_empty() && !pcs.is_empty() {
            let any = pcs
                .iter()
                .map(|c| vs.matches(set, "icd-10-pcs", col(c.as_str())))
                .reduce(|a, b| a.or(b))
                .expect("columns");
            m = m.or(procedure_type_is_pcs().and(any));
        }
        cols.push(m.fill_null(lit(false)).alias(column(i)));
    }
    b.input.lazy("medical_claim").select(cols)
}

/// Observations and lab results: `person_id, date, id, acute` (false) and one boolean per set.
fn clinical_rows(b: &Build, table: &str, date: Expr, id: &str) -> LazyFrame {
    let code = coalesce(&[col("normalized_code"), col("source_code")]);
    let mut cols = vec![
        col("person_id"),
        date.alias("date"),
        col(id).alias("id"),
        lit(false).alias("acute"),
    ];
    for (i, (set, _)) in b.needs.coded.iter().enumerate() {
        cols.push(b.vs.matches(set, "loinc", code.clone()).alias(column(i)));
    }
    b.input.lazy(table).select(cols)
}

/// The `coded_event` rows, wide (one boolean per set) with `pidx`, sorted by (pidx, date, id).
pub fn table(b: &Build) -> PolarsResult<LazyFrame> {
    let parts = vec![
        claim_rows(b),
        clinical_rows(b, "observation", col("observation_date"), "observation_id"),
        clinical_rows(
            b,
            "lab_result",
            coalesce(&[col("result_date"), col("collection_date")]),
            "lab_result_id",
        ),
    ];
    let keep = b
        .needs
        .coded
        .iter()
        .enumerate()
        .map(|(i, (_, r))| in_reach(b, i, *r))
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false));
    let rows =
        concat(parts, UnionArgs::default())?.filter(col("date").lt_eq(b.mp_end.clone()).and(keep));
    Ok(b.with_pidx(rows)
        .sort(["pidx", "date", "id"], Default::default()))
}

/// Fill every person's coded events, per declared set in [`super::Needs::coded`] order.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    if b.needs.coded.is_empty() {
        return Ok(());
    }
    let df = table(b)?.collect()?;
    let r = Rows { df: &df };
    let starts: Vec<Option<i32>> = b
        .needs
        .coded
        .iter()
        .map(|(_, reach)| reach_start(b.p.period_start, *reach))
        .collect();
    let hits: Vec<Vec<bool>> = (0..b.needs.coded.len())
        .map(|i| r.bool(&column(i)))
        .collect::<PolarsResult<_>>()?;
    for (k, (((i, d), id), acute)) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.str("id")?)
        .zip(r.bool("acute")?)
        .enumerate()
    {
        let Some(d) = d else { continue };
        let pe = &mut people[i as usize];
        if pe.coded.is_empty() {
            pe.coded = b
                .needs
                .coded
                .iter()
                .map(|(s, _)| (*s, Vec::new()))
                .collect();
        }
        for (j, start) in starts.iter().enumerate() {
            if hits[j][k] && start.is_none_or(|s| d >= s) {
                pe.coded[j].1.push(Coded {
                    date: d,
                    id: id.clone(),
                    acute,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn whole_years_back_and_the_leap_day() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(years_before(d(2026, 1, 1), 9), d(2017, 1, 1));
        assert_eq!(years_before(d(2026, 1, 1), 0), d(2026, 1, 1));
        assert_eq!(years_before(d(2028, 2, 29), 2), d(2026, 3, 1));
        assert_eq!(reach_start(d(2026, 1, 1), Reach::AnyTime), None);
    }
}
