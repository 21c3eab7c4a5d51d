//! Value sets (spec §2): named code lists, shipped as versioned data files and replaceable by a
//! user's file without rebuilding: caregap's own CSV (`value_set, code_system, code`) or a
//! value-set directory export as NCQA and VSAC publish them, whose set names the value-set map
//! ([`map`]) turns into caregap's (docs/value-sets.md).
//!
//! A file that names a value set replaces **all** of that set's codes in every code system.
//! Codes are normalised exactly as input codes are (§8), so `F41.1`, `450` or `1234-5678-90` in
//! an override match what ingest produced. A value-set name or code system caregap does not
//! know is an error naming it, never a silent non-match.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::error::TransformError;
use crate::params::in_list;

pub mod code_systems;
pub mod map;
mod table;

use code_systems::CodeSystemName;
pub use map::{ValueSetMap, SHIPPED_MAP_VERSION};
use table::{field, Table};

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
    "mental_behavioral",
    "institutional_facility",
    "gmi",
    "palliative_care",
    "cdf_encounter",
    "depression_screen",
    "depression_screen_positive",
    "depression_screen_negative",
    "cdf_follow_up",
    "bipolar_disorder",
    "depression",
    "iet_alcohol",
    "iet_opioid",
    "iet_other_drug",
    "iet_detox",
    "iet_iop_ph",
    "iet_sud_service",
    "iet_telephone",
    "iet_online",
    "iet_oud_weekly_drug",
    "iet_oud_weekly_nondrug",
    "iet_oud_monthly",
    "iet_med_admin",
    "iet_long_acting_aud",
    "iet_long_acting_oud",
    "iet_aud_medication",
    "oud_buprenorphine",
    "oud_naltrexone_oral",
    "oud_naltrexone_injectable",
    "oud_diagnosis",
    "drug_overdose",
    "oud_buprenorphine_hcpcs",
    "oud_naltrexone_injectable_hcpcs",
    "oud_methadone_otp",
    "oud_methadone_hcpcs",
    "col_colonoscopy",
    "col_sigmoidoscopy",
    "col_ct_colonography",
    "col_fit_dna",
    "col_fobt",
    "colorectal_cancer",
    "total_colectomy",
    "frailty",
    "advanced_illness",
    "dementia_medication",
    "observation_stay",
    "planned_always_procedure",
    "planned_always_diagnosis",
    "planned_potential_procedure",
    "acute_diagnosis",
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
    "icd-10-pcs",
];

/// The sets whose ICD-10-PCS codes some rule reads (matched against `procedure_code_1…25`,
/// docs/measures/col.md §4, §8). ICD-10-PCS codes of any other set are skipped and counted, as
/// before, because nothing would ever match them.
pub const PROCEDURE_SETS: &[&str] = &[
    "col_colonoscopy",
    "col_sigmoidoscopy",
    "col_ct_colonography",
    "col_fit_dna",
    "col_fobt",
    "total_colectomy",
    "colorectal_cancer",
    "palliative_care",
    "frailty",
    "advanced_illness",
    // PCR-HH's planned-readmission rule (docs/measures/pcr.md).
    "planned_always_procedure",
    "planned_potential_procedure",
];

/// Whether codes of `system` are matched for `set` (ICD-10-PCS only for [`PROCEDURE_SETS`]).
pub fn system_read_for(set: &str, system: &str) -> bool {
    system != "icd-10-pcs" || PROCEDURE_SETS.contains(&set)
}

/// Every value set in force: name → code system → codes (normalised).
#[derive(Debug, Clone)]
pub struct ValueSets {
    sets: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Sets replaced by override files, with the files that gave their codes.
    replaced: BTreeMap<String, Vec<String>>,
    /// The map from a publisher's value-set names to caregap's.
    map: ValueSetMap,
    /// What each override file did.
    reports: Vec<OverrideReport>,
}

/// How an override file is laid out (told by its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileLayout {
    /// caregap's own `value_set, code_system, code`, with caregap's set names.
    Plain,
    /// A value-set directory export (NCQA, VSAC), with the publisher's set names.
    Directory,
}

/// What one override file did, for the run manifest.
#[derive(Debug, Clone, Serialize)]
pub struct OverrideReport {
    /// The override file, as given.
    pub file: String,
    /// How it is laid out.
    pub layout: FileLayout,
    /// Data rows read.
    pub rows: usize,
    /// caregap sets replaced → the publisher's sets their codes came from (empty for
    /// caregap's own layout).
    pub replaced: BTreeMap<String, BTreeSet<String>>,
    /// The export's sets that the value-set map does not list → their rows (skipped).
    pub unmapped: BTreeMap<String, usize>,
    /// Code systems caregap matches nothing in (e.g. `icd-10-pcs`) → rows skipped.
    pub skipped_systems: BTreeMap<String, usize>,
    /// caregap sets replaced from an export → the sets the map also lists for them that
    /// the file does not contain.
    pub not_in_file: BTreeMap<String, Vec<String>>,
}

/// Whether `name` is one of caregap's value sets.
pub fn is_known_set(name: &str) -> bool {
    SHIPPED.iter().any(|(n, _)| *n == name)
}

/// The names of caregap's value sets, sorted.
pub fn set_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
    v.sort_unstable();
    v
}

/// An error naming `file`, `row`, `column` and `name` unless `name` is one of caregap's sets.
pub(crate) fn check_known_set(
    file: &str,
    row: usize,
    column: &str,
    name: &str,
) -> Result<(), TransformError> {
    if is_known_set(name) {
        return Ok(());
    }
    let norm = |s: &str| s.trim().to_ascii_lowercase();
    Err(TransformError::UnknownValueSet {
        file: file.to_string(),
        row,
        column: column.to_string(),
        name: name.to_string(),
        suggestion: code_systems::nearest(&norm(name), SHIPPED.iter().map(|(n, _)| *n), norm)
            .map(str::to_string),
    })
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
        let mut vs = ValueSets {
            sets: BTreeMap::new(),
            replaced: BTreeMap::new(),
            map: ValueSetMap::shipped(),
            reports: Vec::new(),
        };
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

    /// Replace every value set that an override file gives codes for, by those codes (spec
    /// §2: a file that names a set replaces all of its codes, in every system). When several
    /// override files give codes for one set, the set is the union of theirs (the files of a
    /// run replace it together; NCQA's value sets and medication lists come apart). The layout is
    /// told by the header (case-insensitive; CSV, tab- or pipe-separated):
    /// - caregap's own, `value_set, code_system, code`: set names are caregap's;
    /// - a value-set directory export (NCQA's HEDIS Value Set Directory or Medication List
    ///   Directory, VSAC): `Value Set Name` (or `Medication List Name`, `ValueSetName`),
    ///   `Code System` (or `CodeSystemName`), `Code`; set names are the publisher's and go
    ///   through the value-set map ([`ValueSets::use_map`]); other columns are ignored.
    ///
    /// Code systems may be written in caregap's names, the common aliases or the directories'
    /// names ([`code_systems`]). An unknown value-set name (caregap's layout or the map) or an
    /// unknown code system in a row that is used is an error naming the file, row and value.
    /// Codes in systems caregap matches nothing in (ICD-10-PCS, CVX…) and, in an export, the
    /// sets the map does not list are skipped and reported ([`ValueSets::reports`]).
    pub fn apply_override(&mut self, path: &Path) -> Result<(), TransformError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| TransformError::ValueSetFile {
            file: file.clone(),
            row: 0,
            column: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        self.apply_override_bytes(&file, &bytes)
    }

    /// [`ValueSets::apply_override`] on a file's contents (`file` names it in errors).
    pub fn apply_override_bytes(&mut self, file: &str, bytes: &[u8]) -> Result<(), TransformError> {
        let bad = |row: usize, column: &str, message: String| TransformError::ValueSetFile {
            file: file.to_string(),
            row,
            column: column.to_string(),
            message,
        };
        let t = Table::parse(file, bytes)?;
        let layout = if t.has("valueset") {
            FileLayout::Plain
        } else if t.has("valuesetname") || t.has("medicationlistname") {
            FileLayout::Directory
        } else {
            return Err(bad(
                0,
                "",
                "cannot tell the layout from the header: expected `value_set, code_system, code` (caregap's) or a value-set directory export with `Value Set Name`, `Code System` and `Code` columns (NCQA, VSAC)".into(),
            ));
        };
        let missing = |c: &str| bad(0, c, "required column is missing".into());
        let (set_col, sets) = t
            .text(&["valueset", "valuesetname", "medicationlistname"])
            .ok_or_else(|| missing("value_set"))?;
        let (system_col, systems) = t.text(&["codesystem", "codesystemname"]).ok_or_else(|| {
            missing(if layout == FileLayout::Plain {
                "code_system"
            } else {
                "Code System"
            })
        })?;
        let (code_col, codes) = t.text(&["code"]).ok_or_else(|| {
            missing(if layout == FileLayout::Plain {
                "code"
            } else {
                "Code"
            })
        })?;

        let mut report = OverrideReport {
            file: file.to_string(),
            layout,
            rows: t.height(),
            replaced: BTreeMap::new(),
            unmapped: BTreeMap::new(),
            skipped_systems: BTreeMap::new(),
            not_in_file: BTreeMap::new(),
        };
        let mut new: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        // Sets the file names whose rows were all skipped, with the systems skipped.
        let mut skipped_only: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for i in 0..t.height() {
            let row = i + 1;
            let (set, raw_system, raw_code) =
                (field(&sets, i), field(&systems, i), field(&codes, i));
            if set.is_none() && raw_system.is_none() && raw_code.is_none() {
                continue; // a blank line (spreadsheets write them at the end)
            }
            let set = set.ok_or_else(|| bad(row, &set_col, "missing".into()))?;
            let targets: Vec<String> = match layout {
                FileLayout::Plain => {
                    check_known_set(file, row, &set_col, set)?;
                    vec![set.to_string()]
                }
                FileLayout::Directory => match self.map.targets(set) {
                    Some(t) => t.iter().cloned().collect(),
                    None => {
                        *report.unmapped.entry(set.to_string()).or_default() += 1;
                        continue;
                    }
                },
            };
            let raw_system = raw_system.ok_or_else(|| bad(row, &system_col, "missing".into()))?;
            let resolved = match code_systems::resolve(raw_system) {
                // ICD-10-PCS is matched only in the sets whose procedure codes a rule reads.
                Some(CodeSystemName::Matched(s))
                    if !targets.iter().any(|t| system_read_for(t, s)) =>
                {
                    Some(CodeSystemName::Unmatched(s))
                }
                r => r,
            };
            let targets: Vec<String> = match resolved {
                Some(CodeSystemName::Matched(s)) => targets
                    .into_iter()
                    .filter(|t| system_read_for(t, s))
                    .collect(),
                _ => targets,
            };
            let system = match resolved {
                Some(CodeSystemName::Matched(s)) => s,
                Some(CodeSystemName::Unmatched(s)) => {
                    *report.skipped_systems.entry(s.to_string()).or_default() += 1;
                    for target in targets {
                        if !new.contains_key(&target) {
                            skipped_only
                                .entry(target)
                                .or_default()
                                .insert(s.to_string());
                        }
                    }
                    continue;
                }
                None => {
                    return Err(TransformError::UnknownCodeSystem {
                        file: file.to_string(),
                        row,
                        column: system_col.clone(),
                        name: raw_system.to_string(),
                        suggestion: code_systems::suggest(raw_system).map(str::to_string),
                    })
                }
            };
            let raw_code = raw_code.ok_or_else(|| bad(row, &code_col, "missing".into()))?;
            let code = normalise_code(system, raw_code).ok_or_else(|| {
                bad(
                    row,
                    &code_col,
                    format!("`{raw_code}` is not a valid {system} code"),
                )
            })?;
            for target in targets {
                skipped_only.remove(&target);
                if layout == FileLayout::Directory {
                    report
                        .replaced
                        .entry(target.clone())
                        .or_default()
                        .insert(set.to_string());
                } else {
                    report.replaced.entry(target.clone()).or_default();
                }
                new.entry(target)
                    .or_default()
                    .entry(system.to_string())
                    .or_default()
                    .insert(code.clone());
            }
        }
        if let Some((set, systems)) = skipped_only.into_iter().next() {
            return Err(TransformError::NoMatchableCodes {
                file: file.to_string(),
                set,
                systems: systems.into_iter().collect::<Vec<_>>().join(", "),
            });
        }
        if layout == FileLayout::Directory && new.is_empty() && !report.unmapped.is_empty() {
            return Err(TransformError::NothingMapped {
                file: file.to_string(),
                count: report.unmapped.len(),
                map: self.map_name(),
                examples: report
                    .unmapped
                    .keys()
                    .take(5)
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if layout == FileLayout::Directory {
            for (set, from) in &report.replaced {
                let absent: Vec<String> = self
                    .map
                    .sources_of(set)
                    .into_iter()
                    .filter(|s| !from.iter().any(|f| map::name_key(f) == map::name_key(s)))
                    .map(str::to_string)
                    .collect();
                if !absent.is_empty() {
                    report.not_in_file.insert(set.clone(), absent);
                }
            }
        }
        for (set, codes) in new {
            // The override files of a run together replace a set: one named by an earlier
            // file too gets the union (NCQA ships medication lists and value sets apart).
            if self.replaced.contains_key(&set) {
                let have = self.sets.entry(set.clone()).or_default();
                for (system, c) in codes {
                    have.entry(system).or_default().extend(c);
                }
            } else {
                self.sets.insert(set.clone(), codes);
            }
            self.replaced.entry(set).or_default().push(file.to_string());
        }
        self.reports.push(report);
        Ok(())
    }

    /// Use `map` for the value-set directory exports applied after this call (the shipped
    /// map is in force until then).
    pub fn use_map(&mut self, map: ValueSetMap) {
        self.map = map;
    }

    /// The value-set map in force.
    pub fn map(&self) -> &ValueSetMap {
        &self.map
    }

    /// The map as messages name it: its file, or the shipped map and version.
    fn map_name(&self) -> String {
        match self.map.file() {
            Some(f) => f.to_string(),
            None => format!("(shipped, {SHIPPED_MAP_VERSION})"),
        }
    }

    /// What each override file did, in the order applied.
    pub fn reports(&self) -> &[OverrideReport] {
        &self.reports
    }

    /// One warning per thing an override file skipped or left out (also in the reports):
    /// sets of an export that the map does not list, codes in systems caregap matches nothing
    /// in, and caregap sets replaced from only some of the sets the map lists for them.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.reports {
            if !r.unmapped.is_empty() {
                let rows: usize = r.unmapped.values().sum();
                let names: Vec<&str> = r.unmapped.keys().map(String::as_str).collect();
                let shown = if names.len() > 8 {
                    format!("{}, … (all in run_manifest.json)", names[..8].join(", "))
                } else {
                    names.join(", ")
                };
                out.push(format!(
                    "warning: value-set file {}: {} value set(s) not in the value-set map {} were skipped ({rows} rows): {shown}",
                    r.file,
                    names.len(),
                    self.map_name()
                ));
            }
            if !r.skipped_systems.is_empty() {
                let n: usize = r.skipped_systems.values().sum();
                let by: Vec<String> = r
                    .skipped_systems
                    .iter()
                    .map(|(s, k)| format!("{s} {k}"))
                    .collect();
                out.push(format!(
                    "warning: value-set file {}: {n} code(s) in systems caregap matches nothing in were skipped ({})",
                    r.file,
                    by.join(", ")
                ));
            }
            for (set, absent) in &r.not_in_file {
                let from: Vec<&str> = r.replaced[set].iter().map(String::as_str).collect();
                out.push(format!(
                    "warning: value-set file {}: `{set}` was replaced from {} only; the value-set map also lists {} for it, which the file does not contain",
                    r.file,
                    from.join(", "),
                    absent.join(", ")
                ));
            }
        }
        out
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
    ///
    /// `set` must be one of caregap's sets: a name that is not (a misspelling in code) panics
    /// instead of matching nothing. The registry test scans the source for such names.
    pub fn matches(&self, set: &str, system: &str, code: Expr) -> Expr {
        assert!(
            is_known_set(set),
            "value set `{set}` is not one of caregap's sets (a misspelling in code?)"
        );
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
        // Drug overdose: accidental intent (6th character 1) only, any 7th character.
        assert!(vs.contains("drug_overdose", "icd-10-cm", "T401X1A"));
        assert!(vs.contains("drug_overdose", "icd-10-cm", "T40411D"));
        assert!(vs.contains("drug_overdose", "icd-10-cm", "T50Z11A"));
        assert!(!vs.contains("drug_overdose", "icd-10-cm", "T402X5A"));
        assert!(!vs.contains("drug_overdose", "icd-10-cm", "T402X2A"));
        assert!(!vs.contains("drug_overdose", "icd-10-cm", "T511X1A"));
        // Real NDCs: Suboxone film 8 mg/2 mg, Vivitrol; Butrans (pain) is not in the set.
        assert!(vs.contains("oud_buprenorphine", "ndc", "12496120803"));
        assert!(vs.contains("oud_naltrexone_injectable", "ndc", "65757030001"));
        assert!(vs.contains("oud_methadone_hcpcs", "hcpcs", "H0020"));
        assert!(!vs.contains("oud_buprenorphine_hcpcs", "hcpcs", "J0592"));
        assert!(!vs.contains("oud_buprenorphine", "ndc", "59011075004"));
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

    fn apply(text: &str) -> Result<ValueSets, TransformError> {
        let mut vs = ValueSets::shipped();
        vs.apply_override_bytes("o.csv", text.as_bytes())?;
        Ok(vs)
    }

    #[test]
    fn unknown_set_name_is_an_error_naming_it() {
        let e =
            apply("value_set,code_system,code\nhypertension,ICD10,I10\nhypertensoin,ICD10,I10\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("o.csv")
                && e.contains("row 2")
                && e.contains("unknown value set `hypertensoin`")
                && e.contains("did you mean `hypertension`"),
            "{e}"
        );
        let e = apply("value_set,code_system,code\nklingon_set,ICD10,I10\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`klingon_set`") && !e.contains("did you mean"),
            "{e}"
        );
    }

    #[test]
    fn unknown_code_system_suggests_the_nearest() {
        let e = apply("value_set,code_system,code\nhypertension,ICD10-CN,I10\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 1") && e.contains("`ICD10-CN`") && e.contains("did you mean"),
            "{e}"
        );
    }

    const NCQA_HEADER: &str = "Value Set Name,Value Set OID,Value Set Version,Code,Definition,Code System,Code System OID,Code System Version\n";

    #[test]
    fn directory_export_goes_through_the_map() {
        let text = format!(
            "{NCQA_HEADER}\
Schizophrenia,1.2.3,2025,F20.9,\"Schizophrenia, unspecified\",ICD10CM,2.16.840.1.113883.6.90,2025\n\
Bipolar Disorder,1.2.4,2025,F31.9,\"Bipolar disorder, unspecified\",ICD10CM,2.16.840.1.113883.6.90,2025\n\
Bipolar Disorder,1.2.4,2025,16506000,Bipolar disorder,SNOMED CT US Edition,2.16.840.1.113883.6.96,2025\n\
ED,1.2.5,2025,0450,Emergency room,UBREV,2.16.840.1.113883.6.301.3,2025\n\
ED,1.2.5,2025,99283,ED visit,CPT,2.16.840.1.113883.6.12,2025\n\
Electroconvulsive Therapy,1.2.6,2025,90870,ECT,CPT,2.16.840.1.113883.6.12,2025\n\
Electroconvulsive Therapy,1.2.6,2025,GZB0ZZZ,ECT,ICD10PCS,2.16.840.1.113883.6.4,2025\n\
Mammography,1.2.7,2025,77067,Screening mammography,CPT,2.16.840.1.113883.6.12,2025\n\
,,,,,,,\n"
        );
        let vs = apply(&text).unwrap();
        // Two NCQA sets into one caregap set; dots removed; nothing else of the set survives.
        assert!(vs.contains("schizophrenia_bipolar", "icd-10-cm", "F209"));
        assert!(vs.contains("schizophrenia_bipolar", "icd-10-cm", "F319"));
        assert!(vs.contains("schizophrenia_bipolar", "snomed-ct", "16506000"));
        assert!(!vs.contains("schizophrenia_bipolar", "icd-10-cm", "F250"));
        assert!(vs.contains("ed_visit", "revenue", "0450"));
        assert!(!vs.contains("ed_visit", "revenue", "0451"));
        assert!(!vs.contains("ed_visit", "pos", "23"));
        assert!(vs.contains("mh_visit", "hcpcs", "90870"));
        assert!(!vs.contains("mh_visit", "pos", "53"));
        assert_eq!(
            vs.replaced(),
            vec!["ed_visit", "mh_visit", "schizophrenia_bipolar"]
        );
        let r = &vs.reports()[0];
        assert_eq!(r.layout, FileLayout::Directory);
        assert_eq!(r.rows, 9);
        assert_eq!(r.unmapped.get("Mammography"), Some(&1));
        assert_eq!(r.skipped_systems.get("icd-10-pcs"), Some(&1));
        assert_eq!(
            r.replaced["schizophrenia_bipolar"]
                .iter()
                .collect::<Vec<_>>(),
            vec!["Bipolar Disorder", "Schizophrenia"]
        );
        assert_eq!(
            r.not_in_file["schizophrenia_bipolar"],
            vec!["Other Bipolar Disorder"]
        );
        assert_eq!(r.not_in_file["ed_visit"], vec!["ED POS"]);
        let w = vs.warnings().join("\n");
        assert!(
            w.contains("Mammography") && w.contains("icd-10-pcs 1"),
            "{w}"
        );
        assert!(w.contains("`ed_visit` was replaced from ED only"), "{w}");
    }

    #[test]
    fn vsac_text_and_tab_separated_exports_read_alike() {
        let pipe = "OID|ValueSetName|Version|Type|Code|Term|CodeSystemName|CodeSystemVersion|CodeSystemOID\n\
1.2|Essential Hypertension|2025|Extensional|I10|Essential (primary) hypertension|ICD10CM|2025|2.16.840.1.113883.6.90\n";
        let tab = "value set name\tcode\tdescription\tcode system\nEssential Hypertension\tI10\t\"Essential hypertension\"\ticd10cm\n";
        for text in [pipe, tab] {
            let vs = apply(text).unwrap();
            assert!(vs.contains("hypertension", "icd-10-cm", "I10"), "{text}");
            assert!(!vs.contains("hypertension", "icd-10-cm", "I11"), "{text}");
        }
    }

    #[test]
    fn unknown_code_system_in_a_mapped_set_is_an_error_in_unmapped_sets_skipped() {
        let e = apply(&format!("{NCQA_HEADER}ED,1,2025,99283,ED,Klingon,,\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1") && e.contains("`Klingon`"), "{e}");
        // The same row in a set the map does not list is skipped with its set.
        let vs = apply(&format!(
            "{NCQA_HEADER}ED,1,2025,99283,ED,CPT,,\nMammography,1,2025,X,Y,Klingon,,\n"
        ))
        .unwrap();
        assert_eq!(vs.reports()[0].unmapped.get("Mammography"), Some(&1));
    }

    #[test]
    fn export_with_nothing_mapped_is_an_error() {
        let e = apply(&format!(
            "{NCQA_HEADER}Mammography,1,2025,77067,M,CPT,,\nCervical Cytology Lab Test,1,2025,88141,C,CPT,,\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("none of its 2 value set(s)") && e.contains("`Cervical Cytology Lab Test`"),
            "{e}"
        );
    }

    #[test]
    fn a_set_left_without_matchable_codes_is_an_error() {
        let e = apply(&format!(
            "{NCQA_HEADER}Electroconvulsive Therapy,1,2025,GZB0ZZZ,ECT,ICD10PCS,,\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`mh_visit` would be left with no codes") && e.contains("icd-10-pcs"),
            "{e}"
        );
        // In caregap's layout too; with one matchable code the skipped one is only counted.
        assert!(apply("value_set,code_system,code\nhospice,ICD10PCS,0W3\n").is_err());
        let vs = apply("value_set,code_system,code\nhospice,ICD10PCS,0W3\nhospice,UBTOB,0812\n")
            .unwrap();
        assert!(vs.contains("hospice", "bill_type", "812"));
        assert_eq!(vs.reports()[0].skipped_systems.get("icd-10-pcs"), Some(&1));
    }

    #[test]
    fn icd_10_pcs_is_matched_only_in_procedure_sets() {
        let vs = apply(&format!(
            "{NCQA_HEADER}Total Colectomy,1,2025,0DTE0ZZ,x,ICD10PCS,,\nTotal Colectomy,1,2025,44150,x,CPT,,\nElectroconvulsive Therapy,1,2025,GZB0ZZZ,ECT,ICD10PCS,,\nElectroconvulsive Therapy,1,2025,90870,ECT,CPT,,\n"
        ))
        .unwrap();
        assert!(vs.contains("total_colectomy", "icd-10-pcs", "0DTE0ZZ"));
        assert!(vs.contains("total_colectomy", "hcpcs", "44150"));
        assert!(!vs.contains("mh_visit", "icd-10-pcs", "GZB0ZZZ"));
        assert_eq!(vs.reports()[0].skipped_systems.get("icd-10-pcs"), Some(&1));
        let shipped = ValueSets::shipped();
        assert!(shipped.contains("total_colectomy", "icd-10-pcs", "0DTE4ZZ"));
        assert!(shipped.contains("col_fobt", "loinc", "2335-8"));
        assert!(shipped.contains("colorectal_cancer", "icd-10-cm", "C189"));
        assert!(shipped.codes("frailty", "icd-10-cm").is_empty());
    }

    #[test]
    fn a_user_map_replaces_the_shipped_one() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("map.csv");
        std::fs::write(
            &m,
            "source_value_set,value_set,note\nOur ED Codes,ed_visit,local\nOur ED Places,ed_visit,local\n",
        )
        .unwrap();
        let mut vs = ValueSets::shipped();
        vs.use_map(ValueSetMap::from_file(&m).unwrap());
        vs.apply_override_bytes(
            "o.csv",
            format!("{NCQA_HEADER}our ed codes,1,1,99285,x,CPT,,\nOur ED Places,1,1,23,x,POS,,\nED,1,1,99281,x,CPT,,\n").as_bytes(),
        )
        .unwrap();
        assert!(vs.contains("ed_visit", "hcpcs", "99285"));
        assert!(vs.contains("ed_visit", "pos", "23"));
        assert!(
            !vs.contains("ed_visit", "hcpcs", "99281"),
            "ED is not in the user's map"
        );
        assert_eq!(vs.reports()[0].unmapped.get("ED"), Some(&1));
    }

    #[test]
    fn icd_10_pcs_is_matched_for_the_pcr_procedure_sets_only() {
        let vs = apply("value_set,code_system,code\nplanned_always_procedure,ICD10PCS,0ty00z0\n")
            .unwrap();
        assert!(vs.contains("planned_always_procedure", "icd-10-pcs", "0TY00Z0"));
        assert!(!vs.contains("planned_always_procedure", "icd-10-pcs", "0TY10Z0"));
        assert!(apply("value_set,code_system,code\nhospice,ICD10PCS,0W3\n").is_err());
    }

    #[test]
    fn unknown_layout_is_an_error() {
        let e = apply("set,system,code\nx,y,z\n").unwrap_err().to_string();
        assert!(e.contains("cannot tell the layout"), "{e}");
    }

    #[test]
    fn several_files_replace_a_set_together() {
        let mut vs = ValueSets::shipped();
        vs.apply_override_bytes(
            "vsd.csv",
            format!("{NCQA_HEADER}Long-Acting Injections,1,1,J2794,x,HCPCS,,\n").as_bytes(),
        )
        .unwrap();
        vs.apply_override_bytes(
            "mld.csv",
            b"Medication List Name,Code,Code System\nSSD Antipsychotic Medications,0093-0123-01,NDC\n",
        )
        .unwrap();
        assert!(vs.contains("antipsychotic", "hcpcs", "J2794"));
        assert!(vs.contains("antipsychotic", "ndc", "00093012301"));
        assert!(!vs.contains("antipsychotic", "ndc", "00000000001"));
        assert!(!vs.contains("antipsychotic", "hcpcs", "J0401"));
    }
}
