//! The member-story harness (issue #17), a `harness = false` test target in the manner of
//! DataFusion's sqllogictest runner.
//!
//! Every folder with a `runs.csv` under `fixtures/cases/` (our stories) and `../shared/cases/`
//! (the reference stories of the spec, read-only) is one test trial, named
//! `fixtures/<path>` or `shared/<path>`. A trial runs the story as its `runs.csv` says, runs it
//! again in 3 hash buckets and 3 person-id ranges (the outputs must be byte-identical), and
//! checks every fact of its `expected.csv` and `expected-informative.csv` (see `facts.rs`).
//! A fact naming an output the run does not write, a column the output does not have or a
//! manifest item that does not exist fails the story; the only facts skipped are those of
//! [`story::UNMAPPED_FIELDS`], listed in the summary.
//!
//! ```text
//! cargo test -p caregap-cli --test cases                  # every story
//! cargo test -p caregap-cli --test cases -- fuh           # stories whose name contains `fuh`
//! cargo test -p caregap-cli --test cases -- --list        # the trials (cargo nextest too)
//! BLESS=1 cargo test -p caregap-cli --test cases -- fuh   # rewrite failing `expected` values
//! ```
//!
//! `BLESS=1` rewrites, in `fixtures/cases` only, the `expected` cell of each failing fact to the
//! one value the run produced (`bless.rs`); facts it cannot bless (an unknown name, no matching
//! row, matching rows that disagree, a `contains` comparison, a run that errors) stay failures.
//! `../shared/cases` is never rewritten.
//!
//! The pipeline's own messages (bucket plans, data warnings) are silenced unless
//! `--nocapture` is given; a story's expected messages are checked all the same.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use libtest_mimic::{Arguments, Failed, FormatSetting, Trial};

mod bless;
mod facts;
mod selftest;
#[path = "../it/stories.rs"]
mod stories;
mod story;

use story::{Root, Settings};

/// The repository root.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// The two story roots: label, folder, kind, and the fewest stories each must hold.
fn roots() -> [(&'static str, PathBuf, Root, usize); 2] {
    [
        ("fixtures", repo().join("fixtures/cases"), Root::Ours, 1),
        (
            "shared",
            repo().join("../shared/cases"),
            Root::Reference,
            18,
        ),
    ]
}

/// What the trials of one root found, for the summary and the range-split guard.
#[derive(Debug, Default)]
struct Tally {
    stories: usize,
    ran: usize,
    range_split: usize,
    passed: usize,
    unmapped: Vec<String>,
    blessed: Vec<String>,
}

static TALLY: Mutex<Vec<Tally>> = Mutex::new(Vec::new());

/// Folders under `base` that the walk would never run: one holding expected facts but no
/// `runs.csv`, or a story folder inside another story (`inside_story`).
fn orphan_fact_files(base: &Path, inside_story: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(base) else {
        return out;
    };
    for p in rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        let story = p.join("runs.csv").exists();
        let facts = p.join("expected.csv").exists() || p.join("expected-informative.csv").exists();
        let never_run = if inside_story {
            story || facts
        } else {
            facts && !story
        };
        if never_run {
            out.push(p.clone());
        }
        out.extend(orphan_fact_files(&p, inside_story || story));
    }
    out
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    if !args.nocapture {
        // JSON mode with no log subscriber installed: the pipeline's notices go nowhere.
        caregap_cli::log::set_json(true);
    }

    let mut trials = Vec::new();
    TALLY
        .lock()
        .unwrap()
        .resize_with(roots().len(), Tally::default);
    for (slot, (label, base, root, min)) in roots().into_iter().enumerate() {
        let dirs = stories::story_dirs(&base);
        TALLY.lock().unwrap()[slot].stories = dirs.len();
        let (count, walk_base) = (dirs.len(), base.clone());
        trials.push(Trial::test(format!("{label}/(walk)"), move || {
            if count < min {
                return Err(format!(
                    "expected at least {min} stories under {}, found {count}",
                    walk_base.display()
                )
                .into());
            }
            let orphans = orphan_fact_files(&walk_base, false);
            if orphans.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "folders the walk never runs (expected facts but no runs.csv, or a story inside a story): {}",
                    orphans
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into())
            }
        }));
        for dir in dirs {
            let rel = dir
                .strip_prefix(&base)
                .unwrap_or(&dir)
                .display()
                .to_string();
            let settings = Settings {
                bless,
                bucketed: true,
            };
            trials.push(Trial::test(format!("{label}/{rel}"), move || {
                let report = story::run_story(&dir, root, settings);
                {
                    let mut t = TALLY.lock().unwrap();
                    let t = &mut t[slot];
                    t.ran += 1;
                    t.passed += report.passed;
                    t.range_split += usize::from(report.range_split);
                    t.unmapped.extend(report.unmapped);
                    t.blessed.extend(report.blessed);
                }
                if report.failures.is_empty() {
                    Ok(())
                } else {
                    Err(Failed::from(report.failures.join("\n")))
                }
            }));
        }
    }
    trials.extend(selftest::trials());

    let pretty = matches!(args.format, None | Some(FormatSetting::Pretty));
    if !args.list && pretty && !args.quiet {
        for t in trials.iter().filter(|t| args.is_filtered_out(t)) {
            println!("test {} ... skipped by filter", t.name());
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if args.list {
        return conclusion.exit_code();
    }

    let mut guard_failed = false;
    let tally = TALLY.lock().unwrap();
    for ((label, base, _, _), t) in roots().iter().zip(tally.iter()) {
        if t.ran == 0 {
            continue;
        }
        println!(
            "cases: {label}: {} of {} stories run, {} facts and messages held",
            t.ran, t.stories, t.passed
        );
        // Only a walk that ran every story of the root can tell that none was split.
        if t.ran == t.stories && t.range_split == 0 {
            println!(
                "cases: {label}: FAILED: no story under {} was split into more than one person range, so the range comparison compared nothing",
                base.display()
            );
            guard_failed = true;
        }
        for u in &t.unmapped {
            println!("cases: skipped (unmapped reference column): {u}");
        }
        for b in &t.blessed {
            println!("cases: blessed: {b}");
        }
    }
    if bless && tally.iter().any(|t| t.ran > 0) {
        let n: usize = tally.iter().map(|t| t.blessed.len()).sum();
        println!("cases: BLESS=1 rewrote {n} fact(s) in fixtures/cases (never ../shared/cases): see `git diff fixtures/cases`");
    }
    if conclusion.has_failed() || guard_failed {
        ExitCode::from(101)
    } else {
        ExitCode::SUCCESS
    }
}
