//! # caregap-scaleout
//!
//! The scale-out core: what lets one input be computed in person buckets — one after another
//! in one process, or one Spark task each — and merged into outputs byte-identical to a whole
//! run's.
//!
//! It owns:
//! - the **mergeable partial** of a run over a set of persons ([`Partial`], [`PartialFacts`]):
//!   per-person frames, summary counts, utilization sums and the run's facts;
//! - its **on-disk format** ([`mod@format`]): a folder of Parquet files and `partial.json`, which
//!   carries [`FORMAT_VERSION`]; a partial of another version is refused with
//!   [`ScaleoutError::FormatVersion`], naming the file, both versions and what to do;
//! - the **exact merge** ([`Partial::merge`]) and its checks: every bucket `0..N` exactly once,
//!   one set of settings;
//! - the **split strategy** ([`split`]): how many person buckets a run needs and whether they
//!   are person ranges read in place or a hash partition.
//!
//! It must not compute a measure or read claims (the caller computes a partial with
//! `caregap-transform` and hands it over), print anything or choose exit statuses (it returns
//! [`ScaleoutError`]; the CLI maps it), or know how the run settings are fingerprinted (the
//! fingerprint is an opaque string the caller computes and compares). It never depends on
//! `caregap-cli`.
//!
//! ```text
//!  bucket input ──▶ (caller) ingest + transform ──▶ Partial ──▶ format::write ──▶ partial folder
//!  partial folders ──▶ format::read (version check) ──▶ Partial::merge ──▶ (caller) finish ──▶ outputs
//!  input folder + options ──▶ split::choose_split ──▶ Whole | Ranges(plan) | Hash(n)
//! ```

#![deny(missing_docs)]

pub mod error;
pub mod facts;
pub mod format;
pub mod partial;
pub mod split;

pub use error::ScaleoutError;
pub use facts::{Headline, InputFile, PartialFacts, StageTiming};
pub use format::{FORMAT_VERSION, PARTIAL_FACTS};
pub use partial::{Partial, PERSON_FRAMES};
