//! # caregap-cli
//!
//! Glue: parses the command line, runs ingest → transform → report, writes the outputs and the
//! run manifest, and maps errors to the documented exit statuses. The `caregap` binary is a
//! thin wrapper over [`pipeline::run`], which tests call directly. The mergeable partial, its
//! on-disk format, the merge and the split strategy are `caregap-scaleout`'s; this crate
//! computes partials and makes outputs from them.
//!
//! ```text
//! caregap run ──▶ ingest::read_input_layer ──▶ transform::{conditions, eligibility}
//!                                                   └──▶ report::write_parquet_atomic + run_manifest.json
//! ```

pub mod config;
pub mod log;
pub mod manifest;
pub mod memory;
pub mod outdir;
pub mod pipeline;
pub mod settings;
pub mod signals;
pub mod verify;

/// An error in the command line or configuration (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Input schema problems found by `caregap validate` (exit status 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputSchemaProblems(pub String);

/// Exit statuses (README "Exit statuses"; docs/operations.md). A command stopped by SIGTERM
/// or SIGINT exits with 128 + the signal's number (143, 130): see [`crate::signals`].
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Any failure not listed below (an output folder that cannot be used; an internal error).
    pub const FAILURE: i32 = 1;
    /// Usage or configuration error (bad option, bad value-set file).
    pub const USAGE: i32 = 2;
    /// Input schema error (missing table or column, unreadable file); for `caregap import`, a
    /// missing, ambiguous or malformed source table.
    pub const INPUT_SCHEMA: i32 = 3;
    /// A table's reject rate is above the configured limit.
    pub const REJECT_RATE: i32 = 4;
}
