//! `cdf`: screening for depression and follow-up plan (Health Home Core Set CDF-HH; CMS, eCQM
//! CMS2 / MIPS #134), `docs/measures/cdf.md`. A person measure: one row per person aged 12 or
//! older on the MP start with a qualifying encounter in the MP; closed when, for some qualifying
//! encounter E, the most recent screen in E − 14 … E is negative, or positive with a follow-up
//! plan on E.
//!
//! index_date = due_date = MP end; `index_evidence` = the qualifying encounters' claims.

use super::{band, from_age, reason, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::screening::SCREEN_DAYS_BEFORE;
use crate::events::{PersonEvents, Uses};

/// Days after E a follow-up plan may be dated (§5: the Core Set reads "on the date of the
/// qualifying encounter"; CMS2v13 allows two).
pub const FOLLOW_UP_DAYS: i32 = 0;

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "cdf",
    measures: &[Measure {
        id: "cdf",
        name: "Screening for depression and follow-up plan (12+)",
        steward: "CMS",
        source: "CMS Core Set CDF-HH (eCQM CMS2, MIPS #134), as docs/measures/cdf.md reads it",
        version: "cdf 1.0 (issue #18)",
        kind: Kind::Person,
        lower_is_better: false,
        age_bands: &[band(12, 17), band(18, 64), from_age(65)],
        spec: "docs/measures/cdf.md",
        core_set: super::core_set("CDF-HH", "Screening for depression and follow-up plan"),
    }],
    uses: Uses::NONE,
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// The dates of the person's qualifying encounters in the MP, ascending, without repeats.
fn encounter_dates(pe: &PersonEvents) -> Vec<i32> {
    let mut v: Vec<i32> = pe
        .depression_lines
        .iter()
        .filter(|l| l.encounter)
        .map(|l| l.date)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// **Eligible population** (§2): age ≥ 12 on the MP start, at least one qualifying encounter
/// in the MP (§1: hcpcs in `cdf_encounter` on an outpatient-setting line), MP enrollment. The
/// encounters' claim ids.
pub fn eligible_population(pe: &PersonEvents, ctx: &Context) -> Option<Vec<String>> {
    let p = &ctx.period;
    let ids: Vec<String> = pe
        .depression_lines
        .iter()
        .filter(|l| l.encounter)
        .map(|l| l.claim_id.clone())
        .collect();
    (pe.age_on(p.start) >= 12 && !ids.is_empty() && pe.mp_enrolled(p.start, p.end)).then_some(ids)
}

/// **Exclusions** (§4, after hospice): `bipolar disorder` — a bipolar diagnosis dated before the
/// last qualifying encounter, any time in the input; then `depression` — a depression diagnosis
/// from the look-back start to the day before the last qualifying encounter, or G9717 on a line
/// in the MP.
pub fn exclusions(pe: &PersonEvents, ctx: &Context) -> Option<&'static str> {
    let last = *encounter_dates(pe).last()?;
    if pe.bipolar_first.is_some_and(|d| d < last) {
        return Some(reason::BIPOLAR);
    }
    let p = &ctx.period;
    let g9717 = pe
        .depression_lines
        .iter()
        .any(|l| l.code == "G9717" && l.date >= p.start && l.date <= p.end);
    if pe.depression_first.is_some_and(|d| d < last) || g9717 {
        return Some(reason::DEPRESSION);
    }
    None
}

/// **Numerator** (§5): the earliest qualifying encounter E whose most recent screen in
/// E − 14 … E is negative, or positive (positive outranks negative on one date) with a
/// follow-up plan on E (G8431, or a `cdf_follow_up` line). The date E and the evidence: E's
/// encounter claims, the screens on the deciding date and the plan's ids.
pub fn numerator(pe: &PersonEvents) -> Option<(i32, Vec<String>)> {
    for e in encounter_dates(pe) {
        let window = |d: i32| d >= e - SCREEN_DAYS_BEFORE as i32 && d <= e;
        let Some(s) = pe
            .depression_screens
            .iter()
            .filter(|x| window(x.date))
            .map(|x| x.date)
            .max()
        else {
            continue;
        };
        let on_s: Vec<_> = pe
            .depression_screens
            .iter()
            .filter(|x| x.date == s)
            .collect();
        let positive = on_s.iter().any(|x| x.positive);
        let mut evidence: Vec<String> = pe
            .depression_lines
            .iter()
            .filter(|l| l.encounter && l.date == e)
            .map(|l| l.claim_id.clone())
            .collect();
        evidence.extend(on_s.iter().filter_map(|x| x.id.clone()));
        if positive {
            let plan_day = |d: i32| d >= e && d <= e + FOLLOW_UP_DAYS;
            let mut plan: Vec<String> = pe
                .depression_screens
                .iter()
                .filter(|x| x.plan && plan_day(x.date))
                .filter_map(|x| x.id.clone())
                .collect();
            plan.extend(
                pe.depression_lines
                    .iter()
                    .filter(|l| l.follow_up && plan_day(l.date))
                    .map(|l| l.claim_id.clone()),
            );
            if plan.is_empty() {
                continue;
            }
            evidence.extend(plan);
        }
        evidence.sort();
        evidence.dedup();
        return Some((e, evidence));
    }
    None
}

/// **Exception** (§4, only when the numerator is not met): G8433 (screening not completed for a
/// documented medical or patient reason) on a qualifying-encounter date.
pub fn exception(pe: &PersonEvents) -> Option<&'static str> {
    let dates = encounter_dates(pe);
    pe.depression_lines
        .iter()
        .any(|l| l.code == "G8433" && dates.binary_search(&l.date).is_ok())
        .then_some(reason::SCREENING_EXCEPTION)
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let Some(evidence) = eligible_population(pe, ctx) else {
        return vec![];
    };
    let outcome = if let Some(r) = exclusions(pe, ctx) {
        Outcome::Excluded(r)
    } else if let Some((date, evidence)) = numerator(pe) {
        Outcome::Closed { date, evidence }
    } else if let Some(r) = exception(pe) {
        Outcome::Excluded(r)
    } else {
        Outcome::Open { evidence: None }
    };
    let end = ctx.period.end;
    vec![GapRow::new("cdf", end, end, evidence, outcome)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{DepressionLine, Screen};
    use crate::measures::testing::*;
    use crate::measures::Status;

    fn line(date: i32, code: &str) -> DepressionLine {
        DepressionLine {
            date,
            claim_id: format!("{code}-{date}"),
            code: code.into(),
            encounter: code == "99213" || code == "90832",
            follow_up: code == "90832",
        }
    }

    fn screen(date: i32, positive: bool) -> Screen {
        Screen {
            date,
            id: Some(format!("S{date}{positive}")),
            positive,
            plan: false,
        }
    }

    fn with(lines: Vec<DepressionLine>, screens: Vec<Screen>) -> PersonEvents {
        PersonEvents {
            depression_lines: lines,
            depression_screens: screens,
            ..adult()
        }
    }

    fn status(pe: &PersonEvents) -> Option<(Status, Option<&'static str>)> {
        evaluate(pe, &ctx())
            .first()
            .map(|r| (r.status, r.exclusion_reason))
    }

    const E: i32 = 100;

    #[test]
    fn screen_on_e_minus_14_counts_e_minus_15_does_not() {
        let pe = with(vec![line(E, "99213")], vec![screen(E - 14, false)]);
        assert_eq!(numerator(&pe).map(|x| x.0), Some(E));
        let pe = with(vec![line(E, "99213")], vec![screen(E - 15, false)]);
        assert_eq!(numerator(&pe), None);
        let pe = with(vec![line(E, "99213")], vec![screen(E + 1, false)]);
        assert_eq!(numerator(&pe), None, "a screen after E does not count");
    }

    #[test]
    fn positive_needs_a_plan_on_e() {
        let enc = || line(E, "99213");
        let pe = with(vec![enc()], vec![screen(E, true)]);
        assert_eq!(numerator(&pe), None, "no plan");
        let pe = with(vec![enc(), line(E, "90832")], vec![screen(E, true)]);
        assert_eq!(numerator(&pe).map(|x| x.0), Some(E), "psychotherapy on E");
        let mut fu = line(E + 1, "90837");
        fu.follow_up = true;
        let pe = with(vec![enc(), fu], vec![screen(E, true)]);
        assert_eq!(numerator(&pe), None, "plan on E+1 is too late");
        let mut g = screen(E, true);
        g.plan = true;
        let pe = with(vec![enc()], vec![g]);
        assert_eq!(numerator(&pe).map(|x| x.0), Some(E), "G8431");
    }

    #[test]
    fn positive_outranks_negative_on_one_date_and_latest_screen_decides() {
        let enc = || line(E, "99213");
        let pe = with(vec![enc()], vec![screen(E, false), screen(E, true)]);
        assert_eq!(numerator(&pe), None);
        let pe = with(vec![enc()], vec![screen(E - 5, false), screen(E - 2, true)]);
        assert_eq!(numerator(&pe), None, "the later positive decides");
        let pe = with(vec![enc()], vec![screen(E - 5, true), screen(E - 2, false)]);
        assert_eq!(
            numerator(&pe).map(|x| x.0),
            Some(E),
            "the later negative decides"
        );
    }

    #[test]
    fn age_12_on_the_period_start_and_an_encounter() {
        let mut pe = with(vec![line(E, "99213")], vec![]);
        pe.birth = day(1958, 1, 1); // 12 on 1970-01-01
        assert!(status(&pe).is_some());
        pe.birth = day(1958, 1, 2); // 11 on 1970-01-01, 12 the next day
        assert!(status(&pe).is_none());
        let mut pe = with(vec![line(E, "G8510")], vec![]);
        assert!(status(&pe).is_none(), "no qualifying encounter");
        pe.depression_lines = vec![];
        assert!(status(&pe).is_none());
    }

    #[test]
    fn exclusions_in_order_then_numerator_then_exception() {
        let mut pe = with(vec![line(E, "99213")], vec![]);
        assert_eq!(status(&pe), Some((Status::Open, None)));
        pe.bipolar_first = Some(E);
        assert_eq!(
            status(&pe),
            Some((Status::Open, None)),
            "bipolar on E is not before"
        );
        pe.bipolar_first = Some(E - 1);
        pe.depression_first = Some(E - 1);
        assert_eq!(
            status(&pe),
            Some((Status::Excluded, Some(reason::BIPOLAR))),
            "bipolar before depression"
        );
        pe.bipolar_first = None;
        assert_eq!(
            status(&pe),
            Some((Status::Excluded, Some(reason::DEPRESSION)))
        );
        pe.depression_first = Some(E);
        assert_eq!(status(&pe), Some((Status::Open, None)), "depression on E");
        pe.depression_lines.push(line(E, "G9717"));
        assert_eq!(
            status(&pe),
            Some((Status::Excluded, Some(reason::DEPRESSION)))
        );
        pe.depression_first = None;
        pe.depression_lines = vec![line(E, "99213"), line(E, "G8433")];
        assert_eq!(
            status(&pe),
            Some((Status::Excluded, Some(reason::SCREENING_EXCEPTION)))
        );
        pe.depression_lines = vec![line(E, "99213"), line(E - 3, "G8433")];
        assert_eq!(
            status(&pe),
            Some((Status::Open, None)),
            "G8433 not on an encounter date"
        );
        pe.depression_lines = vec![line(E, "99213"), line(E, "G8433"), line(E + 50, "99213")];
        pe.depression_screens = vec![screen(E + 50, false)];
        assert_eq!(
            status(&pe).map(|x| x.0),
            Some(Status::Closed),
            "an exception applies only when the numerator is not met"
        );
    }

    #[test]
    fn closing_evidence_is_the_encounter_screen_and_plan() {
        let pe = with(
            vec![line(E, "99213"), line(E, "90832")],
            vec![screen(E - 3, true)],
        );
        let (d, ev) = numerator(&pe).unwrap();
        assert_eq!(d, E);
        assert_eq!(ev, ["90832-100", "99213-100", "S97true"]);
    }
}
