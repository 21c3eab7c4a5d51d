//! State-scale benchmark (issue #9): `cargo bench -p caregap-cli --bench scale`
//! [`-- --persons 100000,300000,1000000 --draws 1000 --run-args "--memory-limit 6GiB"`].
//! Without `--run-args` it times a plain `caregap run`, which budgets half the machine's memory
//! (at 1,000,000 persons on 24 GiB: 29 person-range buckets); `--run-args "--buckets 1"`
//! forces one pass, `--bucketing hash` the partition path of unclustered input.
//!
//! With `--scale-out 1,4,16` (issue #10) it times, instead of one run, `caregap partition`
//! into N buckets, each `caregap run --bucket i` as its own process (as a Spark task would run
//! it) and `caregap merge`, with wall time and peak memory of each, into
//! `target/bench-results/scale_out.csv`.
//!
//! For each size it generates a synthetic population over 2023–2025 once (cached as Parquet
//! under `target/bench-data/`), then times the full `caregap run` (ingest, conditions,
//! eligibility, every measure, utilization with the bootstrap, Parquet outputs and the HTML
//! report) in a fresh process, and prints rows, wall time, rows per second and peak resident
//! memory for each stage and in total. Every figure is appended to
//! `target/bench-results/scale.csv` with the commit, for comparison across commits.
//! Performance is measured here, never in tests.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_caregap");
    let sizes: Vec<usize> = arg("--persons", "100000,300000,1000000")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let draws = arg("--draws", "1000");
    let run_args: Vec<String> = arg("--run-args", "")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let scale_out: Vec<u32> = arg("--scale-out", "")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let target = root().join("target");
    let results = target.join("bench-results");
    fs::create_dir_all(&results).unwrap();
    let csv = results.join("scale.csv");
    let mut out = append_csv(
        &csv,
        "commit,persons,stage,rows,seconds,rows_per_second,peak_rss_mb",
    );
    let commit = commit();
    for n in sizes {
        let data = target.join(format!("bench-data/scale-p{n}-s1"));
        if !data.join("ground_truth.parquet").exists() {
            let t = Instant::now();
            let o = Command::new(bin)
                .args(["synth", "--persons", &n.to_string(), "--seed", "1", "--out"])
                .arg(&data)
                .output()
                .expect("caregap synth");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let text = String::from_utf8_lossy(&o.stdout);
            println!(
                "synthesized {n} persons in {:.1} s:\n{text}",
                t.elapsed().as_secs_f64()
            );
        }
        if !scale_out.is_empty() {
            for &b in &scale_out {
                scale_out_bench(bin, &target, &data, n, b, &draws, &commit);
            }
            continue;
        }
        let run_out = target.join(format!("bench-out/scale-p{n}"));
        let t = Instant::now();
        let o = Command::new(bin)
            .args([
                "run",
                "--period",
                "2025",
                "--bootstrap-draws",
                &draws,
                "--input",
            ])
            .arg(&data)
            .arg("--out")
            .arg(&run_out)
            .args(&run_args)
            .output()
            .expect("caregap run");
        let wall = t.elapsed().as_secs_f64();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(run_out.join("run_manifest.json")).unwrap()).unwrap();
        println!("\n{n} persons (commit {commit}): `caregap run` {wall:.1} s wall");
        println!(
            "{:<14}{:>14}{:>10}{:>14}{:>12}",
            "stage", "rows", "seconds", "rows/s", "peak MiB"
        );
        let mut peak: f64 = 0.0;
        for s in manifest["timings"].as_array().unwrap() {
            let (stage, rows, secs) = (
                s["stage"].as_str().unwrap(),
                s["rows"].as_u64().unwrap(),
                s["seconds"].as_f64().unwrap(),
            );
            let mb = s["peak_rss_mb"].as_f64().unwrap_or(f64::NAN);
            peak = peak.max(mb);
            let rate = rows as f64 / secs.max(1e-9);
            println!("{stage:<14}{rows:>14}{secs:>10.2}{rate:>14.0}{mb:>12.0}");
            writeln!(
                out,
                "{commit},{n},{stage},{rows},{secs:.3},{rate:.0},{mb:.0}"
            )
            .unwrap();
        }
        let read: u64 = manifest["data_quality"]["rows_read"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|v| v.as_u64())
            .sum();
        println!(
            "{:<14}{read:>14}{wall:>10.2}{:>14.0}{peak:>12.0}",
            "total",
            read as f64 / wall
        );
        writeln!(
            out,
            "{commit},{n},total,{read},{wall:.3},{:.0},{peak:.0}",
            read as f64 / wall
        )
        .unwrap();
    }
    println!("\nresults appended to {}", csv.display());
}

/// A results CSV opened for appending, with `header` written when the file is new.
fn append_csv(path: &std::path::Path, header: &str) -> fs::File {
    let new = !path.exists();
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    if new {
        writeln!(f, "{header}").unwrap();
    }
    f
}

/// Run a command to completion; its wall time in seconds.
fn run_measured(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let out = cmd.output().expect("caregap");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

/// The process's peak resident memory: the largest per-stage peak it recorded (a merge's
/// manifest also lists the bucket processes' stages, prefixed `bucket i:`; those are not its).
fn peak_of(stages: &serde_json::Value) -> f64 {
    stages
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| !s["stage"].as_str().unwrap_or("").starts_with("bucket "))
                .filter_map(|s| s["peak_rss_mb"].as_f64())
                .fold(0.0, f64::max)
        })
        .unwrap_or(f64::NAN)
}

/// `partition` + N × `run --bucket` (separate processes) + `merge`.
fn scale_out_bench(
    bin: &str,
    target: &std::path::Path,
    data: &std::path::Path,
    n: usize,
    buckets: u32,
    draws: &str,
    commit: &str,
) {
    let base = target.join(format!("bench-out/scale-out-p{n}-b{buckets}"));
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(&base).unwrap();
    let csv = target.join("bench-results/scale_out.csv");
    let mut out = append_csv(&csv, "commit,persons,buckets,step,seconds,peak_rss_mb");
    let parts = base.join("input");
    let secs = run_measured(
        Command::new(bin)
            .args(["partition", "--buckets", &buckets.to_string(), "--input"])
            .arg(data)
            .arg("--out")
            .arg(&parts),
    );
    println!("\n{n} persons, {buckets} buckets (commit {commit})");
    println!("{:<16}{:>10}{:>12}", "step", "seconds", "peak MiB");
    println!("{:<16}{secs:>10.2}{:>12}", "partition", "-");
    writeln!(out, "{commit},{n},{buckets},partition,{secs:.3},").unwrap();
    let run = ["--period", "2025", "--bootstrap-draws", draws];
    let mut outs = vec![];
    let (mut total, mut max_secs, mut max_peak) = (0.0, 0.0f64, 0.0f64);
    for i in 0..buckets {
        let o = base.join(format!("bucket{i}"));
        let secs = run_measured(
            Command::new(bin)
                .arg("run")
                .args(run)
                .args(["--bucket", &i.to_string(), "--input"])
                .arg(&parts)
                .arg("--out")
                .arg(&o),
        );
        let facts: serde_json::Value =
            serde_json::from_slice(&fs::read(o.join("partial.json")).unwrap()).unwrap();
        let peak = peak_of(&facts["timings"]);
        total += secs;
        max_secs = max_secs.max(secs);
        max_peak = max_peak.max(peak);
        writeln!(out, "{commit},{n},{buckets},bucket {i},{secs:.3},{peak:.0}").unwrap();
        outs.push(o);
    }
    println!(
        "{:<16}{total:>10.2}{max_peak:>12.0}   (sum over buckets; slowest {max_secs:.2} s)",
        "buckets"
    );
    let merged = base.join("merged");
    let secs = run_measured(
        Command::new(bin)
            .arg("merge")
            .args(run)
            .arg("--inputs")
            .args(&outs)
            .arg("--out")
            .arg(&merged),
    );
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(merged.join("run_manifest.json")).unwrap()).unwrap();
    let peak = peak_of(&m["timings"]);
    println!("{:<16}{secs:>10.2}{peak:>12.0}", "merge");
    writeln!(out, "{commit},{n},{buckets},merge,{secs:.3},{peak:.0}").unwrap();
    let _ = fs::remove_dir_all(&parts);
}
