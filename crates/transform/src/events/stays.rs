//! **Acute and nonacute inpatient stays** (§1).
//!
//! - `acute_stay` — one row per merged stay: `admission`, `discharge`, `principal` (the
//!   principal-diagnosis tags of its latest component), `death`, `claim_ids`. Lines of bill
//!   type 11x; admission = admission_date else claim_start_date, discharge = discharge_date
//!   else claim_end_date, discharge ≥ admission; grouped into components by (person,
//!   admission, discharge); a component's principal diagnosis is diagnosis_code_1 of its first
//!   line by (claim_id, claim_line_number) that has one. Sorted by admission, a component whose
//!   admission is ≤ 1 day after the running maximum discharge joins the stay (direct transfer
//!   or overlap); the stay takes the principal diagnosis and death status of the component with
//!   the latest (admission, discharge). Death = a line with discharge status 20, 40, 41 or 42.
//! - `nonacute_stay` — one row per line of bill type 21x, 22x, 18x, 28x, 86x: `date`
//!   (admission_date else claim_start_date) and its `claim_id`.

use polars::prelude::*;
use rayon::prelude::*;

use super::lines::{tag_columns, DEATH_STATUSES};
use super::{push_dated, Build, PersonEvents, Rows};
use crate::claims::{stay_admission, stay_discharge};
use crate::params::in_list;

/// A merged acute inpatient stay.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    /// The admission date, as days since 1970-01-01.
    pub admission: i32,
    /// The discharge date, as days since 1970-01-01.
    pub discharge: i32,
    /// Principal-diagnosis tags (of the latest component), as [`super::Needs::principal`] bits.
    pub principal: u64,
    /// The latest component has a death discharge status.
    pub death: bool,
    /// Claim ids of every component, sorted.
    pub claim_ids: Vec<String>,
}

impl Stay {
    /// Length of stay in days, at least 1 (§1).
    pub fn length(&self) -> i32 {
        (self.discharge - self.admission).max(1)
    }
}

/// One component of a stay before merging: lines grouped by (admission, discharge).
#[derive(Debug, Clone)]
pub struct StayComponent {
    /// The admission date, as days since 1970-01-01.
    pub admission: i32,
    /// The discharge date, as days since 1970-01-01.
    pub discharge: i32,
    /// Principal-diagnosis tags of the component.
    pub principal: u64,
    /// A line of the component has a death discharge status.
    pub death: bool,
    /// The component's claim ids, sorted.
    pub claim_ids: Vec<String>,
}

/// §1: merge components sorted by (admission, discharge); a component whose admission is ≤ 1
/// day after the running maximum discharge joins the current stay.
pub fn merge_stays(mut comps: Vec<StayComponent>) -> Vec<Stay> {
    comps.sort_by_key(|c| (c.admission, c.discharge));
    let mut out: Vec<Stay> = Vec::new();
    for c in comps {
        match out.last_mut() {
            Some(s) if c.admission <= s.discharge + 1 => {
                s.discharge = s.discharge.max(c.discharge);
                // Sorted by (admission, discharge): the newest component is the latest.
                s.principal = c.principal;
                s.death = c.death;
                s.claim_ids.extend(c.claim_ids);
                s.claim_ids.sort();
                s.claim_ids.dedup();
            }
            _ => out.push(Stay {
                admission: c.admission,
                discharge: c.discharge,
                principal: c.principal,
                death: c.death,
                claim_ids: c.claim_ids,
            }),
        }
    }
    out
}

/// The stay components, one row per (person, admission, discharge), with `pidx`.
pub fn components(b: &Build) -> LazyFrame {
    let mut aggs = vec![
        col("claim_id")
            .unique()
            .sort(Default::default())
            .alias("claim_ids"),
        in_list(col("discharge_disposition_code"), &DEATH_STATUSES)
            .fill_null(lit(false))
            .any(false)
            .alias("death"),
    ];
    for t in tag_columns("pdx", b.needs.principal_dx.len()) {
        aggs.push(
            t.filter(col("diagnosis_code_1").is_not_null())
                .first()
                .fill_null(lit(false)),
        );
    }
    b.with_pidx(
        b.lines
            .clone()
            .filter(col("acute"))
            .with_columns([stay_admission().alias("adm"), stay_discharge().alias("dis")])
            .sort(
                ["person_id", "adm", "dis", "claim_id", "claim_line_number"],
                Default::default(),
            )
            .group_by_stable([col("person_id"), col("adm"), col("dis")])
            .agg(aggs),
    )
}

/// Fill every person's merged acute stays.
pub fn load_acute(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let comps = components(b).collect()?;
    let r = Rows { df: &comps };
    let tags = r.tags("pdx", b.needs.principal_dx.len())?;
    let mut per_person: Vec<Vec<StayComponent>> = vec![Vec::new(); people.len()];
    for (k, (((i, a), d), (death, ids))) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("adm")?)
        .zip(r.date("dis")?)
        .zip(r.bool("death")?.into_iter().zip(r.str_list("claim_ids")?))
        .enumerate()
    {
        if let (Some(a), Some(d)) = (a, d) {
            per_person[i as usize].push(StayComponent {
                admission: a,
                discharge: d,
                principal: tags[k],
                death,
                claim_ids: ids,
            });
        }
    }
    people
        .par_iter_mut()
        .zip(per_person.into_par_iter())
        .for_each(|(pe, comps)| pe.stays = merge_stays(comps));
    Ok(())
}

/// The `nonacute_stay` table: `pidx`, `d` (the admission date), `claim_id`, sorted.
pub fn nonacute(b: &Build) -> LazyFrame {
    b.with_pidx(b.lines.clone().filter(col("nonacute")).select([
        col("person_id"),
        stay_admission().alias("d"),
        col("claim_id"),
    ]))
    .sort(["pidx", "d", "claim_id"], Default::default())
}

/// Fill every person's nonacute stays.
pub fn load_nonacute(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    push_dated(&nonacute(b).collect()?, "d", "claim_id", people, |pe| {
        &mut pe.nonacute
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(a: i32, d: i32, mh: bool, id: &str) -> StayComponent {
        StayComponent {
            admission: a,
            discharge: d,
            principal: mh as u64,
            death: false,
            claim_ids: vec![id.into()],
        }
    }

    #[test]
    fn direct_transfer_merges_and_takes_latest_component() {
        // 1..5 then 6..10: admission ≤ discharge + 1 → one stay 1..10, tags of the second.
        let s = merge_stays(vec![comp(6, 10, true, "B"), comp(1, 5, false, "A")]);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].admission, s[0].discharge, s[0].principal), (1, 10, 1));
        assert_eq!(s[0].claim_ids, vec!["A", "B"]);
    }

    #[test]
    fn two_days_apart_stay_separate() {
        let s = merge_stays(vec![comp(1, 5, false, "A"), comp(7, 9, true, "B")]);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn overlap_keeps_running_max_discharge() {
        // 1..20 contains 3..5; then 21..22 joins via the running max (20).
        let s = merge_stays(vec![
            comp(1, 20, false, "A"),
            comp(3, 5, true, "B"),
            comp(21, 22, false, "C"),
        ]);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].admission, s[0].discharge), (1, 22));
        assert_eq!(
            s[0].principal, 0,
            "latest (admission, discharge) component is C"
        );
    }
}
