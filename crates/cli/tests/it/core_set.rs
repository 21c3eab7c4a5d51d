//! The Health Home Core Set (issue #18, docs/core-set.md) on a synthetic population: its totals
//! equal the `care_gaps` rows they come from, every stratification sums to its total, the
//! public-reporting flags follow CMS's rule, and `core_set_qmr.csv` is the `none` rows laid out
//! for the state's filing.

use std::collections::BTreeMap;

use caregap_cli::pipeline::{self, RunOptions};
use caregap_synth::{generate, SynthConfig};
use caregap_transform::{measures, Params};
use polars::prelude::*;

fn strs(df: &DataFrame, c: &str) -> Vec<String> {
    df.column(c)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

fn ints(df: &DataFrame, c: &str) -> Vec<Option<i64>> {
    df.column(c).unwrap().i64().unwrap().iter().collect()
}

fn bools(df: &DataFrame, c: &str) -> Vec<bool> {
    df.column(c)
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect()
}

#[test]
fn core_set_totals_equal_care_gaps_and_strata_sum_to_the_total() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    generate(
        &SynthConfig {
            persons: 4000,
            seed: 18,
            chunk: 4000,
            ..Default::default()
        },
        &input,
    )
    .unwrap();
    // A geography file for every ZIP the population has: even ZIPs urban, odd rural.
    let elig = caregap_ingest::read_input_layer(&input).unwrap();
    let zips: std::collections::BTreeSet<String> = elig
        .lazy("eligibility")
        .select([col("zip_code")])
        .collect()
        .unwrap()
        .column("zip_code")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    let geo = d.path().join("geo.csv");
    let mut text = String::from("zip_code,geography\n");
    for z in &zips {
        let urban = z
            .bytes()
            .last()
            .is_some_and(|b| (b - b'0').is_multiple_of(2));
        text.push_str(&format!("{z},{}\n", if urban { "urban" } else { "rural" }));
    }
    std::fs::write(&geo, text).unwrap();
    let mut opts = RunOptions::new(input, d.path().join("out"), Params::calendar_year(2025));
    opts.geography = Some(geo);
    let r = pipeline::run(&opts).unwrap();
    let cs = &r.outputs["core_set"];
    let gaps = &r.outputs["care_gaps"];
    // The synthetic claims hold no institutional facility claim: AIF-HH is not computed (no
    // rows, the manifest says why) rather than zero admissions.
    assert!(
        r.manifest
            .core_set
            .not_computed
            .iter()
            .any(|w| w.starts_with("AIF-HH:")),
        "{:?}",
        r.manifest.core_set.not_computed
    );
    assert!(!strs(cs, "measure").iter().any(|m| m == "AIF-HH"));
    assert!(strs(cs, "measure").iter().any(|m| m == "IU-HH"));

    // 1. Totals (stratum none, band total, summed over programs) equal the attributed
    //    care_gaps rows of each measure with a Core Set rate.
    let (gm, gs, gh) = (
        strs(gaps, "measure"),
        strs(gaps, "status"),
        strs(gaps, "health_home_id"),
    );
    let mut from_gaps: BTreeMap<(String, String), [i64; 3]> = BTreeMap::new();
    for i in 0..gaps.height() {
        let Some(m) = measures::find(&gm[i]) else {
            continue;
        };
        let (Some(c), false) = (m.core_set, gh[i].is_empty()) else {
            continue;
        };
        // QMR's IET-HH Total is the sum of its cohorts' rows, not the per-episode total rows.
        let totals = caregap_transform::measures::iet::CORE_SET_TOTALS;
        if totals.iter().any(|(t, _)| *t == m.id) {
            continue;
        }
        let mut rates = vec![(c.code.to_string(), c.rate.to_string())];
        if let Some((t, _)) = totals.iter().find(|(_, cs)| cs.contains(&m.id)) {
            let tc = measures::find(t).unwrap().core_set.unwrap();
            rates.push((tc.code.to_string(), tc.rate.to_string()));
        }
        for key in rates {
            let e = from_gaps.entry(key).or_default();
            match gs[i].as_str() {
                "excluded" => e[2] += 1,
                s => {
                    e[1] += 1;
                    let num = if m.lower_is_better {
                        s == "open"
                    } else {
                        s == "closed"
                    };
                    e[0] += i64::from(num);
                }
            }
        }
    }
    assert!(
        from_gaps.len() >= 5,
        "the synthetic population has attributed rows of several Core Set rates: {from_gaps:?}"
    );
    let (p, m, rate, band, st, stratum) = (
        strs(cs, "program"),
        strs(cs, "measure"),
        strs(cs, "rate"),
        strs(cs, "age_band"),
        strs(cs, "stratum_type"),
        strs(cs, "stratum"),
    );
    let (num, den, exc) = (
        ints(cs, "numerator"),
        ints(cs, "denominator"),
        ints(cs, "excluded"),
    );
    // Proportion rows only (rate measures carry events; IU's derived ALOS rows are ratios).
    let unit = strs(cs, "unit");
    let mut from_core: BTreeMap<(String, String), [i64; 3]> = BTreeMap::new();
    let mut programs = std::collections::BTreeSet::new();
    for i in 0..cs.height() {
        programs.insert(p[i].clone());
        if st[i] == "none" && band[i] == "total" && unit[i] == "proportion" {
            let e = from_core
                .entry((m[i].clone(), rate[i].clone()))
                .or_default();
            e[0] += num[i].unwrap();
            e[1] += den[i].unwrap();
            e[2] += exc[i].unwrap();
        }
    }
    assert_eq!(from_core, from_gaps);
    assert!(programs.len() >= 2, "programs: {programs:?}");

    // 2. Every stratification sums to its `none` row, in every band.
    let mut none: BTreeMap<(String, String, String, String), [i64; 3]> = BTreeMap::new();
    let mut by: BTreeMap<(String, String, String, String, String), [i64; 3]> = BTreeMap::new();
    let mut seen_geo = std::collections::BTreeSet::new();
    for i in 0..cs.height() {
        let Some(n) = num[i] else { continue };
        let v = [n, den[i].unwrap(), exc[i].unwrap_or(0)];
        let k = (p[i].clone(), m[i].clone(), rate[i].clone(), band[i].clone());
        if st[i] == "none" {
            none.insert(k, v);
        } else {
            if st[i] == "geography" && v[1] > 0 {
                seen_geo.insert(stratum[i].clone());
            }
            let e = by.entry((k.0, k.1, k.2, k.3, st[i].clone())).or_default();
            for j in 0..3 {
                e[j] += v[j];
            }
        }
    }
    for ((p, m, r, b, t), v) in &by {
        assert_eq!(
            none.get(&(p.clone(), m.clone(), r.clone(), b.clone())),
            Some(v),
            "{p} {m} {r} {b}: the {t} strata do not sum to the total"
        );
    }
    assert!(
        seen_geo.contains("urban") && seen_geo.contains("rural"),
        "the geography file gave strata: {seen_geo:?}"
    );

    // 3. The public-reporting flags follow the rule (threshold 10, rates on < 30 hidden).
    let (sc, sr) = (bools(cs, "suppress_count"), bools(cs, "suppress_rate"));
    for i in 0..cs.height() {
        let (Some(n), Some(dd), "proportion") = (num[i], den[i], unit[i].as_str()) else {
            continue;
        };
        let small = |x: i64| (1..=10).contains(&x);
        if small(n) || small(dd) || small(dd - n) {
            assert!(sc[i], "row {i}: {n}/{dd} must hide its counts");
        }
        if dd < 30 || sc[i] {
            assert!(sr[i], "row {i}: {n}/{dd} must hide its rate");
        } else {
            assert!(!sr[i], "row {i}: {n}/{dd} needs no rate suppression");
        }
    }
    assert!(sc.iter().any(|x| !x), "something is shown");

    // 4. core_set_qmr.csv: the `none` rows, with QMR's percentage.
    let qmr = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(opts.out.join("core_set_qmr.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let none_rows = st.iter().filter(|s| *s == "none").count();
    assert_eq!(qmr.height(), none_rows);
    let (qn, qd) = (ints(&qmr, "numerator"), ints(&qmr, "denominator"));
    let qv: Vec<Option<f64>> = qmr
        .column("rate_value")
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    let qu = strs(&qmr, "unit");
    for i in 0..qmr.height() {
        if let (Some(n), Some(dd), "percent") = (qn[i], qd[i], qu[i].as_str()) {
            let want = (dd > 0).then(|| ((n as f64 * 100.0 / dd as f64) * 10.0).round() / 10.0);
            assert_eq!(qv[i], want, "qmr row {i}");
        }
    }
    // Bands in CMS's order, `total` last, within each program × measure × rate.
    let (qp, qm, qr, qb) = (
        strs(&qmr, "program"),
        strs(&qmr, "measure"),
        strs(&qmr, "rate"),
        strs(&qmr, "age_band"),
    );
    for i in 1..qmr.height() {
        if (&qp[i], &qm[i], &qr[i]) == (&qp[i - 1], &qm[i - 1], &qr[i - 1]) {
            assert_ne!(qb[i - 1], "total", "`total` is the last band: row {i}");
        }
    }
}
