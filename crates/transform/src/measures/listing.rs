//! The registry as users read it: `caregap measures` (text or JSON) and `docs/measures.md`
//! (Markdown, generated from here; a test fails when it is stale).

use serde::Serialize;

use super::{AgeBand, Family, REGISTRY};

/// One measure as `caregap measures --format json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The measure id.
    pub id: &'static str,
    /// Its name.
    pub name: &'static str,
    /// `episode`, `person` or `rate`.
    pub kind: &'static str,
    /// An inverse measure.
    pub lower_is_better: bool,
    /// Its steward.
    pub steward: &'static str,
    /// The public definition it follows.
    pub source: &'static str,
    /// The spec version it implements.
    pub version: &'static str,
    /// Where its rule is specified.
    pub spec: &'static str,
    /// The module that computes it.
    pub module: String,
    /// Reporting age bands, as `6-17`, `65+`.
    pub age_bands: Vec<String>,
    /// The value sets its family reads from the event tables.
    pub value_sets: Vec<&'static str>,
}

fn band_text(b: &AgeBand) -> String {
    match b.max {
        Some(m) => format!("{}-{m}", b.min),
        None => format!("{}+", b.min),
    }
}

fn family_sets(f: &Family) -> Vec<&'static str> {
    let mut v = super::Needs::of([&f.uses]).value_sets();
    for s in f.value_sets {
        if !v.contains(s) {
            v.push(s);
        }
    }
    v
}

/// Every registered measure, in report order.
pub fn entries() -> Vec<Entry> {
    REGISTRY
        .iter()
        .flat_map(|f| {
            f.measures.iter().map(move |m| Entry {
                id: m.id,
                name: m.name,
                kind: m.kind.as_str(),
                lower_is_better: m.lower_is_better,
                steward: m.steward,
                source: m.source,
                version: m.version,
                spec: m.spec,
                module: format!("crates/transform/src/measures/{}.rs", f.module),
                age_bands: m.age_bands.iter().map(band_text).collect(),
                value_sets: family_sets(f),
            })
        })
        .collect()
}

/// A plain-text table: id, kind, direction, steward, version, name.
pub fn text() -> String {
    let mut s = format!(
        "{:<12} {:<8} {:<16} {:<8} {:<9} {}\n",
        "id", "kind", "direction", "steward", "version", "name"
    );
    for e in entries() {
        let dir = if e.lower_is_better {
            "lower is better"
        } else {
            "higher is better"
        };
        s.push_str(&format!(
            "{:<12} {:<8} {:<16} {:<8} {:<9} {}\n",
            e.id, e.kind, dir, e.steward, e.version, e.name
        ));
    }
    s
}

/// A JSON array of [`Entry`].
pub fn json() -> String {
    serde_json::to_string_pretty(&entries()).expect("entries serialize") + "\n"
}

/// `docs/measures.md`.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Measures\n\n\
         <!-- Generated from the measure registry (crates/transform/src/measures/mod.rs, REGISTRY) by \
         `caregap measures --format markdown`; a test fails when this file is stale \
         (BLESS=1 cargo test -p caregap-transform measures_doc rewrites it). -->\n\n\
         Every measure caregap computes, in report order. `care_gaps.status` is `open` (a care gap), \
         `closed` or `excluded`; for a measure where a lower rate is better, `open` is the numerator. \
         The rules are in the spec each row names and in the module's population functions.\n\n\
         | id | name | kind | lower is better | steward | version | age bands | spec | module | value sets it asks of the events |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for e in entries() {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | `{}` | {} |\n",
            e.id,
            e.name,
            e.kind,
            if e.lower_is_better { "yes" } else { "no" },
            e.steward,
            e.version,
            e.age_bands.join(", "),
            e.spec,
            e.module,
            e.value_sets
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    s.push_str("\nSources:\n\n");
    for e in entries() {
        s.push_str(&format!("- `{}`: {}\n", e.id, e.source));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/measures.md");
        let want = markdown();
        if std::env::var("BLESS").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/measures.md is stale: run `BLESS=1 cargo test -p caregap-transform measures_doc`"
        );
    }

    #[test]
    fn every_measure_is_listed_once_with_its_facts() {
        let e = entries();
        let ids: Vec<&str> = e.iter().map(|x| x.id).collect();
        assert_eq!(
            ids,
            [
                "fuh_7",
                "fuh_30",
                "tcm_7",
                "fum_7",
                "fum_30",
                "fua_7",
                "fua_30",
                "fua_hh_7",
                "fua_hh_30",
                "cbp",
                "hba1c_poor",
                "gsd_lt8",
                "gsd_gt9",
                "col",
                "ssd",
                "pcr_30",
                "pcr_hh",
                "cdf",
                "iet_init",
                "iet_engage",
                "iet_init_alcohol",
                "iet_engage_alcohol",
                "iet_init_opioid",
                "iet_engage_opioid",
                "iet_init_other",
                "iet_engage_other",
                "oud",
                "oud_bup",
                "oud_ntx_oral",
                "oud_ntx_lai",
                "oud_methadone",
                "iu",
                "aif"
            ]
        );
        let inverse: Vec<&str> = e
            .iter()
            .filter(|x| x.lower_is_better)
            .map(|x| x.id)
            .collect();
        assert_eq!(inverse, ["hba1c_poor", "gsd_gt9", "pcr_30", "pcr_hh"]);
        assert!(e.iter().all(|x| !x.name.is_empty() && !x.spec.is_empty()));
        let fua = e.iter().find(|x| x.id == "fua_7").unwrap();
        assert_eq!(fua.age_bands, ["13-17", "18-64", "65+"]);
        assert!(fua.value_sets.contains(&"fua_service"));
        let iu = e.iter().find(|x| x.id == "iu").unwrap();
        assert_eq!(iu.kind, "rate");
        assert_eq!(iu.age_bands, ["0-17", "18-64", "65+"]);
        assert!(iu.value_sets.contains(&"mental_behavioral"));
        let aif = e.iter().find(|x| x.id == "aif").unwrap();
        assert_eq!(aif.age_bands, ["18-64", "65-74", "75-84", "85+"]);
        let v: serde_json::Value = serde_json::from_str(&json()).unwrap();
        assert_eq!(v[0]["id"], "fuh_7");
        assert_eq!(v[0]["kind"], "episode");
    }
}
