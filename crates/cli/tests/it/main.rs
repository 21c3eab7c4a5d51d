//! Integration tests, one binary. The member stories (`shared/cases/*` and `fixtures/cases/**`)
//! run in their own harness, `tests/cases` (`cargo test -p caregap-cli --test cases`). Topic files:
//! - `behaviour`: the behaviour lock of issue #17: the SHA-256 of every output of every story and
//!   of a 20,000-person synthetic run, unchanged (`fixtures/behaviour/sha256.txt`, `BLESS=1`).
//! - `bad_values`: values checked for sense and broken files (issue #16), each run in one pass,
//!   in hash buckets and in person ranges, which must agree.
//! - `ingest`: bad input, one test per §8 problem, and format equivalence.
//! - `hostile`: 30+ malformed files (corrupt Parquet, FIFOs, bad UTF-8, …) end in a documented
//!   exit status naming the file, with no panic, no internal dump and no member data.
//! - `import`: the importers on exports as users have them: the cases of `fixtures/import/`
//!   (empty, malformed, oddly named tables) and the shared/data samples re-cased.
//! - `synth`: generator determinism and agreement with its planted ground truth.
//! - `cli`: the binary's exit statuses and messages.
//! - `data_loss`: runs that lose too much of a table (rejected or orphaned rows) or whose
//!   covered population or joined claims are empty fail with exit 4 and keep the good output.
//! - `operations`: stopping and failing well: SIGTERM / SIGINT clean-up, a SIGKILLed run's
//!   leftovers, symlinked and user-populated output folders, option checks, JSON-only stderr,
//!   the panic hook.
//! - `outputs`: the output contract against what runs write: every file of a run and of a
//!   bucket's partial declared, with its declared schema (polars and Arrow) and row order;
//!   `caregap outputs`.
//! - `real_data`: the Tuva demo, Synthea and OMOP samples in shared/data, end to end, with
//!   hand-counted figures and one traced person each.
//! - `report`: the HTML report's skeleton, suppression, and a real browser.
//! - `scale`: person buckets — byte-identical outputs whatever the buckets, threads or way of
//!   running them; Spark's bucket function; merges that would lose or double persons refused.
//! - `stories`: finding member-story folders and reading their `runs.csv` (for `behaviour`, and
//!   included by the story harness `tests/cases`).
//! - `scheduled`: the bad-input suite, atomic/locked outputs, pipeline files, exit statuses,
//!   JSON logs and property tests.
//! - `settings`: the settings registry against a real run (where run_manifest.json records
//!   each setting).
//! - `value_sets`: value-set files as users hold them (NCQA / VSAC exports, the value-set map)
//!   against caregap's own CSV, and the errors naming unknown value sets and code systems.

mod bad_values;
mod behaviour;
mod cli;
mod common;
mod core_set;
mod data_loss;
mod hostile;
mod import;
mod ingest;
mod operations;
mod outputs;
mod real_data;
mod report;
mod scale;
mod scheduled;
mod settings;
// Also included by the story harness (tests/cases), which reads every field of a run; the
// behaviour lock here reads some of them.
#[allow(dead_code)]
mod stories;
mod synth;
mod value_sets;
