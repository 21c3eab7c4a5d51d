//! **ED visits** (§1): `ed_visit` — one row per (person, service date) with a line whose code
//! (HCPCS, revenue, POS or bill type) is in `ed_visit`: `date`, `principal` (the
//! principal-diagnosis tags of any ED line that date), `any_dx` (the ED-diagnosis tags: any
//! diagnosis position of any ED line that date) and the `claim_ids` of those lines.

use polars::prelude::*;

use super::lines::tag_columns;
use super::{Build, PersonEvents, Rows};

/// An ED visit: a person and date.
#[derive(Debug, Clone)]
pub struct EdVisit {
    /// The ED service date, as days since 1970-01-01.
    pub date: i32,
    /// Principal-diagnosis tags of any ED line that date ([`super::Needs::principal`] bits).
    pub principal: u64,
    /// Any-diagnosis tags of any ED line that date ([`super::Needs::ed_dx`] bits).
    pub any_dx: u64,
    /// The claims of the ED lines of that date, sorted.
    pub claim_ids: Vec<String>,
}

/// The `ed_visit` table with `pidx`, sorted by (pidx, date).
pub fn table(b: &Build) -> LazyFrame {
    let mut aggs: Vec<Expr> = tag_columns("pdx", b.needs.principal_dx.len())
        .into_iter()
        .map(|t| t.any(false))
        .collect();
    aggs.extend(
        tag_columns("edx", b.needs.ed_dx.len())
            .into_iter()
            .map(|t| t.any(false)),
    );
    aggs.push(
        col("claim_id")
            .unique()
            .sort(Default::default())
            .alias("claim_ids"),
    );
    b.with_pidx(
        b.lines
            .clone()
            .filter(col("ed").and(col("date").is_not_null()))
            .group_by([col("person_id"), col("date")])
            .agg(aggs),
    )
    .sort(["pidx", "date"], Default::default())
}

/// Fill every person's ED visits.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let ed = table(b).collect()?;
    let r = Rows { df: &ed };
    let tags = r.tags("pdx", b.needs.principal_dx.len())?;
    let any_dx = r.tags("edx", b.needs.ed_dx.len())?;
    for (k, ((i, d), ids)) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.str_list("claim_ids")?)
        .enumerate()
    {
        if let Some(d) = d {
            people[i as usize].ed_visits.push(EdVisit {
                date: d,
                principal: tags[k],
                any_dx: any_dx[k],
                claim_ids: ids,
            });
        }
    }
    Ok(())
}
