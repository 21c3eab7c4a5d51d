//! Reading an input folder: the API ([`read_input_layer`], [`read_input_layer_in`],
//! [`read_input_layer_range`], [`validate`]) that assembles the [`InputLayer`] from one source
//! per table ([`crate::source`]) and sorts the rejects.
//!
//! Each table is one file (`T.csv`, `T.parquet`) or a folder of part files (`T/*.csv`,
//! `T/*.parquet`, read in file-name order). Every column is first read as text (so codes keep
//! their leading zeros), then parsed and normalised as spec §8 says. Rows that fail a check go
//! to the rejects frame with table, file, 1-based row (counted across part files), column and
//! reason; nothing is dropped silently.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use crate::error::{guarded, IngestError};
use crate::locate::relative;
use crate::schema;
use crate::source::partition::{self, PartitionManifest};
use crate::source::ranges::{self, RangePlan};
use crate::source::{flat, scan_file};

use crate::check::ColumnFacts;
use crate::layer::absent_table;
// The names other crates know these by.
pub use crate::layer::{empty_table, InputLayer, Layout, SourceFile, Table};
pub use crate::locate::locate_table;
pub use crate::schema::dtype_of;

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
    /// [`Layout::Flat`] is the flat source; the others are the partition's.
    Layout(Layout),
    /// A person range.
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
    let partition: Option<PartitionManifest> = match source {
        Source::Layout(Layout::Flat) | Source::Range(..) => None,
        Source::Layout(layout) => Some(partition::manifest_for(dir, layout)?),
    };
    let mut tables = BTreeMap::new();
    let mut rejects = Vec::new();
    for spec in schema::all_tables() {
        if only.is_some_and(|o| !o.contains(&spec.name)) {
            tables.insert(spec.name, absent_table(&spec));
            continue;
        }
        let (table, rej) = match (source, &partition) {
            (Source::Layout(layout), Some(pm)) => partition::read_table(dir, &spec, layout, pm)?,
            (Source::Layout(_), None) => flat::read_table(dir, &spec)?,
            (Source::Range(plan, b), _) => ranges::read_table(dir, &spec, plan, b)?,
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
        match flat::read_table(dir, &spec) {
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
mod file_tests {
    use std::fs;

    use super::*;
    use crate::check::check_unchanged;
    use crate::source::source_file_info;

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
