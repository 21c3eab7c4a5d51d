//! Atomic, deterministic output files.
//!
//! Every output is first written in full to a hidden temporary file in the same folder, flushed
//! to disk, then renamed over the final name, so a reader never sees half a file and a failed
//! run never leaves one. Parquet files are written from a single chunk with fixed settings, so
//! the same frame always gives the same bytes.
//!
//! A run's outputs and a bucket's partial files are written by [`write_output`], which checks
//! each frame against its declaration in [`crate::contract`] first: a frame that does not match
//! is an error naming the output and the column, and nothing is written.

use std::fs;
use std::io::Write;
use std::path::Path;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::contract::{Format, Output};
use crate::error::ReportError;

/// Hex SHA-256 of a byte slice.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Write `bytes` to `path` atomically; returns their SHA-256.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<String, ReportError> {
    let err = |e| ReportError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(sha256_bytes(bytes))
}

/// Encode a frame as Parquet (zstd, statistics, one row group per 1M rows) in memory.
pub fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>, ReportError> {
    df.rechunk_mut();
    let mut buf = Vec::new();
    caregap_ingest::portable::portable_writer(&mut buf, df)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::default())
        .with_row_group_size(Some(1 << 20))
        .finish(df)?;
    Ok(buf)
}

/// Write a frame as Parquet to `path` atomically; returns the file's SHA-256.
pub fn write_parquet_atomic(df: &mut DataFrame, path: &Path) -> Result<String, ReportError> {
    let bytes = parquet_bytes(df)?;
    write_atomic(path, &bytes)
}

/// Write a frame as CSV (header, ISO dates) to `path` atomically; returns the file's SHA-256.
pub fn write_csv_atomic(df: &mut DataFrame, path: &Path) -> Result<String, ReportError> {
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).include_header(true).finish(df)?;
    write_atomic(path, &buf)
}

/// A frame with list columns joined by `;`, for CSV (which has no lists).
pub fn csv_ready(df: &DataFrame) -> PolarsResult<DataFrame> {
    let exprs: Vec<Expr> = df
        .schema()
        .iter()
        .map(|(name, dt)| match dt {
            DataType::List(_) => col(name.clone())
                .list()
                .join(lit(";"), true)
                .alias(name.clone()),
            _ => col(name.clone()),
        })
        .collect();
    df.clone().lazy().select(exprs).collect()
}

/// Write `df` as the declared output `out` into `dir` (under its declared file name, in its
/// declared format), after checking it against the declaration ([`Output::check`]); returns
/// the file's SHA-256. A CSV output is written from the same frame as its Parquet twin, its
/// lists joined by `;` ([`csv_ready`]).
pub fn write_output(
    out: &'static Output,
    df: &mut DataFrame,
    dir: &Path,
) -> Result<String, ReportError> {
    out.check(df)?;
    let path = dir.join(out.file);
    match out.format {
        Format::Parquet => write_parquet_atomic(df, &path),
        Format::Csv => write_csv_atomic(&mut csv_ready(df)?, &path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_frame_same_bytes_and_no_temp_left() {
        let dir = tempfile::tempdir().unwrap();
        let mut df = df!("a" => [1i64, 2, 3], "b" => ["x", "y", "z"]).unwrap();
        let p = dir.path().join("t.parquet");
        let h1 = write_parquet_atomic(&mut df, &p).unwrap();
        let h2 = write_parquet_atomic(&mut df, &p).unwrap();
        assert_eq!(h1, h2);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("t.parquet")]);
    }

    #[test]
    fn write_output_refuses_a_frame_off_contract_and_writes_nothing() {
        use crate::contract::{COMPARISON_ASSIGNMENT, WORKLIST, WORKLIST_CSV};
        let dir = tempfile::tempdir().unwrap();
        let mut df = df!("person_id" => ["p1"], "pseudo_anchor" => [1i32]).unwrap();
        let e = write_output(&COMPARISON_ASSIGNMENT, &mut df, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "output `comparison_assignment`: column `pseudo_anchor_date` (Date) is missing"
            ) && e.contains("`pseudo_anchor`"),
            "{e}"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

        let mut ok = COMPARISON_ASSIGNMENT.empty_frame();
        write_output(&COMPARISON_ASSIGNMENT, &mut ok, dir.path()).unwrap();
        COMPARISON_ASSIGNMENT
            .check_parquet_file(&dir.path().join("comparison_assignment.parquet"))
            .unwrap();

        // A file whose stored Arrow schema has view types (a plain polars writer) is refused.
        let plain = dir.path().join("plain.parquet");
        let mut v = COMPARISON_ASSIGNMENT.empty_frame();
        ParquetWriter::new(fs::File::create(&plain).unwrap())
            .finish(&mut v)
            .unwrap();
        let e = COMPARISON_ASSIGNMENT
            .check_parquet_file(&plain)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("stored Arrow schema is not the declared one (person_id: large_string"),
            "{e}"
        );
        fs::remove_file(&plain).unwrap();

        let mut w = WORKLIST.empty_frame();
        write_output(&WORKLIST_CSV, &mut w, dir.path()).unwrap();
        let csv = fs::read_to_string(dir.path().join("worklist.csv")).unwrap();
        assert_eq!(
            csv.trim_end(),
            "health_home_id,due_date,person_id,measure,index_date,days_left,index_evidence"
        );
    }

    #[test]
    fn unwritable_path_is_an_error_naming_it() {
        let mut df = df!("a" => [1i64]).unwrap();
        let p = Path::new("/nonexistent-dir/x.parquet");
        let e = write_parquet_atomic(&mut df, p).unwrap_err().to_string();
        assert!(e.contains("/nonexistent-dir/x.parquet"), "{e}");
    }
}
