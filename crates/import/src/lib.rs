//! # caregap-import
//!
//! Importers that turn other public data models into caregap's input layer (the Tuva input
//! layer plus `health_home_enrollment`): a Synthea CSV export ([`synthea`]) and an OMOP CDM
//! 5.3/5.4 folder ([`omop`]). They sit before `caregap-ingest` in the flow and compute no
//! measure: they map rows, count what they cannot map, and write Parquet tables that
//! `caregap run` then reads and validates like any other input.
//!
//! ```text
//! Synthea CSV ─┐
//!              ├─▶ import ─▶ input layer (Parquet) ─▶ ingest ─▶ transform ─▶ report
//! OMOP CDM ────┘         └─▶ import_report.json (rows mapped, unmapped, by reason)
//! ```
//!
//! **Owns**: finding and checking a source export's tables (file and column names matched
//! ignoring case; a missing, empty or malformed table is an [`ImportError`] naming the file and
//! the column), the row and code mappings of each data model (documented in
//! `docs/import-synthea.md` and `docs/import-omop.md`), and the [`ImportReport`] that counts
//! what could not be mapped.
//!
//! **Must not**: compute a measure, decide eligibility, or apply or translate a value set (codes
//! are carried in the source's own code system; the SNOMED CT rows that let such an input meet
//! a measure live in `caregap-transform`'s value sets); call `caregap-transform` or
//! `caregap-report`; or drop a row without counting it. It writes only the input-layer tables
//! and `import_report.json`, and leaves checking that layer to `caregap-ingest` when
//! `caregap run` reads it. Its only caregap dependency is `caregap-ingest`, for the portable
//! Parquet writer.

#![deny(missing_docs)]

pub mod omop;
mod source;
pub mod synthea;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

/// A typed all-null column named `name`: an input-layer column the source data model has no
/// counterpart for.
pub(crate) fn null_of(dtype: DataType, name: impl Into<PlSmallStr>) -> Expr {
    lit(NULL).cast(dtype).alias(name)
}

/// What can stop an import. Every variant but [`ImportError::Write`] and
/// [`ImportError::Polars`] is a problem of the input ([`ImportError::is_input_error`]).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input folder cannot be listed.
    #[error("{source_format}: cannot read the input folder {dir}: {source}")]
    InputDir {
        /// The data model being imported (`synthea` or `omop`).
        source_format: &'static str,
        /// The input folder.
        dir: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A source file the importer needs is missing.
    #[error("{source_format}: required file {file} not found in {dir} (file names are matched ignoring case)")]
    MissingFile {
        /// The data model being imported (`synthea` or `omop`).
        source_format: &'static str,
        /// The file names looked for (`person.csv or person.parquet`).
        file: String,
        /// The input folder.
        dir: PathBuf,
    },
    /// Two files in the folder are the same table (names that differ in case or extension).
    #[error("{source_format}: table {table} has more than one file in {dir}: {files}; keep one")]
    AmbiguousFile {
        /// The data model being imported (`synthea` or `omop`).
        source_format: &'static str,
        /// The table's file name without extension, as the data model spells it.
        table: String,
        /// The input folder.
        dir: PathBuf,
        /// The matching file names, joined by commas.
        files: String,
    },
    /// A required table's file is empty: not even a header row.
    #[error("{file}: the file is empty; a required table needs at least its header row")]
    EmptyFile {
        /// Path of the empty file.
        file: String,
    },
    /// A column the mapping reads is not in the file.
    #[error("{file}: required column {column} not found (names are matched ignoring case and surrounding spaces); the file has {found}")]
    MissingColumn {
        /// Path of the source file.
        file: String,
        /// The missing column, as the data model spells it.
        column: String,
        /// The file's column names, quoted and joined (the first 40).
        found: String,
    },
    /// More than one column of the file matches a column the mapping reads.
    #[error("{file}: columns {names} all match {column} (names are matched ignoring case and surrounding spaces); keep one")]
    AmbiguousColumn {
        /// Path of the source file.
        file: String,
        /// The column the mapping reads, as the data model spells it.
        column: String,
        /// The file's column names that all match it, quoted and joined.
        names: String,
    },
    /// A column holds values that are not of the type the mapping needs.
    #[error("{file}: column {column} must hold {expected}, but {count} value(s) do not; the first is {value:?} on data row {row}")]
    BadValues {
        /// Path of the source file.
        file: String,
        /// The column, as named in the file.
        column: String,
        /// What its values must be (`integers`, `numbers`, `dates (YYYY-MM-DD, …)`).
        expected: &'static str,
        /// Number of non-empty values that are not of that kind.
        count: usize,
        /// Data row of the first such value: 1-based, not counting the header.
        row: usize,
        /// The first such value, as found.
        value: String,
    },
    /// A source file cannot be read (names the file).
    #[error("{file}: cannot read: {message}")]
    Unreadable {
        /// Path of the source file.
        file: String,
        /// Why it cannot be read: the operating system's error or the first line of polars'.
        message: String,
    },
    /// The output cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output folder or file that failed.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An internal polars error (its first line: never a query plan).
    #[error("polars: {}", source::brief(.0))]
    Polars(#[from] PolarsError),
}

impl ImportError {
    /// True when the input is at fault (missing, empty, ambiguous or malformed table, or an
    /// unreadable file): `caregap import` exits with status 3, as `caregap run` does for an
    /// input schema error.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, ImportError::Write { .. } | ImportError::Polars(_))
    }
}

/// Counts of an import: rows written per input-layer table, and rows or codes that could not
/// be mapped, by reason. Written as `import_report.json` beside the tables.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    /// The data model imported: `synthea` or `omop`.
    pub source_format: String,
    /// Rows read per source table (lower-case table name), for the tables the mapping counts.
    pub rows_read: BTreeMap<String, usize>,
    /// Rows written per input-layer table.
    pub rows_written: BTreeMap<String, usize>,
    /// Rows kept with a caveat or left out, by reason (never dropped without a count).
    pub unmapped: BTreeMap<String, usize>,
    /// Columns read under the data model's spelling of their name, per file: as found → as
    /// read (names are matched ignoring case, surrounding spaces and a byte-order mark).
    /// Left out of the JSON when no column was renamed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub renamed_columns: BTreeMap<String, BTreeMap<String, String>>,
}

impl ImportReport {
    fn note(&mut self, reason: &str, n: usize) {
        if n > 0 {
            *self.unmapped.entry(reason.to_string()).or_default() += n;
        }
    }
}

/// Number of rows of a lazy frame.
pub(crate) fn count(lf: &LazyFrame) -> Result<usize, ImportError> {
    let df = lf.clone().select([len().alias("n")]).collect()?;
    Ok(df
        .column("n")?
        .cast(&DataType::Int64)?
        .i64()?
        .get(0)
        .unwrap_or(0) as usize)
}

/// The date part of an ISO date or timestamp text (`2021-08-23T03:26:50Z` → 2021-08-23).
pub(crate) fn date_of(e: Expr) -> Expr {
    e.str()
        .slice(lit(0), lit(10))
        .str()
        .to_date(StrptimeOptions {
            format: Some("%Y-%m-%d".into()),
            strict: false,
            exact: true,
            cache: true,
        })
}

/// Write the input-layer tables (Parquet) and the import report into `out`.
pub(crate) fn write_tables(
    out: &Path,
    tables: Vec<(&'static str, DataFrame)>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let werr = |p: &Path| {
        let p = p.to_path_buf();
        move |e| ImportError::Write {
            path: p.clone(),
            source: e,
        }
    };
    fs::create_dir_all(out).map_err(werr(out))?;
    for (name, mut df) in tables {
        let path = out.join(format!("{name}.parquet"));
        let mut f = fs::File::create(&path).map_err(werr(&path))?;
        df.rechunk_mut();
        caregap_ingest::portable::portable_writer(&mut f, &df).finish(&mut df)?;
        report.rows_written.insert(name.to_string(), df.height());
    }
    let path = out.join("import_report.json");
    let json = serde_json::to_vec_pretty(report).expect("a report serialises");
    fs::write(&path, json).map_err(werr(&path))?;
    Ok(())
}

/// Spread `list` (a list column of codes) over diagnosis_code_1 … 25.
pub(crate) fn diagnosis_columns(list: &str) -> Vec<Expr> {
    (0..25)
        .map(|i| {
            col(list)
                .list()
                .get(lit(i as i64), true)
                .alias(format!("diagnosis_code_{}", i + 1))
        })
        .collect()
}
