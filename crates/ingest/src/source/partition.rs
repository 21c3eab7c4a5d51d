//! Person buckets: the layout that lets one input be processed in pieces that merge exactly.
//!
//! A person's bucket is `pmod(xxhash64(person_id), N)`, exactly as Spark computes
//! `pmod(xxhash64(person_id), N)`: XXH64 with seed 42 over the UTF-8 bytes of the id, read as
//! a signed 64-bit integer, then the non-negative remainder. A null id hashes to the seed
//! itself (Spark's rule), so rows without a person go to bucket `pmod(42, N)` and are
//! rejected there as they would be in a whole run.
//!
//! [`partition`] writes an input folder as `<table>/bucket=<i>/part-*.parquet`, every original
//! column unchanged plus two columns that keep where each row came from: `_source_file_index`
//! (the index of its file in the table's file list in `_partition.json`, which holds the path
//! relative to the input folder) and `_source_row` (its 1-based row number counted across the
//! table's files, as a whole run counts it). Rejects of a bucket run therefore name
//! the original file and row. `_partition.json` records the number of buckets and every
//! original file (rows, SHA-256, column aliases) for the run manifest. Every bucket gets a file
//! for every table present, empty if need be, so that no bucket mistakes a table for absent.
//!
//! Row order inside a bucket is the original order (files in read order, rows in file order),
//! so "first copy wins" duplicate checks pick the same row as a whole run. A duplicate key
//! whose copies belong to different persons lands in different buckets and is not caught:
//! keys of the input layer (claim and line, person and span) belong to one person.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::check::{check_unchanged, empty_rejects};
use crate::error::{guarded, IngestError};
use crate::layer::{absent_table, Layout, SourceFile, Table};
use crate::locate::table_files;
use crate::schema::{self, TableSpec};
use crate::source::{check_scanned, person_id_text, scan_files, scan_raw, source_file_info};
use crate::structure::Stamp;
// The names of a bucketed layout, where every source and check finds them.
pub use crate::layer::{PARTITION_MANIFEST, SOURCE_FILE_INDEX, SOURCE_ROW};
pub use crate::locate::bucket_dir;

/// Spark's seed for `xxhash64`.
pub const SPARK_XXHASH64_SEED: u64 = 42;

/// Spark's `xxhash64(s)` of a string (seed 42), as the signed value Spark returns.
pub fn spark_xxhash64(s: Option<&str>) -> i64 {
    match s {
        Some(s) => xxhash_rust::xxh64::xxh64(s.as_bytes(), SPARK_XXHASH64_SEED) as i64,
        None => SPARK_XXHASH64_SEED as i64,
    }
}

/// Spark's `pmod(xxhash64(person_id), n)`.
pub fn bucket_of(person_id: Option<&str>, n: u32) -> u32 {
    spark_xxhash64(person_id).rem_euclid(n as i64) as u32
}

/// One original file of a table, as recorded in `_partition.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceRecord {
    /// The file, relative to the input folder.
    pub file: String,
    /// Rows read from it.
    pub rows: usize,
    /// Its SHA-256.
    pub sha256: String,
    /// Columns read under another name → the name caregap uses.
    pub column_aliases: BTreeMap<String, String>,
}

/// `_partition.json`: how an input folder was bucketed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartitionManifest {
    /// The number of buckets.
    pub buckets: u32,
    /// Always `pmod(xxhash64(person_id), buckets)` (Spark's, seed 42).
    pub hash: String,
    /// Table → its original files, in read order (absent tables are not listed).
    pub tables: BTreeMap<String, Vec<SourceRecord>>,
}

impl PartitionManifest {
    /// The manifest of a partition folder, or none when `dir` is not one.
    pub fn read(dir: &Path) -> Result<Option<Self>, IngestError> {
        let p = dir.join(PARTITION_MANIFEST);
        if !p.is_file() {
            return Ok(None);
        }
        let text = fs::read_to_string(&p).map_err(|e| IngestError::Io {
            path: p.clone(),
            source: e,
        })?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| IngestError::Unreadable {
                table: PARTITION_MANIFEST.into(),
                file: p.display().to_string(),
                message: e.to_string(),
            })
    }
}

/// The partition manifest of the bucketed layout `dir`, for a read of `layout` (a bucket it
/// has, or all of them).
pub(crate) fn manifest_for(dir: &Path, layout: Layout) -> Result<PartitionManifest, IngestError> {
    let pm = PartitionManifest::read(dir)?.ok_or_else(|| IngestError::Unreadable {
        table: PARTITION_MANIFEST.into(),
        file: dir.join(PARTITION_MANIFEST).display().to_string(),
        message: "a bucketed input needs the partition manifest written by `caregap partition` (or the Spark driver)".into(),
    })?;
    if let Layout::Bucket(i) = layout {
        if i >= pm.buckets {
            return Err(IngestError::Unreadable {
                table: PARTITION_MANIFEST.into(),
                file: dir.join(PARTITION_MANIFEST).display().to_string(),
                message: format!(
                    "bucket {i} asked for, the input has buckets 0..{}",
                    pm.buckets
                ),
            });
        }
    }
    Ok(pm)
}

/// Read and check table `spec` of bucket `layout` (or all buckets) of the bucketed layout
/// `dir`: rows in their original order, files and rows named as a whole run names them.
pub(crate) fn read_table(
    dir: &Path,
    spec: &TableSpec,
    layout: Layout,
    pm: &PartitionManifest,
) -> Result<(Table, DataFrame), IngestError> {
    let Some(paths) = table_files(dir, spec, layout)? else {
        return Ok((absent_table(spec), empty_rejects()));
    };
    let scanned = scan_files(dir, spec, &paths)?;
    // The manifest names the original files, not the bucket's pieces of them.
    check_scanned(spec, scanned, || {
        pm.tables
            .get(spec.name)
            .map(|recs| {
                recs.iter()
                    .map(|r| SourceFile {
                        relative: r.file.clone(),
                        path: dir.join(&r.file),
                        rows: 0,
                        sha256: r.sha256.clone(),
                        column_aliases: r.column_aliases.clone(),
                        columns_present: vec![],
                        bucketed: true,
                        stamp: Stamp::default(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Rows read per slice of a Parquet file (bounds memory on huge files).
const SLICE_ROWS: usize = 1 << 21;

/// Add the bucket of every row (`__bucket`, UInt32) from the person id column `pid`.
fn with_bucket(df: &DataFrame, pid: &str, n: u32) -> PolarsResult<DataFrame> {
    let mut lf = df.select([pid])?.lazy();
    let text = person_id_text(&mut lf, pid)?;
    let ids = lf.select([text]).collect()?;
    let ids = ids.column(pid)?.str()?;
    let b: Vec<u32> = ids.iter().map(|s| bucket_of(s, n)).collect();
    let mut out = df.clone();
    out.with_column(Column::new("__bucket".into(), b))?;
    Ok(out)
}

fn write_part(df: &mut DataFrame, path: &Path) -> Result<(), IngestError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| IngestError::Io {
            path: parent.to_path_buf(),
            source: e,
        })?;
    }
    let tmp = path.with_extension("parquet.tmp");
    let io = |e| IngestError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = fs::File::create(&tmp).map_err(io)?;
    // LZ4, no statistics: a quarter faster than zstd to write (measured at 1,000,000 persons:
    // 42 s -> 32 s), and these files are read once or twice. (Files in parallel were no
    // faster on 2 cores and took 14 GB instead of 2.)
    crate::portable::portable_writer(&mut f, df)
        .with_compression(ParquetCompression::Lz4Raw)
        .with_statistics(StatisticsOptions::empty())
        .finish(df)?;
    fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

/// What [`partition`] did.
#[derive(Debug, Clone)]
pub struct PartitionSummary {
    /// The partition's manifest.
    pub manifest: PartitionManifest,
    /// Table → rows written per bucket.
    pub rows_per_bucket: BTreeMap<String, Vec<usize>>,
}

/// Write the input folder `input` bucketed by person into `out` (which must not exist or be
/// empty). Schema errors stop it exactly as they would stop a run; row-level problems are
/// left for the bucket runs to reject.
pub fn partition(input: &Path, out: &Path, n: u32) -> Result<PartitionSummary, IngestError> {
    assert!(n > 0, "at least one bucket");
    if !input.is_dir() {
        return Err(IngestError::InputDirMissing(input.to_path_buf()));
    }
    fs::create_dir_all(out).map_err(|e| IngestError::Io {
        path: out.to_path_buf(),
        source: e,
    })?;
    let mut manifest = PartitionManifest {
        buckets: n,
        hash: "pmod(xxhash64(person_id), buckets), Spark's XXH64 with seed 42".into(),
        tables: BTreeMap::new(),
    };
    let mut rows_per_bucket = BTreeMap::new();
    for spec in schema::all_tables() {
        let Some(paths) = table_files(input, &spec, Layout::Flat)? else {
            continue;
        };
        let mut records = Vec::new();
        let mut counts = vec![0usize; n as usize];
        let mut offset = 0usize;
        let mut empty_schema: Option<DataFrame> = None;
        for (fi, path) in paths.iter().enumerate() {
            // Schema checks and file facts exactly as a run makes them.
            let info = source_file_info(input, &spec, path)?;
            let (raw, csv) = scan_raw(input, &spec, path)?;
            let pid = info.person_id_column();
            let mut rows = 0usize;
            let mut slice = 0usize;
            loop {
                if csv && slice > 0 {
                    break;
                }
                let df = guarded(spec.name, &info.relative, || {
                    if csv {
                        raw.clone().collect()
                    } else {
                        raw.clone()
                            .slice(rows as i64, SLICE_ROWS as IdxSize)
                            .collect()
                    }
                })?;
                let h = df.height();
                if h == 0 {
                    if empty_schema.is_none() {
                        empty_schema = Some(df.clone());
                    }
                    break;
                }
                let first = (offset + rows + 1) as i64;
                let mut df = df;
                df.with_column(Column::new(SOURCE_FILE_INDEX.into(), vec![fi as i32; h]))?;
                df.with_column(Column::new(
                    SOURCE_ROW.into(),
                    (first..first + h as i64).collect::<Vec<i64>>(),
                ))?;
                if empty_schema.is_none() {
                    empty_schema = Some(df.clear());
                }
                let with_b = with_bucket(&df, pid, n)?;
                let mut parts = Vec::new();
                for mut part in with_b.partition_by_stable(["__bucket"], true)? {
                    let b = part.column("__bucket")?.u32()?.get(0).unwrap_or(0);
                    counts[b as usize] += part.height();
                    let _ = part.drop_in_place("__bucket")?;
                    parts.push((b, part));
                }
                // The buckets of one slice are encoded side by side: the slice is already in
                // memory, and one Parquet encode does not keep two cores busy.
                parts
                    .into_par_iter()
                    .map(|(b, mut part)| {
                        let file = bucket_dir(out, spec.name, b)
                            .join(format!("part-{fi:05}-{slice:05}.parquet"));
                        write_part(&mut part, &file)
                    })
                    .collect::<Result<Vec<()>, IngestError>>()?;
                rows += h;
                slice += 1;
                if csv || h < SLICE_ROWS {
                    break;
                }
            }
            // The rows written are the bytes whose SHA-256 the manifest records, or an error.
            check_unchanged(&spec, &info.relative, path, info.stamp)?;
            offset += rows;
            records.push(SourceRecord {
                file: info.relative.clone(),
                rows,
                sha256: info.sha256.clone(),
                column_aliases: info.column_aliases.clone(),
            });
        }
        // Every bucket has the table, if only as an empty file.
        let mut empty = empty_schema.expect("a table with files has a schema");
        if empty.column(SOURCE_FILE_INDEX).is_err() {
            empty.with_column(Column::new_empty(
                SOURCE_FILE_INDEX.into(),
                &DataType::Int32,
            ))?;
            empty.with_column(Column::new_empty(SOURCE_ROW.into(), &DataType::Int64))?;
        }
        for (b, &c) in counts.iter().enumerate() {
            if c == 0 {
                let file = bucket_dir(out, spec.name, b as u32).join("part-empty.parquet");
                write_part(&mut empty.clone(), &file)?;
            }
        }
        manifest.tables.insert(spec.name.to_string(), records);
        rows_per_bucket.insert(spec.name.to_string(), counts);
    }
    let json = serde_json::to_vec_pretty(&manifest).expect("serialisable");
    let p = out.join(PARTITION_MANIFEST);
    fs::write(&p, json).map_err(|e| IngestError::Io { path: p, source: e })?;
    Ok(PartitionSummary {
        manifest,
        rows_per_bucket,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_id_hashes_to_the_seed() {
        assert_eq!(spark_xxhash64(None), 42);
        assert_eq!(bucket_of(None, 8), 2);
    }

    #[test]
    fn pmod_is_never_negative() {
        for id in ["a", "b", "person-1", "ÄÖÜ", ""] {
            assert!(bucket_of(Some(id), 7) < 7);
        }
    }
}
