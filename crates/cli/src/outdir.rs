//! Atomic, exclusive output folders for scheduled runs.
//!
//! A run takes an exclusive lock (`.NAME.lock` beside the output folder, an OS file lock that
//! dies with the process), writes every output into a staging folder beside the output
//! (`.NAME.staging-PID`), and only when all of them are complete swaps it into place: on Linux
//! with one atomic `renameat2(RENAME_EXCHANGE)`, elsewhere with two renames. A failed or killed
//! run leaves the previous output untouched; a second run aimed at the same folder fails at
//! once with a clear message.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// Why the output folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Another run holds the lock.
    #[error("another caregap run is writing to {out} (lock {lock} is held); this run stops without touching it")]
    Locked { out: PathBuf, lock: PathBuf },
    /// The folder exists but is not a caregap output: never replace someone's files.
    #[error("output folder {0} exists and is not a caregap output (no run_manifest.json); refusing to replace it")]
    NotAnOutput(PathBuf),
    /// An operating-system error on a path (not writable, disk full…).
    #[error("cannot write output folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    out.with_file_name(format!(".{name}.{suffix}"))
}

/// The exclusive lock on an output folder, held for the life of the value.
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
}

impl OutputLock {
    pub fn acquire(out: &Path) -> Result<Self, OutputError> {
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io(parent))?;
        let lock = sibling(out, "lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io(&lock))?;
        match file.try_lock() {
            Ok(()) => Ok(OutputLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(OutputError::Locked {
                out: out.to_path_buf(),
                lock,
            }),
            Err(fs::TryLockError::Error(e)) => Err(OutputError::Io {
                path: lock,
                source: e,
            }),
        }
    }
}

/// A staging folder beside the output; removed on drop unless published.
#[derive(Debug)]
pub struct Staging {
    path: PathBuf,
    published: bool,
}

impl Staging {
    /// A fresh staging folder for `out` (a stale one of this process id is removed first).
    pub fn new(out: &Path) -> Result<Self, OutputError> {
        if out.exists() && !(out.is_dir() && (is_output(out) || is_empty(out))) {
            return Err(OutputError::NotAnOutput(out.to_path_buf()));
        }
        let path = sibling(out, &format!("staging-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        fs::create_dir_all(&path).map_err(io(&path))?;
        Ok(Staging {
            path,
            published: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Move the staging folder to `target`, replacing what is there in one step.
    pub fn publish(mut self, target: &Path) -> Result<(), OutputError> {
        if target.exists() {
            if !(is_output(target) || is_empty(target)) {
                return Err(OutputError::NotAnOutput(target.to_path_buf()));
            }
            exchange(&self.path, target)?;
            // The staging path now holds the previous output.
            fs::remove_dir_all(&self.path).map_err(io(&self.path))?;
        } else {
            fs::rename(&self.path, target).map_err(io(target))?;
        }
        self.published = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A folder caregap wrote: a run's output (`run_manifest.json`) or a bucket's partial
/// (`partial.json`).
fn is_output(dir: &Path) -> bool {
    dir.join("run_manifest.json").exists() || dir.join(crate::partial::PARTIAL_FACTS).exists()
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

/// Swap two folders atomically where the OS can (Linux `RENAME_EXCHANGE`), else with renames.
fn exchange(a: &Path, b: &Path) -> Result<(), OutputError> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok() {
            return Ok(());
        }
    }
    let old = sibling(b, &format!("previous-{}", std::process::id()));
    fs::rename(b, &old).map_err(io(b))?;
    if let Err(e) = fs::rename(a, b) {
        let _ = fs::rename(&old, b);
        return Err(OutputError::Io {
            path: b.to_path_buf(),
            source: e,
        });
    }
    fs::rename(&old, a).map_err(io(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_replaces_previous_output_and_leaves_nothing_behind() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("run_manifest.json"), "old").unwrap();
        let s = Staging::new(&out).unwrap();
        fs::write(s.path().join("run_manifest.json"), "new").unwrap();
        s.publish(&out).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("run_manifest.json")).unwrap(),
            "new"
        );
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn dropped_staging_leaves_previous_output_untouched() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("run_manifest.json"), "old").unwrap();
        {
            let s = Staging::new(&out).unwrap();
            fs::write(s.path().join("half.parquet"), "x").unwrap();
        }
        assert_eq!(
            fs::read_to_string(out.join("run_manifest.json")).unwrap(),
            "old"
        );
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
        let e = Staging::new(d.path()).unwrap_err();
        assert!(matches!(e, OutputError::NotAnOutput(_)));
    }
}
