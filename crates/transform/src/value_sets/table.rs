//! Reading a value-set or value-set map file: CSV, tab-separated or pipe-separated (VSAC's
//! text download), the separator told by the header line; every field read as text. Header
//! names are matched case-insensitively and ignoring spaces, `_` and `-`, so `Value Set Name`,
//! `value_set_name` and `ValueSetName` are one column.

use std::collections::BTreeMap;
use std::io::Cursor;

use polars::prelude::*;

use crate::error::TransformError;

/// A file read as text columns.
pub(crate) struct Table {
    pub df: DataFrame,
    /// Header key (see [`key`]) → the column's name in the file.
    columns: BTreeMap<String, String>,
}

/// A header name as compared: lower-case letters and digits only.
pub(crate) fn key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The separator the header line uses: a tab, a `|`, else a comma.
fn separator(header: &str) -> u8 {
    if header.contains('\t') {
        b'\t'
    } else if header.contains('|') && !header.contains(',') {
        b'|'
    } else {
        b','
    }
}

impl Table {
    /// Parse `bytes`, the contents of `file` (named in errors).
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self, TransformError> {
        let bad = |message: String| TransformError::ValueSetFile {
            file: file.to_string(),
            row: 0,
            column: String::new(),
            message,
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let header = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let header = String::from_utf8_lossy(header);
        if header.trim().is_empty() {
            return Err(bad(
                "the file is empty or its first line is blank (a header row is expected)".into(),
            ));
        }
        let sep = separator(&header);
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_parse_options(
                CsvParseOptions::default()
                    .with_separator(sep)
                    // VSAC's pipe-separated text is not quoted; its terms may hold a `"`.
                    .with_quote_char((sep != b'|').then_some(b'"'))
                    .with_truncate_ragged_lines(true),
            )
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
            .map_err(|e| bad(e.to_string()))?;
        let columns = df
            .get_column_names()
            .into_iter()
            .map(|n| (key(n), n.to_string()))
            .collect();
        Ok(Table { df, columns })
    }

    /// Whether the file has a column whose key is `k`.
    pub fn has(&self, k: &str) -> bool {
        self.columns.contains_key(k)
    }

    /// The column whose key is the first of `keys` present, with its name in the file.
    pub fn text(&self, keys: &[&str]) -> Option<(String, StringChunked)> {
        let name = keys.iter().find_map(|k| self.columns.get(*k))?;
        let s = self.df.column(name).ok()?.str().ok()?.clone();
        Some((name.clone(), s))
    }

    /// Data rows.
    pub fn height(&self) -> usize {
        self.df.height()
    }
}

/// A trimmed field, `None` when null or blank.
pub(crate) fn field(s: &StringChunked, i: usize) -> Option<&str> {
    s.get(i).map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_header_keys() {
        for text in [
            "Value Set Name,Code,Code System\nED,99281,CPT\n",
            "\u{feff}Value Set Name\tCode\tCode System\nED\t99281\tCPT\n",
            "ValueSetName|Code|CodeSystemName\nED|99281|CPT\n",
        ] {
            let t = Table::parse("f", text.as_bytes()).unwrap();
            assert!(t.has("valuesetname"), "{text}");
            let (_, codes) = t.text(&["code"]).unwrap();
            assert_eq!(field(&codes, 0), Some("99281"), "{text}");
            assert!(t.text(&["codesystem", "codesystemname"]).is_some());
        }
    }

    #[test]
    fn quoted_commas_stay_in_their_field() {
        let t = Table::parse(
            "f",
            b"Value Set Name,Code,Definition,Code System\nDiabetes,E11.9,\"Type 2 diabetes mellitus, without complications\",ICD10CM\n",
        )
        .unwrap();
        let (_, sys) = t.text(&["codesystem"]).unwrap();
        assert_eq!(field(&sys, 0), Some("ICD10CM"));
    }

    #[test]
    fn empty_file_is_an_error() {
        assert!(Table::parse("f", b"").is_err());
        assert!(Table::parse("f", b"\n\n").is_err());
    }
}
