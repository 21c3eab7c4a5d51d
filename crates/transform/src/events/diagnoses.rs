//! **Diagnoses and services of a person over a window**:
//!
//! - `period_flags` — one row per person with a claim line dated in the measurement period:
//!   `hospice` (a line code in `hospice`, the exclusion every measure shares, §4) and the
//!   period-diagnosis tags (any diagnosis position in a declared set: `esrd`, `pregnancy`).
//! - `condition_evidence` — for each condition a registered measure declared (`diabetes`,
//!   `schizophrenia_bipolar`), the persons who have it (§3, from the conditions table) and the
//!   claims whose diagnoses in the condition's set, from the look-back start to the period
//!   end, evidence it.

use polars::prelude::*;

use super::lines::tag_columns;
use super::{Build, PersonEvents, Rows};
use crate::claims::diagnosis_long;
use crate::conditions::diagnosis_in;

/// The `period_flags` table with `pidx`.
pub fn period_flags(b: &Build) -> LazyFrame {
    let mut aggs = vec![col("hospice").any(false).alias("hospice")];
    aggs.extend(
        tag_columns("per", b.needs.period_dx.len())
            .into_iter()
            .map(|t| t.any(false)),
    );
    b.with_pidx(
        b.lines
            .clone()
            .filter(b.in_mp(col("date")))
            .group_by([col("person_id")])
            .agg(aggs),
    )
}

/// Fill every person's hospice flag and period-diagnosis tags.
pub fn load_period_flags(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let flags = period_flags(b).collect()?;
    let r = Rows { df: &flags };
    let tags = r.tags("per", b.needs.period_dx.len())?;
    for (k, (i, h)) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.bool("hospice")?)
        .enumerate()
    {
        let pe = &mut people[i as usize];
        pe.hospice = h;
        pe.period_dx = tags[k];
    }
    Ok(())
}

/// Fill every person's declared conditions with their evidence claims.
pub fn load_conditions(
    b: &Build,
    conditions: &DataFrame,
    people: &mut [PersonEvents],
) -> PolarsResult<()> {
    if b.needs.conditions.is_empty() {
        return Ok(());
    }
    let dx = diagnosis_long(
        b.input.lazy("medical_claim"),
        &crate::claims::diagnosis_columns_in_use(b.input),
    )?
    .filter(
        col("service_date")
            .gt_eq(b.lookback.clone())
            .and(col("service_date").lt_eq(b.mp_end.clone())),
    )
    .collect()?
    .lazy();
    for cond in &b.needs.conditions {
        let present = super::person_ids_where(conditions, col("condition").eq(lit(*cond)))?;
        let ev = b
            .with_pidx(
                dx.clone()
                    .filter(diagnosis_in(b.vs, cond))
                    .group_by([col("person_id")])
                    .agg([col("claim_id")
                        .unique()
                        .sort(Default::default())
                        .alias("ids")]),
            )
            .collect()?;
        let r = Rows { df: &ev };
        let mut evidence: Vec<Vec<String>> = vec![Vec::new(); people.len()];
        for (i, ids) in r.idx("pidx")?.into_iter().zip(r.str_list("ids")?) {
            evidence[i as usize] = ids;
        }
        for (pe, ids) in people.iter_mut().zip(evidence) {
            if present.contains(&pe.person_id) {
                pe.conditions.push((cond, ids));
            }
        }
    }
    Ok(())
}
