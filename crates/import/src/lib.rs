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

/// What can stop an import.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A source file the importer needs is missing.
    #[error("{source_format}: required file {file} not found in {dir}")]
    MissingFile {
        source_format: &'static str,
        file: String,
        dir: PathBuf,
    },
    /// A source file cannot be read (names the file).
    #[error("{file}: {message}")]
    Unreadable { file: String, message: String },
    /// The output cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An internal polars error.
    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
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
}

impl ImportReport {
    fn note(&mut self, reason: &str, n: usize) {
        if n > 0 {
            *self.unmapped.entry(reason.to_string()).or_default() += n;
        }
    }
}

/// Read a CSV with every column as text.
pub(crate) fn read_csv(
    dir: &Path,
    file: &str,
    format: &'static str,
) -> Result<LazyFrame, ImportError> {
    let p = dir.join(file);
    if !p.is_file() {
        return Err(ImportError::MissingFile {
            source_format: format,
            file: file.to_string(),
            dir: dir.to_path_buf(),
        });
    }
    LazyCsvReader::new(PlRefPath::new(p.to_string_lossy().as_ref()))
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .finish()
        .map_err(|e| ImportError::Unreadable {
            file: p.display().to_string(),
            message: e.to_string(),
        })
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
