//! `cbp`: controlling high blood pressure, here "unmanaged hypertension" (spec §4, §1, §9;
//! NCQA HEDIS CBP, Health Home Core Set CBP-HH).
//!
//! index_date = due_date = MP end; `closing_date` = the reading date when controlled;
//! `index_evidence` = the hypertension visit claims.

use std::collections::BTreeSet;

use super::{band, ids_on, reason, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::{BpReading, PersonEvents, Uses, Visit};

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "cbp",
    measures: &[Measure {
        id: "cbp",
        name: "Controlling high blood pressure",
        steward: "NCQA",
        source: "NCQA HEDIS CBP (Health Home Core Set CBP-HH), administrative, as caregap spec v1.3 §4 reads it",
        version: "spec 1.3",
        kind: Kind::Person,
        lower_is_better: false,
        age_bands: &[band(18, 64), band(65, 85)],
        spec: "shared/spec/measures.md §4 (cbp), §1 (BP readings), §9",
        core_set: super::core_set("CBP-HH", "BP < 140/90"),
    }],
    uses: Uses {
        visit_dx: &["hypertension"],
        period_dx: &["esrd", "pregnancy"],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population**: age 18–85 at MP end; a hypertension diagnosis (any position) on
/// outpatient visits on ≥ 2 distinct dates from MP start − 1 year through the last day of the
/// calendar month five months after the MP's start month (30 June for a calendar year); MP
/// enrollment (covered on the MP's last day, at most one gap of at most 45 days). Returns the
/// hypertension visits (the index evidence) when eligible.
pub fn eligible_population<'a>(pe: &'a PersonEvents, ctx: &Context) -> Option<Vec<&'a Visit>> {
    let period = &ctx.period;
    if !(18..=85).contains(&pe.age_on(period.end)) {
        return None;
    }
    let htn = ctx.needs.visit_dx("hypertension");
    let visits: Vec<&Visit> = pe
        .visits
        .iter()
        .filter(|v| {
            v.outpatient && v.dx & htn != 0 && v.date >= period.cbp_from && v.date <= period.cbp_to
        })
        .collect();
    let dates: BTreeSet<i32> = visits.iter().map(|v| v.date).collect();
    (dates.len() >= 2 && pe.mp_enrolled(period.start, period.end)).then_some(visits)
}

/// **Exclusions**, in order: ESRD in the MP (`esrd`); pregnancy in the MP (`pregnancy`).
pub fn exclusions(pe: &PersonEvents, ctx: &Context) -> Option<&'static str> {
    if pe.period_dx & ctx.needs.period_dx("esrd") != 0 {
        Some(reason::ESRD)
    } else if pe.period_dx & ctx.needs.period_dx("pregnancy") != 0 {
        Some(reason::PREGNANCY)
    } else {
        None
    }
}

/// Readings that count: not during an acute stay (admission … discharge inclusive), not on an
/// ED visit date (§1).
fn usable(pe: &PersonEvents, r: &BpReading) -> bool {
    !pe.stays
        .iter()
        .any(|s| r.date >= s.admission && r.date <= s.discharge)
        && !pe.ed_visits.iter().any(|e| e.date == r.date)
}

/// **Numerator** (`closed`): the most recent date in the MP with a usable BP reading has
/// systolic < 140 **and** diastolic < 90, using the lowest of each that date. A date with only
/// one component is not controlled; no reading = `open`. The date and its readings' ids.
pub fn numerator(pe: &PersonEvents) -> Option<(i32, Vec<String>)> {
    let readings: Vec<&BpReading> = pe.bp.iter().filter(|r| usable(pe, r)).collect();
    let last = readings.iter().map(|r| r.date).max()?;
    let on_day = readings.iter().filter(|r| r.date == last);
    let low = |f: fn(&BpReading) -> Option<f64>| {
        on_day
            .clone()
            .filter_map(|r| f(r))
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.min(v))))
    };
    match (low(|r| r.systolic), low(|r| r.diastolic)) {
        (Some(s), Some(d)) if s < 140.0 && d < 90.0 => Some((
            last,
            ids_on(&readings, last, |r| r.date, |r| r.id.as_deref(), |_| true),
        )),
        _ => None,
    }
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let Some(visits) = eligible_population(pe, ctx) else {
        return vec![];
    };
    let evidence: Vec<String> = visits.iter().map(|v| v.claim_id.clone()).collect();
    let outcome = match exclusions(pe, ctx) {
        Some(r) => Outcome::Excluded(r),
        None => match numerator(pe) {
            Some((date, evidence)) => Outcome::Closed { date, evidence },
            None => Outcome::Open { evidence: None },
        },
    };
    let end = ctx.period.end;
    vec![GapRow::new("cbp", end, end, evidence, outcome)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;

    fn htn_visit(date: i32) -> Visit {
        let mut v = visit(date, false);
        v.dx = ctx().needs.visit_dx("hypertension");
        v
    }

    #[test]
    fn two_distinct_dates_through_the_end_of_june() {
        let c = ctx();
        let mut pe = adult();
        pe.visits = vec![htn_visit(10), htn_visit(10)];
        assert!(eligible_population(&pe, &c).is_none(), "one date twice");
        pe.visits = vec![htn_visit(10), htn_visit(day(1970, 6, 30))];
        assert!(eligible_population(&pe, &c).is_some(), "30 June counts");
        pe.visits = vec![htn_visit(10), htn_visit(day(1970, 7, 1))];
        assert!(eligible_population(&pe, &c).is_none(), "1 July does not");
        pe.visits = vec![htn_visit(day(1969, 1, 1)), htn_visit(10)];
        assert!(
            eligible_population(&pe, &c).is_some(),
            "MP start − 1 year counts"
        );
        pe.visits = vec![htn_visit(day(1968, 12, 31)), htn_visit(10)];
        assert!(eligible_population(&pe, &c).is_none());
    }

    #[test]
    fn esrd_before_pregnancy() {
        let c = ctx();
        let mut pe = adult();
        assert_eq!(exclusions(&pe, &c), None);
        pe.period_dx = c.needs.period_dx("pregnancy") | c.needs.period_dx("esrd");
        assert_eq!(exclusions(&pe, &c), Some(reason::ESRD));
        pe.period_dx = c.needs.period_dx("pregnancy");
        assert_eq!(exclusions(&pe, &c), Some(reason::PREGNANCY));
    }

    #[test]
    fn lowest_of_the_last_day_and_both_components() {
        let mut pe = adult();
        pe.bp = vec![
            bp(100, Some(150.0), Some(95.0)),
            bp(200, Some(139.0), Some(89.0)),
        ];
        assert_eq!(numerator(&pe).map(|x| x.0), Some(200));
        pe.bp = vec![bp(200, Some(139.0), None)];
        assert_eq!(numerator(&pe), None, "one component only");
        pe.bp = vec![
            bp(200, Some(150.0), Some(80.0)),
            bp(200, Some(130.0), Some(95.0)),
        ];
        assert_eq!(
            numerator(&pe).map(|x| x.0),
            Some(200),
            "lowest of each that day"
        );
        pe.bp = vec![bp(200, Some(140.0), Some(80.0))];
        assert_eq!(numerator(&pe), None, "140 is not < 140");
        // A reading during a stay or on an ED date is ignored: the earlier one decides.
        pe.bp = vec![
            bp(100, Some(150.0), Some(95.0)),
            bp(200, Some(120.0), Some(70.0)),
        ];
        pe.stays = vec![stay(199, 200, 0)];
        assert_eq!(numerator(&pe), None);
    }
}
