//! **Dispensings** (§1, §2): `dispensing` — for each medication set a registered measure
//! declared (`antipsychotic`, `diabetes_medication`, …), one row per pharmacy fill whose NDC
//! (or RxNorm code) is in the set and per medical claim line whose HCPCS is in it (long-acting
//! injectable J-codes), dated from the set's declared window start (the period start or the
//! look-back start) to the period end: `set`, `date`, `id` (claim_id), `code` (the NDC, RxNorm
//! or HCPCS code matched).

use polars::prelude::*;

use super::needs::Since;
use super::{Build, PersonEvents, Rows};

/// One dispensing of a medication set.
#[derive(Debug, Clone)]
pub struct Dispensing {
    /// The dispensing (or service) date, as days since 1970-01-01.
    pub date: i32,
    /// The claim_id (the evidence).
    pub id: Option<String>,
    /// The NDC, RxNorm or HCPCS code that put it in the set.
    pub code: Option<String>,
}

/// The `dispensing` table of `set` with `pidx`, sorted by (pidx, date, id).
pub fn table(b: &Build, set: &str, since: Since) -> PolarsResult<LazyFrame> {
    let vs = b.vs;
    let ndc = vs.matches(set, "ndc", col("ndc_code"));
    let rxnorm = vs.matches(
        set,
        "rxnorm",
        col("rxnorm_code").str().strip_chars(lit(NULL)),
    );
    let rx = b
        .input
        .lazy("pharmacy_claim")
        .filter(ndc.clone().or(rxnorm))
        .select([
            col("person_id"),
            col("dispensing_date").alias("date"),
            col("claim_id").alias("id"),
            when(ndc)
                .then(col("ndc_code"))
                .otherwise(col("rxnorm_code").str().strip_chars(lit(NULL)))
                .alias("code"),
        ]);
    let mx = b
        .lines
        .clone()
        .filter(vs.matches(set, "hcpcs", col("hcpcs_code")))
        .select([
            col("person_id"),
            col("date"),
            col("claim_id").alias("id"),
            col("hcpcs_code").alias("code"),
        ]);
    let from = match since {
        Since::PeriodStart => b.mp_start.clone(),
        Since::Lookback => b.lookback.clone(),
    };
    Ok(b.with_pidx(concat([rx, mx], UnionArgs::default())?)
        .filter(
            col("date")
                .gt_eq(from)
                .and(col("date").lt_eq(b.mp_end.clone())),
        )
        .sort(["pidx", "date", "id"], Default::default()))
}

/// Fill every person's dispensings of every declared set (a person gets an entry per set,
/// empty when nothing was dispensed).
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    for pe in people.iter_mut() {
        pe.dispensed = b
            .needs
            .dispensed
            .iter()
            .map(|(s, _)| (*s, Vec::new()))
            .collect();
    }
    for (k, (set, since)) in b.needs.dispensed.iter().enumerate() {
        let df = table(b, set, *since)?.collect()?;
        let r = Rows { df: &df };
        for (((i, d), id), code) in r
            .idx("pidx")?
            .into_iter()
            .zip(r.date("date")?)
            .zip(r.str("id")?)
            .zip(r.str("code")?)
        {
            if let Some(d) = d {
                people[i as usize].dispensed[k]
                    .1
                    .push(Dispensing { date: d, id, code });
            }
        }
    }
    Ok(())
}
