//! The value-set map: which caregap value set(s) a publisher's value set fills, when a user
//! passes an NCQA HEDIS Value Set Directory, Medication List Directory or VSAC export with
//! `--value-sets`. Shipped as versioned data (`value_sets/maps/ncqa.csv`, its source in the
//! README beside it); a user's own map (`--value-set-map FILE.csv`) replaces it.
//!
//! Columns: `source_value_set` (the publisher's name, compared trimmed, case-insensitively
//! and with runs of spaces as one) and `value_set` (caregap's); any other column (`match`,
//! `note`) is documentation. One source set may fill several caregap sets, and several source
//! sets one caregap set (their codes are unioned).

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::table::{field, Table};
use crate::error::TransformError;

/// Version of the shipped map, recorded in the run manifest.
pub const SHIPPED_MAP_VERSION: &str = "caregap-ncqa-map-1";

/// The shipped map, embedded at build time.
const SHIPPED_MAP: &str = include_str!("../../value_sets/maps/ncqa.csv");

/// A publisher's value-set name as compared.
pub(crate) fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Source value-set name → caregap value sets.
#[derive(Debug, Clone)]
pub struct ValueSetMap {
    /// name_key(source) → (source as the map writes it, caregap sets).
    entries: BTreeMap<String, (String, BTreeSet<String>)>,
    /// The user's map file; `None` for the shipped map.
    file: Option<String>,
}

impl ValueSetMap {
    /// The map caregap ships (`value_sets/maps/ncqa.csv`).
    pub fn shipped() -> Self {
        Self::parse("value_sets/maps/ncqa.csv", SHIPPED_MAP.as_bytes(), None)
            .unwrap_or_else(|e| panic!("shipped value-set map: {e}"))
    }

    /// A user's map file, replacing the shipped map. Every `value_set` it names must be one
    /// of caregap's (an error naming the file, row and name otherwise).
    pub fn from_file(path: &std::path::Path) -> Result<Self, TransformError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| TransformError::ValueSetFile {
            file: file.clone(),
            row: 0,
            column: String::new(),
            message: format!("cannot read the value-set map: {e}"),
        })?;
        Self::parse(&file, &bytes, Some(file.clone()))
    }

    fn parse(file: &str, bytes: &[u8], user: Option<String>) -> Result<Self, TransformError> {
        let bad = |row: usize, column: &str, message: String| TransformError::ValueSetFile {
            file: file.to_string(),
            row,
            column: column.to_string(),
            message,
        };
        let t = Table::parse(file, bytes)?;
        let (src_col, sources) = t.text(&["sourcevalueset"]).ok_or_else(|| {
            bad(
                0,
                "source_value_set",
                "a value-set map needs the columns `source_value_set` and `value_set`".into(),
            )
        })?;
        let (dst_col, targets) = t.text(&["valueset"]).ok_or_else(|| {
            bad(
                0,
                "value_set",
                "a value-set map needs the columns `source_value_set` and `value_set`".into(),
            )
        })?;
        let mut entries: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
        for i in 0..t.height() {
            let row = i + 1;
            let (src, dst) = (field(&sources, i), field(&targets, i));
            let (src, dst) = match (src, dst) {
                (None, None) => continue,
                (Some(s), Some(d)) => (s, d),
                (None, Some(_)) => return Err(bad(row, &src_col, "missing".into())),
                (Some(_), None) => return Err(bad(row, &dst_col, "missing".into())),
            };
            super::check_known_set(file, row, &dst_col, dst)?;
            entries
                .entry(name_key(src))
                .or_insert_with(|| (src.to_string(), BTreeSet::new()))
                .1
                .insert(dst.to_string());
        }
        Ok(ValueSetMap {
            entries,
            file: user,
        })
    }

    /// The caregap sets that `source` fills, when the map lists it.
    pub fn targets(&self, source: &str) -> Option<&BTreeSet<String>> {
        self.entries.get(&name_key(source)).map(|(_, t)| t)
    }

    /// The source names the map lists for caregap's `set`.
    pub fn sources_of(&self, set: &str) -> Vec<&str> {
        self.entries
            .values()
            .filter(|(_, t)| t.contains(set))
            .map(|(s, _)| s.as_str())
            .collect()
    }

    /// The user's map file, `None` for the shipped map.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// Rows (source, caregap set) of the map.
    pub fn len(&self) -> usize {
        self.entries.values().map(|(_, t)| t.len()).sum()
    }

    /// Whether the map has no rows.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The map in force as `source_value_set, value_set`, sorted by source name.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (src, targets) in self.entries.values() {
            for t in targets {
                a.push(src.as_str());
                b.push(t.as_str());
            }
        }
        DataFrame::new_infer_height(vec![
            Column::new("source_value_set".into(), a),
            Column::new("value_set".into(), b),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_map_loads_and_unions() {
        let m = ValueSetMap::shipped();
        assert!(m.file().is_none());
        let t = m.targets("  bipolar   DISORDER ").unwrap();
        assert_eq!(t.iter().collect::<Vec<_>>(), vec!["schizophrenia_bipolar"]);
        let mut s = m.sources_of("schizophrenia_bipolar");
        s.sort();
        assert_eq!(
            s,
            vec![
                "Bipolar Disorder",
                "Other Bipolar Disorder",
                "Schizophrenia"
            ]
        );
        assert_eq!(m.targets("HbA1c Lab Test").unwrap().len(), 2);
        assert!(m.targets("Mammography").is_none());
    }

    #[test]
    fn user_map_with_unknown_set_names_file_row_and_suggestion() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("map.csv");
        std::fs::write(
            &p,
            "source_value_set,value_set\nED,ed_visit\nEssential Hypertension,hypertensoin\n",
        )
        .unwrap();
        let e = ValueSetMap::from_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("map.csv")
                && e.contains("row 2")
                && e.contains("`hypertensoin`")
                && e.contains("did you mean `hypertension`"),
            "{e}"
        );
    }
}
