//! The flat source: an ordinary input folder (`T.csv`, `T.parquet` or `T/part-*`), every row
//! of every file — the whole input.

use std::path::Path;

use polars::prelude::*;

use crate::check::empty_rejects;
use crate::error::IngestError;
use crate::layer::{absent_table, Layout, Table};
use crate::locate::table_files;
use crate::schema::TableSpec;
use crate::source::{check_scanned, scan_files};

/// Read and check table `spec` of the input folder `dir`: its accepted rows and its rejects
/// (an absent optional table is empty and marked absent).
pub(crate) fn read_table(dir: &Path, spec: &TableSpec) -> Result<(Table, DataFrame), IngestError> {
    let Some(paths) = table_files(dir, spec, Layout::Flat)? else {
        return Ok((absent_table(spec), empty_rejects()));
    };
    let scanned = scan_files(dir, spec, &paths)?;
    // Files with a bucketed layout's origin columns read as a flat input: their rows name
    // files of a partition manifest this read does not have, so none are listed.
    check_scanned(spec, scanned, Vec::new)
}
