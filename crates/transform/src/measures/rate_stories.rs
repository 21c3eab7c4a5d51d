//! The pending `core_set` member stories of the rate measures (`fixtures/pending/core_set/`),
//! checked here until `core_set.parquet` exists: each story's input is read and its persons'
//! [`super::RateCount`]s are summed the way `core_set` will sum them (program = `overall` and
//! each Health Home; age band by the measure's bands, `unknown`, `total`), then every fact of
//! its `expected.csv` (`events`, `enrollee_months`) is compared.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use super::{rates_of_person, AgeBand, Context};
use crate::params::Params;
use crate::value_sets::ValueSets;

fn band_of(age: Option<i32>, bands: &[AgeBand]) -> String {
    match age {
        None => "unknown".into(),
        Some(a) => bands
            .iter()
            .find(|b| a >= b.min && b.max.is_none_or(|x| a <= x))
            .map_or("other".into(), |b| match b.max {
                Some(x) => format!("{}-{x}", b.min),
                None => format!("{}+", b.min),
            }),
    }
}

type Key = (String, String, String, String);

fn sums(folder: &str) -> BTreeMap<Key, (i64, i64)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/pending/core_set")
        .join(folder);
    let input = caregap_ingest::read_input_layer(&dir).expect("story input");
    let vs = ValueSets::shipped();
    let p = Params::calendar_year(2026);
    let ctx = Context::new(&p);
    let conds = crate::conditions::conditions(&input, &vs, &p)
        .and_then(|l| l.collect())
        .expect("conditions");
    let elig = crate::eligibility::eligibility(&input, conds.clone().lazy(), &p)
        .collect()
        .expect("eligibility");
    let paid = crate::events::paid_by_person_month(&input)
        .and_then(|l| l.collect())
        .expect("paid");
    let people =
        crate::events::build_person_events(&input, &vs, &p, &ctx.needs, &conds, &elig, &paid)
            .expect("events");
    let mut out: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
    for pe in &people {
        for c in rates_of_person(pe, &ctx) {
            let m = super::find(c.measure).expect("registered");
            let code = m.core_set.expect("a Core Set measure").code.to_string();
            let band = band_of(c.age, m.age_bands);
            let mut programs = vec!["overall".to_string()];
            programs.extend(c.health_home_id.clone());
            for prog in programs {
                for b in [band.clone(), "total".into()] {
                    let e = out
                        .entry((prog.clone(), code.clone(), c.rate.to_string(), b))
                        .or_default();
                    e.0 += c.events;
                    e.1 += c.months;
                }
            }
        }
    }
    out
}

fn check(folder: &str) {
    let got = sums(folder);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/pending/core_set")
        .join(folder)
        .join("expected.csv");
    let text = std::fs::read_to_string(path).expect("expected.csv");
    let mut failures = Vec::new();
    let mut n = 0;
    for line in text.lines().skip(1).filter(|l| !l.starts_with('#')) {
        let mut parts = line.split('"');
        let (Some(_), Some(key), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("bad fact line {line}");
        };
        let kv: BTreeMap<&str, &str> = key.split(';').filter_map(|x| x.split_once('=')).collect();
        let f: Vec<&str> = rest.trim_start_matches(',').split(',').collect();
        let (field, want) = (f[0], f[1].parse::<i64>().expect("a count"));
        let k = (
            kv["program"].to_string(),
            kv["measure"].to_string(),
            kv["rate"].to_string(),
            kv["age_band"].to_string(),
        );
        let (ev, em) = got.get(&k).copied().unwrap_or_default();
        let have = if field == "events" { ev } else { em };
        n += 1;
        if have != want {
            failures.push(format!("{key} {field}: expected {want}, got {have}"));
        }
    }
    assert!(n > 20, "{folder}: only {n} facts");
    assert!(failures.is_empty(), "{folder}:\n{}", failures.join("\n"));
}

#[test]
fn pending_iu_stories_hold() {
    check("iu");
}

#[test]
fn pending_aif_stories_hold() {
    check("aif");
}
