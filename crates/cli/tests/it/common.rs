//! Helpers shared by the integration tests.

use std::path::PathBuf;

use caregap_cli::pipeline::{self, RunOptions, RunOutput};
use caregap_transform::Params;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("root")
}

/// `shared/` beside the repository (CI has it too).
pub fn shared() -> PathBuf {
    root().join("../shared")
}

/// Run the pipeline for the 2025 calendar year on `input` into a fresh temp dir.
pub fn run_2025(input: PathBuf) -> (tempfile::TempDir, anyhow::Result<RunOutput>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = RunOptions::new(input, dir.path().join("out"), Params::calendar_year(2025));
    let r = pipeline::run(&opts);
    (dir, r)
}
