//! Ingest: one test per §8 problem (each ends in its named error or reject row), and the
//! equivalence of CSV, Parquet and folders of part files.

use std::fs;
use std::path::Path;

use caregap_ingest::{read_input_layer, IngestError};
use polars::prelude::*;

const ELIG: &str =
    "person_id,birth_date,death_date,enrollment_start_date,enrollment_end_date,payer,payer_type\n\
A1,1980-01-01,,2024-01-01,2025-12-31,MO HealthNet,medicaid\n";
const CLAIM_HDR: &str = "claim_id,claim_line_number,claim_type,person_id,claim_start_date,claim_end_date,bill_type_code,revenue_center_code,place_of_service_code,hcpcs_code,paid_amount,diagnosis_code_type,diagnosis_code_1\n";
const GOOD_LINE: &str = "C1,1,professional,A1,2025-03-01,2025-03-01,,,11,99213,80,,F41.1\n";

fn folder(elig: &str, claims: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("eligibility.csv"), elig).unwrap();
    fs::write(d.path().join("medical_claim.csv"), claims).unwrap();
    d
}

/// The rejects as `(table, row, column)` triples.
fn rejects(dir: &Path) -> Vec<(String, i64, String, String)> {
    let l = read_input_layer(dir).unwrap();
    let r = &l.rejects;
    (0..r.height())
        .map(|i| {
            let s = |c: &str| {
                r.column(c)
                    .unwrap()
                    .str()
                    .unwrap()
                    .get(i)
                    .unwrap()
                    .to_string()
            };
            (
                s("table"),
                r.column("row").unwrap().i64().unwrap().get(i).unwrap(),
                s("column"),
                s("reason"),
            )
        })
        .collect()
}

fn one_reject(claims_line: &str, column: &str, reason_part: &str) {
    let d = folder(ELIG, &format!("{CLAIM_HDR}{GOOD_LINE}{claims_line}"));
    let r = rejects(d.path());
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].0.as_str(), r[0].1, r[0].2.as_str()),
        ("medical_claim", 2, column),
        "{r:?}"
    );
    assert!(r[0].3.contains(reason_part), "{r:?}");
    let l = read_input_layer(d.path()).unwrap();
    assert_eq!(
        l.table("medical_claim").data.height(),
        1,
        "the good line is kept"
    );
    assert_eq!(
        l.table("medical_claim").rows_read,
        2,
        "nothing is lost: read = kept + rejected"
    );
}

#[test]
fn null_required_field_is_rejected() {
    one_reject(
        "C2,1,professional,,2025-03-01,2025-03-01,,,11,99213,80,,F41.1\n",
        "person_id",
        "missing",
    );
}

#[test]
fn unparseable_date_is_rejected() {
    one_reject(
        "C2,1,professional,A1,2025/03/01,2025-03-01,,,11,99213,80,,F41.1\n",
        "claim_start_date",
        "not a valid date",
    );
}

#[test]
fn unparseable_number_is_rejected() {
    one_reject(
        "C2,1,professional,A1,2025-03-01,2025-03-01,,,11,99213,abc,,F41.1\n",
        "paid_amount",
        "not a number",
    );
}

#[test]
fn end_before_start_is_rejected() {
    one_reject(
        "C2,1,professional,A1,2025-03-02,2025-03-01,,,11,99213,80,,F41.1\n",
        "claim_end_date",
        "before claim_start_date",
    );
}

#[test]
fn duplicate_claim_line_key_rejects_the_later_copy() {
    one_reject(
        "C1,1,professional,A1,2025-03-09,2025-03-09,,,11,99214,999,,F41.1\n",
        "claim_line_number",
        "duplicate (claim_id, claim_line_number)",
    );
}

#[test]
fn date_outside_1900_2100_is_rejected() {
    one_reject(
        "C2,1,professional,A1,1899-12-31,2025-03-01,,,11,99213,80,,F41.1\n",
        "claim_start_date",
        "outside 1900-01-01..2100-12-31",
    );
    one_reject(
        "C2,1,professional,A1,2025-03-01,2101-01-01,,,11,99213,80,,F41.1\n",
        "claim_end_date",
        "outside 1900-01-01..2100-12-31",
    );
}

#[test]
fn enrollment_end_before_start_is_rejected() {
    let d = folder(
        &format!("{ELIG}A2,1980-01-01,,2025-06-01,2025-05-01,MO HealthNet,medicaid\n"),
        &format!("{CLAIM_HDR}{GOOD_LINE}"),
    );
    let r = rejects(d.path());
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].0.as_str(), r[0].1, r[0].2.as_str()),
        ("eligibility", 2, "enrollment_end_date")
    );
}

#[test]
fn missing_required_column_names_table_file_and_column() {
    let d = folder(
        "person_id,birth_date,enrollment_start_date,enrollment_end_date,payer\nA1,1980-01-01,2024-01-01,2025-12-31,MO\n",
        &format!("{CLAIM_HDR}{GOOD_LINE}"),
    );
    let e = read_input_layer(d.path()).unwrap_err();
    assert!(e.is_input_schema_error());
    let m = e.to_string();
    assert!(
        m.contains("eligibility") && m.contains("eligibility.csv") && m.contains("payer_type"),
        "{m}"
    );
}

#[test]
fn missing_required_table_is_an_error_naming_it() {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("medical_claim.csv"),
        format!("{CLAIM_HDR}{GOOD_LINE}"),
    )
    .unwrap();
    let e = read_input_layer(d.path()).unwrap_err();
    assert!(
        matches!(e, IngestError::MissingTable { ref table, .. } if table == "eligibility"),
        "{e}"
    );
}

#[test]
fn wrong_delimiter_is_explained() {
    let d = folder(&ELIG.replace(',', ";"), &format!("{CLAIM_HDR}{GOOD_LINE}"));
    let m = read_input_layer(d.path()).unwrap_err().to_string();
    assert!(m.contains("semicolon"), "{m}");
}

#[test]
fn empty_file_is_a_schema_error() {
    let d = folder(ELIG, "");
    let e = read_input_layer(d.path()).unwrap_err();
    assert!(
        matches!(e, IngestError::EmptyFile { .. }) && e.is_input_schema_error(),
        "{e}"
    );
}

#[test]
fn header_only_file_is_an_empty_table() {
    let d = folder(ELIG, CLAIM_HDR);
    let l = read_input_layer(d.path()).unwrap();
    assert_eq!(l.table("medical_claim").data.height(), 0);
    assert!(l.table("medical_claim").present);
}

#[test]
fn optional_tables_may_be_absent() {
    let d = folder(ELIG, &format!("{CLAIM_HDR}{GOOD_LINE}"));
    let l = read_input_layer(d.path()).unwrap();
    for t in [
        "observation",
        "lab_result",
        "pharmacy_claim",
        "health_home_enrollment",
    ] {
        assert!(!l.table(t).present, "{t}");
        assert_eq!(l.table(t).data.height(), 0);
        assert!(
            l.table(t).data.column("person_id").is_ok(),
            "{t} keeps its columns"
        );
    }
}

#[test]
fn codes_keep_leading_zeros_and_are_normalised() {
    let d = folder(
        ELIG,
        &format!("{CLAIM_HDR}C1,1,institutional,A1,2025-03-01,2025-03-01,0111,450,2, g0463 ,80,ICD10,f20.9\n"),
    );
    let l = read_input_layer(d.path()).unwrap();
    let df = &l.table("medical_claim").data;
    let s = |c: &str| {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .to_string()
    };
    assert_eq!(s("bill_type_code"), "111");
    assert_eq!(s("revenue_center_code"), "0450");
    assert_eq!(s("place_of_service_code"), "02");
    assert_eq!(s("hcpcs_code"), "G0463");
    assert_eq!(s("diagnosis_code_1"), "F209");
    assert_eq!(s("diagnosis_code_type"), "icd-10-cm");
}

#[test]
fn ndc_normalisation_and_rejects() {
    let d = folder(ELIG, &format!("{CLAIM_HDR}{GOOD_LINE}"));
    fs::write(
        d.path().join("pharmacy_claim.csv"),
        "claim_id,claim_line_number,person_id,dispensing_date,ndc_code,days_supply\n\
         R1,1,A1,2025-01-01,1234-5678-90,30\n\
         R2,1,A1,2025-01-01,00000000001,30\n\
         R3,1,A1,2025-01-01,1234567890,30\n\
         R4,1,A1,2025-01-01,00000000002,-5\n",
    )
    .unwrap();
    let l = read_input_layer(d.path()).unwrap();
    let ndc: Vec<String> = l
        .table("pharmacy_claim")
        .data
        .column("ndc_code")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    assert_eq!(ndc, vec!["01234567890", "00000000001"]);
    let r = rejects(d.path());
    let cols: Vec<(i64, &str)> = r
        .iter()
        .filter(|x| x.0 == "pharmacy_claim")
        .map(|x| (x.1, x.2.as_str()))
        .collect();
    assert_eq!(cols, vec![(3, "ndc_code"), (4, "days_supply")]);
}

#[test]
fn patient_id_alias_is_accepted_and_recorded() {
    let d = folder(
        &ELIG.replace("person_id", "patient_id"),
        &format!("{CLAIM_HDR}{GOOD_LINE}"),
    );
    let l = read_input_layer(d.path()).unwrap();
    let f = &l.table("eligibility").files[0];
    assert_eq!(
        f.column_aliases.get("person_id").map(String::as_str),
        Some("patient_id")
    );
    assert_eq!(l.table("eligibility").data.height(), 1);
}

fn write_parquet_copy(csv: &Path, parquet: &Path) {
    let mut df = LazyCsvReader::new(PlRefPath::new(csv.to_string_lossy().as_ref()))
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .finish()
        .unwrap()
        .collect()
        .unwrap();
    let mut f = fs::File::create(parquet).unwrap();
    ParquetWriter::new(&mut f).finish(&mut df).unwrap();
}

#[test]
fn csv_and_parquet_inputs_give_identical_frames() {
    let story = crate::common::shared().join("cases/diabetes_alone");
    let pq = tempfile::tempdir().unwrap();
    for t in [
        "eligibility",
        "medical_claim",
        "lab_result",
        "health_home_enrollment",
    ] {
        write_parquet_copy(
            &story.join(format!("{t}.csv")),
            &pq.path().join(format!("{t}.parquet")),
        );
    }
    let a = read_input_layer(&story).unwrap();
    let b = read_input_layer(pq.path()).unwrap();
    for (name, t) in &a.tables {
        assert!(
            t.data.equals_missing(&b.table(name).data),
            "{name} differs between CSV and Parquet"
        );
    }
}

#[test]
fn folder_of_parts_equals_the_single_file() {
    let one = folder(
        ELIG,
        &format!("{CLAIM_HDR}{GOOD_LINE}C2,1,professional,A1,2025-04-01,2025-04-01,,,11,99214,90,,F41.1\nC3,1,professional,A1,2025-05-01,2025-05-01,,,11,99214,90,,F41.1\n"),
    );
    let parts = tempfile::tempdir().unwrap();
    fs::write(parts.path().join("eligibility.csv"), ELIG).unwrap();
    fs::create_dir(parts.path().join("medical_claim")).unwrap();
    fs::write(
        parts.path().join("medical_claim/part-1.csv"),
        format!("{CLAIM_HDR}{GOOD_LINE}"),
    )
    .unwrap();
    fs::write(
        parts.path().join("medical_claim/part-2.csv"),
        format!("{CLAIM_HDR}C2,1,professional,A1,2025-04-01,2025-04-01,,,11,99214,90,,F41.1\nC3,1,professional,A1,2025-05-01,2025-05-01,,,11,99214,90,,F41.1\n"),
    )
    .unwrap();
    let a = read_input_layer(one.path()).unwrap();
    let b = read_input_layer(parts.path()).unwrap();
    assert!(a
        .table("medical_claim")
        .data
        .equals_missing(&b.table("medical_claim").data));
    assert_eq!(b.table("medical_claim").files.len(), 2);
    assert_eq!(b.table("medical_claim").files[1].rows, 2);
}

#[test]
fn truncated_parquet_is_a_clear_error() {
    let d = folder(ELIG, &format!("{CLAIM_HDR}{GOOD_LINE}"));
    let pq = d.path().join("observation.parquet");
    write_parquet_copy(&d.path().join("eligibility.csv"), &pq);
    let bytes = fs::read(&pq).unwrap();
    fs::write(&pq, &bytes[..bytes.len() / 2]).unwrap();
    let e = read_input_layer(d.path()).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("observation") && m.contains("observation.parquet"),
        "{m}"
    );
}

#[test]
fn input_folder_that_does_not_exist() {
    let e = read_input_layer(Path::new("/no/such/folder")).unwrap_err();
    assert!(matches!(e, IngestError::InputDirMissing(_)) && e.is_input_schema_error());
}
