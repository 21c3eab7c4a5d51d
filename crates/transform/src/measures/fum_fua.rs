//! `fum_7`, `fum_30` (follow-up after ED visit for mental illness) and `fua_7`, `fua_30`
//! (… for substance use), spec §4, §9. One rule, two parameter sets.
//!
//! - **Eligible population**: an ED visit on E in MP start … MP end − 31 days whose principal
//!   diagnosis (diagnosis_code_1 of any ED line that date) is in mental_illness (FUM) or
//!   substance_use_disorder (FUA); age ≥ 6 (FUM) or ≥ 13 (FUA) on E; covered every day
//!   E … E+30.
//! - **Exclusions**, in order: the visit resulted in admission (an acute stay admitted on E or
//!   E+1: `resulted in admission`); an acute or nonacute admission on E … E+30 (`admission
//!   within 30 days`).
//! - **31-day rule**: among the rows left, only the first ED visit of any 31-day span; a kept
//!   visit blocks E+1 … E+30 and blocked visits produce no row. Excluded visits do not block.
//! - **Numerator** (`closed`): FUM: a mental-health follow-up visit on E … E+7 (E+30); the ED
//!   date counts. FUA: an outpatient or mental-health visit with an SUD diagnosis in any
//!   position, or any line in `fua_service` (H0001–H0050, H2034–H2036), on E … E+7 (E+30).
//! - `due_date` = E+7 (E+30); `index_evidence` = the ED claims of that date.

use super::{first_in_window, reason, GapRow, Outcome, Period};
use crate::encounters::{EdVisit, PersonEvents, Visit};

/// The parameters that tell FUM and FUA apart.
struct Family {
    measures: [(&'static str, i32); 2],
    min_age: i32,
    index: fn(&EdVisit) -> bool,
    follow_up: fn(&Visit) -> bool,
}

const FUM: Family = Family {
    measures: [("fum_7", 7), ("fum_30", 30)],
    min_age: 6,
    index: |e| e.mental_health,
    follow_up: |v| v.mental_health,
};

const FUA: Family = Family {
    measures: [("fua_7", 7), ("fua_30", 30)],
    min_age: 13,
    index: |e| e.sud,
    follow_up: |v| ((v.outpatient || v.mental_health) && v.sud_dx) || v.fua_service,
};

fn family(pe: &PersonEvents, period: &Period, f: &Family) -> Vec<GapRow> {
    let mut rows = Vec::new();
    let mut blocked_through = i32::MIN;
    for ed in &pe.ed_visits {
        let e = ed.date;
        if !(period.episode_index(e)
            && (f.index)(ed)
            && pe.age_on(e) >= f.min_age
            && pe.covered_every_day(e, e + 30))
        {
            continue;
        }
        let excluded = if pe
            .stays
            .iter()
            .any(|s| s.admission == e || s.admission == e + 1)
        {
            Some(reason::RESULTED_IN_ADMISSION)
        } else if pe
            .stays
            .iter()
            .any(|s| s.admission >= e && s.admission <= e + 30)
            || pe.nonacute.iter().any(|n| n.date >= e && n.date <= e + 30)
        {
            Some(reason::ADMISSION_30)
        } else {
            None
        };
        if excluded.is_none() {
            if e <= blocked_through {
                continue;
            }
            blocked_through = e + 30;
        }
        for (measure, days) in f.measures {
            let outcome = match excluded {
                Some(r) => Outcome::Excluded(r),
                None => match first_in_window(
                    &pe.visits,
                    e,
                    e + days,
                    |v| v.date,
                    |v| Some(v.claim_id.as_str()),
                    f.follow_up,
                ) {
                    Some((date, evidence)) => Outcome::Closed { date, evidence },
                    None => Outcome::Open { evidence: None },
                },
            };
            rows.push(GapRow::new(
                measure,
                e,
                e + days,
                ed.claim_ids.clone(),
                outcome,
            ));
        }
    }
    rows
}

pub fn evaluate(pe: &PersonEvents, period: &Period) -> Vec<GapRow> {
    let mut rows = family(pe, period, &FUM);
    rows.extend(family(pe, period, &FUA));
    rows
}
