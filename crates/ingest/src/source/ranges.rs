//! Person ranges: buckets of an input read in place, without the partition pass.
//!
//! A hash layout ([`crate::partition`]) must rewrite the whole input before any bucket can be
//! read: every row is decoded, hashed and encoded again. When the input is *clustered by
//! person* — each Parquet row group or file holds a narrow range of person ids, as in exports
//! sorted by member and as `caregap synth` writes — that rewrite can be skipped. [`survey`]
//! reads only the person id column of every file, once, and records for every *piece* (a
//! Parquet row group, or a CSV file as a whole) its rows and its smallest and largest id.
//! It cuts the id space into `n` contiguous ranges holding equal numbers of the persons in
//! `eligibility` (quantiles of its distinct ids). Reading bucket `b`
//! ([`crate::read::read_input_layer_range`]) then opens only the pieces whose ids can fall in
//! range `b` and keeps their rows whose id does (an exact filter: the piece statistics only
//! decide what to open, never what to keep).
//!
//! Range `b` is `[cuts[b-1], cuts[b])` in UTF-8 byte order (the first has no lower bound, the
//! last no upper bound), so every id falls in exactly one range; rows without a person id go to
//! bucket 0, where they are rejected as a whole run rejects them. The ids compared are the
//! file's values as text, before §8 normalisation, as the hash layout hashes them.
//!
//! Whether this pays depends on the clustering: [`RangePlan::read_factor`] is the number of
//! times the planned reads decode the input's rows (1.0 for a perfectly clustered input; up to
//! `n` for one that is not clustered at all). The plan itself reads no other column.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

use crate::check::normalise::{map_text, norm_id};
use crate::check::{check_table, check_unchanged, empty_rejects, ColumnFacts};
use crate::error::{guarded, IngestError};
use crate::layer::{absent_table, Layout, SourceFile, Table};
use crate::locate::table_files;
use crate::schema::{self, TableSpec, PERSON_ID_ALIAS};
use crate::source::{
    column_facts, in_order, person_id_text, scan_file, scan_raw, source_file_info,
};

/// Consecutive Parquet row groups are merged into pieces of at least this many rows (tiny
/// row groups would make thousands of reads).
const MIN_PIECE_ROWS: usize = 1 << 18;

/// Part of one file: rows `offset..offset + len` and the ids they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The first row (0-based, in the file).
    pub offset: usize,
    /// Its rows.
    pub len: usize,
    /// Smallest and largest person id (text); `None` when every id is null.
    pub min: Option<String>,
    /// The largest person id of the piece (text).
    pub max: Option<String>,
    /// Whether some row has no person id.
    pub nulls: bool,
}

/// One file of a table, as planned.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// The file, relative to the input folder.
    pub relative: String,
    /// The file.
    pub path: PathBuf,
    /// Its rows.
    pub rows: usize,
    /// Its SHA-256.
    pub sha256: String,
    /// Columns read under another name → the name caregap uses.
    pub column_aliases: BTreeMap<String, String>,
    /// Size and modification time when surveyed: every bucket checks the file is unchanged.
    pub stamp: crate::structure::Stamp,
    /// Rows of the table's earlier files (the file's first row is `first_row + 1`, 1-based
    /// across the table's files, as a whole run counts rows).
    pub first_row: usize,
    /// Its pieces, in file order.
    pub pieces: Vec<Piece>,
}

/// How an input splits into contiguous person-id ranges.
#[derive(Debug, Clone)]
pub struct RangePlan {
    /// Ascending, distinct: range `b` is `[cuts[b-1], cuts[b])`.
    pub cuts: Vec<String>,
    /// Table → its files in read order (absent tables are not listed).
    pub tables: BTreeMap<&'static str, Vec<PlannedFile>>,
}

impl RangePlan {
    /// The number of buckets (one more than the cuts; fewer than asked for when `eligibility`
    /// has fewer distinct persons).
    pub fn buckets(&self) -> u32 {
        self.cuts.len() as u32 + 1
    }

    /// Bounds of bucket `b`: inclusive lower, exclusive upper.
    pub fn bounds(&self, b: u32) -> (Option<&str>, Option<&str>) {
        let b = b as usize;
        let lo = b
            .checked_sub(1)
            .and_then(|i| self.cuts.get(i))
            .map(String::as_str);
        let hi = self.cuts.get(b).map(String::as_str);
        (lo, hi)
    }

    /// Whether some row of `p` may belong to bucket `b`.
    pub fn overlaps(&self, p: &Piece, b: u32) -> bool {
        if p.nulls && b == 0 {
            return true;
        }
        let (Some(min), Some(max)) = (&p.min, &p.max) else {
            return false;
        };
        let (lo, hi) = self.bounds(b);
        lo.is_none_or(|lo| max.as_str() >= lo) && hi.is_none_or(|hi| min.as_str() < hi)
    }

    /// Whether every row of `p` belongs to bucket `b` (no filter needed).
    pub fn contains(&self, p: &Piece, b: u32) -> bool {
        if p.nulls && b != 0 {
            return false;
        }
        let (lo, hi) = self.bounds(b);
        match (&p.min, &p.max) {
            (Some(min), Some(max)) => {
                lo.is_none_or(|lo| min.as_str() >= lo) && hi.is_none_or(|hi| max.as_str() < hi)
            }
            _ => true,
        }
    }

    /// Rows of the input.
    pub fn rows(&self) -> usize {
        self.tables.values().flatten().map(|f| f.rows).sum()
    }

    /// Rows the reads of all buckets decode, over the input's rows (1.0 when every piece
    /// belongs to one bucket).
    pub fn read_factor(&self) -> f64 {
        let total = self.rows();
        if total == 0 {
            return 1.0;
        }
        let read: usize = (0..self.buckets())
            .map(|b| {
                self.tables
                    .values()
                    .flatten()
                    .flat_map(|f| &f.pieces)
                    .filter(|p| self.overlaps(p, b))
                    .map(|p| p.len)
                    .sum::<usize>()
            })
            .sum();
        read as f64 / total as f64
    }
}

/// Pieces of a Parquet file: its row groups, consecutive small ones merged.
fn parquet_pieces(path: &Path) -> PolarsResult<Vec<(usize, usize)>> {
    let file = fs::File::open(path)?;
    let mut reader = ParquetReader::new(file);
    let md = reader.get_metadata()?;
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut offset = 0usize;
    for rg in &md.row_groups {
        let n = rg.num_rows();
        match out.last_mut() {
            Some(last) if last.1 < MIN_PIECE_ROWS => last.1 += n,
            _ => out.push((offset, n)),
        }
        offset += n;
    }
    Ok(out)
}

/// One file: its facts, its pieces, and (for `eligibility`) its distinct ids.
fn plan_file(
    dir: &Path,
    spec: &schema::TableSpec,
    path: &Path,
    keep_ids: bool,
) -> Result<(PlannedFile, Vec<String>), IngestError> {
    let info = source_file_info(dir, spec, path)?;
    let (mut raw, csv) = scan_raw(dir, spec, path)?;
    let pid = info.person_id_column();
    let unreadable = |e: PolarsError| IngestError::unreadable(spec.name, &info.relative, &e);
    let id_text = person_id_text(&mut raw, pid).map_err(unreadable)?;
    let ids = guarded(spec.name, &info.relative, || {
        raw.select([id_text]).collect()
    })?;
    let ids = ids
        .column(pid)
        .map_err(unreadable)?
        .str()
        .map_err(unreadable)?
        .clone();
    let rows = ids.len();
    let bounds = if csv {
        vec![(0, rows)]
    } else {
        guarded(spec.name, &info.relative, || parquet_pieces(path))?
    };
    let pieces = bounds
        .into_iter()
        .map(|(offset, len)| {
            let mut min: Option<&str> = None;
            let mut max: Option<&str> = None;
            let mut nulls = false;
            let slice = ids.slice(offset as i64, len);
            for v in slice.iter() {
                match v {
                    None => nulls = true,
                    Some(v) => {
                        if min.is_none_or(|m| v < m) {
                            min = Some(v);
                        }
                        if max.is_none_or(|m| v > m) {
                            max = Some(v);
                        }
                    }
                }
            }
            Piece {
                offset,
                len,
                min: min.map(str::to_string),
                max: max.map(str::to_string),
                nulls,
            }
        })
        .collect();
    let mut distinct = Vec::new();
    if keep_ids {
        let mut v: Vec<&str> = ids.iter().flatten().collect();
        v.sort_unstable();
        v.dedup();
        distinct = v.into_iter().map(str::to_string).collect();
    }
    Ok((
        PlannedFile {
            relative: info.relative,
            path: path.to_path_buf(),
            rows,
            sha256: info.sha256,
            column_aliases: info.column_aliases,
            stamp: info.stamp,
            first_row: 0,
            pieces,
        },
        distinct,
    ))
}

/// What [`survey`] learns of an input: every file's pieces, and the distinct person ids of
/// `eligibility` (whose quantiles become the cuts).
#[derive(Debug, Clone)]
pub struct Survey {
    /// Every table's files, as planned.
    pub tables: BTreeMap<&'static str, Vec<PlannedFile>>,
    /// Distinct ids of `eligibility`, ascending.
    pub eligible: Vec<String>,
}

impl Survey {
    /// Cut the id space into `n` ranges of equal numbers of eligible persons (fewer when there
    /// are fewer than `n` distinct persons).
    pub fn plan(&self, n: u32) -> RangePlan {
        assert!(n > 0, "at least one bucket");
        let mut cuts: Vec<String> = Vec::new();
        for b in 1..n as usize {
            let i = b * self.eligible.len() / n as usize;
            if let Some(c) = self.eligible.get(i) {
                if i > 0 && cuts.last().is_none_or(|last| c > last) {
                    cuts.push(c.clone());
                }
            }
        }
        RangePlan {
            cuts,
            tables: self.tables.clone(),
        }
    }
}

/// Read the person ids of every file of the input folder `dir` once (see the module doc).
/// Schema errors stop it exactly as they would stop a run.
pub fn survey(dir: &Path) -> Result<Survey, IngestError> {
    if !dir.is_dir() {
        return Err(IngestError::InputDirMissing(dir.to_path_buf()));
    }
    let mut tables = BTreeMap::new();
    let mut eligible: Vec<String> = Vec::new();
    for spec in schema::all_tables() {
        let Some(paths) = table_files(dir, &spec, Layout::Flat)? else {
            continue;
        };
        let keep_ids = spec.name == "eligibility";
        let planned = paths
            .par_iter()
            .map(|p| plan_file(dir, &spec, p, keep_ids))
            .collect::<Result<Vec<_>, _>>()?;
        let mut files = Vec::with_capacity(planned.len());
        let mut first_row = 0usize;
        for (mut f, ids) in planned {
            f.first_row = first_row;
            first_row += f.rows;
            files.push(f);
            eligible.extend(ids);
        }
        tables.insert(spec.name, files);
    }
    eligible.sort_unstable();
    eligible.dedup();
    Ok(Survey { tables, eligible })
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
pub(crate) fn read_table(
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
    f: &PlannedFile,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(min: &str, max: &str, nulls: bool) -> Piece {
        Piece {
            offset: 0,
            len: 10,
            min: Some(min.into()),
            max: Some(max.into()),
            nulls,
        }
    }

    #[test]
    fn cuts_are_quantiles_of_the_eligible_persons() {
        let s = Survey {
            tables: BTreeMap::new(),
            eligible: (0..10).map(|i| format!("P{i}")).collect(),
        };
        assert_eq!(s.plan(1).cuts, Vec::<String>::new());
        assert_eq!(s.plan(2).cuts, vec!["P5"]);
        assert_eq!(s.plan(3).cuts, vec!["P3", "P6"]);
        // More buckets than persons: one person per bucket, no empty range.
        assert_eq!(s.plan(20).buckets(), 10);
    }

    fn plan_with(cuts: &[&str], pieces: Vec<Piece>) -> RangePlan {
        let mut tables = BTreeMap::new();
        tables.insert(
            "eligibility",
            vec![PlannedFile {
                relative: "eligibility.csv".into(),
                path: PathBuf::from("eligibility.csv"),
                rows: pieces.iter().map(|p| p.len).sum(),
                sha256: String::new(),
                column_aliases: BTreeMap::new(),
                stamp: Default::default(),
                first_row: 0,
                pieces,
            }],
        );
        RangePlan {
            cuts: cuts.iter().map(|c| c.to_string()).collect(),
            tables,
        }
    }

    #[test]
    fn ranges_are_half_open_and_cover_every_id() {
        let p = plan_with(&["P2", "P4"], vec![]);
        assert_eq!(p.buckets(), 3);
        assert_eq!(p.bounds(0), (None, Some("P2")));
        assert_eq!(p.bounds(1), (Some("P2"), Some("P4")));
        assert_eq!(p.bounds(2), (Some("P4"), None));
        // A piece ending exactly at a cut lies in the bucket the cut opens.
        let at_cut = piece("P2", "P2", false);
        assert!(!p.overlaps(&at_cut, 0));
        assert!(p.overlaps(&at_cut, 1) && p.contains(&at_cut, 1));
        let across = piece("P1", "P3", false);
        assert!(p.overlaps(&across, 0) && p.overlaps(&across, 1) && !p.overlaps(&across, 2));
        assert!(!p.contains(&across, 0) && !p.contains(&across, 1));
    }

    #[test]
    fn rows_without_a_person_go_to_bucket_zero() {
        let p = plan_with(&["P2"], vec![]);
        let only_nulls = Piece {
            offset: 0,
            len: 3,
            min: None,
            max: None,
            nulls: true,
        };
        assert!(p.overlaps(&only_nulls, 0) && p.contains(&only_nulls, 0));
        assert!(!p.overlaps(&only_nulls, 1));
        let late_with_nulls = piece("P5", "P6", true);
        assert!(p.overlaps(&late_with_nulls, 0) && !p.contains(&late_with_nulls, 0));
        assert!(p.overlaps(&late_with_nulls, 1) && !p.contains(&late_with_nulls, 1));
    }

    #[test]
    fn read_factor_counts_pieces_read_by_several_buckets() {
        let clustered = plan_with(
            &["P3"],
            vec![piece("P0", "P2", false), piece("P3", "P5", false)],
        );
        assert_eq!(clustered.read_factor(), 1.0);
        let mixed = plan_with(
            &["P3"],
            vec![piece("P0", "P5", false), piece("P1", "P9", false)],
        );
        assert_eq!(mixed.read_factor(), 2.0);
    }
}
