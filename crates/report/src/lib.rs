//! # caregap-report
//!
//! Owns what leaves the pipeline: Parquet outputs written atomically (temp file, then rename)
//! with their SHA-256 recorded, and the evaluator's HTML report (`html`), whose every number
//! passes through small-cell suppression (`suppress`, spec §7). It never reads raw claims and
//! computes no measure: it only receives frames that `caregap-transform` computed. It must not
//! put member-level data into the HTML report: aggregates only, suppressed.
//!
//! Every output's schema is declared once in [`contract`]: the writer
//! ([`parquet::write_output`]) checks each frame against it before writing, the report reads
//! its frames through it, and `docs/outputs.md` is generated from it.

#![deny(missing_docs)]

pub mod contract;
pub mod core_set;
pub mod error;
pub mod html;
pub mod parquet;
pub mod suppress;

pub use error::ReportError;
pub use parquet::{
    csv_ready, sha256_bytes, write_atomic, write_csv_atomic, write_output, write_parquet_atomic,
};
