//! **Enrollee months** of the rate measures (`docs/measures/iu.md` and `docs/measures/aif.md`,
//! "Population and enrollee months") and the tally that sums one person's months and events
//! into as few [`RateCount`]s as possible: one per rate × age × Health Home.
//!
//! - A **member-month** is a calendar month of the MP (clipped to the MP) with at least one
//!   covered day (§5 member-months).
//! - Its **age** is the age in completed years on the month's last day (none: unknown, a birth
//!   date after that day); the month's events are banded by the same age.
//! - Its **Health Home** is the §4 attribution on the last day of the month on which the person
//!   is both covered and in a Health Home span; none: no such day.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::{Period, RateCount};
use crate::events::PersonEvents;
use crate::params::{epoch_days, from_epoch_days};

/// One member-month of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    /// The month's first day in the MP.
    pub start: i32,
    /// The month's last day in the MP.
    pub end: i32,
    /// Age on `end`; none: unknown.
    pub age: Option<i32>,
    /// The Health Home the month is attributed to; none: not enrolled.
    pub health_home_id: Option<String>,
}

/// The last day of the calendar month of `day`.
fn month_end(day: i32) -> i32 {
    let d = from_epoch_days(day);
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).map_or(day, |n| epoch_days(n) - 1)
}

/// The covered parts of `a ..= b`, in order.
pub fn covered_in(pe: &PersonEvents, a: i32, b: i32) -> Vec<(i32, i32)> {
    pe.coverage
        .iter()
        .map(|&(s, e)| (s.max(a), e.min(b)))
        .filter(|(s, e)| s <= e)
        .collect()
}

/// The last day of `a ..= b` that is covered and in a Health Home span.
fn attribution_day(pe: &PersonEvents, a: i32, b: i32) -> Option<i32> {
    let mut best = None;
    for (s, e) in covered_in(pe, a, b) {
        for h in &pe.health_homes {
            let hs = h.start.max(s);
            let he = h.end.map_or(e, |x| x.min(e));
            if hs <= he {
                best = best.max(Some(he));
            }
        }
    }
    best
}

/// Every member-month of the MP, in order (see the module doc).
pub fn member_months(pe: &PersonEvents, period: &Period) -> Vec<Month> {
    let mut out = Vec::new();
    let mut start = period.start;
    while start <= period.end {
        let end = month_end(start).min(period.end);
        if !covered_in(pe, start, end).is_empty() {
            let age = pe.age_on(end);
            out.push(Month {
                start,
                end,
                age: (age >= 0).then_some(age),
                health_home_id: attribution_day(pe, start, end).and_then(|d| pe.health_home_on(d)),
            });
        }
        start = end + 1;
    }
    out
}

/// The member-month holding `day`, if any.
pub fn month_of(months: &[Month], day: i32) -> Option<&Month> {
    months.iter().find(|m| m.start <= day && day <= m.end)
}

/// A tally's key: rate, age, Health Home.
type TallyKey = (&'static str, Option<i32>, Option<String>);

/// One person's events and enrollee months of one measure, by rate × age × Health Home.
#[derive(Debug)]
pub struct Tally {
    measure: &'static str,
    counts: BTreeMap<TallyKey, (i64, i64)>,
}

impl Tally {
    /// An empty tally of `measure`.
    pub fn new(measure: &'static str) -> Self {
        Tally {
            measure,
            counts: BTreeMap::new(),
        }
    }

    fn entry(&mut self, rate: &'static str, m: &Month) -> &mut (i64, i64) {
        self.counts
            .entry((rate, m.age, m.health_home_id.clone()))
            .or_default()
    }

    /// Count `m` as an enrollee month of `rate`.
    pub fn month(&mut self, rate: &'static str, m: &Month) {
        self.entry(rate, m).1 += 1;
    }

    /// Count `n` events of `rate` in month `m`.
    pub fn events(&mut self, rate: &'static str, m: &Month, n: i64) {
        self.entry(rate, m).0 += n;
    }

    /// The person's rate counts, sorted by (rate, age, Health Home).
    pub fn into_counts(self) -> Vec<RateCount> {
        let measure = self.measure;
        self.counts
            .into_iter()
            .map(|((rate, age, hh), (events, months))| RateCount {
                measure,
                rate,
                age,
                health_home_id: hh,
                events,
                months,
            })
            .collect()
    }
}

/// Test support: the rate counts of several persons summed by (rate, band label), where the
/// band is the measure's age band holding the age (`unknown` for none, `other` outside every
/// band) — what `core_set` would add up, for the unit tests.
#[cfg(test)]
pub fn sum_by_band(
    counts: &[RateCount],
    bands: &[super::AgeBand],
) -> BTreeMap<(&'static str, String), (i64, i64)> {
    let mut out: BTreeMap<(&'static str, String), (i64, i64)> = BTreeMap::new();
    for c in counts {
        let label = match c.age {
            None => "unknown".to_string(),
            Some(a) => bands
                .iter()
                .find(|b| a >= b.min && b.max.is_none_or(|x| a <= x))
                .map_or("other".to_string(), |b| match b.max {
                    Some(x) => format!("{}-{}", b.min, x),
                    None => format!("{}+", b.min),
                }),
        };
        let e = out.entry((c.rate, label)).or_default();
        e.0 += c.events;
        e.1 += c.months;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::HealthHomeSpan;
    use crate::measures::testing::*;

    #[test]
    fn months_need_one_covered_day_and_take_age_on_the_last_day() {
        let c = ctx();
        let mut pe = adult();
        // Covered 1970-01-31 … 1970-03-01 only: January (its last day), February, March (its
        // first day).
        pe.coverage = vec![(day(1970, 1, 31), day(1970, 3, 1))];
        // Born 1940-02-28: 29 on 1970-01-31, 30 on 02-28.
        pe.birth = day(1940, 2, 28);
        let m = member_months(&pe, &c.period);
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].start, m[0].end), (day(1970, 1, 1), day(1970, 1, 31)));
        assert_eq!(m[0].age, Some(29));
        assert_eq!(m[1].age, Some(30), "birthday on the month's last day");
        assert_eq!(m[2].end, day(1970, 3, 31));
        assert!(month_of(&m, day(1970, 4, 1)).is_none());
        assert_eq!(month_of(&m, day(1970, 2, 1)), Some(&m[1]));
        // Born after the month's last day: age unknown.
        pe.birth = day(1970, 2, 15);
        let m = member_months(&pe, &c.period);
        assert_eq!((m[0].age, m[1].age), (None, Some(0)));
    }

    #[test]
    fn a_month_goes_to_the_health_home_of_its_last_covered_enrolled_day() {
        let c = ctx();
        let mut pe = adult();
        pe.health_homes = vec![
            HealthHomeSpan {
                id: "HH1".into(),
                start: day(1969, 1, 1),
                end: Some(day(1970, 3, 31)),
                program: "cmhc".into(),
            },
            HealthHomeSpan {
                id: "HH2".into(),
                start: day(1970, 3, 15),
                end: None,
                program: "cmhc".into(),
            },
        ];
        let m = member_months(&pe, &c.period);
        assert_eq!(m.len(), 12);
        assert_eq!(m[1].health_home_id.as_deref(), Some("HH1"));
        assert_eq!(
            m[2].health_home_id.as_deref(),
            Some("HH2"),
            "March: latest start on 03-31"
        );
        // Coverage ends 03-20: March's last covered enrolled day is 03-20, still HH2.
        pe.coverage = vec![(day(1969, 1, 1), day(1970, 3, 20))];
        pe.health_homes[1].start = day(1970, 3, 21);
        let m = member_months(&pe, &c.period);
        assert_eq!(m.len(), 3);
        assert_eq!(m[2].health_home_id.as_deref(), Some("HH1"));
        // Not enrolled at all: none.
        pe.health_homes.clear();
        assert_eq!(member_months(&pe, &c.period)[0].health_home_id, None);
    }

    #[test]
    fn a_tally_sums_months_into_one_count_per_rate_age_and_home() {
        let c = ctx();
        let pe = adult();
        let months = member_months(&pe, &c.period);
        let mut t = Tally::new("iu");
        for m in &months {
            t.month("a", m);
        }
        t.events("a", &months[3], 2);
        let v = t.into_counts();
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].events, v[0].months, v[0].age), (2, 12, Some(30)));
    }
}
