//! Value-set files as users hold them (`fixtures/value_sets/`): NCQA and VSAC exports (CSV,
//! tab- and pipe-separated) give the same outputs as caregap's own CSV with the same codes,
//! through the shipped map or a user's; unknown value-set names and code systems are errors
//! naming the file, row and value, with the usage exit status.

use std::path::{Path, PathBuf};
use std::process::Command;

use caregap_cli::pipeline::{self, RunOptions};
use caregap_transform::Params;

use crate::common::{root, shared};

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/value_sets").join(name)
}

fn caregap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caregap"))
}

/// Run `input` for 2025 with these override files and map into `out`.
fn run(input: &Path, out: &Path, files: &[&str], map: Option<&str>) -> pipeline::RunOutput {
    let mut o = RunOptions::new(
        input.to_path_buf(),
        out.to_path_buf(),
        Params::calendar_year(2025),
    );
    o.value_sets = files.iter().map(|f| fixture(f)).collect();
    o.value_set_map = map.map(fixture);
    pipeline::run(&o).unwrap_or_else(|e| panic!("{files:?}: {e:#}"))
}

/// The Parquet outputs of two runs that differ (report.html and the manifest name the files,
/// so they are left out).
fn differing_parquet(a: &Path, b: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(a)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".parquet") || n.ends_with(".csv"))
        .collect();
    names.sort();
    assert!(names.len() > 5, "{} holds no outputs", a.display());
    names
        .into_iter()
        .filter(|n| std::fs::read(a.join(n)).ok() != std::fs::read(b.join(n)).ok())
        .collect()
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("run_manifest.json")).unwrap()).unwrap()
}

#[test]
fn ncqa_and_vsac_exports_give_the_outputs_of_the_plain_csv() {
    let d = tempfile::tempdir().unwrap();
    for story in ["code_systems", "cbp_lowest_of_day"] {
        let input = shared().join("cases").join(story);
        let out = |n: &str| d.path().join(format!("{story}_{n}"));
        run(&input, &out("shipped"), &[], None);
        let plain = run(&input, &out("plain"), &["plain.csv"], None);
        assert!(plain.warnings.iter().all(|w| !w.contains("value-set")));
        for export in ["ncqa_vsd.csv", "ncqa_vsd.tsv", "vsac_value-set-codes.txt"] {
            let r = run(&input, &out(export), &[export], None);
            assert_eq!(
                differing_parquet(&out("plain"), &out(export)),
                Vec::<String>::new(),
                "{story}: {export} vs plain.csv"
            );
            let (mp, me) = (manifest(&out("plain")), manifest(&out(export)));
            assert_eq!(mp["value_sets"]["replaced"], me["value_sets"]["replaced"]);
            let f = &me["value_sets"]["files"][0];
            assert_eq!(f["layout"], "directory", "{export}");
            assert_eq!(f["unmapped"]["Mammography"], 1, "{export}");
            assert_eq!(f["skipped_systems"]["icd-10-pcs"], 1, "{export}");
            assert_eq!(
                f["replaced"]["mental_illness"],
                serde_json::json!(["Intentional Self-Harm", "Mental Illness"])
            );
            assert_eq!(me["value_sets"]["map"]["version"], "caregap-ncqa-map-1");
            let w = r.warnings.join("\n");
            assert!(
                w.contains("Mammography") && w.contains("icd-10-pcs 1"),
                "{w}"
            );
        }
        if story == "code_systems" {
            // The override bites: Q1's ED visit (revenue 0450) is no longer one, Q5's bill
            // type 81 is no longer hospice.
            assert!(differing_parquet(&out("shipped"), &out("plain"))
                .contains(&"care_gaps.parquet".to_string()));
        }
    }
}

#[test]
fn vsd_and_mld_exports_together_and_a_users_map_give_the_plain_outputs() {
    let d = tempfile::tempdir().unwrap();
    let input = shared().join("cases/ssd_tests");
    let out = |n: &str| d.path().join(n);
    run(&input, &out("shipped"), &[], None);
    run(&input, &out("plain"), &["plain_ssd.csv"], None);
    run(
        &input,
        &out("ncqa"),
        &["ncqa_vsd_ssd.csv", "ncqa_mld.csv"],
        None,
    );
    run(
        &input,
        &out("local"),
        &["local_export.csv"],
        Some("local_map.csv"),
    );
    for other in ["ncqa", "local"] {
        assert_eq!(
            differing_parquet(&out("plain"), &out(other)),
            Vec::<String>::new(),
            "{other} vs plain_ssd.csv"
        );
    }
    // W5's NDC is now an antipsychotic (an ssd row), W1–W3's shipped placeholder NDCs are not.
    assert!(differing_parquet(&out("shipped"), &out("plain"))
        .contains(&"care_gaps.parquet".to_string()));
    let m = manifest(&out("local"));
    assert!(m["value_sets"]["map"]["file"]
        .as_str()
        .unwrap()
        .ends_with("local_map.csv"));
    assert_eq!(
        m["value_sets"]["files"][0]["replaced"]["schizophrenia_bipolar"],
        serde_json::json!(["Our Bipolar", "Our Psychoses"])
    );
    let m = manifest(&out("ncqa"));
    assert_eq!(
        m["value_sets"]["replaced"],
        serde_json::json!(["antipsychotic", "schizophrenia_bipolar"])
    );
}

#[test]
fn value_sets_export_of_an_ncqa_file_equals_that_of_the_plain_file() {
    let d = tempfile::tempdir().unwrap();
    let export = |files: &[&str], name: &str| {
        let out = d.path().join(name);
        let mut c = caregap();
        c.args(["value-sets", "export", "--out", out.to_str().unwrap()]);
        for f in files {
            c.args(["--value-sets", fixture(f).to_str().unwrap()]);
        }
        let o = c.output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        (
            std::fs::read_to_string(out).unwrap(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (plain, _) = export(&["plain.csv"], "a.csv");
    let (ncqa, stderr) = export(&["ncqa_vsd.csv"], "b.csv");
    assert_eq!(plain, ncqa);
    assert!(stderr.contains("Mammography"), "{stderr}");
    assert!(ncqa.contains("mental_illness,icd-10-cm,X710XXA\n"));
}

#[test]
fn value_sets_map_writes_the_map_in_force() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("map.csv");
    let o = caregap()
        .args(["value-sets", "map", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("source_value_set,value_set\n"));
    assert!(
        text.contains("Bipolar Disorder,schizophrenia_bipolar\n"),
        "{text}"
    );
    // It reads back as a map.
    let o = caregap()
        .args([
            "value-sets",
            "export",
            "--out",
            d.path().join("vs.csv").to_str().unwrap(),
            "--value-set-map",
            out.to_str().unwrap(),
            "--value-sets",
            fixture("ncqa_vsd.csv").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `caregap run` on the code_systems story with one override file: (exit status, stderr).
fn run_binary(d: &Path, override_text: &str, extra: &[&str]) -> (Option<i32>, String) {
    let f = d.join("override.csv");
    std::fs::write(&f, override_text).unwrap();
    let o = caregap()
        .args([
            "run",
            "--input",
            shared().join("cases/code_systems").to_str().unwrap(),
            "--out",
            d.join("out").to_str().unwrap(),
            "--value-sets",
            f.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[test]
fn unknown_value_set_name_exits_2_naming_file_row_and_name() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = run_binary(
        d.path(),
        "value_set,code_system,code\nhypertension,ICD10,I10\nhypertensoin,ICD10,I11\n",
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("override.csv")
            && err.contains("row 2")
            && err.contains("unknown value set `hypertensoin`")
            && err.contains("did you mean `hypertension`"),
        "{err}"
    );
    assert!(!d.path().join("out").exists(), "nothing is written");
    // The same in a user's map.
    let map = d.path().join("map.csv");
    std::fs::write(&map, "source_value_set,value_set\nED,ed_vist\n").unwrap();
    let (code, err) = run_binary(
        d.path(),
        "Value Set Name,Code,Code System\nED,99281,CPT\n",
        &["--value-set-map", map.to_str().unwrap()],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("map.csv") && err.contains("row 1") && err.contains("`ed_vist`"),
        "{err}"
    );
}

#[test]
fn unknown_code_system_exits_2_naming_file_row_and_system() {
    let d = tempfile::tempdir().unwrap();
    for text in [
        "value_set,code_system,code\ned_visit,pos,23\ned_visit,klingon,1\n",
        "Value Set Name,Code,Code System\nED POS,23,POS\nED,99281,klingon\n",
    ] {
        let (code, err) = run_binary(d.path(), text, &[]);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("override.csv")
                && err.contains("row 2")
                && err.contains("unknown code system `klingon`"),
            "{err}"
        );
    }
}

#[test]
fn an_export_the_map_knows_nothing_of_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = run_binary(
        d.path(),
        "Value Set Name,Code,Code System\nMammography,77067,CPT\n",
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("none of its 1 value set(s)") && err.contains("`Mammography`"),
        "{err}"
    );
}

#[test]
fn pipeline_file_takes_value_set_map_relative_to_itself() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("local_export.csv"), d.path().join("export.csv")).unwrap();
    std::fs::copy(fixture("local_map.csv"), d.path().join("map.csv")).unwrap();
    let p = d.path().join("job.toml");
    std::fs::write(
        &p,
        format!(
            "input = {:?}\noutput = \"out\"\nperiod = \"2025\"\nvalue_sets = [\"export.csv\"]\nvalue_set_map = \"map.csv\"\n",
            shared().join("cases/ssd_tests").to_str().unwrap()
        ),
    )
    .unwrap();
    let o = caregap()
        .args(["run", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m = manifest(&d.path().join("out"));
    assert!(m["value_sets"]["map"]["file"]
        .as_str()
        .unwrap()
        .ends_with("map.csv"));
    assert_eq!(
        m["value_sets"]["replaced"],
        serde_json::json!(["antipsychotic", "schizophrenia_bipolar"])
    );
}
