//! # caregap-cli
//!
//! Glue: parses the command line and pipeline files against the settings declared once in
//! [`settings`], runs ingest → transform → report, writes the outputs and the run manifest,
//! and maps errors to the documented exit statuses. The `caregap` binary is a thin wrapper
//! over [`pipeline::run`], which tests call directly. The mergeable partial, its on-disk
//! format, the merge and the split strategy are `caregap-scaleout`'s; this crate computes
//! partials and makes outputs from them.
//!
//! It must not compute a measure or read a claim itself (that is transform's and ingest's),
//! and it never writes an output but through `caregap_report`'s contract-checked writer.
//!
//! ```text
//! caregap run ─▶ settings ─▶ scaleout::split (one pass, person ranges or hash buckets)
//!   per bucket: ingest::read_input_layer* ─▶ transform: conditions, eligibility, events,
//!               measures::REGISTRY, summary counts, utilization partial ─▶ scaleout::Partial
//!   then:       Partial::merge ─▶ transform: rates, DiD, bootstrap ─▶ report::write_output
//!               (contract) + report::html + run_manifest.json ─▶ outdir (atomic publish)
//! ```

#![deny(missing_docs)]

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
