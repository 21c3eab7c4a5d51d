//! `ssd`: diabetes screening (metabolic monitoring) for people with schizophrenia or bipolar
//! disorder using antipsychotics (spec §4, §1, §2; NCQA HEDIS SSD).
//!
//! index_date = due_date = MP end; `index_evidence` = the schizophrenia/bipolar claims and the
//! antipsychotic dispensings (§9).

use super::{band, first_in_window, reason, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::{PersonEvents, Since, Uses};

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "ssd",
    measures: &[Measure {
        id: "ssd",
        name:
            "Diabetes screening for people with schizophrenia or bipolar disorder on antipsychotics",
        steward: "NCQA",
        source: "NCQA HEDIS SSD, as caregap spec v1.3 §4 reads it",
        version: "spec 1.3",
        kind: Kind::Person,
        lower_is_better: false,
        age_bands: &[band(18, 64)],
        spec: "shared/spec/measures.md §4 (ssd), §1, §2",
        core_set: None,
    }],
    uses: Uses {
        conditions: &["schizophrenia_bipolar", "diabetes"],
        dispensed: &[
            ("antipsychotic", Since::PeriodStart),
            ("diabetes_medication", Since::Lookback),
        ],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population**: age 18–64 at MP end; the schizophrenia_bipolar condition (§3); at
/// least one antipsychotic dispensing in the MP (an NDC in `antipsychotic`, or a long-acting
/// injectable J-code on a claim line); MP enrollment. Returns the evidence (diagnosis claims,
/// then dispensings) when eligible.
pub fn eligible_population(pe: &PersonEvents, ctx: &Context) -> Option<Vec<String>> {
    let period = &ctx.period;
    let dx = pe.condition("schizophrenia_bipolar")?;
    let fills = pe.dispensed("antipsychotic");
    if !(18..=64).contains(&pe.age_on(period.end))
        || fills.is_empty()
        || !pe.mp_enrolled(period.start, period.end)
    {
        return None;
    }
    let mut evidence = dx.to_vec();
    evidence.extend(fills.iter().filter_map(|d| d.id.clone()));
    Some(evidence)
}

/// **Exclusions**: diabetes — the diabetes condition, or a diabetes_medication dispensed from
/// the look-back start to the MP end (`diabetes`).
pub fn exclusions(pe: &PersonEvents) -> Option<&'static str> {
    (pe.condition("diabetes").is_some() || !pe.dispensed("diabetes_medication").is_empty())
        .then_some(reason::DIABETES)
}

/// **Numerator** (`closed`): a glucose test (LOINC 2345-7; CPT 82947, 82950, 82951) or an HbA1c
/// test (HbA1c LOINC with any result, CPT 83036, 83037, CPT II result codes) dated in the MP;
/// the first date and its tests' ids.
pub fn numerator(pe: &PersonEvents, ctx: &Context) -> Option<(i32, Vec<String>)> {
    first_in_window(
        &pe.glycemic_tests,
        ctx.period.start,
        ctx.period.end,
        |t| t.date,
        |t| t.id.as_deref(),
        |_| true,
    )
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let Some(evidence) = eligible_population(pe, ctx) else {
        return vec![];
    };
    let outcome = match exclusions(pe) {
        Some(r) => Outcome::Excluded(r),
        None => match numerator(pe, ctx) {
            Some((date, evidence)) => Outcome::Closed { date, evidence },
            None => Outcome::Open { evidence: None },
        },
    };
    let end = ctx.period.end;
    vec![GapRow::new("ssd", end, end, evidence, outcome)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;

    fn smi_on_antipsychotic() -> PersonEvents {
        let mut pe = adult();
        pe.conditions = vec![("schizophrenia_bipolar", vec!["C1".into()])];
        pe.dispensed = vec![("antipsychotic", vec![fill(50)])];
        pe
    }

    #[test]
    fn needs_the_condition_and_an_antipsychotic() {
        let c = ctx();
        let pe = smi_on_antipsychotic();
        assert_eq!(
            eligible_population(&pe, &c),
            Some(vec!["C1".to_string(), "R50".to_string()])
        );
        let mut no_fill = pe.clone();
        no_fill.dispensed = vec![("antipsychotic", vec![])];
        assert!(eligible_population(&no_fill, &c).is_none());
        let mut no_dx = pe.clone();
        no_dx.conditions.clear();
        assert!(eligible_population(&no_dx, &c).is_none());
    }

    #[test]
    fn diabetes_by_condition_or_medication_excludes() {
        let mut pe = smi_on_antipsychotic();
        assert_eq!(exclusions(&pe), None);
        pe.dispensed.push(("diabetes_medication", vec![fill(-100)]));
        assert_eq!(exclusions(&pe), Some(reason::DIABETES));
        let mut dx = smi_on_antipsychotic();
        dx.conditions.push(("diabetes", vec![]));
        assert_eq!(exclusions(&dx), Some(reason::DIABETES));
    }

    #[test]
    fn first_test_in_the_period() {
        let c = ctx();
        let mut pe = smi_on_antipsychotic();
        pe.glycemic_tests = vec![dated(-1), dated(364), dated(365)];
        assert_eq!(numerator(&pe, &c).map(|x| x.0), Some(364), "MP end counts");
        pe.glycemic_tests = vec![dated(-1)];
        assert_eq!(numerator(&pe, &c), None);
    }
}
