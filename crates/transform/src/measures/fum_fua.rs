//! `fum_7`, `fum_30` (follow-up after ED visit for mental illness) and `fua_7`, `fua_30`
//! (… for substance use), spec §4, §9 (NCQA HEDIS FUM / FUA, Health Home Core Set FUM-HH and
//! FUA-HH). One rule, two parameter sets ([`Follow`]).
//!
//! `due_date` = E+7 (E+30); `index_evidence` = the ED claims of that date; `closing_date` =
//! the first follow-up.

use super::{
    band, first_in_window, from_age, reason, AgeBand, Context, Family, GapRow, Kind, Measure,
    Outcome,
};
use crate::events::{EdVisit, PersonEvents, Uses, Visit};

const FUM_BANDS: &[AgeBand] = &[band(6, 17), band(18, 64), from_age(65)];
const FUA_BANDS: &[AgeBand] = &[band(13, 17), band(18, 64), from_age(65)];

const FUM_SOURCE: &str =
    "NCQA HEDIS FUM (Health Home Core Set FUM-HH), as caregap spec v1.3 §4 reads it";
const FUA_SOURCE: &str =
    "NCQA HEDIS FUA (Health Home Core Set FUA-HH), as caregap spec v1.3 §4 reads it";

const fn measure(
    id: &'static str,
    name: &'static str,
    bands: &'static [AgeBand],
    source: &'static str,
    core_set: Option<super::CoreSet>,
) -> Measure {
    Measure {
        id,
        name,
        steward: "NCQA",
        source,
        version: "spec 1.3",
        kind: Kind::Episode,
        lower_is_better: false,
        age_bands: bands,
        spec: "shared/spec/measures.md §4 (fum_7, fum_30, fua_7, fua_30), §9",
        core_set,
    }
}

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "fum_fua",
    measures: &[
        measure(
            "fum_7",
            "Follow-up after ED visit for mental illness, 7 days",
            FUM_BANDS,
            FUM_SOURCE,
            super::core_set("FUM-HH", "7-day"),
        ),
        measure(
            "fum_30",
            "Follow-up after ED visit for mental illness, 30 days",
            FUM_BANDS,
            FUM_SOURCE,
            super::core_set("FUM-HH", "30-day"),
        ),
        measure(
            "fua_7",
            "Follow-up after ED visit for substance use, 7 days",
            FUA_BANDS,
            FUA_SOURCE,
            None,
        ),
        measure(
            "fua_30",
            "Follow-up after ED visit for substance use, 30 days",
            FUA_BANDS,
            FUA_SOURCE,
            None,
        ),
    ],
    uses: Uses {
        principal_dx: &["mental_illness", "substance_use_disorder"],
        visit_dx: &["substance_use_disorder"],
        visit_services: &["fua_service"],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// What tells FUM and FUA apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Follow-up after an ED visit for mental illness.
    Fum,
    /// Follow-up after an ED visit for substance use.
    Fua,
}

impl Follow {
    fn measures(self) -> [(&'static str, i32); 2] {
        match self {
            Follow::Fum => [("fum_7", 7), ("fum_30", 30)],
            Follow::Fua => [("fua_7", 7), ("fua_30", 30)],
        }
    }
}

/// **Eligible population** (before the 31-day rule): an ED visit on E in MP start … MP end −
/// 31 days whose principal diagnosis (diagnosis_code_1 of any ED line that date) is in
/// mental_illness (FUM) or substance_use_disorder (FUA); age ≥ 6 (FUM) or ≥ 13 (FUA) on E;
/// covered every day E … E+30.
pub fn eligible_population<'a>(
    pe: &'a PersonEvents,
    ctx: &'a Context,
    f: Follow,
) -> impl Iterator<Item = &'a EdVisit> + 'a {
    let (tag, min_age) = match f {
        Follow::Fum => (ctx.needs.principal("mental_illness"), 6),
        Follow::Fua => (ctx.needs.principal("substance_use_disorder"), 13),
    };
    pe.ed_visits.iter().filter(move |ed| {
        let e = ed.date;
        ctx.period.episode_index(e)
            && ed.principal & tag != 0
            && pe.age_on(e) >= min_age
            && pe.covered_every_day(e, e + 30)
    })
}

/// **Exclusions**, in order: the visit resulted in admission (an acute stay admitted on E or
/// E+1: `resulted in admission`); an acute or nonacute admission on E … E+30 (`admission within
/// 30 days`).
pub fn exclusions(pe: &PersonEvents, e: i32) -> Option<&'static str> {
    if pe
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
    }
}

/// **31-day rule**: among the visits not excluded, only the first of any 31-day span counts;
/// a kept visit on E blocks E+1 … E+30, and blocked visits produce no row. Excluded visits do
/// not block. Returns whether the visit on `e` is kept, updating `blocked_through`.
pub fn first_in_31_days(e: i32, blocked_through: &mut i32) -> bool {
    if e <= *blocked_through {
        return false;
    }
    *blocked_through = e + 30;
    true
}

/// A follow-up that closes the gap: FUM — a mental-health visit; FUA — an outpatient or
/// mental-health visit with a substance-use diagnosis in any position, or any line in
/// `fua_service` (H0001–H0050, H2034–H2036).
pub fn is_follow_up(v: &Visit, ctx: &Context, f: Follow) -> bool {
    match f {
        Follow::Fum => v.mental_health,
        Follow::Fua => {
            ((v.outpatient || v.mental_health)
                && v.dx & ctx.needs.visit_dx("substance_use_disorder") != 0)
                || v.services & ctx.needs.service("fua_service") != 0
        }
    }
}

/// **Numerator** (`closed`): a follow-up on E … E+`days`; the ED date itself counts.
pub fn numerator(
    pe: &PersonEvents,
    ctx: &Context,
    f: Follow,
    e: i32,
    days: i32,
) -> Option<(i32, Vec<String>)> {
    first_in_window(
        &pe.visits,
        e,
        e + days,
        |v| v.date,
        |v| Some(v.claim_id.as_str()),
        |v| is_follow_up(v, ctx, f),
    )
}

fn family(pe: &PersonEvents, ctx: &Context, f: Follow) -> Vec<GapRow> {
    let mut rows = Vec::new();
    let mut blocked_through = i32::MIN;
    for ed in eligible_population(pe, ctx, f) {
        let e = ed.date;
        let excluded = exclusions(pe, e);
        if excluded.is_none() && !first_in_31_days(e, &mut blocked_through) {
            continue;
        }
        for (measure, days) in f.measures() {
            let outcome = match excluded {
                Some(r) => Outcome::Excluded(r),
                None => match numerator(pe, ctx, f, e, days) {
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

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let mut rows = family(pe, ctx, Follow::Fum);
    rows.extend(family(pe, ctx, Follow::Fua));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;

    fn ed(date: i32, set: &str) -> EdVisit {
        EdVisit {
            date,
            principal: principal(set),
            any_dx: 0,
            claim_ids: vec![format!("E{date}")],
        }
    }

    #[test]
    fn eligible_by_principal_diagnosis_and_age() {
        let c = ctx();
        let mut pe = adult();
        pe.ed_visits = vec![ed(100, "mental_illness"), ed(120, "substance_use_disorder")];
        let dates = |f| {
            eligible_population(&pe, &c, f)
                .map(|e| e.date)
                .collect::<Vec<_>>()
        };
        assert_eq!(dates(Follow::Fum), [100]);
        assert_eq!(dates(Follow::Fua), [120]);
        let mut kid = pe.clone();
        kid.birth = day(1958, 5, 1); // 12 on 1970-05-01 = day 120
        assert_eq!(eligible_population(&kid, &c, Follow::Fua).count(), 0);
        kid.birth = day(1957, 5, 1);
        assert_eq!(eligible_population(&kid, &c, Follow::Fua).count(), 1);
    }

    #[test]
    fn exclusions_in_order() {
        let mut pe = adult();
        assert_eq!(exclusions(&pe, 100), None);
        pe.stays = vec![stay(101, 105, 0)];
        assert_eq!(exclusions(&pe, 100), Some(reason::RESULTED_IN_ADMISSION));
        pe.stays = vec![stay(102, 105, 0)];
        assert_eq!(exclusions(&pe, 100), Some(reason::ADMISSION_30));
        pe.stays = vec![stay(131, 135, 0)];
        assert_eq!(exclusions(&pe, 100), None, "E+31");
        pe.stays = vec![];
        pe.nonacute = vec![dated(130)];
        assert_eq!(exclusions(&pe, 100), Some(reason::ADMISSION_30));
    }

    #[test]
    fn thirty_one_day_rule() {
        let mut through = i32::MIN;
        assert!(first_in_31_days(100, &mut through));
        assert!(!first_in_31_days(130, &mut through), "E+30 is blocked");
        assert!(first_in_31_days(131, &mut through), "E+31 is not");
    }

    #[test]
    fn follow_ups_fum_fua_and_the_ed_day_counts() {
        let c = ctx();
        let mut pe = adult();
        pe.visits = vec![visit(100, true)];
        assert_eq!(
            numerator(&pe, &c, Follow::Fum, 100, 7).map(|x| x.0),
            Some(100)
        );
        assert_eq!(numerator(&pe, &c, Follow::Fua, 100, 7), None, "no SUD dx");
        let mut sud = visit(107, false);
        sud.dx = c.needs.visit_dx("substance_use_disorder");
        let mut service = visit(108, false);
        service.outpatient = false;
        service.services = c.needs.service("fua_service");
        pe.visits = vec![sud, service];
        assert_eq!(
            numerator(&pe, &c, Follow::Fua, 100, 7).map(|x| x.0),
            Some(107)
        );
        assert_eq!(
            numerator(&pe, &c, Follow::Fua, 101, 7).map(|x| x.0),
            Some(107)
        );
        assert_eq!(
            numerator(&pe, &c, Follow::Fua, 108, 7).map(|x| x.0),
            Some(108)
        );
        assert_eq!(numerator(&pe, &c, Follow::Fum, 100, 30), None);
    }
}
