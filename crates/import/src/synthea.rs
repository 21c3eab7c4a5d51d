//! Synthea CSV export → input layer. Every mapping decision is in `docs/import-synthea.md`.
//!
//! - **eligibility**: one row per `payer_transitions` row (START_YEAR … END_YEAR, date parts of
//!   the UTC timestamps), payer type from the payer's name (`Medicaid` and `Dual Eligible` →
//!   `medicaid`, `Medicare` → `medicare`, `NO_INSURANCE` → `uninsured`, others →
//!   `commercial`); a patient with no payer transition gets one `uninsured` row from birth to
//!   death or to the last encounter, so that the person still exists (age, conditions).
//! - **medical_claim**: one claim per encounter (claim_id = encounter Id), by ENCOUNTERCLASS:
//!   `inpatient` → institutional, bill type 111, admission START, discharge STOP (START when
//!   STOP is missing); `emergency` → institutional, bill type 131, revenue 0450, POS 23;
//!   `snf` → bill type 211; `hospice` → bill type 811; `ambulatory` / `outpatient` /
//!   `urgentcare` / `home` / `virtual` / `wellness` → professional lines with an E/M code and
//!   POS. Diagnoses: the encounter's REASONCODE first, then the SNOMED CT conditions active on
//!   the encounter date; `diagnosis_code_type = snomed-ct`. paid_amount = PAYER_COVERAGE.
//! - **observation** / **lab_result**: `observations.csv`, laboratory rows to lab_result, the
//!   rest (vital signs incl. BP and BMI, survey answers incl. tobacco status) to observation.
//! - **pharmacy_claim**: `medications.csv`, one fill per dispense (DISPENSES fills
//!   spread evenly over START … STOP), RxNorm code in `rxnorm_code`, paid = PAYER_COVERAGE
//!   split in cents.
//!
//! Tables are found and checked by `source.rs`: file and column names in any case, a
//! malformed table an error naming the file and the column. Every table read is required.

use std::path::Path;

use polars::prelude::*;

use crate::null_of;

use crate::source::Source;
use crate::{count, date_of, diagnosis_columns, write_tables, ImportError, ImportReport};

const FORMAT: &str = "synthea";

/// The files read and the columns the mapping reads of each, as Synthea spells them (every one
/// must be present; its values may be empty).
mod tables {
    use crate::source::Kind::{Date, Integer, Number, Text};
    use crate::source::Table;

    pub const PATIENTS: Table = Table {
        stem: "patients",
        columns: &[("Id", Text), ("BIRTHDATE", Date), ("DEATHDATE", Date)],
    };
    pub const PAYERS: Table = Table {
        stem: "payers",
        columns: &[("Id", Text), ("NAME", Text)],
    };
    pub const PAYER_TRANSITIONS: Table = Table {
        stem: "payer_transitions",
        columns: &[
            ("PATIENT", Text),
            ("MEMBERID", Text),
            ("START_YEAR", Date),
            ("END_YEAR", Date),
            ("PAYER", Text),
        ],
    };
    pub const ENCOUNTERS: Table = Table {
        stem: "encounters",
        columns: &[
            ("Id", Text),
            ("START", Date),
            ("STOP", Date),
            ("PATIENT", Text),
            ("ENCOUNTERCLASS", Text),
            ("PAYER_COVERAGE", Number),
            ("REASONCODE", Text),
        ],
    };
    pub const CONDITIONS: Table = Table {
        stem: "conditions",
        columns: &[
            ("START", Date),
            ("STOP", Date),
            ("PATIENT", Text),
            ("CODE", Text),
        ],
    };
    pub const OBSERVATIONS: Table = Table {
        stem: "observations",
        columns: &[
            ("DATE", Date),
            ("PATIENT", Text),
            ("ENCOUNTER", Text),
            ("CATEGORY", Text),
            ("CODE", Text),
            ("VALUE", Text),
            ("UNITS", Text),
        ],
    };
    pub const MEDICATIONS: Table = Table {
        stem: "medications",
        columns: &[
            ("START", Date),
            ("STOP", Date),
            ("PATIENT", Text),
            ("CODE", Text),
            ("PAYER_COVERAGE", Number),
            ("DISPENSES", Integer),
        ],
    };
}

/// Payer name → payer_type.
fn payer_type(name: Expr) -> Expr {
    let n = name.str().to_lowercase();
    when(
        n.clone()
            .eq(lit("medicaid"))
            .or(n.clone().eq(lit("dual eligible"))),
    )
    .then(lit("medicaid"))
    .when(n.clone().eq(lit("medicare")))
    .then(lit("medicare"))
    .when(n.eq(lit("no_insurance")))
    .then(lit("uninsured"))
    .otherwise(lit("commercial"))
}

/// Import a Synthea CSV folder into `out`.
pub fn import(input: &Path, out: &Path) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport {
        source_format: FORMAT.into(),
        ..Default::default()
    };
    let src = Source::open(FORMAT, input, &["csv"])?;
    let patients = src.required(&tables::PATIENTS, &mut report)?;
    let payers = src.required(&tables::PAYERS, &mut report)?;
    let transitions = src.required(&tables::PAYER_TRANSITIONS, &mut report)?;
    let encounters = src.required(&tables::ENCOUNTERS, &mut report)?;
    let conditions = src.required(&tables::CONDITIONS, &mut report)?;
    let observations = src.required(&tables::OBSERVATIONS, &mut report)?;
    let medications = src.required(&tables::MEDICATIONS, &mut report)?;
    for (name, lf) in [
        ("patients", &patients),
        ("payer_transitions", &transitions),
        ("encounters", &encounters),
        ("conditions", &conditions),
        ("observations", &observations),
        ("medications", &medications),
    ] {
        report.rows_read.insert(name.into(), count(lf)?);
    }

    // --- eligibility ---
    let people = patients.clone().select([
        col("Id").alias("person_id"),
        date_of(col("BIRTHDATE")).alias("birth_date"),
        date_of(col("DEATHDATE")).alias("death_date"),
    ]);
    let spans = transitions
        .clone()
        .join(
            payers.clone().select([col("Id"), col("NAME")]),
            [col("PAYER")],
            [col("Id")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("PATIENT").alias("person_id"),
            col("MEMBERID").alias("member_id"),
            date_of(col("START_YEAR")).alias("enrollment_start_date"),
            date_of(col("END_YEAR")).alias("enrollment_end_date"),
            col("NAME").fill_null(lit("unknown payer")).alias("payer"),
            payer_type(col("NAME").fill_null(lit("unknown"))).alias("payer_type"),
        ])
        .with_column(
            // A span whose end precedes its start (seen when a transition ends on the day it
            // begins, in a later time zone) is kept as a one-day span.
            when(col("enrollment_end_date").lt(col("enrollment_start_date")))
                .then(col("enrollment_start_date"))
                .otherwise(col("enrollment_end_date"))
                .alias("enrollment_end_date"),
        );
    let last_encounter = encounters
        .clone()
        .group_by([col("PATIENT")])
        .agg([date_of(coalesce(&[col("STOP"), col("START")]))
            .max()
            .alias("last_seen")]);
    let no_payer = people
        .clone()
        .join(
            spans.clone(),
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Anti),
        )
        .join(
            last_encounter,
            [col("person_id")],
            [col("PATIENT")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("person_id"),
            null_of(DataType::String, "member_id"),
            col("birth_date").alias("enrollment_start_date"),
            coalesce(&[col("death_date"), col("last_seen"), col("birth_date")])
                .alias("enrollment_end_date"),
            lit("NO_INSURANCE").alias("payer"),
            lit("uninsured").alias("payer_type"),
        ]);
    report.note(
        "patients without any payer (one uninsured span written)",
        count(&no_payer)?,
    );
    let eligibility = concat([spans, no_payer], UnionArgs::default())?
        .join(
            people.clone(),
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("person_id"),
            col("member_id"),
            col("birth_date"),
            col("death_date"),
            col("enrollment_start_date"),
            col("enrollment_end_date"),
            col("payer"),
            col("payer_type"),
            lit("synthea").alias("data_source"),
        ])
        .sort(["person_id", "enrollment_start_date"], Default::default())
        .collect()?;

    // --- medical_claim ---
    let enc = encounters.clone().with_columns([
        date_of(col("START")).alias("d_start"),
        date_of(col("STOP")).alias("d_stop"),
        col("ENCOUNTERCLASS").str().to_lowercase().alias("class"),
    ]);
    let inpatient_no_stop = enc.clone().filter(
        col("class")
            .eq(lit("inpatient"))
            .and(col("d_stop").is_null()),
    );
    report.note(
        "inpatient encounters without a stop time (discharge = admission date)",
        count(&inpatient_no_stop)?,
    );
    let known = [
        "inpatient",
        "emergency",
        "snf",
        "hospice",
        "ambulatory",
        "outpatient",
        "urgentcare",
        "home",
        "virtual",
        "wellness",
    ];
    let unknown_class = enc.clone().filter(
        col("class")
            .is_in(
                lit(Series::new("".into(), known.to_vec())).implode(false),
                false,
            )
            .not(),
    );
    report.note(
        "encounters of an unknown class (professional line, no visit code)",
        count(&unknown_class)?,
    );

    // Conditions active on the encounter date (START ≤ date ≤ STOP, open when STOP is empty).
    let cond = conditions.clone().select([
        col("PATIENT"),
        date_of(col("START")).alias("c_start"),
        date_of(col("STOP")).alias("c_stop"),
        col("CODE").alias("code"),
    ]);
    let active = enc
        .clone()
        .select([col("Id"), col("PATIENT"), col("d_start"), col("REASONCODE")])
        .join(
            cond,
            [col("PATIENT")],
            [col("PATIENT")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(
            col("c_start")
                .lt_eq(col("d_start"))
                .and(
                    col("c_stop")
                        .is_null()
                        .or(col("c_stop").gt_eq(col("d_start"))),
                )
                .and(
                    col("REASONCODE")
                        .is_null()
                        .or(col("code").neq(col("REASONCODE"))),
                ),
        )
        .group_by([col("Id")])
        .agg([col("code")
            .unique()
            .sort(Default::default())
            .alias("active")]);
    let is = |c: &str| col("class").eq(lit(c));
    let professional = is("ambulatory")
        .or(is("outpatient"))
        .or(is("urgentcare"))
        .or(is("home"))
        .or(is("virtual"))
        .or(is("wellness"));
    let age_at = (col("d_start").dt().year() - col("birth_year")).alias("age");
    let claims = enc
        .join(
            active,
            [col("Id")],
            [col("Id")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            patients.clone().select([
                col("Id").alias("pid"),
                date_of(col("BIRTHDATE")).dt().year().alias("birth_year"),
            ]),
            [col("PATIENT")],
            [col("pid")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            age_at,
            // Reason first, then the active conditions (the reason is not repeated).
            when(col("active").is_null())
                .then(concat_list([col("REASONCODE")])?)
                .otherwise(concat_list([col("REASONCODE"), col("active")])?)
                .list()
                .drop_nulls()
                .alias("dx"),
        ]);
    let claims = claims.with_columns([
        when(professional.clone())
            .then(lit("professional"))
            .otherwise(lit("institutional"))
            .alias("claim_type"),
        when(is("inpatient"))
            .then(lit("111"))
            .when(is("emergency"))
            .then(lit("131"))
            .when(is("snf"))
            .then(lit("211"))
            .when(is("hospice"))
            .then(lit("811"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("bill_type_code"),
        when(is("emergency"))
            .then(lit("0450"))
            .when(is("inpatient").or(is("snf")))
            .then(lit("0100"))
            .when(is("hospice"))
            .then(lit("0651"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("revenue_center_code"),
        when(is("emergency"))
            .then(lit("23"))
            .when(is("ambulatory"))
            .then(lit("11"))
            .when(is("wellness"))
            .then(lit("11"))
            .when(is("outpatient"))
            .then(lit("22"))
            .when(is("urgentcare"))
            .then(lit("20"))
            .when(is("home"))
            .then(lit("12"))
            .when(is("virtual"))
            .then(lit("02"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("place_of_service_code"),
        when(is("wellness").and(col("age").lt(lit(18))))
            .then(lit("99393"))
            .when(is("wellness").and(col("age").lt(lit(40))))
            .then(lit("99395"))
            .when(is("wellness").and(col("age").lt(lit(65))))
            .then(lit("99396"))
            .when(is("wellness"))
            .then(lit("99397"))
            .when(is("home"))
            .then(lit("99349"))
            .when(
                is("ambulatory")
                    .or(is("outpatient"))
                    .or(is("urgentcare"))
                    .or(is("virtual")),
            )
            .then(lit("99213"))
            .when(is("emergency"))
            .then(lit("99284"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("hcpcs_code"),
        when(is("inpatient").or(is("snf")).or(is("hospice")))
            .then(col("d_start"))
            .otherwise(lit(NULL).cast(DataType::Date))
            .alias("admission_date"),
        when(is("inpatient").or(is("snf")).or(is("hospice")))
            .then(coalesce(&[col("d_stop"), col("d_start")]))
            .otherwise(lit(NULL).cast(DataType::Date))
            .alias("discharge_date"),
    ]);
    let mut sel = vec![
        col("Id").alias("claim_id"),
        lit(1i64).cast(DataType::Int64).alias("claim_line_number"),
        col("claim_type"),
        col("PATIENT").alias("person_id"),
        col("d_start").alias("claim_start_date"),
        coalesce(&[col("d_stop"), col("d_start")]).alias("claim_end_date"),
        col("d_start").alias("claim_line_start_date"),
        col("admission_date"),
        col("discharge_date"),
        when(is("inpatient"))
            .then(lit("01"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("discharge_disposition_code"),
        col("place_of_service_code"),
        col("bill_type_code"),
        col("revenue_center_code"),
        col("hcpcs_code"),
        col("PAYER_COVERAGE")
            .cast(DataType::Float64)
            .alias("paid_amount"),
        lit("snomed-ct").alias("diagnosis_code_type"),
    ];
    sel.extend(diagnosis_columns("dx"));
    sel.push(lit("synthea").alias("data_source"));
    let medical = claims
        .select(sel)
        .sort(
            ["person_id", "claim_start_date", "claim_id"],
            Default::default(),
        )
        .collect()?;

    // --- observation / lab_result ---
    let obs = observations.with_row_index("row", Some(1)).with_columns([
        date_of(col("DATE")).alias("date"),
        col("CATEGORY").str().to_lowercase().alias("category"),
    ]);
    let clinical = |lab: bool, id: &str, date_cols: &[&str]| {
        let mut s = vec![
            concat_str(
                [lit("SYN-OBS-"), col("row").cast(DataType::String)],
                "",
                false,
            )
            .alias(id),
            col("PATIENT").alias("person_id"),
            col("ENCOUNTER").alias("encounter_id"),
        ];
        s.extend(date_cols.iter().map(|c| col("date").alias(*c)));
        s.extend([
            lit("loinc").alias("normalized_code_type"),
            col("CODE").alias("normalized_code"),
            col("VALUE").alias("result"),
            col("UNITS").alias("normalized_units"),
            lit("synthea").alias("data_source"),
        ]);
        let f = col("category").eq(lit("laboratory"));
        obs.clone()
            .filter(if lab {
                f
            } else {
                f.not().or(col("category").is_null())
            })
            .select(s)
    };
    let observation = clinical(false, "observation_id", &["observation_date"]).collect()?;
    let lab_result =
        clinical(true, "lab_result_id", &["result_date", "collection_date"]).collect()?;

    // --- pharmacy_claim: one fill per dispense, spread evenly over START … STOP (an ongoing
    // medication runs to the export's last encounter date) ---
    let export_end = encounters
        .clone()
        .select([date_of(coalesce(&[col("STOP"), col("START")]))
            .max()
            .alias("end")])
        .collect()?;
    let export_end = export_end
        .column("end")?
        .cast(&DataType::Int32)?
        .i32()?
        .get(0)
        .unwrap_or(0);
    let meds = medications
        .with_row_index("row", Some(1))
        .with_columns([
            col("DISPENSES")
                .cast(DataType::Int64)
                .fill_null(lit(1))
                .alias("n"),
            (col("PAYER_COVERAGE")
                .cast(DataType::Float64)
                .fill_null(lit(0.0))
                * lit(100.0))
            .round(0, RoundMode::HalfAwayFromZero)
            .cast(DataType::Int64)
            .alias("cents"),
            date_of(col("START")).alias("d_start"),
            date_of(col("STOP")).alias("d_stop"),
        ])
        .with_column(
            when(col("n").lt(lit(1)))
                .then(lit(1i64))
                .otherwise(col("n"))
                .alias("n"),
        )
        .with_column(int_ranges(lit(0i64), col("n"), lit(1i64), DataType::Int64).alias("k"))
        .explode(
            by_name(["k"], true, false),
            ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            },
        )
        .with_column(
            (coalesce(&[col("d_stop").cast(DataType::Int32), lit(export_end)])
                - col("d_start").cast(DataType::Int32))
            .cast(DataType::Int64)
            .alias("span"),
        )
        .with_columns([
            (col("d_start").cast(DataType::Int32)
                + (when(col("span").gt(lit(0i64)))
                    .then(col("span"))
                    .otherwise(lit(0i64))
                    * col("k")
                    / col("n"))
                .cast(DataType::Int32))
            .cast(DataType::Date)
            .alias("fill_date"),
            (col("cents") / col("n")
                + when(col("k").lt(col("cents") % col("n")))
                    .then(lit(1i64))
                    .otherwise(lit(0i64)))
            .alias("fill_cents"),
        ]);
    let ongoing = meds
        .clone()
        .filter(col("d_stop").is_null().and(col("k").eq(lit(0i64))));
    report.note(
        "medications without STOP (fills spread to the export's last encounter date)",
        count(&ongoing)?,
    );
    let pharmacy = meds
        .select([
            concat_str(
                [
                    lit("SYN-RX-"),
                    col("row").cast(DataType::String),
                    lit("-"),
                    col("k").cast(DataType::String),
                ],
                "",
                false,
            )
            .alias("claim_id"),
            lit(1i64).cast(DataType::Int64).alias("claim_line_number"),
            col("PATIENT").alias("person_id"),
            col("fill_date").alias("dispensing_date"),
            null_of(DataType::String, "ndc_code"),
            col("CODE").alias("rxnorm_code"),
            lit(30i64).cast(DataType::Int64).alias("days_supply"),
            (col("fill_cents").cast(DataType::Float64) / lit(100.0)).alias("paid_amount"),
            lit("synthea").alias("data_source"),
        ])
        .collect()?;

    write_tables(
        out,
        vec![
            ("eligibility", eligibility),
            ("medical_claim", medical),
            ("observation", observation),
            ("lab_result", lab_result),
            ("pharmacy_claim", pharmacy),
        ],
        &mut report,
    )?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(dir: &Path, name: &str, text: &str) {
        fs::write(dir.join(name), text).unwrap();
    }

    /// A minimal export: P1 with Medicaid, P2 with no payer transition at all.
    fn export(dir: &Path, encounters: &str) {
        write(
            dir,
            "patients.csv",
            "Id,BIRTHDATE,DEATHDATE\nP1,1980-01-01,\nP2,1990-05-05,\n",
        );
        write(dir, "payers.csv", "Id,NAME\nMCD,Medicaid\n");
        write(dir, "payer_transitions.csv", "PATIENT,MEMBERID,START_YEAR,END_YEAR,PAYER\nP1,M1,2020-01-01T00:00:00Z,2022-01-01T00:00:00Z,MCD\n");
        write(dir, "encounters.csv", &format!("Id,START,STOP,PATIENT,PAYER,ENCOUNTERCLASS,CODE,PAYER_COVERAGE,REASONCODE\n{encounters}"));
        write(dir, "conditions.csv", "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n2020-06-01,,P1,X,59621000,Hypertension\n");
        write(
            dir,
            "observations.csv",
            "DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE\n",
        );
        write(dir, "medications.csv", "START,STOP,PATIENT,PAYER,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,PAYER_COVERAGE,DISPENSES,TOTALCOST\n2021-01-01T00:00:00Z,2021-03-31T00:00:00Z,P1,MCD,E1,860975,metformin,1,10.01,3,3\n");
    }

    fn read(path: &Path) -> DataFrame {
        ParquetReader::new(fs::File::open(path).unwrap())
            .finish()
            .unwrap()
    }

    #[test]
    fn encounter_spanning_midnight_starts_on_its_start_date() {
        let d = tempfile::tempdir().unwrap();
        export(
            d.path(),
            "E1,2021-03-01T23:30:00Z,2021-03-02T00:40:00Z,P1,MCD,emergency,50849002,120.50,\n",
        );
        import(d.path(), &d.path().join("out")).unwrap();
        let m = read(&d.path().join("out/medical_claim.parquet"));
        let start = m
            .column("claim_start_date")
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        let end = m
            .column("claim_end_date")
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        assert_eq!(start.str().unwrap().get(0), Some("2021-03-01"));
        assert_eq!(end.str().unwrap().get(0), Some("2021-03-02"));
        assert_eq!(
            m.column("revenue_center_code")
                .unwrap()
                .str()
                .unwrap()
                .get(0),
            Some("0450")
        );
        // The hypertension active since 2020-06-01 is a diagnosis of the visit.
        assert_eq!(
            m.column("diagnosis_code_1").unwrap().str().unwrap().get(0),
            Some("59621000")
        );
        // Three fills of the medication, paid 10.01 split exactly: 3.34 + 3.34 + 3.33.
        let rx = read(&d.path().join("out/pharmacy_claim.parquet"));
        assert_eq!(rx.height(), 3);
        let paid: f64 = rx
            .column("paid_amount")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .flatten()
            .sum();
        assert!((paid - 10.01).abs() < 1e-9);
    }

    #[test]
    fn inpatient_without_stop_is_a_one_day_stay_and_counted() {
        let d = tempfile::tempdir().unwrap();
        export(
            d.path(),
            "E1,2021-03-01T10:00:00Z,,P1,MCD,inpatient,1,5000,\n",
        );
        let rep = import(d.path(), &d.path().join("out")).unwrap();
        assert_eq!(
            rep.unmapped["inpatient encounters without a stop time (discharge = admission date)"],
            1
        );
        let m = read(&d.path().join("out/medical_claim.parquet"));
        let dis = m
            .column("discharge_date")
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        assert_eq!(dis.str().unwrap().get(0), Some("2021-03-01"));
        assert_eq!(
            m.column("bill_type_code").unwrap().str().unwrap().get(0),
            Some("111")
        );
    }

    #[test]
    fn patient_with_no_payer_gets_an_uninsured_span() {
        let d = tempfile::tempdir().unwrap();
        export(
            d.path(),
            "E1,2021-03-01T10:00:00Z,2021-03-01T11:00:00Z,P2,,ambulatory,1,0,\n",
        );
        let rep = import(d.path(), &d.path().join("out")).unwrap();
        assert_eq!(
            rep.unmapped["patients without any payer (one uninsured span written)"],
            1
        );
        let e = read(&d.path().join("out/eligibility.parquet"));
        let p2 = e
            .clone()
            .lazy()
            .filter(col("person_id").eq(lit("P2")))
            .collect()
            .unwrap();
        assert_eq!(p2.height(), 1);
        assert_eq!(
            p2.column("payer_type").unwrap().str().unwrap().get(0),
            Some("uninsured")
        );
        let end = p2
            .column("enrollment_end_date")
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        assert_eq!(
            end.str().unwrap().get(0),
            Some("2021-03-01"),
            "to the last encounter"
        );
    }
}
