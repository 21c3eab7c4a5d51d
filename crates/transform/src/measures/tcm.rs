//! `tcm_7`: Health Home transitional care after discharge (spec §4).
//!
//! - **Eligible population**: a merged acute stay discharged on D in MP start … MP end − 31
//!   days, any diagnosis, age ≥ 18 on D, covered every day D … D+7.
//! - **Exclusions**: death during the stay.
//! - **Numerator** (`closed`): any outpatient or mental-health visit on D+1 … D+7.
//! - `due_date` = D+7; `index_evidence` = the stay's claims.

use super::{first_in_window, reason, GapRow, Outcome, Period};
use crate::encounters::PersonEvents;

pub fn evaluate(pe: &PersonEvents, period: &Period) -> Vec<GapRow> {
    let mut rows = Vec::new();
    for stay in &pe.stays {
        let d = stay.discharge;
        if !(period.episode_index(d) && pe.age_on(d) >= 18 && pe.covered_every_day(d, d + 7)) {
            continue;
        }
        let outcome = if stay.death {
            Outcome::Excluded(reason::DEATH)
        } else {
            match first_in_window(
                &pe.visits,
                d + 1,
                d + 7,
                |v| v.date,
                |v| Some(v.claim_id.as_str()),
                |v| v.outpatient || v.mental_health,
            ) {
                Some((date, evidence)) => Outcome::Closed { date, evidence },
                None => Outcome::Open { evidence: None },
            }
        };
        rows.push(GapRow::new(
            "tcm_7",
            d,
            d + 7,
            stay.claim_ids.clone(),
            outcome,
        ));
    }
    rows
}
