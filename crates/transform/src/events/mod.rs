//! The **event tables** (spec §1 and the per-person facts §3–§5 read), one module per event
//! kind, each producing a named, documented table; [`build_person_events`] gathers them into
//! one [`PersonEvents`] per person, which every measure, utilization and the evaluation read.
//! Measures read events; they never add flags to the builder: what a measure asks of an event
//! (is this ED visit's principal diagnosis a substance use disorder?) is a *tag* it declares in
//! the registry ([`needs`]).
//!
//! | table | module | one row per |
//! |---|---|---|
//! | classified claim lines | [`lines`] | medical claim line, with the §1 classes and tags |
//! | `acute_stay`, `nonacute_stay` | [`stays`] | merged acute stay; nonacute stay line |
//! | `facility_claim` | [`facility`] | institutional facility claim (nursing facility, swing bed, ICF; `aif`) |
//! | `pcr_stay` | [`pcr_stays`] | merged acute or observation stay (PCR-HH only) |
//! | `ed_visit` | [`ed`] | person and ED service date |
//! | `visit` | [`visits`] | outpatient / mental-health / declared-service line |
//! | `bp_reading` | [`bp`] | BP observation or CPT II line in the period |
//! | `hba1c_result`, `gmi_result`, `glycemic_test` | [`labs`] | HbA1c result; GMI result; glucose or HbA1c test |
//! | `depression_line`, `depression_screen` | [`screening`] | CDF encounter, screen, follow-up or G-code line; person (bipolar, depression) |
//! | `dispensing` | [`dispensing`] | fill or HCPCS line of a declared medication set |
//! | `diagnosed` | [`diagnosed`] | person and declared diagnosis set, with its claims in the period |
//! | `coded_event` | [`coded`] | claim line, observation or lab result with a code of a declared set, inside its reach |
//! | `period_flags`, `condition_evidence` | [`diagnoses`] | person (hospice, period diagnoses); condition |
//! | `coverage_span`, `health_home_span`, `outreach` | [`coverage`] | span; person |
//! | `paid_by_person_month` | [`paid`] | person and calendar month |
//! | `sud_line`, `sud_fill` | [`sud`] | IET claim line; IET medication fill (SUD persons only) |
//!
//! Value-set matching runs vectorised in polars on narrow frames; the order-dependent rules
//! (merging direct transfers, windows after an index date) then run as sorted sweeps over one
//! person at a time, which is also what makes the person the unit of partition.

pub mod bp;
pub mod coded;
pub mod coverage;
pub mod diagnosed;
pub mod diagnoses;
pub mod dispensing;
pub mod ed;
pub mod facility;
pub mod labs;
pub mod lines;
pub mod needs;
pub mod paid;
pub mod pcr_stays;
pub mod screening;
pub mod stays;
pub mod sud;
pub mod visits;

use caregap_ingest::InputLayer;
use polars::prelude::*;

use crate::params::{date_lit, Params};
use crate::value_sets::ValueSets;

pub use bp::BpReading;
pub use coded::Coded;
pub use dispensing::Dispensing;
pub use ed::EdVisit;
pub use facility::FacilityClaim;
pub use labs::Hba1c;
pub use needs::{Needs, Reach, Since, Uses};
pub use paid::{month_index, month_start, paid_by_person_month, MonthPaid};
pub use pcr_stays::PcrStay;
pub use screening::{DepressionLine, Screen};
pub use stays::{merge_stays, Stay, StayComponent};
pub use sud::{SudFill, SudLine};
pub use visits::Visit;

/// Every value set the event tables themselves read (the measures' tags come on top).
pub fn value_sets() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for s in lines::VALUE_SETS
        .iter()
        .chain(bp::VALUE_SETS)
        .chain(labs::VALUE_SETS)
        .chain(screening::VALUE_SETS)
        .chain(sud::VALUE_SETS)
        .chain(pcr_stays::VALUE_SETS)
    {
        if !v.contains(s) {
            v.push(s);
        }
    }
    v
}

/// A dated event with its evidence id.
#[derive(Debug, Clone)]
pub struct Dated {
    /// The event date, as days since 1970-01-01.
    pub date: i32,
    /// Its evidence id (claim_id, lab_result_id, …).
    pub id: Option<String>,
}

/// A Health Home enrollment span.
#[derive(Debug, Clone)]
pub struct HealthHomeSpan {
    /// The health_home_id.
    pub id: String,
    /// The enrollment start, as days since 1970-01-01.
    pub start: i32,
    /// The enrollment end; none while enrolled.
    pub end: Option<i32>,
    /// The Health Home program (State Plan Amendment) the span counts in for the Core Set:
    /// `program_id`, else `health_home_type`, else `unspecified` ([`Self::program_of`]).
    pub program: String,
}

impl HealthHomeSpan {
    /// The program of a span with `program_id` and `health_home_type`.
    pub fn program_of(program_id: Option<String>, health_home_type: Option<String>) -> String {
        program_id
            .filter(|p| !p.is_empty())
            .or(health_home_type.filter(|t| !t.is_empty()))
            .unwrap_or_else(|| "unspecified".into())
    }
}

/// Everything the measures need about one person: the rows of every event table that are
/// theirs.
#[derive(Debug, Clone, Default)]
pub struct PersonEvents {
    /// The person.
    pub person_id: String,
    /// Earliest birth_date (§8), as days since 1970-01-01.
    pub birth: i32,
    /// Earliest death_date (§8), if any.
    pub death: Option<i32>,
    /// The eligibility gender (lower-cased; the smallest of the person's rows), if any.
    pub gender: Option<String>,
    /// Covered spans (payer_type in the coverage types), merged and sorted.
    pub coverage: Vec<(i32, i32)>,
    /// Health Home enrollment spans, by start.
    pub health_homes: Vec<HealthHomeSpan>,
    /// Merged acute inpatient stays, by admission ([`stays`]).
    pub stays: Vec<Stay>,
    /// Acute and observation stays for PCR-HH, merged, by admission ([`pcr_stays`]).
    pub pcr_stays: Vec<PcrStay>,
    /// PCR-HH risk-table comorbidity labels by service date (bit masks), sorted; filled only
    /// when a risk table has comorbidity terms (`measures::pcr_hh::load_comorbidities`).
    pub pcr_comorbidities: Vec<(i32, i64)>,
    /// Nonacute stays, by date ([`stays`]).
    pub nonacute: Vec<Dated>,
    /// Institutional facility claims, by (start, end, claim_id) ([`facility`]).
    pub facility: Vec<FacilityClaim>,
    /// ED visits, by date ([`ed`]).
    pub ed_visits: Vec<EdVisit>,
    /// Outpatient, mental-health and declared-service visits, by date ([`visits`]).
    pub visits: Vec<Visit>,
    /// BP readings in the period, by date ([`bp`]).
    pub bp: Vec<BpReading>,
    /// HbA1c results in the period, by date ([`labs`]).
    pub hba1c: Vec<Hba1c>,
    /// GMI results in the period, by date ([`labs`]; `docs/measures/gsd.md` §4).
    pub gmi: Vec<Hba1c>,
    /// Glucose and HbA1c tests of any kind.
    pub glycemic_tests: Vec<Dated>,
    /// CDF claim lines (qualifying encounters, follow-up services, G-codes) from MP start − 14
    /// days to MP end, by date ([`screening`]).
    pub depression_lines: Vec<DepressionLine>,
    /// Depression screens from MP start − 14 days to MP end, by date ([`screening`]).
    pub depression_screens: Vec<Screen>,
    /// The first bipolar-disorder diagnosis on or before the MP end ([`screening`]).
    pub bipolar_first: Option<i32>,
    /// The first depression diagnosis from the look-back start to the MP end ([`screening`]).
    pub depression_first: Option<i32>,
    /// Dispensings of each declared medication set, in [`Needs::dispensed`] order.
    pub dispensed: Vec<(&'static str, Vec<Dispensing>)>,
    /// The declared diagnosed-claims sets the person has in the MP, with their claims
    /// ([`diagnosed`]).
    pub diagnosed: Vec<(&'static str, Vec<String>)>,
    /// Hospice evidence dated in the MP.
    pub hospice: bool,
    /// Period-diagnosis tags ([`Needs::period_dx`] bits).
    pub period_dx: u64,
    /// The declared conditions the person has, with their evidence claims.
    pub conditions: Vec<(&'static str, Vec<String>)>,
    /// On the outreach list (eligible, not enrolled on the as-of date).
    pub outreach: bool,
    /// Paid amounts by calendar month (`month_index`), sorted by month.
    pub paid: Vec<MonthPaid>,
    /// The Core Set strata ([`crate::strata`]; set by [`crate::strata::load`]).
    pub strata: crate::strata::Strata,
    /// IET claim lines, by date ([`sud`]; persons with an SUD diagnosis near the period).
    pub sud_lines: Vec<SudLine>,
    /// IET medication fills, by date ([`sud`]).
    pub sud_fills: Vec<SudFill>,
    /// Coded events of each declared set, in [`Needs::coded`] order, by date ([`coded`]);
    /// empty when the person has none of any set.
    pub coded: Vec<(&'static str, Vec<Coded>)>,
}

impl PersonEvents {
    /// Covered every day of `a ..= b` (§4 window enrollment).
    pub fn covered_every_day(&self, a: i32, b: i32) -> bool {
        let mut next = a;
        for &(s, e) in &self.coverage {
            if s > next {
                break;
            }
            if e >= next {
                next = e + 1;
                if next > b {
                    return true;
                }
            }
        }
        next > b
    }

    /// §4 MP enrollment: covered on the MP's last day with at most one gap, of at most 45 days.
    pub fn mp_enrolled(&self, start: i32, end: i32) -> bool {
        if !self.covered_every_day(end, end) {
            return false;
        }
        let mut gaps = Vec::new();
        let mut next = start;
        for &(s, e) in &self.coverage {
            if e < next {
                continue;
            }
            if s > end {
                break;
            }
            if s > next {
                gaps.push(s - next);
            }
            next = next.max(e + 1);
        }
        if next <= end {
            gaps.push(end - next + 1);
        }
        gaps.len() <= 1 && gaps.iter().all(|g| *g <= 45)
    }

    /// Age in completed years on `day` (a 29 February birthday turns on 1 March).
    pub fn age_on(&self, day: i32) -> i32 {
        use chrono::Datelike;
        let b = crate::params::from_epoch_days(self.birth);
        let d = crate::params::from_epoch_days(day);
        let mut age = d.year() - b.year();
        if (d.month(), d.day()) < (b.month(), b.day()) {
            age -= 1;
        }
        age
    }

    /// §4 attribution: the Health Home whose span covers `day`, latest start first, then the
    /// smallest id.
    pub fn health_home_on(&self, day: i32) -> Option<String> {
        self.span_on(day).map(|h| h.id.clone())
    }

    /// The Health Home span attributed on `day` (§4, as [`Self::health_home_on`]).
    pub fn span_on(&self, day: i32) -> Option<&HealthHomeSpan> {
        self.health_homes
            .iter()
            .filter(|h| h.start <= day && h.end.is_none_or(|e| e >= day))
            .max_by(|a, b| a.start.cmp(&b.start).then_with(|| b.id.cmp(&a.id)))
    }

    /// The program of Health Home `id` on `day`: the program of the span of that home
    /// attributed on `day`, else of its latest-starting span (a rate measure's months name the
    /// home, not the day).
    pub fn program_of_home(&self, id: &str, day: i32) -> Option<&str> {
        match self.span_on(day) {
            Some(s) if s.id == id => Some(s.program.as_str()),
            _ => self
                .health_homes
                .iter()
                .filter(|h| h.id == id)
                .max_by_key(|h| h.start)
                .map(|h| h.program.as_str()),
        }
    }

    /// The dispensings of medication set `set` (declared in some measure's `Uses`).
    pub fn dispensed(&self, set: &str) -> &[Dispensing] {
        self.dispensed
            .iter()
            .find(|(s, _)| *s == set)
            .map(|(_, d)| d.as_slice())
            .unwrap_or(&[])
    }

    /// The claims in the MP with a diagnosis in set `name` (declared in some measure's
    /// `Uses::dx_claims`), when there are any.
    pub fn diagnosed(&self, name: &str) -> Option<&[String]> {
        self.diagnosed
            .iter()
            .find(|(s, _)| *s == name)
            .map(|(_, ev)| ev.as_slice())
    }

    /// The coded events of set `set` (declared in some measure's [`Uses::coded`]), by date.
    pub fn coded(&self, set: &str) -> &[Coded] {
        self.coded
            .iter()
            .find(|(s, _)| *s == set)
            .map(|(_, d)| d.as_slice())
            .unwrap_or(&[])
    }

    /// The evidence claims of condition `name` when the person has it.
    pub fn condition(&self, name: &str) -> Option<&[String]> {
        self.conditions
            .iter()
            .find(|(c, _)| *c == name)
            .map(|(_, ev)| ev.as_slice())
    }
}

/// Row accessors over a collected frame.
pub(crate) struct Rows<'a> {
    pub(crate) df: &'a DataFrame,
}

impl<'a> Rows<'a> {
    pub(crate) fn idx(&self, c: &str) -> PolarsResult<Vec<u32>> {
        let s = self.df.column(c)?.cast(&DataType::UInt32)?;
        Ok(s.u32()?.iter().map(|v| v.unwrap_or(0)).collect())
    }
    pub(crate) fn date(&self, c: &str) -> PolarsResult<Vec<Option<i32>>> {
        let s = self.df.column(c)?.cast(&DataType::Int32)?;
        Ok(s.i32()?.iter().collect())
    }
    pub(crate) fn bool(&self, c: &str) -> PolarsResult<Vec<bool>> {
        Ok(self
            .df
            .column(c)?
            .bool()?
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect())
    }
    pub(crate) fn str(&self, c: &str) -> PolarsResult<Vec<Option<String>>> {
        Ok(self
            .df
            .column(c)?
            .str()?
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    }
    pub(crate) fn f64(&self, c: &str) -> PolarsResult<Vec<Option<f64>>> {
        let s = self.df.column(c)?.cast(&DataType::Float64)?;
        Ok(s.f64()?.iter().collect())
    }
    pub(crate) fn str_list(&self, c: &str) -> PolarsResult<Vec<Vec<String>>> {
        let l = self.df.column(c)?.list()?.clone();
        Ok(l.series_iter()
            .map(|s| {
                s.map(|s| {
                    s.str()
                        .map(|x| x.iter().flatten().map(str::to_string).collect())
                        .unwrap_or_default()
                })
                .unwrap_or_default()
            })
            .collect())
    }
    /// The tag columns `role_0 … role_{n-1}` of each row, as bit masks.
    pub(crate) fn tags(&self, role: &str, n: usize) -> PolarsResult<Vec<u64>> {
        let mut out = vec![0u64; self.df.height()];
        for i in 0..n {
            for (m, b) in out.iter_mut().zip(self.bool(&lines::tag_column(role, i))?) {
                if b {
                    *m |= 1 << i;
                }
            }
        }
        Ok(out)
    }
}

/// What every event query shares: the input, value sets, parameters, the declared needs, the
/// persons (`person_id`, `pidx`) and the classified claim lines.
pub struct Build<'a> {
    /// The validated input layer.
    pub input: &'a InputLayer,
    /// The value sets in force.
    pub vs: &'a ValueSets,
    /// The run parameters.
    pub p: &'a Params,
    /// What the registered measures ask of the events.
    pub needs: &'a Needs,
    persons: LazyFrame,
    lines: LazyFrame,
    mp_start: Expr,
    mp_end: Expr,
    lookback: Expr,
}

impl Build<'_> {
    /// Dated in the measurement period.
    fn in_mp(&self, d: Expr) -> Expr {
        d.clone()
            .gt_eq(self.mp_start.clone())
            .and(d.lt_eq(self.mp_end.clone()))
    }

    /// Attach `pidx` (the person's index) to an event frame, dropping persons without an
    /// eligibility row (§8: they have no age and enter no measure).
    fn with_pidx(&self, lf: LazyFrame) -> LazyFrame {
        lf.join(
            self.persons.clone().select([col("person_id"), col("pidx")]),
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Inner),
        )
    }
}

/// Build every person's events for the measures whose needs are `needs`. `conditions` is the
/// §6 conditions output, `eligibility` the eligibility output (for the outreach list), `paid`
/// the [`paid_by_person_month`] frame.
pub fn build_person_events(
    input: &InputLayer,
    vs: &ValueSets,
    p: &Params,
    needs: &Needs,
    conditions: &DataFrame,
    eligibility: &DataFrame,
    paid: &DataFrame,
) -> PolarsResult<Vec<PersonEvents>> {
    // The gender (PCR-HH's risk-weight `age_sex` terms): the smallest non-null of the rows.
    let genders = input
        .lazy("eligibility")
        .group_by([col("person_id")])
        .agg([col("gender").drop_nulls().min().alias("gender")]);
    let persons_df = crate::eligibility::persons(input)
        .join(
            genders,
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["person_id"], Default::default())
        .with_row_index("pidx", None)
        .collect()?;
    let r = Rows { df: &persons_df };
    let ids = r.str("person_id")?;
    let births = r.date("birth_date")?;
    let deaths = r.date("death_date")?;
    let genders = r.str("gender")?;
    let mut people: Vec<PersonEvents> = ids
        .into_iter()
        .zip(births)
        .zip(deaths)
        .zip(genders)
        .map(|(((id, b), death), gender)| PersonEvents {
            person_id: id.unwrap_or_default(),
            birth: b.unwrap_or(0),
            death,
            gender,
            ..Default::default()
        })
        .collect();
    // Classify every line once and keep only what the event tables read.
    let lines = lines::narrow(lines::classified_lines(input, vs, needs), needs)
        .collect()?
        .lazy();
    let b = Build {
        input,
        vs,
        p,
        needs,
        persons: persons_df.lazy(),
        lines,
        mp_start: date_lit(p.period_start),
        mp_end: date_lit(p.period_end),
        lookback: date_lit(p.lookback_start),
    };
    coverage::load_coverage(&b, &mut people)?;
    coverage::load_health_homes(&b, &mut people)?;
    stays::load_acute(&b, &mut people)?;
    stays::load_nonacute(&b, &mut people)?;
    facility::load(&b, &mut people)?;
    pcr_stays::load(&b, &mut people)?;
    ed::load(&b, &mut people)?;
    visits::load(&b, &mut people)?;
    diagnoses::load_period_flags(&b, &mut people)?;
    bp::load(&b, &mut people)?;
    labs::load(&b, &mut people)?;
    screening::load(&b, &mut people)?;
    dispensing::load(&b, &mut people)?;
    sud::load(&b, &mut people)?;
    diagnosed::load(&b, &mut people)?;
    coded::load(&b, &mut people)?;
    diagnoses::load_conditions(&b, conditions, &mut people)?;
    coverage::load_outreach(eligibility, &mut people)?;
    paid::load(&b, paid, &mut people)?;
    Ok(people)
}

/// The person ids of the rows of `df` where `filter` holds.
fn person_ids_where(
    df: &DataFrame,
    filter: Expr,
) -> PolarsResult<std::collections::BTreeSet<String>> {
    Ok(df
        .clone()
        .lazy()
        .filter(filter)
        .select([col("person_id")])
        .collect()?
        .column("person_id")?
        .str()?
        .iter()
        .flatten()
        .map(str::to_string)
        .collect())
}

/// Push the rows of `df` (`pidx`, a `date` column, an `id` column) as [`Dated`] events.
fn push_dated(
    df: &DataFrame,
    date: &str,
    id: &str,
    people: &mut [PersonEvents],
    field: impl Fn(&mut PersonEvents) -> &mut Vec<Dated>,
) -> PolarsResult<()> {
    let r = Rows { df };
    for ((i, d), id) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date(date)?)
        .zip(r.str(id)?)
    {
        if let Some(d) = d {
            field(&mut people[i as usize]).push(Dated { date: d, id });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(coverage: Vec<(i32, i32)>) -> PersonEvents {
        PersonEvents {
            coverage,
            ..Default::default()
        }
    }

    #[test]
    fn window_enrollment_needs_every_day() {
        let p = person(vec![(0, 10), (11, 20)]);
        assert!(p.covered_every_day(5, 20));
        assert!(!p.covered_every_day(5, 21));
        let q = person(vec![(0, 10), (12, 20)]);
        assert!(!q.covered_every_day(5, 15));
    }

    #[test]
    fn mp_enrollment_allows_one_gap_of_45_days() {
        // MP = 0..364. A gap of 45 days is allowed; 46 is not; two gaps are not.
        assert!(person(vec![(0, 59), (105, 364)]).mp_enrolled(0, 364));
        assert!(!person(vec![(0, 59), (106, 364)]).mp_enrolled(0, 364));
        assert!(!person(vec![(0, 59), (70, 180), (190, 364)]).mp_enrolled(0, 364));
        assert!(
            person(vec![(45, 364)]).mp_enrolled(0, 364),
            "gap at the start"
        );
        assert!(
            !person(vec![(0, 363)]).mp_enrolled(0, 364),
            "not covered on the last day"
        );
    }

    #[test]
    fn age_in_completed_years_leap_day() {
        use crate::params::epoch_days;
        let b = epoch_days(chrono::NaiveDate::from_ymd_opt(2008, 2, 29).unwrap());
        let p = PersonEvents {
            birth: b,
            ..Default::default()
        };
        let d = |y, m, dd| epoch_days(chrono::NaiveDate::from_ymd_opt(y, m, dd).unwrap());
        assert_eq!(p.age_on(d(2026, 2, 28)), 17);
        assert_eq!(p.age_on(d(2026, 3, 1)), 18);
    }

    #[test]
    fn attribution_latest_start_then_smallest_id() {
        let p = PersonEvents {
            health_homes: vec![
                HealthHomeSpan {
                    id: "HH-B".into(),
                    program: "cmhc".into(),
                    start: 0,
                    end: None,
                },
                HealthHomeSpan {
                    id: "HH-C".into(),
                    program: "cmhc".into(),
                    start: 5,
                    end: Some(50),
                },
                HealthHomeSpan {
                    id: "HH-A".into(),
                    program: "cmhc".into(),
                    start: 5,
                    end: None,
                },
            ],
            ..Default::default()
        };
        assert_eq!(p.health_home_on(10).as_deref(), Some("HH-A"));
        assert_eq!(p.health_home_on(2).as_deref(), Some("HH-B"));
        assert_eq!(p.health_home_on(-1), None);
    }
}
