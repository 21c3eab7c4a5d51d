//! **Coverage and enrollment** of each person:
//!
//! - `coverage_span` — eligibility rows whose payer_type is a coverage type, as (start, end),
//!   sorted and merged when they touch or overlap (§4 enrollment rules read them).
//! - `health_home_span` — Health Home enrollment rows: `health_home_id`, start, end (open
//!   when null), sorted by (start, id) (§4 attribution reads them).
//! - `outreach` — whether the person is on the outreach list (eligible, not enrolled on the
//!   as-of date; from the eligibility output).

use polars::prelude::*;

use super::{Build, HealthHomeSpan, PersonEvents, Rows};

/// Fill every person's merged coverage spans.
pub fn load_coverage(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let cov = b
        .with_pidx(
            b.input
                .lazy("eligibility")
                .filter(crate::params::is_covered_payer(b.p))
                .select([
                    col("person_id"),
                    col("enrollment_start_date").alias("s"),
                    col("enrollment_end_date").alias("e"),
                ]),
        )
        .sort(["pidx", "s", "e"], Default::default())
        .collect()?;
    let r = Rows { df: &cov };
    for ((i, s), e) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("s")?)
        .zip(r.date("e")?)
    {
        if let (Some(s), Some(e)) = (s, e) {
            let cv = &mut people[i as usize].coverage;
            match cv.last_mut() {
                Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
                _ => cv.push((s, e)),
            }
        }
    }
    Ok(())
}

/// Fill every person's Health Home spans.
pub fn load_health_homes(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let hh = b
        .with_pidx(b.input.lazy("health_home_enrollment"))
        .sort(
            ["pidx", "enrollment_start_date", "health_home_id"],
            Default::default(),
        )
        .collect()?;
    let r = Rows { df: &hh };
    for (((((i, id), s), e), kind), program) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.str("health_home_id")?)
        .zip(r.date("enrollment_start_date")?)
        .zip(r.date("enrollment_end_date")?)
        .zip(r.str("health_home_type")?)
        .zip(r.str("program_id")?)
    {
        if let (Some(id), Some(s)) = (id, s) {
            people[i as usize].health_homes.push(HealthHomeSpan {
                id,
                start: s,
                end: e,
                program: HealthHomeSpan::program_of(program, kind),
            });
        }
    }
    Ok(())
}

/// Mark the persons on the outreach list of the `eligibility` output.
pub fn load_outreach(eligibility: &DataFrame, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let outreach = super::person_ids_where(eligibility, col("outreach"))?;
    for pe in people {
        pe.outreach = outreach.contains(&pe.person_id);
    }
    Ok(())
}
