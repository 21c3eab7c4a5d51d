//! `cbp`: controlling high blood pressure, here "unmanaged hypertension" (spec §4, §1, §9).
//!
//! - **Eligible population**: age 18–85 at MP end; a hypertension diagnosis (any position) on
//!   outpatient visits on ≥ 2 distinct dates from MP start − 1 year through the last day of
//!   the calendar month five months after the MP's start month (30 June for a calendar year);
//!   MP enrollment (covered on the MP's last day, at most one gap of at most 45 days).
//! - **Exclusions**, in order: ESRD in the MP (`esrd`); pregnancy in the MP (`pregnancy`).
//! - **Numerator** (`closed`): the most recent date in the MP with a BP reading has systolic
//!   < 140 **and** diastolic < 90, using the lowest of each that date. A date with only one
//!   component is not controlled; no reading = `open`. Readings during an acute stay
//!   (admission … discharge inclusive) or on an ED visit date are ignored (§1).
//! - index_date = due_date = MP end; `closing_date` = the reading date when controlled;
//!   `index_evidence` = the hypertension visit claims.

use std::collections::BTreeSet;

use super::{ids_on, reason, GapRow, Outcome, Period};
use crate::encounters::{BpReading, PersonEvents};

/// Readings that count: not during an acute stay, not on an ED visit date.
fn usable(pe: &PersonEvents, r: &BpReading) -> bool {
    !pe.stays
        .iter()
        .any(|s| r.date >= s.admission && r.date <= s.discharge)
        && !pe.ed_visits.iter().any(|e| e.date == r.date)
}

pub fn evaluate(pe: &PersonEvents, period: &Period) -> Vec<GapRow> {
    let age = pe.age_on(period.end);
    if !(18..=85).contains(&age) {
        return vec![];
    }
    let dx_visits: Vec<_> = pe
        .visits
        .iter()
        .filter(|v| {
            v.outpatient
                && v.hypertension_dx
                && v.date >= period.cbp_from
                && v.date <= period.cbp_to
        })
        .collect();
    let dates: BTreeSet<i32> = dx_visits.iter().map(|v| v.date).collect();
    if dates.len() < 2 || !pe.mp_enrolled(period.start, period.end) {
        return vec![];
    }
    let evidence: Vec<String> = dx_visits.iter().map(|v| v.claim_id.clone()).collect();
    let outcome = if pe.esrd {
        Outcome::Excluded(reason::ESRD)
    } else if pe.pregnancy {
        Outcome::Excluded(reason::PREGNANCY)
    } else {
        let readings: Vec<&BpReading> = pe.bp.iter().filter(|r| usable(pe, r)).collect();
        match readings.iter().map(|r| r.date).max() {
            None => Outcome::Open { evidence: None },
            Some(last) => {
                let on_day = readings.iter().filter(|r| r.date == last);
                let low = |f: fn(&BpReading) -> Option<f64>| {
                    on_day
                        .clone()
                        .filter_map(|r| f(r))
                        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.min(v))))
                };
                let (sys, dia) = (low(|r| r.systolic), low(|r| r.diastolic));
                match (sys, dia) {
                    (Some(s), Some(d)) if s < 140.0 && d < 90.0 => Outcome::Closed {
                        date: last,
                        evidence: ids_on(
                            &readings,
                            last,
                            |r| r.date,
                            |r| r.id.as_deref(),
                            |_| true,
                        ),
                    },
                    _ => Outcome::Open { evidence: None },
                }
            }
        }
    };
    vec![GapRow::new(
        "cbp", period.end, period.end, evidence, outcome,
    )]
}
