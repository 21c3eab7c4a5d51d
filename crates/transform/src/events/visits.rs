//! **Visits** (§1): `visit` — one row per claim line that is an outpatient visit, a
//! mental-health visit, or a line whose HCPCS is in a visit-service set some measure declared
//! (`fua_service`): `date`, `claim_id`, `outpatient`, `mental_health`, `dx` (the visit-diagnosis
//! tags: any diagnosis position in a declared set) and `services` (the service tags).
//!
//! - **Outpatient visit**: a professional line, or an institutional one whose bill type is not
//!   acute or nonacute (null counts), with a code in `outpatient_visit`.
//! - **Mental-health visit**: an outpatient visit with a mental-illness principal diagnosis, or
//!   any line in `mh_visit` (hcpcs, POS 53/52), or `mh_telehealth` POS with a mental-illness
//!   principal diagnosis.

use polars::prelude::*;

use super::lines::tag_columns;
use super::{Build, PersonEvents, Rows};

/// A claim line that is a visit of some kind (§1).
#[derive(Debug, Clone)]
pub struct Visit {
    /// The service date, as days since 1970-01-01.
    pub date: i32,
    /// The claim (the evidence).
    pub claim_id: String,
    /// An outpatient visit (§1).
    pub outpatient: bool,
    /// A mental-health visit (§1).
    pub mental_health: bool,
    /// Visit-diagnosis tags ([`super::Needs::visit_dx`] bits).
    pub dx: u64,
    /// Visit-service tags ([`super::Needs::service`] bits).
    pub services: u64,
}

/// The `visit` table with `pidx`, sorted by (pidx, date, claim_id).
pub fn table(b: &Build) -> LazyFrame {
    let svc = tag_columns("svc", b.needs.visit_services.len());
    let any_service = svc.iter().cloned().fold(lit(false), |a, c| a.or(c));
    let mut keep = vec![
        col("person_id"),
        col("date"),
        col("claim_id"),
        col("outpatient"),
        col("mh_visit"),
    ];
    keep.extend(tag_columns("vdx", b.needs.visit_dx.len()));
    keep.extend(svc);
    b.with_pidx(
        b.lines
            .clone()
            .filter(
                col("outpatient")
                    .or(col("mh_visit"))
                    .or(any_service)
                    .and(col("date").is_not_null()),
            )
            .select(keep),
    )
    .sort(["pidx", "date", "claim_id"], Default::default())
}

/// Fill every person's visits.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let visits = table(b).collect()?;
    let r = Rows { df: &visits };
    let (vi, vd, vc) = (r.idx("pidx")?, r.date("date")?, r.str("claim_id")?);
    let (vo, vm) = (r.bool("outpatient")?, r.bool("mh_visit")?);
    let dx = r.tags("vdx", b.needs.visit_dx.len())?;
    let services = r.tags("svc", b.needs.visit_services.len())?;
    for k in 0..vi.len() {
        if let Some(d) = vd[k] {
            people[vi[k] as usize].visits.push(Visit {
                date: d,
                claim_id: vc[k].clone().unwrap_or_default(),
                outpatient: vo[k],
                mental_health: vm[k],
                dx: dx[k],
                services: services[k],
            });
        }
    }
    Ok(())
}
