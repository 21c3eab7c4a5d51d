//! The settings registry (`crates/cli/src/settings.rs`) against a real run: every setting that
//! run_manifest.json records is found at the place the registry declares, and changing the
//! setting changes it there. (Flags, keys, defaults, ranges and the fingerprint are checked by
//! the registry's unit tests; byte-identical outputs whatever the execution settings, by
//! `scale`.)

use std::fs;
use std::path::Path;

use caregap_cli::config::PipelineFile;
use caregap_cli::pipeline;
use caregap_cli::settings::{parse_cli, Kind, Recorded, Value, SETTINGS};
use polars::prelude::{CsvWriter, SerWriter};

const ELIG: &str =
    "person_id,birth_date,death_date,enrollment_start_date,enrollment_end_date,payer,payer_type\n\
A1,1980-01-01,,2024-01-01,2025-12-31,MO HealthNet,medicaid\n";
const CLAIMS: &str = "claim_id,claim_line_number,claim_type,person_id,claim_start_date,claim_end_date,bill_type_code,revenue_center_code,place_of_service_code,hcpcs_code,paid_amount,diagnosis_code_1\n\
C1,1,professional,A1,2025-03-01,2025-03-01,,,11,99213,80,F41.1\n";

fn tiny(input: &Path) {
    fs::create_dir_all(input).unwrap();
    fs::write(input.join("eligibility.csv"), ELIG).unwrap();
    fs::write(input.join("medical_claim.csv"), CLAIMS).unwrap();
}

/// Run `layer` and return its manifest.
fn manifest(layer: PipelineFile) -> serde_json::Value {
    let opts = layer.into_options().unwrap();
    pipeline::run(&opts).unwrap_or_else(|e| panic!("{e:#}"));
    serde_json::from_slice(&fs::read(opts.out.join("run_manifest.json")).unwrap()).unwrap()
}

#[test]
fn the_manifest_records_each_setting_where_the_registry_says() {
    let d = tempfile::tempdir().unwrap();
    let base_text = "input = \"in\"\noutput = \"out\"\nbootstrap_draws = 10\nmax_reject_rate = 1\n";
    tiny(&d.path().join("in"));
    tiny(&d.path().join("other-input"));
    // Files for the value-set settings: one shipped set written back as an override, and the
    // shipped map.
    let vs = pipeline::load_value_sets(&[], None).unwrap();
    let mut sets = vs.to_frame().unwrap().head(Some(3));
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).finish(&mut sets).unwrap();
    fs::write(d.path().join("overrides.csv"), buf).unwrap();
    let mut map = vs.map().to_frame().unwrap();
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).finish(&mut map).unwrap();
    fs::write(d.path().join("map.csv"), buf).unwrap();
    // The geography setting's file.
    fs::write(
        d.path().join("zip_geography.csv"),
        "zip_code,geography\n63101,urban\n",
    )
    .unwrap();

    let base = PipelineFile::parse(base_text, d.path()).unwrap();
    let before = manifest(base.clone());
    let mut checked = vec![];
    for s in SETTINGS {
        let Recorded::At(pointers) = s.manifest else {
            continue;
        };
        let mut layer = base.clone();
        let value = match parse_cli(s, s.example) {
            Value::Path(p) => Value::Path(d.path().join(p)),
            Value::Paths(ps) => Value::Paths(ps.iter().map(|p| d.path().join(p)).collect()),
            v => v,
        };
        assert!(
            !matches!(s.kind, Kind::Switch),
            "{}: a switch in the manifest",
            s.key
        );
        layer.set(s.key, value);
        layer.set(
            "output",
            Value::Path(d.path().join(format!("out-{}", s.key))),
        );
        let after = manifest(layer);
        for p in pointers {
            let (a, b) = (before.pointer(p), after.pointer(p));
            assert!(a.is_some(), "{}: run_manifest.json has no {p}", s.key);
            assert_ne!(a, b, "{}: {p} does not follow it", s.key);
        }
        checked.push(s.key);
    }
    assert!(checked.len() >= 10, "{checked:?}");
}
