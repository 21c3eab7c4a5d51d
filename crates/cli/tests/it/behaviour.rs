//! The behaviour lock (issue #17): the SHA-256 of every output of every reference story
//! (`shared/cases`), every fixture story (`fixtures/cases`) and a 20,000-person synthetic run —
//! its generated input files too — recorded in `fixtures/behaviour/sha256.txt` before the
//! restructuring of issue #17 began, and checked unchanged on every test run.
//!
//! The run manifest is hashed without its timing fields (`timings`: seconds and peak memory).
//! In the manifest and the HTML report (which names value-set override files by path) the paths
//! of the input folder, `shared/` and the repository are written `<input>`, `<shared>` and
//! `<root>`, and the manifest's SHA-256 of the report is that of the report so written — so a
//! clone elsewhere hashes the same. Every other byte counts.
//!
//! A change that is *meant* to change outputs re-records the lock with
//! `BLESS=1 cargo test -p caregap-cli --test it behaviour` and says so in its commit: the diff of
//! `sha256.txt` then lists exactly the outputs it changed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use caregap_cli::pipeline::{self, RunOptions};
use caregap_synth::{generate, SynthConfig};
use caregap_transform::Params;
use sha2::{Digest, Sha256};

use crate::common::{root, shared};
use crate::stories::{read_runs, run_options, story_dirs};

const LOCK: &str = "fixtures/behaviour/sha256.txt";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `text` with the paths of the input folder, `shared/` and the repository written as
/// `<input>`, `<shared>` and `<root>`.
fn without_paths(text: &str, input: &Path) -> String {
    let shared = shared().canonicalize().unwrap_or_else(|_| shared());
    text.replace(&input.display().to_string(), "<input>")
        .replace(&shared.display().to_string(), "<shared>")
        .replace(&root().display().to_string(), "<root>")
}

/// A text output (the report names value-set override files by their path) without paths.
fn portable(name: &str, bytes: Vec<u8>, input: &Path) -> Vec<u8> {
    if name.ends_with(".html") {
        without_paths(&String::from_utf8(bytes).expect("UTF-8 report"), input).into_bytes()
    } else {
        bytes
    }
}

/// The manifest without timings and paths; the report's SHA-256 in it is that of the report
/// without paths.
fn manifest_without_timings(bytes: &[u8], dir: &Path, input: &Path) -> Vec<u8> {
    let mut m: serde_json::Value = serde_json::from_slice(bytes).expect("manifest is JSON");
    let obj = m.as_object_mut().expect("manifest is an object");
    obj.remove("timings");
    if let Some(h) = obj
        .get_mut("output_sha256")
        .and_then(|o| o.get_mut("report.html"))
    {
        let report = fs::read(dir.join("report.html")).expect("report.html beside the manifest");
        *h = serde_json::Value::String(sha(&portable("report.html", report, input)));
    }
    without_paths(&serde_json::to_string_pretty(&m).unwrap(), input).into_bytes()
}

/// Hash every file under `dir` as `prefix/relative/path`.
fn hash_tree(dir: &Path, prefix: &str, input: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let key = format!("{prefix}/{name}");
        if p.is_dir() {
            hash_tree(&p, &key, input, out);
        } else {
            let bytes = fs::read(&p).unwrap();
            let bytes = if name == "run_manifest.json" {
                manifest_without_timings(&bytes, dir, input)
            } else {
                portable(&name, bytes, input)
            };
            out.insert(key, sha(&bytes));
        }
    }
}

fn story_hashes(base: &Path, label: &str, out: &mut BTreeMap<String, String>) {
    for dir in story_dirs(base) {
        let rel = dir.strip_prefix(base).unwrap().display().to_string();
        for run in read_runs(&dir) {
            if run.exit == "nonzero" {
                continue;
            }
            let tmp = tempfile::tempdir().unwrap();
            let opts = run_options(&dir, &run, tmp.path().join("out"));
            pipeline::run(&opts).unwrap_or_else(|e| panic!("{label}/{rel}/{}: {e:#}", run.name));
            hash_tree(
                &opts.out,
                &format!("{label}/{rel}/{}", run.name),
                &opts.input,
                out,
            );
        }
    }
}

fn synthetic_hashes(out: &mut BTreeMap<String, String>) {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    let cfg = SynthConfig {
        persons: 20_000,
        seed: 17,
        ..Default::default()
    };
    generate(&cfg, &input).unwrap();
    hash_tree(&input, "synthetic-20000/input", &input, out);
    let mut opts = RunOptions::new(
        input.clone(),
        tmp.path().join("out"),
        Params::calendar_year(cfg.last_year),
    );
    opts.buckets = Some(1);
    pipeline::run(&opts).unwrap();
    hash_tree(&opts.out, "synthetic-20000/out", &input, out);
}

fn current() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    story_hashes(&shared().join("cases"), "shared", &mut out);
    story_hashes(&root().join("fixtures/cases"), "fixtures", &mut out);
    synthetic_hashes(&mut out);
    out
}

fn render(h: &BTreeMap<String, String>) -> String {
    let mut s = String::from(
        "# SHA-256 of every output of every member story and of a 20,000-person synthetic run\n\
         # (crates/cli/tests/it/behaviour.rs; re-record with BLESS=1 only for a deliberate change)\n",
    );
    for (k, v) in h {
        s.push_str(&format!("{v}  {k}\n"));
    }
    s
}

fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (h, k) = l.split_once("  ").expect("`hash  path` lines");
            (k.to_string(), h.to_string())
        })
        .collect()
}

#[test]
fn outputs_are_byte_identical_to_the_recorded_behaviour() {
    let now = current();
    assert!(
        now.len() > 300,
        "only {} outputs were hashed: are the stories there?",
        now.len()
    );
    let path = root().join(LOCK);
    if std::env::var("BLESS").is_ok_and(|v| v == "1") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, render(&now)).unwrap();
        return;
    }
    let recorded = parse(
        &fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (record it with BLESS=1)", path.display())),
    );
    let mut problems = Vec::new();
    for (k, v) in &recorded {
        match now.get(k) {
            None => problems.push(format!("no longer written: {k}")),
            Some(h) if h != v => problems.push(format!("changed: {k}")),
            _ => {}
        }
    }
    for k in now.keys().filter(|k| !recorded.contains_key(*k)) {
        problems.push(format!("new output, not in the lock: {k}"));
    }
    assert!(
        problems.is_empty(),
        "{} of {} outputs differ from {LOCK}:\n{}",
        problems.len(),
        recorded.len(),
        problems.join("\n")
    );
}
