//! `measure_summary` (spec §4, §6, §9) and the `worklist` (§9).
//!
//! **measure_summary**: per measure × group — `overall`; each Health Home (`health_home`,
//! group_id = its id); `hh_enrolled` (rows attributed to a Health Home); `eligible_not_enrolled`
//! (rows without a Health Home whose person is on the outreach list). `denominator` = open +
//! closed; `numerator` = closed, except open for the inverse measures (`hba1c_poor`,
//! `pcr_30`); `rate` = numerator / denominator with a 95 % Wilson interval, null when the
//! denominator is 0. Every measure has an `overall` row; other groups appear when they have
//! rows (a group with only excluded rows still appears).
//!
//! **worklist**: open rows with a Health Home, sorted by (health_home_id, due_date, person_id,
//! measure); days_left = due_date − as-of date (negative = overdue).

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::events::PersonEvents;
use crate::measures::{lower_is_better, GapRow, Status};

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95 % Wilson score interval for `x` successes in `n` trials; None when n = 0.
pub fn wilson(x: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((center - half).max(0.0), (center + half).min(1.0)))
}

/// Counts of one measure × group: the mergeable partial (sums of per-person counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Open rows.
    pub open: u64,
    /// Closed rows.
    pub closed: u64,
    /// Excluded rows.
    pub excluded: u64,
}

impl Counts {
    fn add(&mut self, s: Status) {
        match s {
            Status::Open => self.open += 1,
            Status::Closed => self.closed += 1,
            Status::Excluded => self.excluded += 1,
        }
    }
}

/// (measure, group_type, group_id) → counts.
pub type SummaryCounts = BTreeMap<(String, String, String), Counts>;

/// Count every row into its groups; every measure in `measures` gets an `overall` row.
pub fn summary_counts(
    people: &[PersonEvents],
    rows: &[Vec<GapRow>],
    measures: &[&str],
) -> SummaryCounts {
    let mut m: SummaryCounts = BTreeMap::new();
    for measure in measures {
        m.entry((measure.to_string(), "overall".into(), "overall".into()))
            .or_default();
    }
    for (pe, rs) in people.iter().zip(rows) {
        for r in rs {
            let mut groups = vec![("overall".to_string(), "overall".to_string())];
            match &r.health_home_id {
                Some(h) => {
                    groups.push(("health_home".into(), h.clone()));
                    groups.push(("hh_enrolled".into(), "hh_enrolled".into()));
                }
                None if pe.outreach => groups.push((
                    "eligible_not_enrolled".into(),
                    "eligible_not_enrolled".into(),
                )),
                None => {}
            }
            for (t, id) in groups {
                m.entry((r.measure.to_string(), t, id))
                    .or_default()
                    .add(r.status);
            }
        }
    }
    m
}

/// §6 `measure_summary` from the counts, sorted by (measure, group_type, group_id).
pub fn measure_summary_frame(counts: &SummaryCounts) -> PolarsResult<DataFrame> {
    let mut cols: (Vec<&str>, Vec<&str>, Vec<&str>) = (vec![], vec![], vec![]);
    let (mut den, mut num, mut exc, mut rate, mut lo, mut hi, mut lib, mut open, mut closed) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    for ((m, t, id), c) in counts {
        let inverse = lower_is_better(m);
        let d = c.open + c.closed;
        let n = if inverse { c.open } else { c.closed };
        cols.0.push(m.as_str());
        cols.1.push(t.as_str());
        cols.2.push(id.as_str());
        den.push(d as i64);
        num.push(n as i64);
        exc.push(c.excluded as i64);
        rate.push((d > 0).then(|| n as f64 / d as f64));
        let ci = wilson(n, d);
        lo.push(ci.map(|x| x.0));
        hi.push(ci.map(|x| x.1));
        lib.push(inverse);
        open.push(c.open as i64);
        closed.push(c.closed as i64);
    }
    DataFrame::new_infer_height(vec![
        Column::new("measure".into(), cols.0),
        Column::new("group_type".into(), cols.1),
        Column::new("group_id".into(), cols.2),
        Column::new("denominator".into(), den),
        Column::new("numerator".into(), num),
        Column::new("excluded".into(), exc),
        Column::new("rate".into(), rate),
        Column::new("rate_ci_low".into(), lo),
        Column::new("rate_ci_high".into(), hi),
        Column::new("lower_is_better".into(), lib),
        Column::new("open".into(), open),
        Column::new("closed".into(), closed),
    ])
}

/// §6 / §9 `worklist` from the `care_gaps` frame.
pub fn worklist(care_gaps: LazyFrame, as_of: chrono::NaiveDate) -> LazyFrame {
    care_gaps
        .filter(
            col("status")
                .eq(lit("open"))
                .and(col("health_home_id").is_not_null()),
        )
        .select([
            col("health_home_id"),
            col("due_date"),
            col("person_id"),
            col("measure"),
            col("index_date"),
            (col("due_date").cast(DataType::Int32) - lit(crate::params::epoch_days(as_of)))
                .cast(DataType::Int64)
                .alias("days_left"),
            col("index_evidence"),
        ])
        .sort(
            [
                "health_home_id",
                "due_date",
                "person_id",
                "measure",
                "index_date",
            ],
            Default::default(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_reference_story() {
        // fuh_day7_vs_day8: 1 of 3 → about 0.0614 … 0.7923.
        let (lo, hi) = wilson(1, 3).unwrap();
        assert!(
            (lo - 0.0614).abs() < 1e-4 && (hi - 0.7923).abs() < 1e-4,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), None);
        let (lo, hi) = wilson(0, 10).unwrap();
        assert_eq!(lo, 0.0);
        assert!(hi > 0.27 && hi < 0.28);
        let (lo, hi) = wilson(10, 10).unwrap();
        assert!(lo > 0.72 && (hi - 1.0).abs() < 1e-12, "{lo} {hi}");
    }
}
