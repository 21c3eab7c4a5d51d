//! `hba1c_poor`: HbA1c poor control (> 9.0 %) for people with diabetes (spec §4, §1, §8).
//! Inverse: `open` (poor control or no test) is the HEDIS numerator.
//!
//! - **Eligible population**: age 18–75 at MP end; the diabetes condition (§3) or a
//!   diabetes_medication dispensed from the look-back start (default MP start − 1 year) to
//!   the MP end; MP enrollment.
//! - **Exclusions**: none but hospice.
//! - **Numerator**: the most recent HbA1c in the MP (the lowest that date) ≤ 9.0 → `closed`
//!   on that date; > 9.0 or no result → `open`. Results that are not a plain decimal in % do not
//!   count (§8).
//! - index_date = due_date = MP end; `index_evidence` = the diabetes diagnosis claims and
//!   diabetes-medication fills.

use super::{ids_on, GapRow, Outcome, Period};
use crate::encounters::PersonEvents;

pub fn evaluate(pe: &PersonEvents, period: &Period) -> Vec<GapRow> {
    let age = pe.age_on(period.end);
    let meds = !pe.diabetes_medication.is_empty();
    if !(18..=75).contains(&age)
        || !(pe.diabetes || meds)
        || !pe.mp_enrolled(period.start, period.end)
    {
        return vec![];
    }
    let mut evidence = pe.diabetes_evidence.clone();
    evidence.extend(pe.diabetes_medication.iter().filter_map(|d| d.id.clone()));
    let counted: Vec<_> = pe.hba1c.iter().filter(|r| r.value.is_some()).collect();
    let outcome = match counted.iter().map(|r| r.date).max() {
        None => Outcome::Open { evidence: None },
        Some(last) => {
            let lowest = counted
                .iter()
                .filter(|r| r.date == last)
                .filter_map(|r| r.value)
                .fold(f64::INFINITY, f64::min);
            if lowest <= 9.0 {
                Outcome::Closed {
                    date: last,
                    evidence: ids_on(&counted, last, |r| r.date, |r| r.id.as_deref(), |_| true),
                }
            } else {
                Outcome::Open { evidence: None }
            }
        }
    };
    vec![GapRow::new(
        "hba1c_poor",
        period.end,
        period.end,
        evidence,
        outcome,
    )]
}
