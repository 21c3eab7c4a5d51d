//! `ssd`: diabetes screening (metabolic monitoring) for people with schizophrenia or bipolar
//! disorder using antipsychotics (spec §4, §1, §2).
//!
//! - **Eligible population**: age 18–64 at MP end; the schizophrenia_bipolar condition (§3);
//!   at least one antipsychotic dispensing in the MP (an NDC in `antipsychotic`, or a
//!   long-acting injectable J-code on a claim line); MP enrollment.
//! - **Exclusions**: diabetes — the diabetes condition, or a diabetes_medication dispensed from
//!   the look-back start to the MP end (`diabetes`).
//! - **Numerator** (`closed`): a glucose test (LOINC 2345-7; CPT 82947, 82950, 82951) or an
//!   HbA1c test (HbA1c LOINC with any result, CPT 83036, 83037, CPT II result codes) dated in
//!   the MP; `closing_date` = the first.
//! - index_date = due_date = MP end; `index_evidence` = the schizophrenia/bipolar claims and
//!   the antipsychotic dispensings (§9).

use super::{first_in_window, reason, GapRow, Outcome, Period};
use crate::encounters::PersonEvents;

pub fn evaluate(pe: &PersonEvents, period: &Period) -> Vec<GapRow> {
    let age = pe.age_on(period.end);
    if !(18..=64).contains(&age)
        || !pe.schizophrenia_bipolar
        || pe.antipsychotic.is_empty()
        || !pe.mp_enrolled(period.start, period.end)
    {
        return vec![];
    }
    let mut evidence = pe.schizophrenia_bipolar_evidence.clone();
    evidence.extend(pe.antipsychotic.iter().filter_map(|d| d.id.clone()));
    let outcome = if pe.diabetes || !pe.diabetes_medication.is_empty() {
        Outcome::Excluded(reason::DIABETES)
    } else {
        match first_in_window(
            &pe.glycemic_tests,
            period.start,
            period.end,
            |t| t.date,
            |t| t.id.as_deref(),
            |_| true,
        ) {
            Some((date, evidence)) => Outcome::Closed { date, evidence },
            None => Outcome::Open { evidence: None },
        }
    };
    vec![GapRow::new(
        "ssd", period.end, period.end, evidence, outcome,
    )]
}
