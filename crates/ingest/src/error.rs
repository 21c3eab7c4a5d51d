//! Typed errors of the ingest stage. Every message names the table and, where there is one,
//! the file, row and column, so a data team can find the problem without reading code.
//!
//! No message carries member data: a polars error is cut to its first line, at most
//! [`MESSAGE_CHARS`] characters, with every quoted piece of input replaced by `…`
//! ([`polars_message`]). polars quotes the text it failed on, and after an unbalanced quote that
//! text is the rest of the file: megabytes of member ids, diagnoses and amounts.

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// What can stop ingest. Row-level problems are never errors: they go to rejects.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The input folder does not exist or is not a folder.
    #[error("input folder {0} does not exist or is not a folder")]
    InputDirMissing(PathBuf),
    /// A required table (eligibility, medical_claim) has no file in the input folder.
    #[error("required table `{table}` not found in {dir}: expected {table}.csv, {table}.parquet or a folder {table}/ of part files (file endings read: {endings})", endings = crate::shapes::endings_list())]
    MissingTable {
        /// The table.
        table: String,
        /// The input folder.
        dir: PathBuf,
    },
    /// A table is given twice (a file and a folder, or both a CSV and a Parquet file).
    #[error("table `{table}` is given twice ({first} and {second}); keep one")]
    Ambiguous {
        /// The table.
        table: String,
        /// The first file or folder found.
        first: String,
        /// The second.
        second: String,
    },
    /// A required column is missing from a file.
    #[error("table `{table}`, file {file}: required column `{column}` is missing{hint}")]
    MissingColumn {
        /// The table.
        table: String,
        /// The file, relative to the input folder.
        file: String,
        /// The column.
        column: String,
        /// A hint (a close column name), or empty.
        hint: String,
    },
    /// None of a group of alternative columns is present (e.g. normalized_code / source_code).
    #[error(
        "table `{table}`, file {file}: none of the columns {columns} is present; one is required"
    )]
    MissingOneOf {
        /// The table.
        table: String,
        /// The file, relative to the input folder.
        file: String,
        /// The alternative columns.
        columns: String,
    },
    /// A file of zero bytes (not even a header row).
    #[error("table `{table}`, file {file}: the file is empty (no header row)")]
    EmptyFile {
        /// The table.
        table: String,
        /// The file, relative to the input folder.
        file: String,
    },
    /// A file that cannot be parsed at all (truncated Parquet, invalid UTF-8…). `message` is
    /// caregap's own or a sanitised polars message ([`polars_message`]).
    #[error("table `{table}`, file {file}: cannot be read: {message}")]
    Unreadable {
        /// The table.
        table: String,
        /// The file, relative to the input folder.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A delimited file whose structure is broken: a row with more or fewer fields than the
    /// header, a quote that is never closed, NUL bytes, a header that is not UTF-8, Parquet
    /// bytes under a `.csv` name. `problem` names the row and line, never their content.
    #[error("table `{table}`, file {file}: {problem}")]
    Malformed {
        /// The table.
        table: String,
        /// The file, relative to the input folder.
        file: String,
        /// What is broken, with its row and line.
        problem: String,
    },
    /// Two columns of one file have the same name.
    #[error(
        "table `{table}`, file {file}: the column `{column}` appears twice in the header; keep one"
    )]
    DuplicateColumn {
        /// The table.
        table: String,
        /// The file, relative to the input folder.
        file: String,
        /// The column.
        column: String,
    },
    /// A table's name is taken by something that is not a regular file (a FIFO, a socket, a
    /// device, a folder named like a file, a broken symbolic link).
    #[error("table `{table}`: {path} is not a regular file ({what}); give the table as a file or a folder of part files")]
    NotAFile {
        /// The table.
        table: String,
        /// The path.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// A file changed (was truncated, appended to or replaced) while caregap read it.
    #[error("table `{table}`, file {file}: the file changed while caregap read it ({before} bytes, then {after}); rerun once it is complete")]
    Changed {
        /// The table.
        table: String,
        /// The file, relative to the input folder.
        file: String,
        /// Its size when first read.
        before: u64,
        /// Its size afterwards.
        after: u64,
    },
    /// An operating-system error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// An internal polars error (its message sanitised, see [`polars_message`]).
    #[error("polars: {}", polars_message(.0))]
    Polars(#[from] polars::prelude::PolarsError),
}

/// Guarded polars calls running now (see [`guarded`]).
static GUARDED: AtomicUsize = AtomicUsize::new(0);
static QUIET_HOOK: Once = Once::new();

/// Run a polars call that reads a file's bytes, turning a polars error *and a polars panic*
/// into [`IngestError::Unreadable`] naming the file.
///
/// A last resort, used only around calls that decode file bytes: polars 0.55 panics on some
/// damaged Parquet files instead of failing (`thrift bool field` while decoding a corrupt
/// footer's statistics, found by flipping bytes of real files). Bytes caregap can check itself
/// are checked first ([`crate::structure`]); values polars is known to panic on are guarded
/// where they are used ([`crate::shapes::date_text`]). While a guarded call runs, the panic
/// hook stays silent for panics raised inside polars (the error says what happened); every
/// other panic is reported as usual.
pub fn guarded<T>(
    table: &str,
    file: &str,
    f: impl FnOnce() -> polars::prelude::PolarsResult<T>,
) -> Result<T, IngestError> {
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let in_polars = info
                .location()
                .is_some_and(|l| l.file().contains("/polars-"));
            if !(in_polars && GUARDED.load(Ordering::SeqCst) > 0) {
                previous(info);
            }
        }));
    });
    GUARDED.fetch_add(1, Ordering::SeqCst);
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.fetch_sub(1, Ordering::SeqCst);
    match r {
        Ok(r) => r.map_err(|e| IngestError::unreadable(table, file, &e)),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(IngestError::Unreadable {
                table: table.to_string(),
                file: file.to_string(),
                message: format!(
                    "the file is damaged: polars failed on its bytes ({})",
                    sanitise(&what)
                ),
            })
        }
    }
}

/// The most characters of a polars message an error carries.
pub const MESSAGE_CHARS: usize = 200;

/// A polars error as an [`IngestError`] may show it: the first line, every piece of quoted
/// input (`` `…` ``, `'…'`, `"…"`) replaced by `…`, at most [`MESSAGE_CHARS`] characters.
/// polars quotes the bytes it failed on (`could not parse `A1,2025-…` as dtype str`): after an
/// unbalanced quote in a CSV those bytes are the rest of the file, member rows included.
pub fn polars_message(e: &polars::prelude::PolarsError) -> String {
    sanitise(&e.to_string())
}

/// See [`polars_message`].
pub fn sanitise(message: &str) -> String {
    // Quoted input first (it may span lines), then the first line, then the length.
    let mut unquoted = String::with_capacity(message.len().min(4096));
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        let closing = match c {
            '`' | '"' => Some(c),
            // An apostrophe inside a word (`polars' reader`, `can't`) is not a quote.
            '\'' if !unquoted.ends_with(|p: char| p.is_alphanumeric()) => Some(c),
            _ => None,
        };
        match closing {
            Some(q) => {
                // Drop everything up to the closing quote (or the end of the message).
                for d in chars.by_ref() {
                    if d == q {
                        break;
                    }
                }
                unquoted.push(q);
                unquoted.push('…');
                unquoted.push(q);
            }
            None => unquoted.push(c),
        }
    }
    let first = unquoted
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.chars().count() > MESSAGE_CHARS {
        let mut cut: String = first.chars().take(MESSAGE_CHARS).collect();
        cut.push('…');
        cut
    } else {
        first.to_string()
    }
}

impl IngestError {
    /// A polars error reading `file` of `table`, sanitised (see [`polars_message`]).
    pub fn unreadable(table: &str, file: &str, e: &polars::prelude::PolarsError) -> Self {
        IngestError::Unreadable {
            table: table.to_string(),
            file: file.to_string(),
            message: polars_message(e),
        }
    }

    /// True for errors in the shape of the input (exit status 3 in the CLI).
    pub fn is_input_schema_error(&self) -> bool {
        !matches!(self, IngestError::Polars(_) | IngestError::Io { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitised_messages_carry_no_quoted_input() {
        let raw = "could not parse `\"2025-03-01,A1,M123\nQ0,1,professional,SECRET` as dtype `str` at column 'claim_start_date' (column number 5)\n\nThe current offset in the file is 861 bytes.";
        assert_eq!(
            sanitise(raw),
            "could not parse `…` as dtype `…` at column '…' (column number 5)"
        );
        assert_eq!(sanitise("found more fields than defined in 'Schema'\n\nConsider setting 'truncate_ragged_lines=true'."), "found more fields than defined in '…'");
        assert_eq!(
            sanitise("polars' reader can't read it"),
            "polars' reader can't read it"
        );
        assert_eq!(sanitise("unclosed `quote and more"), "unclosed `…`");
        let long = "x".repeat(5000);
        assert_eq!(sanitise(&long).chars().count(), MESSAGE_CHARS + 1);
        assert_eq!(
            sanitise("\n\n  second line first  \nthird"),
            "second line first"
        );
    }
}
