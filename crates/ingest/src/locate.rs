//! Locating a table's files: where an input folder keeps each table, in which formats, in
//! which order.
//!
//! A table is one file (`T.csv`, `T.parquet`, and the other endings of
//! [`crate::shapes::table_file_names`]: `.csv.gz`, `.tsv`, any case) or a folder of part files
//! (`T/*.csv`, `T/*.parquet`, …, read in file-name order); both at once is ambiguous, and a
//! name taken by something that is not a regular file is an error. A bucketed layout keeps
//! bucket `i` of a table in `T/bucket=<i>/*.parquet` ([`bucket_dir`]).
//!
//! Nothing here opens a file's contents.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::IngestError;
use crate::layer::Layout;
use crate::schema::TableSpec;
use crate::shapes::{self, file_format, Format};
use crate::structure::{self, EntryKind};

/// The folder of bucket `i` of a table.
pub fn bucket_dir(root: &Path, table: &str, i: u32) -> PathBuf {
    root.join(table).join(format!("bucket={i}"))
}

/// The files of table `spec` in `dir` laid out as `layout`, in read order; `None` when an
/// optional table is absent, an error when a required one is.
pub(crate) fn table_files(
    dir: &Path,
    spec: &TableSpec,
    layout: Layout,
) -> Result<Option<Vec<PathBuf>>, IngestError> {
    let paths = locate_in(dir, spec.name, layout)?;
    if !paths.is_empty() {
        return Ok(Some(paths));
    }
    if spec.required {
        return Err(IngestError::MissingTable {
            table: spec.name.to_string(),
            dir: dir.to_path_buf(),
        });
    }
    Ok(None)
}

/// The files of one table, in read order; empty when the table is absent.
///
/// A name caregap reads (`T.csv`, `T/part-1.parquet`) taken by something that is not a regular
/// file (a FIFO, a socket, a folder, a broken link) is an error, never a table silently absent.
pub fn locate_table(dir: &Path, table: &str) -> Result<Vec<PathBuf>, IngestError> {
    let not_a_file = |p: &Path, what: &'static str| IngestError::NotAFile {
        table: table.to_string(),
        path: p.to_path_buf(),
        what,
    };
    let mut found = Vec::new();
    for name in shapes::table_file_names(table) {
        let p = dir.join(name);
        match structure::entry_kind(&p) {
            EntryKind::File => found.push(p),
            EntryKind::Absent => {}
            EntryKind::Dir => return Err(not_a_file(&p, "a folder")),
            EntryKind::Other(what) => return Err(not_a_file(&p, what)),
        }
    }
    let folder = dir.join(table);
    if folder.is_dir() {
        let mut parts = Vec::new();
        let entries = fs::read_dir(&folder).map_err(|e| IngestError::Io {
            path: folder.clone(),
            source: e,
        })?;
        for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if file_format(&p).is_none() {
                continue;
            }
            match structure::entry_kind(&p) {
                EntryKind::File => parts.push(p),
                EntryKind::Absent => {}
                EntryKind::Dir => return Err(not_a_file(&p, "a folder")),
                EntryKind::Other(what) => return Err(not_a_file(&p, what)),
            }
        }
        parts.sort();
        if !found.is_empty() && !parts.is_empty() {
            return Err(IngestError::Ambiguous {
                table: table.to_string(),
                first: relative(dir, &found[0]),
                second: relative(dir, &folder),
            });
        }
        found.extend(parts);
    }
    if found.len() >= 2 && found.iter().all(|p| p.parent() == Some(dir)) {
        return Err(IngestError::Ambiguous {
            table: table.to_string(),
            first: relative(dir, &found[0]),
            second: relative(dir, &found[1]),
        });
    }
    Ok(found)
}

pub(crate) fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The files of one table in a layout, in read order.
pub(crate) fn locate_in(
    dir: &Path,
    table: &str,
    layout: Layout,
) -> Result<Vec<PathBuf>, IngestError> {
    let parquet_in = |folder: &Path| -> Result<Vec<PathBuf>, IngestError> {
        if !folder.is_dir() {
            return Ok(vec![]);
        }
        let mut v: Vec<PathBuf> = fs::read_dir(folder)
            .map_err(|e| IngestError::Io {
                path: folder.to_path_buf(),
                source: e,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && file_format(p) == Some(Format::Parquet))
            .collect();
        v.sort();
        Ok(v)
    };
    match layout {
        Layout::Flat => locate_table(dir, table),
        Layout::Bucket(i) => parquet_in(&bucket_dir(dir, table, i)),
        Layout::AllBuckets => {
            let folder = dir.join(table);
            if !folder.is_dir() {
                return Ok(vec![]);
            }
            let mut buckets: Vec<PathBuf> = fs::read_dir(&folder)
                .map_err(|e| IngestError::Io {
                    path: folder.clone(),
                    source: e,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("bucket="))
                })
                .collect();
            buckets.sort();
            let mut out = Vec::new();
            for b in buckets {
                out.extend(parquet_in(&b)?);
            }
            Ok(out)
        }
    }
}
