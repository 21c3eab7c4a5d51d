//! Nothing lost silently (issue #16, deliverable 1): a run that rejects more than the limit
//! of a table (5 % by default), that orphans more than that share of a table's accepted rows,
//! or whose covered population or joined claims come out empty exits 4 with its outputs set
//! aside, never replacing a good output; `--max-reject-rate 1` accepts anything. Rows are
//! counted as rows (not failed checks) in the manifest, the stdout summary and the log.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const ELIG_HEADER: &str =
    "person_id,birth_date,death_date,enrollment_start_date,enrollment_end_date,payer,payer_type\n";
const CLAIM_HEADER: &str = "claim_id,claim_line_number,claim_type,person_id,claim_start_date,claim_end_date,place_of_service_code,hcpcs_code,paid_amount,diagnosis_code_1\n";

/// Eligibility for persons `A0..A{n}`, one claim line each dated `date`.
fn population(n: usize, date: &str) -> (String, String) {
    let mut elig = ELIG_HEADER.to_string();
    let mut claims = CLAIM_HEADER.to_string();
    for i in 0..n {
        elig.push_str(&format!(
            "A{i},1980-01-01,,2024-01-01,2025-12-31,MO HealthNet,medicaid\n"
        ));
        claims.push_str(&format!(
            "C{i},1,professional,A{i},{date},{date},11,99213,80,F41.1\n"
        ));
    }
    (elig, claims)
}

fn write_input(d: &Path, elig: &str, claims: &str) {
    let i = d.join("in");
    fs::create_dir_all(&i).unwrap();
    fs::write(i.join("eligibility.csv"), elig).unwrap();
    fs::write(i.join("medical_claim.csv"), claims).unwrap();
}

fn run(d: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_caregap"))
        .args([
            "run",
            "--input",
            d.join("in").to_str().unwrap(),
            "--out",
            d.join("out").to_str().unwrap(),
            "--period",
            "2025",
            "--bootstrap-draws",
            "20",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("run_manifest.json")).unwrap()).unwrap()
}

/// A good run first; then `elig`/`claims` must fail with exit 4 naming `what`, leave the
/// good output as it was, and put the failed run's outputs beside it; with
/// `--max-reject-rate 1` the same input runs.
fn assert_fails_and_keeps_the_good_output(elig: &str, claims: &str, what: &str) {
    let d = tempfile::tempdir().unwrap();
    let (good_elig, good_claims) = population(40, "2025-03-01");
    write_input(d.path(), &good_elig, &good_claims);
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = files(&d.path().join("out"));
    write_input(d.path(), elig, claims);
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(what),
        "expected `{what}` in: {}",
        stderr(&o)
    );
    assert_eq!(
        files(&d.path().join("out")),
        before,
        "live output untouched"
    );
    assert!(d
        .path()
        .join("out.reject-rate-exceeded/run_manifest.json")
        .exists());
    let o = run(d.path(), &["--max-reject-rate", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn every_claim_rejected_fails() {
    // Dates written MM/DD/YYYY: every claim line is rejected.
    let (elig, claims) = population(40, "03/01/2025");
    assert_fails_and_keeps_the_good_output(
        &elig,
        &claims,
        "medical_claim: 40 of 40 rows rejected (100.0 %",
    );
}

#[test]
fn every_eligibility_row_rejected_fails() {
    let (elig, claims) = population(40, "2025-03-01");
    let elig = elig.replace("1980-01-01", "01/01/1980");
    assert_fails_and_keeps_the_good_output(&elig, &claims, "eligibility: 40 of 40 rows rejected");
}

#[test]
fn no_claim_joining_an_enrolled_person_fails() {
    // The claims file spells the member ids differently (`M` for `A`).
    let (elig, claims) = population(40, "2025-03-01");
    let claims = claims.replace(",A", ",M");
    assert_fails_and_keeps_the_good_output(
        &elig,
        &claims,
        "medical_claim: 40 of 40 accepted rows belong to no person with an accepted eligibility row",
    );
}

#[test]
fn no_covered_eligibility_row_fails() {
    // Every payer_type is one the coverage types do not count.
    let (elig, claims) = population(40, "2025-03-01");
    let elig = elig.replace(",medicaid", ",commercial");
    assert_fails_and_keeps_the_good_output(
        &elig,
        &claims,
        "no eligibility row is covered: no accepted row has a payer_type among the coverage types (medicaid); payer types seen: commercial (40 rows)",
    );
}

#[test]
fn orphans_and_rejects_up_to_the_limit_pass_and_above_it_fail() {
    // 100 persons; 5 claim lines of unknown persons (5 of 105 = 4.8 %: passes), then 6 of 106
    // (5.7 %: fails). The limit is on the share, strictly above.
    let d = tempfile::tempdir().unwrap();
    let (elig, claims) = population(100, "2025-03-01");
    let orphans = |k: usize| -> String {
        (0..k)
            .map(|i| format!("X{i},1,professional,Z{i},2025-03-01,2025-03-01,11,99213,80,F41.1\n"))
            .collect()
    };
    write_input(d.path(), &elig, &format!("{claims}{}", orphans(5)));
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = manifest(&d.path().join("out"));
    assert_eq!(m["data_quality"]["rows_orphaned"]["medical_claim"], 5);
    assert_eq!(m["data_quality"]["max_reject_rate"], 0.05);
    write_input(d.path(), &elig, &format!("{claims}{}", orphans(6)));
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("medical_claim: 6 of 106 accepted rows belong to no person"),
        "{}",
        stderr(&o)
    );
    // An explicit limit replaces the default.
    let o = run(d.path(), &["--max-reject-rate", "0.06"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn rows_are_counted_as_rows_in_the_manifest_summary_and_log() {
    // One row fails two checks (a bad date and a bad amount): it is one rejected row, two
    // rejects rows. 40 good rows keep the run under the limit.
    let d = tempfile::tempdir().unwrap();
    let (elig, claims) = population(40, "2025-03-01");
    let claims = format!("{claims}CB,1,professional,A1,2025/03/02,2025-03-02,11,99213,abc,F41.1\n");
    write_input(d.path(), &elig, &claims);
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("(1 rows rejected;"), "{out}");
    assert!(
        out.contains("medical_claim: 41 rows read, 1 rejected, 0 orphaned"),
        "{out}"
    );
    let m = manifest(&d.path().join("out"));
    assert_eq!(m["data_quality"]["rows_rejected"]["medical_claim"], 1);
    assert_eq!(m["data_quality"]["rows_read"]["medical_claim"], 41);
    // The human log names every table's counts at the default level.
    let e = stderr(&o);
    assert!(
        e.contains("table read")
            && e.contains("table=medical_claim")
            && e.contains("rows_read=41")
            && e.contains("rows_rejected=1")
            && e.contains("rows_orphaned=0"),
        "{e}"
    );
    // And the JSON log, as fields.
    let o = run(d.path(), &["--log-format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = stderr(&o)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["table"] == "medical_claim")
        .unwrap_or_else(|| panic!("no JSON table line in {}", stderr(&o)));
    assert_eq!(line["fields"]["rows_read"], 41);
    assert_eq!(line["fields"]["rows_rejected"], 1);
    assert_eq!(line["fields"]["rows_orphaned"], 0);
}

#[test]
fn orphan_counts_are_the_same_in_buckets() {
    let d = tempfile::tempdir().unwrap();
    let (elig, claims) = population(60, "2025-03-01");
    let extra: String = (0..2)
        .map(|i| format!("X{i},1,professional,Z{i},2025-03-01,2025-03-01,11,99213,80,F41.1\n"))
        .collect();
    write_input(d.path(), &elig, &format!("{claims}{extra}"));
    let mut seen = Vec::new();
    for args in [
        vec!["--buckets", "1"],
        vec!["--buckets", "3", "--bucketing", "hash"],
        vec!["--buckets", "3", "--bucketing", "range"],
    ] {
        let o = run(d.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let m = manifest(&d.path().join("out"));
        seen.push(m["data_quality"]["rows_orphaned"].clone());
    }
    assert_eq!(seen[0]["medical_claim"], 2);
    assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
}

#[test]
fn a_period_with_no_claim_fails() {
    // Every claim line is dated 2024; the period is 2025: everyone would be ineligible and
    // every measure empty.
    let (elig, claims) = population(40, "2024-03-01");
    assert_fails_and_keeps_the_good_output(
        &elig,
        &claims,
        "no accepted medical claim line is dated in the measurement period 2025-01-01..2025-12-31 (40 lines, all outside it)",
    );
}
