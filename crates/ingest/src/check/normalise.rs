//! The §8 normalisation of text values: one pass per column (`map_text`) with a plain
//! function per kind of value (ids trimmed, codes upper-cased, revenue codes zero-padded,
//! NDCs to 11 digits, diagnosis-system spellings to their canonical name, …).

use std::borrow::Cow;

use polars::prelude::*;

use crate::schema::Kind;
use crate::shapes;

/// A one-pass §8 normaliser of a text column: null stays null, `f` returning `None` makes the
/// value null. One pass and one new array instead of a chain of polars string kernels, each
/// of which builds its own (ingest's main cost at state scale).
fn normalise(name: &str, f: fn(&str) -> Option<Cow<'_, str>>) -> Expr {
    map_text(col(name), f)
}

/// [`normalise`] of any text expression.
pub(crate) fn map_text(e: Expr, f: fn(&str) -> Option<Cow<'_, str>>) -> Expr {
    e.map(
        move |c: Column| {
            let ca = c.str()?;
            let out: StringChunked = ca.iter().map(|o| o.and_then(f)).collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, fld| Ok(Field::new(fld.name().clone(), DataType::String)),
    )
}

fn non_blank(s: &str) -> Option<Cow<'_, str>> {
    (!s.is_empty()).then_some(Cow::Borrowed(s))
}

fn upper(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(s.to_ascii_uppercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_uppercase())
    }
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Left-pad with zeros to `n` bytes, after a leading sign (polars' and Python's `zfill`).
fn zfill(s: &str, n: usize) -> Cow<'_, str> {
    if n <= s.len() {
        return Cow::Borrowed(s);
    }
    let zeros = "0".repeat(n - s.len());
    Cow::Owned(match s.strip_prefix(['-', '+']) {
        Some(rest) => format!("{}{zeros}{rest}", &s[..1]),
        None => format!("{zeros}{s}"),
    })
}

fn norm_text(s: &str) -> Option<Cow<'_, str>> {
    non_blank(s)
}

pub(crate) fn norm_id(s: &str) -> Option<Cow<'_, str>> {
    let t = s.trim();
    (!t.is_empty()).then_some(Cow::Borrowed(t))
}

fn norm_lower(s: &str) -> Option<Cow<'_, str>> {
    let t = s.trim();
    (!t.is_empty()).then(|| lower(t))
}

fn norm_code(s: &str) -> Option<Cow<'_, str>> {
    let t = s.trim();
    (!t.is_empty()).then(|| upper(t))
}

fn norm_diagnosis(s: &str) -> Option<Cow<'_, str>> {
    let u = upper(s.trim());
    if u.contains('.') {
        let v = u.replace('.', "");
        (!v.is_empty()).then_some(Cow::Owned(v))
    } else {
        (!u.is_empty()).then_some(u)
    }
}

fn norm_revenue(s: &str) -> Option<Cow<'_, str>> {
    norm_code(s).map(|c| Cow::Owned(zfill(&c, 4).into_owned()))
}

fn norm_place_of_service(s: &str) -> Option<Cow<'_, str>> {
    norm_code(s).map(|c| Cow::Owned(zfill(&c, 2).into_owned()))
}

fn norm_bill_type(s: &str) -> Option<Cow<'_, str>> {
    let c = norm_code(s)?;
    if c.chars().count() == 4 && c.starts_with('0') {
        Some(Cow::Owned(c.chars().skip(1).take(3).collect()))
    } else {
        Some(c)
    }
}

fn norm_ndc(s: &str) -> Option<Cow<'_, str>> {
    let t = non_blank(s.trim())?;
    let candidate: Cow<'_, str> = if t.contains('-') {
        let parts: Vec<&str> = t.split('-').collect();
        if parts.len() != 3 {
            return None;
        }
        Cow::Owned(format!(
            "{}{}{}",
            zfill(parts[0], 5),
            zfill(parts[1], 4),
            zfill(parts[2], 2)
        ))
    } else {
        t
    };
    (candidate.len() == 11 && candidate.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Cow::Owned(candidate.into_owned()))
}

fn norm_diagnosis_system(s: &str) -> Option<Cow<'_, str>> {
    let l = lower(s.trim());
    if l.is_empty() {
        return None;
    }
    match DIAGNOSIS_SYSTEM_ALIASES.iter().find(|(old, _)| *old == l) {
        Some((_, new)) => Some(Cow::Borrowed(new)),
        None => Some(Cow::Owned(l.into_owned())),
    }
}

/// The §8 normalisation of one column (input: text).
pub(crate) fn parse_expr(name: &str, kind: Kind) -> Expr {
    let stripped = col(name).str().strip_chars(lit(NULL));
    match kind {
        Kind::Text => normalise(name, norm_text),
        Kind::Id => normalise(name, norm_id),
        Kind::Lower => normalise(name, norm_lower),
        Kind::Code => normalise(name, norm_code),
        Kind::Diagnosis => normalise(name, norm_diagnosis),
        Kind::Revenue => normalise(name, norm_revenue),
        Kind::PlaceOfService => normalise(name, norm_place_of_service),
        Kind::BillType => normalise(name, norm_bill_type),
        Kind::Ndc => normalise(name, norm_ndc),
        Kind::DiagnosisSystem => normalise(name, norm_diagnosis_system).fill_null(lit("icd-10-cm")),
        Kind::Date => shapes::date_expr(name),
        Kind::Int | Kind::NonNegativeInt => stripped.cast(DataType::Int64),
        Kind::Decimal => stripped.cast(DataType::Float64),
    }
}

/// Spellings of diagnosis code systems accepted in `diagnosis_code_type` (§2, §8).
const DIAGNOSIS_SYSTEM_ALIASES: &[(&str, &str)] = &[
    ("icd10", "icd-10-cm"),
    ("icd-10", "icd-10-cm"),
    ("icd10cm", "icd-10-cm"),
    ("icd10-cm", "icd-10-cm"),
    ("icd_10_cm", "icd-10-cm"),
    ("icd9", "icd-9-cm"),
    ("icd-9", "icd-9-cm"),
    ("icd9cm", "icd-9-cm"),
    ("icd9-cm", "icd-9-cm"),
    ("icd_9_cm", "icd-9-cm"),
    ("snomed", "snomed-ct"),
    ("snomedct", "snomed-ct"),
    ("snomed_ct", "snomed-ct"),
    ("sct", "snomed-ct"),
];

#[cfg(test)]
mod normalise_tests {
    use super::*;

    fn n(f: fn(&str) -> Option<Cow<'_, str>>, s: &str) -> Option<String> {
        f(s).map(|c| c.into_owned())
    }

    #[test]
    fn one_pass_normalisers_follow_section_8() {
        assert_eq!(n(norm_text, ""), None);
        assert_eq!(n(norm_id, " A1 "), Some("A1".into()));
        assert_eq!(n(norm_id, "a1"), Some("a1".into()));
        assert_eq!(n(norm_id, "   "), None);
        assert_eq!(n(norm_text, "  x "), Some("  x ".into()));
        assert_eq!(n(norm_lower, "  MediCAID "), Some("medicaid".into()));
        assert_eq!(n(norm_lower, "   "), None);
        assert_eq!(n(norm_code, " 99213 "), Some("99213".into()));
        assert_eq!(n(norm_code, "g0444"), Some("G0444".into()));
        assert_eq!(n(norm_code, "ß"), Some("SS".into()));
        assert_eq!(n(norm_diagnosis, " f32.9 "), Some("F329".into()));
        assert_eq!(n(norm_diagnosis, "."), None);
        assert_eq!(n(norm_revenue, "450"), Some("0450".into()));
        assert_eq!(n(norm_revenue, "0981"), Some("0981".into()));
        assert_eq!(n(norm_place_of_service, "2"), Some("02".into()));
        assert_eq!(zfill("-1", 3), "-01");
        assert_eq!(n(norm_bill_type, "0111"), Some("111".into()));
        assert_eq!(n(norm_bill_type, "111"), Some("111".into()));
        assert_eq!(n(norm_bill_type, "1111"), Some("1111".into()));
        assert_eq!(n(norm_ndc, "1234-5678-9"), Some("01234567809".into()));
        assert_eq!(n(norm_ndc, " 00002322730 "), Some("00002322730".into()));
        assert_eq!(n(norm_ndc, "0002-3227-30-1"), None);
        assert_eq!(n(norm_ndc, "1234567890"), None);
        assert_eq!(n(norm_ndc, "abcdefghijk"), None);
        assert_eq!(n(norm_ndc, "-1234-56"), Some("00000123456".into()));
        assert_eq!(
            n(norm_diagnosis_system, " ICD10 "),
            Some("icd-10-cm".into())
        );
        assert_eq!(n(norm_diagnosis_system, "SNOMED"), Some("snomed-ct".into()));
        assert_eq!(n(norm_diagnosis_system, "HCPCS"), Some("hcpcs".into()));
        assert_eq!(n(norm_diagnosis_system, " "), None);
        assert_eq!(zfill("+7", 3), "+07");
    }
}
