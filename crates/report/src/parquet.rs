//! Atomic, deterministic output files.
//!
//! Every output is first written in full to a hidden temporary file in the same folder, flushed
//! to disk, then renamed over the final name, so a reader never sees half a file and a failed
//! run never leaves one. Parquet files are written from a single chunk with fixed settings, so
//! the same frame always gives the same bytes.

use std::fs;
use std::io::Write;
use std::path::Path;

use polars::prelude::*;
use sha2::{Digest, Sha256};

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
    fn unwritable_path_is_an_error_naming_it() {
        let mut df = df!("a" => [1i64]).unwrap();
        let p = Path::new("/nonexistent-dir/x.parquet");
        let e = write_parquet_atomic(&mut df, p).unwrap_err().to_string();
        assert!(e.contains("/nonexistent-dir/x.parquet"), "{e}");
    }
}
