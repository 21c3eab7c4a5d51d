//! Scheduled jobs: the bad-input suite (each case ends in a clear error and loses nothing),
//! atomic and locked output folders, pipeline files, exit statuses, JSON logs, and property
//! tests that random valid inputs never panic and never give numerator > denominator.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;
use proptest::prelude::*;

fn caregap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caregap"))
}

const ELIG: &str =
    "person_id,birth_date,death_date,enrollment_start_date,enrollment_end_date,payer,payer_type\n\
A1,1980-01-01,,2024-01-01,2025-12-31,MO HealthNet,medicaid\n";
const CLAIMS: &str = "claim_id,claim_line_number,claim_type,person_id,claim_start_date,claim_end_date,bill_type_code,revenue_center_code,place_of_service_code,hcpcs_code,paid_amount,diagnosis_code_1\n\
C1,1,professional,A1,2025-03-01,2025-03-01,,,11,99213,80,F41.1\n";

fn input(elig: &str, claims: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("in")).unwrap();
    fs::write(d.path().join("in/eligibility.csv"), elig).unwrap();
    fs::write(d.path().join("in/medical_claim.csv"), claims).unwrap();
    d
}

fn run(d: &Path, extra: &[&str]) -> Output {
    let mut c = caregap();
    c.args([
        "run",
        "--input",
        d.join("in").to_str().unwrap(),
        "--out",
        d.join("out").to_str().unwrap(),
        "--bootstrap-draws",
        "20",
    ]);
    c.args(extra);
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn rejects(d: &Path) -> DataFrame {
    ParquetReader::new(fs::File::open(d.join("out/rejects.parquet")).unwrap())
        .finish()
        .unwrap()
}

fn reject_columns(d: &Path) -> Vec<String> {
    let r = rejects(d);
    r.column("column")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect()
}

#[test]
fn truncated_parquet_exits_3_naming_the_file() {
    let d = input(ELIG, CLAIMS);
    let mut df = df!("person_id" => ["A1"], "observation_date" => ["2025-01-01"], "normalized_code" => ["8480-6"], "result" => ["120"]).unwrap();
    let p = d.path().join("in/observation.parquet");
    ParquetWriter::new(fs::File::create(&p).unwrap())
        .finish(&mut df)
        .unwrap();
    let bytes = fs::read(&p).unwrap();
    fs::write(&p, &bytes[..bytes.len() - 20]).unwrap();
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("observation.parquet"), "{}", stderr(&o));
    assert!(
        !d.path().join("out").exists(),
        "no output folder from a failed run"
    );
}

#[test]
fn wrong_delimiter_exits_3_and_says_so() {
    let d = input(&ELIG.replace(',', ";"), CLAIMS);
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("semicolon") && stderr(&o).contains("eligibility.csv"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn non_utf8_bytes_exit_3_naming_the_file() {
    let d = input(ELIG, CLAIMS);
    let mut bytes = CLAIMS.as_bytes().to_vec();
    bytes.extend_from_slice(
        b"C2,1,professional,A1,2025-03-02,2025-03-02,,,11,99213,80,F4\xff\xfe1\n",
    );
    fs::write(d.path().join("in/medical_claim.csv"), bytes).unwrap();
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("medical_claim.csv"), "{}", stderr(&o));
}

#[test]
fn empty_file_exits_3() {
    let d = input(ELIG, "");
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("medical_claim.csv") && stderr(&o).contains("empty"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn header_with_no_rows_fails_unless_any_loss_is_accepted() {
    // A claims file with a header and no rows: no claim line joins a person, so the run
    // fails (exit 4, outputs set aside) instead of replacing a good output with empty
    // measures; `--max-reject-rate 1` accepts it.
    let d = input(
        ELIG,
        CLAIMS
            .lines()
            .next()
            .map(|h| format!("{h}\n"))
            .unwrap()
            .as_str(),
    );
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no medical claim line belongs to a person"),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("out").exists());
    let o = run(d.path(), &["--max-reject-rate", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn missing_required_column_exits_3_naming_table_file_column() {
    let d = input(ELIG, &CLAIMS.replace("claim_type,", "kind,"));
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(
        e.contains("medical_claim") && e.contains("medical_claim.csv") && e.contains("claim_type"),
        "{e}"
    );
}

#[test]
fn column_of_the_wrong_type_rejects_rows_naming_the_column() {
    // A Parquet file whose claim_start_date is an integer that is no date: a spreadsheet's
    // serial day number (45717 = 2025-03-01 in Excel). (An integer 20250301 is a YYYYMMDD date.)
    let d = input(ELIG, CLAIMS);
    fs::remove_file(d.path().join("in/medical_claim.csv")).unwrap();
    let mut df = df!(
        "claim_id" => ["C1", "C2"], "claim_line_number" => [1i64, 1], "claim_type" => ["professional", "professional"],
        "person_id" => ["A1", "A1"], "claim_start_date" => [45717i64, 45718], "claim_end_date" => ["2025-03-01", "2025-03-02"],
        "hcpcs_code" => ["99213", "99213"], "paid_amount" => ["80", "x"]
    )
    .unwrap();
    ParquetWriter::new(fs::File::create(d.path().join("in/medical_claim.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    let o = run(d.path(), &["--max-reject-rate", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cols = reject_columns(d.path());
    assert_eq!(
        cols.iter().filter(|c| *c == "claim_start_date").count(),
        2,
        "{cols:?}"
    );
    assert!(cols.contains(&"paid_amount".to_string()), "{cols:?}");
}

#[test]
fn dates_in_1800_and_2200_are_rejected() {
    let d = input(
        &format!("{ELIG}A2,1800-01-01,,2024-01-01,2025-12-31,MO HealthNet,medicaid\n"),
        &format!("{CLAIMS}C2,1,professional,A1,2025-03-01,2200-01-01,,,11,99213,80,F41.1\n"),
    );
    let o = run(d.path(), &["--max-reject-rate", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cols = reject_columns(d.path());
    assert_eq!(cols, vec!["birth_date", "claim_end_date"]);
}

#[test]
fn negative_days_supply_and_duplicate_lines_are_rejected() {
    let d = input(
        ELIG,
        &format!("{CLAIMS}C1,1,professional,A1,2025-03-09,2025-03-09,,,11,99214,999,F41.1\n"),
    );
    fs::write(
        d.path().join("in/pharmacy_claim.csv"),
        "claim_id,claim_line_number,person_id,dispensing_date,ndc_code,days_supply\nR1,1,A1,2025-01-01,00000000001,-30\n",
    )
    .unwrap();
    let o = run(d.path(), &["--max-reject-rate", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = rejects(d.path());
    let reasons: Vec<String> = r
        .column("reason")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    assert!(
        reasons.contains(&"claim_line_number: duplicate (claim_id, claim_line_number)".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"days_supply: negative".to_string()),
        "{reasons:?}"
    );
}

#[test]
fn input_folder_that_does_not_exist_exits_3() {
    let d = tempfile::tempdir().unwrap();
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

#[test]
fn output_folder_that_cannot_be_written_exits_1_naming_it() {
    let d = input(ELIG, CLAIMS);
    let o = caregap()
        .args([
            "run",
            "--input",
            d.path().join("in").to_str().unwrap(),
            "--out",
            "/proc/caregap-out",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/proc"), "{}", stderr(&o));
}

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

#[test]
fn a_run_that_fails_midway_leaves_the_previous_output_intact() {
    let d = input(ELIG, CLAIMS);
    assert_eq!(run(d.path(), &[]).status.code(), Some(0));
    let before = files(&d.path().join("out"));
    // Change the input, then fail while writing care_gaps (a killed run, simulated).
    fs::write(
        d.path().join("in/medical_claim.csv"),
        format!("{CLAIMS}C9,1,professional,A1,2025-04-01,2025-04-01,,,11,99213,80,F41.1\n"),
    )
    .unwrap();
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o2 = {
        let mut c = caregap();
        c.env("CAREGAP_FAIL_WRITE", "care_gaps");
        c.args([
            "run",
            "--input",
            d.path().join("in").to_str().unwrap(),
            "--out",
            d.path().join("out").to_str().unwrap(),
        ]);
        c.output().unwrap()
    };
    assert_eq!(o2.status.code(), Some(1), "{}", stderr(&o2));
    assert!(
        stderr(&o2).contains("injected write failure"),
        "{}",
        stderr(&o2)
    );
    // The second (successful) run replaced the first; the failed third left that intact.
    let after_success = files(&d.path().join("out"));
    assert_ne!(
        before, after_success,
        "the successful rerun on changed input replaced the output"
    );
    let o3 = {
        let mut c = caregap();
        c.env("CAREGAP_FAIL_WRITE", "report");
        c.args([
            "run",
            "--input",
            d.path().join("in").to_str().unwrap(),
            "--out",
            d.path().join("out").to_str().unwrap(),
        ]);
        c.output().unwrap()
    };
    assert_eq!(o3.status.code(), Some(1));
    assert_eq!(
        files(&d.path().join("out")),
        after_success,
        "a failed run changes nothing"
    );
    let leftovers: Vec<String> = fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_second_of_two_concurrent_runs_fails_cleanly() {
    let d = input(ELIG, CLAIMS);
    assert_eq!(run(d.path(), &[]).status.code(), Some(0));
    let before = files(&d.path().join("out"));
    let held = caregap_cli::outdir::OutputLock::acquire(&d.path().join("out")).unwrap();
    let o = run(d.path(), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("another caregap run"), "{}", stderr(&o));
    assert_eq!(files(&d.path().join("out")), before);
    drop(held);
    assert_eq!(
        run(d.path(), &[]).status.code(),
        Some(0),
        "free again once the first run ends"
    );
}

#[test]
fn rerun_gives_identical_bytes() {
    let story = crate::common::shared().join("cases/member_months_did");
    let d = tempfile::tempdir().unwrap();
    let go = |out: &str| {
        let o = caregap()
            .args([
                "run",
                "--input",
                story.to_str().unwrap(),
                "--out",
                d.path().join(out).to_str().unwrap(),
                // The story has persons with claims and no eligibility on purpose.
                "--max-reject-rate",
                "1",
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        files(&d.path().join(out))
            .into_iter()
            .filter(|(n, _)| n != "run_manifest.json")
            .collect::<Vec<_>>()
    };
    assert_eq!(
        go("a"),
        go("b"),
        "every output, report.html included, is byte-identical"
    );
}

#[test]
fn reject_rate_above_the_limit_exits_4_and_keeps_the_live_output() {
    let d = input(ELIG, CLAIMS);
    assert_eq!(run(d.path(), &[]).status.code(), Some(0));
    let before = files(&d.path().join("out"));
    fs::write(
        d.path().join("in/medical_claim.csv"),
        format!("{CLAIMS}C2,1,professional,A1,2025/03/01,2025-03-01,,,11,99213,80,F41.1\n"),
    )
    .unwrap();
    let o = run(d.path(), &["--max-reject-rate", "0.1"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("medical_claim: 1 of 2 rows rejected"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        files(&d.path().join("out")),
        before,
        "live output untouched"
    );
    assert!(
        d.path()
            .join("out.reject-rate-exceeded/rejects.parquet")
            .exists(),
        "outputs kept for inspection"
    );
}

#[test]
fn pipeline_file_runs_and_the_command_line_overrides_it() {
    let d = input(ELIG, CLAIMS);
    fs::write(
        d.path().join("job.toml"),
        "input = \"in\"\noutput = \"from-file\"\nperiod = \"2025\"\nas_of = 2025-12-31\nbootstrap_draws = 10\nmeasures = [\"fum_7\"]\n",
    )
    .unwrap();
    let job = d.path().join("job.toml");
    let o = caregap()
        .args(["run", job.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        d.path().join("from-file/care_gaps.parquet").exists(),
        "relative paths are relative to the file"
    );
    let cg =
        ParquetReader::new(fs::File::open(d.path().join("from-file/care_gaps.parquet")).unwrap())
            .finish()
            .unwrap();
    let ms: Vec<String> = cg
        .column("measure")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    assert!(
        ms.iter().all(|m| m == "fum_7"),
        "only the selected measure: {ms:?}"
    );
    let out2 = d.path().join("from-cli");
    let o = caregap()
        .args([
            "run",
            job.to_str().unwrap(),
            "--out",
            out2.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        out2.join("run_manifest.json").exists(),
        "--out overrides the file"
    );
}

#[test]
fn unknown_key_in_a_pipeline_file_exits_2_naming_it() {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("job.toml"),
        "input = \"in\"\noutput = \"out\"\nbootstrap_drawz = 5\n",
    )
    .unwrap();
    let o = caregap()
        .args(["run", d.path().join("job.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bootstrap_drawz"), "{}", stderr(&o));
}

#[test]
fn shipped_example_pipelines_are_valid() {
    let root = crate::common::root();
    let examples = caregap_cli::config::example_files(&root).unwrap();
    assert!(examples.len() >= 2, "{examples:?}");
    for p in examples {
        let f = caregap_cli::config::PipelineFile::load(&p).unwrap();
        f.into_options()
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}

#[test]
fn json_logs_for_the_scheduler() {
    let d = input(ELIG, CLAIMS);
    let o = run(d.path(), &["--log-format", "json", "--verbose"]);
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<String> = stderr(&o).lines().map(str::to_string).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{l}");
    }
    assert!(lines.iter().any(|l| l.contains("stage done")));
    // A failure is logged as JSON too, with its exit status.
    let o = caregap()
        .args([
            "run",
            "--input",
            "/no/such",
            "--out",
            "/tmp/x",
            "--log-format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let err_line = stderr(&o)
        .lines()
        .find(|l| l.starts_with('{'))
        .map(str::to_string)
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&err_line).unwrap();
    assert_eq!(v["fields"]["exit_status"], 3);
}

#[test]
fn validate_reports_every_schema_problem_in_one_pass() {
    let d = input(
        &ELIG.replace("payer_type", "kind"),
        &CLAIMS.replace("claim_type,", "kind,"),
    );
    let o = caregap()
        .args(["validate", "--input", d.path().join("in").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("payer_type") && s.contains("claim_type"),
        "both problems reported: {s}"
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// (id, birth year, coverage start day, coverage length).
type Person = (String, i64, i64, i64);
/// (person, kind, start day, length, diagnosis).
type Line = (usize, u8, i64, i64, usize);

/// A small random population: persons with a Medicaid span, and claim lines of kinds that
/// exercise every measure (stays, ED visits, visits, CPT II), with random dates and codes.
fn population() -> impl Strategy<Value = (Vec<Person>, Vec<Line>)> {
    let persons =
        prop::collection::vec((1940i64..2015, 0i64..500, 300i64..760), 1..6).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (by, s, len))| (format!("P{i}"), by, s, len))
                .collect::<Vec<_>>()
        });
    let lines = prop::collection::vec((0usize..6, 0u8..7, 0i64..730, 0i64..6, 0usize..8), 0..40);
    (persons, lines)
}

const DX: [&str; 8] = [
    "F20.9", "F32.9", "F41.1", "F10.20", "I10", "E11.9", "J45.909", "J18.9",
];

fn day(n: i64) -> String {
    (chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(n)).to_string()
}

fn write_population(
    dir: &Path,
    persons: &[(String, i64, i64, i64)],
    lines: &[(usize, u8, i64, i64, usize)],
) {
    let mut e = String::from(
        "person_id,birth_date,enrollment_start_date,enrollment_end_date,payer,payer_type\n",
    );
    for (id, by, s, len) in persons {
        e.push_str(&format!(
            "{id},{by}-06-15,{},{},MO HealthNet,medicaid\n",
            day(*s),
            day(s + len)
        ));
    }
    let mut m = String::from("claim_id,claim_line_number,claim_type,person_id,claim_start_date,claim_end_date,admission_date,discharge_date,discharge_disposition_code,bill_type_code,revenue_center_code,place_of_service_code,hcpcs_code,paid_amount,diagnosis_code_1\n");
    for (k, (p, kind, start, len, dx)) in lines.iter().enumerate() {
        let pid = &persons[p % persons.len()].0;
        let (a, b) = (day(*start), day(start + len));
        let dx = DX[*dx];
        let line = match kind {
            0 => format!("S{k},1,institutional,{pid},{a},{b},{a},{b},01,111,0100,,,5000,{dx}"),
            1 => format!("S{k},1,institutional,{pid},{a},{b},{a},{b},20,111,0100,,,5000,{dx}"),
            2 => format!("E{k},1,institutional,{pid},{a},{a},,,,131,0450,,,400,{dx}"),
            3 => format!("V{k},1,professional,{pid},{a},{a},,,,,,11,99213,80,{dx}"),
            4 => format!("V{k},1,professional,{pid},{a},{a},,,,,,53,90834,90,{dx}"),
            5 => format!("B{k},1,professional,{pid},{a},{a},,,,,,11,3074F,0,{dx}"),
            _ => format!("N{k},1,institutional,{pid},{a},{b},{a},{b},01,211,0100,,,900,{dx}"),
        };
        m.push_str(&line);
        m.push('\n');
    }
    fs::write(dir.join("eligibility.csv"), e).unwrap();
    fs::write(dir.join("medical_claim.csv"), m).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_inputs_never_panic_and_numerator_never_exceeds_denominator((persons, lines) in population()) {
        let d = tempfile::tempdir().unwrap();
        let input: PathBuf = d.path().join("in");
        fs::create_dir(&input).unwrap();
        write_population(&input, &persons, &lines);
        let mut opts = caregap_cli::pipeline::RunOptions::new(input, d.path().join("out"), caregap_transform::Params::calendar_year(2025));
        opts.bootstrap.draws = 10;
        // A random population may have no claim line at all, or none in the period: the
        // property is about panics and rates, not the data-loss limit (data_loss.rs).
        opts.max_reject_rate = Some(1.0);
        let r = caregap_cli::pipeline::run(&opts).expect("a valid input runs");
        let ms = &r.outputs["measure_summary"];
        let num = ms.column("numerator").unwrap().i64().unwrap();
        let den = ms.column("denominator").unwrap().i64().unwrap();
        for (n, dd) in num.iter().zip(den.iter()) {
            prop_assert!(n.unwrap() <= dd.unwrap());
        }
        let cg = &r.outputs["care_gaps"];
        let status = cg.column("status").unwrap().str().unwrap();
        let reason = cg.column("exclusion_reason").unwrap().str().unwrap();
        for (s, rs) in status.iter().zip(reason.iter()) {
            prop_assert!(matches!(s, Some("open" | "closed" | "excluded")));
            prop_assert_eq!(s == Some("excluded"), rs.is_some());
        }
    }
}
