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
        source_format: &'static str,
        dir: PathBuf,
        source: std::io::Error,
    },
    /// A source file the importer needs is missing.
    #[error("{source_format}: required file {file} not found in {dir} (file names are matched ignoring case)")]
    MissingFile {
        source_format: &'static str,
        file: String,
        dir: PathBuf,
    },
    /// Two files in the folder are the same table (names that differ in case or extension).
    #[error("{source_format}: table {table} has more than one file in {dir}: {files}; keep one")]
    AmbiguousFile {
        source_format: &'static str,
        table: String,
        dir: PathBuf,
        files: String,
    },
    /// A required table's file is empty: not even a header row.
    #[error("{file}: the file is empty; a required table needs at least its header row")]
    EmptyFile { file: String },
    /// A column the mapping reads is not in the file.
    #[error("{file}: required column {column} not found (names are matched ignoring case and surrounding spaces); the file has {found}")]
    MissingColumn {
        file: String,
        column: String,
        found: String,
    },
    /// More than one column of the file matches a column the mapping reads.
    #[error("{file}: columns {names} all match {column} (names are matched ignoring case and surrounding spaces); keep one")]
    AmbiguousColumn {
        file: String,
        column: String,
        names: String,
    },
    /// A column holds values that are not of the type the mapping needs.
    #[error("{file}: column {column} must hold {expected}, but {count} value(s) do not; the first is {value:?} on data row {row}")]
    BadValues {
        file: String,
        column: String,
        expected: &'static str,
        count: usize,
        /// 1-based, not counting the header.
        row: usize,
        value: String,
    },
    /// A source file cannot be read (names the file).
    #[error("{file}: cannot read: {message}")]
    Unreadable { file: String, message: String },
    /// The output cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
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
    pub source_format: String,
    pub rows_read: BTreeMap<String, usize>,
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
