//! `tcm_7`: Health Home transitional care after discharge (spec §4; caregap's own measure of
//! the Health Home "transitional care" service, no Core Set counterpart).
//!
//! `due_date` = D+7; `index_evidence` = the stay's claims; `closing_date` = the first visit.

use super::{
    band, first_in_window, from_age, reason, Context, Family, GapRow, Kind, Measure, Outcome,
};
use crate::events::{PersonEvents, Stay, Uses};

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "tcm",
    measures: &[Measure {
        id: "tcm_7",
        name: "Transitional care after discharge, 7 days",
        steward: "caregap",
        source: "caregap spec v1.3 §4 (Health Home transitional care service)",
        version: "spec 1.3",
        kind: Kind::Episode,
        lower_is_better: false,
        age_bands: &[band(18, 64), from_age(65)],
        spec: "shared/spec/measures.md §4 (tcm_7)",
        core_set: None,
    }],
    uses: Uses::NONE,
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population**: a merged acute stay discharged on D in MP start … MP end − 31
/// days, any diagnosis, age ≥ 18 on D, covered every day D … D+7.
pub fn eligible_population<'a>(
    pe: &'a PersonEvents,
    ctx: &'a Context,
) -> impl Iterator<Item = &'a Stay> + 'a {
    pe.stays.iter().filter(move |s| {
        let d = s.discharge;
        ctx.period.episode_index(d) && pe.age_on(d) >= 18 && pe.covered_every_day(d, d + 7)
    })
}

/// **Exclusions**: death during the stay (`death during stay`).
pub fn exclusions(stay: &Stay) -> Option<&'static str> {
    stay.death.then_some(reason::DEATH)
}

/// **Numerator** (`closed`): any outpatient or mental-health visit on D+1 … D+7.
pub fn numerator(pe: &PersonEvents, d: i32) -> Option<(i32, Vec<String>)> {
    first_in_window(
        &pe.visits,
        d + 1,
        d + 7,
        |v| v.date,
        |v| Some(v.claim_id.as_str()),
        |v| v.outpatient || v.mental_health,
    )
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    eligible_population(pe, ctx)
        .map(|stay| {
            let d = stay.discharge;
            let outcome = match exclusions(stay) {
                Some(r) => Outcome::Excluded(r),
                None => match numerator(pe, d) {
                    Some((date, evidence)) => Outcome::Closed { date, evidence },
                    None => Outcome::Open { evidence: None },
                },
            };
            GapRow::new("tcm_7", d, d + 7, stay.claim_ids.clone(), outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;

    #[test]
    fn eligible_needs_18_on_discharge_and_7_days_covered() {
        let c = ctx();
        let mut pe = adult();
        pe.stays = vec![stay(90, 100, 0)];
        pe.coverage = vec![(0, 107)];
        assert_eq!(eligible_population(&pe, &c).count(), 1);
        pe.coverage = vec![(0, 106)];
        assert_eq!(eligible_population(&pe, &c).count(), 0, "D+7 not covered");
        let mut teen = adult();
        teen.stays = vec![stay(90, 100, 0)];
        teen.birth = day(1952, 4, 12); // 17 on 1970-04-11
        assert_eq!(eligible_population(&teen, &c).count(), 0);
    }

    #[test]
    fn death_excludes_and_day_7_counts_day_8_does_not() {
        let mut s = stay(90, 100, 0);
        assert_eq!(exclusions(&s), None);
        s.death = true;
        assert_eq!(exclusions(&s), Some(reason::DEATH));
        let mut pe = adult();
        pe.visits = vec![visit(100, false)];
        assert_eq!(numerator(&pe, 100), None, "the discharge day never counts");
        pe.visits = vec![visit(107, false)];
        assert_eq!(numerator(&pe, 100), Some((107, vec!["W107".into()])));
        pe.visits = vec![visit(108, true)];
        assert_eq!(numerator(&pe, 100), None);
    }
}
