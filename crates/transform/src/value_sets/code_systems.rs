//! Code-system names as value-set files write them: caregap's own (`icd-10-cm`, `hcpcs`…),
//! the common aliases (`ICD10`, `CPT`, `TOB`), and the names of NCQA's HEDIS Value Set
//! Directory and of VSAC exports (`ICD10CM`, `CPT-CAT-II`, `UBREV`, `UBTOB`,
//! `SNOMED CT US Edition`…). A name resolves to one of caregap's canonical systems
//! ([`super::CODE_SYSTEMS`]), to a real system that caregap matches nothing in, or to nothing
//! (an error for the caller, never a silent non-match). Names are compared after lower-casing
//! and dropping everything but letters and digits, so `ICD-10-CM`, `icd10cm` and `ICD10 CM`
//! are one name.

/// What a code-system name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSystemName {
    /// One of caregap's canonical systems: codes in it are matched.
    Matched(&'static str),
    /// A real code system that no caregap value set is matched in (e.g. ICD-9-PCS, CVX). Codes
    /// in it are skipped and counted in the run manifest. (ICD-10-PCS is matched, but only in
    /// the sets whose procedure codes a rule reads: `super::PROCEDURE_SETS`.)
    Unmatched(&'static str),
}

use CodeSystemName::{Matched, Unmatched};

/// Every spelling caregap accepts, first the canonical one of each system. Sources: spec §2
/// (canonical names and aliases), NCQA's HEDIS Value Set Directory code-system column (`CPT`,
/// `CPT-CAT-II`, `HCPCS`, `ICD10CM`, `ICD10PCS`, `ICD9CM`, `ICD9PCS`, `LOINC`, `Modifier`,
/// `POS`, `RXNORM`, `SNOMED CT US Edition`, `UBREV`, `UBTOB`, `CVX`, `HL7`, `CDT`) and VSAC's
/// code-system names (`SNOMEDCT`, `HCPCS Level II`, `HSLOC`, `SOP`, `CDCREC`).
const NAMES: &[(&str, CodeSystemName)] = &[
    ("icd-10-cm", Matched("icd-10-cm")),
    ("ICD10CM", Matched("icd-10-cm")),
    ("ICD10", Matched("icd-10-cm")),
    ("icd-9-cm", Matched("icd-9-cm")),
    ("ICD9CM", Matched("icd-9-cm")),
    ("ICD9", Matched("icd-9-cm")),
    ("snomed-ct", Matched("snomed-ct")),
    ("SNOMED CT US Edition", Matched("snomed-ct")),
    ("SNOMEDCT_US", Matched("snomed-ct")),
    ("SNOMED", Matched("snomed-ct")),
    ("SCT", Matched("snomed-ct")),
    // CPT (categories I and II), HCPCS Level II and CDT all arrive in hcpcs_code.
    ("hcpcs", Matched("hcpcs")),
    ("CPT", Matched("hcpcs")),
    ("CPT-CAT-II", Matched("hcpcs")),
    ("CPT Category II", Matched("hcpcs")),
    ("CPT-II", Matched("hcpcs")),
    ("CPT2", Matched("hcpcs")),
    ("CPT-4", Matched("hcpcs")),
    ("HCPCS Level II", Matched("hcpcs")),
    ("HCPCS Level 2", Matched("hcpcs")),
    ("HCPCS II", Matched("hcpcs")),
    ("CDT", Matched("hcpcs")),
    ("revenue", Matched("revenue")),
    ("UBREV", Matched("revenue")),
    ("rev", Matched("revenue")),
    ("revenue-center", Matched("revenue")),
    ("revenue-code", Matched("revenue")),
    ("pos", Matched("pos")),
    ("place-of-service", Matched("pos")),
    ("bill_type", Matched("bill_type")),
    ("UBTOB", Matched("bill_type")),
    ("TOB", Matched("bill_type")),
    ("type-of-bill", Matched("bill_type")),
    ("loinc", Matched("loinc")),
    ("ndc", Matched("ndc")),
    ("rxnorm", Matched("rxnorm")),
    ("rxcui", Matched("rxnorm")),
    ("text", Matched("text")),
    ("icd-10-pcs", Matched("icd-10-pcs")),
    ("ICD10PCS", Matched("icd-10-pcs")),
    ("PCS", Matched("icd-10-pcs")),
    ("ICD9PCS", Unmatched("icd-9-pcs")),
    ("CVX", Unmatched("cvx")),
    ("Modifier", Unmatched("modifier")),
    ("HL7", Unmatched("hl7")),
    ("HSLOC", Unmatched("hsloc")),
    ("SOP", Unmatched("sop")),
    ("CDCREC", Unmatched("cdcrec")),
];

/// A name as compared: lower-case letters and digits only.
fn key(raw: &str) -> String {
    raw.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// What `raw` names, or `None` when caregap does not know it.
pub fn resolve(raw: &str) -> Option<CodeSystemName> {
    let k = key(raw);
    if k.is_empty() {
        return None;
    }
    NAMES.iter().find(|(n, _)| key(n) == k).map(|(_, s)| *s)
}

/// The accepted spelling nearest to an unknown `raw`, when one is close.
pub fn suggest(raw: &str) -> Option<&'static str> {
    nearest(&key(raw), NAMES.iter().map(|(n, _)| *n), key)
}

/// The canonical names and the names of the systems caregap skips, for messages.
pub fn known_for_message() -> String {
    let unmatched: Vec<&str> = NAMES
        .iter()
        .filter(|(_, s)| matches!(s, Unmatched(_)))
        .map(|(n, _)| *n)
        .collect();
    format!(
        "caregap's systems are {} (aliases such as ICD10CM, CPT, CPT-CAT-II, HCPCS, UBREV, UBTOB, SNOMED CT US Edition are accepted); codes in {} are skipped and counted; see docs/value-sets.md",
        super::CODE_SYSTEMS.join(", "),
        unmatched.join(", ")
    )
}

/// The candidate nearest to `target` (both compared through `norm`), when it is within a
/// third of the target's length in edits (and at most 3).
pub(crate) fn nearest<'a>(
    target: &str,
    candidates: impl Iterator<Item = &'a str>,
    norm: impl Fn(&str) -> String,
) -> Option<&'a str> {
    let limit = (target.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| (strsim::levenshtein(target, &norm(c)), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_and_alias_names_resolve() {
        for (raw, want) in [
            ("ICD10CM", "icd-10-cm"),
            ("ICD-10-CM", "icd-10-cm"),
            (" icd10 ", "icd-10-cm"),
            ("ICD9CM", "icd-9-cm"),
            ("CPT", "hcpcs"),
            ("CPT-CAT-II", "hcpcs"),
            ("HCPCS", "hcpcs"),
            ("HCPCS Level II", "hcpcs"),
            ("UBREV", "revenue"),
            ("UBTOB", "bill_type"),
            ("TOB", "bill_type"),
            ("bill_type", "bill_type"),
            ("SNOMED CT US Edition", "snomed-ct"),
            ("SNOMEDCT", "snomed-ct"),
            ("POS", "pos"),
            ("LOINC", "loinc"),
            ("RXNORM", "rxnorm"),
            ("NDC", "ndc"),
        ] {
            assert_eq!(resolve(raw), Some(Matched(want)), "{raw}");
        }
        assert_eq!(resolve("ICD10PCS"), Some(Matched("icd-10-pcs")));
        assert_eq!(resolve("ICD9PCS"), Some(Unmatched("icd-9-pcs")));
        assert_eq!(resolve("CVX"), Some(Unmatched("cvx")));
        assert_eq!(resolve("klingon"), None);
        assert_eq!(resolve(""), None);
    }

    #[test]
    fn every_canonical_system_has_its_own_name() {
        for s in super::super::CODE_SYSTEMS {
            assert_eq!(resolve(s), Some(Matched(s)), "{s}");
        }
    }

    #[test]
    fn near_misses_get_a_suggestion() {
        assert_eq!(suggest("ICD10-CN"), Some("icd-10-cm"));
        assert_eq!(suggest("UBREVV"), Some("UBREV"));
        assert_eq!(suggest("klingon"), None);
    }
}
