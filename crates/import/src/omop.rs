//! OMOP CDM 5.3 / 5.4 (CSV or Parquet) → input layer. Mapping decisions are in
//! `docs/import-omop.md`.
//!
//! - **eligibility**: PAYER_PLAN_PERIOD spans when the table has rows (payer_type from
//!   payer_source_value: containing `medicaid` → `medicaid`, `medicare` → `medicare`, else
//!   `commercial`); otherwise OBSERVATION_PERIOD spans with payer `OMOP observation period`
//!   and payer_type `observation_period` (run with `--coverage-types observation_period`).
//!   Birth date from birth_datetime, else year/month/day of birth; death from DEATH.
//! - **medical_claim**: one claim per VISIT_OCCURRENCE: 9201 inpatient → institutional 111 with
//!   admission/discharge; 9203 ED → institutional 131, revenue 0450, POS 23; 262 ED and
//!   inpatient → an ED claim on the start date plus the inpatient claim; 9202 outpatient and
//!   581477 office → professional 99213, POS 11; any other concept (0 included) → a
//!   professional line with no visit code, counted. Diagnoses: the CONDITION_OCCURRENCE rows
//!   active on the visit date (start ≤ date ≤ end, open when the end is empty), the ICD-10-CM
//!   source value where it is one, else the SNOMED concept code; one line per code system. Conditions without a visit become a
//!   diagnosis-only professional line on their start date. Paid: COST.paid_by_payer
//!   (Visit domain) when present. PROCEDURE_OCCURRENCE rows coded in CPT4 or HCPCS become HCPCS
//!   lines on their date; others are counted and left out.
//! - **observation** / **lab_result**: MEASUREMENT by LOINC concept code (BP, BMI and tobacco
//!   status to observation, the rest to lab_result).
//! - **pharmacy_claim**: DRUG_EXPOSURE, RxNorm concept code in `rxnorm_code`.
//!
//! Tables are found and checked by `source.rs`: file and column names in any case, an
//! empty optional table absent, a malformed table an error naming the file and the column.

use std::path::Path;

use polars::prelude::*;

use crate::null_of;

use crate::source::Source;
use crate::{count, date_of, diagnosis_columns, write_tables, ImportError, ImportReport};

const FORMAT: &str = "omop";

/// The tables read and the columns the mapping reads of each (every one must be present; its
/// values may be empty where the CDM allows null). Ids and concept ids are integers, as the CDM
/// requires.
mod tables {
    use crate::source::Kind::{Date, Integer as Id, Number, Text};
    use crate::source::Table;

    pub const PERSON: Table = Table {
        stem: "person",
        columns: &[
            ("person_id", Id),
            ("year_of_birth", Id),
            ("month_of_birth", Id),
            ("day_of_birth", Id),
            ("birth_datetime", Date),
        ],
    };
    pub const VISIT_OCCURRENCE: Table = Table {
        stem: "visit_occurrence",
        columns: &[
            ("visit_occurrence_id", Id),
            ("person_id", Id),
            ("visit_concept_id", Id),
            ("visit_start_date", Date),
            ("visit_end_date", Date),
        ],
    };
    pub const CONDITION_OCCURRENCE: Table = Table {
        stem: "condition_occurrence",
        columns: &[
            ("condition_occurrence_id", Id),
            ("person_id", Id),
            ("condition_concept_id", Id),
            ("condition_start_date", Date),
            ("condition_end_date", Date),
            ("visit_occurrence_id", Id),
            ("condition_source_value", Text),
        ],
    };
    pub const CONCEPT: Table = Table {
        stem: "concept",
        columns: &[
            ("concept_id", Id),
            ("concept_code", Text),
            ("vocabulary_id", Text),
        ],
    };
    pub const OBSERVATION_PERIOD: Table = Table {
        stem: "observation_period",
        columns: &[
            ("person_id", Id),
            ("observation_period_start_date", Date),
            ("observation_period_end_date", Date),
        ],
    };
    pub const PAYER_PLAN_PERIOD: Table = Table {
        stem: "payer_plan_period",
        columns: &[
            ("person_id", Id),
            ("payer_plan_period_start_date", Date),
            ("payer_plan_period_end_date", Date),
            ("payer_source_value", Text),
        ],
    };
    pub const DEATH: Table = Table {
        stem: "death",
        columns: &[("person_id", Id), ("death_date", Date)],
    };
    pub const MEASUREMENT: Table = Table {
        stem: "measurement",
        columns: &[
            ("measurement_id", Id),
            ("person_id", Id),
            ("measurement_concept_id", Id),
            ("measurement_date", Date),
            ("visit_occurrence_id", Id),
            ("value_as_number", Number),
            ("value_source_value", Text),
            ("measurement_source_value", Text),
            ("unit_source_value", Text),
        ],
    };
    pub const DRUG_EXPOSURE: Table = Table {
        stem: "drug_exposure",
        columns: &[
            ("drug_exposure_id", Id),
            ("person_id", Id),
            ("drug_concept_id", Id),
            ("drug_exposure_start_date", Date),
            ("drug_source_value", Text),
            ("days_supply", Id),
            ("quantity", Number),
        ],
    };
    pub const COST: Table = Table {
        stem: "cost",
        columns: &[
            ("cost_event_id", Id),
            ("cost_domain_id", Text),
            ("paid_by_payer", Number),
        ],
    };
    pub const PROCEDURE_OCCURRENCE: Table = Table {
        stem: "procedure_occurrence",
        columns: &[
            ("procedure_occurrence_id", Id),
            ("person_id", Id),
            ("procedure_concept_id", Id),
            ("procedure_date", Date),
        ],
    };
}

/// LOINC codes that belong in `observation` (vitals, survey); the rest go to lab_result.
const OBSERVATION_LOINC: [&str; 6] = [
    "8480-6", "8462-4", "39156-5", "72166-2", "29463-7", "8302-2",
];

/// Import an OMOP CDM folder into `out`.
pub fn import(input: &Path, out: &Path) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport {
        source_format: FORMAT.into(),
        ..Default::default()
    };
    let src = Source::open(FORMAT, input, &["csv", "parquet"])?;
    let person = src.required(&tables::PERSON, &mut report)?;
    let visits = src.required(&tables::VISIT_OCCURRENCE, &mut report)?;
    let conditions = src.required(&tables::CONDITION_OCCURRENCE, &mut report)?;
    let concept = src.required(&tables::CONCEPT, &mut report)?;
    let obs_period = src.optional(&tables::OBSERVATION_PERIOD, &mut report)?;
    let ppp = src.optional(&tables::PAYER_PLAN_PERIOD, &mut report)?;
    let death = src.optional(&tables::DEATH, &mut report)?;
    let measurement = src.optional(&tables::MEASUREMENT, &mut report)?;
    let drugs = src.optional(&tables::DRUG_EXPOSURE, &mut report)?;
    let cost = src.optional(&tables::COST, &mut report)?;
    let procedures = src.optional(&tables::PROCEDURE_OCCURRENCE, &mut report)?;
    for (n, lf) in [
        ("person", Some(&person)),
        ("visit_occurrence", Some(&visits)),
        ("condition_occurrence", Some(&conditions)),
    ] {
        if let Some(lf) = lf {
            report.rows_read.insert(n.into(), count(lf)?);
        }
    }

    // --- persons and coverage ---
    let birth = coalesce(&[
        date_of(col("birth_datetime")),
        concat_str(
            [
                col("year_of_birth"),
                col("month_of_birth")
                    .fill_null(lit("1"))
                    .str()
                    .zfill(lit(2)),
                col("day_of_birth").fill_null(lit("1")).str().zfill(lit(2)),
            ],
            "-",
            false,
        )
        .str()
        .to_date(StrptimeOptions {
            format: Some("%Y-%m-%d".into()),
            strict: false,
            exact: true,
            cache: true,
        }),
    ]);
    let mut people = person.select([col("person_id"), birth.alias("birth_date")]);
    if let Some(d) = death {
        people = people.join(
            d.group_by([col("person_id")])
                .agg([date_of(col("death_date")).min().alias("death_date")]),
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Left),
        );
    } else {
        people = people.with_column(null_of(DataType::Date, "death_date"));
    }
    // An empty table is absent (crate::source), so a present PAYER_PLAN_PERIOD has rows.
    let spans = if let Some(t) = ppp {
        let src = col("payer_source_value")
            .fill_null(lit(""))
            .str()
            .to_lowercase();
        t.select([
            col("person_id"),
            date_of(col("payer_plan_period_start_date")).alias("enrollment_start_date"),
            date_of(col("payer_plan_period_end_date")).alias("enrollment_end_date"),
            col("payer_source_value")
                .fill_null(lit("unknown payer"))
                .alias("payer"),
            when(src.clone().str().contains_literal(lit("medicaid")))
                .then(lit("medicaid"))
                .when(src.str().contains_literal(lit("medicare")))
                .then(lit("medicare"))
                .otherwise(lit("commercial"))
                .alias("payer_type"),
        ])
    } else {
        let t = obs_period.ok_or_else(|| ImportError::MissingFile {
            source_format: FORMAT,
            file: "payer_plan_period or observation_period".into(),
            dir: input.to_path_buf(),
        })?;
        report.note("persons covered by observation_period (no payer_plan_period rows; payer_type observation_period)", count(&t)?);
        t.select([
            col("person_id"),
            date_of(col("observation_period_start_date")).alias("enrollment_start_date"),
            date_of(col("observation_period_end_date")).alias("enrollment_end_date"),
            lit("OMOP observation period").alias("payer"),
            lit("observation_period").alias("payer_type"),
        ])
    };
    let eligibility = spans
        .join(
            people.clone(),
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("person_id"),
            col("birth_date"),
            col("death_date"),
            col("enrollment_start_date"),
            col("enrollment_end_date"),
            col("payer"),
            col("payer_type"),
            lit("omop").alias("data_source"),
        ])
        .sort(["person_id", "enrollment_start_date"], Default::default())
        .collect()?;

    // --- diagnoses per visit and code system ---
    let icd10 = col("condition_source_value")
        .str()
        .contains(lit(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$"), false)
        .fill_null(lit(false));
    let dx = conditions
        .clone()
        .join(
            concept.clone(),
            [col("condition_concept_id")],
            [col("concept_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            when(icd10.clone())
                .then(lit("icd-10-cm"))
                .otherwise(lit("snomed-ct"))
                .alias("system"),
            when(icd10)
                .then(col("condition_source_value"))
                .when(col("vocabulary_id").eq(lit("SNOMED")))
                .then(col("concept_code"))
                .otherwise(col("condition_source_value"))
                .alias("code"),
        ]);
    let no_code = dx.clone().filter(col("code").is_null());
    report.note(
        "condition rows with neither an ICD-10 source value nor a SNOMED concept (left out)",
        count(&no_code)?,
    );
    let dx = dx.filter(col("code").is_not_null());
    let visit_known = col("visit_occurrence_id")
        .is_not_null()
        .and(col("visit_occurrence_id").neq(lit("0")));
    // A condition is a diagnosis of every visit of the person while it is active (start ≤ visit
    // date ≤ end, open when the end is empty), as the Synthea importer does: OMOP records a
    // chronic condition once, at onset.
    let by_visit = visits
        .clone()
        .select([
            col("visit_occurrence_id").alias("vid"),
            col("person_id"),
            date_of(col("visit_start_date")).alias("vdate"),
        ])
        .join(
            dx.clone().select([
                col("person_id"),
                col("system"),
                col("code"),
                date_of(col("condition_start_date")).alias("c_start"),
                date_of(col("condition_end_date")).alias("c_end"),
            ]),
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(
            col("c_start")
                .lt_eq(col("vdate"))
                .and(col("c_end").is_null().or(col("c_end").gt_eq(col("vdate")))),
        )
        .group_by([col("vid"), col("system")])
        .agg([col("code").unique().sort(Default::default()).alias("dx")])
        .rename(["vid"], ["visit_occurrence_id"], true);
    let orphan = dx.filter(visit_known.not());
    report.note(
        "conditions without a visit (a diagnosis-only line on their start date)",
        count(&orphan)?,
    );

    // --- visits → claims ---
    let v = visits.with_columns([
        date_of(col("visit_start_date")).alias("d_start"),
        date_of(col("visit_end_date")).alias("d_end"),
    ]);
    let known = ["9201", "9203", "262", "9202", "581477"];
    let unknown = v.clone().filter(
        col("visit_concept_id")
            .is_in(
                lit(Series::new("".into(), known.to_vec())).implode(false),
                false,
            )
            .not(),
    );
    report.note(
        "visits with an unmapped visit_concept_id (0 included): professional line, no visit code",
        count(&unknown)?,
    );
    let paid = match cost {
        Some(c) => Some(
            c.filter(col("cost_domain_id").eq(lit("Visit")))
                .group_by([col("cost_event_id")])
                .agg([col("paid_by_payer")
                    .cast(DataType::Float64)
                    .sum()
                    .alias("paid_amount")]),
        ),
        None => {
            report.note("visits without a COST row (paid_amount null)", count(&v)?);
            None
        }
    };
    let v = match paid {
        Some(p) => v.join(
            p,
            [col("visit_occurrence_id")],
            [col("cost_event_id")],
            JoinArgs::new(JoinType::Left),
        ),
        None => v.with_column(null_of(DataType::Float64, "paid_amount")),
    };
    let concept_is = |c: &str| col("visit_concept_id").eq(lit(c));
    let inpatient = concept_is("9201").or(concept_is("262"));
    let main = v.clone().with_columns([
        concat_str([lit("OMOP-V"), col("visit_occurrence_id")], "", false).alias("claim_id"),
        when(inpatient.clone().or(concept_is("9203")))
            .then(lit("institutional"))
            .otherwise(lit("professional"))
            .alias("claim_type"),
        when(inpatient.clone())
            .then(lit("111"))
            .when(concept_is("9203"))
            .then(lit("131"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("bill_type_code"),
        when(inpatient.clone())
            .then(lit("0100"))
            .when(concept_is("9203"))
            .then(lit("0450"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("revenue_center_code"),
        when(concept_is("9203"))
            .then(lit("23"))
            .when(concept_is("9202").or(concept_is("581477")))
            .then(lit("11"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("place_of_service_code"),
        when(concept_is("9203"))
            .then(lit("99284"))
            .when(concept_is("9202").or(concept_is("581477")))
            .then(lit("99213"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("hcpcs_code"),
        when(inpatient.clone())
            .then(col("d_start"))
            .otherwise(lit(NULL).cast(DataType::Date))
            .alias("admission_date"),
        when(inpatient.clone())
            .then(coalesce(&[col("d_end"), col("d_start")]))
            .otherwise(lit(NULL).cast(DataType::Date))
            .alias("discharge_date"),
        col("d_start").alias("claim_start_date"),
        coalesce(&[col("d_end"), col("d_start")]).alias("claim_end_date"),
    ]);
    // 262 (ED and inpatient): the ED part is its own claim on the start date.
    let ed_part = v.clone().filter(concept_is("262")).with_columns([
        concat_str(
            [lit("OMOP-V"), col("visit_occurrence_id"), lit("-ED")],
            "",
            false,
        )
        .alias("claim_id"),
        lit("institutional").alias("claim_type"),
        lit("131").alias("bill_type_code"),
        lit("0450").alias("revenue_center_code"),
        lit("23").alias("place_of_service_code"),
        lit("99284").alias("hcpcs_code"),
        null_of(DataType::Date, "admission_date"),
        null_of(DataType::Date, "discharge_date"),
        col("d_start").alias("claim_start_date"),
        col("d_start").alias("claim_end_date"),
        null_of(DataType::Float64, "paid_amount"),
    ]);
    let claim_cols = [
        "visit_occurrence_id",
        "person_id",
        "claim_id",
        "claim_type",
        "bill_type_code",
        "revenue_center_code",
        "place_of_service_code",
        "hcpcs_code",
        "admission_date",
        "discharge_date",
        "claim_start_date",
        "claim_end_date",
        "paid_amount",
    ];
    let all_claims = concat(
        [
            main.select(claim_cols.map(col)),
            ed_part.select(claim_cols.map(col)),
        ],
        UnionArgs::default(),
    )?;
    // One line per code system of the visit's diagnoses (a visit without any gets one line).
    let lines = all_claims
        .join(
            by_visit,
            [col("visit_occurrence_id")],
            [col("visit_occurrence_id")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["claim_id", "system"], Default::default())
        .with_column(
            (col("claim_id").cum_count(false).over([col("claim_id")])?)
                .cast(DataType::Int64)
                .alias("claim_line_number"),
        );
    let mut sel = vec![
        col("claim_id"),
        col("claim_line_number"),
        col("claim_type"),
        col("person_id"),
        col("claim_start_date"),
        col("claim_end_date"),
        col("claim_start_date").alias("claim_line_start_date"),
        col("admission_date"),
        col("discharge_date"),
        col("place_of_service_code"),
        col("bill_type_code"),
        col("revenue_center_code"),
        col("hcpcs_code"),
        // A claim's paid amount sits on its first line only.
        when(col("claim_line_number").eq(lit(1i64)))
            .then(col("paid_amount"))
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias("paid_amount"),
        col("system").alias("diagnosis_code_type"),
    ];
    sel.extend(diagnosis_columns("dx"));
    sel.push(lit("omop").alias("data_source"));
    let visit_lines = lines.select(sel.clone());
    let orphan_lines = orphan
        .with_columns([
            concat_str([lit("OMOP-C"), col("condition_occurrence_id")], "", false)
                .alias("claim_id"),
            lit(1i64).cast(DataType::Int64).alias("claim_line_number"),
            lit("professional").alias("claim_type"),
            date_of(col("condition_start_date")).alias("claim_start_date"),
            date_of(col("condition_start_date")).alias("claim_end_date"),
            null_of(DataType::Date, "admission_date"),
            null_of(DataType::Date, "discharge_date"),
            null_of(DataType::String, "place_of_service_code"),
            null_of(DataType::String, "bill_type_code"),
            null_of(DataType::String, "revenue_center_code"),
            null_of(DataType::String, "hcpcs_code"),
            null_of(DataType::Float64, "paid_amount"),
            concat_list([col("code")])?.alias("dx"),
        ])
        .select(sel);
    // Procedures in CPT4 / HCPCS become HCPCS lines on their date (they can be visits, tests
    // or CPT II results); others (SNOMED procedures, as in Eunomia) are counted and left out.
    let mut parts = vec![visit_lines, orphan_lines];
    if let Some(pr) = procedures {
        report
            .rows_read
            .insert("procedure_occurrence".into(), count(&pr)?);
        let pr = pr.join(
            concept.clone(),
            [col("procedure_concept_id")],
            [col("concept_id")],
            JoinArgs::new(JoinType::Left),
        );
        let hcpcs = col("vocabulary_id")
            .eq(lit("CPT4"))
            .or(col("vocabulary_id").eq(lit("HCPCS")))
            .fill_null(lit(false));
        report.note(
            "procedures not coded in CPT4 or HCPCS (left out)",
            count(&pr.clone().filter(hcpcs.clone().not()))?,
        );
        let mut psel = vec![
            concat_str([lit("OMOP-P"), col("procedure_occurrence_id")], "", false)
                .alias("claim_id"),
            lit(1i64).cast(DataType::Int64).alias("claim_line_number"),
            lit("professional").alias("claim_type"),
            col("person_id"),
            date_of(col("procedure_date")).alias("claim_start_date"),
            date_of(col("procedure_date")).alias("claim_end_date"),
            date_of(col("procedure_date")).alias("claim_line_start_date"),
            null_of(DataType::Date, "admission_date"),
            null_of(DataType::Date, "discharge_date"),
            null_of(DataType::String, "place_of_service_code"),
            null_of(DataType::String, "bill_type_code"),
            null_of(DataType::String, "revenue_center_code"),
            col("concept_code").alias("hcpcs_code"),
            null_of(DataType::Float64, "paid_amount"),
            null_of(DataType::String, "diagnosis_code_type"),
        ];
        psel.extend((1..=25).map(|i| null_of(DataType::String, format!("diagnosis_code_{i}"))));
        psel.push(lit("omop").alias("data_source"));
        parts.push(pr.filter(hcpcs).select(psel));
    }
    let medical = concat(parts, UnionArgs::default())?
        .sort(
            [
                "person_id",
                "claim_start_date",
                "claim_id",
                "claim_line_number",
            ],
            Default::default(),
        )
        .collect()?;

    // --- measurements ---
    let (observation, lab_result) = match measurement {
        Some(m) => {
            report.rows_read.insert("measurement".into(), count(&m)?);
            let m = m
                .join(
                    concept.clone(),
                    [col("measurement_concept_id")],
                    [col("concept_id")],
                    JoinArgs::new(JoinType::Left),
                )
                .with_column(
                    when(col("vocabulary_id").eq(lit("LOINC")))
                        .then(col("concept_code"))
                        .otherwise(col("measurement_source_value"))
                        .alias("code"),
                )
                .with_column(
                    coalesce(&[col("value_as_number"), col("value_source_value")]).alias("result"),
                );
            let no_value = m.clone().filter(col("result").is_null());
            report.note("measurements without a value (left out)", count(&no_value)?);
            let m = m.filter(col("result").is_not_null());
            let is_obs = col("code")
                .is_in(
                    lit(Series::new("".into(), OBSERVATION_LOINC.to_vec())).implode(false),
                    false,
                )
                .fill_null(lit(false));
            let pick = |id: &str, dates: &[&str], obs: bool| {
                let mut s = vec![
                    concat_str([lit("OMOP-M"), col("measurement_id")], "", false).alias(id),
                    col("person_id"),
                    col("visit_occurrence_id").alias("encounter_id"),
                ];
                s.extend(
                    dates
                        .iter()
                        .map(|d| date_of(col("measurement_date")).alias(*d)),
                );
                s.extend([
                    lit("loinc").alias("normalized_code_type"),
                    col("code").alias("normalized_code"),
                    col("result"),
                    col("unit_source_value").alias("normalized_units"),
                    lit("omop").alias("data_source"),
                ]);
                m.clone()
                    .filter(if obs {
                        is_obs.clone()
                    } else {
                        is_obs.clone().not()
                    })
                    .select(s)
            };
            (
                pick("observation_id", &["observation_date"], true).collect()?,
                pick("lab_result_id", &["result_date", "collection_date"], false).collect()?,
            )
        }
        None => (DataFrame::empty(), DataFrame::empty()),
    };

    // --- drugs ---
    let pharmacy = match drugs {
        Some(d) => {
            report.rows_read.insert("drug_exposure".into(), count(&d)?);
            let d = d
                .join(
                    concept,
                    [col("drug_concept_id")],
                    [col("concept_id")],
                    JoinArgs::new(JoinType::Left),
                )
                .with_column(
                    when(col("vocabulary_id").eq(lit("RxNorm")))
                        .then(col("concept_code"))
                        .otherwise(col("drug_source_value"))
                        .alias("rx"),
                );
            let no_code = d.clone().filter(col("rx").is_null());
            report.note(
                "drug exposures without an RxNorm code (left out)",
                count(&no_code)?,
            );
            d.filter(col("rx").is_not_null())
                .select([
                    concat_str([lit("OMOP-D"), col("drug_exposure_id")], "", false)
                        .alias("claim_id"),
                    lit(1i64).cast(DataType::Int64).alias("claim_line_number"),
                    col("person_id"),
                    date_of(col("drug_exposure_start_date")).alias("dispensing_date"),
                    null_of(DataType::String, "ndc_code"),
                    col("rx").alias("rxnorm_code"),
                    col("days_supply")
                        .cast(DataType::Int64)
                        .alias("days_supply"),
                    col("quantity").cast(DataType::Float64).alias("quantity"),
                    lit("omop").alias("data_source"),
                ])
                .collect()?
        }
        None => DataFrame::empty(),
    };

    let mut tables = vec![("eligibility", eligibility), ("medical_claim", medical)];
    for (name, df) in [
        ("observation", observation),
        ("lab_result", lab_result),
        ("pharmacy_claim", pharmacy),
    ] {
        if df.width() > 0 {
            tables.push((name, df));
        }
    }
    write_tables(out, tables, &mut report)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn visit_with_concept_0_is_kept_without_a_visit_code_and_counted() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| fs::write(d.path().join(n), t).unwrap();
        w(
            "PERSON.csv",
            "person_id,year_of_birth,month_of_birth,day_of_birth,birth_datetime\n1,1980,2,3,\n",
        );
        w("OBSERVATION_PERIOD.csv", "observation_period_id,person_id,observation_period_start_date,observation_period_end_date\n1,1,2019-01-01,2021-12-31\n");
        w("VISIT_OCCURRENCE.csv", "visit_occurrence_id,person_id,visit_concept_id,visit_start_date,visit_end_date\n10,1,0,2021-05-01,2021-05-01\n11,1,262,2021-06-01,2021-06-03\n");
        w("CONDITION_OCCURRENCE.csv", "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_end_date,visit_occurrence_id,condition_source_value\n1,1,0,2021-05-01,,10,I10\n");
        w("CONCEPT.csv", "concept_id,concept_code,vocabulary_id\n");
        let rep = import(d.path(), &d.path().join("out")).unwrap();
        assert_eq!(rep.unmapped["visits with an unmapped visit_concept_id (0 included): professional line, no visit code"], 1);
        let m =
            ParquetReader::new(fs::File::open(d.path().join("out/medical_claim.parquet")).unwrap())
                .finish()
                .unwrap();
        let ids: Vec<&str> = m
            .column("claim_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(
            ids,
            vec!["OMOP-V10", "OMOP-V11", "OMOP-V11-ED"],
            "visit 0 kept; 262 gives an ED and a stay claim"
        );
        let v10 = m
            .clone()
            .lazy()
            .filter(col("claim_id").eq(lit("OMOP-V10")))
            .collect()
            .unwrap();
        assert_eq!(v10.column("hcpcs_code").unwrap().null_count(), 1);
        assert_eq!(
            v10.column("diagnosis_code_type")
                .unwrap()
                .str()
                .unwrap()
                .get(0),
            Some("icd-10-cm")
        );
        assert_eq!(
            v10.column("diagnosis_code_1")
                .unwrap()
                .str()
                .unwrap()
                .get(0),
            Some("I10")
        );
        let birth =
            ParquetReader::new(fs::File::open(d.path().join("out/eligibility.parquet")).unwrap())
                .finish()
                .unwrap();
        let b = birth
            .column("birth_date")
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        assert_eq!(
            b.str().unwrap().get(0),
            Some("1980-02-03"),
            "from year/month/day when birth_datetime is empty"
        );
    }
}
