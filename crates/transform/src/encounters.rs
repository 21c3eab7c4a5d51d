//! Encounters built from claims (spec §1) and the other per-person events the measures use,
//! gathered into one [`PersonEvents`] per person.
//!
//! Value-set matching runs vectorised in polars on narrow frames (one flag column per rule);
//! the order-dependent rules (merging direct transfers, windows after an index date) then run
//! as sorted sweeps over one person at a time, which is also what makes the person the unit
//! of partition.
//!
//! - **Acute inpatient stay**: institutional bill type 11x lines, admission = admission_date
//!   else claim_start_date, discharge = discharge_date else claim_end_date, discharge ≥
//!   admission; grouped by (person, admission, discharge); a component's principal diagnosis is
//!   diagnosis_code_1 of its first line by (claim_id, claim_line_number) that has one. Sorted
//!   by admission, a component whose admission is ≤ 1 day after the running maximum discharge
//!   joins the stay (direct transfer or overlap); the stay takes the principal diagnosis and
//!   death status of the component with the latest (admission, discharge). Death = a line with
//!   discharge status 20, 40, 41 or 42.
//! - **Nonacute stay**: institutional bill type 21x, 22x, 18x, 28x, 86x; date = admission_date
//!   else claim_start_date.
//! - **ED visit**: a (person, service date) with a line in `ed_visit`; mental-health (SUD) when
//!   diagnosis_code_1 of any ED line that date is in `mental_illness` (`substance_use_disorder`).
//! - **Outpatient visit**: a professional line, or an institutional one whose bill type is not
//!   acute or nonacute (null counts), with a code in `outpatient_visit`.
//! - **Mental-health visit**: an outpatient visit with a mental-illness principal diagnosis, or
//!   any line in `mh_visit` (hcpcs, POS 53/52), or `mh_telehealth` POS with a mental-illness
//!   principal diagnosis.
//! - **BP reading** and **HbA1c result**: observations / lab results and CPT II codes (§1, §8).

use std::collections::BTreeSet;

use caregap_ingest::InputLayer;
use polars::prelude::*;
use rayon::prelude::*;

use crate::claims::{
    bill_type_class, diagnosis_long, is_acute_stay_line, service_date, stay_admission,
    stay_discharge,
};
use crate::conditions::diagnosis_in;
use crate::params::{date_lit, in_list, Params};
use crate::value_sets::ValueSets;

/// Bill-type classes (first two digits) of nonacute inpatient stays (§1).
pub const NONACUTE_BILL_TYPES: [&str; 5] = ["21", "22", "18", "28", "86"];
/// Discharge statuses meaning the patient died (§1).
pub const DEATH_STATUSES: [&str; 4] = ["20", "40", "41", "42"];
/// CPT II systolic codes and the value each stands for (§1).
pub const CPT2_SYSTOLIC: [(&str, f64); 3] = [("3074F", 129.0), ("3075F", 139.0), ("3077F", 140.0)];
/// CPT II diastolic codes and the value each stands for (§1).
pub const CPT2_DIASTOLIC: [(&str, f64); 3] = [("3078F", 79.0), ("3079F", 89.0), ("3080F", 90.0)];
/// CPT II HbA1c result codes and the value each stands for (§1).
pub const CPT2_HBA1C: [(&str, f64); 4] = [
    ("3044F", 6.9),
    ("3051F", 7.9),
    ("3052F", 9.0),
    ("3046F", 9.1),
];

/// A merged acute inpatient stay.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub admission: i32,
    pub discharge: i32,
    /// Principal diagnosis (of the latest component) is a mental illness.
    pub mental_health: bool,
    /// The latest component has a death discharge status.
    pub death: bool,
    /// Claim ids of every component, sorted.
    pub claim_ids: Vec<String>,
}

impl Stay {
    /// Length of stay in days, at least 1 (§1).
    pub fn length(&self) -> i32 {
        (self.discharge - self.admission).max(1)
    }
}

/// One component of a stay before merging: lines grouped by (admission, discharge).
#[derive(Debug, Clone)]
pub struct StayComponent {
    pub admission: i32,
    pub discharge: i32,
    pub mental_health: bool,
    pub death: bool,
    pub claim_ids: Vec<String>,
}

/// §1: merge components sorted by (admission, discharge); a component whose admission is ≤ 1
/// day after the running maximum discharge joins the current stay.
pub fn merge_stays(mut comps: Vec<StayComponent>) -> Vec<Stay> {
    comps.sort_by_key(|c| (c.admission, c.discharge));
    let mut out: Vec<Stay> = Vec::new();
    for c in comps {
        match out.last_mut() {
            Some(s) if c.admission <= s.discharge + 1 => {
                s.discharge = s.discharge.max(c.discharge);
                // Sorted by (admission, discharge): the newest component is the latest.
                s.mental_health = c.mental_health;
                s.death = c.death;
                s.claim_ids.extend(c.claim_ids);
                s.claim_ids.sort();
                s.claim_ids.dedup();
            }
            _ => out.push(Stay {
                admission: c.admission,
                discharge: c.discharge,
                mental_health: c.mental_health,
                death: c.death,
                claim_ids: c.claim_ids,
            }),
        }
    }
    out
}

/// An ED visit: a person and date.
#[derive(Debug, Clone)]
pub struct EdVisit {
    pub date: i32,
    pub mental_health: bool,
    pub sud: bool,
    pub claim_ids: Vec<String>,
}

/// A claim line that is a visit of some kind (§1).
#[derive(Debug, Clone)]
pub struct Visit {
    pub date: i32,
    pub claim_id: String,
    pub outpatient: bool,
    pub mental_health: bool,
    /// Any diagnosis position in substance_use_disorder.
    pub sud_dx: bool,
    /// hcpcs in `fua_service`.
    pub fua_service: bool,
    /// Any diagnosis position in hypertension.
    pub hypertension_dx: bool,
}

/// A BP reading (one component or both).
#[derive(Debug, Clone)]
pub struct BpReading {
    pub date: i32,
    pub id: Option<String>,
    pub systolic: Option<f64>,
    pub diastolic: Option<f64>,
}

/// An HbA1c result; `value` None = a test that does not count for control.
#[derive(Debug, Clone)]
pub struct Hba1c {
    pub date: i32,
    pub id: Option<String>,
    pub value: Option<f64>,
}

/// A dated event with its evidence id.
#[derive(Debug, Clone)]
pub struct Dated {
    pub date: i32,
    pub id: Option<String>,
}

/// A Health Home enrollment span.
#[derive(Debug, Clone)]
pub struct HealthHomeSpan {
    pub id: String,
    pub start: i32,
    pub end: Option<i32>,
}

/// Everything the measures need about one person.
#[derive(Debug, Clone, Default)]
pub struct PersonEvents {
    pub person_id: String,
    /// Earliest birth_date (§8), as days since 1970-01-01.
    pub birth: i32,
    /// Covered spans (payer_type in the coverage types), merged and sorted.
    pub coverage: Vec<(i32, i32)>,
    pub health_homes: Vec<HealthHomeSpan>,
    pub stays: Vec<Stay>,
    pub nonacute: Vec<Dated>,
    pub ed_visits: Vec<EdVisit>,
    pub visits: Vec<Visit>,
    pub bp: Vec<BpReading>,
    pub hba1c: Vec<Hba1c>,
    /// Glucose and HbA1c tests of any kind (for SSD).
    pub glycemic_tests: Vec<Dated>,
    pub antipsychotic: Vec<Dated>,
    pub diabetes_medication: Vec<Dated>,
    /// Hospice evidence dated in the MP.
    pub hospice: bool,
    pub esrd: bool,
    pub pregnancy: bool,
    pub diabetes: bool,
    pub diabetes_evidence: Vec<String>,
    pub schizophrenia_bipolar: bool,
    pub schizophrenia_bipolar_evidence: Vec<String>,
    /// On the outreach list (eligible, not enrolled on the as-of date).
    pub outreach: bool,
    /// Paid amounts by calendar month (`month_index`), sorted by month.
    pub paid: Vec<MonthPaid>,
}

/// Paid amounts of one person in one calendar month, in integer cents (§9: money is summed
/// exactly). Medical lines by claim_start_date month, pharmacy fills by dispensing month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthPaid {
    pub month: i32,
    pub medical_cents: i64,
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
        self.health_homes
            .iter()
            .filter(|h| h.start <= day && h.end.is_none_or(|e| e >= day))
            .max_by(|a, b| a.start.cmp(&b.start).then_with(|| b.id.cmp(&a.id)))
            .map(|h| h.id.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Building the events with polars.

fn dx_system_match(vs: &ValueSets, set: &str, code_col: &str) -> Expr {
    ["icd-10-cm", "icd-9-cm", "snomed-ct"]
        .iter()
        .map(|s| {
            col("diagnosis_code_type")
                .eq(lit(*s))
                .and(vs.matches(set, s, col(code_col)))
        })
        .reduce(|a, b| a.or(b))
        .expect("systems")
        .fill_null(lit(false))
}

/// Principal diagnosis (diagnosis_code_1) in `set`, in the line's code system.
pub fn principal_dx_in(vs: &ValueSets, set: &str) -> Expr {
    dx_system_match(vs, set, "diagnosis_code_1")
}

/// Any diagnosis position (of the `columns` in use) in `set`.
pub fn any_dx_in(vs: &ValueSets, set: &str, columns: &[&str]) -> Expr {
    columns
        .iter()
        .map(|c| dx_system_match(vs, set, c))
        .reduce(|a, b| a.or(b))
        .expect("columns")
}

/// A claim line's codes (hcpcs, revenue, POS, bill type) in `set`.
pub fn line_code_in(vs: &ValueSets, set: &str) -> Expr {
    vs.matches(set, "hcpcs", col("hcpcs_code"))
        .or(vs.matches(set, "revenue", col("revenue_center_code")))
        .or(vs.matches(set, "pos", col("place_of_service_code")))
        .or(vs.matches(set, "bill_type", col("bill_type_code")))
}

/// Medical claim lines with the §1 flags the measures use.
pub fn flagged_lines(input: &InputLayer, vs: &ValueSets) -> LazyFrame {
    let dxc = crate::claims::diagnosis_columns_in_use(input);
    let inst = col("claim_type").eq(lit("institutional"));
    let inpatient_bill = bill_type_class()
        .eq(lit("11"))
        .or(in_list(bill_type_class(), &NONACUTE_BILL_TYPES));
    let op_setting = inst
        .clone()
        .not()
        .or(bill_type_class().is_null())
        .or(inpatient_bill.not())
        .fill_null(lit(true));
    let outpatient = op_setting.and(
        vs.matches("outpatient_visit", "hcpcs", col("hcpcs_code"))
            .or(vs.matches("outpatient_visit", "revenue", col("revenue_center_code"))),
    );
    input
        .lazy("medical_claim")
        .with_columns([
            service_date().alias("date"),
            is_acute_stay_line().alias("acute"),
            inst.clone()
                .and(in_list(bill_type_class(), &NONACUTE_BILL_TYPES))
                .fill_null(lit(false))
                .alias("nonacute"),
            line_code_in(vs, "ed_visit").alias("ed"),
            outpatient.alias("outpatient"),
            principal_dx_in(vs, "mental_illness").alias("dx1_mi"),
            principal_dx_in(vs, "substance_use_disorder").alias("dx1_sud"),
            any_dx_in(vs, "substance_use_disorder", &dxc).alias("sud_dx"),
            any_dx_in(vs, "hypertension", &dxc).alias("htn_dx"),
            any_dx_in(vs, "esrd", &dxc).alias("esrd_dx"),
            any_dx_in(vs, "pregnancy", &dxc).alias("preg_dx"),
            vs.matches("mh_visit", "hcpcs", col("hcpcs_code"))
                .or(vs.matches("mh_visit", "pos", col("place_of_service_code")))
                .alias("mh_code"),
            vs.matches("mh_telehealth", "pos", col("place_of_service_code"))
                .alias("telehealth"),
            vs.matches("fua_service", "hcpcs", col("hcpcs_code"))
                .alias("fua_service"),
            line_code_in(vs, "hospice").alias("hospice"),
        ])
        .with_column(
            col("outpatient")
                .and(col("dx1_mi"))
                .or(col("mh_code"))
                .or(col("telehealth").and(col("dx1_mi")))
                .alias("mh_visit"),
        )
}

/// Row accessors over a collected frame.
struct Rows<'a> {
    df: &'a DataFrame,
}

impl<'a> Rows<'a> {
    fn idx(&self, c: &str) -> PolarsResult<Vec<u32>> {
        let s = self.df.column(c)?.cast(&DataType::UInt32)?;
        Ok(s.u32()?.iter().map(|v| v.unwrap_or(0)).collect())
    }
    fn date(&self, c: &str) -> PolarsResult<Vec<Option<i32>>> {
        let s = self.df.column(c)?.cast(&DataType::Int32)?;
        Ok(s.i32()?.iter().collect())
    }
    fn bool(&self, c: &str) -> PolarsResult<Vec<bool>> {
        Ok(self
            .df
            .column(c)?
            .bool()?
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect())
    }
    fn str(&self, c: &str) -> PolarsResult<Vec<Option<String>>> {
        Ok(self
            .df
            .column(c)?
            .str()?
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    }
    fn f64(&self, c: &str) -> PolarsResult<Vec<Option<f64>>> {
        let s = self.df.column(c)?.cast(&DataType::Float64)?;
        Ok(s.f64()?.iter().collect())
    }
    fn str_list(&self, c: &str) -> PolarsResult<Vec<Vec<String>>> {
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
}

/// Attach `pidx` (the person's index) to an event frame, dropping persons without an
/// eligibility row (§8: they have no age and enter no measure).
fn with_pidx(lf: LazyFrame, persons: &LazyFrame) -> LazyFrame {
    lf.join(
        persons.clone().select([col("person_id"), col("pidx")]),
        [col("person_id")],
        [col("person_id")],
        JoinArgs::new(JoinType::Inner),
    )
}

/// A plain decimal (§8 HbA1c): digits with an optional sign and fraction.
fn plain_decimal(e: Expr) -> Expr {
    when(
        e.clone()
            .str()
            .contains(lit(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"), false),
    )
    .then(e.cast(DataType::Float64))
    .otherwise(lit(NULL).cast(DataType::Float64))
}

/// §8 HbA1c result: trimmed, one trailing `%` removed, trimmed again, a plain decimal; the
/// unit (normalized, else source) must be null or `%`.
pub fn hba1c_value() -> Expr {
    let t = col("result").str().strip_chars(lit(NULL));
    let t = when(t.clone().str().ends_with(lit("%")))
        .then(
            t.clone()
                .str()
                .slice(lit(0), t.clone().str().len_chars() - lit(1u32)),
        )
        .otherwise(t)
        .str()
        .strip_chars(lit(NULL));
    let unit = coalesce(&[col("normalized_units"), col("source_units")])
        .str()
        .strip_chars(lit(NULL));
    let unit_ok = unit
        .clone()
        .is_null()
        .or(unit.clone().eq(lit("")))
        .or(unit.eq(lit("%")));
    when(unit_ok)
        .then(plain_decimal(t))
        .otherwise(lit(NULL).cast(DataType::Float64))
}

fn cpt2_value(table: &[(&str, f64)]) -> Expr {
    let mut e = lit(NULL).cast(DataType::Float64);
    for (code, v) in table.iter().rev() {
        e = when(col("hcpcs_code").eq(lit(*code)))
            .then(lit(*v))
            .otherwise(e);
    }
    e
}

/// Build every person's events. `persons` is the eligibility `persons()` frame; `conditions`
/// the §6 conditions; `outreach` person ids on the outreach list.
pub fn build_person_events(
    input: &InputLayer,
    vs: &ValueSets,
    p: &Params,
    conditions: &DataFrame,
    eligibility: &DataFrame,
    paid: &DataFrame,
) -> PolarsResult<Vec<PersonEvents>> {
    let mp_start = date_lit(p.period_start);
    let mp_end = date_lit(p.period_end);
    let lookback = date_lit(p.lookback_start);
    let in_mp = |d: Expr| {
        d.clone()
            .gt_eq(mp_start.clone())
            .and(d.lt_eq(mp_end.clone()))
    };

    let persons_df = crate::eligibility::persons(input)
        .sort(["person_id"], Default::default())
        .with_row_index("pidx", None)
        .collect()?;
    let persons = persons_df.clone().lazy();
    let r = Rows { df: &persons_df };
    let ids = r.str("person_id")?;
    let births = r.date("birth_date")?;
    let mut people: Vec<PersonEvents> = ids
        .into_iter()
        .zip(births)
        .map(|(id, b)| PersonEvents {
            person_id: id.unwrap_or_default(),
            birth: b.unwrap_or(0),
            ..Default::default()
        })
        .collect();

    // Coverage spans.
    let cov = with_pidx(
        input
            .lazy("eligibility")
            .filter(crate::params::is_covered_payer(p))
            .select([
                col("person_id"),
                col("enrollment_start_date").alias("s"),
                col("enrollment_end_date").alias("e"),
            ]),
        &persons,
    )
    .sort(["pidx", "s", "e"], Default::default())
    .collect()?;
    let r = Rows { df: &cov };
    for ((i, s), e) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("s")?)
        .zip(r.date("e")?)
    {
        if let (Some(s), Some(e)) = (s, e) {
            let cv = &mut people[i as usize].coverage;
            match cv.last_mut() {
                Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
                _ => cv.push((s, e)),
            }
        }
    }

    // Health Home spans.
    let hh = with_pidx(input.lazy("health_home_enrollment"), &persons)
        .sort(
            ["pidx", "enrollment_start_date", "health_home_id"],
            Default::default(),
        )
        .collect()?;
    let r = Rows { df: &hh };
    for (((i, id), s), e) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.str("health_home_id")?)
        .zip(r.date("enrollment_start_date")?)
        .zip(r.date("enrollment_end_date")?)
    {
        if let (Some(id), Some(s)) = (id, s) {
            people[i as usize].health_homes.push(HealthHomeSpan {
                id,
                start: s,
                end: e,
            });
        }
    }

    // Flag every line once and keep only what the events below read: each event query then
    // starts from this narrow frame instead of re-flagging the claims.
    let lines = flagged_lines(input, vs)
        .select([
            col("person_id"),
            col("claim_id"),
            col("claim_line_number"),
            col("date"),
            col("claim_start_date"),
            col("claim_end_date"),
            col("admission_date"),
            col("discharge_date"),
            col("discharge_disposition_code"),
            col("diagnosis_code_1"),
            col("hcpcs_code"),
            col("acute"),
            col("nonacute"),
            col("ed"),
            col("outpatient"),
            col("dx1_mi"),
            col("dx1_sud"),
            col("sud_dx"),
            col("htn_dx"),
            col("esrd_dx"),
            col("preg_dx"),
            col("fua_service"),
            col("hospice"),
            col("mh_visit"),
        ])
        .collect()?
        .lazy();

    // Acute stay components.
    let comps = with_pidx(
        lines
            .clone()
            .filter(col("acute"))
            .with_columns([stay_admission().alias("adm"), stay_discharge().alias("dis")])
            .sort(
                ["person_id", "adm", "dis", "claim_id", "claim_line_number"],
                Default::default(),
            )
            .group_by_stable([col("person_id"), col("adm"), col("dis")])
            .agg([
                col("claim_id")
                    .unique()
                    .sort(Default::default())
                    .alias("claim_ids"),
                col("dx1_mi")
                    .filter(col("diagnosis_code_1").is_not_null())
                    .first()
                    .fill_null(lit(false))
                    .alias("mh"),
                in_list(col("discharge_disposition_code"), &DEATH_STATUSES)
                    .fill_null(lit(false))
                    .any(false)
                    .alias("death"),
            ]),
        &persons,
    )
    .collect()?;
    let r = Rows { df: &comps };
    let mut per_person: Vec<Vec<StayComponent>> = vec![Vec::new(); people.len()];
    for ((((i, a), d), mh), (death, ids)) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("adm")?)
        .zip(r.date("dis")?)
        .zip(r.bool("mh")?)
        .zip(r.bool("death")?.into_iter().zip(r.str_list("claim_ids")?))
    {
        if let (Some(a), Some(d)) = (a, d) {
            per_person[i as usize].push(StayComponent {
                admission: a,
                discharge: d,
                mental_health: mh,
                death,
                claim_ids: ids,
            });
        }
    }
    people
        .par_iter_mut()
        .zip(per_person.into_par_iter())
        .for_each(|(pe, comps)| pe.stays = merge_stays(comps));

    // Nonacute stays.
    let non = with_pidx(
        lines.clone().filter(col("nonacute")).select([
            col("person_id"),
            stay_admission().alias("d"),
            col("claim_id"),
        ]),
        &persons,
    )
    .sort(["pidx", "d", "claim_id"], Default::default())
    .collect()?;
    push_dated(&non, "d", "claim_id", &mut people, |pe| &mut pe.nonacute)?;

    // ED visits: (person, date).
    let ed = with_pidx(
        lines
            .clone()
            .filter(col("ed").and(col("date").is_not_null()))
            .group_by([col("person_id"), col("date")])
            .agg([
                col("dx1_mi").any(false).alias("mh"),
                col("dx1_sud").any(false).alias("sud"),
                col("claim_id")
                    .unique()
                    .sort(Default::default())
                    .alias("claim_ids"),
            ]),
        &persons,
    )
    .sort(["pidx", "date"], Default::default())
    .collect()?;
    let r = Rows { df: &ed };
    for (((i, d), (mh, sud)), ids) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.bool("mh")?.into_iter().zip(r.bool("sud")?))
        .zip(r.str_list("claim_ids")?)
    {
        if let Some(d) = d {
            people[i as usize].ed_visits.push(EdVisit {
                date: d,
                mental_health: mh,
                sud,
                claim_ids: ids,
            });
        }
    }

    // Visits.
    let visits = with_pidx(
        lines
            .clone()
            .filter(
                col("outpatient")
                    .or(col("mh_visit"))
                    .or(col("fua_service"))
                    .and(col("date").is_not_null()),
            )
            .select([
                col("person_id"),
                col("date"),
                col("claim_id"),
                col("outpatient"),
                col("mh_visit"),
                col("sud_dx"),
                col("fua_service"),
                col("htn_dx"),
            ]),
        &persons,
    )
    .sort(["pidx", "date", "claim_id"], Default::default())
    .collect()?;
    let r = Rows { df: &visits };
    let (vi, vd, vc) = (r.idx("pidx")?, r.date("date")?, r.str("claim_id")?);
    let (vo, vm, vs_, vf, vh) = (
        r.bool("outpatient")?,
        r.bool("mh_visit")?,
        r.bool("sud_dx")?,
        r.bool("fua_service")?,
        r.bool("htn_dx")?,
    );
    for k in 0..vi.len() {
        if let Some(d) = vd[k] {
            people[vi[k] as usize].visits.push(Visit {
                date: d,
                claim_id: vc[k].clone().unwrap_or_default(),
                outpatient: vo[k],
                mental_health: vm[k],
                sud_dx: vs_[k],
                fua_service: vf[k],
                hypertension_dx: vh[k],
            });
        }
    }

    // Hospice, ESRD, pregnancy in the MP.
    let flags = with_pidx(
        lines
            .clone()
            .filter(in_mp(col("date")))
            .group_by([col("person_id")])
            .agg([
                col("hospice").any(false).alias("hospice"),
                col("esrd_dx").any(false).alias("esrd"),
                col("preg_dx").any(false).alias("pregnancy"),
            ]),
        &persons,
    )
    .collect()?;
    let r = Rows { df: &flags };
    for (((i, h), e), pr) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.bool("hospice")?)
        .zip(r.bool("esrd")?)
        .zip(r.bool("pregnancy")?)
    {
        let pe = &mut people[i as usize];
        pe.hospice = h;
        pe.esrd = e;
        pe.pregnancy = pr;
    }

    // BP readings: observations and CPT II.
    let obs = input
        .lazy("observation")
        .with_column(coalesce(&[col("normalized_code"), col("source_code")]).alias("code"));
    let num = col("result")
        .str()
        .strip_chars(lit(NULL))
        .cast(DataType::Float64);
    let bp_obs = obs
        .clone()
        .filter(
            vs.matches("bp_systolic", "loinc", col("code"))
                .or(vs.matches("bp_diastolic", "loinc", col("code"))),
        )
        .select([
            col("person_id"),
            col("observation_date").alias("date"),
            col("observation_id").alias("id"),
            when(vs.matches("bp_systolic", "loinc", col("code")))
                .then(num.clone())
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("sys"),
            when(vs.matches("bp_diastolic", "loinc", col("code")))
                .then(num)
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("dia"),
        ]);
    let sys_codes: Vec<&str> = CPT2_SYSTOLIC.iter().map(|x| x.0).collect();
    let dia_codes: Vec<&str> = CPT2_DIASTOLIC.iter().map(|x| x.0).collect();
    let bp_cpt = lines
        .clone()
        .filter(in_list(col("hcpcs_code"), &sys_codes).or(in_list(col("hcpcs_code"), &dia_codes)))
        .select([
            col("person_id"),
            col("date"),
            col("claim_id").alias("id"),
            cpt2_value(&CPT2_SYSTOLIC).alias("sys"),
            cpt2_value(&CPT2_DIASTOLIC).alias("dia"),
        ]);
    let bp = with_pidx(concat([bp_obs, bp_cpt], UnionArgs::default())?, &persons)
        .filter(in_mp(col("date")).and(col("sys").is_not_null().or(col("dia").is_not_null())))
        .sort(["pidx", "date", "id"], Default::default())
        .collect()?;
    let r = Rows { df: &bp };
    for ((((i, d), id), s), di) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.str("id")?)
        .zip(r.f64("sys")?)
        .zip(r.f64("dia")?)
    {
        if let Some(d) = d {
            people[i as usize].bp.push(BpReading {
                date: d,
                id,
                systolic: s,
                diastolic: di,
            });
        }
    }

    // HbA1c results (lab + CPT II) and glycemic tests (for SSD).
    let labs = input.lazy("lab_result").with_columns([
        coalesce(&[col("normalized_code"), col("source_code")]).alias("code"),
        coalesce(&[col("result_date"), col("collection_date")]).alias("date"),
    ]);
    let a1c_codes: Vec<&str> = CPT2_HBA1C.iter().map(|x| x.0).collect();
    let a1c_lab = labs
        .clone()
        .filter(vs.matches("hba1c", "loinc", col("code")))
        .select([
            col("person_id"),
            col("date"),
            col("lab_result_id").alias("id"),
            hba1c_value().alias("v"),
        ]);
    let a1c_cpt = lines
        .clone()
        .filter(in_list(col("hcpcs_code"), &a1c_codes))
        .select([
            col("person_id"),
            col("date"),
            col("claim_id").alias("id"),
            cpt2_value(&CPT2_HBA1C).alias("v"),
        ]);
    let a1c = with_pidx(
        concat([a1c_lab, a1c_cpt.clone()], UnionArgs::default())?,
        &persons,
    )
    .filter(in_mp(col("date")))
    .sort(["pidx", "date", "id"], Default::default())
    .collect()?;
    let r = Rows { df: &a1c };
    for (((i, d), id), v) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.str("id")?)
        .zip(r.f64("v")?)
    {
        if let Some(d) = d {
            people[i as usize].hba1c.push(Hba1c {
                date: d,
                id,
                value: v,
            });
        }
    }
    let tests = concat(
        [
            labs.filter(vs.matches("hba1c", "loinc", col("code")).or(vs.matches(
                "glucose_test",
                "loinc",
                col("code"),
            )))
            .select([
                col("person_id"),
                col("date"),
                col("lab_result_id").alias("id"),
            ]),
            lines
                .clone()
                .filter(
                    vs.matches("glucose_test", "hcpcs", col("hcpcs_code"))
                        .or(vs.matches("hba1c_test", "hcpcs", col("hcpcs_code")))
                        .or(in_list(col("hcpcs_code"), &a1c_codes)),
                )
                .select([col("person_id"), col("date"), col("claim_id").alias("id")]),
        ],
        UnionArgs::default(),
    )?;
    let tests = with_pidx(tests, &persons)
        .filter(in_mp(col("date")))
        .sort(["pidx", "date", "id"], Default::default())
        .collect()?;
    push_dated(&tests, "date", "id", &mut people, |pe| {
        &mut pe.glycemic_tests
    })?;

    // Dispensing: pharmacy NDCs and medical HCPCS (LAI J-codes) in a medication value set.
    let dispensed = |set: &str, from: Expr| -> PolarsResult<DataFrame> {
        let rx = input
            .lazy("pharmacy_claim")
            .filter(vs.matches(set, "ndc", col("ndc_code")).or(vs.matches(
                set,
                "rxnorm",
                col("rxnorm_code").str().strip_chars(lit(NULL)),
            )))
            .select([
                col("person_id"),
                col("dispensing_date").alias("date"),
                col("claim_id").alias("id"),
            ]);
        let mx = lines
            .clone()
            .filter(vs.matches(set, "hcpcs", col("hcpcs_code")))
            .select([col("person_id"), col("date"), col("claim_id").alias("id")]);
        with_pidx(concat([rx, mx], UnionArgs::default())?, &persons)
            .filter(
                col("date")
                    .gt_eq(from)
                    .and(col("date").lt_eq(mp_end.clone())),
            )
            .sort(["pidx", "date", "id"], Default::default())
            .collect()
    };
    push_dated(
        &dispensed("antipsychotic", mp_start.clone())?,
        "date",
        "id",
        &mut people,
        |pe| &mut pe.antipsychotic,
    )?;
    push_dated(
        &dispensed("diabetes_medication", lookback.clone())?,
        "date",
        "id",
        &mut people,
        |pe| &mut pe.diabetes_medication,
    )?;

    // Conditions used by measures, with the claims that evidence them (look-back window).
    let dx = diagnosis_long(
        input.lazy("medical_claim"),
        &crate::claims::diagnosis_columns_in_use(input),
    )?
    .filter(
        col("service_date")
            .gt_eq(lookback)
            .and(col("service_date").lt_eq(mp_end.clone())),
    )
    .collect()?
    .lazy();
    for (cond, is_diabetes) in [("diabetes", true), ("schizophrenia_bipolar", false)] {
        let present: BTreeSet<String> = conditions
            .clone()
            .lazy()
            .filter(col("condition").eq(lit(cond)))
            .select([col("person_id")])
            .collect()?
            .column("person_id")?
            .str()?
            .iter()
            .flatten()
            .map(str::to_string)
            .collect();
        let ev = with_pidx(
            dx.clone()
                .filter(diagnosis_in(vs, cond))
                .group_by([col("person_id")])
                .agg([col("claim_id")
                    .unique()
                    .sort(Default::default())
                    .alias("ids")]),
            &persons,
        )
        .collect()?;
        let r = Rows { df: &ev };
        let mut evidence: Vec<Vec<String>> = vec![Vec::new(); people.len()];
        for (i, ids) in r.idx("pidx")?.into_iter().zip(r.str_list("ids")?) {
            evidence[i as usize] = ids;
        }
        for (pe, ids) in people.iter_mut().zip(evidence) {
            let has = present.contains(&pe.person_id);
            if is_diabetes {
                pe.diabetes = has;
                pe.diabetes_evidence = if has { ids } else { vec![] };
            } else {
                pe.schizophrenia_bipolar = has;
                pe.schizophrenia_bipolar_evidence = if has { ids } else { vec![] };
            }
        }
    }

    // The outreach list.
    let outreach: BTreeSet<String> = eligibility
        .clone()
        .lazy()
        .filter(col("outreach"))
        .select([col("person_id")])
        .collect()?
        .column("person_id")?
        .str()?
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    for pe in &mut people {
        pe.outreach = outreach.contains(&pe.person_id);
    }

    // Paid amounts by month.
    let paid = with_pidx(paid.clone().lazy(), &persons)
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
    Ok(people)
}

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

    fn comp(a: i32, d: i32, mh: bool, id: &str) -> StayComponent {
        StayComponent {
            admission: a,
            discharge: d,
            mental_health: mh,
            death: false,
            claim_ids: vec![id.into()],
        }
    }

    #[test]
    fn direct_transfer_merges_and_takes_latest_component() {
        // 1..5 then 6..10: admission ≤ discharge + 1 → one stay 1..10, MH of the second.
        let s = merge_stays(vec![comp(6, 10, true, "B"), comp(1, 5, false, "A")]);
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].admission, s[0].discharge, s[0].mental_health),
            (1, 10, true)
        );
        assert_eq!(s[0].claim_ids, vec!["A", "B"]);
    }

    #[test]
    fn two_days_apart_stay_separate() {
        let s = merge_stays(vec![comp(1, 5, false, "A"), comp(7, 9, true, "B")]);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn overlap_keeps_running_max_discharge() {
        // 1..20 contains 3..5; then 21..22 joins via the running max (20).
        let s = merge_stays(vec![
            comp(1, 20, false, "A"),
            comp(3, 5, true, "B"),
            comp(21, 22, false, "C"),
        ]);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].admission, s[0].discharge), (1, 22));
        assert!(
            !s[0].mental_health,
            "latest (admission, discharge) component is C"
        );
    }

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
                    start: 0,
                    end: None,
                },
                HealthHomeSpan {
                    id: "HH-C".into(),
                    start: 5,
                    end: Some(50),
                },
                HealthHomeSpan {
                    id: "HH-A".into(),
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
