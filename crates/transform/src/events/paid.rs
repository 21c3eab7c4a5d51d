//! **Paid amounts** by person and calendar month (§5, §9): `paid_by_person_month` — medical
//! lines by claim_start_date month and pharmacy fills by dispensing month, in integer cents
//! (money is summed exactly), with row counts. Utilization and the evaluation read it; it is
//! computed once per run (or bucket).

use caregap_ingest::InputLayer;
use polars::prelude::*;

use super::{Build, PersonEvents, Rows};

/// Paid amounts of one person in one calendar month, in integer cents (§9: money is summed
/// exactly). Medical lines by claim_start_date month, pharmacy fills by dispensing month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthPaid {
    /// The calendar month ([`month_index`]).
    pub month: i32,
    /// Paid on medical lines, in cents.
    pub medical_cents: i64,
    /// Paid on pharmacy fills, in cents.
    pub pharmacy_cents: i64,
    /// Rows (claim lines + fills) dated in this month.
    pub rows: u32,
}

/// A calendar month as one integer: year × 12 + month − 1.
pub fn month_index(day: i32) -> i32 {
    use chrono::Datelike;
    let d = crate::params::from_epoch_days(day);
    d.year() * 12 + d.month0() as i32
}

/// The first day of a `month_index` month.
pub fn month_start(m: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
        .expect("valid month")
}

/// Paid cents, rows and null-paid rows by (person_id, month) for medical lines and pharmacy
/// fills: `person_id, month, medical_cents, pharmacy_cents, rows, medical_rows, null_paid_rows`.
pub fn paid_by_person_month(input: &InputLayer) -> PolarsResult<LazyFrame> {
    let month = |d: Expr| {
        d.clone().dt().year().cast(DataType::Int32) * lit(12) + d.dt().month().cast(DataType::Int32)
            - lit(1)
    };
    let cents = col("paid_amount").fill_null(lit(0.0)) * lit(100.0);
    let med = input.lazy("medical_claim").select([
        col("person_id"),
        month(col("claim_start_date")).alias("month"),
        cents
            .clone()
            .round(0, RoundMode::HalfAwayFromZero)
            .cast(DataType::Int64)
            .alias("medical_cents"),
        lit(0i64).cast(DataType::Int64).alias("pharmacy_cents"),
        col("paid_amount")
            .is_null()
            .cast(DataType::Int64)
            .alias("null_paid"),
        lit(1i64).alias("medical"),
    ]);
    let rx = input.lazy("pharmacy_claim").select([
        col("person_id"),
        month(col("dispensing_date")).alias("month"),
        lit(0i64).cast(DataType::Int64).alias("medical_cents"),
        cents
            .round(0, RoundMode::HalfAwayFromZero)
            .cast(DataType::Int64)
            .alias("pharmacy_cents"),
        col("paid_amount")
            .is_null()
            .cast(DataType::Int64)
            .alias("null_paid"),
        lit(0i64).alias("medical"),
    ]);
    Ok(concat([med, rx], UnionArgs::default())?
        .group_by([col("person_id"), col("month")])
        .agg([
            col("medical_cents").sum(),
            col("pharmacy_cents").sum(),
            len().cast(DataType::Int64).alias("rows"),
            col("medical").sum().alias("medical_rows"),
            col("null_paid").sum().alias("null_paid_rows"),
        ]))
}

/// Fill every person's paid months from the [`paid_by_person_month`] frame.
pub fn load(b: &Build, paid: &DataFrame, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let paid = b
        .with_pidx(paid.clone().lazy())
        .sort(["pidx", "month"], Default::default())
        .collect()?;
    let r = Rows { df: &paid };
    let (pi, pm) = (r.idx("pidx")?, r.date("month")?);
    let (mc, rc, rows) = (
        paid.column("medical_cents")?.i64()?.clone(),
        paid.column("pharmacy_cents")?.i64()?.clone(),
        paid.column("rows")?.i64()?.clone(),
    );
    for k in 0..pi.len() {
        if let Some(m) = pm[k] {
            people[pi[k] as usize].paid.push(MonthPaid {
                month: m,
                medical_cents: mc.get(k).unwrap_or(0),
                pharmacy_cents: rc.get(k).unwrap_or(0),
                rows: rows.get(k).unwrap_or(0) as u32,
            });
        }
    }
    Ok(())
}
