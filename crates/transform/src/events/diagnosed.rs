//! **Diagnosed in the period** (OUD-HH `docs/measures/oud.md` §2): `diagnosed` — for each
//! diagnosed-claims set a registered measure declared (`oud_diagnosis`), one row per person
//! with a medical claim line dated in the measurement period whose diagnosis, in any position,
//! is in the set: `set`, `claim_ids` (the matching claims, sorted; the index evidence). Lines of
//! an independent laboratory (place of service `81`) do not count: a lab bills the diagnosis it
//! was sent to rule out, which is not a diagnosis of the person.

use polars::prelude::*;

use super::lines::tag_column;
use super::{Build, PersonEvents, Rows};

/// The `diagnosed` table of the `i`-th declared set with `pidx`.
pub fn table(b: &Build, i: usize) -> LazyFrame {
    b.with_pidx(
        b.lines
            .clone()
            .filter(col(tag_column("dxc", i)).and(b.in_mp(col("date"))))
            .group_by([col("person_id")])
            .agg([col("claim_id")
                .unique()
                .sort(Default::default())
                .alias("claim_ids")]),
    )
}

/// Fill every person's diagnosed sets with their claims (only the sets the person has).
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    for (i, set) in b.needs.dx_claims.iter().enumerate() {
        let df = table(b, i).collect()?;
        let r = Rows { df: &df };
        for (p, ids) in r.idx("pidx")?.into_iter().zip(r.str_list("claim_ids")?) {
            people[p as usize].diagnosed.push((set, ids));
        }
    }
    Ok(())
}
