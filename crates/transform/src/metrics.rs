//! Utilization **metrics** (spec §5), named and declared once, as the measures are in the
//! registry: `utilization_monthly` has a column per metric, `cost_effectiveness` a row per
//! difference-in-differences metric, and the report's charts and tables take their names and
//! units from here.

use crate::utilization::Sums;

/// One utilization metric of a group's sums.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// The column of `utilization_monthly` and the `metric` of `cost_effectiveness`.
    pub id: &'static str,
    /// The name an evaluator reads.
    pub name: &'static str,
    /// The long title of its chart in the report.
    pub title: &'static str,
    /// The chart's axis label.
    pub axis: &'static str,
    /// The unit of its difference-in-differences.
    pub unit: &'static str,
    /// The key of its chart in the report (`chart-<key>`).
    pub chart: &'static str,
    /// Shown as money.
    pub money: bool,
    /// A lower value is better (a Health Home should lower it).
    pub lower_is_better: bool,
    /// Its value for one group's sums; None when its denominator is 0.
    pub value: fn(&Sums) -> Option<f64>,
}

fn per_member_month(s: &Sums, f: impl Fn(&Sums) -> f64) -> Option<f64> {
    (s.member_months > 0).then(|| f(s) / s.member_months as f64)
}

/// ED visits per 1,000 member-months (visits not resulting in admission, §5).
pub const ED_PER_1000: Metric = Metric {
    id: "ed_per_1000",
    name: "ED visits per 1,000 member-months",
    title: "ED visits per 1,000 member-months (not resulting in admission)",
    axis: "ED visits per 1,000 member-months",
    unit: "per 1,000",
    chart: "ed",
    money: false,
    lower_is_better: true,
    value: |s| per_member_month(s, |s| 1000.0 * s.ed as f64),
};

/// Acute inpatient admissions per 1,000 member-months.
pub const IP_PER_1000: Metric = Metric {
    id: "ip_per_1000",
    name: "Admissions per 1,000 member-months",
    title: "Acute inpatient admissions per 1,000 member-months",
    axis: "Admissions per 1,000 member-months",
    unit: "per 1,000",
    chart: "ip",
    money: false,
    lower_is_better: true,
    value: |s| per_member_month(s, |s| 1000.0 * s.admissions as f64),
};

/// Paid per member per month, medical and pharmacy, in US dollars.
pub const PMPM: Metric = Metric {
    id: "pmpm",
    name: "PMPM",
    title: "Paid per member per month, medical and pharmacy (US dollars)",
    axis: "PMPM (US dollars)",
    unit: "US dollars",
    chart: "pmpm",
    money: true,
    lower_is_better: true,
    value: |s| per_member_month(s, |s| (s.medical_cents + s.pharmacy_cents) as f64 / 100.0),
};

/// Average length of stay: inpatient days per admission.
pub const ALOS: Metric = Metric {
    id: "alos",
    name: "Average length of stay (days)",
    title: "Average length of stay of acute admissions (days)",
    axis: "Days",
    unit: "days",
    chart: "alos",
    money: false,
    lower_is_better: true,
    value: |s| (s.admissions > 0).then(|| s.days as f64 / s.admissions as f64),
};

/// The number of difference-in-differences metrics.
pub const N_DID: usize = 3;

/// The metrics of the difference-in-differences (`cost_effectiveness`, the report's charts),
/// in order; implied savings come from [`SAVINGS`].
pub const DID: [Metric; N_DID] = [ED_PER_1000, IP_PER_1000, PMPM];

/// The metric whose difference, times the enrollees' member-months after, is the implied
/// savings (with the sign turned: a drop in PMPM is a saving).
pub const SAVINGS: usize = 2;

/// The `cost_effectiveness` row of the implied savings.
pub const IMPLIED_SAVINGS: &str = "implied_savings";

/// Every column of `utilization_monthly` that is a metric, in order.
pub const MONTHLY: [Metric; 4] = [ED_PER_1000, IP_PER_1000, PMPM, ALOS];

/// The metric `id`.
pub fn find(id: &str) -> Option<&'static Metric> {
    MONTHLY.iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_of_sums_and_empty_denominators() {
        let s = Sums {
            member_months: 4,
            ed: 2,
            admissions: 1,
            days: 5,
            medical_cents: 30_000,
            pharmacy_cents: 10_000,
        };
        assert_eq!((ED_PER_1000.value)(&s), Some(500.0));
        assert_eq!((IP_PER_1000.value)(&s), Some(250.0));
        assert_eq!((PMPM.value)(&s), Some(100.0));
        assert_eq!((ALOS.value)(&s), Some(5.0));
        let none = Sums::default();
        assert!(MONTHLY.iter().all(|m| (m.value)(&none).is_none()));
        assert_eq!(DID[SAVINGS].id, "pmpm");
        assert!(find("alos").is_some() && find("alos_days").is_none());
    }
}
