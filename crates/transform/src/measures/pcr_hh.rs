//! `pcr_hh`: plan all-cause readmissions as the Health Home Core Set defines them (PCR-HH;
//! docs/measures/pcr.md). Inverse: `open` (readmitted) is the numerator. v1.3's `pcr_30`
//! ([`super::pcr`]) stays as it is; this measure adds observation stays (as index stays and
//! readmissions), planned readmissions (the public CMS Planned Readmission Algorithm v4.0),
//! outliers (four or more index stays) and expected readmissions from a user's risk-weight
//! table ([`RiskTable`]).
//!
//! `due_date` = D+30; `index_evidence` = the stay's claims; an `open` row's closing evidence is
//! the first unplanned readmission's claims; a `closed` row has no closing date.

use std::sync::Arc;

use super::{band, reason, Context, Family, GapRow, Kind, Measure, Outcome, RateCount};
use crate::error::TransformError;
use crate::events::{PcrStay, PersonEvents, Uses};

/// The measure id.
pub const ID: &str = "pcr_hh";
/// Index stays a person may have before all of them are outliers (spec "Exclusions" 3).
pub const OUTLIER_MIN_STAYS: usize = 4;

/// [`RateCount::rate`] of the denominator: `events` = index stays (open + closed rows).
pub const RATE_INDEX_STAYS: &str = "Count of index stays";
/// [`RateCount::rate`]: `events` = index stays that are observation stays.
pub const RATE_INDEX_STAYS_OBSERVATION: &str = "Index stays: observation";
/// [`RateCount::rate`]: `events` = `closed` index stays with an admission on D+1 … D+30 (all
/// of them planned readmissions).
pub const RATE_PLANNED_EXCLUDED: &str = "Planned readmissions excluded";
/// [`RateCount::rate`] of the outliers: `events` = 1 for an outlier, `months` = 1 for an
/// enrollee (not months: outliers per 1,000 enrollees = 1000 × Σevents ÷ Σmonths).
pub const RATE_OUTLIERS: &str = "Outliers";
/// [`RateCount::rate`] of the expected readmissions: `events` = Σ p over the index stays, in
/// millionths (E = Σevents ÷ 1,000,000); only when a risk-weight table is given.
pub const RATE_EXPECTED: &str = "Expected readmissions";

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "pcr_hh",
    measures: &[Measure {
        id: ID,
        name: "All-cause readmissions within 30 days (Core Set PCR-HH), lower is better",
        steward: "NCQA",
        source: "NCQA HEDIS PCR (Health Home Core Set PCR-HH); planned readmissions by the CMS Planned Readmission Algorithm v4.0",
        version: "pcr-hh-2026",
        kind: Kind::Episode,
        lower_is_better: true,
        age_bands: &[band(18, 64)],
        spec: "docs/measures/pcr.md",
        core_set: super::core_set("PCR-HH", "Observed readmissions"),
    }],
    uses: Uses {
        principal_dx: &["planned_always_diagnosis", "acute_diagnosis"],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates,
};

/// **Eligible population** (pcr.md "Index stays", "Eligible population"): every PCR hospital
/// stay (acute or observation) discharged on D in MP start … MP end − 31 days, age 18–64 on D,
/// covered every day D−365 … D+30.
pub fn eligible_population<'a>(
    pe: &'a PersonEvents,
    ctx: &'a Context,
) -> impl Iterator<Item = &'a PcrStay> + 'a {
    pe.pcr_stays.iter().filter(move |s| {
        let d = s.discharge;
        ctx.period.episode_index(d)
            && (18..=64).contains(&pe.age_on(d))
            && pe.covered_every_day(d - 365, d + 30)
    })
}

/// **Exclusion 2** (pcr.md "Exclusions"; hospice, 1, is applied for every measure): the stay
/// ended in death (`death during stay`).
pub fn death_exclusion(stay: &PcrStay) -> Option<&'static str> {
    stay.death.then_some(reason::DEATH)
}

/// **Exclusion 3** (pcr.md "Exclusions"): a person with [`OUTLIER_MIN_STAYS`] or more eligible
/// index stays not excluded for death is an outlier; all those rows are `outlier`.
pub fn is_outlier(stays_not_dead: usize) -> bool {
    stays_not_dead >= OUTLIER_MIN_STAYS
}

/// **Planned** (pcr.md "Planned readmission", CMS Planned Readmission Algorithm v4.0): PR1 a
/// procedure in `planned_always_procedure`; PR2 a principal diagnosis in
/// `planned_always_diagnosis`; PR3 + PR4 a procedure in `planned_potential_procedure` and a
/// principal diagnosis not in `acute_diagnosis`.
pub fn planned(stay: &PcrStay, ctx: &Context) -> bool {
    let always_dx = stay.principal & ctx.needs.principal("planned_always_diagnosis") != 0;
    let acute_dx = stay.principal & ctx.needs.principal("acute_diagnosis") != 0;
    stay.pcs_always || always_dx || (stay.pcs_potential && !acute_dx)
}

/// **Numerator** (pcr.md "Numerator", `open`): the first unplanned PCR hospital stay admitted
/// on D+1 … D+30.
pub fn numerator<'a>(pe: &'a PersonEvents, d: i32, ctx: &Context) -> Option<&'a PcrStay> {
    pe.pcr_stays
        .iter()
        .find(|s| (d + 1..=d + 30).contains(&s.admission) && !planned(s, ctx))
}

/// Every eligible stay with its outcome, in stay order (before the hospice pass).
fn outcomes<'a>(pe: &'a PersonEvents, ctx: &'a Context) -> Vec<(&'a PcrStay, Outcome)> {
    let stays: Vec<&PcrStay> = eligible_population(pe, ctx).collect();
    let alive = stays
        .iter()
        .filter(|s| death_exclusion(s).is_none())
        .count();
    let outlier = is_outlier(alive);
    stays
        .into_iter()
        .map(|stay| {
            let o = match death_exclusion(stay) {
                Some(r) => Outcome::Excluded(r),
                None if outlier => Outcome::Excluded(reason::OUTLIER),
                None => match numerator(pe, stay.discharge, ctx) {
                    Some(re) => Outcome::Open {
                        evidence: Some(re.claim_ids.clone()),
                    },
                    None => Outcome::ClosedWithoutEvidence,
                },
            };
            (stay, o)
        })
        .collect()
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    outcomes(pe, ctx)
        .into_iter()
        .map(|(stay, o)| {
            let d = stay.discharge;
            GapRow::new(ID, d, d + 30, stay.claim_ids.clone(), o)
        })
        .collect()
}

/// **Rates** (pcr.md "Rates reported"): one person's index stays, outlier and enrollee counts
/// and expected readmissions, as [`RateCount`]s ([`RATE_INDEX_STAYS`],
/// [`RATE_INDEX_STAYS_OBSERVATION`], [`RATE_PLANNED_EXCLUDED`], [`RATE_OUTLIERS`],
/// [`RATE_EXPECTED`]). A person with hospice in the MP counts in none of them.
pub fn rates(pe: &PersonEvents, ctx: &Context) -> Vec<RateCount> {
    if pe.hospice {
        return Vec::new();
    }
    let mut out: Vec<RateCount> = Vec::new();
    let mut add =
        |rate: &'static str, age: i32, hh: Option<String>, events: i64, months: i64| match out
            .iter_mut()
            .find(|r| r.rate == rate && r.age == Some(age) && r.health_home_id == hh)
        {
            Some(r) => {
                r.events += events;
                r.months += months;
            }
            None => out.push(RateCount {
                measure: ID,
                rate,
                age: Some(age),
                health_home_id: hh,
                events,
                months,
            }),
        };
    let rows = outcomes(pe, ctx);
    let outlier = rows
        .iter()
        .any(|(_, o)| *o == Outcome::Excluded(reason::OUTLIER));
    for (stay, o) in &rows {
        if matches!(o, Outcome::Excluded(_)) {
            continue;
        }
        let d = stay.discharge;
        let (age, hh) = (pe.age_on(d), pe.health_home_on(d));
        add(RATE_INDEX_STAYS, age, hh.clone(), 1, 0);
        if stay.observation {
            add(RATE_INDEX_STAYS_OBSERVATION, age, hh.clone(), 1, 0);
        }
        let readmitted = pe
            .pcr_stays
            .iter()
            .any(|s| (d + 1..=d + 30).contains(&s.admission));
        if *o == Outcome::ClosedWithoutEvidence && readmitted {
            add(RATE_PLANNED_EXCLUDED, age, hh.clone(), 1, 0);
        }
        if let Some(t) = &ctx.pcr_risk {
            add(RATE_EXPECTED, age, hh, t.millionths(pe, stay), 0);
        }
    }
    let end = ctx.period.end;
    let age = pe.age_on(end);
    let enrollee = (18..=64).contains(&age) && pe.mp_enrolled(ctx.period.start, end);
    if outlier || enrollee {
        add(
            RATE_OUTLIERS,
            age,
            pe.health_home_on(end),
            outlier as i64,
            enrollee as i64,
        );
    }
    out
}

/// The sex of a risk-weight `age_sex` term: eligibility gender `female` / `f`, `male` / `m`,
/// anything else or none `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sex {
    Female,
    Male,
    Unknown,
}

impl Sex {
    fn of(gender: Option<&str>) -> Sex {
        match gender.map(str::trim) {
            Some("female" | "f") => Sex::Female,
            Some("male" | "m") => Sex::Male,
            _ => Sex::Unknown,
        }
    }

    fn parse(s: &str) -> Option<Sex> {
        match s.trim().to_ascii_lowercase().as_str() {
            "female" => Some(Sex::Female),
            "male" => Some(Sex::Male),
            "unknown" => Some(Sex::Unknown),
            _ => None,
        }
    }
}

/// One term of a [`RiskTable`].
#[derive(Debug, Clone, PartialEq)]
enum Factor {
    Base,
    Age(i32, i32),
    AgeSex(Sex, i32, i32),
    Observation,
    Los(i32, i32),
    PrincipalDx(String),
    /// Label `i` of [`RiskTable::comorbidities`].
    Comorbidity(usize),
}

/// A user-supplied risk-weight table (pcr.md "Expected readmissions"): a logistic model whose
/// terms are read from a CSV `factor,value,weight`. For an index stay, x = Σ weights of the
/// rows that fire and p = 1 / (1 + e^(−x)); each stay adds round(p × 1,000,000) to the
/// expected readmissions in millionths, so sums are exact integers that merge across buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskTable {
    rows: Vec<(Factor, f64)>,
    /// Comorbidity labels and their ICD-10-CM prefixes, in file order (bit `i` = label `i`).
    comorbidities: Vec<(String, Vec<String>)>,
}

/// The most comorbidity labels a table may have (bits of an `i64`).
pub const MAX_COMORBIDITIES: usize = 63;

impl RiskTable {
    /// Read a table from the bytes of `file` (named in errors, with its row and column).
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Arc<RiskTable>, TransformError> {
        let bad = |row: usize, column: &str, message: String| TransformError::RiskTable {
            file: file.to_string(),
            row,
            column: column.to_string(),
            message,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| bad(0, "", "the file is not UTF-8 text".into()))?;
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap_or("")
            .split(',')
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        if header != ["factor", "value", "weight"] {
            return Err(bad(
                0,
                "",
                "the header must be `factor,value,weight`".into(),
            ));
        }
        let range = |row: usize, v: &str| -> Result<(i32, i32), TransformError> {
            let parse = || {
                let (a, b) = v.split_once('-')?;
                let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                (a <= b).then_some((a, b))
            };
            parse().ok_or_else(|| bad(row, "value", format!("`{v}` is not a range `MIN-MAX`")))
        };
        let mut rows: Vec<(Factor, f64)> = Vec::new();
        let mut comorbidities: Vec<(String, Vec<String>)> = Vec::new();
        for (i, line) in lines.enumerate() {
            let row = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 3 {
                return Err(bad(row, "", format!("{} fields, expected 3", f.len())));
            }
            let weight: f64 = f[2]
                .parse()
                .ok()
                .filter(|w: &f64| w.is_finite())
                .ok_or_else(|| bad(row, "weight", format!("`{}` is not a number", f[2])))?;
            let factor = match f[0].to_ascii_lowercase().as_str() {
                "base" => Factor::Base,
                "age" => {
                    let (a, b) = range(row, f[1])?;
                    Factor::Age(a, b)
                }
                "age_sex" => {
                    let (sex, ages) = f[1].split_once(':').unwrap_or(("", ""));
                    let sex = Sex::parse(sex).ok_or_else(|| {
                        bad(
                            row,
                            "value",
                            format!("`{}` is not `SEX:MIN-MAX` (female, male, unknown)", f[1]),
                        )
                    })?;
                    let (a, b) = range(row, ages)?;
                    Factor::AgeSex(sex, a, b)
                }
                "observation" => Factor::Observation,
                "los" => {
                    let (a, b) = range(row, f[1])?;
                    Factor::Los(a, b)
                }
                "comorbidity" => {
                    let (label, prefix) = f[1]
                        .split_once(':')
                        .map(|(l, p)| (l.trim(), p))
                        .filter(|(l, _)| !l.is_empty())
                        .ok_or_else(|| {
                            bad(row, "value", format!("`{}` is not `LABEL:PREFIX`", f[1]))
                        })?;
                    let code = crate::value_sets::normalise_code("icd-10-cm", prefix)
                        .ok_or_else(|| bad(row, "value", "an ICD-10-CM prefix is needed".into()))?;
                    if let Some(i) = comorbidities.iter().position(|(l, _)| l == label) {
                        let same = rows
                            .iter()
                            .any(|(g, w)| *g == Factor::Comorbidity(i) && *w == weight);
                        if !same {
                            return Err(bad(
                                row,
                                "weight",
                                format!(
                                    "comorbidity `{label}` has another weight on an earlier row"
                                ),
                            ));
                        }
                        if !comorbidities[i].1.contains(&code) {
                            comorbidities[i].1.push(code);
                        }
                        continue;
                    }
                    if comorbidities.len() == MAX_COMORBIDITIES {
                        return Err(bad(
                            row,
                            "value",
                            format!("more than {MAX_COMORBIDITIES} comorbidity labels"),
                        ));
                    }
                    comorbidities.push((label.to_string(), vec![code]));
                    Factor::Comorbidity(comorbidities.len() - 1)
                }
                "principal_dx" => {
                    let code = crate::value_sets::normalise_code("icd-10-cm", f[1])
                        .ok_or_else(|| bad(row, "value", "an ICD-10-CM prefix is needed".into()))?;
                    Factor::PrincipalDx(code)
                }
                other => {
                    return Err(bad(
                        row,
                        "factor",
                        format!(
                            "unknown factor `{other}` (base, age, observation, los, principal_dx)"
                        ),
                    ))
                }
            };
            let overlaps = rows.iter().any(|(g, _)| match (g, &factor) {
                (Factor::Base, Factor::Base) | (Factor::Observation, Factor::Observation) => true,
                (Factor::Age(a, b), Factor::Age(c, d)) | (Factor::Los(a, b), Factor::Los(c, d)) => {
                    a <= d && c <= b
                }
                (Factor::AgeSex(s, a, b), Factor::AgeSex(t, c, d)) => s == t && a <= d && c <= b,
                (Factor::PrincipalDx(a), Factor::PrincipalDx(b)) => a == b,
                _ => false,
            });
            if overlaps {
                return Err(bad(
                    row,
                    "value",
                    format!("`{}` repeats or overlaps an earlier `{}` row", f[1], f[0]),
                ));
            }
            rows.push((factor, weight));
        }
        if !rows.iter().any(|(f, _)| *f == Factor::Base) {
            return Err(bad(0, "factor", "no `base` row (the intercept)".into()));
        }
        Ok(Arc::new(RiskTable {
            rows,
            comorbidities,
        }))
    }

    /// Whether the table has comorbidity terms (then [`load_comorbidities`] must run).
    pub fn has_comorbidities(&self) -> bool {
        !self.comorbidities.is_empty()
    }

    /// x: the sum of the weights of the rows that fire for `stay` of `pe`.
    pub fn log_odds(&self, pe: &PersonEvents, stay: &PcrStay) -> f64 {
        let d = stay.discharge;
        let age = pe.age_on(d);
        let los = stay.length();
        let comorbid = pe
            .pcr_comorbidities
            .iter()
            .filter(|(day, _)| (d - 365..=d).contains(day))
            .fold(0i64, |a, (_, bits)| a | bits);
        self.rows
            .iter()
            .filter(|(f, _)| match f {
                Factor::Base => true,
                Factor::Age(a, b) => (*a..=*b).contains(&age),
                Factor::AgeSex(s, a, b) => {
                    *s == Sex::of(pe.gender.as_deref()) && (*a..=*b).contains(&age)
                }
                Factor::Observation => stay.observation,
                Factor::Los(a, b) => (*a..=*b).contains(&los),
                Factor::PrincipalDx(p) => stay
                    .principal_code
                    .as_deref()
                    .is_some_and(|c| c.starts_with(p.as_str())),
                Factor::Comorbidity(i) => comorbid & (1 << i) != 0,
            })
            .map(|(_, w)| w)
            .sum()
    }

    /// p = 1 / (1 + e^(−x)) in millionths, rounded to the nearest.
    pub fn millionths(&self, pe: &PersonEvents, stay: &PcrStay) -> i64 {
        let p = 1.0 / (1.0 + (-self.log_odds(pe, stay)).exp());
        (p * 1_000_000.0).round() as i64
    }
}

/// Fill [`PersonEvents::pcr_comorbidities`] of the persons with a PCR stay: the comorbidity
/// labels of `table` (bit `i` = label `i`) of each service date in MP start − 365 … MP end − 31,
/// from any ICD-10-CM diagnosis position of any medical claim line (pcr.md "Expected
/// readmissions"). Matched vectorised; nothing is read when the table has no such terms.
/// `people` must be sorted by person_id (as [`crate::events::build_person_events`] makes them).
pub fn load_comorbidities(
    input: &caregap_ingest::InputLayer,
    table: &RiskTable,
    period: &super::Period,
    people: &mut [PersonEvents],
) -> polars::prelude::PolarsResult<()> {
    use polars::prelude::*;
    if table.comorbidities.is_empty() {
        return Ok(());
    }
    let columns = crate::claims::diagnosis_columns_in_use(input);
    let from = crate::params::date_lit(crate::params::from_epoch_days(period.start - 365));
    let to = crate::params::date_lit(crate::params::from_epoch_days(period.end - 31));
    let label = |prefixes: &[String]| {
        let mut by_len: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
        for p in prefixes {
            by_len.entry(p.len()).or_default().push(p.clone());
        }
        by_len
            .into_iter()
            .map(|(n, ps)| crate::params::in_list(col("code").str().head(lit(n as i64)), &ps))
            .reduce(|a, b| a.or(b))
            .unwrap_or(lit(false))
            .fill_null(lit(false))
    };
    let names: Vec<String> = (0..table.comorbidities.len())
        .map(|i| format!("cm_{i}"))
        .collect();
    let long = crate::claims::diagnosis_long(input.lazy("medical_claim"), &columns)?
        .filter(
            col("system")
                .eq(lit("icd-10-cm"))
                .and(col("service_date").gt_eq(from))
                .and(col("service_date").lt_eq(to)),
        )
        .with_columns(
            table
                .comorbidities
                .iter()
                .zip(&names)
                .map(|((_, ps), n)| label(ps).alias(n.as_str()))
                .collect::<Vec<_>>(),
        )
        .group_by([col("person_id"), col("service_date")])
        .agg(
            names
                .iter()
                .map(|n| col(n.as_str()).any(false))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    let r = crate::events::Rows { df: &long };
    let ids = r.str("person_id")?;
    let dates = r.date("service_date")?;
    let mut bits = vec![0i64; long.height()];
    for (i, n) in names.iter().enumerate() {
        for (b, on) in bits.iter_mut().zip(r.bool(n)?) {
            if on {
                *b |= 1 << i;
            }
        }
    }
    for ((id, d), b) in ids.into_iter().zip(dates).zip(bits) {
        let (Some(id), Some(d)) = (id, d) else {
            continue;
        };
        if b == 0 {
            continue;
        }
        if let Ok(k) = people.binary_search_by(|p| p.person_id.as_str().cmp(id.as_str())) {
            if !people[k].pcr_stays.is_empty() {
                people[k].pcr_comorbidities.push((d, b));
            }
        }
    }
    for pe in people.iter_mut() {
        pe.pcr_comorbidities.sort_unstable();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;

    fn st(adm: i32, dis: i32) -> PcrStay {
        PcrStay {
            admission: adm,
            discharge: dis,
            claim_ids: vec![format!("S{dis}")],
            ..Default::default()
        }
    }

    fn obs(adm: i32, dis: i32) -> PcrStay {
        PcrStay {
            observation: true,
            claim_ids: vec![format!("O{dis}")],
            ..st(adm, dis)
        }
    }

    fn statuses(pe: &PersonEvents) -> Vec<(i32, Outcome)> {
        let c = ctx();
        outcomes(pe, &c)
            .into_iter()
            .map(|(s, o)| (s.discharge, o))
            .collect()
    }

    #[test]
    fn eligible_needs_a_year_of_coverage_before_and_age_18_to_64() {
        let c = ctx();
        let mut pe = adult();
        pe.pcr_stays = vec![obs(90, 100)];
        pe.coverage = vec![(100 - 365, 130)];
        assert_eq!(eligible_population(&pe, &c).count(), 1);
        pe.coverage = vec![(100 - 364, 130)];
        assert_eq!(eligible_population(&pe, &c).count(), 0, "D−365 not covered");
        pe.coverage = vec![(100 - 365, 129)];
        assert_eq!(eligible_population(&pe, &c).count(), 0, "D+30 not covered");
        let mut old = adult();
        old.pcr_stays = vec![st(90, 100)];
        old.birth = day(1905, 4, 11); // 65 on D
        assert_eq!(eligible_population(&old, &c).count(), 0);
        old.birth = day(1905, 4, 12); // 64 on D
        assert_eq!(eligible_population(&old, &c).count(), 1);
    }

    #[test]
    fn index_window_ends_on_mp_end_minus_31_days() {
        let c = ctx();
        let mut pe = adult();
        pe.pcr_stays = vec![obs(330, 333), st(334, 334)];
        let d: Vec<i32> = eligible_population(&pe, &c).map(|s| s.discharge).collect();
        assert_eq!(d, [333], "364 − 31 = 333 is in, 334 is not");
    }

    #[test]
    fn readmission_on_day_30_counts_day_31_does_not_and_day_0_is_no_readmission() {
        let c = ctx();
        let mut pe = adult();
        pe.pcr_stays = vec![st(90, 100), obs(130, 131)];
        assert_eq!(numerator(&pe, 100, &c).map(|s| s.admission), Some(130));
        pe.pcr_stays = vec![st(90, 100), st(131, 132)];
        assert_eq!(numerator(&pe, 100, &c), None);
        pe.pcr_stays = vec![st(90, 100), st(100, 101)];
        assert_eq!(numerator(&pe, 100, &c), None);
        pe.pcr_stays = vec![st(90, 100), st(101, 102)];
        assert_eq!(numerator(&pe, 100, &c).map(|s| s.admission), Some(101));
    }

    #[test]
    fn an_observation_stay_is_an_index_and_a_readmission() {
        let mut pe = adult();
        pe.pcr_stays = vec![obs(90, 91), obs(100, 101)];
        let s = statuses(&pe);
        assert_eq!(
            s[0].1,
            Outcome::Open {
                evidence: Some(vec!["O101".into()])
            }
        );
        assert_eq!(s[1].1, Outcome::ClosedWithoutEvidence);
    }

    #[test]
    fn planned_readmissions_by_each_rule_do_not_count_and_the_next_unplanned_does() {
        let c = ctx();
        let pr2 = principal("planned_always_diagnosis");
        let acute = principal("acute_diagnosis");
        let mut pe = adult();
        let mut p1 = st(110, 111);
        p1.pcs_always = true;
        pe.pcr_stays = vec![st(90, 100), p1.clone()];
        assert_eq!(numerator(&pe, 100, &c), None, "PR1");
        let mut p2 = st(110, 111);
        p2.principal = pr2;
        pe.pcr_stays = vec![st(90, 100), p2.clone(), st(125, 126)];
        assert_eq!(
            numerator(&pe, 100, &c).map(|s| s.admission),
            Some(125),
            "PR2 skipped, the later unplanned stay counts"
        );
        let mut p3 = st(110, 111);
        p3.pcs_potential = true;
        pe.pcr_stays = vec![st(90, 100), p3.clone()];
        assert_eq!(numerator(&pe, 100, &c), None, "PR3, not acute");
        p3.principal = acute;
        pe.pcr_stays = vec![st(90, 100), p3];
        assert!(
            numerator(&pe, 100, &c).is_some(),
            "PR3 with an acute dx (PR4)"
        );
        assert!(planned(&p1, &c) && planned(&p2, &c));
        assert!(!planned(&st(1, 2), &c));
    }

    #[test]
    fn four_index_stays_make_an_outlier_three_do_not_and_death_comes_first() {
        let mut pe = adult();
        pe.pcr_stays = vec![st(10, 12), st(60, 62), st(120, 122)];
        assert!(statuses(&pe)
            .iter()
            .all(|(_, o)| *o == Outcome::ClosedWithoutEvidence));
        pe.pcr_stays.push(st(200, 202));
        assert!(statuses(&pe)
            .iter()
            .all(|(_, o)| *o == Outcome::Excluded(reason::OUTLIER)));
        let mut dead = st(300, 302);
        dead.death = true;
        pe.pcr_stays = vec![st(10, 12), st(60, 62), st(120, 122), dead.clone()];
        let s = statuses(&pe);
        assert_eq!(s[3].1, Outcome::Excluded(reason::DEATH));
        assert!(s[..3]
            .iter()
            .all(|(_, o)| *o == Outcome::ClosedWithoutEvidence));
        pe.pcr_stays = vec![st(10, 12), st(60, 62), st(120, 122), st(200, 202), dead];
        let s = statuses(&pe);
        assert_eq!(s[4].1, Outcome::Excluded(reason::DEATH));
        assert!(s[..4]
            .iter()
            .all(|(_, o)| *o == Outcome::Excluded(reason::OUTLIER)));
    }

    #[test]
    fn rates_count_index_stays_outliers_enrollees_and_expected() {
        let mut c = ctx();
        let mut pe = adult();
        pe.pcr_stays = vec![st(10, 12), obs(60, 61)];
        let r = rates(&pe, &c);
        let get = |r: &[RateCount], rate| {
            r.iter()
                .filter(|x| x.rate == rate)
                .map(|x| (x.events, x.months))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        };
        assert_eq!(get(&r, RATE_INDEX_STAYS), (2, 0));
        assert_eq!(get(&r, RATE_INDEX_STAYS_OBSERVATION), (1, 0));
        assert_eq!(get(&r, RATE_PLANNED_EXCLUDED), (0, 0));
        assert_eq!(
            get(&r, RATE_OUTLIERS),
            (0, 1),
            "an enrollee, not an outlier"
        );
        assert!(
            r.iter().all(|x| x.rate != RATE_EXPECTED),
            "no table: not computed"
        );
        c.pcr_risk = Some(
            RiskTable::parse(
                "w.csv",
                b"factor,value,weight\nbase,,-2.0\nobservation,,0.4\n",
            )
            .unwrap(),
        );
        let r = rates(&pe, &c);
        // p(acute) = 1/(1+e^2) = 0.119203 ; p(obs) = 1/(1+e^1.6) = 0.167982
        assert_eq!(get(&r, RATE_EXPECTED), (119_203 + 167_982, 0));
        let mut planned_stay = st(20, 21);
        planned_stay.pcs_always = true;
        pe.pcr_stays = vec![st(10, 12), planned_stay];
        let r = rates(&pe, &c);
        assert_eq!(
            get(&r, RATE_PLANNED_EXCLUDED),
            (1, 0),
            "12 closed, readmitted on 20"
        );
        pe.pcr_stays = vec![st(10, 12), st(60, 62), st(120, 122), st(200, 202)];
        let r = rates(&pe, &c);
        assert_eq!(get(&r, RATE_INDEX_STAYS), (0, 0));
        assert_eq!(get(&r, RATE_OUTLIERS), (1, 1));
        pe.hospice = true;
        assert!(rates(&pe, &c).is_empty());
    }

    #[test]
    fn risk_table_fires_age_los_and_principal_prefix() {
        let t = RiskTable::parse(
            "w.csv",
            b"factor,value,weight\nbase,,-1\nage,18-44,0.5\nage,45-64,0.25\nlos,1-3,0.125\nprincipal_dx,I50,1\n",
        )
        .unwrap();
        let mut pe = adult(); // 30 in 1970
        let mut s = st(10, 12);
        s.principal_code = Some("I5022".into());
        assert_eq!(t.log_odds(&pe, &s), -1.0 + 0.5 + 0.125 + 1.0);
        let t2 = RiskTable::parse(
            "w.csv",
            b"factor,value,weight\nbase,,0\nage_sex,female:18-44,0.5\nage_sex,male:18-44,0.25\nage_sex,unknown:18-64,2\n",
        )
        .unwrap();
        pe.gender = Some("female".into());
        assert_eq!(t2.log_odds(&pe, &s), 0.5);
        pe.gender = Some("m".into());
        assert_eq!(t2.log_odds(&pe, &s), 0.25);
        pe.gender = None;
        assert_eq!(t2.log_odds(&pe, &s), 2.0);
        s.admission = 5; // length 7
        s.principal_code = Some("J189".into());
        assert_eq!(t.log_odds(&pe, &s), -0.5);
    }

    #[test]
    fn comorbidity_labels_fire_once_within_the_year_before_discharge() {
        let t = RiskTable::parse(
            "w.csv",
            b"factor,value,weight\nbase,,0\ncomorbidity,DIAB:E11,0.25\ncomorbidity,DIAB:E10,0.25\ncomorbidity,CHF:I50,0.5\n",
        )
        .unwrap();
        assert!(t.has_comorbidities());
        let mut pe = adult();
        let s = st(400, 402);
        // DIAB (bit 0) on D−365 and on D; CHF (bit 1) on D−366: out of the look-back.
        pe.pcr_comorbidities = vec![(402 - 366, 2), (402 - 365, 1), (402, 1)];
        assert_eq!(t.log_odds(&pe, &s), 0.25);
        pe.pcr_comorbidities.push((402 + 1, 2));
        assert_eq!(t.log_odds(&pe, &s), 0.25, "after D does not count");
        pe.pcr_comorbidities.push((402 - 1, 2));
        assert_eq!(t.log_odds(&pe, &s), 0.75);
        let e = RiskTable::parse(
            "w.csv",
            b"factor,value,weight\nbase,,0\ncomorbidity,DIAB:E11,0.25\ncomorbidity,DIAB:E10,0.5\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("row 3") && e.contains("another weight"), "{e}");
    }

    #[test]
    fn comorbidities_are_loaded_from_the_claims_of_persons_with_a_stay() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/cases/measures/pcr_hh");
        let input = caregap_ingest::read_input_layer(&dir).unwrap();
        let p = crate::params::Params::calendar_year(2025);
        let period = super::super::Period::new(&p);
        let t = RiskTable::parse(
            "w.csv",
            b"factor,value,weight\nbase,,0\ncomorbidity,PNEU:J18,1\ncomorbidity,CP:R07.9,1\n",
        )
        .unwrap();
        let with_stay = |id: &str| PersonEvents {
            person_id: id.into(),
            pcr_stays: vec![st(1, 2)],
            ..Default::default()
        };
        let mut people = vec![
            with_stay("H2"),
            with_stay("H3"),
            PersonEvents {
                person_id: "H4A".into(),
                ..Default::default()
            },
        ];
        load_comorbidities(&input, &t, &period, &mut people).unwrap();
        assert_eq!(people[0].pcr_comorbidities, [(day(2025, 4, 1), 2)]);
        assert_eq!(
            people[1].pcr_comorbidities,
            [(day(2025, 5, 1), 1), (day(2025, 5, 20), 2)]
        );
        assert!(people[2].pcr_comorbidities.is_empty(), "no PCR stay");
    }

    #[test]
    fn risk_table_errors_name_the_row_and_column() {
        let e = |t: &str| {
            RiskTable::parse("w.csv", t.as_bytes())
                .unwrap_err()
                .to_string()
        };
        assert!(e("a,b\n").contains("header"));
        assert!(e("factor,value,weight\nage,18-44,0.1\n").contains("no `base` row"));
        let m = e("factor,value,weight\nbase,,x\n");
        assert!(m.contains("row 1") && m.contains("weight"), "{m}");
        let m = e("factor,value,weight\nbase,,1\nage,18-44,1\nage,40-50,1\n");
        assert!(m.contains("row 3") && m.contains("overlaps"), "{m}");
        assert!(e("factor,value,weight\nbase,,1\nhcc,19,1\n").contains("unknown factor `hcc`"));
        assert!(e(
            "factor,value,weight\nbase,,1\nage_sex,female:18-44,1\nage_sex,female:44-64,1\n"
        )
        .contains("overlaps"));
        assert!(e("factor,value,weight\nbase,,1\nage_sex,other:18-44,1\n").contains("SEX:MIN-MAX"));
    }
}
