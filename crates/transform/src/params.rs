//! Run parameters every stage shares: measurement period, as-of date, look-back, coverage.

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use serde::Serialize;

use crate::error::TransformError;

/// The parameters of a run (spec §3, §4).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Params {
    /// First day of the measurement period (MP).
    pub period_start: NaiveDate,
    /// Last day of the MP.
    pub period_end: NaiveDate,
    /// Eligibility and Health Home enrollment are judged on this date (default: MP end).
    pub as_of: NaiveDate,
    /// Start of the condition look-back (default: MP start − 1 year).
    pub lookback_start: NaiveDate,
    /// payer_type values that count as coverage, lower-cased (default `medicaid`).
    pub coverage_types: Vec<String>,
    /// The first day the input is complete from (`--history-start`, docs/measures/col.md §6);
    /// none: the earliest medical_claim service date in the input.
    pub history_start: Option<NaiveDate>,
}

impl Params {
    /// Defaults for a measurement period: as-of = MP end, look-back = MP start − 1 year.
    pub fn for_period(start: NaiveDate, end: NaiveDate) -> Result<Self, TransformError> {
        if end < start {
            return Err(TransformError::Params(format!(
                "the measurement period ends ({end}) before it starts ({start})"
            )));
        }
        Ok(Params {
            period_start: start,
            period_end: end,
            as_of: end,
            lookback_start: minus_one_year(start),
            coverage_types: vec!["medicaid".into()],
            history_start: None,
        })
    }

    /// The calendar year `year` as the MP.
    pub fn calendar_year(year: i32) -> Self {
        let s = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year");
        let e = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid year");
        Self::for_period(s, e).expect("ordered")
    }

    /// Set the coverage types (trimmed, lower-cased, deduplicated).
    pub fn with_coverage_types<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        types: I,
    ) -> Self {
        let mut v: Vec<String> = types
            .into_iter()
            .map(|s| s.as_ref().trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        v.sort();
        v.dedup();
        self.coverage_types = v;
        self
    }
}

/// The same day one year earlier (29 February → 28 February).
pub fn minus_one_year(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1)
        .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, d.month(), 28))
        .expect("valid date")
}

/// Days since 1970-01-01, polars' physical Date.
pub fn epoch_days(d: NaiveDate) -> i32 {
    d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
        .num_days() as i32
}

/// The date back from polars' physical Date.
pub fn from_epoch_days(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(days as i64)
}

/// A polars Date literal.
pub fn date_lit(d: NaiveDate) -> Expr {
    lit(epoch_days(d)).cast(DataType::Date)
}

/// `e` is one of `values` (strings). Nulls are never in the list.
pub fn in_list<S: AsRef<str>>(e: Expr, values: &[S]) -> Expr {
    let v: Vec<&str> = values.iter().map(|s| s.as_ref()).collect();
    e.is_in(lit(Series::new("".into(), v)).implode(false), false)
}

/// `payer_type` counts as coverage (§4: configured coverage types, case-insensitive).
pub fn is_covered_payer(p: &Params) -> Expr {
    in_list(col("payer_type"), &p.coverage_types).fill_null(lit(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_day_lookback() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(
            minus_one_year(d),
            NaiveDate::from_ymd_opt(2023, 2, 28).unwrap()
        );
        let p = Params::calendar_year(2025);
        assert_eq!(
            p.lookback_start,
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
        );
        assert_eq!(p.as_of, NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
    }

    #[test]
    fn period_must_be_ordered() {
        let s = NaiveDate::from_ymd_opt(2025, 2, 1).unwrap();
        let e = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        assert!(Params::for_period(s, e).is_err());
    }

    #[test]
    fn coverage_types_are_normalised() {
        let p =
            Params::calendar_year(2025).with_coverage_types(["Medicaid", " MEDICARE", "medicaid"]);
        assert_eq!(p.coverage_types, vec!["medicaid", "medicare"]);
    }
}
