//! The **Health Home Core Set** as a state reports it (docs/core-set.md): per program, measure,
//! rate, CMS age band and stratum, the counts behind each rate — summed from the `care_gaps`
//! rows of the measures that report a Core Set rate ([`Measure::core_set`]) and from the
//! [`RateCount`]s of the rate measures.
//!
//! **Who counts.** Health Home enrollees only: a care-gap row counts when it is attributed to
//! a Health Home (§4, on its index date), in the program of that home's span
//! ([`PersonEvents::program_of_home`]); a rate count when it names a Health Home. Rows without
//! a Health Home are in `measure_summary`, never here.
//!
//! **Cells.** Each row counts once in its age band (CMS's bands for the measure, by age on the
//! index date; a rate count's own age) and once in `total`, each crossed with the four
//! stratifications: `none` (stratum `all`), `race_ethnicity`, `sex` and `geography`
//! ([`crate::strata`]). Every person is in exactly one stratum of each kind, so the strata of
//! a stratification sum to its `none` row, and the bands of a measure whose bands cover every
//! age sum to `total` (tests below and `tests/it/core_set.rs`).
//!
//! **Counts** are integers, so partials of person buckets add up exactly ([`merge`]).

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use rayon::prelude::*;

use crate::events::PersonEvents;
use crate::measures::{self, AgeBand, GapRow, Kind, Measure, RateCount, Status};
use crate::strata::{GEOGRAPHY, RACE_ETHNICITY, SEX};

/// The 2026 Health Home Core Set (CMS QMR `measureList2026.ts`, as summarised in
/// `shared/research/anchors-2026.md` §1): code, name, steward.
pub const CORE_SET_2026: &[(&str, &str, &str)] = &[
    (
        "AIF-HH",
        "Admission to a Facility from the Community",
        "CMS",
    ),
    ("CBP-HH", "Controlling High Blood Pressure", "NCQA"),
    (
        "CDF-HH",
        "Screening for Depression and Follow-Up Plan",
        "CMS",
    ),
    ("COL-HH", "Colorectal Cancer Screening", "NCQA"),
    (
        "FUA-HH",
        "Follow-Up After Emergency Department Visit for Substance Use",
        "NCQA",
    ),
    (
        "FUH-HH",
        "Follow-Up After Hospitalization for Mental Illness",
        "NCQA",
    ),
    (
        "FUM-HH",
        "Follow-Up After Emergency Department Visit for Mental Illness",
        "NCQA",
    ),
    (
        "IET-HH",
        "Initiation and Engagement of Substance Use Disorder Treatment",
        "NCQA",
    ),
    ("IU-HH", "Inpatient Utilization", "CMS"),
    (
        "OUD-HH",
        "Use of Pharmacotherapy for Opioid Use Disorder",
        "SAMHSA",
    ),
    ("PCR-HH", "Plan All-Cause Readmissions", "NCQA"),
];

/// The stratifications, in report order, with their categories (`none` has one: `all`).
pub const STRATIFICATIONS: &[(&str, &[&str])] = &[
    ("none", &["all"]),
    ("race_ethnicity", RACE_ETHNICITY),
    ("sex", SEX),
    ("geography", GEOGRAPHY),
];

/// The Core Set measures the input cannot answer, with why: AIF-HH when the input holds no
/// institutional facility claim (`facility_claims`, summed over every bucket) — zero
/// admissions would then mean no data, not no admissions (docs/measures/aif.md, story 18).
pub fn not_computed(facility_claims: u64) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    if facility_claims == 0 {
        v.push((
            "AIF-HH",
            "the input has no institutional facility claim (nursing facility, swing bed, ICF), so admissions cannot be counted",
        ));
    }
    v
}

/// The band every row also counts in.
pub const TOTAL: &str = "total";
/// The band of a rate count without an age.
pub const UNKNOWN_AGE: &str = "unknown";

/// One cell's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CoreKey {
    /// The program (`program_id`, else `health_home_type`, else `unspecified`).
    pub program: String,
    /// The CMS measure code.
    pub measure: String,
    /// The rate label.
    pub rate: String,
    /// The age band label (`18-64`, `65+`, `total`, `unknown`).
    pub age_band: String,
    /// `none`, `race_ethnicity`, `sex` or `geography`.
    pub stratum_type: String,
    /// The stratum (`all` for `none`).
    pub stratum: String,
}

/// One cell's counts: the mergeable partial.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    /// Rows in the numerator (closed; open for an inverse measure).
    pub numerator: u64,
    /// Rows in the denominator (open + closed).
    pub denominator: u64,
    /// Excluded rows.
    pub excluded: u64,
    /// Open rows whose look-back the input does not reach ([`GapRow::history_short`]).
    pub history_short: u64,
    /// Rate measures: events.
    pub events: i64,
    /// Rate measures: enrollee months.
    pub months: i64,
}

impl Cell {
    fn add(&mut self, o: &Cell) {
        self.numerator += o.numerator;
        self.denominator += o.denominator;
        self.excluded += o.excluded;
        self.history_short += o.history_short;
        self.events += o.events;
        self.months += o.months;
    }
}

/// Every cell, by key.
pub type CoreSetCounts = BTreeMap<CoreKey, Cell>;

/// Add `other` into `into` (partials of disjoint persons).
pub fn merge(into: &mut CoreSetCounts, other: &CoreSetCounts) {
    for (k, c) in other {
        into.entry(k.clone()).or_default().add(c);
    }
}

/// A band's label: `18-64`, `65+`.
pub fn band_label(b: &AgeBand) -> String {
    match b.max {
        Some(m) => format!("{}-{m}", b.min),
        None => format!("{}+", b.min),
    }
}

/// The Core Set facts of one measure, with its band labels.
struct Info {
    measure: &'static Measure,
    bands: Vec<(AgeBand, String)>,
}

impl Info {
    fn band(&self, age: Option<i32>) -> Option<&str> {
        let Some(a) = age else {
            return Some(UNKNOWN_AGE);
        };
        self.bands
            .iter()
            .find(|(b, _)| a >= b.min && b.max.is_none_or(|m| a <= m))
            .map(|(_, l)| l.as_str())
    }
}

fn infos() -> HashMap<&'static str, Info> {
    measures::all()
        .filter(|m| m.core_set.is_some())
        .map(|m| {
            (
                m.id,
                Info {
                    measure: m,
                    bands: m.age_bands.iter().map(|b| (*b, band_label(b))).collect(),
                },
            )
        })
        .collect()
}

/// Whether `measure` is a total the Core Set sums from cohort measures
/// ([`measures::iet::CORE_SET_TOTALS`]).
fn summed_total(measure: &str) -> bool {
    measures::iet::CORE_SET_TOTALS
        .iter()
        .any(|(t, _)| *t == measure)
}

/// The Core Set rate of the total a cohort measure also counts in.
fn total_of(measure: &str) -> Option<measures::CoreSet> {
    measures::iet::CORE_SET_TOTALS
        .iter()
        .find(|(_, cohorts)| cohorts.contains(&measure))
        .and_then(|(t, _)| measures::find(t))
        .and_then(|m| m.core_set)
}

type Key<'a> = (
    &'a str,
    &'static str,
    &'a str,
    &'a str,
    &'static str,
    &'static str,
);

fn count_into<'a>(
    m: &mut HashMap<Key<'a>, Cell>,
    pe: &'a PersonEvents,
    head: (&'a str, &'static str, &'a str),
    band: Option<&'a str>,
    cell: Cell,
) {
    let st = &pe.strata;
    for b in band.into_iter().chain([TOTAL]) {
        for (t, s) in [
            ("none", "all"),
            ("race_ethnicity", st.race_ethnicity),
            ("sex", st.sex),
            ("geography", st.geography),
        ] {
            m.entry((head.0, head.1, head.2, b, t, s))
                .or_default()
                .add(&cell);
        }
    }
}

/// The cells of every person's rows (`rows[i]` and `rates[i]` are `people[i]`'s) of the
/// measures in `in_force`. Parallel over persons; the result does not depend on the threads.
pub fn core_set_counts(
    people: &[PersonEvents],
    rows: &[Vec<GapRow>],
    rates: &[Vec<RateCount>],
    in_force: &[&str],
) -> CoreSetCounts {
    let infos = infos();
    let infos = &infos;
    let keep = |id: &str| in_force.contains(&id);
    let cells: HashMap<Key, Cell> = people
        .par_iter()
        .zip(rows.par_iter())
        .zip(rates.par_iter())
        .fold(HashMap::new, |mut m, ((pe, rs), rc)| {
            for r in rs {
                let (Some(info), Some(hh)) = (infos.get(r.measure), &r.health_home_id) else {
                    continue;
                };
                // A total QMR sums from its cohorts is counted from them (below).
                if !keep(r.measure) || summed_total(r.measure) {
                    continue;
                }
                let Some(program) = pe.program_of_home(hh, r.index_date) else {
                    continue;
                };
                let cs = info.measure.core_set.expect("filtered");
                let mut c = Cell::default();
                match r.status {
                    Status::Excluded => c.excluded = 1,
                    s => {
                        c.denominator = 1;
                        let num = if info.measure.lower_is_better {
                            s == Status::Open
                        } else {
                            s == Status::Closed
                        };
                        c.numerator = u64::from(num);
                        c.history_short = u64::from(s == Status::Open && r.history_short);
                    }
                }
                let band = info.band(Some(pe.age_on(r.index_date)));
                count_into(&mut m, pe, (program, cs.code, cs.rate), band, c);
                if let Some(total) = total_of(r.measure) {
                    count_into(&mut m, pe, (program, total.code, total.rate), band, c);
                }
            }
            for r in rc {
                let (Some(info), Some(hh)) = (infos.get(r.measure), &r.health_home_id) else {
                    continue;
                };
                if !keep(r.measure) {
                    continue;
                }
                let Some(program) = pe.program_of_home(hh, i32::MIN) else {
                    continue;
                };
                let cs = info.measure.core_set.expect("filtered");
                let c = Cell {
                    events: r.events,
                    months: r.months,
                    ..Cell::default()
                };
                count_into(&mut m, pe, (program, cs.code, r.rate), info.band(r.age), c);
            }
            m
        })
        .reduce(HashMap::new, |mut a, b| {
            for (k, c) in b {
                a.entry(k).or_default().add(&c);
            }
            a
        });
    cells
        .into_iter()
        .map(|((p, code, rate, band, t, s), c)| {
            (
                CoreKey {
                    program: p.to_string(),
                    measure: code.to_string(),
                    rate: rate.to_string(),
                    age_band: band.to_string(),
                    stratum_type: t.to_string(),
                    stratum: s.to_string(),
                },
                c,
            )
        })
        .collect()
}

/// Whether the Core Set measure `code` is counted as a rate per enrollee months.
fn is_rate_measure(code: &str) -> bool {
    measures::all().any(|m| m.kind == Kind::Rate && m.core_set.is_some_and(|c| c.code == code))
}

/// The band labels of Core Set measure `code`, in CMS's order, then `total`.
pub fn bands_of(code: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for m in measures::all().filter(|m| m.core_set.is_some_and(|c| c.code == code)) {
        for b in m.age_bands {
            let l = band_label(b);
            if !v.contains(&l) {
                v.push(l);
            }
        }
        // A rate measure of every age has an `unknown` band (IU-HH); one of adults only does
        // not (AIF-HH: age is known for every enrollee counted).
        if m.kind == Kind::Rate
            && m.age_bands.first().is_some_and(|b| b.min == 0)
            && !v.iter().any(|b| b == UNKNOWN_AGE)
        {
            v.push(UNKNOWN_AGE.into());
        }
    }
    v.push(TOTAL.into());
    v
}

/// Complete the counts: every band of every measure × rate a program has rows in, and every
/// category of every stratification, gets a cell (zero when nobody is in it), so that a
/// reader sees an empty cell as zero rather than as missing.
pub fn complete(counts: &CoreSetCounts) -> CoreSetCounts {
    let mut out = counts.clone();
    let heads: std::collections::BTreeSet<(String, String, String)> = counts
        .keys()
        .map(|k| (k.program.clone(), k.measure.clone(), k.rate.clone()))
        .collect();
    for (p, m, r) in heads {
        for band in bands_of(&m) {
            for (t, cats) in STRATIFICATIONS {
                for s in *cats {
                    out.entry(CoreKey {
                        program: p.clone(),
                        measure: m.clone(),
                        rate: r.clone(),
                        age_band: band.clone(),
                        stratum_type: t.to_string(),
                        stratum: s.to_string(),
                    })
                    .or_default();
                }
            }
        }
    }
    out
}

/// Rows derived from two rates of a rate measure: (code, rate, numerator rate, denominator
/// rate) — IU-HH's average length of stay, days ÷ discharges (QMR's "Average Length of Stay").
pub const DERIVED: &[(&str, &str, &str, &str)] = &[
    (
        "IU-HH",
        "Inpatient: Average Length of Stay",
        measures::iu::INPATIENT_DAYS,
        measures::iu::INPATIENT_DISCHARGES,
    ),
    (
        "IU-HH",
        "Mental and Behavioral Disorders: Average Length of Stay",
        measures::iu::MB_DAYS,
        measures::iu::MB_DISCHARGES,
    ),
];

/// PCR-HH's O/E ratio row: observed ÷ expected readmissions, per cell (only with a risk-weight
/// table, `--pcr-risk-weights`).
pub const PCR_OE: &str = "O/E ratio";
/// A count of events (PCR-HH's index stays).
pub const COUNT: &str = "count";
/// An expected count (PCR-HH's expected readmissions: Σ p, exact to a millionth).
pub const EXPECTED_COUNT: &str = "expected count";
/// A ratio (PCR-HH's O/E).
pub const RATIO: &str = "ratio";
/// Per 1,000 enrollees (PCR-HH's outliers).
pub const PER_1000_ENROLLEES: &str = "per 1,000 enrollees";

/// Days per discharge (a [`DERIVED`] row).
pub const DAYS_PER_DISCHARGE: &str = "days per discharge";

/// Per 1,000 enrollee months.
pub const PER_1000_MONTHS: &str = "per 1,000 enrollee months";
/// A proportion of the denominator.
pub const PROPORTION: &str = "proportion";

/// `core_set` (without the public-report flags, which `caregap-report` adds), sorted by key:
/// program, measure, rate, age_band, stratum_type, stratum; numerator, denominator, excluded
/// and history_short for proportion measures, events and enrollee_months for rate measures
/// (null where they do not apply); value (the rate; null when its denominator is 0); unit;
/// lower_is_better.
pub fn core_set_frame(counts: &CoreSetCounts) -> PolarsResult<DataFrame> {
    let all = complete(counts);
    let lib: HashMap<&str, bool> = measures::all()
        .filter_map(|m| m.core_set.map(|c| (c.code, m.lower_is_better)))
        .collect();
    let n = all.len();
    let mut s: [Vec<&str>; 6] = Default::default();
    let (mut num, mut den, mut exc, mut hs, mut ev, mut mo) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut value, mut unit, mut low) = (vec![], vec![], vec![]);
    // Derived rows (ALOS): numerator = the days' events, denominator = the discharges'.
    let mut derived: CoreSetCounts = BTreeMap::new();
    for (code, rate, num_rate, den_rate) in DERIVED {
        for (k, c) in all
            .iter()
            .filter(|(k, _)| k.measure == *code && k.rate == *num_rate)
        {
            let den = all
                .get(&CoreKey {
                    rate: den_rate.to_string(),
                    ..k.clone()
                })
                .map_or(0, |d| d.events);
            derived.insert(
                CoreKey {
                    rate: rate.to_string(),
                    ..k.clone()
                },
                Cell {
                    numerator: c.events.max(0) as u64,
                    denominator: den.max(0) as u64,
                    ..Cell::default()
                },
            );
        }
    }
    // PCR-HH's O/E: numerator = observed readmissions, events = expected (millionths),
    // denominator = index stays, of the same cell.
    let observed_rate = measures::find(measures::pcr_hh::ID).and_then(|m| m.core_set);
    if let Some(obs) = observed_rate {
        for (k, c) in all
            .iter()
            .filter(|(k, _)| k.measure == obs.code && k.rate == measures::pcr_hh::RATE_EXPECTED)
        {
            let other = |rate: &str| {
                all.get(&CoreKey {
                    rate: rate.to_string(),
                    ..k.clone()
                })
                .copied()
                .unwrap_or_default()
            };
            let o = other(obs.rate);
            derived.insert(
                CoreKey {
                    rate: PCR_OE.to_string(),
                    ..k.clone()
                },
                Cell {
                    numerator: o.numerator,
                    denominator: o.denominator,
                    events: c.events,
                    ..Cell::default()
                },
            );
        }
    }
    let index_stays = |k: &CoreKey| {
        all.get(&CoreKey {
            rate: measures::pcr_hh::RATE_INDEX_STAYS.to_string(),
            ..k.clone()
        })
        .map_or(0, |c| c.events)
    };
    let pcr_kind = |k: &CoreKey| -> Option<&'static str> {
        use measures::pcr_hh as ph;
        if observed_rate.is_none_or(|o| o.code != k.measure) {
            return None;
        }
        match k.rate.as_str() {
            r if r == ph::RATE_INDEX_STAYS
                || r == ph::RATE_INDEX_STAYS_OBSERVATION
                || r == ph::RATE_PLANNED_EXCLUDED =>
            {
                Some(COUNT)
            }
            r if r == ph::RATE_OUTLIERS => Some(PER_1000_ENROLLEES),
            r if r == ph::RATE_EXPECTED => Some(EXPECTED_COUNT),
            PCR_OE => Some(RATIO),
            _ => None,
        }
    };
    let pcr_kinds: Vec<(CoreKey, &'static str, i64)> = all
        .keys()
        .chain(derived.keys())
        .filter_map(|k| pcr_kind(k).map(|u| (k.clone(), u, index_stays(k))))
        .collect();
    let pcr_kinds: HashMap<CoreKey, (&'static str, i64)> =
        pcr_kinds.into_iter().map(|(k, u, n)| (k, (u, n))).collect();
    let is_derived = |k: &CoreKey| DERIVED.iter().any(|d| d.0 == k.measure && d.1 == k.rate);
    let all: CoreSetCounts = all.into_iter().chain(derived).collect();
    for (k, c) in &all {
        for (v, x) in s.iter_mut().zip([
            &k.program,
            &k.measure,
            &k.rate,
            &k.age_band,
            &k.stratum_type,
            &k.stratum,
        ]) {
            v.push(x.as_str());
        }
        if let Some((u, stays)) = pcr_kinds.get(k) {
            let (n, d, e, v) = match *u {
                COUNT => (None, None, Some(c.events), Some(c.events as f64)),
                PER_1000_ENROLLEES => (
                    Some(c.events),
                    Some(c.months),
                    None,
                    (c.months > 0).then(|| c.events as f64 * 1000.0 / c.months as f64),
                ),
                EXPECTED_COUNT => (None, Some(*stays), None, Some(c.events as f64 / 1e6)),
                _ => (
                    Some(c.numerator as i64),
                    Some(c.denominator as i64),
                    None,
                    (c.events > 0).then(|| c.numerator as f64 * 1e6 / c.events as f64),
                ),
            };
            num.push(n);
            den.push(d);
            exc.push(None);
            hs.push(None);
            ev.push(e);
            mo.push(None);
            value.push(v);
            unit.push(*u);
        } else if is_derived(k) {
            num.push(Some(c.numerator as i64));
            den.push(Some(c.denominator as i64));
            exc.push(None);
            hs.push(None);
            ev.push(None);
            mo.push(None);
            value.push((c.denominator > 0).then(|| c.numerator as f64 / c.denominator as f64));
            unit.push(DAYS_PER_DISCHARGE);
        } else if is_rate_measure(&k.measure) {
            num.push(None);
            den.push(None);
            exc.push(None);
            hs.push(None);
            ev.push(Some(c.events));
            mo.push(Some(c.months));
            value.push((c.months > 0).then(|| c.events as f64 * 1000.0 / c.months as f64));
            unit.push(PER_1000_MONTHS);
        } else {
            num.push(Some(c.numerator as i64));
            den.push(Some(c.denominator as i64));
            exc.push(Some(c.excluded as i64));
            hs.push(Some(c.history_short as i64));
            ev.push(None);
            mo.push(None);
            value.push((c.denominator > 0).then(|| c.numerator as f64 / c.denominator as f64));
            unit.push(PROPORTION);
        }
        low.push(lib.get(k.measure.as_str()).copied().unwrap_or(false));
    }
    let [program, measure, rate, band, st, stratum] = s;
    DataFrame::new_infer_height(vec![
        Column::new("program".into(), program),
        Column::new("measure".into(), measure),
        Column::new("rate".into(), rate),
        Column::new("age_band".into(), band),
        Column::new("stratum_type".into(), st),
        Column::new("stratum".into(), stratum),
        Column::new("numerator".into(), num),
        Column::new("denominator".into(), den),
        Column::new("excluded".into(), exc),
        Column::new("history_short".into(), hs),
        Column::new("events".into(), ev),
        Column::new("enrollee_months".into(), mo),
        Column::new("value".into(), value),
        Column::new("unit".into(), unit),
        Column::new("lower_is_better".into(), low),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::HealthHomeSpan;
    use crate::measures::testing::*;
    use crate::measures::{GapRow, Outcome};
    use crate::strata::Strata;

    fn enrollee(id: &str, program: &str, strata: Strata) -> PersonEvents {
        let mut pe = adult();
        pe.person_id = id.into();
        pe.health_homes = vec![HealthHomeSpan {
            id: format!("HH-{program}"),
            start: day(1969, 1, 1),
            end: None,
            program: program.into(),
        }];
        pe.strata = strata;
        pe
    }

    fn row(measure: &'static str, date: i32, o: Outcome, hh: &str) -> GapRow {
        let mut r = GapRow::new(measure, date, date + 7, vec![], o);
        r.health_home_id = Some(hh.into());
        r
    }

    fn get<'a>(
        c: &'a CoreSetCounts,
        p: &str,
        rate: &str,
        band: &str,
        t: &str,
        s: &str,
    ) -> &'a Cell {
        c.get(&CoreKey {
            program: p.into(),
            measure: "FUH-HH".into(),
            rate: rate.into(),
            age_band: band.into(),
            stratum_type: t.into(),
            stratum: s.into(),
        })
        .unwrap_or_else(|| panic!("no cell {p} {rate} {band} {t} {s}"))
    }

    #[test]
    fn rows_count_by_program_band_and_stratum_and_strata_sum_to_the_total() {
        let a = enrollee(
            "A",
            "cmhc",
            Strata {
                race_ethnicity: "White",
                sex: "female",
                geography: "rural",
            },
        );
        let mut b = enrollee("B", "cmhc", Strata::default());
        b.birth = day(1960, 1, 1); // 10 on 1970-03-01: band 6-17
        let c = enrollee("C", "pchh", Strata::default());
        let closed = || Outcome::Closed {
            date: 70,
            evidence: vec![],
        };
        let open = || Outcome::Open { evidence: None };
        let people = vec![a, b, c];
        let rows = vec![
            vec![
                row("fuh_7", 60, closed(), "HH-cmhc"),
                row("fuh_30", 60, closed(), "HH-cmhc"),
                row("fuh_7", 200, Outcome::Excluded("x"), "HH-cmhc"),
            ],
            vec![row("fuh_7", 60, open(), "HH-cmhc")],
            vec![
                row("fuh_7", 60, open(), "HH-pchh"),
                // Not attributed: not in the Core Set.
                GapRow::new("fuh_7", 90, 97, vec![], closed()),
            ],
        ];
        let rates = vec![vec![], vec![], vec![]];
        let counts = core_set_counts(&people, &rows, &rates, &measures::ids());
        let t = get(&counts, "cmhc", "7-day", TOTAL, "none", "all");
        assert_eq!((t.numerator, t.denominator, t.excluded), (1, 2, 1));
        assert_eq!(
            get(&counts, "cmhc", "7-day", "6-17", "none", "all").denominator,
            1
        );
        assert_eq!(
            get(&counts, "cmhc", "7-day", "18-64", "none", "all").numerator,
            1
        );
        assert_eq!(
            get(&counts, "pchh", "7-day", TOTAL, "none", "all").denominator,
            1
        );
        assert_eq!(
            get(&counts, "cmhc", "30-day", TOTAL, "none", "all").numerator,
            1
        );
        // Every stratification sums to its total, in every band.
        let all = complete(&counts);
        for (k, c) in &all {
            if k.stratum_type == "none" {
                for (t, cats) in &STRATIFICATIONS[1..] {
                    let mut sum = Cell::default();
                    for s in *cats {
                        sum.add(
                            &all[&CoreKey {
                                stratum_type: t.to_string(),
                                stratum: s.to_string(),
                                ..k.clone()
                            }],
                        );
                    }
                    assert_eq!(&sum, c, "{k:?} by {t}");
                }
            }
        }
        assert_eq!(
            get(&all, "cmhc", "7-day", "65+", "sex", "male").denominator,
            0
        );
        // Threads do not change the result.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(
            one.install(|| core_set_counts(&people, &rows, &rates, &measures::ids())),
            counts
        );
        // A measure not in force is not counted.
        assert!(core_set_counts(&people, &rows, &rates, &["fuh_30"])
            .keys()
            .all(|k| k.rate == "30-day"));
    }

    #[test]
    fn iet_totals_are_the_sum_of_the_cohorts_as_qmr_computes_them() {
        // One episode with alcohol and opioid diagnoses: once in iet_init, once per cohort.
        let a = enrollee("A", "cmhc", Strata::default());
        let closed = || Outcome::Closed {
            date: 70,
            evidence: vec![],
        };
        let rows = vec![vec![
            row("iet_init", 60, closed(), "HH-cmhc"),
            row("iet_init_alcohol", 60, closed(), "HH-cmhc"),
            row("iet_init_opioid", 60, closed(), "HH-cmhc"),
        ]];
        let counts = core_set_counts(&[a], &rows, &[vec![]], &measures::ids());
        let cell = |rate: &str| {
            counts[&CoreKey {
                program: "cmhc".into(),
                measure: "IET-HH".into(),
                rate: rate.into(),
                age_band: TOTAL.into(),
                stratum_type: "none".into(),
                stratum: "all".into(),
            }]
        };
        let total = cell("Initiation of SUD Treatment: Total");
        assert_eq!((total.numerator, total.denominator), (2, 2));
        let alcohol = cell("Initiation of SUD Treatment: Alcohol Use Disorder");
        assert_eq!((alcohol.numerator, alcohol.denominator), (1, 1));
    }

    #[test]
    fn bands_are_labelled_as_cms_writes_them() {
        assert_eq!(band_label(&crate::measures::band(18, 64)), "18-64");
        assert_eq!(band_label(&crate::measures::from_age(65)), "65+");
        assert_eq!(bands_of("FUH-HH"), ["6-17", "18-64", "65+", "total"]);
    }

    #[test]
    fn the_frame_has_a_value_per_cell() {
        let mut c = CoreSetCounts::new();
        c.insert(
            CoreKey {
                program: "cmhc".into(),
                measure: "FUH-HH".into(),
                rate: "7-day".into(),
                age_band: TOTAL.into(),
                stratum_type: "none".into(),
                stratum: "all".into(),
            },
            Cell {
                numerator: 1,
                denominator: 4,
                ..Cell::default()
            },
        );
        let df = core_set_frame(&c).unwrap();
        // 4 bands × (1 + 9 + 3 + 3) strata.
        assert_eq!(df.height(), 4 * 16);
        let v = df
            .clone()
            .lazy()
            .filter(
                col("age_band")
                    .eq(lit("total"))
                    .and(col("stratum").eq(lit("all"))),
            )
            .collect()
            .unwrap();
        assert_eq!(v.column("value").unwrap().f64().unwrap().get(0), Some(0.25));
    }
}
