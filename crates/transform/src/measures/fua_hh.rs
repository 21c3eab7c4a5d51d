//! `fua_hh_7`, `fua_hh_30`: Follow-up after ED visit for substance use, the Health Home Core
//! Set **FUA-HH** definition (NCQA HEDIS FUA from MY2024) as `docs/measures/fua.md` specifies
//! it. It differs from the v1.3 `fua_7` / `fua_30` (module [`super::fum_fua`], unchanged) in
//! two ways: an ED visit with **any diagnosis of an unintentional drug overdose** is an index
//! visit, and a **pharmacotherapy dispensing or medication treatment event** is a follow-up.
//! Exclusions and the 31-day rule are v1.3's, shared with `fum_fua`.
//!
//! `due_date` = E+7 (E+30); `index_evidence` = the ED claims of that date; `closing_date` =
//! the first follow-up.

use super::fum_fua::{exclusions, first_in_31_days};
use super::oud::first_dispensed;
use super::{band, from_age, AgeBand, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::{EdVisit, PersonEvents, Since, Uses, Visit};

const BANDS: &[AgeBand] = &[band(13, 17), band(18, 64), from_age(65)];

const fn measure(id: &'static str, name: &'static str, rate: &'static str) -> Measure {
    Measure {
        id,
        name,
        steward: "NCQA",
        source: "NCQA HEDIS FUA (MY2024 on: drug overdose index visits, pharmacotherapy \
             follow-up), Health Home Core Set FUA-HH, as docs/measures/fua.md reads it",
        version: "fua-hh-2026",
        kind: Kind::Episode,
        lower_is_better: false,
        age_bands: BANDS,
        spec: "docs/measures/fua.md",
        core_set: super::core_set("FUA-HH", rate),
    }
}

/// The follow-up windows: (measure, days after E).
const WINDOWS: [(&str, i32); 2] = [("fua_hh_7", 7), ("fua_hh_30", 30)];

/// The medication sets whose dispensing (pharmacy NDC) or administration (medical HCPCS) is a
/// follow-up (fua.md, Numerator): AUD and OUD drugs, any of them after any index visit.
/// Ordinary pharmacy methadone is in none of them.
pub const PHARMACOTHERAPY: &[&str] = &[
    "iet_aud_medication",
    "oud_buprenorphine",
    "oud_naltrexone_oral",
    "oud_naltrexone_injectable",
    "oud_methadone_otp",
    "oud_buprenorphine_hcpcs",
    "oud_naltrexone_injectable_hcpcs",
    "oud_methadone_hcpcs",
];

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "fua_hh",
    measures: &[
        measure(
            "fua_hh_7",
            "Follow-up after ED visit for substance use or drug overdose, 7 days",
            "7-day",
        ),
        measure(
            "fua_hh_30",
            "Follow-up after ED visit for substance use or drug overdose, 30 days",
            "30-day",
        ),
    ],
    uses: Uses {
        principal_dx: &["substance_use_disorder"],
        ed_dx: &["drug_overdose"],
        visit_dx: &["substance_use_disorder", "drug_overdose"],
        visit_services: &["fua_service"],
        dispensed: &[
            ("iet_aud_medication", Since::PeriodStart),
            ("oud_buprenorphine", Since::PeriodStart),
            ("oud_naltrexone_oral", Since::PeriodStart),
            ("oud_naltrexone_injectable", Since::PeriodStart),
            ("oud_methadone_otp", Since::PeriodStart),
            ("oud_buprenorphine_hcpcs", Since::PeriodStart),
            ("oud_naltrexone_injectable_hcpcs", Since::PeriodStart),
            ("oud_methadone_hcpcs", Since::PeriodStart),
        ],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population** (fua.md, before the 31-day rule): an ED visit on E in MP start …
/// MP end − 31 days whose principal diagnosis (diagnosis_code_1 of an ED line that date) is in
/// `substance_use_disorder`, **or** with a `drug_overdose` code (T36–T50, accidental intent) in
/// any diagnosis position of an ED line that date; age ≥ 13 on E; covered every day E … E+30.
pub fn eligible_population<'a>(
    pe: &'a PersonEvents,
    ctx: &'a Context,
) -> impl Iterator<Item = &'a EdVisit> + 'a {
    let sud = ctx.needs.principal("substance_use_disorder");
    let overdose = ctx.needs.ed_dx("drug_overdose");
    pe.ed_visits.iter().filter(move |ed| {
        let e = ed.date;
        ctx.period.episode_index(e)
            && (ed.principal & sud != 0 || ed.any_dx & overdose != 0)
            && pe.age_on(e) >= 13
            && pe.covered_every_day(e, e + 30)
    })
}

/// A visit that is a follow-up (fua.md, Numerator): an outpatient or mental-health visit with
/// a substance-use or drug-overdose diagnosis in any position, or any line in `fua_service`
/// (H0001–H0050, H2034–H2036).
pub fn is_follow_up_visit(v: &Visit, ctx: &Context) -> bool {
    let dx = ctx.needs.visit_dx("substance_use_disorder") | ctx.needs.visit_dx("drug_overdose");
    ((v.outpatient || v.mental_health) && v.dx & dx != 0)
        || v.services & ctx.needs.service("fua_service") != 0
}

/// **Numerator** (`closed`): a follow-up visit, or a dispensing or administration of a
/// [`PHARMACOTHERAPY`] set, dated E … E+`days` (the ED date counts). The closing date is the
/// earliest; the evidence is every qualifying claim of that date (visits and fills).
pub fn numerator(
    pe: &PersonEvents,
    ctx: &Context,
    e: i32,
    days: i32,
) -> Option<(i32, Vec<String>)> {
    let visit = super::first_in_window(
        &pe.visits,
        e,
        e + days,
        |v| v.date,
        |v| Some(v.claim_id.as_str()),
        |v| is_follow_up_visit(v, ctx),
    );
    let drug = first_dispensed(pe, PHARMACOTHERAPY, e, e + days);
    match (visit, drug) {
        (Some(v), Some(d)) if v.0 == d.0 => {
            let mut ids = v.1;
            ids.extend(d.1);
            ids.sort();
            ids.dedup();
            Some((v.0, ids))
        }
        (Some(v), Some(d)) => Some(if v.0 < d.0 { v } else { d }),
        (v, d) => v.or(d),
    }
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let mut rows = Vec::new();
    let mut blocked_through = i32::MIN;
    for ed in eligible_population(pe, ctx) {
        let e = ed.date;
        let excluded = exclusions(pe, e);
        if excluded.is_none() && !first_in_31_days(e, &mut blocked_through) {
            continue;
        }
        for (measure, days) in WINDOWS {
            let outcome = match excluded {
                Some(r) => Outcome::Excluded(r),
                None => match numerator(pe, ctx, e, days) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;
    use crate::measures::{reason, Status};

    fn ed(date: i32, sud: bool, overdose: bool) -> EdVisit {
        let c = ctx();
        EdVisit {
            date,
            principal: if sud {
                c.needs.principal("substance_use_disorder")
            } else {
                0
            },
            any_dx: if overdose {
                c.needs.ed_dx("drug_overdose")
            } else {
                0
            },
            claim_ids: vec![format!("E{date}")],
        }
    }

    fn sud_visit(date: i32, set: &str) -> Visit {
        let mut v = visit(date, false);
        v.dx = ctx().needs.visit_dx(set);
        v
    }

    #[test]
    fn overdose_only_and_sud_visits_are_index_visits_from_age_13() {
        let c = ctx();
        let mut pe = adult();
        pe.ed_visits = vec![
            ed(100, false, true),
            ed(140, true, false),
            ed(180, false, false),
        ];
        let dates: Vec<i32> = eligible_population(&pe, &c).map(|e| e.date).collect();
        assert_eq!(
            dates,
            [100, 140],
            "neither SUD nor overdose: not an index visit"
        );
        let mut kid = pe.clone();
        kid.birth = day(1957, 4, 12); // 13 on 1970-04-12 = day 101, the day after the visit
        assert_eq!(
            eligible_population(&kid, &c).next().map(|e| e.date),
            Some(140)
        );
        kid.birth = day(1957, 4, 11); // 13 on day 100
        assert_eq!(
            eligible_population(&kid, &c).next().map(|e| e.date),
            Some(100)
        );
        pe.ed_visits = vec![ed(333, false, true), ed(334, false, true)];
        let dates: Vec<i32> = eligible_population(&pe, &c).map(|e| e.date).collect();
        assert_eq!(dates, [333], "MP end − 31 is the last index date");
    }

    #[test]
    fn seven_and_thirty_day_windows_count_the_ed_date() {
        let c = ctx();
        let mut pe = adult();
        pe.visits = vec![sud_visit(107, "substance_use_disorder")];
        assert_eq!(numerator(&pe, &c, 100, 7).map(|x| x.0), Some(107), "day 7");
        pe.visits = vec![sud_visit(108, "drug_overdose")];
        assert_eq!(numerator(&pe, &c, 100, 7), None, "day 8");
        assert_eq!(numerator(&pe, &c, 100, 30).map(|x| x.0), Some(108));
        pe.visits = vec![sud_visit(130, "substance_use_disorder")];
        assert_eq!(
            numerator(&pe, &c, 100, 30).map(|x| x.0),
            Some(130),
            "day 30"
        );
        pe.visits = vec![sud_visit(131, "substance_use_disorder")];
        assert_eq!(numerator(&pe, &c, 100, 30), None, "day 31");
        pe.visits = vec![visit(101, false)];
        assert_eq!(
            numerator(&pe, &c, 100, 30),
            None,
            "a visit without SUD/overdose dx"
        );
    }

    #[test]
    fn pharmacotherapy_on_the_ed_date_closes_with_visit_evidence_of_that_day() {
        let c = ctx();
        let mut pe = adult();
        pe.dispensed = vec![("oud_buprenorphine", vec![fill(100)])];
        assert_eq!(numerator(&pe, &c, 100, 7), Some((100, vec!["R100".into()])));
        pe.visits = vec![sud_visit(100, "substance_use_disorder")];
        assert_eq!(
            numerator(&pe, &c, 100, 7),
            Some((100, vec!["R100".into(), "W100".into()]))
        );
        pe.visits = vec![];
        pe.dispensed = vec![
            ("iet_aud_medication", vec![fill(99), fill(110)]),
            ("oud_methadone_hcpcs", vec![fill(106)]),
        ];
        assert_eq!(
            numerator(&pe, &c, 100, 7).map(|x| x.0),
            Some(106),
            "E−1 does not count"
        );
        assert_eq!(numerator(&pe, &c, 107, 30).map(|x| x.0), Some(110));
    }

    #[test]
    fn overdose_visit_blocks_a_later_sud_visit_and_exclusions_apply() {
        let c = ctx();
        let mut pe = adult();
        pe.ed_visits = vec![
            ed(100, false, true),
            ed(110, true, false),
            ed(131, true, false),
        ];
        let rows = evaluate(&pe, &c);
        let dates: Vec<(&str, i32)> = rows.iter().map(|r| (r.measure, r.index_date)).collect();
        assert_eq!(
            dates,
            [
                ("fua_hh_7", 100),
                ("fua_hh_30", 100),
                ("fua_hh_7", 131),
                ("fua_hh_30", 131)
            ]
        );
        assert!(rows.iter().all(|r| r.status == Status::Open));
        assert_eq!(rows[1].due_date, 130);
        pe.stays = vec![stay(101, 103, 0)];
        let rows = evaluate(&pe, &c);
        let got: Vec<(i32, Option<&str>)> = rows
            .iter()
            .map(|r| (r.index_date, r.exclusion_reason))
            .collect();
        assert_eq!(
            got,
            [
                (100, Some(reason::RESULTED_IN_ADMISSION)),
                (100, Some(reason::RESULTED_IN_ADMISSION)),
                (110, None),
                (110, None),
            ],
            "an excluded visit does not block; the visit on day 110 then blocks 131"
        );
    }
}
