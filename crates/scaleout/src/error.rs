//! The one error type of the crate.

use std::path::PathBuf;

use polars::prelude::PolarsError;

/// What can go wrong reading, writing or merging partials.
#[derive(Debug, thiserror::Error)]
pub enum ScaleoutError {
    /// A folder given as a partial has no `partial.json`.
    #[error("{} is not a bucket output (no {}); give the folders `caregap run --bucket i` wrote", dir.display(), crate::PARTIAL_FACTS)]
    NotAPartial {
        /// The folder.
        dir: PathBuf,
    },
    /// A partial written in another on-disk format version than this caregap reads.
    #[error("{}: partial format version {}, this caregap reads version {expected}; a partial cannot be merged by another caregap than the one that wrote it: re-run the buckets (`caregap run --bucket i`) with the caregap that merges them", file.display(), found.map_or_else(|| "none (written before partials were versioned)".to_string(), |v| v.to_string()))]
    FormatVersion {
        /// The partial's `partial.json`.
        file: PathBuf,
        /// The version it carries (`None`: no version field at all).
        found: Option<u32>,
        /// [`crate::FORMAT_VERSION`].
        expected: u32,
    },
    /// `partial.json` is not what this version writes.
    #[error("cannot parse {}: {source}", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// What serde found.
        source: serde_json::Error,
    },
    /// A file or folder of a partial cannot be read or created.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// "open", "create", …
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A Parquet file of a partial cannot be read, or lacks a column this version writes.
    #[error("cannot read {}: {source}", file.display())]
    Frame {
        /// The file.
        file: PathBuf,
        /// polars' error.
        source: PolarsError,
    },
    /// Writing a partial's file failed.
    #[error(transparent)]
    Write(#[from] caregap_report::ReportError),
    /// Merging the frames failed.
    #[error(transparent)]
    Polars(#[from] PolarsError),
    /// `partial.json` could not be encoded.
    #[error("cannot encode the partial's facts: {0}")]
    Encode(serde_json::Error),
    /// No partial was given.
    #[error("nothing to merge")]
    NothingToMerge,
    /// The partials carry different settings fingerprints.
    #[error("the partials were made with different settings; merge needs one run's buckets:\n  {first}\n  {other}")]
    SettingsDiffer {
        /// The first partial's settings.
        first: String,
        /// The first that differs.
        other: String,
    },
    /// A whole-input partial given alone, or first, to a merge.
    #[error("only bucket partials (`caregap run --bucket i`) can be merged")]
    NotBuckets,
    /// A whole-input partial among buckets.
    #[error("a whole-input output cannot be merged with buckets")]
    WholeAmongBuckets,
    /// A bucket of a run with another number of buckets.
    #[error("bucket {bucket} of {of} does not belong to a run of {buckets} buckets")]
    ForeignBucket {
        /// Its bucket.
        bucket: u32,
        /// Its run's number of buckets.
        of: u32,
        /// The merge's number of buckets.
        buckets: u32,
    },
    /// Buckets missing or given more than once.
    #[error("the partials do not cover buckets 0..{buckets} exactly once (missing: [{}], given more than once: [{}]); persons would be lost or counted twice", list(missing), list(twice))]
    Coverage {
        /// The merge's number of buckets.
        buckets: u32,
        /// Buckets no partial covers.
        missing: Vec<u32>,
        /// Buckets more than one partial covers.
        twice: Vec<u32>,
    },
}

fn list(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}
