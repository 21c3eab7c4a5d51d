//! The importers on exports as users have them: the data-driven cases of `fixtures/import/`
//! (empty, malformed and oddly named tables, through the binary: exit status and message), and
//! the OMOP and Synthea samples of shared/data re-cased (upper-case CDM headers, a Parquet CDM,
//! a mixed-case Synthea export) giving byte-identical tables.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;
use serde_json::Value;

use crate::common::{root, shared};

/// What a polars query plan or a panic looks like in a message: never in an import error.
const PLAN_MARKERS: &[&str] = &[
    "DF [",
    "FILTER",
    "SELECT",
    "SCAN",
    "Error originated",
    "Resolved plan",
    "panicked",
];

fn import(format: &str, input: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_caregap"))
        .args(["import", format, "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run caregap")
}

/// The Parquet tables of an import, by file name.
fn tables(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut t = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "parquet") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            t.insert(name, fs::read(&p).unwrap());
        }
    }
    t
}

/// `import_report.json`, and its `renamed_columns` taken out.
fn report(dir: &Path) -> (Value, Value) {
    let mut v: Value =
        serde_json::from_slice(&fs::read(dir.join("import_report.json")).unwrap()).unwrap();
    let renamed = v
        .as_object_mut()
        .unwrap()
        .remove("renamed_columns")
        .unwrap_or(Value::Null);
    (v, renamed)
}

/// Copy the files of `from` into `to`, leaving out `skip`.
fn copy_files(from: &Path, to: &Path, skip: &[String]) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_file() && !skip.contains(&name) {
            fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}

fn strings(t: &toml::Table, key: &str) -> Option<Vec<String>> {
    t.get(key).map(|v| {
        v.as_array()
            .unwrap_or_else(|| panic!("{key} is a list"))
            .iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    })
}

/// One case of `fixtures/import/<format>/<case>/`; the problems found, if any.
fn run_case(format: &str, base: &Path, case: &Path, tmp: &Path) -> Vec<String> {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let expect: toml::Table = fs::read_to_string(case.join("expect.toml"))
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{name}/expect.toml: {e}"));
    let mut problems = Vec::new();
    let input = tmp.join(&name).join("in");
    let out = tmp.join(&name).join("out");
    copy_files(
        base,
        &input,
        &strings(&expect, "remove").unwrap_or_default(),
    );
    copy_files(
        case,
        &input,
        &["README.md".to_string(), "expect.toml".to_string()],
    );
    let o = import(format, &input, &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let exit = expect["exit"].as_integer().expect("exit") as i32;
    if o.status.code() != Some(exit) {
        problems.push(format!(
            "{name}: exit {:?}, expected {exit}: {stderr}",
            o.status.code()
        ));
        return problems;
    }
    for m in strings(&expect, "message").unwrap_or_default() {
        if !stderr.contains(&m) {
            problems.push(format!("{name}: message lacks {m:?}: {stderr}"));
        }
    }
    for m in PLAN_MARKERS {
        if stderr.contains(m) {
            problems.push(format!("{name}: message holds {m:?}: {stderr}"));
        }
    }
    if let Some(without) = strings(&expect, "same_as_base_without") {
        let ref_in = tmp.join(&name).join("ref_in");
        let ref_out = tmp.join(&name).join("ref_out");
        copy_files(base, &ref_in, &without);
        let r = import(format, &ref_in, &ref_out);
        assert!(r.status.success(), "{name}: reference import failed");
        if tables(&out) != tables(&ref_out) {
            problems.push(format!(
                "{name}: tables differ from the base without {without:?}: {:?} vs {:?}",
                tables(&out).keys(),
                tables(&ref_out).keys()
            ));
        }
        if report(&out).0 != report(&ref_out).0 {
            problems.push(format!("{name}: report counts differ from the reference"));
        }
    }
    if let Some(files) = strings(&expect, "renamed") {
        let renamed = report(&out).1;
        let got: Vec<&String> = renamed
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        let mut want: Vec<&String> = files.iter().collect();
        want.sort();
        if got != want {
            problems.push(format!(
                "{name}: renamed_columns for {got:?}, expected {want:?}"
            ));
        }
    }
    if let Some(rows) = expect.get("rows_written").and_then(|v| v.as_table()) {
        let written = report(&out).0["rows_written"].clone();
        for (t, n) in rows {
            if written[t].as_i64() != n.as_integer() {
                problems.push(format!("{name}: {t} has {} rows, expected {n}", written[t]));
            }
        }
    }
    problems
}

#[test]
fn import_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut ran = 0;
    for format in ["omop", "synthea"] {
        let dir = root().join("fixtures/import").join(format);
        let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("expect.toml").is_file())
            .collect();
        cases.sort();
        for case in cases {
            problems.extend(run_case(
                format,
                &dir.join("base"),
                &case,
                &tmp.path().join(format),
            ));
            ran += 1;
        }
    }
    assert!(ran >= 20, "only {ran} cases found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Copy every CSV of `from` into `to`, its file name and header line changed by `name` and
/// `header` (the rows are left as they are).
fn recase(
    from: &Path,
    to: &Path,
    name: impl Fn(usize, &str) -> String,
    header: impl Fn(usize, &str) -> String,
) {
    fs::create_dir_all(to).unwrap();
    let mut files: Vec<PathBuf> = fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    for (i, p) in files.iter().enumerate() {
        let text = fs::read_to_string(p).unwrap();
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let file = p.file_name().unwrap().to_string_lossy();
        fs::write(
            to.join(name(i, &file)),
            format!("{}\n{rest}", header(i, first)),
        )
        .unwrap();
    }
}

/// `payer_plan_period` → `Payer_Plan_Period`.
fn title_case(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| {
                    f.to_uppercase()
                        .chain(c.flat_map(char::to_lowercase))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .join("_")
}

#[test]
fn omop_cdm_with_upper_case_headers_gives_the_same_tables() {
    let cdm = shared().join("data/omop_eunomia_synthea27nj");
    let d = tempfile::tempdir().unwrap();
    let upper = d.path().join("upper");
    recase(&cdm, &upper, |_, f| f.to_string(), |_, h| h.to_uppercase());
    let a = caregap_import::omop::import(&cdm, &d.path().join("a")).unwrap();
    let b = caregap_import::omop::import(&upper, &d.path().join("b")).unwrap();
    assert_eq!(tables(&d.path().join("a")), tables(&d.path().join("b")));
    assert_eq!(tables(&d.path().join("a")).len(), 5);
    assert_eq!(report(&d.path().join("a")).0, report(&d.path().join("b")).0);
    assert!(a.renamed_columns.is_empty());
    assert_eq!(b.renamed_columns["PERSON.csv"]["PERSON_ID"], "person_id");
    assert_eq!(
        b.renamed_columns["VISIT_OCCURRENCE.csv"].len(),
        5,
        "the columns the mapping reads"
    );
}

#[test]
fn omop_parquet_cdm_with_upper_case_columns_gives_the_csv_tables() {
    let cdm = shared().join("data/omop_eunomia_synthea27nj");
    let d = tempfile::tempdir().unwrap();
    let pq = d.path().join("parquet");
    fs::create_dir_all(&pq).unwrap();
    for e in fs::read_dir(&cdm).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "csv") {
            continue;
        }
        let mut df = LazyCsvReader::new(PlRefPath::new(p.to_string_lossy().as_ref()))
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .finish()
            .unwrap()
            .collect()
            .unwrap();
        let upper: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|c| c.to_uppercase())
            .collect();
        df.set_column_names(&upper).unwrap();
        // PERSON.csv → Person.parquet
        let stem = title_case(&p.file_stem().unwrap().to_string_lossy());
        let mut f = fs::File::create(pq.join(format!("{stem}.parquet"))).unwrap();
        ParquetWriter::new(&mut f).finish(&mut df).unwrap();
    }
    caregap_import::omop::import(&cdm, &d.path().join("a")).unwrap();
    let b = caregap_import::omop::import(&pq, &d.path().join("b")).unwrap();
    assert_eq!(tables(&d.path().join("a")), tables(&d.path().join("b")));
    assert_eq!(report(&d.path().join("a")).0, report(&d.path().join("b")).0);
    assert_eq!(
        b.renamed_columns["Person.parquet"]["PERSON_ID"],
        "person_id"
    );
}

#[test]
fn synthea_export_in_mixed_case_gives_the_same_tables() {
    let export = shared().join("data/synthea");
    let d = tempfile::tempdir().unwrap();
    let mixed = d.path().join("mixed");
    // Alternately: `Patients.csv` with lower-case headers, `ENCOUNTERS.CSV` with Title_Case.
    recase(
        &export,
        &mixed,
        |i, f| {
            if i % 2 == 0 {
                title_case(f)
            } else {
                f.to_uppercase()
            }
        },
        |i, h| {
            if i % 2 == 0 {
                h.to_lowercase()
            } else {
                h.split(',').map(title_case).collect::<Vec<_>>().join(",")
            }
        },
    );
    caregap_import::synthea::import(&export, &d.path().join("a")).unwrap();
    let b = caregap_import::synthea::import(&mixed, &d.path().join("b")).unwrap();
    assert_eq!(tables(&d.path().join("a")), tables(&d.path().join("b")));
    assert_eq!(tables(&d.path().join("a")).len(), 5);
    assert_eq!(report(&d.path().join("a")).0, report(&d.path().join("b")).0);
    assert_eq!(
        b.renamed_columns.len(),
        7,
        "every file read: {:?}",
        b.renamed_columns.keys()
    );
}
