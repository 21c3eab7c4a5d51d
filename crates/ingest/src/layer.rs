//! What a read produces: the input layer ([`InputLayer`]), its tables ([`Table`]) and the
//! files they came from ([`SourceFile`]), and which files a read takes ([`Layout`], with the
//! names a bucketed layout uses). Types only: finding files is [`crate::locate`]'s, reading
//! them [`crate::source`]'s, checking them [`crate::check`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;

use crate::schema::{dtype_of, TableSpec, PERSON_ID_ALIAS};
use crate::structure::Stamp;

/// Name of the partition manifest at the root of a bucketed layout.
pub const PARTITION_MANIFEST: &str = "_partition.json";
/// Column with the original file of a row: its index in the table's file list of
/// `_partition.json` (an integer: a per-row path would cost gigabytes at state scale).
pub const SOURCE_FILE_INDEX: &str = "_source_file_index";
/// Column with the original 1-based row number of a row (across the table's files).
pub const SOURCE_ROW: &str = "_source_row";

/// One physical file read for a table.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the input folder, with `/` separators (`medical_claim/part-1.csv`).
    pub relative: String,
    /// The file.
    pub path: PathBuf,
    /// Rows read from it.
    pub rows: usize,
    /// Its SHA-256.
    pub sha256: String,
    /// Canonical column name → the name found in the file (`person_id` → `patient_id`).
    pub column_aliases: BTreeMap<String, String>,
    /// Spec columns the file has (the others are all null).
    pub columns_present: Vec<&'static str>,
    /// A file of a bucketed layout (rows carry their original file and row).
    pub bucketed: bool,
    /// Size and modification time when its SHA-256 was taken: a file that differs after its
    /// rows are read changed while caregap read it ([`crate::IngestError::Changed`]).
    pub stamp: Stamp,
}

impl SourceFile {
    /// The name the file gives the person id column (`person_id`, or its alias).
    pub fn person_id_column(&self) -> &str {
        self.column_aliases
            .get(PERSON_ID_ALIAS.0)
            .map(String::as_str)
            .unwrap_or(PERSON_ID_ALIAS.0)
    }
}

/// One validated input table.
#[derive(Debug, Clone)]
pub struct Table {
    /// The table name.
    pub name: &'static str,
    /// False when an optional table is absent from the input folder.
    pub present: bool,
    /// Its files, in read order.
    pub files: Vec<SourceFile>,
    /// Rows read.
    pub rows_read: usize,
    /// Rows rejected.
    pub rows_rejected: usize,
    /// Accepted rows: every spec column, typed and normalised, in spec order.
    pub data: DataFrame,
}

/// Everything read from one input folder.
#[derive(Debug, Clone)]
pub struct InputLayer {
    /// The input folder.
    pub root: PathBuf,
    /// Every table, by name.
    pub tables: BTreeMap<&'static str, Table>,
    /// `table, file, row, column, reason, value`, sorted by (table, file, row, column).
    pub rejects: DataFrame,
}

impl InputLayer {
    /// The accepted rows of a table (empty, with the spec columns, when absent).
    pub fn table(&self, name: &str) -> &Table {
        self.tables
            .get(name)
            .unwrap_or_else(|| panic!("`{name}` is not an input-layer table"))
    }

    /// The accepted rows of table `name`, lazily.
    pub fn lazy(&self, name: &str) -> LazyFrame {
        self.table(name).data.clone().lazy()
    }
}

/// Which files of an input folder to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// An ordinary input folder: `T.csv`, `T.parquet` or `T/part-*`.
    Flat,
    /// One bucket of a layout written by [`crate::partition::partition`] (or Spark):
    /// `T/bucket=<i>/*.parquet`.
    Bucket(u32),
    /// Every bucket of such a layout, rows back in their original order.
    AllBuckets,
}

/// The empty frame of a table: every spec column, typed, zero rows.
pub fn empty_table(spec: &TableSpec) -> DataFrame {
    let cols: Vec<Column> = spec
        .columns
        .iter()
        .map(|c| Column::new_empty(c.name.into(), &dtype_of(c.kind)))
        .collect();
    DataFrame::new_infer_height(cols).expect("empty frame")
}

pub(crate) fn absent_table(spec: &TableSpec) -> Table {
    Table {
        name: spec.name,
        present: false,
        files: vec![],
        rows_read: 0,
        rows_rejected: 0,
        data: empty_table(spec),
    }
}
