//! Value sets (spec §2): named code lists, shipped as versioned data files and replaceable by a
//! user's CSV (`value_set, code_system, code`) without rebuilding.
//!
//! A CSV that names a value set replaces **all** of that set's codes in every code system.
//! Codes are normalised exactly as input codes are (§8), so `F41.1`, `450` or `1234-5678-90` in
//! an override match what ingest produced.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;

use crate::error::TransformError;
use crate::params::in_list;

/// Version of the shipped value sets, recorded in the run manifest.
pub const SHIPPED_VERSION: &str = "caregap-open-1.3";

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../value_sets/", $name, ".csv")))),*]
    };
}

/// The shipped files, embedded at build time.
const SHIPPED: &[(&str, &str)] = shipped!(
    "mental_illness",
    "serious_mental_illness",
    "substance_use_disorder",
    "asthma",
    "diabetes",
    "cardiovascular",
    "hypertension",
    "overweight",
    "developmental_disability",
    "smoking",
    "schizophrenia_bipolar",
    "pregnancy",
    "esrd",
    "hospice",
    "ed_visit",
    "outpatient_visit",
    "mh_visit",
    "mh_telehealth",
    "fua_service",
    "glucose_test",
    "hba1c",
    "hba1c_test",
    "bp_systolic",
    "bp_diastolic",
    "bmi",
    "tobacco_status",
    "antipsychotic",
    "diabetes_medication",
);

/// Canonical code-system names (§2).
pub const CODE_SYSTEMS: &[&str] = &[
    "icd-10-cm",
    "icd-9-cm",
    "snomed-ct",
    "hcpcs",
    "revenue",
    "pos",
    "bill_type",
    "loinc",
    "ndc",
    "rxnorm",
    "text",
];

/// Every value set in force: name → code system → codes (normalised).
#[derive(Debug, Clone, Default)]
pub struct ValueSets {
    sets: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Sets replaced by an override file, with the file that replaced them.
    replaced: BTreeMap<String, String>,
}

/// Normalise a code of `system` as §8 normalises input codes. `None` when it is not valid.
pub fn normalise_code(system: &str, raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    let up = s.to_ascii_uppercase();
    Some(match system {
        "icd-10-cm" | "icd-9-cm" => up.replace('.', ""),
        "revenue" => format!("{up:0>4}"),
        "pos" => format!("{up:0>2}"),
        "bill_type" => {
            let t = if up.len() == 4 && up.starts_with('0') {
                &up[1..]
            } else {
                &up[..]
            };
            t.chars().take(2).collect()
        }
        "ndc" => normalise_ndc(s)?,
        "text" => s.to_lowercase(),
        "snomed-ct" | "rxnorm" => s.to_string(),
        _ => up,
    })
}

/// §8: a dashed NDC is zero-padded to 5-4-2 and its dashes removed; otherwise 11 digits.
pub fn normalise_ndc(raw: &str) -> Option<String> {
    let s = raw.trim();
    let out = if s.contains('-') {
        let parts: Vec<&str> = s.split('-').collect();
        if parts.len() != 3 {
            return None;
        }
        format!("{:0>5}{:0>4}{:0>2}", parts[0], parts[1], parts[2])
    } else {
        s.to_string()
    };
    (out.len() == 11 && out.bytes().all(|b| b.is_ascii_digit())).then_some(out)
}

impl ValueSets {
    /// The value sets caregap ships (spec §2, `value_sets/*.csv`).
    pub fn shipped() -> Self {
        let mut vs = ValueSets::default();
        for (name, text) in SHIPPED {
            for (i, line) in text.lines().enumerate().skip(1) {
                let (set, system, code) = split_csv_line(line)
                    .unwrap_or_else(|| panic!("shipped value set {name} line {}", i + 1));
                assert_eq!(&set, name, "shipped value set file {name}");
                let code = normalise_code(&system, &code)
                    .unwrap_or_else(|| panic!("shipped value set {name}: bad code {code}"));
                vs.sets
                    .entry(set)
                    .or_default()
                    .entry(system)
                    .or_default()
                    .insert(code);
            }
        }
        vs
    }

    /// Replace every set named in an override CSV (`value_set, code_system, code`) by the codes
    /// the file gives it. Code systems may use the common aliases (`ICD10`, `CPT`, `TOB`…).
    pub fn apply_override(&mut self, path: &Path) -> Result<(), TransformError> {
        let file = path.display().to_string();
        let bad = |row: usize, column: &str, message: String| TransformError::ValueSetFile {
            file: file.clone(),
            row,
            column: column.to_string(),
            message,
        };
        let df = LazyCsvReader::new(PlRefPath::new(path.to_string_lossy().as_ref()))
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .finish()
            .and_then(|lf| lf.collect())
            .map_err(|e| bad(0, "", e.to_string()))?;
        for c in ["value_set", "code_system", "code"] {
            if df.column(c).is_err() {
                return Err(bad(0, c, "required column is missing".into()));
            }
        }
        let get = |c: &str| df.column(c).and_then(|s| s.str().cloned());
        let (sets, systems, codes) = (get("value_set")?, get("code_system")?, get("code")?);
        let mut new: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for i in 0..df.height() {
            let row = i + 1;
            let set = sets
                .get(i)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad(row, "value_set", "missing".into()))?;
            let raw_system = systems
                .get(i)
                .ok_or_else(|| bad(row, "code_system", "missing".into()))?;
            let system = caregap_ingest::schema::canonical_code_system(raw_system);
            if !CODE_SYSTEMS.contains(&system.as_str()) {
                return Err(bad(
                    row,
                    "code_system",
                    format!(
                        "unknown code system `{raw_system}` (known: {})",
                        CODE_SYSTEMS.join(", ")
                    ),
                ));
            }
            let raw_code = codes
                .get(i)
                .ok_or_else(|| bad(row, "code", "missing".into()))?;
            let code = normalise_code(&system, raw_code).ok_or_else(|| {
                bad(
                    row,
                    "code",
                    format!("`{raw_code}` is not a valid {system} code"),
                )
            })?;
            new.entry(set.to_string())
                .or_default()
                .entry(system)
                .or_default()
                .insert(code);
        }
        for (set, codes) in new {
            self.replaced.insert(set.clone(), file.clone());
            self.sets.insert(set, codes);
        }
        Ok(())
    }

    /// Names of the sets replaced by override files.
    pub fn replaced(&self) -> Vec<String> {
        self.replaced.keys().cloned().collect()
    }

    /// The codes of `set` in `system` (empty when none).
    pub fn codes(&self, set: &str, system: &str) -> Vec<String> {
        self.sets
            .get(set)
            .and_then(|m| m.get(system))
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether any set has codes in `system` (a diagnosis system with none loaded matches
    /// nothing, and is counted in data quality).
    pub fn has_system(&self, system: &str) -> bool {
        self.sets
            .values()
            .any(|m| m.get(system).is_some_and(|c| !c.is_empty()))
    }

    /// Every value set in force as `value_set, code_system, code`, sorted.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        for (set, systems) in &self.sets {
            for (system, codes) in systems {
                for code in codes {
                    a.push(set.as_str());
                    b.push(system.as_str());
                    c.push(code.as_str());
                }
            }
        }
        DataFrame::new_infer_height(vec![
            Column::new("value_set".into(), a),
            Column::new("code_system".into(), b),
            Column::new("code".into(), c),
        ])
    }

    /// A boolean expression: does `code` (a normalised code of `system`) belong to `set`?
    /// ICD codes match by prefix, bill types on their first two characters, text trimmed and
    /// case-insensitively, everything else exactly.
    pub fn matches(&self, set: &str, system: &str, code: Expr) -> Expr {
        let codes = self.codes(set, system);
        if codes.is_empty() {
            return lit(false);
        }
        match system {
            "icd-10-cm" | "icd-9-cm" => {
                let mut by_len: BTreeMap<usize, Vec<String>> = BTreeMap::new();
                for c in codes {
                    by_len.entry(c.len()).or_default().push(c);
                }
                by_len
                    .into_iter()
                    .map(|(n, cs)| in_list(code.clone().str().head(lit(n as i64)), &cs))
                    .reduce(|a, b| a.or(b))
                    .expect("non-empty")
                    .fill_null(lit(false))
            }
            "bill_type" => in_list(code.str().head(lit(2)), &codes).fill_null(lit(false)),
            "text" => in_list(
                code.str().strip_chars(lit(NULL)).str().to_lowercase(),
                &codes,
            )
            .fill_null(lit(false)),
            _ => in_list(code, &codes).fill_null(lit(false)),
        }
    }

    /// Rust-side membership test with the same semantics as [`ValueSets::matches`].
    pub fn contains(&self, set: &str, system: &str, code: &str) -> bool {
        let Some(codes) = self.sets.get(set).and_then(|m| m.get(system)) else {
            return false;
        };
        match system {
            "icd-10-cm" | "icd-9-cm" => (1..=code.len()).any(|n| codes.contains(&code[..n])),
            "bill_type" => codes.contains(&code.chars().take(2).collect::<String>()),
            "text" => codes.contains(&code.trim().to_lowercase()),
            _ => codes.contains(code),
        }
    }
}

/// Split one line of the shipped CSVs (three fields, the last possibly quoted).
fn split_csv_line(line: &str) -> Option<(String, String, String)> {
    let mut it = line.splitn(3, ',');
    let a = it.next()?.to_string();
    let b = it.next()?.to_string();
    let c = it.next()?.trim_matches('"').to_string();
    Some((a, b, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_sets_load_and_match() {
        let vs = ValueSets::shipped();
        assert!(vs.contains("mental_illness", "icd-10-cm", "F411"));
        assert!(!vs.contains("mental_illness", "icd-10-cm", "F700"));
        assert!(vs.contains("developmental_disability", "icd-10-cm", "F700"));
        assert!(vs.contains("serious_mental_illness", "icd-10-cm", "F322"));
        assert!(!vs.contains("serious_mental_illness", "icd-10-cm", "F329"));
        assert!(vs.contains("hospice", "bill_type", "815"));
        assert!(vs.contains("ed_visit", "revenue", "0450"));
        assert!(vs.contains("smoking", "text", "  EVERY day smoker "));
        assert!(vs.contains("pregnancy", "icd-10-cm", "O9A12"));
        assert!(vs.contains("overweight", "icd-10-cm", "Z6830"));
        assert!(!vs.contains("overweight", "icd-10-cm", "Z6824"));
    }

    #[test]
    fn code_normalisation() {
        assert_eq!(
            normalise_ndc("1234-5678-90").as_deref(),
            Some("01234567890")
        );
        assert_eq!(normalise_ndc("12345678901").as_deref(), Some("12345678901"));
        assert_eq!(normalise_ndc("1234567890"), None);
        assert_eq!(normalise_code("revenue", "450").as_deref(), Some("0450"));
        assert_eq!(normalise_code("pos", "2").as_deref(), Some("02"));
        assert_eq!(normalise_code("bill_type", "0815").as_deref(), Some("81"));
        assert_eq!(
            normalise_code("icd-10-cm", "f41.1").as_deref(),
            Some("F411")
        );
    }

    #[test]
    fn override_replaces_whole_set() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.csv");
        std::fs::write(
            &p,
            "value_set,code_system,code\ned_visit,POS,23\nmental_illness,ICD10,F41\n",
        )
        .unwrap();
        let mut vs = ValueSets::shipped();
        vs.apply_override(&p).unwrap();
        assert!(!vs.contains("ed_visit", "revenue", "0450"));
        assert!(vs.contains("ed_visit", "pos", "23"));
        assert!(vs.contains("mental_illness", "icd-10-cm", "F411"));
        assert!(!vs.contains("mental_illness", "icd-10-cm", "F20"));
        assert_eq!(vs.replaced(), vec!["ed_visit", "mental_illness"]);
    }

    #[test]
    fn override_with_unknown_system_names_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.csv");
        std::fs::write(
            &p,
            "value_set,code_system,code\ned_visit,pos,23\ned_visit,klingon,1\n",
        )
        .unwrap();
        let err = ValueSets::shipped()
            .apply_override(&p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 2") && err.contains("klingon"), "{err}");
    }
}
