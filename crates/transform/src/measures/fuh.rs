//! `fuh_7`, `fuh_30`: follow-up after hospitalization for mental illness (spec §4, §9).
//!
//! - **Eligible population**: a merged acute stay (§1) discharged on D in MP start … MP end −
//!   31 days, with a mental_illness principal diagnosis, age ≥ 6 on D, covered every day
//!   D … D+30.
//! - **Exclusions**, in order: death during the stay (`death during stay`); then the earliest
//!   admission on D … D+30 decides: a nonacute admission on D … D+30 (`nonacute admission
//!   within 30 days`), an acute readmission on D+1 … D+30 with a non-MH principal diagnosis
//!   (`acute readmission with non-MH principal dx within 30 days`), or an acute readmission
//!   with an MH principal diagnosis, which **replaces** this discharge: no row, the later stay
//!   is judged as an index of its own. On the same day, nonacute first, then non-MH, then MH
//!   (§9).
//! - **Numerator** (`closed`): a mental-health follow-up visit on D+1 … D+7 (D+30); the
//!   discharge day never counts. `closing_date` = the first such visit.
//! - `due_date` = D+7 (D+30); `index_evidence` = the stay's claims.

use super::{first_in_window, reason, GapRow, Outcome, Period};
use crate::encounters::PersonEvents;

/// What the earliest admission in the 30 days after a discharge means for FUH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Admission {
    Nonacute,
    AcuteNonMh,
    AcuteMh,
}

fn earliest_admission(pe: &PersonEvents, d: i32) -> Option<Admission> {
    let nonacute = pe
        .nonacute
        .iter()
        .filter(|n| n.date >= d && n.date <= d + 30)
        .map(|n| (n.date, Admission::Nonacute));
    let acute = pe
        .stays
        .iter()
        .filter(|s| (d + 1..=d + 30).contains(&s.admission))
        .map(|s| {
            (
                s.admission,
                if s.mental_health {
                    Admission::AcuteMh
                } else {
                    Admission::AcuteNonMh
                },
            )
        });
    nonacute.chain(acute).min().map(|(_, a)| a)
}

pub fn evaluate(pe: &PersonEvents, period: &Period) -> Vec<GapRow> {
    let mut rows = Vec::new();
    for stay in &pe.stays {
        let d = stay.discharge;
        if !(period.episode_index(d)
            && stay.mental_health
            && pe.age_on(d) >= 6
            && pe.covered_every_day(d, d + 30))
        {
            continue;
        }
        let excluded = if stay.death {
            Some(reason::DEATH)
        } else {
            match earliest_admission(pe, d) {
                Some(Admission::Nonacute) => Some(reason::NONACUTE),
                Some(Admission::AcuteNonMh) => Some(reason::NON_MH_READMISSION),
                Some(Admission::AcuteMh) => continue, // replaced by the readmission
                None => None,
            }
        };
        for (measure, days) in [("fuh_7", 7), ("fuh_30", 30)] {
            let outcome = match excluded {
                Some(r) => Outcome::Excluded(r),
                None => match first_in_window(
                    &pe.visits,
                    d + 1,
                    d + days,
                    |v| v.date,
                    |v| Some(v.claim_id.as_str()),
                    |v| v.mental_health,
                ) {
                    Some((date, evidence)) => Outcome::Closed { date, evidence },
                    None => Outcome::Open { evidence: None },
                },
            };
            rows.push(GapRow::new(
                measure,
                d,
                d + days,
                stay.claim_ids.clone(),
                outcome,
            ));
        }
    }
    rows
}
