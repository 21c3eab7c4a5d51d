//! `iu`: inpatient utilization (Health Home Core Set **IU-HH**, CMS), a rate measure
//! (`docs/measures/iu.md`). No `care_gaps` rows: [`rates`] gives each person's discharges and
//! days, total and mental/behavioral, with their enrollee months, by age and Health Home.
//! The average length of stay is days ÷ discharges of the same row (derived by `core_set`).

use super::months::{member_months, month_of, Tally};
use super::{band, from_age, Context, Family, GapRow, Kind, Measure, RateCount};
use crate::events::{PersonEvents, Stay, Uses};

/// IU-HH "Inpatient" discharges (the QMR category × its Discharges field).
pub const INPATIENT_DISCHARGES: &str = "Inpatient: Discharges";
/// IU-HH "Inpatient" days.
pub const INPATIENT_DAYS: &str = "Inpatient: Days";
/// IU-HH "Mental and Behavioral Disorders" discharges.
pub const MB_DISCHARGES: &str = "Mental and Behavioral Disorders: Discharges";
/// IU-HH "Mental and Behavioral Disorders" days.
pub const MB_DAYS: &str = "Mental and Behavioral Disorders: Days";
/// Every rate `iu` emits, in QMR order.
pub const RATES: [&str; 4] = [INPATIENT_DISCHARGES, INPATIENT_DAYS, MB_DISCHARGES, MB_DAYS];

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "iu",
    measures: &[Measure {
        id: "iu",
        name: "Inpatient utilization: discharges and days per 1,000 enrollee months",
        steward: "CMS",
        source: "CMS Health Home Core Set IU-HH (QMR 2026 definition)",
        version: "iu-hh-2026",
        kind: Kind::Rate,
        lower_is_better: false,
        age_bands: &[band(0, 17), band(18, 64), from_age(65)],
        spec: "docs/measures/iu.md",
        core_set: super::core_set("IU-HH", INPATIENT_DISCHARGES),
    }],
    uses: Uses {
        principal_dx: &["mental_behavioral"],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates,
};

/// A rate measure has no `care_gaps` rows.
fn evaluate(_: &PersonEvents, _: &Context) -> Vec<GapRow> {
    Vec::new()
}

/// **Events** (iu.md "Measurement period and events"): every merged acute stay (§1) whose
/// discharge date is in the MP. The discharge counts only in a member-month (iu.md
/// "Population and enrollee months"); its days are the §1 length (discharge − admission, at
/// least 1), all of them even when admitted before the MP.
pub fn discharges<'a>(
    pe: &'a PersonEvents,
    ctx: &'a Context,
) -> impl Iterator<Item = &'a Stay> + 'a {
    pe.stays
        .iter()
        .filter(move |s| s.discharge >= ctx.period.start && s.discharge <= ctx.period.end)
}

/// **Category** (iu.md "Categories"): a discharge is mental/behavioral when its principal
/// diagnosis (that of the stay's latest component) is in `mental_behavioral` (ICD-10-CM
/// chapter 5).
pub fn mental_behavioral(stay: &Stay, ctx: &Context) -> bool {
    stay.principal & ctx.needs.principal("mental_behavioral") != 0
}

/// Every rate of one person: each member-month counts once in each of [`RATES`]; each
/// discharge counts in the (age, Health Home) of its discharge month.
pub fn rates(pe: &PersonEvents, ctx: &Context) -> Vec<RateCount> {
    let months = member_months(pe, &ctx.period);
    if months.is_empty() {
        return Vec::new();
    }
    let mut t = Tally::new("iu");
    for m in &months {
        for r in RATES {
            t.month(r, m);
        }
    }
    for s in discharges(pe, ctx) {
        let Some(m) = month_of(&months, s.discharge) else {
            continue;
        };
        let days = i64::from(s.length());
        t.events(INPATIENT_DISCHARGES, m, 1);
        t.events(INPATIENT_DAYS, m, days);
        if mental_behavioral(s, ctx) {
            t.events(MB_DISCHARGES, m, 1);
            t.events(MB_DAYS, m, days);
        }
    }
    t.into_counts()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::HealthHomeSpan;
    use crate::measures::months::sum_by_band;
    use crate::measures::testing::*;

    fn mb() -> u64 {
        principal("mental_behavioral")
    }

    /// The persons' counts summed by (rate, band).
    fn summed(
        people: &[PersonEvents],
    ) -> std::collections::BTreeMap<(&'static str, String), (i64, i64)> {
        let c = ctx();
        let all: Vec<RateCount> = people.iter().flat_map(|p| rates(p, &c)).collect();
        sum_by_band(&all, FAMILY.measures[0].age_bands)
    }

    fn get(people: &[PersonEvents], rate: &'static str, b: &str) -> (i64, i64) {
        summed(people)
            .get(&(rate, b.to_string()))
            .copied()
            .unwrap_or_default()
    }

    #[test]
    fn a_discharge_counts_with_its_days_and_category() {
        let mut pe = adult();
        pe.stays = vec![stay(day(1970, 3, 1), day(1970, 3, 5), 0)];
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "18-64"),
            (1, 12)
        );
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DAYS, "18-64"),
            (4, 12)
        );
        assert_eq!(
            get(std::slice::from_ref(&pe), MB_DISCHARGES, "18-64"),
            (0, 12)
        );
        // Same-day stay: 1 day; principal F code: mental/behavioral too.
        pe.stays = vec![stay(day(1970, 3, 1), day(1970, 3, 1), mb())];
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DAYS, "18-64"),
            (1, 12)
        );
        assert_eq!(
            get(std::slice::from_ref(&pe), MB_DISCHARGES, "18-64"),
            (1, 12)
        );
        assert_eq!(get(&[pe], MB_DAYS, "18-64"), (1, 12));
    }

    #[test]
    fn the_discharge_date_decides_the_period_day_by_day() {
        let mut pe = adult();
        // Admitted before the MP, discharged on its first day: counts with all its days.
        pe.stays = vec![stay(day(1969, 12, 28), day(1970, 1, 1), 0)];
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DAYS, "18-64"),
            (4, 12)
        );
        // Discharged on the MP's last day counts; the day after does not.
        pe.stays = vec![stay(day(1970, 12, 29), day(1970, 12, 31), 0)];
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "18-64"),
            (1, 12)
        );
        pe.stays = vec![stay(day(1970, 12, 29), day(1971, 1, 1), 0)];
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "18-64"),
            (0, 12)
        );
        // Discharged the day before the MP: not counted.
        pe.stays = vec![stay(day(1969, 12, 28), day(1969, 12, 31), 0)];
        assert_eq!(get(&[pe], INPATIENT_DISCHARGES, "18-64"), (0, 12));
    }

    #[test]
    fn a_discharge_outside_member_months_is_not_counted() {
        let mut pe = adult();
        pe.coverage = vec![(day(1970, 1, 1), day(1970, 6, 30))];
        pe.stays = vec![stay(day(1970, 7, 30), day(1970, 8, 4), 0)];
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "18-64"),
            (0, 6)
        );
        // Covered on the discharge month's first day only: the month is a member-month.
        pe.coverage = vec![(day(1970, 1, 1), day(1970, 8, 1))];
        assert_eq!(get(&[pe], INPATIENT_DISCHARGES, "18-64"), (1, 8));
    }

    #[test]
    fn age_on_the_month_end_bands_months_and_discharges() {
        let mut pe = adult();
        // Turns 65 on 1970-07-15: January–June 18-64, July–December 65+; a discharge on
        // 07-12 (before the birthday) is July's, so 65+.
        pe.birth = day(1905, 7, 15);
        pe.stays = vec![stay(day(1970, 7, 10), day(1970, 7, 12), 0)];
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "18-64"),
            (0, 6)
        );
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "65+"),
            (1, 6)
        );
        // Turns 65 on 07-31 (the month's last day): July is 65+; on 08-01: July is 18-64.
        pe.birth = day(1905, 7, 31);
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "65+"),
            (1, 6)
        );
        pe.birth = day(1905, 8, 1);
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "18-64"),
            (1, 7)
        );
        // Child: 0-17; 17 turning 18 on a month's first day bands that month 18-64.
        pe.birth = day(1960, 1, 1);
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "0-17"),
            (1, 12)
        );
        pe.birth = day(1952, 7, 1);
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "0-17"),
            (0, 6)
        );
        assert_eq!(
            get(std::slice::from_ref(&pe), INPATIENT_DISCHARGES, "18-64"),
            (1, 6)
        );
        // Born after the month's end: unknown.
        pe.birth = day(1970, 7, 1);
        assert_eq!(get(&[pe], INPATIENT_DISCHARGES, "unknown"), (0, 6));
    }

    #[test]
    fn months_and_discharges_go_to_the_month_s_health_home() {
        let c = ctx();
        let mut pe = adult();
        pe.health_homes = vec![
            HealthHomeSpan {
                id: "HH1".into(),
                start: day(1970, 1, 1),
                end: Some(day(1970, 6, 30)),
                program: "cmhc".into(),
            },
            HealthHomeSpan {
                id: "HH2".into(),
                start: day(1970, 7, 10),
                end: None,
                program: "cmhc".into(),
            },
        ];
        pe.stays = vec![stay(day(1970, 7, 18), day(1970, 7, 20), 0)];
        let v: Vec<RateCount> = rates(&pe, &c)
            .into_iter()
            .filter(|r| r.rate == INPATIENT_DISCHARGES)
            .collect();
        let by = |hh: &str| {
            v.iter()
                .find(|r| r.health_home_id.as_deref() == Some(hh))
                .map(|r| (r.events, r.months))
        };
        assert_eq!(by("HH1"), Some((0, 6)));
        assert_eq!(by("HH2"), Some((1, 6)));
        assert_eq!(v.len(), 2, "one count per Health Home, not one per month");
        // Four rates × two homes: eight counts for a whole year.
        assert_eq!(rates(&pe, &c).len(), 8);
    }

    #[test]
    fn a_person_without_member_months_has_no_counts() {
        let c = ctx();
        let mut pe = adult();
        pe.coverage = vec![(day(1971, 1, 1), day(1971, 12, 31))];
        pe.stays = vec![stay(day(1970, 3, 1), day(1970, 3, 5), 0)];
        assert!(rates(&pe, &c).is_empty());
    }

    #[test]
    fn summing_over_several_persons() {
        let mut a = adult();
        a.stays = vec![
            stay(day(1970, 3, 1), day(1970, 3, 5), mb()),
            stay(day(1970, 5, 1), day(1970, 5, 3), 0),
        ];
        let mut b = adult();
        b.birth = day(1960, 1, 1);
        b.stays = vec![stay(day(1970, 2, 1), day(1970, 2, 3), 0)];
        let c = adult();
        let people = [a, b, c];
        assert_eq!(get(&people, INPATIENT_DISCHARGES, "18-64"), (2, 24));
        assert_eq!(get(&people, INPATIENT_DAYS, "18-64"), (6, 24));
        assert_eq!(get(&people, MB_DAYS, "18-64"), (4, 24));
        assert_eq!(get(&people, INPATIENT_DAYS, "0-17"), (2, 12));
    }
}
