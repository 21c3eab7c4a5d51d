//! `hba1c_poor`: HbA1c poor control (> 9.0 %) for people with diabetes (spec §4, §1, §8; NCQA
//! HEDIS HBD / GSD poor control). Inverse: `open` (poor control or no test) is the HEDIS
//! numerator.
//!
//! index_date = due_date = MP end; `index_evidence` = the diabetes diagnosis claims and
//! diabetes-medication fills.

use super::{band, ids_on, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::{PersonEvents, Since, Uses};

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "hba1c",
    measures: &[Measure {
        id: "hba1c_poor",
        name: "HbA1c poor control (>9.0 %), lower is better",
        steward: "NCQA",
        source: "NCQA HEDIS HBD poor control (> 9.0 %), as caregap spec v1.3 §4 reads it",
        version: "spec 1.3",
        kind: Kind::Person,
        lower_is_better: true,
        age_bands: &[band(18, 64), band(65, 75)],
        spec: "shared/spec/measures.md §4 (hba1c_poor), §1, §8",
        core_set: None,
    }],
    uses: Uses {
        conditions: &["diabetes"],
        dispensed: &[("diabetes_medication", Since::Lookback)],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population**: age 18–75 at MP end; the diabetes condition (§3) or a
/// diabetes_medication dispensed from the look-back start (default MP start − 1 year) to the
/// MP end; MP enrollment. Returns the evidence (diagnosis claims, then fills) when eligible.
pub fn eligible_population(pe: &PersonEvents, ctx: &Context) -> Option<Vec<String>> {
    let period = &ctx.period;
    let meds = pe.dispensed("diabetes_medication");
    let dx = pe.condition("diabetes");
    if !(18..=75).contains(&pe.age_on(period.end))
        || (dx.is_none() && meds.is_empty())
        || !pe.mp_enrolled(period.start, period.end)
    {
        return None;
    }
    let mut evidence: Vec<String> = dx.map(<[String]>::to_vec).unwrap_or_default();
    evidence.extend(meds.iter().filter_map(|d| d.id.clone()));
    Some(evidence)
}

/// **Exclusions**: none but hospice (applied to every measure, [`super::evaluate_person`]).
pub fn exclusions() -> Option<&'static str> {
    None
}

/// **Numerator** (`closed` — not poor control): the most recent HbA1c in the MP (the lowest
/// that date) is ≤ 9.0; > 9.0 or no result → `open`. Results that are not a plain decimal in %
/// do not count (§8). The date and its results' ids.
pub fn numerator(pe: &PersonEvents) -> Option<(i32, Vec<String>)> {
    let counted: Vec<_> = pe.hba1c.iter().filter(|r| r.value.is_some()).collect();
    let last = counted.iter().map(|r| r.date).max()?;
    let lowest = counted
        .iter()
        .filter(|r| r.date == last)
        .filter_map(|r| r.value)
        .fold(f64::INFINITY, f64::min);
    (lowest <= 9.0).then(|| {
        (
            last,
            ids_on(&counted, last, |r| r.date, |r| r.id.as_deref(), |_| true),
        )
    })
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let Some(evidence) = eligible_population(pe, ctx) else {
        return vec![];
    };
    let outcome = match exclusions() {
        Some(r) => Outcome::Excluded(r),
        None => match numerator(pe) {
            Some((date, evidence)) => Outcome::Closed { date, evidence },
            None => Outcome::Open { evidence: None },
        },
    };
    let end = ctx.period.end;
    vec![GapRow::new("hba1c_poor", end, end, evidence, outcome)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;

    #[test]
    fn diabetes_or_a_medication_fill_and_age_18_to_75() {
        let c = ctx();
        let mut pe = adult();
        assert!(eligible_population(&pe, &c).is_none());
        pe.dispensed = vec![("diabetes_medication", vec![fill(-30)])];
        assert_eq!(eligible_population(&pe, &c), Some(vec!["R-30".to_string()]));
        pe.dispensed = vec![];
        pe.conditions = vec![("diabetes", vec!["C1".into()])];
        assert_eq!(eligible_population(&pe, &c), Some(vec!["C1".to_string()]));
        pe.birth = day(1894, 12, 31); // 76 on 1970-12-31
        assert!(eligible_population(&pe, &c).is_none());
    }

    #[test]
    fn last_date_lowest_value_and_9_0_is_controlled() {
        let mut pe = adult();
        assert_eq!(numerator(&pe), None, "no result is poor control");
        pe.hba1c = vec![a1c(100, Some(8.0)), a1c(200, Some(9.0))];
        assert_eq!(numerator(&pe).map(|x| x.0), Some(200));
        pe.hba1c = vec![a1c(100, Some(8.0)), a1c(200, Some(9.1))];
        assert_eq!(numerator(&pe), None);
        pe.hba1c = vec![a1c(200, Some(9.5)), a1c(200, Some(7.0)), a1c(250, None)];
        assert_eq!(
            numerator(&pe).map(|x| x.0),
            Some(200),
            "a result that does not count is skipped; lowest that day"
        );
    }
}
