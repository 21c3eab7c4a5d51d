//! `fuh_7`, `fuh_30`: follow-up after hospitalization for mental illness (spec §4, §9;
//! NCQA HEDIS FUH, Health Home Core Set FUH-HH).
//!
//! - `due_date` = D+7 (D+30); `index_evidence` = the stay's claims; `closing_date` = the first
//!   follow-up visit. The populations are the functions below.

use super::{
    band, first_in_window, from_age, reason, Context, Family, GapRow, Kind, Measure, Outcome,
};
use crate::events::{PersonEvents, Stay, Uses};

const AGE_BANDS: &[super::AgeBand] = &[band(6, 17), band(18, 64), from_age(65)];

/// `fuh_7` and `fuh_30` differ only in id and name.
const fn measure(id: &'static str, name: &'static str, rate: &'static str) -> Measure {
    Measure {
        id,
        name,
        steward: "NCQA",
        source: "NCQA HEDIS FUH (Health Home Core Set FUH-HH), as caregap spec v1.3 §4 reads it",
        version: "spec 1.3",
        kind: Kind::Episode,
        lower_is_better: false,
        age_bands: AGE_BANDS,
        spec: "shared/spec/measures.md §4 (fuh_7, fuh_30), §9",
        core_set: super::core_set("FUH-HH", rate),
    }
}

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "fuh",
    measures: &[
        measure(
            "fuh_7",
            "Follow-up after hospitalization for mental illness, 7 days",
            "7-day",
        ),
        measure(
            "fuh_30",
            "Follow-up after hospitalization for mental illness, 30 days",
            "30-day",
        ),
    ],
    uses: Uses {
        principal_dx: &["mental_illness"],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population**: a merged acute stay discharged on D in MP start … MP end − 31
/// days, with a mental_illness principal diagnosis, age ≥ 6 on D, covered every day D … D+30.
pub fn eligible_population<'a>(
    pe: &'a PersonEvents,
    ctx: &'a Context,
) -> impl Iterator<Item = &'a Stay> + 'a {
    let mi = ctx.needs.principal("mental_illness");
    pe.stays.iter().filter(move |s| {
        let d = s.discharge;
        ctx.period.episode_index(d)
            && s.principal & mi != 0
            && pe.age_on(d) >= 6
            && pe.covered_every_day(d, d + 30)
    })
}

/// What the exclusions make of an eligible discharge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// Not excluded: the numerator decides.
    None,
    /// Excluded, with the §8 reason.
    Excluded(&'static str),
    /// Replaced by an acute readmission with an MH principal diagnosis: no row (the later
    /// stay is judged as an index of its own).
    Replaced,
}

/// **Exclusions**, in order: death during the stay (`death during stay`); then the earliest
/// admission on D … D+30 decides: a nonacute admission on D … D+30 (`nonacute admission
/// within 30 days`), an acute readmission on D+1 … D+30 with a non-MH principal diagnosis
/// (`acute readmission with non-MH principal dx within 30 days`), or an acute readmission with
/// an MH principal diagnosis, which replaces this discharge. On the same day: nonacute first,
/// then non-MH, then MH (§9).
pub fn exclusions(pe: &PersonEvents, stay: &Stay, ctx: &Context) -> Exclusion {
    if stay.death {
        return Exclusion::Excluded(reason::DEATH);
    }
    let d = stay.discharge;
    let mi = ctx.needs.principal("mental_illness");
    // (date, rank): on the same date the lower rank decides.
    let nonacute = pe
        .nonacute
        .iter()
        .filter(|n| n.date >= d && n.date <= d + 30)
        .map(|n| (n.date, 0));
    let acute = pe
        .stays
        .iter()
        .filter(|s| (d + 1..=d + 30).contains(&s.admission))
        .map(|s| (s.admission, if s.principal & mi != 0 { 2 } else { 1 }));
    match nonacute.chain(acute).min().map(|(_, rank)| rank) {
        Some(0) => Exclusion::Excluded(reason::NONACUTE),
        Some(1) => Exclusion::Excluded(reason::NON_MH_READMISSION),
        Some(_) => Exclusion::Replaced,
        None => Exclusion::None,
    }
}

/// **Numerator** (`closed`): a mental-health follow-up visit on D+1 … D+`days`; the discharge
/// day never counts. The first such date and its visits' claims.
pub fn numerator(pe: &PersonEvents, d: i32, days: i32) -> Option<(i32, Vec<String>)> {
    first_in_window(
        &pe.visits,
        d + 1,
        d + days,
        |v| v.date,
        |v| Some(v.claim_id.as_str()),
        |v| v.mental_health,
    )
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let mut rows = Vec::new();
    for stay in eligible_population(pe, ctx) {
        let d = stay.discharge;
        let excluded = match exclusions(pe, stay, ctx) {
            Exclusion::Replaced => continue,
            Exclusion::Excluded(r) => Some(r),
            Exclusion::None => None,
        };
        for (measure, days) in [("fuh_7", 7), ("fuh_30", 30)] {
            let outcome = match excluded {
                Some(r) => Outcome::Excluded(r),
                None => match numerator(pe, d, days) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;

    fn mh_stay(adm: i32, dis: i32) -> Stay {
        stay(adm, dis, principal("mental_illness"))
    }

    #[test]
    fn eligible_needs_mh_principal_age_6_and_30_days_covered() {
        let c = ctx();
        let mut pe = adult();
        pe.stays = vec![mh_stay(90, 100), stay(150, 160, 0)];
        assert_eq!(
            eligible_population(&pe, &c).count(),
            1,
            "a non-MH stay is no index"
        );
        pe.stays = vec![mh_stay(90, 100)];
        pe.coverage = vec![(0, 130)];
        assert_eq!(eligible_population(&pe, &c).count(), 1, "D … D+30 covered");
        pe.coverage = vec![(0, 129)];
        assert_eq!(eligible_population(&pe, &c).count(), 0, "D+30 not covered");
        let mut child = adult();
        child.birth = day(1964, 4, 11); // 6 on 1970-04-11 = day 100
        child.stays = vec![mh_stay(90, 100)];
        assert_eq!(eligible_population(&child, &c).count(), 1, "6 on D");
        child.birth = day(1964, 4, 12);
        assert_eq!(eligible_population(&child, &c).count(), 0, "5 on D");
        let mut late = adult();
        let last = c.period.end - 31;
        late.stays = vec![mh_stay(300, last)];
        assert_eq!(eligible_population(&late, &c).count(), 1, "MP end − 31");
        late.stays = vec![mh_stay(300, last + 1)];
        assert_eq!(eligible_population(&late, &c).count(), 0, "MP end − 30");
    }

    #[test]
    fn exclusions_in_order_and_same_day_ranks() {
        let c = ctx();
        let mut pe = adult();
        let idx = mh_stay(90, 100);
        pe.stays = vec![idx.clone()];
        assert_eq!(exclusions(&pe, &idx, &c), Exclusion::None);
        let dead = Stay {
            death: true,
            ..idx.clone()
        };
        assert_eq!(
            exclusions(&pe, &dead, &c),
            Exclusion::Excluded(reason::DEATH)
        );
        // Non-MH readmission on D+10 and MH readmission on D+10: non-MH decides.
        pe.stays = vec![idx.clone(), stay(110, 112, 0), mh_stay(110, 111)];
        assert_eq!(
            exclusions(&pe, &idx, &c),
            Exclusion::Excluded(reason::NON_MH_READMISSION)
        );
        // MH readmission on D+30 replaces; on D+31 it does not count.
        pe.stays = vec![idx.clone(), mh_stay(130, 131)];
        assert_eq!(exclusions(&pe, &idx, &c), Exclusion::Replaced);
        pe.stays = vec![idx.clone(), mh_stay(131, 132)];
        assert_eq!(exclusions(&pe, &idx, &c), Exclusion::None);
        // A nonacute admission on the discharge day itself excludes, ahead of a same-day MH one.
        pe.stays = vec![idx.clone()];
        pe.nonacute = vec![dated(100)];
        assert_eq!(
            exclusions(&pe, &idx, &c),
            Exclusion::Excluded(reason::NONACUTE)
        );
    }

    #[test]
    fn numerator_day_7_counts_day_8_does_not_and_discharge_day_never() {
        let mut pe = adult();
        pe.visits = vec![visit(100, true)];
        assert_eq!(numerator(&pe, 100, 7), None, "discharge day");
        pe.visits = vec![visit(107, true), visit(107, false)];
        assert_eq!(numerator(&pe, 100, 7), Some((107, vec!["V107".into()])));
        pe.visits = vec![visit(108, true)];
        assert_eq!(numerator(&pe, 100, 7), None);
        assert_eq!(numerator(&pe, 100, 30).map(|x| x.0), Some(108));
    }
}
