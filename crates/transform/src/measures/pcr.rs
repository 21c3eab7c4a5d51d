//! `pcr_30`: plan all-cause readmissions (spec §4, §9; NCQA HEDIS PCR, Health Home Core Set
//! PCR-HH). Inverse: `open` (readmitted) is the HEDIS numerator.
//!
//! `due_date` = D+30; `index_evidence` = the stay's claims; the readmission's claims are the
//! closing evidence of an `open` row; a `closed` row has no closing date.

use super::{band, reason, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::{PersonEvents, Stay, Uses};

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "pcr",
    measures: &[Measure {
        id: "pcr_30",
        name: "All-cause readmissions within 30 days, lower is better",
        steward: "NCQA",
        source: "NCQA HEDIS PCR (Health Home Core Set PCR-HH), as caregap spec v1.3 §4 reads it",
        version: "spec 1.3",
        kind: Kind::Episode,
        lower_is_better: true,
        age_bands: &[band(18, 64)],
        spec: "shared/spec/measures.md §4 (pcr_30), §9",
        core_set: None,
    }],
    uses: Uses::NONE,
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population**: every merged acute stay discharged on D in MP start … MP end − 31
/// days, age 18–64 on D, covered every day D−365 … D+30. Every stay is an index and may also
/// be the previous stay's readmission.
pub fn eligible_population<'a>(
    pe: &'a PersonEvents,
    ctx: &'a Context,
) -> impl Iterator<Item = &'a Stay> + 'a {
    pe.stays.iter().filter(move |s| {
        let d = s.discharge;
        ctx.period.episode_index(d)
            && (18..=64).contains(&pe.age_on(d))
            && pe.covered_every_day(d - 365, d + 30)
    })
}

/// **Exclusions**: death during the stay (`death during stay`).
pub fn exclusions(stay: &Stay) -> Option<&'static str> {
    stay.death.then_some(reason::DEATH)
}

/// **Numerator** (`open`): the first acute admission on D+1 … D+30 — the readmission.
pub fn numerator(pe: &PersonEvents, d: i32) -> Option<&Stay> {
    pe.stays
        .iter()
        .find(|s| (d + 1..=d + 30).contains(&s.admission))
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    eligible_population(pe, ctx)
        .map(|stay| {
            let d = stay.discharge;
            let outcome = match exclusions(stay) {
                Some(r) => Outcome::Excluded(r),
                None => match numerator(pe, d) {
                    Some(re) => Outcome::Open {
                        evidence: Some(re.claim_ids.clone()),
                    },
                    None => Outcome::ClosedWithoutEvidence,
                },
            };
            GapRow::new("pcr_30", d, d + 30, stay.claim_ids.clone(), outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;

    #[test]
    fn eligible_needs_a_year_of_coverage_before_and_age_18_to_64() {
        let c = ctx();
        let mut pe = adult();
        pe.stays = vec![stay(90, 100, 0)];
        pe.coverage = vec![(100 - 365, 130)];
        assert_eq!(eligible_population(&pe, &c).count(), 1);
        pe.coverage = vec![(100 - 364, 130)];
        assert_eq!(eligible_population(&pe, &c).count(), 0, "D−365 not covered");
        let mut old = adult();
        old.stays = vec![stay(90, 100, 0)];
        old.birth = day(1905, 4, 11); // 65 on D
        assert_eq!(eligible_population(&old, &c).count(), 0);
    }

    #[test]
    fn readmission_on_day_30_counts_day_31_does_not() {
        let mut pe = adult();
        pe.stays = vec![stay(90, 100, 0), stay(130, 131, 0)];
        assert_eq!(numerator(&pe, 100).map(|s| s.admission), Some(130));
        pe.stays = vec![stay(90, 100, 0), stay(131, 132, 0)];
        assert_eq!(numerator(&pe, 100), None);
        pe.stays = vec![stay(90, 100, 0), stay(100, 101, 0)];
        assert_eq!(
            numerator(&pe, 100),
            None,
            "an admission on D is no readmission"
        );
        let mut s = stay(90, 100, 0);
        s.death = true;
        assert_eq!(exclusions(&s), Some(reason::DEATH));
    }
}
