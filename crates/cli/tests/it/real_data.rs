//! Real public synthetic data nobody on this team wrote (`shared/data/`): the Tuva demo input
//! layer as it is, a Synthea CSV export and an OMOP CDM folder through the importers, each run
//! end to end. Every expected figure was counted by hand from the source files (the counting
//! is written beside each assertion), and one person per dataset is traced from raw rows to
//! output.

use std::path::{Path, PathBuf};

use caregap_cli::pipeline::{self, RunOptions, RunOutput};
use caregap_transform::Params;
use polars::prelude::*;

fn data(name: &str) -> PathBuf {
    crate::common::shared().join("data").join(name)
}

fn run(input: &Path, out: &Path, year: i32, coverage: &[&str]) -> RunOutput {
    let mut opts = RunOptions::new(
        input.to_path_buf(),
        out.to_path_buf(),
        Params::calendar_year(year).with_coverage_types(coverage),
    );
    opts.bootstrap.draws = 50;
    pipeline::run(&opts).unwrap()
}

fn rows(df: &DataFrame, filter: Expr) -> DataFrame {
    df.clone().lazy().filter(filter).collect().unwrap()
}

fn s(df: &DataFrame, c: &str, i: usize) -> String {
    match df.column(c).unwrap().get(i).unwrap() {
        AnyValue::Null => "null".into(),
        AnyValue::String(x) => x.to_string(),
        AnyValue::Date(d) => caregap_transform::params::from_epoch_days(d).to_string(),
        AnyValue::List(l) => format!(
            "{:?}",
            l.str().unwrap().iter().flatten().collect::<Vec<_>>()
        ),
        v => v.to_string(),
    }
}

fn month_members(r: &RunOutput, month: &str) -> i64 {
    let u = rows(
        &r.outputs["utilization_monthly"],
        col("group")
            .eq(lit("all"))
            .and(col("month").cast(DataType::String).eq(lit(month))),
    );
    u.column("member_months")
        .unwrap()
        .i64()
        .unwrap()
        .get(0)
        .unwrap()
}

#[test]
fn tuva_demo_runs_as_it_is() {
    let d = tempfile::tempdir().unwrap();
    let r = run(&data("tuva_demo"), d.path(), 2018, &["medicare"]);
    let m = &r.manifest;
    // Persons: distinct patient_id in eligibility.csv = 52.
    assert_eq!(m.summary.persons, 52);
    // Member-months, January 2018: patients with a medicare span overlapping 2018-01 = 47.
    assert_eq!(month_members(&r, "2018-01-01"), 47);
    // Acute stays: institutional claims with bill_type_code 11x: 6 claim ids (920994, 1210318,
    // 1133126, 779857, 1644256, 397285), no two of one patient within a day: 6 stays.
    assert_eq!(m.summary.acute_stays, 6);
    // ED visits: distinct (patient_id, service date) with revenue 045x/0981, POS 23 or
    // 99281–99285 = 44.
    assert_eq!(m.summary.ed_visits, 44);
    // BP readings: claims only; CPT II 3074F–3080F lines dated in 2018 = 2.
    assert_eq!(m.summary.bp_readings, 2);
    // The older Tuva key patient_id is accepted and recorded.
    assert!(m
        .inputs
        .iter()
        .all(|f| f.column_aliases.get("person_id").map(String::as_str) == Some("patient_id")));
    // Trace, patient 11912: claim 779857 is bill type 111, 2018-08-09 … 2018-08-11 with no
    // admission/discharge dates (claim dates stand in), I48.92 (atrial flutter) on its lines;
    // I48x also on professional claims on 2018-01-23, 02-26, … So cardiovascular is present,
    // with an inpatient line. Medicare runs 2017-12-01 … 2018-09-30, so D … D+7 is covered and
    // the patient is 69: a tcm_7 row at 2018-08-11. No claim of 11912 is dated 08-12 … 08-18,
    // so it is open. Not covered on 2018-12-31: not eligible.
    let c = rows(
        &r.outputs["conditions"],
        col("person_id")
            .eq(lit("11912"))
            .and(col("condition").eq(lit("cardiovascular"))),
    );
    assert_eq!(s(&c, "inpatient", 0), "true");
    let g = rows(&r.outputs["care_gaps"], col("person_id").eq(lit("11912")));
    assert_eq!(g.height(), 1);
    assert_eq!(
        (
            s(&g, "measure", 0),
            s(&g, "index_date", 0),
            s(&g, "status", 0)
        ),
        ("tcm_7".into(), "2018-08-11".into(), "open".into())
    );
    assert_eq!(s(&g, "index_evidence", 0), "[\"779857\"]");
    let e = rows(&r.outputs["eligibility"], col("person_id").eq(lit("11912")));
    assert_eq!(s(&e, "eligible", 0), "false");
}

#[test]
fn synthea_imports_and_runs() {
    let d = tempfile::tempdir().unwrap();
    let rep = caregap_import::synthea::import(&data("synthea"), &d.path().join("in")).unwrap();
    // Every encounter becomes one claim line; every payer transition one eligibility row.
    assert_eq!(rep.rows_written["medical_claim"], 1876);
    assert_eq!(rep.rows_written["eligibility"], 1664);
    let r = run(
        &d.path().join("in"),
        &d.path().join("out"),
        2021,
        &["medicaid", "medicare", "commercial"],
    );
    let m = &r.manifest;
    assert_eq!(r.outputs["rejects"].height(), 0, "{}", r.outputs["rejects"]);
    // Persons: patients.csv has 38 rows.
    assert_eq!(m.summary.persons, 38);
    // Inpatient: 66 `inpatient` encounters, none within a day of the patient's previous one.
    assert_eq!(m.summary.acute_stays, 66);
    // ED: 75 `emergency` encounters on 75 distinct (patient, date).
    assert_eq!(m.summary.ed_visits, 75);
    // Member-months, January 2021: patients with a non-NO_INSURANCE payer transition
    // overlapping 2021-01 = 28.
    assert_eq!(month_members(&r, "2021-01-01"), 28);
    // BP: observations with CODE 8480-6 or 8462-4 dated in 2021 = 102 rows.
    assert_eq!(m.summary.bp_readings, 102);
    // Trace, patient ef3b60ab-…: born 2000-03-18; condition 59621000 (hypertension) from
    // 2018-05-12, open. Encounters in CBP's window 2020-01-01 … 2021-06-30: wellness
    // 2020-05-23 (99395), outpatient 2021-02-09 (99213), wellness 2021-05-29 (99395): three
    // dates with hypertension active. Commercial coverage (Anthem, Humana) covers all of 2021.
    // The only 2021 BP is 133/73 on 2021-05-29: cbp closed on that date.
    let g = rows(
        &r.outputs["care_gaps"],
        col("person_id")
            .eq(lit("ef3b60ab-e7fc-9eee-4321-0638d1ae4e8a"))
            .and(col("measure").eq(lit("cbp"))),
    );
    assert_eq!(g.height(), 1);
    assert_eq!(
        (s(&g, "status", 0), s(&g, "closing_date", 0)),
        ("closed".into(), "2021-05-29".into())
    );
    let c = rows(
        &r.outputs["conditions"],
        col("person_id").eq(lit("ef3b60ab-e7fc-9eee-4321-0638d1ae4e8a")),
    );
    assert!((0..c.height()).any(|i| s(&c, "condition", i) == "cardiovascular"));
}

#[test]
fn omop_imports_and_runs() {
    let d = tempfile::tempdir().unwrap();
    let rep = caregap_import::omop::import(&data("omop_eunomia_synthea27nj"), &d.path().join("in"))
        .unwrap();
    assert_eq!(
        rep.rows_written["eligibility"], 16,
        "one observation period per person"
    );
    assert_eq!(
        rep.unmapped["visits without a COST row (paid_amount null)"],
        1367
    );
    let r = run(
        &d.path().join("in"),
        &d.path().join("out"),
        2019,
        &["observation_period"],
    );
    let m = &r.manifest;
    // Persons: PERSON.csv has 16 rows.
    assert_eq!(m.summary.persons, 16);
    // Inpatient: 13 visits with visit_concept_id 9201, none within a day of another.
    assert_eq!(m.summary.acute_stays, 13);
    // ED: 43 visits with 9203 on 43 distinct (person, date).
    assert_eq!(m.summary.ed_visits, 43);
    // Member-months, June 2019: observation periods overlapping 2019-06.
    assert_eq!(month_members(&r, "2019-06-01"), 14);
    // Trace, person 12: born 1996; CONDITION_OCCURRENCE 59621000 (essential hypertension) from
    // 2014-05-12, no end. Outpatient visits (9202) in 2018-01-01 … 2019-06-30: 836, 852, 871,
    // 837, 869. Observation period 2003-01-01 … 2022-06-27. MEASUREMENT 5084/5085 on 2019-06-10:
    // 105 / 75, the only 2019 BP: cbp closed 2019-06-10, evidence M5084 and M5085.
    let g = rows(
        &r.outputs["care_gaps"],
        col("person_id")
            .eq(lit("12"))
            .and(col("measure").eq(lit("cbp"))),
    );
    assert_eq!(
        (s(&g, "status", 0), s(&g, "closing_date", 0)),
        ("closed".into(), "2019-06-10".into())
    );
    assert_eq!(
        s(&g, "closing_evidence", 0),
        "[\"OMOP-M5084\", \"OMOP-M5085\"]"
    );
    assert_eq!(
        s(&g, "index_evidence", 0),
        "[\"OMOP-V836\", \"OMOP-V837\", \"OMOP-V852\", \"OMOP-V869\", \"OMOP-V871\"]"
    );
}
