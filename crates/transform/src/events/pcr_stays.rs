//! **PCR hospital stays** (`pcr_stay`; docs/measures/pcr.md "PCR hospital stays"): acute
//! inpatient *and observation* stays, merged by the §1 rule, read only by `pcr_hh`.
//!
//! One row per merged stay: `admission`, `discharge`, `observation` (no acute component),
//! `principal` (principal-diagnosis tags of the deciding component), `principal_code`, `death`,
//! `pcs_always` / `pcs_potential` (a procedure code of any line of any component in
//! `planned_always_procedure` / `planned_potential_procedure`), `claim_ids`.
//!
//! - **Acute components**: lines of bill type 11x grouped by (person, admission, discharge)
//!   exactly as [`super::stays`] builds them (before merging).
//! - **Observation components**: institutional claims whose bill type is neither 11x nor
//!   nonacute (a null bill type qualifies) with at least one line coded in `observation_stay`
//!   (revenue 0762, HCPCS G0378 / G0379). Every line of such a claim belongs to it. Admission =
//!   the claim's admission_date, else the earliest service date of its observation lines;
//!   discharge = discharge_date, else claim_end_date, at least the admission. Grouped by
//!   (person, admission, discharge).
//! - **Merge**: sorted by (admission, discharge, acute last), a component admitted ≤ 1 day
//!   after the running maximum discharge joins the stay; the stay takes principal diagnosis,
//!   death and principal code from its latest component (on a tie of dates, the acute one).

use polars::prelude::*;
use rayon::prelude::*;

use super::lines::{tag_columns, DEATH_STATUSES};
use super::{Build, PersonEvents, Rows};
use crate::claims::{stay_admission, stay_discharge};
use crate::params::in_list;

/// The value sets this table reads.
pub const VALUE_SETS: &[&str] = &[
    "observation_stay",
    "planned_always_procedure",
    "planned_potential_procedure",
];

/// A merged PCR hospital stay (acute or observation).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PcrStay {
    /// The admission date, as days since 1970-01-01.
    pub admission: i32,
    /// The discharge date, as days since 1970-01-01.
    pub discharge: i32,
    /// No component is acute: an observation stay.
    pub observation: bool,
    /// Principal-diagnosis tags of the deciding component ([`super::Needs::principal`] bits).
    pub principal: u64,
    /// The deciding component's principal diagnosis (diagnosis_code_1), normalised.
    pub principal_code: Option<String>,
    /// The deciding component has a death discharge status.
    pub death: bool,
    /// A procedure code of the stay is in `planned_always_procedure`.
    pub pcs_always: bool,
    /// A procedure code of the stay is in `planned_potential_procedure`.
    pub pcs_potential: bool,
    /// Claim ids of every component, sorted.
    pub claim_ids: Vec<String>,
}

impl PcrStay {
    /// Length of stay in days, at least 1 (§1).
    pub fn length(&self) -> i32 {
        (self.discharge - self.admission).max(1)
    }
}

/// One component before merging (`acute`: from 11x lines).
#[derive(Debug, Clone, Default)]
pub struct PcrComponent {
    /// From acute (11x) lines; otherwise an observation claim.
    pub acute: bool,
    /// The stay it becomes, before merging.
    pub stay: PcrStay,
}

/// The merge of docs/measures/pcr.md: sorted by (admission, discharge, acute last), a
/// component admitted ≤ 1 day after the running maximum discharge joins the stay.
pub fn merge_pcr_stays(mut comps: Vec<PcrComponent>) -> Vec<PcrStay> {
    comps.sort_by_key(|c| (c.stay.admission, c.stay.discharge, c.acute));
    let mut out: Vec<PcrStay> = Vec::new();
    for c in comps {
        let acute = c.acute;
        let c = c.stay;
        match out.last_mut() {
            Some(s) if c.admission <= s.discharge + 1 => {
                s.discharge = s.discharge.max(c.discharge);
                s.observation &= !acute;
                s.principal = c.principal;
                s.principal_code = c.principal_code;
                s.death = c.death;
                s.pcs_always |= c.pcs_always;
                s.pcs_potential |= c.pcs_potential;
                s.claim_ids.extend(c.claim_ids);
                s.claim_ids.sort();
                s.claim_ids.dedup();
            }
            _ => out.push(PcrStay {
                observation: !acute,
                ..c
            }),
        }
    }
    out
}

fn component_aggs(b: &Build) -> Vec<Expr> {
    let mut aggs = vec![
        col("claim_id")
            .unique()
            .sort(Default::default())
            .alias("claim_ids"),
        in_list(col("discharge_disposition_code"), &DEATH_STATUSES)
            .fill_null(lit(false))
            .any(false)
            .alias("death"),
        col("diagnosis_code_1")
            .drop_nulls()
            .first()
            .alias("principal_code"),
        col("pcs_always").any(false).alias("pcs_always"),
        col("pcs_potential").any(false).alias("pcs_potential"),
    ];
    for t in tag_columns("pdx", b.needs.principal_dx.len()) {
        aggs.push(
            t.filter(col("diagnosis_code_1").is_not_null())
                .first()
                .fill_null(lit(false)),
        );
    }
    aggs
}

fn grouped(lf: LazyFrame, b: &Build, acute: bool) -> LazyFrame {
    lf.sort(
        ["person_id", "adm", "dis", "claim_id", "claim_line_number"],
        Default::default(),
    )
    .group_by_stable([col("person_id"), col("adm"), col("dis")])
    .agg(component_aggs(b))
    .with_column(lit(acute).alias("acute"))
}

/// The components, one row per (person, kind, admission, discharge), with `pidx`.
pub fn components(b: &Build) -> PolarsResult<LazyFrame> {
    let acute = b
        .lines
        .clone()
        .filter(col("acute"))
        .with_columns([stay_admission().alias("adm"), stay_discharge().alias("dis")]);
    let obs_claims = b
        .lines
        .clone()
        .filter(col("obs_bill").and(col("obs_line")))
        .group_by([col("claim_id")])
        .agg([col("date").min().alias("obs_first")]);
    let obs = b
        .lines
        .clone()
        .filter(col("obs_bill"))
        .join(
            obs_claims,
            [col("claim_id")],
            [col("claim_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_columns([
            coalesce(&[
                col("admission_date").min().over([col("claim_id")])?,
                col("obs_first"),
            ])
            .alias("adm"),
            coalesce(&[
                col("discharge_date").max().over([col("claim_id")])?,
                col("claim_end_date").max().over([col("claim_id")])?,
            ])
            .alias("dis0"),
        ])
        .filter(col("adm").is_not_null())
        .with_column(
            when(col("dis0").is_null().or(col("dis0").lt(col("adm"))))
                .then(col("adm"))
                .otherwise(col("dis0"))
                .alias("dis"),
        );
    Ok(b.with_pidx(concat(
        [grouped(acute, b, true), grouped(obs, b, false)],
        UnionArgs::default(),
    )?))
}

/// Fill every person's PCR hospital stays.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let comps = components(b)?.collect()?;
    let r = Rows { df: &comps };
    let tags = r.tags("pdx", b.needs.principal_dx.len())?;
    let mut per_person: Vec<Vec<PcrComponent>> = vec![Vec::new(); people.len()];
    let pidx = r.idx("pidx")?;
    let adm = r.date("adm")?;
    let dis = r.date("dis")?;
    let death = r.bool("death")?;
    let acute = r.bool("acute")?;
    let always = r.bool("pcs_always")?;
    let potential = r.bool("pcs_potential")?;
    let code = r.str("principal_code")?;
    let ids = r.str_list("claim_ids")?;
    for (k, ids) in ids.into_iter().enumerate() {
        if let (Some(a), Some(d)) = (adm[k], dis[k]) {
            per_person[pidx[k] as usize].push(PcrComponent {
                acute: acute[k],
                stay: PcrStay {
                    admission: a,
                    discharge: d,
                    observation: !acute[k],
                    principal: tags[k],
                    principal_code: code[k].clone(),
                    death: death[k],
                    pcs_always: always[k],
                    pcs_potential: potential[k],
                    claim_ids: ids,
                },
            });
        }
    }
    people
        .par_iter_mut()
        .zip(per_person.into_par_iter())
        .for_each(|(pe, comps)| pe.pcr_stays = merge_pcr_stays(comps));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(a: i32, d: i32, acute: bool, id: &str) -> PcrComponent {
        PcrComponent {
            acute,
            stay: PcrStay {
                admission: a,
                discharge: d,
                observation: !acute,
                principal_code: Some(id.into()),
                claim_ids: vec![id.into()],
                ..Default::default()
            },
        }
    }

    #[test]
    fn observation_then_acute_next_day_is_one_acute_stay() {
        let s = merge_pcr_stays(vec![comp(3, 6, true, "B"), comp(1, 2, false, "A")]);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].admission, s[0].discharge), (1, 6));
        assert!(!s[0].observation);
        assert_eq!(s[0].claim_ids, ["A", "B"]);
    }

    #[test]
    fn observation_alone_and_two_days_apart() {
        let s = merge_pcr_stays(vec![comp(1, 2, false, "A"), comp(4, 5, false, "B")]);
        assert_eq!(s.len(), 2);
        assert!(s[0].observation && s[1].observation);
    }

    #[test]
    fn a_tie_of_dates_takes_the_acute_component_and_procedures_are_a_union() {
        let mut a = comp(1, 3, false, "OBS");
        a.stay.pcs_potential = true;
        let s = merge_pcr_stays(vec![comp(1, 3, true, "ACU"), a]);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].principal_code.as_deref(), Some("ACU"));
        assert!(s[0].pcs_potential && !s[0].observation);
    }
}
