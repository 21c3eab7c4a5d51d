//! What caregap tells the person or scheduler watching stderr, in the chosen log format.
//!
//! `tracing` carries every log line. A few messages are meant for every run, whatever the log
//! level (a warning about the data, the bucket plan, leftovers removed, the final error): in
//! human mode they are plain lines, as before; with `--log-format json` they are JSON objects
//! like every other line, so that a scheduler parsing stderr never meets plain text.
//! [`NOTICE_TARGET`] keeps notices visible in JSON at the default level (warn).

use std::sync::atomic::{AtomicBool, Ordering};

/// The `tracing` target of notices (info level, always shown; see [`filter_directive`]).
pub const NOTICE_TARGET: &str = "caregap::notice";

static JSON: AtomicBool = AtomicBool::new(false);

/// Choose the format of the messages below (`main` sets it once, before any is written).
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Whether stderr carries JSON lines only.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// The filter directive that keeps notices visible at the default level.
pub fn filter_directive() -> &'static str {
    "caregap::notice=info"
}

/// A warning about the data or the settings: a plain line (and a `tracing` warning, as
/// before) in human mode, one JSON line in json mode.
pub fn warning(msg: &str) {
    if !json() {
        eprintln!("{msg}");
    }
    tracing::warn!("{msg}");
}

/// Something every run shows (the bucket plan, leftovers removed): a plain line in human
/// mode, one JSON line (level INFO, target [`NOTICE_TARGET`]) in json mode.
pub fn notice(msg: &str) {
    if json() {
        tracing::info!(target: NOTICE_TARGET, "{msg}");
    } else {
        eprintln!("{msg}");
    }
}

/// The line that ends a failed command: a `tracing` error with its exit status, and in human
/// mode also the plain `caregap: error: …` line.
pub fn error(msg: &str, exit_status: i32) {
    tracing::error!(target: "caregap", exit_status, "{msg}");
    if !json() {
        eprintln!("caregap: error: {msg}");
    }
}
