//! Typed errors of the report stage.

use std::path::PathBuf;

/// What can stop writing an output.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The output could not be written (permissions, disk full, missing folder…).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// An output could not be read back (checking a written file against the contract).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A frame does not match its output's declaration (a programming error in caregap).
    #[error("{0} (the output contract, docs/outputs.md; please report this)")]
    Contract(#[from] crate::contract::ContractError),
    /// An internal polars error while encoding an output.
    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}
