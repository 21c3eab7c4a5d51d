//! `aif`: admission to an institutional facility from the community (Health Home Core Set
//! **AIF-HH**, CMS), a rate measure (`docs/measures/aif.md`). No `care_gaps` rows: [`rates`]
//! gives each person's short-, medium- and long-term admissions with their community
//! enrollee months, by age and Health Home.
//!
//! Facility claims ([`crate::events::facility`]) are chained into stays, stays joined across a
//! hospital stay into episodes; an episode's first admission is an admission from the
//! community, banded by the episode's length.

use super::months::{covered_in, member_months, month_of, Month, Tally};
use super::{band, from_age, Context, Family, GapRow, Kind, Measure, RateCount};
use crate::events::{FacilityClaim, PersonEvents, Stay, Uses};

/// AIF-HH short-term admissions (stays of 1–20 days).
pub const SHORT: &str = "Short-Term Admissions";
/// AIF-HH medium-term admissions (21–100 days).
pub const MEDIUM: &str = "Medium-Term Admissions";
/// AIF-HH long-term admissions (101 days or more).
pub const LONG: &str = "Long-Term Admissions";
/// Every rate `aif` emits, in QMR order.
pub const RATES: [&str; 3] = [SHORT, MEDIUM, LONG];

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "aif",
    measures: &[Measure {
        id: "aif",
        name: "Admission to a facility from the community per 1,000 enrollee months",
        steward: "CMS",
        source: "CMS Health Home Core Set AIF-HH (QMR 2026 definition)",
        version: "aif-hh-2026",
        kind: Kind::Rate,
        lower_is_better: false,
        age_bands: &[band(18, 64), band(65, 74), band(75, 84), from_age(85)],
        spec: "docs/measures/aif.md",
        core_set: super::core_set("AIF-HH", SHORT),
    }],
    uses: Uses::NONE,
    // Read by the `facility_claim` event table; listed here so the registry shows it.
    value_sets: &["institutional_facility"],
    evaluate,
    rates,
};

/// A rate measure has no `care_gaps` rows.
fn evaluate(_: &PersonEvents, _: &Context) -> Vec<GapRow> {
    Vec::new()
}

/// A stay in an institutional facility: chained claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacilityStay {
    /// The earliest admission_date of the chain, else its first claim's start.
    pub admission: i32,
    /// The latest discharge_date of the chain, else its last claim's end.
    pub discharge: i32,
    /// The latest claim's end.
    pub end: i32,
    /// The latest claim's status is `30` (still a patient).
    pub open: bool,
    /// The first claim is an interim continuing or last bill (frequency 3 or 4) without an
    /// admission_date: the stay began before the data.
    pub admission_unknown: bool,
}

impl FacilityStay {
    /// Days counted: discharge − admission (an open stay: through its latest claim's end), at
    /// least 1 (aif.md step 3: the admission day counts, the discharge day does not).
    pub fn length(&self) -> i32 {
        let to = if self.open { self.end } else { self.discharge };
        (to - self.admission).max(1)
    }

    /// The days in the facility: admission … discharge − 1 (an open stay: through its latest
    /// claim's end), at least the admission day.
    pub fn days(&self) -> (i32, i32) {
        let to = if self.open {
            self.end
        } else {
            self.discharge - 1
        };
        (self.admission, to.max(self.admission))
    }
}

/// **Step 1, chaining** (aif.md "Building stays"): claims sorted by (start, end, claim_id); a
/// claim whose start is ≤ 1 day after the running maximum end joins the current stay (interim
/// bills, a move from one facility to another).
pub fn facility_stays(claims: &[FacilityClaim]) -> Vec<FacilityStay> {
    let mut sorted: Vec<&FacilityClaim> = claims.iter().collect();
    sorted.sort_by(|a, b| (a.start, a.end, &a.claim_id).cmp(&(b.start, b.end, &b.claim_id)));
    let mut chains: Vec<Vec<&FacilityClaim>> = Vec::new();
    let mut max_end = i32::MIN;
    for c in sorted {
        match chains.last_mut() {
            Some(ch) if c.start <= max_end.saturating_add(1) => {
                ch.push(c);
                max_end = max_end.max(c.end);
            }
            _ => {
                chains.push(vec![c]);
                max_end = c.end;
            }
        }
    }
    chains
        .into_iter()
        .filter_map(|ch| {
            let first = *ch.first()?;
            // The claim with the latest end (the last such in sort order).
            let last = *ch.iter().max_by_key(|c| c.end)?;
            let admission = ch
                .iter()
                .filter_map(|c| c.admission)
                .min()
                .unwrap_or(first.start);
            let discharge = ch
                .iter()
                .filter_map(|c| c.discharge)
                .max()
                .unwrap_or(last.end);
            Some(FacilityStay {
                admission,
                discharge,
                end: last.end,
                open: last.status.as_deref() == Some("30"),
                admission_unknown: matches!(first.freq, Some('3' | '4'))
                    && first.admission.is_none(),
            })
        })
        .collect()
}

/// An episode: facility stays joined across hospital stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// Its facility stays, in order.
    pub stays: Vec<FacilityStay>,
}

impl Episode {
    /// The admission from the community: the first stay's admission; none when it is unknown.
    pub fn admission(&self) -> Option<i32> {
        let s = self.stays.first()?;
        (!s.admission_unknown).then_some(s.admission)
    }

    /// L = Σ of its stays' lengths (hospital days between them are not counted).
    pub fn length(&self) -> i32 {
        self.stays.iter().map(FacilityStay::length).sum()
    }

    /// Its latest stay is still open.
    pub fn open(&self) -> bool {
        self.stays.last().is_some_and(|s| s.open)
    }

    /// The stay-length rate of its admission (aif.md "Measurement period and events"): short
    /// 1–20, medium 21–100, long ≥ 101; none while open and ≤ 100 days so far (unresolved).
    pub fn rate(&self) -> Option<&'static str> {
        let l = self.length();
        match l {
            _ if l >= 101 => Some(LONG),
            _ if self.open() => None,
            21..=100 => Some(MEDIUM),
            _ => Some(SHORT),
        }
    }
}

/// **Step 2, returns from hospital** (aif.md): a stay S2 continues the episode of the stay S1
/// before it when some merged acute stay is admitted on S1's admission … S1's discharge + 1 and
/// S2 is admitted on that acute stay's admission … discharge + 1.
pub fn episodes(stays: Vec<FacilityStay>, acute: &[Stay]) -> Vec<Episode> {
    let mut out: Vec<Episode> = Vec::new();
    for s2 in stays {
        let continues = out.last().and_then(|e| e.stays.last()).is_some_and(|s1| {
            acute.iter().any(|h| {
                h.admission >= s1.admission
                    && h.admission <= s1.discharge + 1
                    && s2.admission >= h.admission
                    && s2.admission <= h.discharge + 1
            })
        });
        match out.last_mut() {
            Some(e) if continues => e.stays.push(s2),
            _ => out.push(Episode { stays: vec![s2] }),
        }
    }
    out
}

/// **Community enrollee month** (aif.md "Population and enrollee months"): a member-month of
/// a person aged ≥ 18 on its last day with at least one covered day outside every facility
/// stay (hospital days are community days).
pub fn community_month(pe: &PersonEvents, m: &Month, eps: &[Episode]) -> bool {
    if m.age.is_none_or(|a| a < 18) {
        return false;
    }
    let mut facility: Vec<(i32, i32)> = eps
        .iter()
        .flat_map(|e| e.stays.iter().map(FacilityStay::days))
        .filter(|&(a, b)| b >= m.start && a <= m.end)
        .collect();
    facility.sort_unstable();
    covered_in(pe, m.start, m.end).into_iter().any(|(s, e)| {
        // Walk the facility intervals; a covered day left over is a community day.
        let mut next = s;
        for &(a, b) in &facility {
            if a > next {
                break;
            }
            next = next.max(b + 1);
        }
        next <= e
    })
}

/// Every rate of one person: each community enrollee month counts once in each of [`RATES`];
/// each admission from the community dated in the MP counts in the (age, Health Home) of its
/// month when that month is a member-month with age ≥ 18 and the person has a community
/// enrollee month; unresolved admissions count in no rate.
pub fn rates(pe: &PersonEvents, ctx: &Context) -> Vec<RateCount> {
    let months = member_months(pe, &ctx.period);
    if months.is_empty() {
        return Vec::new();
    }
    let eps = episodes(facility_stays(&pe.facility), &pe.stays);
    let community: Vec<&Month> = months
        .iter()
        .filter(|m| community_month(pe, m, &eps))
        .collect();
    if community.is_empty() {
        return Vec::new();
    }
    let mut t = Tally::new("aif");
    for m in community {
        for r in RATES {
            t.month(r, m);
        }
    }
    for e in &eps {
        let Some(a) = e.admission() else { continue };
        let Some(m) = month_of(&months, a) else {
            continue;
        };
        if m.age.is_none_or(|x| x < 18) {
            continue;
        }
        if let Some(r) = e.rate() {
            t.events(r, m, 1);
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

    fn claim(id: &str, start: i32, end: i32) -> FacilityClaim {
        FacilityClaim {
            claim_id: id.into(),
            start,
            end,
            admission: Some(start),
            discharge: Some(end),
            freq: Some('1'),
            status: Some("01".into()),
        }
    }

    /// An interim bill (frequency `f`) without dates of admission or discharge.
    fn interim(id: &str, start: i32, end: i32, f: char, status: &str) -> FacilityClaim {
        FacilityClaim {
            claim_id: id.into(),
            start,
            end,
            admission: None,
            discharge: None,
            freq: Some(f),
            status: Some(status.into()),
        }
    }

    /// A 70-year-old (born 1900-01-01) covered all of 1968–1972.
    fn elder() -> PersonEvents {
        let mut pe = adult();
        pe.birth = day(1900, 1, 1);
        pe
    }

    fn get(people: &[PersonEvents], rate: &'static str, b: &str) -> (i64, i64) {
        let c = ctx();
        let all: Vec<RateCount> = people.iter().flat_map(|p| rates(p, &c)).collect();
        sum_by_band(&all, FAMILY.measures[0].age_bands)
            .get(&(rate, b.to_string()))
            .copied()
            .unwrap_or_default()
    }

    fn one(c: FacilityClaim) -> PersonEvents {
        let mut pe = elder();
        pe.facility = vec![c];
        pe
    }

    #[test]
    fn stay_edges_20_21_100_101_days() {
        let a = day(1970, 3, 1);
        // 03-01 … 03-21: L = 20, short; 03-22: 21, medium.
        let pe = one(claim("A", a, day(1970, 3, 21)));
        assert_eq!(get(&[pe], SHORT, "65-74"), (1, 12));
        let pe = one(claim("A", a, day(1970, 3, 22)));
        assert_eq!(get(std::slice::from_ref(&pe), SHORT, "65-74"), (0, 12));
        assert_eq!(get(&[pe], MEDIUM, "65-74"), (1, 12));
        // 03-01 … 06-09: L = 100, medium; 06-10: 101, long.
        let pe = one(claim("A", a, day(1970, 6, 9)));
        assert_eq!(get(std::slice::from_ref(&pe), MEDIUM, "65-74"), (1, 9));
        assert_eq!(get(&[pe], LONG, "65-74"), (0, 9));
        let pe = one(claim("A", a, day(1970, 6, 10)));
        assert_eq!(get(std::slice::from_ref(&pe), MEDIUM, "65-74"), (0, 9));
        assert_eq!(get(&[pe], LONG, "65-74"), (1, 9));
        // A same-day stay is 1 day: short.
        let pe = one(claim("A", a, a));
        assert_eq!(get(&[pe], SHORT, "65-74"), (1, 12));
    }

    #[test]
    fn interim_bills_chain_into_one_stay() {
        // 212 03-01…03-31 (admitted 03-01), 213 04-01…04-30, 213 05-01…05-31, 214
        // 06-01…06-09 (discharged 06-09): one stay of 100 days; March–May wholly in the
        // facility, so 9 community months.
        let mut first = interim("1", day(1970, 3, 1), day(1970, 3, 31), '2', "30");
        first.admission = Some(day(1970, 3, 1));
        let mut last = interim("4", day(1970, 6, 1), day(1970, 6, 9), '4', "01");
        last.discharge = Some(day(1970, 6, 9));
        let mut pe = elder();
        pe.facility = vec![
            first,
            interim("2", day(1970, 4, 1), day(1970, 4, 30), '3', "30"),
            interim("3", day(1970, 5, 1), day(1970, 5, 31), '3', "30"),
            last.clone(),
        ];
        let stays = facility_stays(&pe.facility);
        assert_eq!(stays.len(), 1);
        assert_eq!(stays[0].length(), 100);
        assert_eq!(get(std::slice::from_ref(&pe), MEDIUM, "65-74"), (1, 9));
        // Discharged 06-10: 101 days, long.
        last.discharge = Some(day(1970, 6, 10));
        last.end = day(1970, 6, 10);
        pe.facility[3] = last;
        assert_eq!(get(&[pe], LONG, "65-74"), (1, 9));
    }

    #[test]
    fn claims_a_day_apart_chain_two_days_apart_do_not() {
        // Facility A 03-01…03-05, facility B from 03-06: one stay (L = 29, medium).
        let mut pe = elder();
        pe.facility = vec![
            claim("A", day(1970, 3, 1), day(1970, 3, 5)),
            claim("B", day(1970, 3, 6), day(1970, 3, 30)),
        ];
        assert_eq!(get(std::slice::from_ref(&pe), MEDIUM, "65-74"), (1, 12));
        // B 03-07…03-20: two short stays.
        pe.facility[1] = claim("B", day(1970, 3, 7), day(1970, 3, 20));
        assert_eq!(get(&[pe], SHORT, "65-74"), (2, 12));
    }

    #[test]
    fn a_hospital_stay_between_two_facility_stays_is_one_episode() {
        // NF 03-01…03-10, acute 03-10…03-15, NF 03-15…04-20: one admission, L = 9 + 36 = 45.
        let mut pe = elder();
        pe.facility = vec![
            claim("A", day(1970, 3, 1), day(1970, 3, 10)),
            claim("B", day(1970, 3, 15), day(1970, 4, 20)),
        ];
        pe.stays = vec![stay(day(1970, 3, 10), day(1970, 3, 15), 0)];
        let eps = episodes(facility_stays(&pe.facility), &pe.stays);
        assert_eq!(eps.len(), 1);
        assert_eq!(eps[0].length(), 45);
        assert_eq!(get(std::slice::from_ref(&pe), MEDIUM, "65-74"), (1, 12));
        assert_eq!(get(std::slice::from_ref(&pe), SHORT, "65-74"), (0, 12));
        // Back in the facility two days after the hospital discharge: a second admission.
        pe.facility[1] = claim("B", day(1970, 3, 17), day(1970, 4, 20));
        assert_eq!(episodes(facility_stays(&pe.facility), &pe.stays).len(), 2);
        assert_eq!(get(std::slice::from_ref(&pe), SHORT, "65-74"), (1, 12));
        assert_eq!(get(std::slice::from_ref(&pe), MEDIUM, "65-74"), (1, 12));
        // Hospital admitted two days after the facility discharge: no continuation.
        pe.facility[1] = claim("B", day(1970, 3, 15), day(1970, 4, 20));
        pe.stays = vec![stay(day(1970, 3, 12), day(1970, 3, 15), 0)];
        assert_eq!(episodes(facility_stays(&pe.facility), &pe.stays).len(), 2);
        // Two stays with only a home stretch between them: two admissions.
        let mut pe = elder();
        pe.facility = vec![
            claim("A", day(1970, 5, 1), day(1970, 5, 10)),
            claim("B", day(1970, 7, 1), day(1970, 7, 5)),
        ];
        assert_eq!(get(&[pe], SHORT, "65-74"), (2, 12));
    }

    #[test]
    fn open_stays_are_unresolved_until_101_days() {
        // Admitted 12-01, one claim to 12-31 with status 30: unresolved, in no rate; December
        // is wholly in the facility.
        let mut c = claim("A", day(1970, 12, 1), day(1970, 12, 31));
        c.discharge = None;
        c.status = Some("30".into());
        let pe = one(c.clone());
        for r in RATES {
            assert_eq!(get(std::slice::from_ref(&pe), r, "65-74"), (0, 11));
        }
        // Open since 09-01 through 12-31: 121 days already, long.
        c.start = day(1970, 9, 1);
        c.admission = Some(c.start);
        assert_eq!(get(&[one(c)], LONG, "65-74"), (1, 8));
    }

    #[test]
    fn an_admission_before_the_period_or_unknown_is_no_admission() {
        // Admitted 1969-10-01, monthly claims to 1970-12-31, still a patient: no community
        // month, so not in the population.
        let mut pe = elder();
        let mut first = interim("0", day(1969, 10, 1), day(1969, 12, 31), '2', "30");
        first.admission = Some(day(1969, 10, 1));
        pe.facility = vec![
            first,
            interim("1", day(1970, 1, 1), day(1970, 12, 31), '3', "30"),
        ];
        assert!(rates(&pe, &ctx()).is_empty());
        // The first claim is a 213 without admission_date: admission unknown.
        let mut pe = elder();
        pe.facility = vec![interim("1", day(1970, 1, 1), day(1970, 6, 30), '3', "01")];
        let s = facility_stays(&pe.facility);
        assert!(s[0].admission_unknown);
        for r in RATES {
            assert_eq!(get(std::slice::from_ref(&pe), r, "65-74").0, 0);
        }
        // A 211 without admission_date: admitted on its start (L = 180; June 30 is the
        // first community day).
        pe.facility[0].freq = Some('1');
        assert_eq!(get(&[pe], LONG, "65-74"), (1, 7));
    }

    #[test]
    fn age_and_membership_of_the_admission_month() {
        // 17 on 03-31, 18 from 04-30: March's admission does not count; April–December are
        // community months of band 18-64.
        let mut pe = one(claim("A", day(1970, 3, 10), day(1970, 3, 20)));
        pe.birth = day(1952, 4, 15);
        assert_eq!(get(std::slice::from_ref(&pe), SHORT, "18-64"), (0, 9));
        // Turns 18 on 03-31 (the month's last day): it counts.
        pe.birth = day(1952, 3, 31);
        assert_eq!(get(&[pe], SHORT, "18-64"), (1, 10));
        // Turns 75 on 06-15; admitted 06-20: 75-84 (June's band).
        let mut pe = one(claim("A", day(1970, 6, 20), day(1970, 6, 25)));
        pe.birth = day(1895, 6, 15);
        assert_eq!(get(std::slice::from_ref(&pe), SHORT, "65-74"), (0, 5));
        assert_eq!(get(&[pe], SHORT, "75-84"), (1, 7));
        // 85 and older.
        let mut pe = one(claim("A", day(1970, 6, 20), day(1970, 6, 25)));
        pe.birth = day(1885, 1, 1);
        assert_eq!(get(&[pe], SHORT, "85+"), (1, 12));
        // Covered January–June only; admitted 08-01: August is not a member-month.
        let mut pe = one(claim("A", day(1970, 8, 1), day(1970, 8, 5)));
        pe.coverage = vec![(day(1970, 1, 1), day(1970, 6, 30))];
        assert_eq!(get(&[pe], SHORT, "65-74"), (0, 6));
    }

    #[test]
    fn an_admission_in_a_month_wholly_in_the_facility_counts() {
        // Admitted 04-01, discharged 05-01: April has no community day but the admission
        // counts in April's key (months 0 there, 11 in total).
        let pe = one(claim("A", day(1970, 4, 1), day(1970, 5, 1)));
        assert_eq!(get(&[pe], MEDIUM, "65-74"), (1, 11));
    }

    #[test]
    fn run_out_claims_band_a_december_admission() {
        // Admitted 12-20, discharged 1971-01-15: L = 26, medium.
        let pe = one(claim("A", day(1970, 12, 20), day(1971, 1, 15)));
        assert_eq!(get(&[pe], MEDIUM, "65-74"), (1, 12));
    }

    #[test]
    fn health_home_of_the_admission_month() {
        let c = ctx();
        let mut pe = one(claim("A", day(1970, 3, 1), day(1970, 3, 21)));
        pe.health_homes = vec![HealthHomeSpan {
            id: "HH1".into(),
            start: day(1969, 1, 1),
            end: None,
            program: "cmhc".into(),
        }];
        let v = rates(&pe, &c);
        assert_eq!(v.len(), 3, "one count per rate for a whole year");
        let short = v
            .iter()
            .find(|r| r.rate == SHORT)
            .map(|r| (r.health_home_id.as_deref(), r.events, r.months));
        assert_eq!(short, Some((Some("HH1"), 1, 12)));
    }
}
