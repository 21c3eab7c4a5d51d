//! `pcr_30`: plan all-cause readmissions (spec §4, §9). Inverse: `open` (readmitted) is the
//! HEDIS numerator.
//!
//! - **Eligible population**: every merged acute stay discharged on D in MP start … MP end −
//!   31 days, age 18–64 on D, covered every day D−365 … D+30. Every stay is an index and may
//!   also be the previous stay's readmission.
//! - **Exclusions**: death during the stay.
//! - **Numerator** (`open`): an acute admission on D+1 … D+30; the readmission's claims are the
//!   closing evidence. Otherwise `closed`, with no closing date.
//! - `due_date` = D+30; `index_evidence` = the stay's claims.

use super::{reason, GapRow, Outcome, Period};
use crate::encounters::PersonEvents;

pub fn evaluate(pe: &PersonEvents, period: &Period) -> Vec<GapRow> {
    let mut rows = Vec::new();
    for stay in &pe.stays {
        let d = stay.discharge;
        let age = pe.age_on(d);
        if !(period.episode_index(d)
            && (18..=64).contains(&age)
            && pe.covered_every_day(d - 365, d + 30))
        {
            continue;
        }
        let outcome = if stay.death {
            Outcome::Excluded(reason::DEATH)
        } else {
            match pe
                .stays
                .iter()
                .find(|s| (d + 1..=d + 30).contains(&s.admission))
            {
                Some(re) => Outcome::Open {
                    evidence: Some(re.claim_ids.clone()),
                },
                None => Outcome::ClosedWithoutEvidence,
            }
        };
        rows.push(GapRow::new(
            "pcr_30",
            d,
            d + 30,
            stay.claim_ids.clone(),
            outcome,
        ));
    }
    rows
}
