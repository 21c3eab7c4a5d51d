//! Sources: where a read takes each table's rows from.
//!
//! - [`flat`]: an ordinary input folder, every row of every file (the whole input);
//! - [`partition`]: one bucket (or all) of a hash-partitioned layout, which it also writes;
//! - [`ranges`]: one person-id range of an input read in place, which it also plans.
//!
//! This module holds what they share: scanning one file with every spec column as text (or
//! native), its rows numbered as a whole run numbers them (`__file`, `__row`), and handing the
//! scanned rows to [`crate::check`].

pub mod flat;
pub mod partition;
pub mod ranges;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::check::normalise::{map_text, norm_id};
use crate::check::{
    check_table, check_unchanged, damaged_or_io, digest_file, inspect, ColumnFacts,
};
use crate::error::IngestError;
use crate::layer::{SourceFile, Table, SOURCE_FILE_INDEX, SOURCE_ROW};
use crate::locate::relative;
use crate::schema::{dtype_of, Kind, TableSpec, PERSON_ID_ALIAS};
use crate::shapes::{self, file_format, Format};
use crate::structure;

/// Scan one file as it is (CSV: every column as text; Parquet: its own types); `true` for CSV.
pub(crate) fn scan_raw(
    dir: &Path,
    spec: &TableSpec,
    path: &Path,
) -> Result<(LazyFrame, bool), IngestError> {
    let rel = relative(dir, path);
    let unreadable = |e: PolarsError| IngestError::unreadable(spec.name, &rel, &e);
    let io = |e| IngestError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let meta = fs::metadata(path).map_err(io)?;
    if meta.len() == 0 {
        return Err(IngestError::EmptyFile {
            table: spec.name.to_string(),
            file: rel,
        });
    }
    let format = file_format(path).unwrap_or(Format::Parquet);
    let malformed = |problem| IngestError::Malformed {
        table: spec.name.to_string(),
        file: rel.clone(),
        problem,
    };
    if let Some(problem) = structure::check_magic(path, format).map_err(io)? {
        return Err(malformed(problem));
    }
    if let Format::Csv(sep) = format {
        // polars reads a header that is not UTF-8 lossily and renames a second copy of a name
        // `…_duplicated_0`: both would pass unnoticed.
        let names = structure::header_of(path, sep)
            .map_err(|e| damaged_or_io(dir, spec, path, e))?
            .map_err(malformed)?;
        let (canon, alias) = PERSON_ID_ALIAS;
        let mut sorted: Vec<&String> = names.iter().collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| {
            w[0] == w[1] && (spec.column(w[0]).is_some() || *w[0] == canon || *w[0] == alias)
        }) {
            return Err(IngestError::DuplicateColumn {
                table: spec.name.to_string(),
                file: rel,
                column: w[0].clone(),
            });
        }
    }
    let pl_path = PlRefPath::new(path.to_string_lossy().as_ref());
    Ok(match file_format(path) {
        Some(Format::Csv(separator)) => (
            LazyCsvReader::new(pl_path)
                .with_has_header(true)
                .with_separator(separator)
                .with_infer_schema_length(Some(0))
                .with_missing_is_null(true)
                .finish()
                .map_err(unreadable)?,
            true,
        ),
        _ => (
            LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()).map_err(unreadable)?,
            false,
        ),
    })
}

/// The person id column `pid` of a raw scan as the id a run reads (a number stored as
/// `10133.0` is `10133`; `" A1 "` is `A1`; blank is null): what person ranges and hash buckets
/// are cut on, so that a person's rows meet in one bucket whatever type each file stores the
/// id as and however it is padded.
pub(crate) fn person_id_text(raw: &mut LazyFrame, pid: &str) -> PolarsResult<Expr> {
    let schema = raw.collect_schema()?;
    let text = match schema.get(pid) {
        Some(dt) => shapes::text_expr(pid, Kind::Id, dt),
        None => col(pid).cast(DataType::String),
    };
    Ok(map_text(text, norm_id).alias(pid))
}

/// A file's facts as a run records them (schema checked, SHA-256 of its bytes).
pub(crate) fn source_file_info(
    dir: &Path,
    spec: &TableSpec,
    path: &Path,
) -> Result<SourceFile, IngestError> {
    let (lf, _) = scan_raw(dir, spec, path)?;
    let (_, mut sf, _) = inspect(dir, spec, path, lf)?;
    let d = digest_file(dir, spec, path)?;
    sf.sha256 = d.sha256;
    sf.stamp = d.stamp;
    Ok(sf)
}

/// Scan one file with every spec column as text, aliases resolved, schema checked. A file of
/// a bucketed layout names its rows' original file and row (`_source_file_index`, `_source_row`).
/// With `hash`, the SHA-256 of an ordinary file is taken for the run manifest.
pub(crate) fn scan_file(
    dir: &Path,
    spec: &TableSpec,
    path: &Path,
    facts: &ColumnFacts,
    index: usize,
    hash: bool,
) -> Result<(LazyFrame, SourceFile), IngestError> {
    let (lf, _) = scan_raw(dir, spec, path)?;
    let (lf, mut sf, stored) = inspect(dir, spec, path, lf)?;
    let has = |c: &str| sf.columns_present.contains(&c);
    // The file as an index (into the table's files, or the partition manifest's list for a
    // bucketed layout): a per-row text column would cost gigabytes at state scale.
    let origin = if sf.bucketed {
        vec![
            col(SOURCE_FILE_INDEX).cast(DataType::Int32).alias("__file"),
            col(SOURCE_ROW).cast(DataType::Int64).alias("__row"),
        ]
    } else {
        vec![lit(index as i32).alias("__file")]
    };
    let exprs: Vec<Expr> = spec
        .columns
        .iter()
        .map(|c| {
            let native = facts.native.contains(c.name);
            match stored.get(c.name).filter(|_| has(c.name)) {
                Some(dt) if native => shapes::native_expr(c.name, c.kind, dt),
                Some(dt) => shapes::text_expr(c.name, c.kind, dt),
                None if native => lit(NULL).cast(dtype_of(c.kind)).alias(c.name),
                None => lit(NULL).cast(DataType::String).alias(c.name),
            }
        })
        .chain(facts.fractional.iter().map(|&c| {
            let flag = match stored
                .get(c)
                .filter(|dt| has(c) && shapes::is_fractional(dt))
            {
                Some(dt) => shapes::fraction_expr(c, spec.column(c).expect("spec column").kind, dt),
                None => lit(false),
            };
            flag.alias(format!("__fx_{c}"))
        }))
        .chain(origin)
        .collect();
    let lf = lf.select(exprs);
    if hash && !sf.bucketed {
        let d = digest_file(dir, spec, path)?;
        sf.sha256 = d.sha256;
        sf.stamp = d.stamp;
    }
    Ok((lf, sf))
}

/// The [`ColumnFacts`] of a table's files.
pub(crate) fn column_facts(
    dir: &Path,
    spec: &TableSpec,
    paths: &[PathBuf],
) -> Result<ColumnFacts, IngestError> {
    let mut schemas = Vec::new();
    let mut present = BTreeSet::new();
    for path in paths {
        let (lf, _) = scan_raw(dir, spec, path)?;
        let (_, sf, schema) = inspect(dir, spec, path, lf)?;
        present.extend(sf.columns_present.iter().copied());
        schemas.push((schema, sf.columns_present));
    }
    let stored = |c: &str| -> Vec<&DataType> {
        schemas
            .iter()
            .filter(|(_, has)| has.contains(&c))
            .filter_map(|(s, _)| s.get(c))
            .collect()
    };
    let native = spec
        .columns
        .iter()
        .filter(|c| {
            let dts = stored(c.name);
            !dts.is_empty() && dts.iter().all(|dt| shapes::is_native(c.kind, dt))
        })
        .map(|c| c.name)
        .collect();
    let fractional = spec
        .columns
        .iter()
        .filter(|c| dtype_of(c.kind) == DataType::String)
        .filter(|c| stored(c.name).iter().any(|dt| shapes::is_fractional(dt)))
        .map(|c| c.name)
        .collect();
    Ok(ColumnFacts {
        native,
        present,
        fractional,
    })
}

/// Whether the `__row` numbers of a bucketed read are strictly increasing (reads that one
/// column only).
fn in_original_order(raw: &LazyFrame) -> Result<bool, IngestError> {
    let rows = raw.clone().select([col("__row")]).collect()?;
    let rows = rows.column("__row")?.i64()?;
    let mut prev = i64::MIN;
    for r in rows.iter() {
        match r {
            Some(r) if r > prev => prev = r,
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// A union of pieces of files whose rows carry their own `__file` and `__row`, in the order
/// a whole run reads them. With `known`, the caller guarantees that order and it is not
/// checked (the check reads the rows once more).
pub(crate) fn in_order(raw: LazyFrame, known: bool) -> Result<LazyFrame, IngestError> {
    // An unused row index: without it polars 0.55 holds far more memory while it
    // evaluates the checks over a union of many files (measured on one bucket of 143,000
    // persons from 20 source files: 18.7 GB peak and 9–20 s without, 5.0 GB and 3–8 s
    // with).
    let raw = raw.with_row_index("__seq", Some(1));
    // Rows must be in their original order so that "first copy wins" picks the row a
    // whole run picks. `caregap partition`, the Spark driver and person ranges give them so;
    // anything else (all buckets read together, other writers) is sorted, which is slow on
    // large tables (a full gather of every column).
    Ok(if known || in_original_order(&raw)? {
        raw
    } else {
        raw.sort(["__row"], Default::default())
    })
}

/// A table's files scanned in read order and concatenated, ready for the checks.
pub(crate) struct Scanned {
    raw: LazyFrame,
    files: Vec<SourceFile>,
    facts: ColumnFacts,
    /// The files are of a bucketed layout (their rows carry their original file and row).
    bucketed: bool,
}

/// Scan every file of a table (`paths`, in read order): rows numbered across the files, or,
/// for files of a bucketed layout, by the original row each carries.
pub(crate) fn scan_files(
    dir: &Path,
    spec: &TableSpec,
    paths: &[PathBuf],
) -> Result<Scanned, IngestError> {
    let facts = column_facts(dir, spec, paths)?;
    let mut frames = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        let (lf, sf) = scan_file(dir, spec, path, &facts, frames.len(), true)?;
        frames.push(lf);
        files.push(sf);
    }
    let bucketed = files.iter().filter(|f| f.bucketed).count();
    if bucketed != 0 && bucketed != files.len() {
        return Err(IngestError::Unreadable {
            table: spec.name.to_string(),
            file: files[0].relative.clone(),
            message: "some files of this table have the `_source_file_index`/`_source_row` columns of a bucketed layout and others do not".into(),
        });
    }
    let raw = concat(frames, UnionArgs::default())?;
    let raw = if bucketed == 0 {
        raw.with_row_index("__row", Some(1))
    } else {
        in_order(raw, false)?
    };
    Ok(Scanned {
        raw,
        files,
        facts,
        bucketed: bucketed != 0,
    })
}

/// Check a scanned table: the accepted rows and the rejects. Rows of a bucketed layout name
/// their original files, which `original` lists (from the partition manifest) in place of the
/// bucket's pieces; the files of any other read must not have changed while they were read.
pub(crate) fn check_scanned(
    spec: &TableSpec,
    scanned: Scanned,
    original: impl FnOnce() -> Vec<SourceFile>,
) -> Result<(Table, DataFrame), IngestError> {
    let Scanned {
        raw,
        files,
        facts,
        bucketed,
    } = scanned;
    let files = if bucketed { original() } else { files };
    let out = check_table(spec, raw, files, &facts)?;
    if !bucketed {
        for f in &out.0.files {
            check_unchanged(spec, &f.relative, &f.path, f.stamp)?;
        }
    }
    Ok(out)
}
