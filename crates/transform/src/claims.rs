//! Shared claim-line primitives (spec §1): service date, acute-stay lines, the diagnosis
//! long form. Every measure and condition rule builds on these, never on raw columns.

use caregap_ingest::schema::DIAGNOSIS_COLUMNS;
use polars::prelude::*;

/// §1: a claim line's service date is claim_line_start_date, else claim_start_date.
pub fn service_date() -> Expr {
    coalesce(&[col("claim_line_start_date"), col("claim_start_date")])
}

/// §1: an acute stay's admission: admission_date, else claim_start_date.
pub fn stay_admission() -> Expr {
    coalesce(&[col("admission_date"), col("claim_start_date")])
}

/// §1: an acute stay's discharge: discharge_date, else claim_end_date.
pub fn stay_discharge() -> Expr {
    coalesce(&[col("discharge_date"), col("claim_end_date")])
}

/// Bill type's first two characters (`111` → `11`; ingest already dropped a leading `0`).
pub fn bill_type_class() -> Expr {
    col("bill_type_code").str().head(lit(2))
}

/// §1 / §3: a line of an institutional claim with bill type 11x whose stay dates are ordered
/// (discharge ≥ admission, claim-date fallback included): it forms an acute inpatient stay.
/// §8: a line with discharge < admission is kept but is not an acute-stay line.
pub fn is_acute_stay_line() -> Expr {
    col("claim_type")
        .eq(lit("institutional"))
        .and(bill_type_class().eq(lit("11")))
        .and(stay_discharge().gt_eq(stay_admission()))
        .fill_null(lit(false))
}

/// The diagnosis columns that hold at least one code (diagnosis_code_1 always): a column that
/// no line fills is not scanned again and again.
pub fn diagnosis_columns_in_use(input: &caregap_ingest::InputLayer) -> Vec<&'static str> {
    let df = &input.table("medical_claim").data;
    DIAGNOSIS_COLUMNS
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            *i == 0
                || df
                    .column(c)
                    .map(|s| s.null_count() < df.height())
                    .unwrap_or(false)
        })
        .map(|(_, c)| *c)
        .collect()
}

/// The procedure columns (`procedure_code_1 … _25`) that hold at least one code.
pub fn procedure_columns_in_use(input: &caregap_ingest::InputLayer) -> Vec<String> {
    let df = &input.table("medical_claim").data;
    (1..=25)
        .map(|i| format!("procedure_code_{i}"))
        .filter(|c| {
            df.column(c)
                .map(|s| s.null_count() < df.height())
                .unwrap_or(false)
        })
        .collect()
}

/// The diagnosis long form: one row per (claim line, non-null diagnosis position) with
/// `person_id, claim_id, claim_line_number, service_date, acute, system, position, code`,
/// over the diagnosis `columns` in use.
pub fn diagnosis_long(claims: LazyFrame, columns: &[&str]) -> PolarsResult<LazyFrame> {
    let mut keep = vec![
        col("person_id"),
        col("claim_id"),
        col("claim_line_number"),
        service_date().alias("service_date"),
        is_acute_stay_line().alias("acute"),
        col("diagnosis_code_type").alias("system"),
    ];
    keep.extend(columns.iter().map(|c| col(*c)));
    let base = claims.select(keep).cache();
    let parts: Vec<LazyFrame> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            base.clone().filter(col(*c).is_not_null()).select([
                col("person_id"),
                col("claim_id"),
                col("claim_line_number"),
                col("service_date"),
                col("acute"),
                col("system"),
                lit((i + 1) as i32).alias("position"),
                col(*c).alias("code"),
            ])
        })
        .collect();
    concat(parts, UnionArgs::default())
}
