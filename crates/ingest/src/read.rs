//! Finding, scanning, normalising and validating input-layer tables.
//!
//! Each table is one file (`T.csv`, `T.parquet`) or a folder of part files (`T/*.csv`,
//! `T/*.parquet`, read in file-name order). Every column is first read as text (so codes keep
//! their leading zeros), then parsed and normalised as spec §8 says. Rows that fail a check go
//! to the rejects frame with table, file, 1-based row (counted across part files), column and
//! reason; nothing is dropped silently.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{guarded, IngestError};
use crate::partition::{bucket_dir, PartitionManifest, SOURCE_FILE_INDEX, SOURCE_ROW};
use crate::ranges::RangePlan;
use crate::schema::{self, Kind, TableSpec, LAB_DATE_COLUMNS, PERSON_ID_ALIAS};
use crate::sense;
use crate::shapes::{self, file_format, Format};
use crate::structure::{self, EntryKind, Stamp};

/// One physical file read for a table.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the input folder, with `/` separators (`medical_claim/part-1.csv`).
    pub relative: String,
    pub path: PathBuf,
    pub rows: usize,
    pub sha256: String,
    /// Canonical column name → the name found in the file (`person_id` → `patient_id`).
    pub column_aliases: BTreeMap<String, String>,
    /// Spec columns the file has (the others are all null).
    pub columns_present: Vec<&'static str>,
    /// A file of a bucketed layout (rows carry their original file and row).
    pub bucketed: bool,
    /// Size and modification time when its SHA-256 was taken: a file that differs after its
    /// rows are read changed while caregap read it ([`IngestError::Changed`]).
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
    pub name: &'static str,
    /// False when an optional table is absent from the input folder.
    pub present: bool,
    pub files: Vec<SourceFile>,
    pub rows_read: usize,
    pub rows_rejected: usize,
    /// Accepted rows: every spec column, typed and normalised, in spec order.
    pub data: DataFrame,
}

/// Everything read from one input folder.
#[derive(Debug, Clone)]
pub struct InputLayer {
    pub root: PathBuf,
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

/// Read and validate every input-layer table in `dir`.
pub fn read_input_layer(dir: &Path) -> Result<InputLayer, IngestError> {
    read_input_layer_in(dir, Layout::Flat, None)
}

/// Read and validate the input-layer tables of `dir` laid out as `layout`; with `only`, just
/// those tables (the others are empty and marked absent).
pub fn read_input_layer_in(
    dir: &Path,
    layout: Layout,
    only: Option<&[&str]>,
) -> Result<InputLayer, IngestError> {
    read_layer(dir, Source::Layout(layout), only)
}

/// Read and validate bucket `bucket` of a person-range plan of `dir` (see [`crate::ranges`]):
/// only the pieces of files that can hold its persons are read, and only its persons' rows
/// (and, in bucket 0, rows without a person) are kept. Files, rows and rejects are named as a
/// whole run names them.
pub fn read_input_layer_range(
    dir: &Path,
    plan: &RangePlan,
    bucket: u32,
) -> Result<InputLayer, IngestError> {
    assert!(
        bucket < plan.buckets(),
        "bucket {bucket} of {}",
        plan.buckets()
    );
    read_layer(dir, Source::Range(plan, bucket), None)
}

/// Where a read takes its rows from.
#[derive(Clone, Copy)]
enum Source<'a> {
    Layout(Layout),
    Range(&'a RangePlan, u32),
}

fn read_layer(
    dir: &Path,
    source: Source,
    only: Option<&[&str]>,
) -> Result<InputLayer, IngestError> {
    if !dir.is_dir() {
        return Err(IngestError::InputDirMissing(dir.to_path_buf()));
    }
    let partition = match source {
        Source::Layout(Layout::Flat) | Source::Range(..) => None,
        Source::Layout(_) => Some(PartitionManifest::read(dir)?.ok_or_else(|| IngestError::Unreadable {
            table: crate::partition::PARTITION_MANIFEST.into(),
            file: dir.join(crate::partition::PARTITION_MANIFEST).display().to_string(),
            message: "a bucketed input needs the partition manifest written by `caregap partition` (or the Spark driver)".into(),
        })?),
    };
    if let (Source::Layout(Layout::Bucket(i)), Some(pm)) = (source, &partition) {
        if i >= pm.buckets {
            return Err(IngestError::Unreadable {
                table: crate::partition::PARTITION_MANIFEST.into(),
                file: dir
                    .join(crate::partition::PARTITION_MANIFEST)
                    .display()
                    .to_string(),
                message: format!(
                    "bucket {i} asked for, the input has buckets 0..{}",
                    pm.buckets
                ),
            });
        }
    }
    let mut tables = BTreeMap::new();
    let mut rejects = Vec::new();
    for spec in schema::all_tables() {
        if only.is_some_and(|o| !o.contains(&spec.name)) {
            tables.insert(spec.name, absent_table(&spec));
            continue;
        }
        let (table, rej) = match source {
            Source::Layout(layout) => read_table(dir, &spec, layout, partition.as_ref())?,
            Source::Range(plan, b) => read_table_range(dir, &spec, plan, b)?,
        };
        rejects.push(rej.lazy());
        tables.insert(spec.name, table);
    }
    let rejects = concat(rejects, UnionArgs::default())?
        .sort(
            ["table", "file", "row", "column"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()?;
    Ok(InputLayer {
        root: dir.to_path_buf(),
        tables,
        rejects,
    })
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

fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A damaged compressed stream is the file's problem (exit status 3); any other I/O error is
/// the system's.
fn damaged_or_io(dir: &Path, spec: &TableSpec, path: &Path, e: std::io::Error) -> IngestError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        IngestError::Malformed {
            table: spec.name.to_string(),
            file: relative(dir, path),
            problem: e.to_string(),
        }
    } else {
        IngestError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

/// Read a file's bytes once: its SHA-256 and size, and (a CSV) the structure of its rows
/// ([`structure::digest`]); a broken structure is an error naming the file.
fn digest_file(
    dir: &Path,
    spec: &TableSpec,
    path: &Path,
) -> Result<structure::FileDigest, IngestError> {
    let separator = match file_format(path) {
        Some(Format::Csv(sep)) => Some(sep),
        _ => None,
    };
    let d = structure::digest(path, separator).map_err(|e| damaged_or_io(dir, spec, path, e))?;
    let problem = match separator {
        Some(_) => d.problem.clone(),
        None => guarded(spec.name, &relative(dir, path), || {
            structure::check_parquet_ranges(path)
        })?,
    };
    if let Some(problem) = &problem {
        return Err(IngestError::Malformed {
            table: spec.name.to_string(),
            file: relative(dir, path),
            problem: problem.clone(),
        });
    }
    Ok(d)
}

/// Whether a file read earlier is still as its digest found it (see [`IngestError::Changed`]).
pub(crate) fn check_unchanged(
    spec: &TableSpec,
    relative: &str,
    path: &Path,
    before: Stamp,
) -> Result<(), IngestError> {
    let now = Stamp::of(path).unwrap_or_default();
    if now != before {
        return Err(IngestError::Changed {
            table: spec.name.to_string(),
            file: relative.to_string(),
            before: before.len,
            after: now.len,
        });
    }
    Ok(())
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

/// The polars type a column has after ingest.
pub fn dtype_of(kind: Kind) -> DataType {
    match kind {
        Kind::Date => DataType::Date,
        Kind::Int | Kind::NonNegativeInt => DataType::Int64,
        Kind::Decimal => DataType::Float64,
        _ => DataType::String,
    }
}

fn empty_rejects() -> DataFrame {
    let cols = vec![
        Column::new_empty("table".into(), &DataType::String),
        Column::new_empty("file".into(), &DataType::String),
        Column::new_empty("row".into(), &DataType::Int64),
        Column::new_empty("column".into(), &DataType::String),
        Column::new_empty("reason".into(), &DataType::String),
        Column::new_empty("value".into(), &DataType::String),
    ];
    DataFrame::new_infer_height(cols).expect("empty rejects")
}

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

/// Check a file's columns against the spec; returns the scan with the person id alias
/// resolved and the file's facts (without SHA-256).
fn inspect(
    dir: &Path,
    spec: &TableSpec,
    path: &Path,
    mut lf: LazyFrame,
) -> Result<(LazyFrame, SourceFile, SchemaRef), IngestError> {
    let rel = relative(dir, path);
    let schema = guarded(spec.name, &rel, || lf.collect_schema())?;
    let mut aliases = BTreeMap::new();
    let (canon, alias) = PERSON_ID_ALIAS;
    if schema.get(canon).is_none() && schema.get(alias).is_some() {
        aliases.insert(canon.to_string(), alias.to_string());
        lf = lf.rename([alias], [canon], true);
    }
    let has = |c: &str| schema.get(c).is_some() || aliases.contains_key(c);
    let header: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    for c in spec.columns.iter().filter(|c| c.required) {
        if !has(c.name) {
            return Err(IngestError::MissingColumn {
                table: spec.name.to_string(),
                file: rel.clone(),
                column: c.name.to_string(),
                hint: delimiter_hint(&header),
            });
        }
    }
    for group in one_of_groups(spec) {
        if !group.iter().any(|c| has(c)) {
            return Err(IngestError::MissingOneOf {
                table: spec.name.to_string(),
                file: rel.clone(),
                columns: group.join(", "),
            });
        }
    }
    let columns_present: Vec<&'static str> = spec
        .columns
        .iter()
        .filter(|c| has(c.name))
        .map(|c| c.name)
        .collect();
    let bucketed = schema.get(SOURCE_FILE_INDEX).is_some() && schema.get(SOURCE_ROW).is_some();
    let mut stored = (*schema).clone();
    if let Some(dt) = aliases.get(canon).and_then(|a| schema.get(a)) {
        stored.insert(canon.into(), dt.clone());
    }
    Ok((
        lf,
        SourceFile {
            relative: rel,
            path: path.to_path_buf(),
            rows: 0,
            sha256: String::new(),
            column_aliases: aliases,
            columns_present,
            bucketed,
            stamp: Stamp::default(),
        },
        Arc::new(stored),
    ))
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
fn scan_file(
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

fn delimiter_hint(header: &[String]) -> String {
    if header.len() == 1 {
        for (d, name) in [(';', "semicolon"), ('\t', "tab"), ('|', "pipe")] {
            if header[0].contains(d) {
                return format!(
                    " (the header is a single column containing `{d}`: the file looks {name}-delimited; caregap reads comma-separated `.csv` and tab-separated `.tsv` files)"
                );
            }
        }
    }
    String::new()
}

fn one_of_groups(spec: &TableSpec) -> Vec<Vec<&'static str>> {
    let mut groups = Vec::new();
    if !spec.one_of.is_empty() {
        groups.push(spec.one_of.clone());
    }
    if spec.name == schema::LAB_RESULT {
        groups.push(LAB_DATE_COLUMNS.to_vec());
    }
    groups
}

/// `true` when the text value is present (not null, not blank).
fn present(name: &str) -> Expr {
    col(name).map(
        |c: Column| {
            let ca = c.str()?;
            let out: BooleanChunked = ca
                .iter()
                .map(|o| Some(o.is_some_and(|s| !s.trim().is_empty())))
                .collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

/// A one-pass §8 normaliser of a text column: null stays null, `f` returning `None` makes the
/// value null. One pass and one new array instead of a chain of polars string kernels, each
/// of which builds its own (ingest's main cost at state scale).
fn normalise(name: &str, f: fn(&str) -> Option<Cow<'_, str>>) -> Expr {
    map_text(col(name), f)
}

/// [`normalise`] of any text expression.
fn map_text(e: Expr, f: fn(&str) -> Option<Cow<'_, str>>) -> Expr {
    e.map(
        move |c: Column| {
            let ca = c.str()?;
            let out: StringChunked = ca.iter().map(|o| o.and_then(f)).collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, fld| Ok(Field::new(fld.name().clone(), DataType::String)),
    )
}

fn non_blank(s: &str) -> Option<Cow<'_, str>> {
    (!s.is_empty()).then_some(Cow::Borrowed(s))
}

fn upper(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(s.to_ascii_uppercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_uppercase())
    }
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Left-pad with zeros to `n` bytes, after a leading sign (polars' and Python's `zfill`).
fn zfill(s: &str, n: usize) -> Cow<'_, str> {
    if n <= s.len() {
        return Cow::Borrowed(s);
    }
    let zeros = "0".repeat(n - s.len());
    Cow::Owned(match s.strip_prefix(['-', '+']) {
        Some(rest) => format!("{}{zeros}{rest}", &s[..1]),
        None => format!("{zeros}{s}"),
    })
}

fn norm_text(s: &str) -> Option<Cow<'_, str>> {
    non_blank(s)
}

fn norm_id(s: &str) -> Option<Cow<'_, str>> {
    let t = s.trim();
    (!t.is_empty()).then_some(Cow::Borrowed(t))
}

fn norm_lower(s: &str) -> Option<Cow<'_, str>> {
    let t = s.trim();
    (!t.is_empty()).then(|| lower(t))
}

fn norm_code(s: &str) -> Option<Cow<'_, str>> {
    let t = s.trim();
    (!t.is_empty()).then(|| upper(t))
}

fn norm_diagnosis(s: &str) -> Option<Cow<'_, str>> {
    let u = upper(s.trim());
    if u.contains('.') {
        let v = u.replace('.', "");
        (!v.is_empty()).then_some(Cow::Owned(v))
    } else {
        (!u.is_empty()).then_some(u)
    }
}

fn norm_revenue(s: &str) -> Option<Cow<'_, str>> {
    norm_code(s).map(|c| Cow::Owned(zfill(&c, 4).into_owned()))
}

fn norm_place_of_service(s: &str) -> Option<Cow<'_, str>> {
    norm_code(s).map(|c| Cow::Owned(zfill(&c, 2).into_owned()))
}

fn norm_bill_type(s: &str) -> Option<Cow<'_, str>> {
    let c = norm_code(s)?;
    if c.chars().count() == 4 && c.starts_with('0') {
        Some(Cow::Owned(c.chars().skip(1).take(3).collect()))
    } else {
        Some(c)
    }
}

fn norm_ndc(s: &str) -> Option<Cow<'_, str>> {
    let t = non_blank(s.trim())?;
    let candidate: Cow<'_, str> = if t.contains('-') {
        let parts: Vec<&str> = t.split('-').collect();
        if parts.len() != 3 {
            return None;
        }
        Cow::Owned(format!(
            "{}{}{}",
            zfill(parts[0], 5),
            zfill(parts[1], 4),
            zfill(parts[2], 2)
        ))
    } else {
        t
    };
    (candidate.len() == 11 && candidate.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Cow::Owned(candidate.into_owned()))
}

fn norm_diagnosis_system(s: &str) -> Option<Cow<'_, str>> {
    let l = lower(s.trim());
    if l.is_empty() {
        return None;
    }
    match DIAGNOSIS_SYSTEM_ALIASES.iter().find(|(old, _)| *old == l) {
        Some((_, new)) => Some(Cow::Borrowed(new)),
        None => Some(Cow::Owned(l.into_owned())),
    }
}

fn date_lit(y: i32, m: u32, d: u32) -> Expr {
    let days = chrono::NaiveDate::from_ymd_opt(y, m, d)
        .expect("valid date")
        .signed_duration_since(chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
        .num_days() as i32;
    lit(days).cast(DataType::Date)
}

/// The §8 normalisation of one column (input: text).
fn parse_expr(name: &str, kind: Kind) -> Expr {
    let stripped = col(name).str().strip_chars(lit(NULL));
    match kind {
        Kind::Text => normalise(name, norm_text),
        Kind::Id => normalise(name, norm_id),
        Kind::Lower => normalise(name, norm_lower),
        Kind::Code => normalise(name, norm_code),
        Kind::Diagnosis => normalise(name, norm_diagnosis),
        Kind::Revenue => normalise(name, norm_revenue),
        Kind::PlaceOfService => normalise(name, norm_place_of_service),
        Kind::BillType => normalise(name, norm_bill_type),
        Kind::Ndc => normalise(name, norm_ndc),
        Kind::DiagnosisSystem => normalise(name, norm_diagnosis_system).fill_null(lit("icd-10-cm")),
        Kind::Date => shapes::date_expr(name),
        Kind::Int | Kind::NonNegativeInt => stripped.cast(DataType::Int64),
        Kind::Decimal => stripped.cast(DataType::Float64),
    }
}

/// Spellings of diagnosis code systems accepted in `diagnosis_code_type` (§2, §8).
const DIAGNOSIS_SYSTEM_ALIASES: &[(&str, &str)] = &[
    ("icd10", "icd-10-cm"),
    ("icd-10", "icd-10-cm"),
    ("icd10cm", "icd-10-cm"),
    ("icd10-cm", "icd-10-cm"),
    ("icd_10_cm", "icd-10-cm"),
    ("icd9", "icd-9-cm"),
    ("icd-9", "icd-9-cm"),
    ("icd9cm", "icd-9-cm"),
    ("icd9-cm", "icd-9-cm"),
    ("icd_9_cm", "icd-9-cm"),
    ("snomed", "snomed-ct"),
    ("snomedct", "snomed-ct"),
    ("snomed_ct", "snomed-ct"),
    ("sct", "snomed-ct"),
];

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Date => "not a valid date (expected YYYY-MM-DD or YYYYMMDD)",
        Kind::Int | Kind::NonNegativeInt => "not a whole number",
        Kind::Decimal => "not a number",
        Kind::Ndc => "not a valid NDC (11 digits, or 5-4-2 with dashes)",
        _ => "not valid",
    }
}

/// One row-level check: a boolean expression (true = reject) on the column it names.
struct Check {
    column: &'static str,
    reason: String,
    failed: Expr,
}

/// The row checks of a table; `present` = the columns some file has (a column no file has is
/// all null: nothing to parse or check).
fn checks(spec: &TableSpec, facts: &ColumnFacts) -> Vec<Check> {
    let (in_files, native) = (&facts.present, &facts.native);
    let p = |c: &str| col(format!("__p_{c}"));
    let present = |c: &str| {
        if native.contains(c) {
            col(c).is_not_null()
        } else {
            present(c)
        }
    };
    let mut out = Vec::new();
    for c in spec.columns.iter().filter(|c| in_files.contains(c.name)) {
        if c.required {
            out.push(Check {
                column: c.name,
                reason: format!("{}: required value is missing", c.name),
                failed: present(c.name).not(),
            });
        }
        // A column that arrives typed (Parquet dates, numbers) cannot fail to parse.
        let parsed_can_fail = !native.contains(c.name)
            && matches!(
                c.kind,
                Kind::Date | Kind::Int | Kind::NonNegativeInt | Kind::Decimal | Kind::Ndc
            );
        if parsed_can_fail {
            out.push(Check {
                column: c.name,
                reason: format!("{}: {}", c.name, kind_word(c.kind)),
                failed: present(c.name).and(p(c.name).is_null()),
            });
        }
        if facts.fractional.contains(c.name) {
            out.push(Check {
                column: c.name,
                reason: format!(
                    "{}: a number with a fraction where a whole id or code is expected",
                    c.name
                ),
                failed: col(format!("__fx_{}", c.name)),
            });
        }
        if c.kind == Kind::Date {
            out.push(Check {
                column: c.name,
                reason: format!("{}: date outside 1900-01-01..2100-12-31", c.name),
                failed: p(c.name)
                    .lt(date_lit(1900, 1, 1))
                    .or(p(c.name).gt(date_lit(2100, 12, 31))),
            });
        }
        if c.kind == Kind::NonNegativeInt {
            out.push(Check {
                column: c.name,
                reason: format!("{}: negative", c.name),
                failed: p(c.name).lt(lit(0)),
            });
        }
        if c.kind == Kind::Decimal {
            // `NaN`, `inf` and `1e400` parse (as NaN and infinity); a Parquet float may hold them.
            out.push(Check {
                column: c.name,
                reason: format!("{}: not a finite number", c.name),
                failed: p(c.name).is_not_null().and(p(c.name).is_finite().not()),
            });
            out.push(Check {
                column: c.name,
                reason: format!(
                    "{}: absurd value (magnitude {:e} or more)",
                    c.name,
                    sense::AMOUNT_LIMIT
                ),
                failed: p(c.name)
                    .is_finite()
                    .and(p(c.name).abs().gt_eq(lit(sense::AMOUNT_LIMIT))),
            });
        }
    }
    for &(column, allowed) in &spec.allowed {
        if in_files.contains(column) {
            out.push(Check {
                column,
                reason: format!("{column}: not one of {}", allowed.join(", ")),
                failed: p(column)
                    .is_not_null()
                    .and(in_list(p(column), allowed).not()),
            });
        }
    }
    if in_files.contains("result") {
        // The code and units as §8 and the measures take them: normalized, else source.
        let code = coalesce(&[p("normalized_code"), p("source_code")]);
        let units = coalesce(&[p("normalized_units"), p("source_units")]);
        for pl in sense::PLAUSIBLE.iter().filter(|x| x.table == spec.name) {
            let is_code = in_list(code.clone(), pl.codes);
            let value = match pl.reading {
                sense::Reading::Number => sense::number(p("result")),
                sense::Reading::Hba1c => sense::hba1c(p("result"), units.clone()),
            };
            if pl.reading == sense::Reading::Number {
                out.push(Check {
                    column: "result",
                    reason: pl.not_a_number_reason(),
                    // `NaN` and `inf` parse, and are no reading either.
                    failed: is_code
                        .clone()
                        .and(present("result"))
                        .and(value.clone().is_finite().not().fill_null(lit(true))),
                });
            }
            let within = value
                .clone()
                .gt_eq(lit(pl.lo))
                .and(value.clone().lt_eq(lit(pl.hi)));
            let judged = match pl.reading {
                // Non-finite values are the check above's.
                sense::Reading::Number => value.clone().is_finite(),
                sense::Reading::Hba1c => value.clone().is_not_null(),
            };
            out.push(Check {
                column: "result",
                reason: pl.outside_reason(),
                failed: is_code.and(judged).and(within.not()),
            });
        }
    }
    for (start, end) in &spec.ordered_dates {
        out.push(Check {
            column: end,
            reason: format!("{end}: before {start}"),
            failed: p(end).lt(p(start)),
        });
    }
    for group in one_of_groups(spec) {
        // Judged on the raw text: a present but unparseable value is its own reject.
        let none = group
            .iter()
            .map(|c| present(c).not())
            .reduce(|a, b| a.and(b))
            .expect("non-empty group");
        out.push(Check {
            column: group[0],
            reason: format!("{}: one of {} is required", group[0], group.join(", ")),
            failed: none,
        });
    }
    if !spec.unique_key.is_empty() {
        let last = spec.unique_key[spec.unique_key.len() - 1];
        let key = as_struct(spec.unique_key.iter().map(|c| p(c)).collect());
        out.push(Check {
            column: last,
            reason: format!("{last}: duplicate ({})", spec.unique_key.join(", ")),
            failed: key.is_first_distinct().not(),
        });
    }
    out
}

/// `e` is one of `values`.
fn in_list(e: Expr, values: &[&str]) -> Expr {
    e.is_in(lit(Series::new("".into(), values)).implode(false), false)
}

fn absent_table(spec: &TableSpec) -> Table {
    Table {
        name: spec.name,
        present: false,
        files: vec![],
        rows_read: 0,
        rows_rejected: 0,
        data: empty_table(spec),
    }
}

/// The files of one table in a layout, in read order.
fn locate_in(dir: &Path, table: &str, layout: Layout) -> Result<Vec<PathBuf>, IngestError> {
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

/// What the files of one table say about its columns.
#[derive(Debug, Default)]
pub(crate) struct ColumnFacts {
    /// Columns that every file having them stores in a native type ([`shapes::is_native`]):
    /// taken as they are; the others are read as text and parsed.
    native: std::collections::BTreeSet<&'static str>,
    /// The spec columns that some file has (the others are typed nulls).
    present: std::collections::BTreeSet<&'static str>,
    /// Text columns (ids, codes) that some file stores as a fractional number: a value with a
    /// fraction is rejected ([`shapes::fraction_expr`]).
    fractional: std::collections::BTreeSet<&'static str>,
}

/// The [`ColumnFacts`] of a table's files.
fn column_facts(
    dir: &Path,
    spec: &TableSpec,
    paths: &[PathBuf],
) -> Result<ColumnFacts, IngestError> {
    let mut schemas = Vec::new();
    let mut present = std::collections::BTreeSet::new();
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

fn read_table(
    dir: &Path,
    spec: &TableSpec,
    layout: Layout,
    partition: Option<&PartitionManifest>,
) -> Result<(Table, DataFrame), IngestError> {
    let Some(paths) = table_files(dir, spec, layout)? else {
        return Ok((absent_table(spec), empty_rejects()));
    };
    let facts = column_facts(dir, spec, &paths)?;
    let mut frames = Vec::new();
    let mut files = Vec::new();
    for path in &paths {
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
    if bucketed != 0 {
        // The manifest names the original files, not the bucket's pieces of them.
        files = partition
            .and_then(|p| p.tables.get(spec.name))
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
            .unwrap_or_default();
    }
    let out = check_table(spec, raw, files, &facts)?;
    if bucketed == 0 {
        for f in &out.0.files {
            check_unchanged(spec, &f.relative, &f.path, f.stamp)?;
        }
    }
    Ok(out)
}

/// A union of pieces of files whose rows carry their own `__file` and `__row`, in the order
/// a whole run reads them. With `known`, the caller guarantees that order and it is not
/// checked (the check reads the rows once more).
fn in_order(raw: LazyFrame, known: bool) -> Result<LazyFrame, IngestError> {
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

/// Keep the rows of `person_id` range `lo..hi` (and, with `nulls`, rows without a person),
/// judged on the id as [`person_id_text`] gives it (column `__pid`), which the cuts are too.
fn in_range(lo: Option<&str>, hi: Option<&str>, nulls: bool) -> Expr {
    let pid = || col("__pid");
    let bounds = [
        lo.map(|lo| pid().gt_eq(lit(lo))),
        hi.map(|hi| pid().lt(lit(hi))),
    ];
    let within = bounds
        .into_iter()
        .flatten()
        .reduce(|a, b| a.and(b))
        .unwrap_or(pid().is_not_null());
    if nulls {
        within.or(pid().is_null())
    } else {
        within
    }
}

/// One table of bucket `b` of a person-range plan: the pieces that can hold its persons,
/// filtered to them exactly, with file and row numbers as a whole run gives them.
fn read_table_range(
    dir: &Path,
    spec: &TableSpec,
    plan: &RangePlan,
    b: u32,
) -> Result<(Table, DataFrame), IngestError> {
    // The plan lists every table the input has (and has failed on a missing required one).
    let Some(planned) = plan.tables.get(spec.name) else {
        return Ok((absent_table(spec), empty_rejects()));
    };
    let paths: Vec<PathBuf> = planned.iter().map(|f| f.path.clone()).collect();
    let facts = column_facts(dir, spec, &paths)?;
    let (lo, hi) = plan.bounds(b);
    let mut frames = Vec::new();
    for (fi, f) in planned.iter().enumerate() {
        // Runs of consecutive pieces to read: (offset, rows, every row in range).
        let mut runs: Vec<(usize, usize, bool)> = Vec::new();
        for p in f.pieces.iter().filter(|p| plan.overlaps(p, b)) {
            let all = plan.contains(p, b);
            match runs.last_mut() {
                Some(r) if r.0 + r.1 == p.offset => {
                    r.1 += p.len;
                    r.2 &= all;
                }
                _ => runs.push((p.offset, p.len, all)),
            }
        }
        for (offset, len, all) in runs {
            let lf = piece_scan(dir, spec, f, fi, &facts, offset, len)?;
            frames.push(if all {
                lf
            } else {
                lf.with_column(map_text(col(PERSON_ID_ALIAS.0), norm_id).alias("__pid"))
                    .filter(in_range(lo, hi, b == 0))
                    .drop(cols(["__pid"]))
            });
        }
    }
    if frames.is_empty() {
        // No piece holds this bucket's persons: an empty frame of the table's shape.
        frames.push(piece_scan(dir, spec, &planned[0], 0, &facts, 0, 0)?);
    }
    // Pieces are read in file order and rows in file order: already in original order.
    let raw = in_order(concat(frames, UnionArgs::default())?, true)?;
    let files = planned
        .iter()
        .map(|f| SourceFile {
            relative: f.relative.clone(),
            path: f.path.clone(),
            rows: 0,
            sha256: f.sha256.clone(),
            column_aliases: f.column_aliases.clone(),
            columns_present: vec![],
            bucketed: false,
            stamp: f.stamp,
        })
        .collect();
    let out = check_table(spec, raw, files, &facts)?;
    // Every bucket reads the files the plan surveyed: the same bytes, or an error.
    for f in planned {
        check_unchanged(spec, &f.relative, &f.path, f.stamp)?;
    }
    Ok(out)
}

/// Rows `offset..offset + len` of planned file `f` (the table's file number `fi`), every spec
/// column as text or native, with `__file` and `__row` as a whole run numbers them.
fn piece_scan(
    dir: &Path,
    spec: &TableSpec,
    f: &crate::ranges::PlannedFile,
    fi: usize,
    facts: &ColumnFacts,
    offset: usize,
    len: usize,
) -> Result<LazyFrame, IngestError> {
    let (lf, _) = scan_file(dir, spec, &f.path, facts, fi, false)?;
    let first = (f.first_row + offset + 1) as IdxSize;
    Ok(lf
        .slice(offset as i64, len as IdxSize)
        .with_row_index("__row", Some(first))
        .with_column(col("__row").cast(DataType::Int64)))
}

/// Parse, normalise and check the rows of `raw` (every spec column, `__file` and `__row`):
/// the accepted rows and the rejects.
fn check_table(
    spec: &TableSpec,
    raw: LazyFrame,
    mut files: Vec<SourceFile>,
    facts: &ColumnFacts,
) -> Result<(Table, DataFrame), IngestError> {
    let (native, present) = (&facts.native, &facts.present);
    // Columns that no file has are typed nulls: no parsing, no checks.
    let parsed: Vec<Expr> = spec
        .columns
        .iter()
        .map(|c| {
            // diagnosis_code_type defaults to icd-10-cm even when absent (§8).
            if present.contains(c.name) || c.kind == Kind::DiagnosisSystem {
                if native.contains(c.name) {
                    col(c.name).alias(format!("__p_{}", c.name))
                } else {
                    parse_expr(c.name, c.kind).alias(format!("__p_{}", c.name))
                }
            } else {
                lit(NULL)
                    .cast(dtype_of(c.kind))
                    .alias(format!("__p_{}", c.name))
            }
        })
        .collect();
    let checks = checks(spec, facts);
    let flags: Vec<Expr> = checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.failed
                .clone()
                .fill_null(lit(false))
                .alias(format!("__c{i}"))
        })
        .collect();
    let any_failed = checks
        .iter()
        .enumerate()
        .map(|(i, _)| col(format!("__c{i}")))
        .reduce(|a, b| a.or(b))
        .expect("every table has checks");
    let names: Vec<&str> = files.iter().map(|f| f.relative.as_str()).collect();
    let checked = guarded(spec.name, &names.join(", "), || {
        raw.with_columns(parsed)
            .with_columns(flags)
            .with_column(any_failed.alias("__reject"))
            .collect()
    })?;

    // Rows per file, for the manifest.
    let per_file = checked
        .clone()
        .lazy()
        .group_by([col("__file")])
        .agg([len().alias("n")])
        .collect()?;
    let idx = per_file.column("__file")?.cast(&DataType::Int32)?;
    let counts = per_file.column("n")?.cast(&DataType::Int64)?;
    for (i, n) in idx.i32()?.iter().zip(counts.i64()?.iter()) {
        if let (Some(i), Some(n)) = (i, n) {
            if let Some(f) = files.get_mut(i as usize) {
                f.rows = n as usize;
            }
        }
    }
    let file_names: Vec<String> = files.iter().map(|f| f.relative.clone()).collect();

    let any_rejected = checked.column("__reject")?.bool()?.any();
    let keep = checked.clone().lazy();
    // Filtering copies every column: skip it when every row is accepted (the usual case).
    let keep = if any_rejected {
        keep.filter(col("__reject").not())
    } else {
        keep
    };
    let accepted = keep
        .select(
            spec.columns
                .iter()
                .map(|c| col(format!("__p_{}", c.name)).alias(c.name))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    let rejected = checked.lazy().filter(col("__reject")).collect()?;
    let mut rej_frames = vec![empty_rejects()
        .lazy()
        .with_column(col("file").cast(DataType::Int32))];
    for (i, c) in checks.iter().enumerate() {
        rej_frames.push(
            rejected
                .clone()
                .lazy()
                .filter(col(format!("__c{i}")))
                .select([
                    lit(spec.name).alias("table"),
                    col("__file").alias("file"),
                    col("__row").cast(DataType::Int64).alias("row"),
                    lit(c.column).alias("column"),
                    lit(c.reason.clone()).alias("reason"),
                    value_text(spec, facts, c.column).alias("value"),
                ]),
        );
    }
    let mut rejects = concat(rej_frames, UnionArgs::default())?.collect()?;
    let names: StringChunked = rejects
        .column("file")?
        .i32()?
        .iter()
        .map(|i| {
            i.and_then(|i| file_names.get(i as usize))
                .map(String::as_str)
        })
        .collect();
    rejects.with_column(names.with_name("file".into()).into_column())?;
    let rows_read = checked_height(&files);
    Ok((
        Table {
            name: spec.name,
            present: true,
            files,
            rows_read,
            rows_rejected: rejected.height(),
            data: accepted,
        },
        rejects,
    ))
}

/// A column of the scan as the text a reject carries (a Parquet date outside what a calendar
/// can show is given as its day number: polars panics casting it to text).
fn value_text(spec: &TableSpec, facts: &ColumnFacts, column: &str) -> Expr {
    let is_date = spec.column(column).is_some_and(|c| c.kind == Kind::Date);
    if is_date && facts.native.contains(column) {
        shapes::date_text(col(column))
    } else {
        col(column).cast(DataType::String)
    }
}

fn checked_height(files: &[SourceFile]) -> usize {
    files.iter().map(|f| f.rows).sum()
}

/// Every problem in an input folder, found in one pass: schema errors of every file of every
/// table (not only the first), and every rejected row.
#[derive(Debug, Default)]
pub struct ValidationReport {
    /// (table, one-line status: rows read and rejected, or absent, or failed).
    pub tables: Vec<(String, String)>,
    /// Errors that would stop a run (exit status 3).
    pub errors: Vec<String>,
    /// Rejected rows as `table, file, row, column, reason`.
    pub rejects: Vec<String>,
}

/// Check an input folder without stopping at the first problem.
pub fn validate(dir: &Path) -> ValidationReport {
    let mut rep = ValidationReport::default();
    if !dir.is_dir() {
        rep.errors
            .push(IngestError::InputDirMissing(dir.to_path_buf()).to_string());
        return rep;
    }
    for spec in schema::all_tables() {
        let paths = match locate_table(dir, spec.name) {
            Ok(p) => p,
            Err(e) => {
                rep.tables.push((spec.name.into(), "failed".into()));
                rep.errors.push(e.to_string());
                continue;
            }
        };
        let mut file_errors = Vec::new();
        for p in &paths {
            if let Err(e) =
                scan_file(dir, &spec, p, &ColumnFacts::default(), 0, false).and_then(|(lf, _)| {
                    guarded(spec.name, &relative(dir, p), || lf.limit(0).collect()).map(|_| ())
                })
            {
                file_errors.push(e.to_string());
            }
        }
        if !file_errors.is_empty() {
            rep.tables.push((spec.name.into(), "failed".into()));
            rep.errors.extend(file_errors);
            continue;
        }
        match read_table(dir, &spec, Layout::Flat, None) {
            Ok((t, rejects)) => {
                rep.tables.push((
                    spec.name.into(),
                    if t.present {
                        format!(
                            "{:>10} rows read {:>8} rejected",
                            t.rows_read, t.rows_rejected
                        )
                    } else if spec.required {
                        "absent (required)".into()
                    } else {
                        "absent".into()
                    },
                ));
                let cols: Vec<Vec<String>> = ["table", "file", "row", "column", "reason"]
                    .iter()
                    .map(|c| {
                        rejects
                            .column(c)
                            .and_then(|s| s.cast(&DataType::String))
                            .map(|s| {
                                s.str()
                                    .map(|x| {
                                        x.iter().map(|v| v.unwrap_or("").to_string()).collect()
                                    })
                                    .unwrap_or_default()
                            })
                            .unwrap_or_default()
                    })
                    .collect();
                for i in 0..rejects.height() {
                    rep.rejects.push(
                        cols.iter()
                            .map(|c| c[i].as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                }
            }
            Err(e) => {
                rep.tables.push((spec.name.into(), "failed".into()));
                rep.errors.push(e.to_string());
            }
        }
    }
    rep
}

#[cfg(test)]
mod normalise_tests {
    use super::*;

    fn n(f: fn(&str) -> Option<Cow<'_, str>>, s: &str) -> Option<String> {
        f(s).map(|c| c.into_owned())
    }

    #[test]
    fn one_pass_normalisers_follow_section_8() {
        assert_eq!(n(norm_text, ""), None);
        assert_eq!(n(norm_id, " A1 "), Some("A1".into()));
        assert_eq!(n(norm_id, "a1"), Some("a1".into()));
        assert_eq!(n(norm_id, "   "), None);
        assert_eq!(n(norm_text, "  x "), Some("  x ".into()));
        assert_eq!(n(norm_lower, "  MediCAID "), Some("medicaid".into()));
        assert_eq!(n(norm_lower, "   "), None);
        assert_eq!(n(norm_code, " 99213 "), Some("99213".into()));
        assert_eq!(n(norm_code, "g0444"), Some("G0444".into()));
        assert_eq!(n(norm_code, "ß"), Some("SS".into()));
        assert_eq!(n(norm_diagnosis, " f32.9 "), Some("F329".into()));
        assert_eq!(n(norm_diagnosis, "."), None);
        assert_eq!(n(norm_revenue, "450"), Some("0450".into()));
        assert_eq!(n(norm_revenue, "0981"), Some("0981".into()));
        assert_eq!(n(norm_place_of_service, "2"), Some("02".into()));
        assert_eq!(zfill("-1", 3), "-01");
        assert_eq!(n(norm_bill_type, "0111"), Some("111".into()));
        assert_eq!(n(norm_bill_type, "111"), Some("111".into()));
        assert_eq!(n(norm_bill_type, "1111"), Some("1111".into()));
        assert_eq!(n(norm_ndc, "1234-5678-9"), Some("01234567809".into()));
        assert_eq!(n(norm_ndc, " 00002322730 "), Some("00002322730".into()));
        assert_eq!(n(norm_ndc, "0002-3227-30-1"), None);
        assert_eq!(n(norm_ndc, "1234567890"), None);
        assert_eq!(n(norm_ndc, "abcdefghijk"), None);
        assert_eq!(n(norm_ndc, "-1234-56"), Some("00000123456".into()));
        assert_eq!(
            n(norm_diagnosis_system, " ICD10 "),
            Some("icd-10-cm".into())
        );
        assert_eq!(n(norm_diagnosis_system, "SNOMED"), Some("snomed-ct".into()));
        assert_eq!(n(norm_diagnosis_system, "HCPCS"), Some("hcpcs".into()));
        assert_eq!(n(norm_diagnosis_system, " "), None);
        assert_eq!(zfill("+7", 3), "+07");
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    const ELIG: &str = "person_id,birth_date,enrollment_start_date,enrollment_end_date,payer,payer_type\nA1,1980-01-01,2024-01-01,2025-12-31,MO,medicaid\n";

    #[test]
    fn a_file_that_changes_after_it_was_read_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("eligibility.csv");
        fs::write(&p, ELIG).unwrap();
        let spec = &schema::all_tables()[0];
        let sf = source_file_info(d.path(), spec, &p).unwrap();
        check_unchanged(spec, &sf.relative, &p, sf.stamp).unwrap();
        fs::write(&p, &ELIG[..ELIG.len() - 10]).unwrap();
        let e = check_unchanged(spec, &sf.relative, &p, sf.stamp).unwrap_err();
        assert!(e.is_input_schema_error());
        assert!(
            e.to_string()
                .contains("eligibility.csv: the file changed while caregap read it"),
            "{e}"
        );
    }

    #[test]
    fn damaged_parquet_files_are_errors_not_crashes() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/damaged_parquet");
        for name in ["footer_out_of_bounds.parquet", "footer_statistics.parquet"] {
            let d = tempfile::tempdir().unwrap();
            fs::write(d.path().join("eligibility.csv"), ELIG).unwrap();
            fs::copy(fixtures.join(name), d.path().join("medical_claim.parquet")).unwrap();
            let e = read_input_layer(d.path()).unwrap_err();
            let m = e.to_string();
            assert!(e.is_input_schema_error(), "{name}: {m}");
            assert!(
                m.contains("medical_claim.parquet") && m.contains("the file is damaged"),
                "{name}: {m}"
            );
        }
    }

    #[test]
    fn a_polars_error_over_member_rows_is_cut_short() {
        // polars itself, reading an unbalanced quote, quotes the rest of the file.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("medical_claim.csv");
        let mut text = String::from(
            "claim_id,claim_line_number,claim_type,person_id,claim_start_date,claim_end_date\nC0,1,professional,A1,\"2025-03-01,2025-03-01\n",
        );
        for i in 0..5000 {
            text.push_str(&format!(
                "C{i},1,professional,MEMBERSECRET{i},2025-03-01,2025-03-01\n"
            ));
        }
        fs::write(&p, &text).unwrap();
        let e = LazyCsvReader::new(PlRefPath::new(p.to_string_lossy().as_ref()))
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .finish()
            .and_then(|lf| lf.collect())
            .unwrap_err();
        assert!(
            e.to_string().contains("MEMBERSECRET"),
            "the raw message carries rows"
        );
        let m = IngestError::unreadable("medical_claim", "medical_claim.csv", &e).to_string();
        assert!(!m.contains("MEMBERSECRET") && m.len() < 300, "{m}");
        // caregap's own check stops it first, naming the line of the quote.
        let elig = d.path().join("eligibility.csv");
        fs::write(&elig, ELIG).unwrap();
        let m = read_input_layer(d.path()).unwrap_err().to_string();
        assert!(
            m.contains("line 2: a quote") && !m.contains("MEMBERSECRET"),
            "{m}"
        );
    }
}
