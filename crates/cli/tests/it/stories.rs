//! Member-story folders (`shared/cases/*`, `fixtures/cases/**`): finding them, reading their
//! `runs.csv`, and the run options each run asks for. Shared by the story checks (`cases`) and
//! the behaviour lock (`behaviour`).

use std::fs;
use std::path::{Path, PathBuf};

use caregap_cli::pipeline::RunOptions;
use caregap_transform::Params;
use chrono::NaiveDate;
use polars::prelude::*;

/// One row of a story's `runs.csv`.
#[derive(Debug, Clone)]
pub struct Run {
    pub name: String,
    pub input: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub as_of: NaiveDate,
    pub lookback_start: NaiveDate,
    pub coverage_types: String,
    pub value_sets: String,
    /// Optional column: a value-set map file (`--value-set-map`).
    pub value_set_map: String,
    /// Optional column: the history start (`--history-start`, docs/measures/col.md §6).
    pub history_start: String,
    pub exit: String,
    pub message_contains: String,
}

/// A CSV read with every column as text.
pub fn read_csv_strings(path: &Path) -> DataFrame {
    LazyCsvReader::new(PlRefPath::new(path.to_string_lossy().as_ref()))
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .finish()
        .and_then(|l| l.collect())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Cell `i` of text column `col` ("" when the column is absent or the cell null).
pub fn get(df: &DataFrame, col: &str, i: usize) -> String {
    df.column(col)
        .ok()
        .and_then(|c| c.str().ok().and_then(|s| s.get(i).map(str::to_string)))
        .unwrap_or_default()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|_| panic!("bad date {s}"))
}

/// The runs of the story in `dir`.
pub fn read_runs(dir: &Path) -> Vec<Run> {
    let df = read_csv_strings(&dir.join("runs.csv"));
    (0..df.height())
        .map(|i| Run {
            name: get(&df, "run", i),
            input: get(&df, "input", i),
            period_start: date(&get(&df, "period_start", i)),
            period_end: date(&get(&df, "period_end", i)),
            as_of: date(&get(&df, "as_of", i)),
            lookback_start: date(&get(&df, "lookback_start", i)),
            coverage_types: get(&df, "coverage_types", i),
            value_sets: get(&df, "value_sets", i),
            value_set_map: get(&df, "value_set_map", i),
            history_start: get(&df, "history_start", i),
            exit: get(&df, "exit", i),
            message_contains: get(&df, "message_contains", i),
        })
        .collect()
}

/// Every story folder (one with a `runs.csv`) under `base`, sorted.
pub fn story_dirs(base: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(base) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.join("runs.csv").exists() {
                    out.push(p);
                } else {
                    out.extend(story_dirs(&p));
                }
            }
        }
    }
    out.sort();
    out
}

/// The value-set override files of a run, as paths.
pub fn value_sets(dir: &Path, run: &Run) -> Vec<PathBuf> {
    run.value_sets
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|s| dir.join(s))
        .collect()
}

/// The value-set map file of a run, if any.
pub fn value_set_map(dir: &Path, run: &Run) -> Option<PathBuf> {
    (!run.value_set_map.is_empty()).then(|| dir.join(&run.value_set_map))
}

/// The options of `run` of the story in `dir`, writing into `out`.
pub fn run_options(dir: &Path, run: &Run, out: PathBuf) -> RunOptions {
    let input = if run.input.is_empty() || run.input == "." {
        dir.to_path_buf()
    } else {
        dir.join(&run.input)
    };
    let mut params = Params::for_period(run.period_start, run.period_end).unwrap();
    params.as_of = run.as_of;
    params.lookback_start = run.lookback_start;
    if !run.history_start.is_empty() {
        params.history_start = Some(date(&run.history_start));
    }
    let cov = if run.coverage_types.is_empty() {
        "medicaid".to_string()
    } else {
        run.coverage_types.clone()
    };
    let params = params.with_coverage_types(cov.split(','));
    let mut o = RunOptions::new(input, out, params);
    o.value_sets = value_sets(dir, run);
    o.value_set_map = value_set_map(dir, run);
    // Member stories are a few rows each, many of them rejected or orphaned on purpose: the
    // default 5 % data-loss limit would stop them (it has its own tests in data_loss.rs).
    o.max_reject_rate = Some(1.0);
    o
}
