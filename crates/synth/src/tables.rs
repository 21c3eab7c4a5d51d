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
    pub person_id: String,
    pub gender: &'static str,
    pub birth_date: NaiveDate,
    pub death_date: Option<NaiveDate>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub payer: &'static str,
    pub payer_type: &'static str,
    pub plan: &'static str,
}

/// One line of `medical_claim`.
#[derive(Debug, Clone, Default)]
pub struct ClaimLine {
    pub claim_id: String,
    pub line: i64,
    pub institutional: bool,
    pub person_id: String,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub line_start: Option<NaiveDate>,
    pub admission: Option<NaiveDate>,
    pub discharge: Option<NaiveDate>,
    pub discharge_status: Option<&'static str>,
    pub pos: Option<&'static str>,
    pub bill_type: Option<&'static str>,
    pub revenue: Option<&'static str>,
    pub hcpcs: Option<String>,
    pub paid_cents: Option<i64>,
    pub dx: [Option<&'static str>; 3],
}

/// One fill of `pharmacy_claim`.
#[derive(Debug, Clone)]
pub struct Fill {
    pub claim_id: String,
    pub person_id: String,
    pub date: NaiveDate,
    pub ndc: String,
    pub days_supply: i64,
    pub paid_cents: i64,
}

/// One row of `observation` or `lab_result`.
#[derive(Debug, Clone)]
pub struct Clinical {
    pub id: String,
    pub person_id: String,
    pub date: NaiveDate,
    pub code: &'static str,
    pub result: String,
    pub units: Option<&'static str>,
}

/// One span of `health_home_enrollment`.
#[derive(Debug, Clone)]
pub struct HealthHomeSpan {
    pub person_id: String,
    pub health_home_id: String,
    pub health_home_type: &'static str,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

/// One row of `ground_truth.parquet`.
#[derive(Debug, Clone)]
pub struct Truth {
    pub person_id: String,
    pub kind: &'static str,
    pub measure: Option<&'static str>,
    pub index_date: NaiveDate,
    pub expected_status: &'static str,
    pub expected_rule: String,
    pub description: String,
}

/// Everything generated for a set of persons.
#[derive(Debug, Default)]
pub struct Rows {
    pub eligibility: Vec<EligibilityRow>,
    pub medical: Vec<ClaimLine>,
    pub pharmacy: Vec<Fill>,
    pub observation: Vec<Clinical>,
    pub lab: Vec<Clinical>,
    pub health_home: Vec<HealthHomeSpan>,
    pub truth: Vec<Truth>,
}

impl Rows {
    pub fn extend(&mut self, o: Rows) {
        self.eligibility.extend(o.eligibility);
        self.medical.extend(o.medical);
        self.pharmacy.extend(o.pharmacy);
        self.observation.extend(o.observation);
        self.lab.extend(o.lab);
        self.health_home.extend(o.health_home);
        self.truth.extend(o.truth);
    }

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
        ])
    }

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
