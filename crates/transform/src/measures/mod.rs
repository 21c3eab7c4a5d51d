//! Care-gap measures (spec §4, §9): the [`REGISTRY`] of measure families, one module each, built
//! from the event tables of [`crate::events`] and the shared primitives here (index windows,
//! follow-up windows, evidence). Each module declares its measures ([`Measure`]: id, name,
//! steward, source, version, kind, direction, age bands, spec), what it asks of the event
//! tables ([`Uses`]) and functions named after its populations — eligible population,
//! exclusions in order, numerator — each with its rule in words above it.
//!
//! **Evaluation order (§4, §9).** An event that fails the *eligible population* produces no
//! row; then the *exclusions*, in order, mark the row `excluded` with the first reason that
//! applies; then the numerator decides `open` / `closed`. Rows removed by the FUH replacement
//! rule or blocked by the FUM/FUA 31-day rule are never produced. Hospice (any claim line in
//! the MP) then turns every remaining row of the person into `excluded` / `hospice`.
//!
//! **Status** always means the same thing: `open` = a care gap, `closed` = no gap,
//! `excluded` = in the eligible population but excluded. For the inverse measures
//! (`hba1c_poor`, `pcr_30`) `open` is the HEDIS numerator.

pub mod aif;
pub mod cbp;
pub mod cdf;
pub mod col;
pub mod fua_hh;
pub mod fuh;
pub mod fum_fua;
pub mod gsd;
pub mod hba1c;
pub mod iet;
pub mod iu;
pub mod listing;
pub mod months;
pub mod oud;
pub mod pcr;
pub mod pcr_hh;
pub mod ssd;
pub mod tcm;
#[cfg(test)]
pub(crate) mod testing;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use rayon::prelude::*;

use crate::events::{Needs, PersonEvents, Uses};
use crate::params::{epoch_days, from_epoch_days, minus_one_year, Params};

/// A row's status (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// A care gap (for an inverse measure: the numerator).
    Open,
    /// No care gap.
    Closed,
    /// In the eligible population, but excluded.
    Excluded,
}

impl Status {
    /// The status as `care_gaps.status` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
            Status::Excluded => "excluded",
        }
    }
}

/// The §8 exclusion reasons, exactly.
pub mod reason {
    /// Hospice in the period (every measure).
    pub const HOSPICE: &str = "hospice";
    /// The index stay ended in death.
    pub const DEATH: &str = "death during stay";
    /// FUH: a nonacute admission within 30 days of discharge.
    pub const NONACUTE: &str = "nonacute admission within 30 days";
    /// FUH: an acute readmission with a non-MH principal diagnosis within 30 days.
    pub const NON_MH_READMISSION: &str =
        "acute readmission with non-MH principal dx within 30 days";
    /// FUM / FUA: the ED visit resulted in an admission (on E or E+1).
    pub const RESULTED_IN_ADMISSION: &str = "resulted in admission";
    /// FUM / FUA: an admission within 30 days of the ED visit.
    pub const ADMISSION_30: &str = "admission within 30 days";
    /// CBP: end-stage renal disease in the period.
    pub const ESRD: &str = "esrd";
    /// CBP: pregnancy in the period.
    pub const PREGNANCY: &str = "pregnancy";
    /// SSD: diabetes (condition or medication).
    pub const DIABETES: &str = "diabetes";
    /// GSD (and COL): death_date in the MP (`docs/measures/gsd.md` §3).
    pub const DEATH_IN_PERIOD: &str = "death";
    /// GSD (and COL): palliative care in the MP (`docs/measures/gsd.md` §3).
    pub const PALLIATIVE_CARE: &str = "palliative care";
    /// CDF: a bipolar-disorder diagnosis before the last qualifying encounter (`cdf.md` §4).
    pub const BIPOLAR: &str = "bipolar disorder";
    /// CDF: a depression diagnosis before the last qualifying encounter, or G9717 (`cdf.md` §4).
    pub const DEPRESSION: &str = "depression";
    /// CDF: G8433, screening not completed for a documented reason, when not closed (`cdf.md` §4).
    pub const SCREENING_EXCEPTION: &str = "screening exception";
    /// IET: the person died in the measurement period (HEDIS excludes members who die any
    /// time in the period).
    pub const DEATH_IN_MP: &str = DEATH_IN_PERIOD;
    /// IET: initiation was an admission whose stay was discharged after MP end − 34 days, so
    /// that its engagement window does not end in the period.
    pub const LATE_INITIATION_STAY: &str = "initiation stay discharged after engagement window";
    /// COL: colorectal cancer on or before the MP end, any time in the input.
    pub const COLORECTAL_CANCER: &str = "colorectal cancer";
    /// COL: total colectomy on or before the MP end, any time in the input.
    pub const TOTAL_COLECTOMY: &str = "total colectomy";
    /// COL (and GSD): 66 and older with frailty and advanced illness.
    pub const FRAILTY_ADVANCED_ILLNESS: &str = "frailty and advanced illness";
    /// PCR-HH: four or more index stays in the period (every such row of the person).
    pub const OUTLIER: &str = "outlier";
}

/// What a measure counts: one row per index event, one per person, or a rate of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One row per index event (a discharge, an ED visit).
    Episode,
    /// One row per person in the eligible population.
    Person,
    /// Events per member-months (no `care_gaps` rows).
    Rate,
}

impl Kind {
    /// The kind as the registry listing writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Episode => "episode",
            Kind::Person => "person",
            Kind::Rate => "rate",
        }
    }
}

/// An age band a measure is reported in: `min ..= max` years (`max` None: and older).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AgeBand {
    /// The youngest age in the band.
    pub min: i32,
    /// The oldest age in the band; none: no upper bound.
    pub max: Option<i32>,
}

/// `min ..= max` years.
pub const fn band(min: i32, max: i32) -> AgeBand {
    AgeBand {
        min,
        max: Some(max),
    }
}

/// `min` years and older.
pub const fn from_age(min: i32) -> AgeBand {
    AgeBand { min, max: None }
}

/// One measure: its identity and facts. Every list of measures (the summary, the report, the
/// `--measures` check, `caregap measures`, the docs) reads these.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Measure {
    /// The id in `care_gaps.measure` and `measure_summary.measure`.
    pub id: &'static str,
    /// The name an evaluator recognises (the report shows it).
    pub name: &'static str,
    /// Who stewards the measure this one follows.
    pub steward: &'static str,
    /// The public definition it follows.
    pub source: &'static str,
    /// The version of caregap's specification it implements.
    pub version: &'static str,
    /// What it counts.
    pub kind: Kind,
    /// An inverse measure: `open` is the numerator and a lower rate is better.
    pub lower_is_better: bool,
    /// The age bands it is reported in (Health Home Core Set), for stratified reporting.
    pub age_bands: &'static [AgeBand],
    /// Where its rule is specified.
    pub spec: &'static str,
    /// The Health Home Core Set rate it reports, if any (`core_set.parquet`).
    pub core_set: Option<CoreSet>,
}

/// A rate of the Health Home Core Set a measure reports: the CMS measure code and the rate's
/// label, as the state's reporting form (CMS's QMR application) names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CoreSet {
    /// The CMS measure code, e.g. `FUH-HH`.
    pub code: &'static str,
    /// The rate, e.g. `7-day`.
    pub rate: &'static str,
}

/// The Core Set rate `code` / `rate`.
pub const fn core_set(code: &'static str, rate: &'static str) -> Option<CoreSet> {
    Some(CoreSet { code, rate })
}

/// One person's contribution to a rate measure (`Kind::Rate`): events and enrollee months of
/// one measure, rate and age, attributed to one Health Home (none: not enrolled). A family
/// sums a person's months into as few of these as it can; `core_set.parquet` adds them up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCount {
    /// The measure id (a `Kind::Rate` measure of the family, or an episode measure reporting
    /// non-proportion fields, as `pcr_hh` does).
    pub measure: &'static str,
    /// The rate's label within the measure (e.g. `discharges`, `days`); the measure's
    /// [`CoreSet::rate`] when it has one rate.
    pub rate: &'static str,
    /// The age the months and events are banded by; none: unknown.
    pub age: Option<i32>,
    /// The Health Home the months are attributed to; none: not enrolled.
    pub health_home_id: Option<String>,
    /// Events counted (admissions, discharges, days …).
    pub events: i64,
    /// Enrollee months.
    pub months: i64,
}

/// A measure family: one module, the measures it computes together, the value sets it reads
/// from the event tables, and its evaluation.
pub struct Family {
    /// The module (`crates/transform/src/measures/<module>.rs`).
    pub module: &'static str,
    /// The measures it computes, in report order.
    pub measures: &'static [Measure],
    /// What it asks of the event tables (tags, conditions, dispensings).
    pub uses: Uses,
    /// Every value set its rules read beyond `uses` (checked to exist when a run starts).
    pub value_sets: &'static [&'static str],
    /// Every row of one person, before attribution and the hospice pass.
    pub evaluate: fn(&PersonEvents, &Context) -> Vec<GapRow>,
    /// A rate family's contributions of one person ([`no_rates`] for the others).
    pub rates: fn(&PersonEvents, &Context) -> Vec<RateCount>,
}

/// The `rates` of a family without rate measures.
pub fn no_rates(_: &PersonEvents, _: &Context) -> Vec<RateCount> {
    Vec::new()
}

/// Every rate contribution of one person, in registry order.
pub fn rates_of_person(pe: &PersonEvents, ctx: &Context) -> Vec<RateCount> {
    REGISTRY.iter().flat_map(|f| (f.rates)(pe, ctx)).collect()
}

/// Every measure family caregap computes, in report order: adding a measure is a module and
/// a line here.
pub static REGISTRY: &[&Family] = &[
    &fuh::FAMILY,
    &tcm::FAMILY,
    &fum_fua::FAMILY,
    &fua_hh::FAMILY,
    &cbp::FAMILY,
    &hba1c::FAMILY,
    &gsd::FAMILY,
    &col::FAMILY,
    &ssd::FAMILY,
    &pcr::FAMILY,
    &pcr_hh::FAMILY,
    &cdf::FAMILY,
    &iet::FAMILY,
    &oud::FAMILY,
    &iu::FAMILY,
    &aif::FAMILY,
];

/// Every measure, in report order.
pub fn all() -> impl Iterator<Item = &'static Measure> {
    REGISTRY.iter().flat_map(|f| f.measures.iter())
}

/// The measure `id`, if caregap computes it.
pub fn find(id: &str) -> Option<&'static Measure> {
    all().find(|m| m.id == id)
}

/// Every measure id, in report order.
pub fn ids() -> Vec<&'static str> {
    all().map(|m| m.id).collect()
}

/// Whether a lower rate is better for `measure`.
pub fn lower_is_better(measure: &str) -> bool {
    find(measure).is_some_and(|m| m.lower_is_better)
}

/// What every registered family asks of the event tables.
pub fn needs() -> Needs {
    Needs::of(REGISTRY.iter().map(|f| &f.uses))
}

/// Every value set the event tables and the registered measures read, in order.
pub fn value_sets_read() -> Vec<&'static str> {
    let mut v = crate::events::value_sets();
    let more = needs().value_sets();
    for s in more
        .into_iter()
        .chain(REGISTRY.iter().flat_map(|f| f.value_sets.iter().copied()))
    {
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

/// The value sets the measures, the event tables and the conditions read that are not caregap
/// sets (a misspelling in code): checked when a run starts, so it is an error instead of a set
/// matching nothing.
pub fn unknown_value_sets() -> Vec<&'static str> {
    value_sets_read()
        .into_iter()
        .chain(crate::conditions::CONDITIONS)
        .chain(crate::conditions::OBSERVATION_SETS)
        .filter(|s| !crate::value_sets::is_known_set(s))
        .collect()
}

/// The run's dates and the declared needs: what every evaluation reads besides the person.
#[derive(Debug, Clone)]
pub struct Context {
    /// The run's dates.
    pub period: Period,
    /// The tags every event carries, by role.
    pub needs: Needs,
    /// The first day the input's history is complete from (docs/measures/col.md §6): the
    /// `--history-start` parameter, else the earliest medical_claim service date
    /// ([`Context::with_history_from`]); none: unknown (an input without claims), read as
    /// complete.
    pub history_start: Option<i32>,
    /// PCR-HH's user-supplied risk-weight table (none: expected readmissions not computed).
    pub pcr_risk: Option<std::sync::Arc<pcr_hh::RiskTable>>,
}

impl Context {
    /// The context of a run with parameters `p` and the registry's needs.
    pub fn new(p: &Params) -> Self {
        Context {
            period: Period::new(p),
            needs: needs(),
            history_start: p.history_start.map(epoch_days),
            pcr_risk: None,
        }
    }

    /// This context with the history start taken from `earliest` (the earliest medical_claim
    /// service date of the input) when the run gave no `--history-start`.
    pub fn with_history_from(mut self, earliest: Option<NaiveDate>) -> Self {
        if self.history_start.is_none() {
            self.history_start = earliest.map(epoch_days);
        }
        self
    }
}

/// How a row came out, before attribution and the hospice pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Excluded with this reason.
    Excluded(&'static str),
    /// A gap (or an inverse measure's numerator).
    Open {
        /// Only an open `pcr_30` row carries evidence: the readmission.
        evidence: Option<Vec<String>>,
    },
    /// Closed on a date by evidence.
    Closed {
        /// The closing date.
        date: i32,
        /// What closed it.
        evidence: Vec<String>,
    },
    /// Closed with nothing that closed it (PCR: no readmission): no closing date or evidence.
    ClosedWithoutEvidence,
}

/// One row of `care_gaps`.
#[derive(Debug, Clone, PartialEq)]
pub struct GapRow {
    /// The measure id.
    pub measure: &'static str,
    /// The index date (discharge, ED visit, or period end).
    pub index_date: i32,
    /// The date by which the gap must close.
    pub due_date: i32,
    /// Open, closed or excluded.
    pub status: Status,
    /// The first exclusion that applies.
    pub exclusion_reason: Option<&'static str>,
    /// When the gap closed.
    pub closing_date: Option<i32>,
    /// The Health Home attributed on the index date.
    pub health_home_id: Option<String>,
    /// The claims that made the index event, sorted.
    pub index_evidence: Vec<String>,
    /// The claims or results that closed it.
    pub closing_evidence: Option<Vec<String>>,
    /// An `open` row whose look-back the input does not reach (COL): open only for lack of
    /// history. Not a `care_gaps` column (spec v1.3 §6 is unchanged); `core_set` counts it.
    pub history_short: bool,
}

impl GapRow {
    /// A row from its outcome; attribution is set later.
    pub fn new(
        measure: &'static str,
        index_date: i32,
        due_date: i32,
        index_evidence: Vec<String>,
        o: Outcome,
    ) -> Self {
        let mut ev = index_evidence;
        ev.sort();
        ev.dedup();
        let (status, exclusion_reason, closing_date, closing_evidence) = match o {
            Outcome::Excluded(r) => (Status::Excluded, Some(r), None, None),
            Outcome::Open { evidence } => (Status::Open, None, None, evidence),
            Outcome::Closed { date, evidence } => {
                (Status::Closed, None, Some(date), Some(evidence))
            }
            Outcome::ClosedWithoutEvidence => (Status::Closed, None, None, None),
        };
        GapRow {
            measure,
            index_date,
            due_date,
            status,
            exclusion_reason,
            closing_date,
            health_home_id: None,
            index_evidence: ev,
            closing_evidence,
            history_short: false,
        }
    }
}

/// Dates of the run, as days since 1970-01-01.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    /// The period's first day.
    pub start: i32,
    /// The period's last day.
    pub end: i32,
    /// Condition and diabetes-medication look-back start (§9).
    pub lookback: i32,
    /// CBP diagnosis window: MP start − 1 year …
    pub cbp_from: i32,
    /// … the last day of the calendar month five months after the MP's start month (§9).
    pub cbp_to: i32,
}

impl Period {
    /// The dates of a run with parameters `p`.
    pub fn new(p: &Params) -> Self {
        let s = p.period_start;
        let (y, m) = (
            s.year() + (s.month0() as i32 + 6) / 12,
            (s.month0() + 6) % 12 + 1,
        );
        let first_after = NaiveDate::from_ymd_opt(y, m, 1).expect("valid month");
        Period {
            start: epoch_days(s),
            end: epoch_days(p.period_end),
            lookback: epoch_days(p.lookback_start),
            cbp_from: epoch_days(minus_one_year(s)),
            cbp_to: epoch_days(first_after) - 1,
        }
    }

    /// Episode index dates run from MP start to MP end − 31 days (§4).
    pub fn episode_index(&self, d: i32) -> bool {
        d >= self.start && d <= self.end - 31
    }
}

/// Sorted, deduplicated ids of the items dated `date` that satisfy `pred`.
pub fn ids_on<T>(
    items: &[T],
    date: i32,
    day: impl Fn(&T) -> i32,
    id: impl Fn(&T) -> Option<&str>,
    pred: impl Fn(&T) -> bool,
) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .filter(|x| day(x) == date && pred(x))
        .filter_map(|x| id(x).map(str::to_string))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The first date in `a ..= b` with an item satisfying `pred`, and the ids of every such item
/// on that date (the closing evidence).
pub fn first_in_window<T>(
    items: &[T],
    a: i32,
    b: i32,
    day: impl Fn(&T) -> i32 + Copy,
    id: impl Fn(&T) -> Option<&str> + Copy,
    pred: impl Fn(&T) -> bool + Copy,
) -> Option<(i32, Vec<String>)> {
    let first = items
        .iter()
        .filter(|x| pred(x) && day(x) >= a && day(x) <= b)
        .map(day)
        .min()?;
    Some((first, ids_on(items, first, day, id, pred)))
}

/// Every measure for one person, attributed, with hospice applied; sorted by (measure,
/// index_date).
pub fn evaluate_person(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let mut rows: Vec<GapRow> = REGISTRY
        .iter()
        .flat_map(|f| (f.evaluate)(pe, ctx))
        .collect();
    for r in &mut rows {
        if pe.hospice {
            r.status = Status::Excluded;
            r.exclusion_reason = Some(reason::HOSPICE);
            r.closing_date = None;
            r.closing_evidence = None;
        }
        r.health_home_id = pe.health_home_on(r.index_date);
    }
    rows.sort_by(|a, b| (a.measure, a.index_date).cmp(&(b.measure, b.index_date)));
    rows
}

/// Evaluate every person (in parallel; the result is in person order, whatever the threads).
pub fn evaluate_all(people: &[PersonEvents], ctx: &Context) -> Vec<Vec<GapRow>> {
    people
        .par_iter()
        .map(|pe| evaluate_person(pe, ctx))
        .collect()
}

fn list_column(name: &str, v: Vec<Option<Vec<String>>>) -> Column {
    let series: Vec<Option<Series>> = v
        .into_iter()
        .map(|o| o.map(|ids| Series::new("".into(), ids)))
        .collect();
    let mut ca: ListChunked = series.into_iter().collect();
    ca.rename(name.into());
    if ca.dtype() != &DataType::List(Box::new(DataType::String)) {
        ca = ca
            .cast(&DataType::List(Box::new(DataType::String)))
            .expect("list of strings")
            .list()
            .expect("list")
            .clone();
    }
    ca.into_column()
}

fn date_column(name: &str, v: Vec<Option<i32>>) -> PolarsResult<Column> {
    Series::new(name.into(), v)
        .cast(&DataType::Date)
        .map(Column::from)
}

/// §6 `care_gaps`, sorted by (person_id, measure, index_date).
pub fn care_gaps_frame(people: &[PersonEvents], rows: &[Vec<GapRow>]) -> PolarsResult<DataFrame> {
    let n: usize = rows.iter().map(Vec::len).sum();
    let mut person = Vec::with_capacity(n);
    let mut measure = Vec::with_capacity(n);
    let mut index = Vec::with_capacity(n);
    let mut due = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut reason = Vec::with_capacity(n);
    let mut closing = Vec::with_capacity(n);
    let mut hh = Vec::with_capacity(n);
    let mut iev = Vec::with_capacity(n);
    let mut cev = Vec::with_capacity(n);
    for (pe, rs) in people.iter().zip(rows) {
        for r in rs {
            person.push(pe.person_id.clone());
            measure.push(r.measure);
            index.push(Some(r.index_date));
            due.push(Some(r.due_date));
            status.push(r.status.as_str());
            reason.push(r.exclusion_reason);
            closing.push(r.closing_date);
            hh.push(r.health_home_id.clone());
            iev.push(Some(r.index_evidence.clone()));
            cev.push(r.closing_evidence.clone());
        }
    }
    DataFrame::new_infer_height(vec![
        Column::new("person_id".into(), person),
        Column::new("measure".into(), measure),
        date_column("index_date", index)?,
        date_column("due_date", due)?,
        Column::new("status".into(), status),
        Column::new("exclusion_reason".into(), reason),
        date_column("closing_date", closing)?,
        Column::new("health_home_id".into(), hh),
        list_column("index_evidence", iev),
        list_column("closing_evidence", cev),
    ])
}

/// An ISO date from days since 1970-01-01 (for messages).
pub fn iso(d: i32) -> String {
    from_epoch_days(d).to_string()
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_value_set_read_exists() {
        let ids = ids();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "a measure id is registered twice");
        assert_eq!(unknown_value_sets(), Vec::<&str>::new());
        assert!(find("cbp").is_some() && find("cpb").is_none());
        assert!(lower_is_better("pcr_30") && !lower_is_better("fuh_7"));
    }

    /// Every value-set name the transform code passes to a matcher (`matches("…"`,
    /// `principal_dx_in(vs, "…"`, `any_dx_in(vs, "…"`, `line_code_in(vs, "…"`,
    /// `diagnosis_in(vs, "…"`) and every name a measure declares is one of caregap's sets and is
    /// listed by the registry or the event tables: a misspelled name in code fails here instead
    /// of matching nothing.
    #[test]
    fn every_value_set_named_in_code_is_declared_and_exists() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let re = regex::Regex::new(
            r#"(?:\.matches|principal_dx_in|any_dx_in|line_code_in|diagnosis_in)\(\s*(?:vs,\s*|b\.vs,\s*)?"([a-z0-9_]+)""#,
        )
        .unwrap();
        let declared = value_sets_read();
        let mut seen = 0;
        let mut files = vec![src];
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for c in re.captures_iter(&text) {
                let name = &c[1];
                seen += 1;
                assert!(
                    crate::value_sets::is_known_set(name),
                    "{}: `{name}` is not a caregap value set",
                    p.display()
                );
                let conditions_set = crate::conditions::CONDITIONS.contains(&name)
                    || crate::conditions::OBSERVATION_SETS.contains(&name);
                assert!(
                    declared.contains(&name) || conditions_set,
                    "{}: `{name}` is read but declared by no measure, event table or condition",
                    p.display()
                );
            }
        }
        assert!(seen > 20, "the scan found only {seen} value-set names");
    }
}
