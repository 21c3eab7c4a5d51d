//! **Classified claim lines**: every medical claim line once, with the §1 classes and the tags
//! the registered measures declared ([`super::Needs`]). Every event table that starts from
//! claim lines (stays, ED visits, visits, BP and HbA1c CPT II codes, dispensings by HCPCS, the
//! period flags) starts from this narrow frame instead of re-matching the claims.
//!
//! | column | meaning |
//! |---|---|
//! | `person_id`, `claim_id`, `claim_line_number`, dates, `diagnosis_code_1`, `hcpcs_code` | the raw line |
//! | `date` | the service date (§1: claim_line_start_date, else claim_start_date) |
//! | `acute` | an acute inpatient stay line (bill type 11x, §1) |
//! | `nonacute` | an institutional line of bill type 21x, 22x, 18x, 28x or 86x |
//! | `facility`, `facility_freq` | an institutional line with a bill type in `institutional_facility` (AIF), and its bill type's 3rd (frequency) digit |
//! | `ed` | a code (HCPCS, revenue, POS, bill type) in `ed_visit` |
//! | `op_setting` | an outpatient-setting line: professional, or institutional whose bill type is not acute or nonacute (null counts) |
//! | `outpatient` | an outpatient-setting line with a code in `outpatient_visit` |
//! | `mh_visit` | a mental-health visit line (§1) |
//! | `hospice` | a code in `hospice` |
//! | `pdx_i` | diagnosis_code_1 in the `i`-th principal-diagnosis tag set |
//! | `vdx_i` | any diagnosis position in the `i`-th visit-diagnosis tag set |
//! | `svc_i` | HCPCS in the `i`-th visit-service tag set |
//! | `per_i` | any diagnosis position in the `i`-th period-diagnosis tag set |
//! | `edx_i` | any diagnosis position in the `i`-th ED-diagnosis tag set |
//! | `dxc_i` | a non-lab line (POS not `81`) with any diagnosis in the `i`-th diagnosed-claims set |
//! | `obs_bill`, `obs_line` | PCR-HH ([`super::pcr_stays`]): an institutional line of bill type not 11x nor nonacute (or none); a line with a code in `observation_stay` |
//! | `pcs_always`, `pcs_potential` | PCR-HH: a procedure code (`icd-10-pcs` or untyped) in `planned_always_procedure`, `planned_potential_procedure` |

use caregap_ingest::InputLayer;
use polars::prelude::*;

use super::needs::Needs;
use crate::claims::{bill_type_class, is_acute_stay_line, service_date};
use crate::params::in_list;
use crate::value_sets::ValueSets;

/// Bill-type classes (first two digits) of nonacute inpatient stays (§1).
pub const NONACUTE_BILL_TYPES: [&str; 5] = ["21", "22", "18", "28", "86"];
/// The place of service of an independent laboratory: its diagnoses do not make a diagnosis.
pub const LAB_POS: &str = "81";
/// Discharge statuses meaning the patient died (§1).
pub const DEATH_STATUSES: [&str; 4] = ["20", "40", "41", "42"];

/// The value sets the line classes themselves read (beyond the measures' tags).
pub const VALUE_SETS: &[&str] = &[
    "ed_visit",
    "outpatient_visit",
    "mental_illness",
    "mh_visit",
    "mh_telehealth",
    "hospice",
    "institutional_facility",
];

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

/// The name of tag column `i` of a role (`pdx`, `vdx`, `svc`, `per`).
pub fn tag_column(role: &str, i: usize) -> String {
    format!("{role}_{i}")
}

/// The tag columns of a role, in bit order.
pub fn tag_columns(role: &str, n: usize) -> Vec<Expr> {
    (0..n).map(|i| col(tag_column(role, i))).collect()
}

/// Medical claim lines with the §1 classes and the declared tags (see the module doc).
pub fn classified_lines(input: &InputLayer, vs: &ValueSets, needs: &Needs) -> LazyFrame {
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
    let outpatient = op_setting.clone().and(
        vs.matches("outpatient_visit", "hcpcs", col("hcpcs_code"))
            .or(vs.matches("outpatient_visit", "revenue", col("revenue_center_code"))),
    );
    let facility = inst
        .clone()
        .and(vs.matches("institutional_facility", "bill_type", col("bill_type_code")))
        .fill_null(lit(false));
    let pcs = crate::claims::procedure_columns_in_use(input);
    let pcs_in = |set: &str| {
        // The line's procedure codes are ICD-10-PCS (typed so, or untyped): one rule with COL.
        let typed = crate::claims::procedure_type_is_pcs();
        pcs.iter()
            .map(|c| vs.matches(set, "icd-10-pcs", col(c.as_str())))
            .reduce(|a, b| a.or(b))
            .map_or(lit(false), |m| m.and(typed).fill_null(lit(false)))
    };
    let mut cols = vec![
        facility.clone().alias("facility"),
        when(facility)
            .then(col("bill_type_code").str().slice(lit(2), lit(1)))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("facility_freq"),
        service_date().alias("date"),
        inst.clone()
            .and(
                bill_type_class().is_null().or(bill_type_class()
                    .eq(lit("11"))
                    .or(in_list(bill_type_class(), &NONACUTE_BILL_TYPES))
                    .not()),
            )
            .fill_null(lit(false))
            .alias("obs_bill"),
        vs.matches("observation_stay", "hcpcs", col("hcpcs_code"))
            .or(vs.matches("observation_stay", "revenue", col("revenue_center_code")))
            .alias("obs_line"),
        pcs_in("planned_always_procedure").alias("pcs_always"),
        pcs_in("planned_potential_procedure").alias("pcs_potential"),
        is_acute_stay_line().alias("acute"),
        inst.clone()
            .and(in_list(bill_type_class(), &NONACUTE_BILL_TYPES))
            .fill_null(lit(false))
            .alias("nonacute"),
        line_code_in(vs, "ed_visit").alias("ed"),
        outpatient.alias("outpatient"),
        op_setting.alias("op_setting"),
        principal_dx_in(vs, "mental_illness").alias("dx1_mi"),
        vs.matches("mh_visit", "hcpcs", col("hcpcs_code"))
            .or(vs.matches("mh_visit", "pos", col("place_of_service_code")))
            .alias("mh_code"),
        vs.matches("mh_telehealth", "pos", col("place_of_service_code"))
            .alias("telehealth"),
        line_code_in(vs, "hospice").alias("hospice"),
    ];
    // A principal-diagnosis tag of `mental_illness` is the `dx1_mi` class itself: taken from
    // it below rather than matched twice.
    let mut second = vec![col("outpatient")
        .and(col("dx1_mi"))
        .or(col("mh_code"))
        .or(col("telehealth").and(col("dx1_mi")))
        .alias("mh_visit")];
    for (i, s) in needs.principal_dx.iter().enumerate() {
        if *s == "mental_illness" {
            second.push(col("dx1_mi").alias(tag_column("pdx", i)));
        } else {
            cols.push(principal_dx_in(vs, s).alias(tag_column("pdx", i)));
        }
    }
    // Any-diagnosis tags of the visit, period and ED roles: a set declared in several roles
    // is matched once and its column reused (the match runs over every diagnosis column).
    let mut any_dx: Vec<(&str, String)> = Vec::new();
    let mut any_dx_tag = |s: &'static str, name: String, cols: &mut Vec<Expr>| match any_dx
        .iter()
        .find(|(set, _)| *set == s)
    {
        Some((_, first)) => second.push(col(first.as_str()).alias(name)),
        None => {
            cols.push(any_dx_in(vs, s, &dxc).alias(name.as_str()));
            any_dx.push((s, name));
        }
    };
    for (i, s) in needs.visit_dx.iter().enumerate() {
        any_dx_tag(s, tag_column("vdx", i), &mut cols);
    }
    for (i, s) in needs.period_dx.iter().enumerate() {
        any_dx_tag(s, tag_column("per", i), &mut cols);
    }
    // Read on ED lines only (the `ed_visit` table filters to them before it aggregates).
    for (i, s) in needs.ed_dx.iter().enumerate() {
        any_dx_tag(s, tag_column("edx", i), &mut cols);
    }
    for (i, s) in needs.visit_services.iter().enumerate() {
        cols.push(
            vs.matches(s, "hcpcs", col("hcpcs_code"))
                .alias(tag_column("svc", i)),
        );
    }
    // Diagnosed-claims tags: any diagnosis, on a line that is not an independent lab's.
    let lab = col("place_of_service_code")
        .eq(lit(LAB_POS))
        .fill_null(lit(false));
    for (i, s) in needs.dx_claims.iter().enumerate() {
        cols.push(
            any_dx_in(vs, s, &dxc)
                .and(lab.clone().not())
                .alias(tag_column("dxc", i)),
        );
    }
    input
        .lazy("medical_claim")
        .with_columns(cols)
        .with_columns(second)
}

/// The columns of [`classified_lines`] the event tables read.
pub fn narrow(lines: LazyFrame, needs: &Needs) -> LazyFrame {
    let mut keep = vec![
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
        col("facility"),
        col("facility_freq"),
        col("ed"),
        col("outpatient"),
        col("op_setting"),
        col("hospice"),
        col("mh_visit"),
        col("obs_bill"),
        col("obs_line"),
        col("pcs_always"),
        col("pcs_potential"),
    ];
    keep.extend(tag_columns("pdx", needs.principal_dx.len()));
    keep.extend(tag_columns("vdx", needs.visit_dx.len()));
    keep.extend(tag_columns("svc", needs.visit_services.len()));
    keep.extend(tag_columns("per", needs.period_dx.len()));
    keep.extend(tag_columns("edx", needs.ed_dx.len()));
    keep.extend(tag_columns("dxc", needs.dx_claims.len()));
    lines.select(keep)
}
