//! Finding and opening the source tables of an export as users' exports have them, before any
//! mapping runs:
//!
//! - a table's file is found ignoring case (`PERSON.csv`, `person.csv`, `Person.CSV`); two
//!   files for one table are an error;
//! - column names are matched ignoring case, surrounding spaces and a UTF-8 byte-order mark,
//!   then renamed to the data model's spelling (recorded in the report);
//! - an optional table that is empty (zero bytes, or a header and no rows) is absent;
//! - every column the mapping reads must be there once, with values of the type it needs
//!   (empty values always allowed), so that a malformed table is an error naming the file and
//!   the column, not a failure deep in a query plan.
//!
//! Only the declared columns are kept, every one as text (Parquet columns are cast), so a
//! Parquet table maps exactly as the same table in CSV.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::{ImportError, ImportReport};

/// What a mapping needs a column's values to be. Empty values pass every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Any text.
    Text,
    /// An integer, e.g. an OMOP id or concept id (`12`, not `12.0`).
    Integer,
    /// A number.
    Number,
    /// A date, or a timestamp that starts with one: `YYYY-MM-DD…`.
    Date,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Integer => "integers",
            Kind::Number => "numbers",
            Kind::Date => "dates (YYYY-MM-DD, optionally followed by a time)",
        }
    }

    /// True where `c` holds a non-empty value that is not of this kind; None for text.
    fn bad(self, c: Expr) -> Option<Expr> {
        let parsed = match self {
            Kind::Text => return None,
            Kind::Integer => c.clone().cast(DataType::Int64),
            Kind::Number => c.clone().cast(DataType::Float64),
            Kind::Date => crate::date_of(c.clone()),
        };
        let present = c
            .str()
            .strip_chars(lit(NULL))
            .str()
            .len_bytes()
            .gt(lit(0))
            .fill_null(lit(false));
        Some(present.and(parsed.is_null()))
    }
}

/// A source table: its file name without extension, as the data model spells it, and the
/// columns the mapping reads, as the data model spells them.
pub(crate) struct Table {
    pub stem: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

/// A folder of source tables.
pub(crate) struct Source<'a> {
    format: &'static str,
    dir: &'a Path,
    /// Extensions a table's file may have (lower case), in no order of preference.
    exts: &'static [&'static str],
    names: Vec<String>,
}

/// A column name as compared: no byte-order mark, no surrounding spaces, lower case.
fn normalized(name: &str) -> String {
    name.trim_start_matches('\u{feff}').trim().to_lowercase()
}

/// The first line of a polars error: never its query plan.
pub(crate) fn brief(e: &PolarsError) -> String {
    let s = e.to_string();
    s.lines().next().unwrap_or_default().trim().to_string()
}

/// A file with no bytes other than a byte-order mark and white space.
fn blank(path: &Path) -> std::io::Result<bool> {
    let len = fs::metadata(path)?.len();
    if len > 4096 {
        return Ok(false);
    }
    let mut bytes = Vec::with_capacity(len as usize);
    fs::File::open(path)?.read_to_end(&mut bytes)?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    Ok(bytes.iter().all(u8::is_ascii_whitespace))
}

impl<'a> Source<'a> {
    /// The folder `dir` of a `format` export whose tables have one of `exts`.
    pub fn open(
        format: &'static str,
        dir: &'a Path,
        exts: &'static [&'static str],
    ) -> Result<Self, ImportError> {
        let err = |source| ImportError::InputDir {
            source_format: format,
            dir: dir.to_path_buf(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(err)? {
            let entry = entry.map_err(err)?;
            if entry.path().is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(Source {
            format,
            dir,
            exts,
            names,
        })
    }

    /// The file of table `stem`, its name matched ignoring case; None when there is none.
    fn find(&self, stem: &str) -> Result<Option<PathBuf>, ImportError> {
        let hits: Vec<&String> = self
            .names
            .iter()
            .filter(|n| {
                self.exts
                    .iter()
                    .any(|e| n.eq_ignore_ascii_case(&format!("{stem}.{e}")))
            })
            .collect();
        match hits.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(self.dir.join(one))),
            many => Err(ImportError::AmbiguousFile {
                source_format: self.format,
                table: stem.to_string(),
                dir: self.dir.to_path_buf(),
                files: many
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    fn file_names(&self, stem: &str) -> String {
        self.exts
            .iter()
            .map(|e| format!("{stem}.{e}"))
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// A table the mapping cannot do without. A header-only file is a table with no rows; a
    /// zero-byte one is an error (it has no header to check).
    pub fn required(&self, t: &Table, report: &mut ImportReport) -> Result<LazyFrame, ImportError> {
        let path = self.find(t.stem)?.ok_or_else(|| ImportError::MissingFile {
            source_format: self.format,
            file: self.file_names(t.stem),
            dir: self.dir.to_path_buf(),
        })?;
        self.read(&path, t, false, report)?
            .ok_or_else(|| ImportError::EmptyFile {
                file: path.display().to_string(),
            })
    }

    /// A table the mapping can do without: None when it has no file, or an empty one (zero
    /// bytes, or a header and no rows).
    pub fn optional(
        &self,
        t: &Table,
        report: &mut ImportReport,
    ) -> Result<Option<LazyFrame>, ImportError> {
        match self.find(t.stem)? {
            None => Ok(None),
            Some(path) => self.read(&path, t, true, report),
        }
    }

    /// Open `path` as table `t`: None when it is blank (or, if `optional`, has no rows).
    fn read(
        &self,
        path: &Path,
        t: &Table,
        optional: bool,
        report: &mut ImportReport,
    ) -> Result<Option<LazyFrame>, ImportError> {
        let file = path.display().to_string();
        let unreadable = |message: String| ImportError::Unreadable {
            file: file.clone(),
            message,
        };
        if blank(path).map_err(|e| unreadable(e.to_string()))? {
            return Ok(None);
        }
        let p = PlRefPath::new(path.to_string_lossy().as_ref());
        let parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        let mut lf = if parquet {
            LazyFrame::scan_parquet(p, Default::default())
        } else {
            LazyCsvReader::new(p)
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .finish()
        }
        .map_err(|e| unreadable(brief(&e)))?;
        let schema = lf.collect_schema().map_err(|e| unreadable(brief(&e)))?;
        let found: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
        if found.iter().all(|n| normalized(n).is_empty()) {
            return Ok(None);
        }
        let mut by_name: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for n in &found {
            by_name.entry(normalized(n)).or_default().push(n);
        }
        let mut select = Vec::with_capacity(t.columns.len());
        let mut typed = Vec::new();
        let mut renamed = BTreeMap::new();
        for (c, kind) in t.columns {
            match by_name.get(&normalized(c)).map(Vec::as_slice) {
                None | Some([]) => {
                    return Err(ImportError::MissingColumn {
                        file,
                        column: c.to_string(),
                        found: list(&found),
                    })
                }
                Some([one]) => {
                    select.push(col(*one).cast(DataType::String).alias(*c));
                    typed.push((*one, *kind));
                    if one != c {
                        renamed.insert(one.to_string(), c.to_string());
                    }
                }
                Some(many) => {
                    return Err(ImportError::AmbiguousColumn {
                        file,
                        column: c.to_string(),
                        names: list(many),
                    })
                }
            }
        }
        if optional {
            let first = lf
                .clone()
                .select(select.clone())
                .limit(1)
                .collect()
                .map_err(|e| unreadable(brief(&e)))?;
            if first.height() == 0 {
                return Ok(None);
            }
        }
        check(&lf, &file, &found, &typed)?;
        if !renamed.is_empty() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            report.renamed_columns.insert(name, renamed);
        }
        Ok(Some(lf.select(select)))
    }
}

/// `names` quoted and joined, the first 40.
fn list(names: &[&str]) -> String {
    let mut s: Vec<String> = names.iter().take(40).map(|n| format!("{n:?}")).collect();
    if names.len() > 40 {
        s.push(format!("… {} more", names.len() - 40));
    }
    s.join(", ")
}

/// One pass over the whole file `lf` (every column, so that a malformed CSV row is found here,
/// with the file's name): every column of `typed` (names as found) holds values of its kind.
fn check(
    lf: &LazyFrame,
    file: &str,
    found: &[&str],
    typed: &[(&str, Kind)],
) -> Result<(), ImportError> {
    let row = "__caregap_row";
    let mut exprs: Vec<Expr> = found
        .iter()
        .enumerate()
        .map(|(i, c)| col(*c).null_count().alias(format!("all{i}")))
        .collect();
    let mut kinds = Vec::new();
    for (c, k) in typed {
        let Some(bad) = k.bad(col(*c).cast(DataType::String)) else {
            continue;
        };
        let i = kinds.len();
        kinds.push((*c, *k));
        exprs.extend([
            bad.clone()
                .cast(DataType::Int64)
                .sum()
                .alias(format!("n{i}")),
            col(row)
                .filter(bad.clone())
                .first()
                .cast(DataType::Int64)
                .alias(format!("r{i}")),
            col(*c)
                .cast(DataType::String)
                .filter(bad)
                .first()
                .alias(format!("v{i}")),
        ]);
    }
    let unreadable = |e: PolarsError| ImportError::Unreadable {
        file: file.to_string(),
        message: brief(&e),
    };
    // Streaming, so that a large table is never held in memory; a query without sinks has a
    // single result.
    let df = lf
        .clone()
        .with_row_index(row, Some(1))
        .select(exprs)
        .collect_with_engine(Engine::Streaming)
        .map_err(unreadable)?
        .unwrap_single();
    let int = |name: &str| -> Result<i64, ImportError> {
        Ok(df.column(name)?.i64()?.get(0).unwrap_or(0))
    };
    for (i, (c, k)) in kinds.iter().enumerate() {
        let n = int(&format!("n{i}"))?;
        if n > 0 {
            return Err(ImportError::BadValues {
                file: file.to_string(),
                column: c.to_string(),
                expected: k.expected(),
                count: n as usize,
                row: int(&format!("r{i}"))? as usize,
                value: df
                    .column(&format!("v{i}"))?
                    .str()?
                    .get(0)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Table = Table {
        stem: "person",
        columns: &[
            ("person_id", Kind::Integer),
            ("birth_date", Kind::Date),
            ("name", Kind::Text),
        ],
    };

    fn message<T>(r: Result<T, ImportError>) -> String {
        r.err().expect("an error").to_string()
    }

    fn open(files: &[(&str, &[u8])]) -> (tempfile::TempDir, ImportReport) {
        let d = tempfile::tempdir().unwrap();
        for (n, b) in files {
            fs::write(d.path().join(n), b).unwrap();
        }
        (d, ImportReport::default())
    }

    #[test]
    fn names_match_ignoring_case_spaces_and_a_byte_order_mark() {
        let (d, mut rep) = open(&[(
            "Person.CSV",
            b"\xef\xbb\xbfPERSON_ID , Birth_Date,name\n1,2020-01-01,a\n",
        )]);
        let s = Source::open("t", d.path(), &["csv"]).unwrap();
        let df = s.required(&T, &mut rep).unwrap().collect().unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["person_id", "birth_date", "name"]);
        let r = &rep.renamed_columns["Person.CSV"];
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[" Birth_Date"], "birth_date");
        assert_eq!(r["PERSON_ID "], "person_id");
    }

    #[test]
    fn empty_optional_tables_are_absent_and_an_empty_required_one_is_an_error() {
        for body in [
            &b""[..],
            b"\n",
            b"\xef\xbb\xbf",
            b"person_id,birth_date,name\n",
        ] {
            let (d, mut rep) = open(&[("person.csv", body)]);
            let s = Source::open("t", d.path(), &["csv"]).unwrap();
            assert!(s.optional(&T, &mut rep).unwrap().is_none(), "{body:?}");
        }
        let (d, mut rep) = open(&[("person.csv", b"")]);
        let s = Source::open("t", d.path(), &["csv"]).unwrap();
        let e = message(s.required(&T, &mut rep));
        assert!(e.contains("person.csv") && e.contains("empty"), "{e}");
    }

    #[test]
    fn a_malformed_csv_row_is_an_error_naming_the_file() {
        for body in [
            &b"person_id,birth_date,name,other\n1,2020-01-01,a,x\n2,2020-01-01,b,y,z\n"[..],
            b"person_id,birth_date,name,other\n1,2020-01-01,\"a,x\n",
        ] {
            let (d, mut rep) = open(&[("person.csv", body)]);
            let s = Source::open("t", d.path(), &["csv"]).unwrap();
            let e = message(s.required(&T, &mut rep));
            assert!(e.contains("person.csv: cannot read"), "{e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn two_files_for_one_table_are_an_error() {
        let (d, mut rep) = open(&[("PERSON.csv", b"x\n"), ("person.parquet", b"")]);
        let s = Source::open("t", d.path(), &["csv", "parquet"]).unwrap();
        let e = message(s.optional(&T, &mut rep));
        assert!(
            e.contains("PERSON.csv") && e.contains("person.parquet"),
            "{e}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_kind_names_file_column_row_and_value() {
        let (d, mut rep) = open(&[(
            "person.csv",
            b"person_id,birth_date,name\n1,2020-01-01,a\n2,,b\n3,03/04/2020,c\nx,04/04/2020,d\n",
        )]);
        let s = Source::open("t", d.path(), &["csv"]).unwrap();
        let e = message(s.required(&T, &mut rep));
        assert!(
            e.contains("person.csv")
                && e.contains("person_id")
                && e.contains("integers")
                && e.contains("row 4")
                && e.contains("\"x\""),
            "{e}"
        );
    }
}
