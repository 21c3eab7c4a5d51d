//! Checking: whether a file can be read as the table it claims to be, and which of its rows
//! are accepted.
//!
//! - the file's structure and bytes (`digest_file`: SHA-256, CSV structure, Parquet footer;
//!   `check_unchanged`: the file did not change while it was read);
//! - its columns against the spec (`inspect`: required columns, one-of groups, the person id
//!   alias);
//! - every row's values (`check_table`): §8 normalisation ([`normalise`]), types, ranges,
//!   allowed values, plausible results ([`crate::sense`]), ordered dates, one-of groups and
//!   unique keys. A row that fails goes to the rejects frame with its table, file, row, column,
//!   reason and value; nothing is dropped silently.
//!
//! It never finds files ([`crate::locate`]) nor decides which rows a read takes
//! ([`crate::source`]).

pub mod normalise;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;

use crate::error::{guarded, IngestError};
use crate::layer::{SourceFile, Table, SOURCE_FILE_INDEX, SOURCE_ROW};
use crate::locate::relative;
use crate::schema::{self, dtype_of, Kind, TableSpec, LAB_DATE_COLUMNS, PERSON_ID_ALIAS};
use crate::sense;
use crate::shapes::{self, file_format, Format};
use crate::structure::{self, Stamp};
use normalise::parse_expr;

/// What the files of one table say about its columns.
#[derive(Debug, Default)]
pub(crate) struct ColumnFacts {
    /// Columns that every file having them stores in a native type ([`shapes::is_native`]):
    /// taken as they are; the others are read as text and parsed.
    pub(crate) native: BTreeSet<&'static str>,
    /// The spec columns that some file has (the others are typed nulls).
    pub(crate) present: BTreeSet<&'static str>,
    /// Text columns (ids, codes) that some file stores as a fractional number: a value with a
    /// fraction is rejected ([`shapes::fraction_expr`]).
    pub(crate) fractional: BTreeSet<&'static str>,
}

/// A damaged compressed stream is the file's problem (exit status 3); any other I/O error is
/// the system's.
pub(crate) fn damaged_or_io(
    dir: &Path,
    spec: &TableSpec,
    path: &Path,
    e: std::io::Error,
) -> IngestError {
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
pub(crate) fn digest_file(
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

pub(crate) fn empty_rejects() -> DataFrame {
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

/// Check a file's columns against the spec; returns the scan with the person id alias
/// resolved and the file's facts (without SHA-256).
pub(crate) fn inspect(
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

fn date_lit(y: i32, m: u32, d: u32) -> Expr {
    let days = chrono::NaiveDate::from_ymd_opt(y, m, d)
        .expect("valid date")
        .signed_duration_since(chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
        .num_days() as i32;
    lit(days).cast(DataType::Date)
}

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

/// Parse, normalise and check the rows of `raw` (every spec column, `__file` and `__row`):
/// the accepted rows and the rejects.
pub(crate) fn check_table(
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
