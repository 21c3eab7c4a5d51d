//! The HTML report: its skeleton (golden snapshot), its suppression of small cells, and a
//! real browser opening it (headless Chromium: no network request, no console error, a
//! screenshot that is not blank).

use std::path::{Path, PathBuf};
use std::process::Command;

use caregap_cli::pipeline::{self, RunOptions};
use caregap_transform::Params;

fn run_on(input: PathBuf, out: &Path) -> String {
    let mut opts = RunOptions::new(input, out.to_path_buf(), Params::calendar_year(2025));
    opts.bootstrap = caregap_transform::utilization::BootstrapSettings {
        draws: 200,
        seed: 1,
    };
    pipeline::run(&opts).unwrap();
    std::fs::read_to_string(out.join("report.html")).unwrap()
}

/// The report's skeleton: sections, headings, figures and table headers, one per line.
fn skeleton(html: &str) -> String {
    let re = regex::Regex::new(r#"<section id="([^"]+)"|<h([123])[^>]*>(.*?)</h[123]>|<figure id="([^"]+)"|<table class="([^"]+)"|<th scope="col">(.*?)</th>"#).unwrap();
    let tag = regex::Regex::new(r"<[^>]+>").unwrap();
    let mut out = String::new();
    for c in re.captures_iter(html) {
        if let Some(s) = c.get(1) {
            out.push_str(&format!("section #{}\n", s.as_str()));
        } else if let Some(level) = c.get(2) {
            out.push_str(&format!(
                "  h{} {}\n",
                level.as_str(),
                tag.replace_all(&c[3], "")
            ));
        } else if let Some(f) = c.get(4) {
            out.push_str(&format!("    figure #{}\n", f.as_str()));
        } else if let Some(t) = c.get(5) {
            out.push_str(&format!("    table .{}\n", t.as_str()));
        } else if let Some(th) = c.get(6) {
            out.push_str(&format!("      th {}\n", tag.replace_all(th.as_str(), "")));
        }
    }
    out
}

#[test]
fn report_structure_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let html = run_on(
        crate::common::shared().join("cases/worklist"),
        &d.path().join("o"),
    );
    insta::assert_snapshot!(skeleton(&html));
}

#[test]
fn report_is_self_contained_deterministic_and_aggregate_only() {
    let story = crate::common::shared().join("cases/direct_transfer");
    let d = tempfile::tempdir().unwrap();
    let a = run_on(story.clone(), &d.path().join("a"));
    let b = run_on(story, &d.path().join("b"));
    assert_eq!(a, b, "byte-identical report on rerun");
    for forbidden in [
        "http://", "https://", "<link", "<img", "src=", "@import", "url(",
    ] {
        // The only allowed URL is the SVG namespace declaration.
        let hits = a.matches(forbidden).count()
            - a.matches("http://www.w3.org/2000/svg").count() * usize::from(forbidden == "http://");
        assert_eq!(
            hits, 0,
            "the report references an external resource: {forbidden}"
        );
    }
    // No member-level data: no person id of the story appears in the report.
    for pid in ["T1", "T2", "T3", "T4", "T5", "T6"] {
        assert!(
            !a.contains(&format!(">{pid}<")),
            "person id {pid} in the report"
        );
    }
    // The story's counts are all 1–10: every care-gap count is suppressed, zero may show.
    assert!(a.contains("&lt;11"), "suppressed cells are marked");
    assert!(
        !a.contains(">7<") && !a.contains(">3<"),
        "small counts are not shown"
    );
}

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let out = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .ok()?;
        if out.status.success() {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !p.is_empty() {
                return Some(PathBuf::from(p));
            }
        }
    }
    None
}

/// Open `page` in headless Chromium with the network locked down; returns (network request
/// URLs other than file://, console error lines, screenshot path).
fn open_in_browser(bin: &Path, page: &Path, dir: &Path) -> (Vec<String>, Vec<String>, PathBuf) {
    let shot = dir.join("shot.png");
    let netlog = dir.join("netlog.json");
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,3000",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--net-log-capture-mode=Everything")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Requests the page made carry its origin as initiator (`null` for file://); Chromium's
    // own background traffic (update checks, time queries) is marked "not an origin".
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&netlog).unwrap_or_default()).unwrap_or_default();
    let mut requests: Vec<String> = log["events"]
        .as_array()
        .map(|evs| {
            evs.iter()
                .filter_map(|e| {
                    let p = &e["params"];
                    let url = p["url"].as_str()?;
                    let initiator = p["initiator"].as_str()?;
                    let remote = ["http://", "https://", "ws://", "wss://", "ftp://"]
                        .iter()
                        .any(|s| url.starts_with(s));
                    (remote && initiator != "not an origin").then(|| url.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    requests.dedup();
    // Any console message counts: the report's script logs nothing.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (requests, errors, shot)
}

/// Share of pixels that are not (near) white.
fn ink(png_path: &Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let px = bytes.chunks(channels);
    let n = px.len().max(1);
    px.filter(|p| p.iter().take(3).any(|c| *c < 235)).count() as f64 / n as f64
}

fn browser_or_skip() -> Option<PathBuf> {
    match chromium() {
        Some(b) => Some(b),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("chromium is required in CI (.ci/run installs Debian's chromium)")
        }
        None => {
            eprintln!("SKIPPED: chromium is not installed here (outside CI); .ci/run installs it");
            None
        }
    }
}

#[test]
fn report_opens_in_a_real_browser() {
    let Some(bin) = browser_or_skip() else { return };
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    caregap_synth::generate(
        &caregap_synth::SynthConfig {
            persons: 2500,
            seed: 3,
            chunk: 2500,
            ..Default::default()
        },
        &input,
    )
    .unwrap();
    run_on(input, &d.path().join("o"));
    let (requests, errors, shot) = open_in_browser(&bin, &d.path().join("o/report.html"), d.path());
    assert!(
        requests.is_empty(),
        "the report made network requests: {requests:?}"
    );
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let share = ink(&shot);
    assert!(
        share > 0.02,
        "the screenshot is blank ({share:.4} of pixels inked)"
    );
    let keep = std::env::var("CAREGAP_SCREENSHOT_DIR").ok();
    if let Some(k) = keep {
        std::fs::copy(&shot, Path::new(&k).join("report.png")).unwrap();
    }
}

#[test]
fn browser_check_catches_requests_and_console_errors() {
    // The checks above can fail: a page that fetches and logs an error is caught.
    let Some(bin) = browser_or_skip() else { return };
    let d = tempfile::tempdir().unwrap();
    let page = d.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><h1>bad</h1><img src=\"http://example.invalid/x.png\"><script>console.error('boom');</script></body></html>",
    )
    .unwrap();
    let (requests, errors, _) = open_in_browser(&bin, &page, d.path());
    assert!(
        !requests.is_empty(),
        "the request to example.invalid is seen"
    );
    assert!(!errors.is_empty(), "the console error is seen");
}
