//! Running one story: each run of its `runs.csv`, the same run in 3 hash buckets and in 3
//! person-id ranges (byte-identical outputs), its expected messages, and every fact of its
//! `expected.csv` and `expected-informative.csv`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use caregap_cli::pipeline::{self, Bucketing};
use polars::prelude::*;
use serde_json::Value;

use crate::bless;
use crate::facts::{self, check_frame, check_manifest, nearest, Fact, Failure, MANIFEST_OUTPUTS};
use crate::stories::{self, read_runs};

/// Which root a story lives under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `fixtures/cases`: our stories; `BLESS=1` may rewrite them.
    Ours,
    /// `../shared/cases`: the read-only reference stories from the spec; never rewritten.
    Reference,
}

/// How to run a story.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `BLESS=1`: rewrite the failing facts of our stories to what the run produced.
    pub bless: bool,
    /// Also run in 3 hash buckets and 3 person-id ranges and compare the outputs byte for byte.
    pub bucketed: bool,
}

/// Extra columns of the reference implementation with no caregap equivalent: the reference
/// README says "map them to your equivalent, or skip them". These are the only facts the
/// harness skips, only in the reference stories, and each skip is listed in the summary.
pub const UNMAPPED_FIELDS: &[(&str, &str, &str)] = &[(
    "care_gaps",
    "detail",
    "the reference implementation's free-text column (hba1c_parsing: the value read, `value=9.1`); \
     caregap has no free-text column, and the fact behind it (H7's latest result decides: open) \
     is in expected.csv",
)];

/// The columns `runs.csv` may have (stories.rs reads them).
const RUN_COLUMNS: &[&str] = &[
    "run",
    "input",
    "period_start",
    "period_end",
    "as_of",
    "lookback_start",
    "coverage_types",
    "value_sets",
    "value_set_map",
    "history_start",
    "exit",
    "message_contains",
];

/// What running a story found.
#[derive(Debug, Default)]
pub struct Report {
    /// Facts and expected messages that held.
    pub passed: usize,
    /// Facts skipped under [`UNMAPPED_FIELDS`], as `file:line [...]: reason`.
    pub unmapped: Vec<String>,
    /// Whether some run was split into more than one person range (so that the range
    /// comparison compared something).
    pub range_split: bool,
    /// Facts rewritten by `BLESS=1`, as `file:line [...]: old -> new`.
    pub blessed: Vec<String>,
    /// Everything that failed, one line each.
    pub failures: Vec<String>,
}

/// `path` as messages show it: from the repository root when it is under it.
pub fn shown(path: &Path) -> String {
    path.strip_prefix(crate::repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Problems with the columns of `runs.csv` (an unknown column would be silently ignored).
fn check_runs_header(dir: &Path) -> Vec<String> {
    let path = dir.join("runs.csv");
    let runs = shown(&path);
    let mut rdr = match csv::Reader::from_path(&path) {
        Ok(r) => r,
        Err(e) => return vec![format!("{runs}: {e}")],
    };
    match rdr.headers() {
        Err(e) => vec![format!("{runs}: {e}")],
        Ok(h) => h
            .iter()
            .filter(|c| !RUN_COLUMNS.contains(c))
            .map(|c| {
                format!(
                    "{runs}:1: unknown column `{c}`{}",
                    nearest(c, RUN_COLUMNS.iter().copied())
                )
            })
            .collect(),
    }
}

/// The output files of `a` (all but the run manifest, whose timings differ) that are missing
/// from `b`, differ from it byte for byte, or are in `b` only.
fn differing_outputs(a: &Path, b: &Path) -> Vec<String> {
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n != "run_manifest.json")
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let (na, nb) = (names(a), names(b));
    let mut out: Vec<String> = na
        .iter()
        .filter(|n| fs::read(a.join(n)).ok() != fs::read(b.join(n)).ok())
        .cloned()
        .collect();
    out.extend(nb.into_iter().filter(|n| !na.contains(n)));
    out
}

/// The number of buckets the run in `out` was computed in (1: one pass), from its timings.
fn bucket_count(out: &Path) -> usize {
    let m: Value = fs::read(out.join("run_manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    m["timings"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|s| s["stage"].as_str())
                .filter(|s| s.starts_with("bucket ") && s.ends_with(": ingest"))
                .count()
        })
        .unwrap_or(0)
        .max(1)
}

/// Run the story in `dir` (named `label` in messages).
pub fn run_story(dir: &Path, root: Root, settings: Settings) -> Report {
    let mut report = Report::default();
    report.failures.extend(check_runs_header(dir));
    let mut facts: Vec<Fact> = Vec::new();
    for name in ["expected.csv", "expected-informative.csv"] {
        let path = dir.join(name);
        match facts::read_facts(&path, &shown(&path)) {
            Ok(f) => facts.extend(f),
            Err(problems) => report.failures.extend(problems),
        }
    }
    if !report.failures.is_empty() {
        return report;
    }
    let runs = read_runs(dir);
    let run_names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    for r in &runs {
        if !matches!(r.exit.as_str(), "0" | "nonzero") {
            report.failures.push(format!(
                "{}: run `{}`: exit is `0` or `nonzero`, not `{}`",
                shown(&dir.join("runs.csv")),
                r.name,
                r.exit
            ));
        }
    }
    for f in &facts {
        match runs.iter().find(|r| r.name == f.run) {
            None => report.failures.push(format!(
                "{}: run `{}` is not in runs.csv{} (runs: {})",
                f.at(),
                f.run,
                nearest(&f.run, run_names.iter().copied()),
                run_names.join(", ")
            )),
            Some(r) if r.exit == "nonzero" => report.failures.push(format!(
                "{}: run `{}` must fail, so it writes no outputs to assert facts about",
                f.at(),
                f.run
            )),
            Some(_) => {}
        }
    }
    if !report.failures.is_empty() {
        return report;
    }

    let mut to_bless: Vec<(&Fact, String)> = Vec::new();
    for run in &runs {
        let ctx = format!("run `{}`", run.name);
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let mut opts = stories::run_options(dir, run, tmp.path().join("out"));
        if root == Root::Reference {
            // The reference stories pin the outputs of spec v1.3's measure set (a worklist's
            // exact rows, a summary's measures): measures added since (issue #18) would add
            // rows they cannot know about, so those stories run v1.3's measures only.
            opts.measures = Some(
                caregap_transform::measures::all()
                    .filter(|m| m.version == "spec 1.3")
                    .map(|m| m.id.to_string())
                    .collect(),
            );
        }
        let result = pipeline::run(&opts);
        let wants: Vec<&str> = run
            .message_contains
            .split(';')
            .filter(|s| !s.is_empty())
            .collect();
        if run.exit == "nonzero" {
            match result {
                Ok(_) => report
                    .failures
                    .push(format!("{ctx}: expected a hard error, the run succeeded")),
                Err(e) => {
                    let msg = format!("{e:#}");
                    for w in &wants {
                        if msg.contains(w) {
                            report.passed += 1;
                        } else {
                            report
                                .failures
                                .push(format!("{ctx}: the error `{msg}` does not mention `{w}`"));
                        }
                    }
                }
            }
            continue;
        }
        let out = match result {
            Ok(o) => o,
            Err(e) => {
                let n = facts.iter().filter(|f| f.run == run.name).count();
                report.failures.push(format!(
                    "{ctx} failed, so its {n} facts were not checked{}: {e:#}",
                    if settings.bless { " (nor blessed)" } else { "" }
                ));
                continue;
            }
        };
        if settings.bucketed {
            // The same story in 3 person buckets, merged, gives byte-identical outputs,
            // whether the buckets are hash buckets or person-id ranges.
            for bucketing in [Bucketing::Hash, Bucketing::Range] {
                let mut b = opts.clone();
                b.out = tmp.path().join(format!("out_b3_{bucketing:?}"));
                b.buckets = Some(3);
                b.bucketing = bucketing;
                match pipeline::run(&b) {
                    Ok(_) => {
                        if bucketing == Bucketing::Range && bucket_count(&b.out) > 1 {
                            report.range_split = true;
                        }
                        for diff in differing_outputs(&opts.out, &b.out) {
                            report.failures.push(format!(
                                "{ctx}: {diff} differs between a whole run and 3 merged {bucketing:?} buckets"
                            ));
                        }
                    }
                    Err(e) => report.failures.push(format!(
                        "{ctx}: the run in 3 {bucketing:?} buckets failed: {e:#}"
                    )),
                }
            }
        }
        let messages = out.warnings.join("\n");
        for w in &wants {
            if messages.contains(w) {
                report.passed += 1;
            } else {
                report.failures.push(format!(
                    "{ctx}: the messages `{messages}` do not mention `{w}`"
                ));
            }
        }
        let outputs = Outputs::read(dir, run, &opts.out);
        for f in facts.iter().filter(|f| f.run == run.name) {
            if let Some((_, _, why)) = UNMAPPED_FIELDS
                .iter()
                .find(|(o, c, _)| *o == f.output && *c == f.field)
                .filter(|_| root == Root::Reference)
            {
                report.unmapped.push(format!("{}: {why}", f.at()));
                continue;
            }
            match outputs.check(f) {
                Ok(()) => report.passed += 1,
                Err(Failure {
                    actual: Some(actual),
                    ..
                }) if settings.bless && root == Root::Ours => {
                    report
                        .blessed
                        .push(format!("{}: {} -> {actual}", f.at(), f.expected));
                    to_bless.push((f, actual));
                }
                Err(Failure { msg, actual }) => {
                    let note = match (settings.bless, root, actual) {
                        (true, Root::Reference, _) => {
                            " (not blessed: BLESS=1 never rewrites ../shared/cases, the read-only reference)"
                        }
                        (true, Root::Ours, None) => " (not blessed)",
                        _ => "",
                    };
                    let run_note = if runs.len() > 1 {
                        format!(" (run `{}`)", run.name)
                    } else {
                        String::new()
                    };
                    report
                        .failures
                        .push(format!("{}{run_note}: {msg}{note}", f.at()));
                }
            }
        }
    }
    if report.passed + report.unmapped.len() + to_bless.len() == 0 && report.failures.is_empty() {
        report.failures.push(
            "the story asserts nothing (no fact in expected.csv, no message_contains)".into(),
        );
    }
    let mut by_file: BTreeMap<&str, Vec<(&Fact, String)>> = BTreeMap::new();
    for (f, v) in to_bless {
        by_file.entry(f.file.as_str()).or_default().push((f, v));
    }
    for (file, edits) in by_file {
        let path = dir.join(file);
        if let Err(e) = bless::rewrite(&path, &edits) {
            report
                .failures
                .push(format!("{}: blessing failed: {e}", shown(&path)));
        }
    }
    report
}

/// What a run wrote, read once for all its facts.
struct Outputs {
    /// `name` -> the frame of `name.parquet`, or why it could not be read.
    tables: BTreeMap<String, Result<DataFrame, String>>,
    /// The `caregap value-sets export` frame of the run's value sets.
    value_sets: Result<DataFrame, String>,
    manifest: Result<Value, String>,
}

impl Outputs {
    fn read(dir: &Path, run: &stories::Run, out: &Path) -> Outputs {
        let mut tables = BTreeMap::new();
        for e in fs::read_dir(out).into_iter().flatten().flatten() {
            let p = e.path();
            if let Some(name) = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".parquet"))
            {
                let frame = fs::File::open(&p)
                    .map_err(|e| e.to_string())
                    .and_then(|f| ParquetReader::new(f).finish().map_err(|e| e.to_string()));
                tables.insert(name.to_string(), frame);
            }
        }
        let value_sets = pipeline::load_value_sets(
            &stories::value_sets(dir, run),
            stories::value_set_map(dir, run).as_deref(),
        )
        .and_then(|v| Ok(v.to_frame()?))
        .map_err(|e| format!("{e:#}"));
        let manifest = fs::read(out.join("run_manifest.json"))
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
        Outputs {
            tables,
            value_sets,
            manifest,
        }
    }

    /// Every output name a fact may use for this run.
    fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.tables.keys().map(String::as_str).collect();
        v.push("value_sets_in_force");
        v.extend(MANIFEST_OUTPUTS);
        v
    }

    fn check(&self, f: &Fact) -> Result<(), Failure> {
        let unreadable = |what: &str, e: &String| Failure::hard(format!("{what}: {e}"));
        if MANIFEST_OUTPUTS.contains(&f.output.as_str()) {
            let m = self
                .manifest
                .as_ref()
                .map_err(|e| unreadable("run_manifest.json", e))?;
            return check_manifest(m, f);
        }
        if f.output == "value_sets_in_force" {
            let df = self
                .value_sets
                .as_ref()
                .map_err(|e| unreadable("the value sets in force", e))?;
            return check_frame(df, &f.output, f);
        }
        match self.tables.get(&f.output) {
            Some(Ok(df)) => check_frame(df, &f.output, f),
            Some(Err(e)) => Err(unreadable(&format!("{}.parquet", f.output), e)),
            None => {
                let names = self.names();
                Err(Failure::hard(format!(
                    "unknown output `{}`{}: the run writes {}",
                    f.output,
                    nearest(&f.output, names.iter().copied()),
                    names.join(", ")
                )))
            }
        }
    }
}
