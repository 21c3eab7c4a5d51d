//! Column buffers for the input-layer tables the generator writes, and their conversion to
//! polars frames. Dates are kept as `NaiveDate` until the frame is built.

use chrono::NaiveDate;
use polars::prelude::*;

fn days(d: NaiveDate) -> i32 {
    d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
        .num_days() as i32
}

fn date_col(name: &str, v: &[Option<NaiveDate>]) -> PolarsResult<Column> {
    let s: Vec<Option<i32>> = v.iter().map(|d| d.map(days)).collect();
    Series::new(name.into(), s)
        .cast(&DataType::Date)
        .map(Column::from)
}

fn money_col(name: &str, cents: &[Option<i64>]) -> Column {
    let v: Vec<Option<f64>> = cents.iter().map(|c| c.map(|c| c as f64 / 100.0)).collect();
    Column::new(name.into(), v)
}

/// One row of `eligibility`.
#[derive(Debug, Clone)]
pub struct EligibilityRow {
    /// The person (`P` and eight digits); `member_id` is derived from it (`M` and the digits).
    pub person_id: String,
    /// `female` or `male`.
    pub gender: &'static str,
    /// Race, in Tuva's vocabulary (`white`, `black or african american`, …, `unknown`).
    pub race: &'static str,
    /// `hispanic or latino` or `not hispanic or latino`.
    pub ethnicity: &'static str,
    /// A five-digit ZIP code of [`crate::person::ZIPS`].
    pub zip_code: &'static str,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Date of death, when the person dies within the generated years.
    pub death_date: Option<NaiveDate>,
    /// First day of the coverage span (`enrollment_start_date`).
    pub start: NaiveDate,
    /// Last day of the coverage span (`enrollment_end_date`), inclusive.
    pub end: NaiveDate,
    /// Payer name: `MO HealthNet` for Medicaid, `Acme Commercial` otherwise.
    pub payer: &'static str,
    /// `medicaid` or `commercial`.
    pub payer_type: &'static str,
    /// Plan name: `FFS` for Medicaid, `PPO` for commercial coverage.
    pub plan: &'static str,
}

/// One line of `medical_claim`.
#[derive(Debug, Clone, Default)]
pub struct ClaimLine {
    /// The claim (person id, a dash, a type letter and a per-person sequence number).
    pub claim_id: String,
    /// Line number within the claim (`claim_line_number`), from 1.
    pub line: i64,
    /// True for a facility (institutional) claim, false for a professional one (`claim_type`).
    pub institutional: bool,
    /// The person the claim is for.
    pub person_id: String,
    /// First day of service of the claim (`claim_start_date`).
    pub start: Option<NaiveDate>,
    /// Last day of service of the claim (`claim_end_date`).
    pub end: Option<NaiveDate>,
    /// Service date of the line, written as both its start and end date.
    pub line_start: Option<NaiveDate>,
    /// Admission date of an inpatient stay.
    pub admission: Option<NaiveDate>,
    /// Discharge date of an inpatient stay.
    pub discharge: Option<NaiveDate>,
    /// Discharge status of a stay (`discharge_disposition_code`: `01` home, `02` transfer to
    /// another hospital, `20` died).
    pub discharge_status: Option<&'static str>,
    /// Place-of-service code of a professional line (`11` office, `23` ED, …).
    pub pos: Option<&'static str>,
    /// Bill type of an institutional line (`111` inpatient, `131` hospital outpatient, as for
    /// an ED visit).
    pub bill_type: Option<&'static str>,
    /// Revenue center code of an institutional line (`0450` ED, `0100` room and board, …).
    pub revenue: Option<&'static str>,
    /// CPT / HCPCS procedure code of the line.
    pub hcpcs: Option<String>,
    /// Amount paid, in cents (`paid_amount` in dollars); None where it is missing (about 1 % of
    /// ED facility lines).
    pub paid_cents: Option<i64>,
    /// ICD-10-CM diagnosis codes 1 to 3 (`diagnosis_code_1` is the principal one).
    pub dx: [Option<&'static str>; 3],
}

/// One fill of `pharmacy_claim`.
#[derive(Debug, Clone)]
pub struct Fill {
    /// The pharmacy claim (one line each).
    pub claim_id: String,
    /// The person the drug was dispensed to.
    pub person_id: String,
    /// Dispensing date.
    pub date: NaiveDate,
    /// National Drug Code (11 digits) of the drug dispensed.
    pub ndc: String,
    /// Days of supply of the fill (also written as its quantity).
    pub days_supply: i64,
    /// Amount paid, in cents (`paid_amount` in dollars).
    pub paid_cents: i64,
}

/// One row of `observation` or `lab_result`.
#[derive(Debug, Clone)]
pub struct Clinical {
    /// The row's id (`observation_id` or `lab_result_id`).
    pub id: String,
    /// The person observed or tested.
    pub person_id: String,
    /// Date of the observation, or of the lab result (written as its collection date too).
    pub date: NaiveDate,
    /// LOINC code of what was measured (`normalized_code`), e.g. `8480-6` systolic BP.
    pub code: &'static str,
    /// The value as text: a number, a SNOMED CT code or an answer such as `Never smoker`.
    pub result: String,
    /// Units of a numeric result (`normalized_units`), e.g. `mm[Hg]`, `kg/m2`, `%`.
    pub units: Option<&'static str>,
}

/// One span of `health_home_enrollment`.
#[derive(Debug, Clone)]
pub struct HealthHomeSpan {
    /// The enrolled person.
    pub person_id: String,
    /// The Health Home enrolled in (`HH-CMHC-01` … `HH-PC-06`).
    pub health_home_id: String,
    /// `cmhc` (community mental health center), `pchh` (primary care) or `dd` (developmental
    /// disabilities Health Home); its program is [`crate::person::program_of`].
    pub health_home_type: &'static str,
    /// First day of enrollment; the planted effect starts in its month.
    pub start: NaiveDate,
    /// Last day of enrollment; None while still enrolled.
    pub end: Option<NaiveDate>,
}

/// One row of `ground_truth.parquet`.
#[derive(Debug, Clone)]
pub struct Truth {
    /// The person the expectation is about.
    pub person_id: String,
    /// `eligibility` (one per person) or `care_gap` (one per expected care-gap row).
    pub kind: &'static str,
    /// The care-gap measure (`fuh_7`, `cbp`, …); None for an eligibility row.
    pub measure: Option<&'static str>,
    /// The care gap's index date (discharge, ED visit or MP end); the as-of date (last day of
    /// the last year) for eligibility.
    pub index_date: NaiveDate,
    /// `eligible` / `not_eligible`, or a care gap's `open` / `closed` / `excluded` / `no_row`.
    pub expected_status: &'static str,
    /// The program rules that hold, joined by `;`, or a care gap's exclusion reason (empty
    /// when there is none).
    pub expected_rule: String,
    /// What was planted, in words (conditions and evidence, or the scenario's name and case).
    pub description: String,
}

/// Everything generated for a set of persons.
#[derive(Debug, Default)]
pub struct Rows {
    /// Coverage rows (`eligibility`).
    pub eligibility: Vec<EligibilityRow>,
    /// Medical claim lines (`medical_claim`).
    pub medical: Vec<ClaimLine>,
    /// Pharmacy fills (`pharmacy_claim`).
    pub pharmacy: Vec<Fill>,
    /// Vitals and survey answers: blood pressure, BMI, tobacco status (`observation`).
    pub observation: Vec<Clinical>,
    /// Laboratory results: HbA1c, glucose (`lab_result`).
    pub lab: Vec<Clinical>,
    /// Health Home enrollment spans (`health_home_enrollment`).
    pub health_home: Vec<HealthHomeSpan>,
    /// The planted ground truth (`ground_truth.parquet`).
    pub truth: Vec<Truth>,
}

impl Rows {
    /// Append another set's rows after these, table by table.
    pub fn extend(&mut self, o: Rows) {
        self.eligibility.extend(o.eligibility);
        self.medical.extend(o.medical);
        self.pharmacy.extend(o.pharmacy);
        self.observation.extend(o.observation);
        self.lab.extend(o.lab);
        self.health_home.extend(o.health_home);
        self.truth.extend(o.truth);
    }

    /// The `eligibility` table of these rows, `member_id` and `data_source` added.
    pub fn eligibility_frame(&self) -> PolarsResult<DataFrame> {
        let r = &self.eligibility;
        DataFrame::new_infer_height(vec![
            Column::new(
                "person_id".into(),
                r.iter().map(|x| x.person_id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "member_id".into(),
                r.iter()
                    .map(|x| format!("M{}", &x.person_id[1..]))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "gender".into(),
                r.iter().map(|x| x.gender).collect::<Vec<_>>(),
            ),
            date_col(
                "birth_date",
                &r.iter().map(|x| Some(x.birth_date)).collect::<Vec<_>>(),
            )?,
            date_col(
                "death_date",
                &r.iter().map(|x| x.death_date).collect::<Vec<_>>(),
            )?,
            date_col(
                "enrollment_start_date",
                &r.iter().map(|x| Some(x.start)).collect::<Vec<_>>(),
            )?,
            date_col(
                "enrollment_end_date",
                &r.iter().map(|x| Some(x.end)).collect::<Vec<_>>(),
            )?,
            Column::new(
                "payer".into(),
                r.iter().map(|x| x.payer).collect::<Vec<_>>(),
            ),
            Column::new(
                "payer_type".into(),
                r.iter().map(|x| x.payer_type).collect::<Vec<_>>(),
            ),
            Column::new("plan".into(), r.iter().map(|x| x.plan).collect::<Vec<_>>()),
            Column::new(
                "data_source".into(),
                r.iter().map(|_| "caregap-synth").collect::<Vec<_>>(),
            ),
            Column::new("race".into(), r.iter().map(|x| x.race).collect::<Vec<_>>()),
            Column::new(
                "ethnicity".into(),
                r.iter().map(|x| x.ethnicity).collect::<Vec<_>>(),
            ),
            Column::new(
                "zip_code".into(),
                r.iter().map(|x| x.zip_code).collect::<Vec<_>>(),
            ),
            Column::new("state".into(), r.iter().map(|_| "MO").collect::<Vec<_>>()),
        ])
    }

    /// The `medical_claim` table of these rows (paid amounts in dollars).
    pub fn medical_frame(&self) -> PolarsResult<DataFrame> {
        let r = &self.medical;
        let s = |f: &dyn Fn(&ClaimLine) -> Option<&str>| r.iter().map(f).collect::<Vec<_>>();
        let d = |f: &dyn Fn(&ClaimLine) -> Option<NaiveDate>| r.iter().map(f).collect::<Vec<_>>();
        DataFrame::new_infer_height(vec![
            Column::new("claim_id".into(), s(&|x| Some(x.claim_id.as_str()))),
            Column::new(
                "claim_line_number".into(),
                r.iter().map(|x| x.line).collect::<Vec<_>>(),
            ),
            Column::new(
                "claim_type".into(),
                s(&|x| {
                    Some(if x.institutional {
                        "institutional"
                    } else {
                        "professional"
                    })
                }),
            ),
            Column::new("person_id".into(), s(&|x| Some(x.person_id.as_str()))),
            date_col("claim_start_date", &d(&|x| x.start))?,
            date_col("claim_end_date", &d(&|x| x.end))?,
            date_col("claim_line_start_date", &d(&|x| x.line_start))?,
            date_col("claim_line_end_date", &d(&|x| x.line_start))?,
            date_col("admission_date", &d(&|x| x.admission))?,
            date_col("discharge_date", &d(&|x| x.discharge))?,
            Column::new(
                "discharge_disposition_code".into(),
                s(&|x| x.discharge_status),
            ),
            Column::new("place_of_service_code".into(), s(&|x| x.pos)),
            Column::new("bill_type_code".into(), s(&|x| x.bill_type)),
            Column::new("revenue_center_code".into(), s(&|x| x.revenue)),
            Column::new("hcpcs_code".into(), s(&|x| x.hcpcs.as_deref())),
            money_col(
                "paid_amount",
                &r.iter().map(|x| x.paid_cents).collect::<Vec<_>>(),
            ),
            Column::new("diagnosis_code_type".into(), s(&|_| Some("icd-10-cm"))),
            Column::new("diagnosis_code_1".into(), s(&|x| x.dx[0])),
            Column::new("diagnosis_code_2".into(), s(&|x| x.dx[1])),
            Column::new("diagnosis_code_3".into(), s(&|x| x.dx[2])),
            Column::new("data_source".into(), s(&|_| Some("caregap-synth"))),
        ])
    }

    /// The `pharmacy_claim` table of these rows (paid amounts in dollars).
    pub fn pharmacy_frame(&self) -> PolarsResult<DataFrame> {
        let r = &self.pharmacy;
        DataFrame::new_infer_height(vec![
            Column::new(
                "claim_id".into(),
                r.iter().map(|x| x.claim_id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "claim_line_number".into(),
                r.iter().map(|_| 1i64).collect::<Vec<_>>(),
            ),
            Column::new(
                "person_id".into(),
                r.iter().map(|x| x.person_id.as_str()).collect::<Vec<_>>(),
            ),
            date_col(
                "dispensing_date",
                &r.iter().map(|x| Some(x.date)).collect::<Vec<_>>(),
            )?,
            Column::new(
                "ndc_code".into(),
                r.iter().map(|x| x.ndc.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "days_supply".into(),
                r.iter().map(|x| x.days_supply).collect::<Vec<_>>(),
            ),
            Column::new(
                "quantity".into(),
                r.iter().map(|x| x.days_supply as f64).collect::<Vec<_>>(),
            ),
            money_col(
                "paid_amount",
                &r.iter().map(|x| Some(x.paid_cents)).collect::<Vec<_>>(),
            ),
            Column::new(
                "data_source".into(),
                r.iter().map(|_| "caregap-synth").collect::<Vec<_>>(),
            ),
        ])
    }

    /// An `observation` or `lab_result` table of `rows`: `id_col` names the id column and each
    /// of `date_cols` gets the row's date (LOINC codes).
    pub fn clinical_frame(
        rows: &[Clinical],
        id_col: &str,
        date_cols: &[&str],
    ) -> PolarsResult<DataFrame> {
        let mut cols = vec![Column::new(
            id_col.into(),
            rows.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        )];
        cols.push(Column::new(
            "person_id".into(),
            rows.iter()
                .map(|x| x.person_id.as_str())
                .collect::<Vec<_>>(),
        ));
        for d in date_cols {
            cols.push(date_col(
                d,
                &rows.iter().map(|x| Some(x.date)).collect::<Vec<_>>(),
            )?);
        }
        cols.push(Column::new(
            "normalized_code_type".into(),
            rows.iter().map(|_| "loinc").collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            "normalized_code".into(),
            rows.iter().map(|x| x.code).collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            "result".into(),
            rows.iter().map(|x| x.result.as_str()).collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            "normalized_units".into(),
            rows.iter().map(|x| x.units).collect::<Vec<_>>(),
        ));
        DataFrame::new_infer_height(cols)
    }

    /// The `health_home_enrollment` table of these rows.
    pub fn health_home_frame(&self) -> PolarsResult<DataFrame> {
        let r = &self.health_home;
        DataFrame::new_infer_height(vec![
            Column::new(
                "person_id".into(),
                r.iter().map(|x| x.person_id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "health_home_id".into(),
                r.iter()
                    .map(|x| x.health_home_id.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "health_home_type".into(),
                r.iter().map(|x| x.health_home_type).collect::<Vec<_>>(),
            ),
            Column::new(
                "program_id".into(),
                r.iter()
                    .map(|x| crate::person::program_of(x.health_home_type))
                    .collect::<Vec<_>>(),
            ),
            date_col(
                "enrollment_start_date",
                &r.iter().map(|x| Some(x.start)).collect::<Vec<_>>(),
            )?,
            date_col(
                "enrollment_end_date",
                &r.iter().map(|x| x.end).collect::<Vec<_>>(),
            )?,
        ])
    }

    /// The `ground_truth.parquet` table of these rows.
    pub fn truth_frame(&self) -> PolarsResult<DataFrame> {
        let r = &self.truth;
        DataFrame::new_infer_height(vec![
            Column::new(
                "person_id".into(),
                r.iter().map(|x| x.person_id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new("kind".into(), r.iter().map(|x| x.kind).collect::<Vec<_>>()),
            Column::new(
                "measure".into(),
                r.iter().map(|x| x.measure).collect::<Vec<_>>(),
            ),
            date_col(
                "index_date",
                &r.iter().map(|x| Some(x.index_date)).collect::<Vec<_>>(),
            )?,
            Column::new(
                "expected_status".into(),
                r.iter().map(|x| x.expected_status).collect::<Vec<_>>(),
            ),
            Column::new(
                "expected_rule".into(),
                r.iter()
                    .map(|x| x.expected_rule.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "description".into(),
                r.iter().map(|x| x.description.as_str()).collect::<Vec<_>>(),
            ),
        ])
    }
}
