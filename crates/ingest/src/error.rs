//! Typed errors of the ingest stage. Every message names the table and, where there is one,
//! the file and column, so a data team can find the problem without reading code.

use std::path::PathBuf;

/// What can stop ingest. Row-level problems are never errors: they go to rejects.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The input folder does not exist or is not a folder.
    #[error("input folder {0} does not exist or is not a folder")]
    InputDirMissing(PathBuf),
    /// A required table (eligibility, medical_claim) has no file in the input folder.
    #[error("required table `{table}` not found in {dir}: expected {table}.csv, {table}.parquet or a folder {table}/ of part files (file endings read: {endings})", endings = crate::shapes::endings_list())]
    MissingTable { table: String, dir: PathBuf },
    /// A table is given twice (a file and a folder, or both a CSV and a Parquet file).
    #[error("table `{table}` is given twice ({first} and {second}); keep one")]
    Ambiguous {
        table: String,
        first: String,
        second: String,
    },
    /// A required column is missing from a file.
    #[error("table `{table}`, file {file}: required column `{column}` is missing{hint}")]
    MissingColumn {
        table: String,
        file: String,
        column: String,
        hint: String,
    },
    /// None of a group of alternative columns is present (e.g. normalized_code / source_code).
    #[error(
        "table `{table}`, file {file}: none of the columns {columns} is present; one is required"
    )]
    MissingOneOf {
        table: String,
        file: String,
        columns: String,
    },
    /// A file of zero bytes (not even a header row).
    #[error("table `{table}`, file {file}: the file is empty (no header row)")]
    EmptyFile { table: String, file: String },
    /// A file that cannot be parsed at all (truncated Parquet, invalid UTF-8, ragged CSV…).
    #[error("table `{table}`, file {file}: cannot be read: {message}")]
    Unreadable {
        table: String,
        file: String,
        message: String,
    },
    /// An operating-system error on a path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An internal polars error.
    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}

impl IngestError {
    /// True for errors in the shape of the input (exit status 3 in the CLI).
    pub fn is_input_schema_error(&self) -> bool {
        !matches!(self, IngestError::Polars(_) | IngestError::Io { .. })
    }
}
