//! State-scale benchmark (issue #9): `cargo bench -p caregap-cli --bench scale`
//! [`-- --persons 100000,300000,1000000 --draws 1000`].
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
    let target = root().join("target");
    let results = target.join("bench-results");
    fs::create_dir_all(&results).unwrap();
    let csv = results.join("scale.csv");
    let new = !csv.exists();
    let mut out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&csv)
        .unwrap();
    if new {
        writeln!(
            out,
            "commit,persons,stage,rows,seconds,rows_per_second,peak_rss_mb"
        )
        .unwrap();
    }
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
