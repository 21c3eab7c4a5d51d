//! **Institutional facility claims** (`docs/measures/aif.md` "Institutional facility stays";
//! read only by `aif`).
//!
//! - `facility_claim` — one row per (person, claim_id) of the institutional lines whose bill
//!   type is in `institutional_facility` (nursing facility 21x / 22x, swing beds 28x / 18x,
//!   intermediate care 65x / 66x): `start` (earliest claim_start_date), `end` (latest
//!   claim_end_date), `admission` (earliest admission_date), `discharge` (latest
//!   discharge_date), `freq` (the bill type's 3rd, frequency, digit of the first line) and
//!   `status` (discharge_disposition_code of the first line by claim_line_number that has one).
//!   Claims without both dates, with end < start, or with discharge < admission form no stay
//!   (§8 keeps such lines; they are dropped here). Only claims ending on or after the
//!   look-back start are kept: a stay that matters to a measurement-period admission either
//!   starts in the period or runs into it from a claim that ends no earlier than that.
//!   Sorted by person, then (start, end, claim_id).

use polars::prelude::*;

use super::{Build, PersonEvents, Rows};

/// One institutional facility claim (all its lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacilityClaim {
    /// The claim.
    pub claim_id: String,
    /// claim_start_date, as days since 1970-01-01.
    pub start: i32,
    /// claim_end_date.
    pub end: i32,
    /// admission_date, if a line has one.
    pub admission: Option<i32>,
    /// discharge_date, if a line has one.
    pub discharge: Option<i32>,
    /// The bill type's frequency digit (`1` admit through discharge, `2` interim first, `3`
    /// interim continuing, `4` interim last).
    pub freq: Option<char>,
    /// The discharge status (`30` = still a patient).
    pub status: Option<String>,
}

/// The `facility_claim` table: `pidx`, `claim_id`, `start`, `end`, `admission`, `discharge`,
/// `freq`, `status`.
pub fn table(b: &Build) -> LazyFrame {
    let lines = b
        .lines
        .clone()
        .filter(col("facility"))
        .sort(
            ["person_id", "claim_id", "claim_line_number"],
            Default::default(),
        )
        .group_by_stable([col("person_id"), col("claim_id")])
        .agg([
            col("claim_start_date").min().alias("start"),
            col("claim_end_date").max().alias("end"),
            col("admission_date").min().alias("admission"),
            col("discharge_date").max().alias("discharge"),
            col("facility_freq").first().alias("freq"),
            col("discharge_disposition_code")
                .drop_nulls()
                .first()
                .alias("status"),
        ])
        .filter(
            col("start")
                .is_not_null()
                .and(col("end").is_not_null())
                .and(col("end").gt_eq(col("start")))
                .and(col("end").gt_eq(b.lookback.clone()))
                .and(
                    col("discharge")
                        .lt(col("admission"))
                        .fill_null(lit(false))
                        .not(),
                ),
        );
    b.with_pidx(lines)
        .sort(["pidx", "start", "end", "claim_id"], Default::default())
}

/// Fill every person's institutional facility claims.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let df = table(b).collect()?;
    let r = Rows { df: &df };
    for (((((((i, id), s), e), a), d), f), st) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.str("claim_id")?)
        .zip(r.date("start")?)
        .zip(r.date("end")?)
        .zip(r.date("admission")?)
        .zip(r.date("discharge")?)
        .zip(r.str("freq")?)
        .zip(r.str("status")?)
    {
        if let (Some(s), Some(e)) = (s, e) {
            people[i as usize].facility.push(FacilityClaim {
                claim_id: id.unwrap_or_default(),
                start: s,
                end: e,
                admission: a,
                discharge: d,
                freq: f.and_then(|f| f.chars().next()),
                status: st,
            });
        }
    }
    Ok(())
}
