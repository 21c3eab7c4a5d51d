//! # caregap-ingest
//!
//! Owns reading the input layer (`shared/spec/input-layer.md`): finding each table's files,
//! checking its columns, parsing and normalising every value as spec §8 says, and sending
//! every row that fails a check to `rejects` with the table, file, row, column and reason.
//!
//! It computes nothing: no measure, no eligibility, no aggregate. What comes out is the input
//! as typed, normalised polars frames, plus what was rejected and the facts about each file
//! (rows, SHA-256, column aliases) that the run manifest records.
//!
//! ```text
//! input folder ──▶ locate (T.csv | T.parquet | T/part-*) ──▶ scan as text ──▶ normalise (§8)
//!                                                                    └──▶ checks ──▶ rejects
//! ```
//!
//! Before polars parses a row, each file's structure is checked in the pass that takes its
//! SHA-256 ([`structure`]); after parsing, values are checked for sense ([`sense`]).

pub mod error;
pub mod partition;
pub mod portable;
pub mod ranges;
pub mod read;
pub mod schema;
pub mod sense;
pub mod shapes;
pub mod structure;

/// `caregap validate`: every problem in one pass.
pub mod validate {
    pub use crate::read::{validate, ValidationReport};
}

pub use error::IngestError;
pub use read::{
    read_input_layer, read_input_layer_in, read_input_layer_range, InputLayer, Layout, SourceFile,
    Table,
};
