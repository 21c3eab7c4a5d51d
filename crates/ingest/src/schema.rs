//! The input-layer contract (`shared/spec/input-layer.md`, v1) as data: every table, every
//! column, its type, whether it is required, and how its codes are normalised (spec §8).

/// How a column is parsed and normalised on ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text, kept as given (an empty CSV field is null).
    Text,
    /// An identifier (`person_id`, `claim_id`, NPIs, …): trimmed, case kept; blank is null. A
    /// padded `" A1"` is the person `A1`, not another one.
    Id,
    /// Free text compared case-insensitively: trimmed and lower-cased (`payer_type`, `claim_type`).
    Lower,
    /// A code: trimmed and upper-cased (§8).
    Code,
    /// A diagnosis code: trimmed, upper-cased, dots removed (§8).
    Diagnosis,
    /// A revenue center code: trimmed and left-padded with zeros to 4 characters (§8).
    Revenue,
    /// A place-of-service code: trimmed and left-padded with zeros to 2 characters (§8).
    PlaceOfService,
    /// A bill type: trimmed; a 4-character code starting with `0` loses it (§8).
    BillType,
    /// An NDC: 11 digits; a dashed NDC is zero-padded to 5-4-2 and the dashes removed (§8).
    Ndc,
    /// A diagnosis code system: trimmed, lower-cased, aliases resolved, null = `icd-10-cm` (§8).
    DiagnosisSystem,
    /// An ISO date `YYYY-MM-DD` within 1900-01-01 … 2100-12-31 (§8).
    Date,
    /// A whole number.
    Int,
    /// A whole number that may not be negative (`days_supply`).
    NonNegativeInt,
    /// A decimal amount (money, quantities).
    Decimal,
}

/// One column of an input table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its kind of value.
    pub kind: Kind,
    /// Required: a missing column is a schema error, a null value rejects the row.
    pub required: bool,
}

/// One input-layer table.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Its name.
    pub name: &'static str,
    /// Required tables (§8: eligibility and medical_claim); optional ones may be absent.
    pub required: bool,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Pairs (start, end): a row with end < start is rejected on `end`.
    pub ordered_dates: Vec<(&'static str, &'static str)>,
    /// Columns of which at least one must be present (as a column) and non-null (per row);
    /// the reject names the first.
    pub one_of: Vec<&'static str>,
    /// Key that must be unique: later copies are rejected on the last key column (§8).
    pub unique_key: Vec<&'static str>,
    /// Closed lists: a column whose (normalised) value must be one of these; any other value
    /// rejects the row, the reason listing the allowed values.
    pub allowed: Vec<(&'static str, &'static [&'static str])>,
}

impl TableSpec {
    /// The column `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

const fn req(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        required: false,
    }
}

/// Names of the 25 diagnosis columns, in position order (`diagnosis_code_1` is principal).
pub const DIAGNOSIS_COLUMNS: [&str; 25] = [
    "diagnosis_code_1",
    "diagnosis_code_2",
    "diagnosis_code_3",
    "diagnosis_code_4",
    "diagnosis_code_5",
    "diagnosis_code_6",
    "diagnosis_code_7",
    "diagnosis_code_8",
    "diagnosis_code_9",
    "diagnosis_code_10",
    "diagnosis_code_11",
    "diagnosis_code_12",
    "diagnosis_code_13",
    "diagnosis_code_14",
    "diagnosis_code_15",
    "diagnosis_code_16",
    "diagnosis_code_17",
    "diagnosis_code_18",
    "diagnosis_code_19",
    "diagnosis_code_20",
    "diagnosis_code_21",
    "diagnosis_code_22",
    "diagnosis_code_23",
    "diagnosis_code_24",
    "diagnosis_code_25",
];

const PROCEDURE_COLUMNS: [&str; 25] = [
    "procedure_code_1",
    "procedure_code_2",
    "procedure_code_3",
    "procedure_code_4",
    "procedure_code_5",
    "procedure_code_6",
    "procedure_code_7",
    "procedure_code_8",
    "procedure_code_9",
    "procedure_code_10",
    "procedure_code_11",
    "procedure_code_12",
    "procedure_code_13",
    "procedure_code_14",
    "procedure_code_15",
    "procedure_code_16",
    "procedure_code_17",
    "procedure_code_18",
    "procedure_code_19",
    "procedure_code_20",
    "procedure_code_21",
    "procedure_code_22",
    "procedure_code_23",
    "procedure_code_24",
    "procedure_code_25",
];

/// The eligibility table.
pub const ELIGIBILITY: &str = "eligibility";
/// The medical claim lines.
pub const MEDICAL_CLAIM: &str = "medical_claim";
/// The pharmacy fills.
pub const PHARMACY_CLAIM: &str = "pharmacy_claim";
/// The observations (vital signs, screenings).
pub const OBSERVATION: &str = "observation";
/// The lab results.
pub const LAB_RESULT: &str = "lab_result";
/// The Health Home enrollment spans.
pub const HEALTH_HOME_ENROLLMENT: &str = "health_home_enrollment";

/// Every input-layer table, in the order they are read.
pub fn all_tables() -> Vec<TableSpec> {
    use Kind::*;
    let mut medical = vec![
        req("claim_id", Id),
        req("claim_line_number", Int),
        req("claim_type", Lower),
        req("person_id", Id),
        req("claim_start_date", Date),
        req("claim_end_date", Date),
        opt("claim_line_start_date", Date),
        opt("claim_line_end_date", Date),
        opt("admission_date", Date),
        opt("discharge_date", Date),
        opt("admit_source_code", Code),
        opt("admit_type_code", Code),
        opt("discharge_disposition_code", Code),
        opt("place_of_service_code", PlaceOfService),
        opt("bill_type_code", BillType),
        opt("revenue_center_code", Revenue),
        opt("hcpcs_code", Code),
        opt("hcpcs_modifier_1", Code),
        opt("hcpcs_modifier_2", Code),
        opt("hcpcs_modifier_3", Code),
        opt("hcpcs_modifier_4", Code),
        opt("hcpcs_modifier_5", Code),
        opt("rendering_npi", Id),
        opt("billing_npi", Id),
        opt("facility_npi", Id),
        opt("paid_date", Date),
        opt("paid_amount", Decimal),
        opt("allowed_amount", Decimal),
        opt("charge_amount", Decimal),
        opt("diagnosis_code_type", DiagnosisSystem),
    ];
    medical.extend(DIAGNOSIS_COLUMNS.iter().map(|c| opt(c, Diagnosis)));
    medical.push(opt("procedure_code_type", Lower));
    medical.extend(PROCEDURE_COLUMNS.iter().map(|c| opt(c, Code)));
    medical.push(opt("data_source", Text));

    let clinical = |date_cols: Vec<Column>, id: &'static str| {
        let mut cols = vec![opt(id, Id), req("person_id", Id), opt("encounter_id", Id)];
        cols.extend(date_cols);
        cols.extend([
            opt("normalized_code_type", Lower),
            opt("source_code_type", Lower),
            opt("normalized_code", Code),
            opt("source_code", Code),
            req("result", Text),
            opt("normalized_units", Text),
            opt("source_units", Text),
            opt("data_source", Text),
        ]);
        cols
    };

    vec![
        TableSpec {
            name: ELIGIBILITY,
            required: true,
            columns: vec![
                req("person_id", Id),
                opt("member_id", Id),
                opt("gender", Lower),
                req("birth_date", Date),
                opt("death_date", Date),
                req("enrollment_start_date", Date),
                req("enrollment_end_date", Date),
                req("payer", Text),
                req("payer_type", Lower),
                opt("plan", Text),
                opt("data_source", Text),
                // Tuva's optional demographics: the Core Set strata (race and ethnicity,
                // geography from the ZIP code). Free text: mapped to CMS's categories by
                // transform, never rejected.
                opt("race", Text),
                opt("ethnicity", Text),
                opt("zip_code", Id),
                opt("state", Text),
                opt("county", Text),
            ],
            ordered_dates: vec![("enrollment_start_date", "enrollment_end_date")],
            one_of: vec![],
            unique_key: vec![],
            // gender (`male`, `female`, `unknown`) is not checked: the sex stratum maps what
            // it does not know to `unknown`, and a state file's `M`/`F` would otherwise reject
            // whole enrollment spans.
            allowed: vec![],
        },
        TableSpec {
            name: MEDICAL_CLAIM,
            required: true,
            columns: medical,
            ordered_dates: vec![("claim_start_date", "claim_end_date")],
            one_of: vec![],
            unique_key: vec!["claim_id", "claim_line_number"],
            allowed: vec![("claim_type", CLAIM_TYPES)],
        },
        TableSpec {
            name: PHARMACY_CLAIM,
            required: false,
            columns: vec![
                req("claim_id", Id),
                req("claim_line_number", Int),
                req("person_id", Id),
                req("dispensing_date", Date),
                opt("ndc_code", Ndc),
                // caregap extension: an RxNorm code where no NDC is known (Synthea, OMOP).
                opt("rxnorm_code", Id),
                opt("days_supply", NonNegativeInt),
                opt("quantity", Decimal),
                opt("refills", Int),
                opt("prescribing_provider_npi", Id),
                opt("dispensing_provider_npi", Id),
                opt("paid_date", Date),
                opt("paid_amount", Decimal),
                opt("allowed_amount", Decimal),
                opt("data_source", Text),
            ],
            ordered_dates: vec![],
            one_of: vec!["ndc_code", "rxnorm_code"],
            unique_key: vec!["claim_id", "claim_line_number"],
            allowed: vec![],
        },
        TableSpec {
            name: OBSERVATION,
            required: false,
            columns: clinical(vec![req("observation_date", Date)], "observation_id"),
            ordered_dates: vec![],
            one_of: vec!["normalized_code", "source_code"],
            unique_key: vec![],
            allowed: vec![],
        },
        TableSpec {
            name: LAB_RESULT,
            required: false,
            columns: clinical(
                vec![opt("result_date", Date), opt("collection_date", Date)],
                "lab_result_id",
            ),
            ordered_dates: vec![],
            one_of: vec!["normalized_code", "source_code"],
            unique_key: vec![],
            allowed: vec![],
        },
        TableSpec {
            name: HEALTH_HOME_ENROLLMENT,
            required: false,
            columns: vec![
                req("person_id", Id),
                req("health_home_id", Id),
                opt("health_home_type", Lower),
                // The Health Home program (State Plan Amendment) the home belongs to.
                opt("program_id", Id),
                req("enrollment_start_date", Date),
                opt("enrollment_end_date", Date),
            ],
            ordered_dates: vec![("enrollment_start_date", "enrollment_end_date")],
            one_of: vec![],
            unique_key: vec![],
            allowed: vec![("health_home_type", HEALTH_HOME_TYPES)],
        },
    ]
}

/// `medical_claim.claim_type` (input-layer.md lists `institutional`, `professional`; the Tuva
/// terminology the input layer follows adds `dental` and `vision`, which caregap reads as
/// professional claims).
pub const CLAIM_TYPES: &[&str] = &["institutional", "professional", "dental", "vision"];

/// `health_home_enrollment.health_home_type` (input-layer.md, and issue #18): community mental
/// health center, primary care, developmental disabilities Health Home.
pub const HEALTH_HOME_TYPES: &[&str] = &["cmhc", "pchh", "dd"];

/// lab_result needs a date: `result_date`, else `collection_date` (input-layer.md).
pub const LAB_DATE_COLUMNS: [&str; 2] = ["result_date", "collection_date"];

/// The column alias accepted in every table (input-layer.md): older Tuva releases.
pub const PERSON_ID_ALIAS: (&str, &str) = ("person_id", "patient_id");

/// Resolve a diagnosis code-system spelling to its canonical name (§2: `ICD10`, `SNOMED`, …).
pub fn canonical_code_system(raw: &str) -> String {
    let s = raw
        .trim()
        .to_ascii_lowercase()
        .replace(['_', ' ', '.'], "-");
    match s.as_str() {
        "icd-10-cm" | "icd10" | "icd-10" | "icd10cm" | "icd10-cm" => "icd-10-cm".into(),
        "icd-9-cm" | "icd9" | "icd-9" | "icd9cm" | "icd9-cm" => "icd-9-cm".into(),
        "snomed-ct" | "snomed" | "snomedct" | "sct" => "snomed-ct".into(),
        "hcpcs" | "cpt" | "cpt-ii" | "cpt2" | "cpt-4" | "cpt4" => "hcpcs".into(),
        "revenue" | "rev" | "revenue-center" | "revenue-code" => "revenue".into(),
        "pos" | "place-of-service" => "pos".into(),
        "bill-type" | "tob" | "billtype" | "type-of-bill" => "bill_type".into(),
        "loinc" => "loinc".into(),
        "ndc" => "ndc".into(),
        "rxnorm" | "rxcui" => "rxnorm".into(),
        "text" => "text".into(),
        _ => s,
    }
}

/// The polars type a column has after ingest.
pub fn dtype_of(kind: Kind) -> polars::prelude::DataType {
    match kind {
        Kind::Date => polars::prelude::DataType::Date,
        Kind::Int | Kind::NonNegativeInt => polars::prelude::DataType::Int64,
        Kind::Decimal => polars::prelude::DataType::Float64,
        _ => polars::prelude::DataType::String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve() {
        assert_eq!(canonical_code_system("ICD10"), "icd-10-cm");
        assert_eq!(canonical_code_system(" ICD-10-CM "), "icd-10-cm");
        assert_eq!(canonical_code_system("CPT"), "hcpcs");
        assert_eq!(canonical_code_system("TOB"), "bill_type");
        assert_eq!(canonical_code_system("SNOMED"), "snomed-ct");
        assert_eq!(canonical_code_system("icd-9-cm"), "icd-9-cm");
    }

    #[test]
    fn every_table_has_person_id() {
        for t in all_tables() {
            assert!(
                t.column("person_id").is_some_and(|c| c.required),
                "{}",
                t.name
            );
        }
    }
}
