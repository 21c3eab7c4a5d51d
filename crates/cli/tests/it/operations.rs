//! Stopping and failing well, as a scheduler sees it: SIGTERM and SIGINT clean up and exit
//! 128 + signal, a SIGKILLed run's leftovers are removed by the next run, symlinked and
//! user-populated output folders, option checks (exit 2 before any data is read), JSON-only
//! stderr with `--log-format json`, and the panic hook (exit 1, one line).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn caregap() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_caregap"));
    // The panic tests check that no backtrace is printed unless asked for.
    c.env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

const ELIG: &str =
    "person_id,birth_date,death_date,enrollment_start_date,enrollment_end_date,payer,payer_type\n\
A1,1980-01-01,,2024-01-01,2025-12-31,MO HealthNet,medicaid\n";
const CLAIMS: &str = "claim_id,claim_line_number,claim_type,person_id,claim_start_date,claim_end_date,bill_type_code,revenue_center_code,place_of_service_code,hcpcs_code,paid_amount,diagnosis_code_1\n\
C1,1,professional,A1,2025-03-01,2025-03-01,,,11,99213,80,F41.1\n";

/// A one-person input in `dir/in`.
fn tiny(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("eligibility.csv"), ELIG).unwrap();
    fs::write(input.join("medical_claim.csv"), CLAIMS).unwrap();
    input
}

fn run(input: &Path, out: &Path, extra: &[&str]) -> Output {
    caregap()
        .arg("run")
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--bootstrap-draws", "10"])
        .args(extra)
        .output()
        .unwrap()
}

/// Names and bytes of the files in `dir`.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Entries of `dir` whose name contains `what` (`staging`, `partition`).
fn named(dir: &Path, what: &str) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(what))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Signals and leftovers.

/// A 20,000-person synthetic input (made once for every test here): long enough to run that a
/// signal lands mid-run.
fn big_input() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("synth");
        let o = caregap()
            .args(["synth", "--persons", "20000", "--seed", "7", "--out"])
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        (d, input)
    })
    .1
}

/// Start a hash-bucketed run of the big input into `out` and wait until it is partitioning
/// (the staging folder and the temporary partition exist, and the partition has files).
fn start_big_run(out: &Path) -> Child {
    let mut child = caregap()
        .arg("run")
        .arg("--input")
        .arg(big_input())
        .arg("--out")
        .arg(out)
        .args(["--bucketing", "hash", "--buckets", "4"])
        .args(["--bootstrap-draws", "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let parent = out.parent().unwrap();
    let partition = parent.join(format!(
        ".{}.partition-{}",
        out.file_name().unwrap().to_string_lossy(),
        child.id()
    ));
    let t = Instant::now();
    while !(partition.is_dir()
        && fs::read_dir(&partition).is_ok_and(|d| d.count() > 1)
        && !named(parent, "staging").is_empty())
    {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended before it was stopped: {status}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "no partition in sight"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn send(child: &Child, signal: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{signal} {}", child.id()))
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A previous output in `dir/out` (from the one-person input).
fn previous_output(dir: &Path) -> (PathBuf, Vec<(String, Vec<u8>)>) {
    let out = dir.join("out");
    let o = run(&tiny(dir), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = files(&out);
    (out, before)
}

fn stopped_cleanly(signal: &str, status: i32) {
    let d = tempfile::tempdir().unwrap();
    let (out, before) = previous_output(d.path());
    let child = start_big_run(&out);
    send(&child, signal);
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(status), "{err}");
    assert!(err.contains(&format!("stopped by SIG{signal}")), "{err}");
    assert!(err.contains("no output was replaced"), "{err}");
    assert!(named(d.path(), "staging").is_empty(), "{err}");
    assert!(named(d.path(), "partition").is_empty(), "{err}");
    assert_eq!(files(&out), before, "the previous output is untouched");
}

#[test]
fn sigterm_removes_staging_and_partition_and_exits_143() {
    stopped_cleanly("TERM", 143);
}

#[test]
fn sigint_removes_staging_and_partition_and_exits_130() {
    stopped_cleanly("INT", 130);
}

#[test]
fn a_sigkilled_runs_leftovers_are_removed_by_the_next_run_on_that_output() {
    let d = tempfile::tempdir().unwrap();
    let (out, before) = previous_output(d.path());
    // Another output beside it, with a killed run's leftovers of its own.
    let other = d.path().join(".other.staging-4242");
    fs::create_dir(&other).unwrap();
    fs::write(other.join(caregap_cli::outdir::MARKER), "").unwrap();
    let mut child = start_big_run(&out);
    send(&child, "KILL");
    child.wait().unwrap();
    assert_eq!(files(&out), before, "the previous output is untouched");
    assert_eq!(named(d.path(), ".out.staging-").len(), 1);
    assert_eq!(named(d.path(), ".out.partition-").len(), 1);
    // The next run on `out` removes its leftovers, and nobody else's.
    let o = run(&tiny(d.path()), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("removed what an earlier run"),
        "{}",
        stderr(&o)
    );
    assert!(named(d.path(), ".out.").iter().all(|n| n == ".out.lock"));
    assert!(other.join(caregap_cli::outdir::MARKER).exists());
}

// ---------------------------------------------------------------------------------------------
// Output folders.

#[test]
fn a_symlinked_out_is_locked_and_replaced_as_its_target() {
    let d = tempfile::tempdir().unwrap();
    let input = tiny(d.path());
    let real = d.path().join("runs/2025");
    assert_eq!(run(&input, &real, &[]).status.code(), Some(0));
    let link = d.path().join("current");
    std::os::unix::fs::symlink("runs/2025", &link).unwrap();
    let o = run(&input, &link, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_link(&link).unwrap(), PathBuf::from("runs/2025"));
    assert!(link.join("run_manifest.json").is_file());
    assert!(
        !d.path().join(".current.lock").exists(),
        "the target is locked"
    );
    // A run holding the target's lock stops a run aimed at the link.
    let held = caregap_cli::outdir::OutputLock::acquire(&real).unwrap();
    let o = run(&input, &link, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("another caregap run"), "{}", stderr(&o));
    drop(held);
}

#[test]
fn an_output_holding_user_files_is_refused_and_kept() {
    let d = tempfile::tempdir().unwrap();
    let input = tiny(d.path());
    let out = d.path().join("out");
    assert_eq!(run(&input, &out, &[]).status.code(), Some(0));
    fs::write(out.join("my_notes.txt"), "keep me").unwrap();
    let before = files(&out);
    let o = run(&input, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds files caregap did not write (my_notes.txt)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(&out), before);
    assert!(named(d.path(), "staging").is_empty());
    // A folder with only a run_manifest.json of the user's is not an output.
    let fake = d.path().join("fake");
    fs::create_dir(&fake).unwrap();
    fs::write(fake.join("run_manifest.json"), "{}").unwrap();
    let o = run(&input, &fake, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not a caregap output"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn partition_bucket_and_merge_outputs_are_guarded_too() {
    let d = tempfile::tempdir().unwrap();
    let input = tiny(d.path());
    let bucketed = d.path().join("bucketed");
    let partition = |out: &Path| {
        caregap()
            .args(["partition", "--buckets", "2", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    assert_eq!(partition(&bucketed).status.code(), Some(0));
    assert!(bucketed.join("_partition.json").is_file());
    assert!(!bucketed.join(caregap_cli::outdir::MARKER).exists());
    // A rerun replaces it; a user's file in it stops the rerun.
    assert_eq!(partition(&bucketed).status.code(), Some(0));
    fs::write(bucketed.join("README.txt"), "mine").unwrap();
    let o = partition(&bucketed);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("README.txt"), "{}", stderr(&o));
    fs::remove_file(bucketed.join("README.txt")).unwrap();
    // A mistyped --out never replaces another kind of output (here a run's).
    let live = d.path().join("live");
    assert_eq!(run(&input, &live, &[]).status.code(), Some(0));
    let o = partition(&live);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds a run's output"),
        "{}",
        stderr(&o)
    );
    assert!(live.join("run_manifest.json").is_file());
    // Bucket partials and the merge.
    let mut partials = vec![];
    for i in 0..2 {
        let p = d.path().join(format!("partial-{i}"));
        let o = caregap()
            .args(["run", "--bootstrap-draws", "10", "--bucket", &i.to_string()])
            .arg("--input")
            .arg(&bucketed)
            .arg("--out")
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        partials.push(p);
    }
    fs::write(partials[0].join("notes.md"), "mine").unwrap();
    let o = caregap()
        .args(["run", "--bootstrap-draws", "10", "--bucket", "0"])
        .arg("--input")
        .arg(&bucketed)
        .arg("--out")
        .arg(&partials[0])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("notes.md"), "{}", stderr(&o));
    fs::remove_file(partials[0].join("notes.md")).unwrap();
    let merged = d.path().join("merged");
    fs::create_dir(&merged).unwrap();
    fs::write(merged.join("keep.csv"), "mine").unwrap();
    let o = caregap()
        .args(["merge", "--bootstrap-draws", "10", "--inputs"])
        .args(&partials)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not a caregap output"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(merged.join("keep.csv")).unwrap(), "mine");
}

// ---------------------------------------------------------------------------------------------
// Options.

#[test]
fn options_out_of_bounds_or_at_odds_exit_2_before_reading_any_data() {
    let d = tempfile::tempdir().unwrap();
    // The input does not exist: an option error must come first (exit 2, not 3).
    let input = d.path().join("no-such-input");
    let out = d.path().join("out");
    for (args, says) in [
        (
            &["--as-of", "2030-01-01"][..],
            "outside the measurement period 2025-01-01..2025-12-31",
        ),
        (&["--as-of", "2024-12-31"], "outside the measurement period"),
        (
            &[
                "--period",
                "2025-04-01..2026-03-31",
                "--as-of",
                "2025-03-31",
            ],
            "outside the measurement period 2025-04-01..2026-03-31",
        ),
        (
            &["--lookback-start", "2025-06-01"],
            "is after the period start 2025-01-01",
        ),
        (&["--suppression-threshold", "0"], "must be from 1 to 19"),
        (&["--suppression-threshold", "20"], "must be from 1 to 19"),
        (&["--buckets", "0"], "must be from 1 to 4096"),
        (&["--buckets", "100000"], "must be from 1 to 4096"),
        (&["--threads", "0"], "must be from 1 to 1024"),
        (&["--threads", "100000"], "must be from 1 to 1024"),
        (
            &["--period", "2025-01-01..3025-12-31"],
            "outside the years 1900",
        ),
    ] {
        let o = run(&input, &out, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    let o = caregap()
        .args(["partition", "--buckets", "5000", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written");
}

#[test]
fn the_widest_allowed_dates_run() {
    let d = tempfile::tempdir().unwrap();
    let input = tiny(d.path());
    let o = run(
        &input,
        &d.path().join("out"),
        &[
            "--as-of",
            "2025-01-01",
            "--lookback-start",
            "2025-01-01",
            "--suppression-threshold",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn more_buckets_than_persons_are_capped_with_a_warning() {
    let d = tempfile::tempdir().unwrap();
    let input = tiny(d.path());
    for bucketing in ["hash", "range"] {
        let out = d.path().join(bucketing);
        let o = run(
            &input,
            &out,
            &["--buckets", "4096", "--bucketing", bucketing],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("--buckets 4096 is more than the 1 person(s) in eligibility"),
            "{bucketing}: {}",
            stderr(&o)
        );
        assert!(out.join("run_manifest.json").is_file());
    }
}

// ---------------------------------------------------------------------------------------------
// JSON logs and the panic hook.

/// Every stderr line is a JSON object with a level and fields; returns them.
fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    let err = stderr(o);
    assert!(!err.trim().is_empty(), "something is logged");
    err.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert!(v["level"].is_string() && v["fields"].is_object(), "{l}");
            v
        })
        .collect()
}

#[test]
fn json_mode_writes_only_json_lines_on_stderr() {
    let d = tempfile::tempdir().unwrap();
    let input = tiny(d.path());
    // Success with warnings (coverage type, bucket cap) and notices (the bucket plan).
    let o = run(
        &input,
        &d.path().join("out"),
        &[
            "--log-format",
            "json",
            "--coverage-types",
            "medicaid,nothing",
            "--buckets",
            "3",
            "--bucketing",
            "hash",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let msgs: Vec<String> = lines
        .iter()
        .map(|v| v["fields"]["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains("match no payer_type")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("is more than")), "{msgs:?}");
    assert!(
        msgs.iter().any(|m| m.starts_with("caregap: wrote")),
        "the summary reaches stderr too: {msgs:?}"
    );
    // Failures: a run error, an option error, an argument clap rejects, leftovers removed.
    let failing: [&[&str]; 3] = [
        &["run", "--input", "/no/such", "--out", "/tmp/x"],
        &[
            "run",
            "--input",
            "/no/such",
            "--out",
            "/tmp/x",
            "--threads",
            "0",
        ],
        &["run", "--no-such-option"],
    ];
    for (args, status) in failing.into_iter().zip([3, 2, 2]) {
        let o = caregap()
            .args(args)
            .args(["--log-format", "json"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(status), "{args:?}: {}", stderr(&o));
        let lines = json_lines(&o);
        assert_eq!(lines.last().unwrap()["fields"]["exit_status"], status);
    }
    // A stopped run's line is JSON too.
    let out = d.path().join("big");
    let mut child = caregap()
        .arg("--log-format=json")
        .arg("run")
        .arg("--input")
        .arg(big_input())
        .arg("--out")
        .arg(&out)
        .args(["--bucketing", "hash", "--buckets", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while named(d.path(), "partition").is_empty() {
        assert!(t.elapsed() < Duration::from_secs(300));
        assert!(child.try_wait().unwrap().is_none());
        std::thread::sleep(Duration::from_millis(20));
    }
    send(&child, "TERM");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    let last = json_lines(&o).pop().unwrap();
    assert_eq!(last["fields"]["exit_status"], 143);
    assert_eq!(last["fields"]["signal"], "SIGTERM");
}

#[test]
fn a_panic_is_one_line_and_exit_1() {
    let d = tempfile::tempdir().unwrap();
    let input = tiny(d.path());
    for place in ["main", "worker"] {
        let o = caregap()
            .env("CAREGAP_TEST_PANIC", place)
            .arg("run")
            .arg("--input")
            .arg(&input)
            .arg("--out")
            .arg(d.path().join("out"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(
            lines[0].starts_with("caregap: internal error: CAREGAP_TEST_PANIC is set")
                && lines[0].ends_with("(please report this)"),
            "{err}"
        );
        // JSON mode: one JSON line.
        let o = caregap()
            .env("CAREGAP_TEST_PANIC", place)
            .args(["--log-format", "json", "run", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(d.path().join("out"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let lines = json_lines(&o);
        assert_eq!(lines.len(), 1, "{}", stderr(&o));
        assert_eq!(lines[0]["fields"]["exit_status"], 1);
        assert!(lines[0]["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("internal error"));
        assert!(lines[0]["fields"].get("backtrace").is_none());
    }
    // RUST_BACKTRACE asks for the backtrace.
    let o = caregap()
        .env("CAREGAP_TEST_PANIC", "main")
        .env("RUST_BACKTRACE", "1")
        .args(["run", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(d.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).lines().count() > 3, "{}", stderr(&o));
}
