//! Atomic, exclusive output folders for scheduled runs, and the temporary folders beside them.
//!
//! A run resolves its output path (a symlinked `--out` is followed to its target, which is what
//! gets locked and replaced; the symlink stays a symlink), takes an exclusive lock (`.NAME.lock`
//! beside the output, an OS file lock that dies with the process), removes what killed runs on
//! that output left behind, writes every output into a staging folder beside the output
//! (`.NAME.staging-PID`), and only when all of them are complete swaps it into place: on Linux
//! with one atomic `renameat2(RENAME_EXCHANGE)`, elsewhere with two renames. A failed, killed or
//! interrupted run leaves the previous output untouched; a second run aimed at the same folder
//! fails at once with a clear message.
//!
//! **Temporary folders** (the staging folder, a run's hash partition `.NAME.partition-PID`)
//! carry the output's name and a marker file ([`MARKER`]), and are registered while they live:
//! SIGTERM and SIGINT remove every registered folder before the process exits
//! ([`remove_temporaries_and_stop`]); after a SIGKILL, the next run that holds the lock removes
//! them ([`OutputLock::acquire`]). Only folders that are recognisably caregap's are removed:
//! the name pattern, and the marker or contents that caregap alone writes.
//!
//! **What is replaced**: an empty folder, or a complete caregap output of the kind the command
//! writes and nothing else: a run's (`run_manifest.json` written by caregap and the outputs it
//! lists), a bucket's partial (`partial.json`) or a bucketed input (`_partition.json`). A
//! folder with any other file in it is refused, naming the files; a folder without those
//! files is refused as not an output, one of another kind as such.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The marker file in every temporary folder caregap makes beside an output.
pub const MARKER: &str = ".caregap-temporary";

/// The kinds of temporary folders beside an output (`.NAME.<kind>-PID`): staging, a run's
/// hash partition, and the previous output while two renames replace it (not on Linux).
const TEMPORARY_KINDS: &[&str] = &["staging", "partition", "previous"];

/// A file a run writes: an output declared in the output contract
/// (`caregap_report::contract`), the HTML report or the run manifest.
fn is_run_file(name: &str) -> bool {
    name == "run_manifest.json"
        || name == "report.html"
        || caregap_report::contract::run_outputs().any(|o| o.file == name)
}

/// A file a bucket's partial holds: a partial file declared in the output contract, or
/// `partial.json`.
fn is_partial_file(name: &str) -> bool {
    name == caregap_scaleout::PARTIAL_FACTS
        || caregap_report::contract::partial_outputs().any(|o| o.file == name)
}

/// The kinds of caregap output folders. A folder is replaced only by one of its own kind: a
/// mistyped `caregap partition --out` never replaces a run's live output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// A run's or a merge's outputs (`run_manifest.json`).
    Run,
    /// A bucket's partial, `caregap run --bucket` (`partial.json`).
    Partial,
    /// A bucketed input, `caregap partition` (`_partition.json`).
    Partition,
}

impl std::fmt::Display for OutputKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputKind::Run => "a run's output (run_manifest.json)",
            OutputKind::Partial => "a bucket's partial (partial.json, `caregap run --bucket`)",
            OutputKind::Partition => "a bucketed input (_partition.json, `caregap partition`)",
        })
    }
}

/// Why the output folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Another run holds the lock.
    #[error("another caregap run is writing to {out} (lock {lock} is held); this run stops without touching it")]
    Locked {
        /// The output folder.
        out: PathBuf,
        /// The lock file held.
        lock: PathBuf,
    },
    /// The folder exists but is not a caregap output: never replace someone's files.
    #[error("output folder {0} exists and is not a caregap output (no run_manifest.json, partial.json or _partition.json written by caregap); refusing to replace it: choose another --out, or empty it")]
    NotAnOutput(PathBuf),
    /// The folder holds a caregap output and files caregap did not write: replacing it would
    /// delete them.
    #[error("output folder {out} holds files caregap did not write ({}); refusing to replace it, as that would delete them: move them elsewhere, or choose another --out", list(.files))]
    ForeignFiles {
        /// The output folder.
        out: PathBuf,
        /// The files caregap did not write.
        files: Vec<String>,
    },
    /// The folder holds another kind of caregap output than this command writes.
    #[error("output folder {out} holds {found}, not {wanted}; refusing to replace it: choose another --out")]
    OtherKind {
        /// The output folder.
        out: PathBuf,
        /// What it holds.
        found: OutputKind,
        /// What this command writes.
        wanted: OutputKind,
    },
    /// A symlinked output that never reaches a real path.
    #[error("output path {0}: too many levels of symbolic links")]
    SymlinkLoop(PathBuf),
    /// An operating-system error on a path (not writable, disk full…).
    #[error("cannot write output folder {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
}

fn list(files: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = files
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > SHOWN {
        s.push_str(&format!(" and {} more", files.len() - SHOWN));
    }
    s
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn name_of(out: &Path) -> String {
    out.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into())
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    out.with_file_name(format!(".{}.{suffix}", name_of(out)))
}

fn parent_of(out: &Path) -> &Path {
    out.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The path an output really is: a symlink (or a chain of them) is followed to its target,
/// which need not exist yet; `.` and `..` become the folder they name. Other paths are
/// returned as they are.
pub fn resolve(out: &Path) -> Result<PathBuf, OutputError> {
    let mut p = out.to_path_buf();
    if p.file_name().is_none() {
        p = fs::canonicalize(&p).map_err(io(out))?;
    }
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p).map_err(io(&p))?;
                p = if target.is_absolute() {
                    target
                } else {
                    parent_of(&p).join(target)
                };
                if p.file_name().is_none() {
                    p = fs::canonicalize(&p).map_err(io(out))?;
                }
            }
            _ => return Ok(p),
        }
    }
    Err(OutputError::SymlinkLoop(out.to_path_buf()))
}

// ---------------------------------------------------------------------------------------------
// The registry of live temporary folders (for SIGTERM and SIGINT).

static LIVE: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);
/// Whether this process has swapped an output into place.
static PUBLISHED: AtomicBool = AtomicBool::new(false);

fn live() -> MutexGuard<'static, Vec<(u64, PathBuf)>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A registered temporary folder; unregistered on drop.
#[derive(Debug)]
struct Registration(u64);

impl Registration {
    fn new(path: &Path) -> Self {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        live().push((id, path.to_path_buf()));
        Registration(id)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        live().retain(|(id, _)| *id != self.0);
    }
}

/// What [`remove_temporaries_and_stop`] did.
#[derive(Debug)]
pub struct Stopped {
    /// The temporary folders removed.
    pub removed: Vec<PathBuf>,
    /// Whether an output had been swapped into place before.
    pub published: bool,
}

/// Remove every live temporary folder, and keep any run from publishing afterwards: for a
/// signal handler that exits the process next.
pub fn remove_temporaries_and_stop() -> Stopped {
    let guard = live();
    let mut removed = Vec::new();
    for (_, path) in guard.iter() {
        // The run may still be writing into it: try again while files appear.
        for _ in 0..20 {
            match fs::remove_dir_all(path) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
        if !path.exists() {
            removed.push(path.clone());
        }
    }
    // Held until the process exits: `publish` waits on it, so nothing is swapped in after.
    std::mem::forget(guard);
    Stopped {
        removed,
        published: PUBLISHED.load(Ordering::SeqCst),
    }
}

// ---------------------------------------------------------------------------------------------
// The lock.

/// The exclusive lock on an output folder, held for the life of the value.
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
    out: PathBuf,
    removed: Vec<PathBuf>,
}

impl OutputLock {
    /// Resolve `out` (see [`resolve`]), lock it, and remove the temporary folders that killed
    /// runs on it left behind (no other run on it can be alive while we hold the lock).
    pub fn acquire(out: &Path) -> Result<Self, OutputError> {
        let out = resolve(out)?;
        let parent = parent_of(&out);
        fs::create_dir_all(parent).map_err(io(parent))?;
        let lock = sibling(&out, "lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io(&lock))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(OutputError::Locked {
                    out: out.to_path_buf(),
                    lock,
                })
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(OutputError::Io {
                    path: lock,
                    source: e,
                })
            }
        }
        let removed = remove_leftovers(&out)?;
        if !removed.is_empty() {
            crate::log::notice(&format!(
                "caregap: removed what an earlier run on {} left when it was killed: {}",
                out.display(),
                removed
                    .iter()
                    .map(|p| name_of(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(OutputLock {
            _file: file,
            out,
            removed,
        })
    }

    /// The output folder locked (a symlink resolved to its target).
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// The leftovers of killed runs that acquiring the lock removed.
    pub fn removed_leftovers(&self) -> &[PathBuf] {
        &self.removed
    }
}

/// Temporary folders of `out` (`.NAME.<kind>-<digits>`) that are caregap's: a real folder
/// (not a symlink) with the marker, or holding only files caregap writes. Removes them.
fn remove_leftovers(out: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let parent = parent_of(out);
    let prefix = format!(".{}.", name_of(out));
    let mut removed = Vec::new();
    let entries = fs::read_dir(parent).map_err(io(parent))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let ours = TEMPORARY_KINDS.iter().any(|k| {
            rest.strip_prefix(k)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        });
        let path = e.path();
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if ours && is_dir && (path.join(MARKER).is_file() || only_caregap_files(&path, 0)) {
            fs::remove_dir_all(&path).map_err(io(&path))?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

fn table_names() -> BTreeSet<&'static str> {
    caregap_ingest::schema::all_tables()
        .into_iter()
        .map(|t| t.name)
        .collect()
}

/// A name caregap writes into an output or a partial, or the temporary name of one
/// (`.NAME.tmp-PID`, see `caregap_report::write_atomic`).
fn is_caregap_file_name(name: &str) -> bool {
    let known = |n: &str| is_run_file(n) || is_partial_file(n);
    if known(name) || name == MARKER || name == caregap_ingest::partition::PARTITION_MANIFEST {
        return true;
    }
    name.strip_prefix('.')
        .and_then(|n| n.rsplit_once(".tmp-"))
        .is_some_and(|(n, pid)| known(n) && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Every entry of `dir` is something caregap writes: output and partial files (and their
/// temporary names), the marker, or the bucketed layout `<table>/bucket=<i>/part-*.parquet`.
fn only_caregap_files(dir: &Path, depth: usize) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    let tables = table_names();
    entries.flatten().all(|e| {
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(ft) = e.file_type() else {
            return false;
        };
        if ft.is_file() {
            match depth {
                0 => is_caregap_file_name(&name),
                2 => is_part_file(&name) || name.ends_with(".parquet.tmp"),
                _ => false,
            }
        } else if ft.is_dir() {
            let ok = match depth {
                0 => tables.contains(name.as_str()),
                1 => is_bucket_dir(&name),
                _ => false,
            };
            ok && only_caregap_files(&e.path(), depth + 1)
        } else {
            false
        }
    })
}

fn is_part_file(name: &str) -> bool {
    name.starts_with("part-") && name.ends_with(".parquet")
}

fn is_bucket_dir(name: &str) -> bool {
    name.strip_prefix("bucket=")
        .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
}

// ---------------------------------------------------------------------------------------------
// What may be replaced.

/// Check that `out` may be replaced by an output of `kind`: absent, an empty folder, or a
/// complete caregap output of that kind and nothing else (see the module doc).
pub fn check_replaceable(out: &Path, kind: OutputKind) -> Result<(), OutputError> {
    let meta = match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(out)(e)),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return Err(OutputError::NotAnOutput(out.to_path_buf()));
    }
    let mut names: Vec<(String, bool)> = Vec::new();
    for e in fs::read_dir(out).map_err(io(out))?.flatten() {
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        names.push((e.file_name().to_string_lossy().to_string(), is_file));
    }
    if names.is_empty() {
        return Ok(());
    }
    let has = |n: &str| names.iter().any(|(m, f)| *f && m == n);
    let found = if has("run_manifest.json") {
        OutputKind::Run
    } else if has(caregap_scaleout::PARTIAL_FACTS) {
        OutputKind::Partial
    } else if has(caregap_ingest::partition::PARTITION_MANIFEST) {
        OutputKind::Partition
    } else {
        return Err(OutputError::NotAnOutput(out.to_path_buf()));
    };
    let foreign: Vec<String> = if found == OutputKind::Run {
        let Some(listed) = manifest_outputs(&out.join("run_manifest.json")) else {
            return Err(OutputError::NotAnOutput(out.to_path_buf()));
        };
        names
            .iter()
            .filter(|(n, f)| !(*f && (is_run_file(n) || listed.contains(n))))
            .map(|(n, _)| n.clone())
            .collect()
    } else if found == OutputKind::Partial {
        names
            .iter()
            .filter(|(n, f)| !(*f && is_partial_file(n)))
            .map(|(n, _)| n.clone())
            .collect()
    } else {
        let tables = table_names();
        names
            .iter()
            .filter(|(n, f)| {
                let ok = if *f {
                    n == caregap_ingest::partition::PARTITION_MANIFEST
                } else {
                    tables.contains(n.as_str()) && partition_table_is_caregap(&out.join(n))
                };
                !ok
            })
            .map(|(n, _)| n.clone())
            .collect()
    };
    if found != kind {
        return Err(OutputError::OtherKind {
            out: out.to_path_buf(),
            found,
            wanted: kind,
        });
    }
    if foreign.is_empty() {
        Ok(())
    } else {
        let mut files = foreign;
        files.sort();
        Err(OutputError::ForeignFiles {
            out: out.to_path_buf(),
            files,
        })
    }
}

/// The files a caregap `run_manifest.json` lists (`output_sha256`: `care_gaps` is
/// `care_gaps.parquet`, `report.html` itself); `None` if caregap did not write it.
fn manifest_outputs(path: &Path) -> Option<BTreeSet<String>> {
    let text = fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("caregap_version")?.as_str()?;
    let listed = v.get("output_sha256")?.as_object()?;
    Some(
        listed
            .keys()
            .filter(|k| !k.contains('/') && !k.starts_with('.'))
            .map(|k| {
                if k.contains('.') {
                    k.clone()
                } else {
                    format!("{k}.parquet")
                }
            })
            .collect(),
    )
}

/// A table folder of a bucketed input: `bucket=<i>/part-*.parquet` only.
fn partition_table_is_caregap(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().all(|b| {
        let name = b.file_name().to_string_lossy().to_string();
        b.file_type().is_ok_and(|t| t.is_dir())
            && is_bucket_dir(&name)
            && fs::read_dir(b.path()).is_ok_and(|parts| {
                parts.flatten().all(|p| {
                    p.file_type().is_ok_and(|t| t.is_file())
                        && is_part_file(&p.file_name().to_string_lossy())
                })
            })
    })
}

// ---------------------------------------------------------------------------------------------
// Staging and temporary folders.

/// A temporary folder beside an output (`.NAME.<kind>-PID`, with [`MARKER`]), registered for
/// removal on SIGTERM and SIGINT, and removed on drop.
#[derive(Debug)]
pub struct TempFolder {
    path: PathBuf,
    keep: bool,
    _registration: Registration,
}

impl TempFolder {
    /// A fresh temporary folder of `kind` (`partition`, …) for the output `out` (a stale one
    /// of this process id is removed first).
    pub fn new(out: &Path, kind: &str) -> Result<Self, OutputError> {
        let path = sibling(out, &format!("{kind}-{}", std::process::id()));
        let registration = Registration::new(&path);
        if fs::symlink_metadata(&path).is_ok() {
            fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        fs::create_dir_all(&path).map_err(io(&path))?;
        fs::write(path.join(MARKER), MARKER_TEXT).map_err(io(&path))?;
        Ok(TempFolder {
            path,
            keep: false,
            _registration: registration,
        })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

const MARKER_TEXT: &str =
    "A temporary folder of a caregap run. If no caregap run is alive, it is a leftover: \
the next run on this output removes it, and so may you.\n";

impl Drop for TempFolder {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A staging folder beside the output; removed on drop unless published.
#[derive(Debug)]
pub struct Staging {
    folder: TempFolder,
    /// The output it stages (names the fallback `previous` folder).
    out: PathBuf,
    kind: OutputKind,
}

impl Staging {
    /// A fresh staging folder for an output of `kind` at `out`, after checking that `out` may
    /// be replaced (see [`check_replaceable`]): a run that would be refused at the end stops
    /// at once.
    pub fn new(out: &Path, kind: OutputKind) -> Result<Self, OutputError> {
        check_replaceable(out, kind)?;
        Ok(Staging {
            folder: TempFolder::new(out, "staging")?,
            out: out.to_path_buf(),
            kind,
        })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.folder.path()
    }

    /// Move the staging folder to `target` (a symlink resolved to its target), replacing what
    /// is there in one step. No signal handler removes anything while this swaps.
    pub fn publish(mut self, target: &Path) -> Result<(), OutputError> {
        let target = resolve(target)?;
        let path = self.folder.path.clone();
        let exchanged = {
            let _no_signal_cleanup = live();
            check_replaceable(&target, self.kind)?;
            // The published output carries no marker.
            match fs::remove_file(path.join(MARKER)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
                _ => {}
            }
            if fs::symlink_metadata(&target).is_ok() {
                let old = sibling(&self.out, &format!("previous-{}", std::process::id()));
                exchange(&path, &target, &old)?;
                PUBLISHED.store(true, Ordering::SeqCst);
                true
            } else {
                fs::rename(&path, &target).map_err(io(&target))?;
                PUBLISHED.store(true, Ordering::SeqCst);
                self.folder.keep = true;
                false
            }
        };
        if exchanged {
            // The staging path now holds the previous output (still registered: a signal
            // now removes it, which is what we are doing).
            fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        self.folder.keep = true;
        Ok(())
    }
}

/// Swap two folders atomically where the OS can (Linux `RENAME_EXCHANGE`), else with renames
/// through `old`.
fn exchange(a: &Path, b: &Path, old: &Path) -> Result<(), OutputError> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok() {
            return Ok(());
        }
    }
    fs::rename(b, old).map_err(io(b))?;
    if let Err(e) = fs::rename(a, b) {
        let _ = fs::rename(old, b);
        return Err(OutputError::Io {
            path: b.to_path_buf(),
            source: e,
        });
    }
    fs::rename(old, a).map_err(io(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder that looks like a run's output, with the manifest caregap writes.
    fn fake_output(dir: &Path, tag: &str) {
        fs::create_dir_all(dir).unwrap();
        let manifest = serde_json::json!({
            "caregap_version": "0.1.0",
            "tag": tag,
            "output_sha256": {"care_gaps": "x", "worklist.csv": "y", "report.html": "z"},
        });
        fs::write(dir.join("run_manifest.json"), manifest.to_string()).unwrap();
        fs::write(dir.join("care_gaps.parquet"), tag).unwrap();
        fs::write(dir.join("report.html"), tag).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn publish_replaces_previous_output_and_leaves_nothing_behind() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fake_output(&out, "old");
        let s = Staging::new(&out, OutputKind::Run).unwrap();
        assert!(s.path().join(MARKER).is_file());
        fake_output(s.path(), "new");
        s.publish(&out).unwrap();
        assert_eq!(fs::read_to_string(out.join("report.html")).unwrap(), "new");
        assert!(
            !out.join(MARKER).exists(),
            "no marker in a published output"
        );
        assert_eq!(names(d.path()), vec!["out"]);
        assert!(
            !live().iter().any(|(_, p)| p.starts_with(d.path())),
            "nothing left registered"
        );
    }

    #[test]
    fn dropped_staging_leaves_previous_output_untouched() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fake_output(&out, "old");
        {
            let s = Staging::new(&out, OutputKind::Run).unwrap();
            fs::write(s.path().join("half.parquet"), "x").unwrap();
        }
        assert_eq!(fs::read_to_string(out.join("report.html")).unwrap(), "old");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn second_lock_fails_and_first_release_frees_it() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let a = OutputLock::acquire(&out).unwrap();
        let e = OutputLock::acquire(&out).unwrap_err();
        assert!(matches!(e, OutputError::Locked { .. }), "{e}");
        assert!(e.to_string().contains("another caregap run"));
        drop(a);
        OutputLock::acquire(&out).unwrap();
    }

    #[test]
    fn refuses_to_replace_a_folder_that_is_not_an_output() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("precious.txt"), "keep").unwrap();
        let e = Staging::new(d.path(), OutputKind::Run).unwrap_err();
        assert!(matches!(e, OutputError::NotAnOutput(_)));
        // A run_manifest.json caregap did not write is not an output either.
        let f = d.path().join("f");
        fs::create_dir(&f).unwrap();
        fs::write(f.join("run_manifest.json"), "{\"mine\": 1}").unwrap();
        let e = check_replaceable(&f, OutputKind::Run).unwrap_err();
        assert!(matches!(e, OutputError::NotAnOutput(_)), "{e}");
        // A file is never replaced.
        let e = check_replaceable(&d.path().join("precious.txt"), OutputKind::Run).unwrap_err();
        assert!(matches!(e, OutputError::NotAnOutput(_)), "{e}");
    }

    #[test]
    fn refuses_an_output_with_user_files_naming_them() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fake_output(&out, "old");
        fs::write(out.join("my_notes.txt"), "keep").unwrap();
        fs::create_dir(out.join("extracts")).unwrap();
        let e = Staging::new(&out, OutputKind::Run).unwrap_err();
        match &e {
            OutputError::ForeignFiles { files, .. } => {
                assert_eq!(
                    files,
                    &vec!["extracts".to_string(), "my_notes.txt".to_string()]
                )
            }
            _ => panic!("{e}"),
        }
        assert!(e.to_string().contains("my_notes.txt"), "{e}");
        assert_eq!(
            fs::read_to_string(out.join("my_notes.txt")).unwrap(),
            "keep"
        );
        // Every file the manifest lists, and no other, is caregap's.
        fs::remove_file(out.join("my_notes.txt")).unwrap();
        fs::remove_dir(out.join("extracts")).unwrap();
        fs::write(out.join("worklist.csv"), "x").unwrap();
        check_replaceable(&out, OutputKind::Run).unwrap();
    }

    #[test]
    fn partials_and_bucketed_inputs_are_outputs() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("partial");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("partial.json"), "{}").unwrap();
        fs::write(p.join("summary_counts.parquet"), "x").unwrap();
        check_replaceable(&p, OutputKind::Partial).unwrap();
        assert!(matches!(
            check_replaceable(&p, OutputKind::Run),
            Err(OutputError::OtherKind { .. })
        ));
        fs::write(p.join("notes.md"), "x").unwrap();
        assert!(matches!(
            check_replaceable(&p, OutputKind::Partial),
            Err(OutputError::ForeignFiles { .. })
        ));
        let b = d.path().join("bucketed");
        fs::create_dir_all(b.join("eligibility/bucket=0")).unwrap();
        fs::write(b.join("_partition.json"), "{}").unwrap();
        fs::write(b.join("eligibility/bucket=0/part-00000-00000.parquet"), "x").unwrap();
        check_replaceable(&b, OutputKind::Partition).unwrap();
        let e = check_replaceable(&b, OutputKind::Run).unwrap_err();
        assert!(e.to_string().contains("holds a bucketed input"), "{e}");
        fs::write(b.join("eligibility/bucket=0/mine.csv"), "x").unwrap();
        assert!(matches!(
            check_replaceable(&b, OutputKind::Partition),
            Err(OutputError::ForeignFiles { .. })
        ));
    }

    #[test]
    fn temporary_folders_are_registered_until_dropped() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("reg");
        let t = TempFolder::new(&out, "partition").unwrap();
        assert_eq!(
            t.path().file_name().unwrap().to_string_lossy(),
            format!(".reg.partition-{}", std::process::id())
        );
        assert!(t.path().join(MARKER).is_file());
        assert!(live().iter().any(|(_, p)| p == t.path()));
        let path = t.path().to_path_buf();
        drop(t);
        assert!(!path.exists());
        assert!(!live().iter().any(|(_, p)| *p == path));
    }

    #[test]
    fn the_lock_holder_removes_leftovers_of_killed_runs_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fake_output(&out, "old");
        // A killed run's staging folder (marker), a partition caught mid-removal (no marker,
        // only caregap's layout), a staging folder caught mid-swap (an output, no marker).
        let staging = d.path().join(".out.staging-99999");
        fs::create_dir(&staging).unwrap();
        fs::write(staging.join(MARKER), "").unwrap();
        fs::write(staging.join(".care_gaps.parquet.tmp-99999"), "x").unwrap();
        let partition = d.path().join(".out.partition-99998");
        fs::create_dir_all(partition.join("medical_claim/bucket=3")).unwrap();
        fs::write(
            partition.join("medical_claim/bucket=3/part-00000-00000.parquet"),
            "x",
        )
        .unwrap();
        let swapped = d.path().join(".out.previous-99997");
        fake_output(&swapped, "older");
        // Not ours: another output's leftovers, a user's folder that happens to match the
        // pattern, a name that is not a process id, a symlink.
        let other = d.path().join(".other.staging-99999");
        fs::create_dir(&other).unwrap();
        fs::write(other.join(MARKER), "").unwrap();
        let users = d.path().join(".out.staging-12345");
        fs::create_dir(&users).unwrap();
        fs::write(users.join("thesis.docx"), "x").unwrap();
        let odd = d.path().join(".out.staging-old");
        fs::create_dir(&odd).unwrap();
        fs::write(odd.join(MARKER), "").unwrap();
        let target = d.path().join("elsewhere");
        fs::create_dir(&target).unwrap();
        fs::write(target.join(MARKER), "").unwrap();
        std::os::unix::fs::symlink(&target, d.path().join(".out.partition-4")).unwrap();

        let lock = OutputLock::acquire(&out).unwrap();
        assert_eq!(
            lock.removed_leftovers().len(),
            3,
            "{:?}",
            lock.removed_leftovers()
        );
        assert!(!staging.exists() && !partition.exists() && !swapped.exists());
        for kept in [&other, &users, &odd, &target, &out] {
            assert!(kept.exists(), "{} kept", kept.display());
        }
        assert!(d.path().join(".out.partition-4").exists());
        // A second holder finds nothing more to remove.
        drop(lock);
        assert!(OutputLock::acquire(&out)
            .unwrap()
            .removed_leftovers()
            .is_empty());
    }

    #[test]
    fn a_symlinked_output_is_locked_and_replaced_as_its_target() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("runs/2025");
        fake_output(&real, "old");
        let link = d.path().join("current");
        std::os::unix::fs::symlink("runs/2025", &link).unwrap();
        let lock = OutputLock::acquire(&link).unwrap();
        assert_eq!(lock.out(), real.as_path());
        // The target's lock is the one taken: a run aimed at the target directly is refused.
        assert!(matches!(
            OutputLock::acquire(&real),
            Err(OutputError::Locked { .. })
        ));
        let s = Staging::new(lock.out(), OutputKind::Run).unwrap();
        assert_eq!(s.path().parent().unwrap(), d.path().join("runs"));
        fake_output(s.path(), "new");
        s.publish(&link).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_link(&link).unwrap(), PathBuf::from("runs/2025"));
        assert_eq!(fs::read_to_string(link.join("report.html")).unwrap(), "new");
        // A dangling link is followed too: its target is created.
        let dangling = d.path().join("next");
        std::os::unix::fs::symlink(d.path().join("runs/2026"), &dangling).unwrap();
        assert_eq!(resolve(&dangling).unwrap(), d.path().join("runs/2026"));
        // A loop is an error, not a hang.
        std::os::unix::fs::symlink("loop", d.path().join("loop")).unwrap();
        assert!(matches!(
            resolve(&d.path().join("loop")),
            Err(OutputError::SymlinkLoop(_))
        ));
    }
}
