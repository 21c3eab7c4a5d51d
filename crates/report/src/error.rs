//! Typed errors of the report stage.

use std::path::PathBuf;

/// What can stop writing an output.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The output could not be written (permissions, disk full, missing folder…).
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An internal polars error while encoding an output.
    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}
