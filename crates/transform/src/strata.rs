//! The Health Home Core Set **strata** of a person (docs/core-set.md §3): race and ethnicity,
//! sex and geography, read from `eligibility` and a user-supplied ZIP → urban/rural file.
//!
//! CMS requires the Core Set to be stratified by race and ethnicity, sex and geography (urban /
//! rural / missing) from the 2025 reporting year (`shared/research/anchors-2026.md` §1). Input
//! values are free text (Tuva's `race`, `ethnicity`, `gender`, `zip_code`); each is mapped to
//! one category of a fixed list, so every person is in exactly one stratum of each kind and the
//! strata of a stratification sum to its total:
//!
//! - **race and ethnicity** — one combined, mutually exclusive list in the manner of OMB SPD 15
//!   (2024): `Hispanic or Latino` when the ethnicity says so (any race), else the race category
//!   (`White`, `Black or African American`, `Asian`, `American Indian or Alaska Native`,
//!   `Native Hawaiian or Other Pacific Islander`, `Multiracial`, `Some other race`), else
//!   `Missing`. A value caregap does not recognise counts as `Missing` (never guessed).
//! - **sex** — `male`, `female` (also `m`, `f`), else `unknown`.
//! - **geography** — the person's ZIP code (first five digits; a number that lost its leading
//!   zeros is padded) looked up in the geography file: `urban` or `rural`; no file, no ZIP or a
//!   ZIP not in the file: `unknown`.
//!
//! A person's value is taken from their eligibility row with the latest enrollment start that
//! has one (ties: the smallest value), so that a changed address counts once.

use std::collections::BTreeMap;
use std::path::Path;

use caregap_ingest::InputLayer;
use polars::prelude::*;

use crate::error::TransformError;
use crate::events::PersonEvents;

/// The race and ethnicity categories, in report order.
pub const RACE_ETHNICITY: &[&str] = &[
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Asian",
    "American Indian or Alaska Native",
    "Native Hawaiian or Other Pacific Islander",
    "Multiracial",
    "Some other race",
    "Missing",
];

/// The sex categories, in report order.
pub const SEX: &[&str] = &["female", "male", "unknown"];

/// The geography categories, in report order.
pub const GEOGRAPHY: &[&str] = &["urban", "rural", "unknown"];

/// One person's strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strata {
    /// One of [`RACE_ETHNICITY`].
    pub race_ethnicity: &'static str,
    /// One of [`SEX`].
    pub sex: &'static str,
    /// One of [`GEOGRAPHY`].
    pub geography: &'static str,
}

impl Default for Strata {
    fn default() -> Self {
        Strata {
            race_ethnicity: "Missing",
            sex: "unknown",
            geography: "unknown",
        }
    }
}

fn norm(s: &str) -> String {
    s.trim()
        .to_ascii_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The race and ethnicity category of raw `race` and `ethnicity` values.
pub fn race_ethnicity(race: Option<&str>, ethnicity: Option<&str>) -> &'static str {
    let hispanic = ethnicity.map(norm).is_some_and(|e| {
        matches!(
            e.as_str(),
            "hispanic or latino" | "hispanic" | "latino" | "hispanic/latino" | "h" | "y" | "yes"
        )
    });
    if hispanic {
        return "Hispanic or Latino";
    }
    let Some(r) = race.map(norm) else {
        return "Missing";
    };
    match r.as_str() {
        "white" | "caucasian" => "White",
        "black or african american" | "black" | "african american" => "Black or African American",
        "asian" => "Asian",
        "american indian or alaska native" | "american indian" | "alaska native" | "aian" => {
            "American Indian or Alaska Native"
        }
        "native hawaiian or other pacific islander"
        | "native hawaiian"
        | "pacific islander"
        | "nhpi" => "Native Hawaiian or Other Pacific Islander",
        "two or more races" | "multiracial" | "multiple" | "multiple races" => "Multiracial",
        "other" | "other race" | "some other race" => "Some other race",
        "hispanic or latino" | "hispanic" | "latino" => "Hispanic or Latino",
        _ => "Missing",
    }
}

/// The sex category of a raw `gender` value.
pub fn sex(gender: Option<&str>) -> &'static str {
    match gender.map(norm).as_deref() {
        Some("female" | "f") => "female",
        Some("male" | "m") => "male",
        _ => "unknown",
    }
}

/// The five-digit ZIP of a raw value (`63101-1234` → `63101`; `2134` → `02134`), if it is one.
pub fn zip5(raw: &str) -> Option<String> {
    let t = raw.trim();
    let head: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    match head.len() {
        5 => Some(head),
        9 if !t.contains('-') => Some(head[..5].to_string()),
        3 | 4 if head.len() == t.len() => Some(format!("{head:0>5}")),
        _ => None,
    }
}

/// A ZIP → urban/rural table: the geography stratum's source (`--geography FILE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Geography {
    zips: BTreeMap<String, &'static str>,
    /// The file it was read from (for the manifest and the report).
    pub file: Option<String>,
}

impl Geography {
    /// No table: every person's geography is `unknown`.
    pub fn none() -> Self {
        Geography::default()
    }

    /// The category of `zip`.
    pub fn of(&self, zip: Option<&str>) -> &'static str {
        zip.and_then(zip5)
            .and_then(|z| self.zips.get(&z).copied())
            .unwrap_or("unknown")
    }

    /// ZIP codes in the table.
    pub fn len(&self) -> usize {
        self.zips.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.zips.is_empty()
    }

    /// Read a CSV with a header naming `zip_code` (or `zip`) and either `geography`
    /// (`urban` / `rural`) or `ruca` (a primary RUCA code: 1–3 urban, 4–10 rural, the USDA
    /// ERS convention). Other columns are ignored. A row with a bad ZIP or value is an error
    /// naming the file, the line and the column; so is one ZIP given twice with two values.
    pub fn from_file(path: &Path) -> Result<Self, TransformError> {
        let err = |line: usize, column: &str, msg: String| TransformError::Geography {
            file: path.display().to_string(),
            line,
            column: column.to_string(),
            message: msg,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(path)
            .map_err(|e| err(0, "", format!("cannot read: {e}")))?;
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| err(1, "", format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
        let zip_col = find(&["zip_code", "zip", "zipcode", "zcta"])
            .ok_or_else(|| err(1, "zip_code", "no `zip_code` column in the header".into()))?;
        let geo_col = find(&["geography"]);
        let ruca_col = find(&["ruca", "ruca_code", "ruca1", "primary_ruca"]);
        if geo_col.is_none() && ruca_col.is_none() {
            return Err(err(
                1,
                "geography",
                "no `geography` (urban / rural) or `ruca` column in the header".into(),
            ));
        }
        let mut zips = BTreeMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| err(line, "", format!("cannot read the row: {e}")))?;
            let raw_zip = rec.get(zip_col).unwrap_or("");
            let zip = zip5(raw_zip).ok_or_else(|| {
                err(
                    line,
                    &header[zip_col],
                    format!("`{raw_zip}` is not a ZIP code"),
                )
            })?;
            let value: &'static str = if let Some(c) = geo_col {
                match norm(rec.get(c).unwrap_or("")).as_str() {
                    "urban" => "urban",
                    "rural" => "rural",
                    other => {
                        return Err(err(
                            line,
                            &header[c],
                            format!("`{other}` is not `urban` or `rural`"),
                        ))
                    }
                }
            } else {
                let c = ruca_col.expect("checked above");
                let raw = rec.get(c).unwrap_or("").trim();
                match raw.parse::<f64>() {
                    Ok(v) if (1.0..4.0).contains(&v) => "urban",
                    Ok(v) if (4.0..11.0).contains(&v) => "rural",
                    _ => {
                        return Err(err(
                            line,
                            &header[c],
                            format!("`{raw}` is not a RUCA code from 1 to 10"),
                        ))
                    }
                }
            };
            if let Some(prev) = zips.insert(zip.clone(), value) {
                if prev != value {
                    return Err(err(
                        line,
                        &header[zip_col],
                        format!("ZIP {zip} is given as both {prev} and {value}"),
                    ));
                }
            }
        }
        Ok(Geography {
            zips,
            file: Some(path.display().to_string()),
        })
    }
}

/// Set every person's [`Strata`] from `eligibility` and `geo`.
pub fn load(input: &InputLayer, geo: &Geography, people: &mut [PersonEvents]) -> PolarsResult<()> {
    // One value per person and column: from the latest enrollment span that has one (ties:
    // the smallest value).
    let latest = |c: &str| {
        col(c)
            .sort_by(
                [col("enrollment_start_date"), col(c)],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .drop_nulls()
            .first()
            .alias(c)
    };
    let df = input
        .lazy("eligibility")
        .group_by([col("person_id")])
        .agg([
            latest("race"),
            latest("ethnicity"),
            latest("gender"),
            latest("zip_code"),
        ])
        .collect()?;
    let s = |c: &str| -> PolarsResult<Vec<Option<String>>> {
        Ok(df
            .column(c)?
            .cast(&DataType::String)?
            .str()?
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    };
    let ids = s("person_id")?;
    let (race, eth, gender, zip) = (s("race")?, s("ethnicity")?, s("gender")?, s("zip_code")?);
    let mut by_id: BTreeMap<String, Strata> = BTreeMap::new();
    for i in 0..df.height() {
        if let Some(id) = &ids[i] {
            by_id.insert(
                id.clone(),
                Strata {
                    race_ethnicity: race_ethnicity(race[i].as_deref(), eth[i].as_deref()),
                    sex: sex(gender[i].as_deref()),
                    geography: geo.of(zip[i].as_deref()),
                },
            );
        }
    }
    for pe in people {
        if let Some(st) = by_id.get(&pe.person_id) {
            pe.strata = *st;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn race_and_ethnicity_are_one_exclusive_list() {
        assert_eq!(
            race_ethnicity(Some("white"), Some("hispanic or latino")),
            "Hispanic or Latino"
        );
        assert_eq!(
            race_ethnicity(Some("White"), Some("not hispanic or latino")),
            "White"
        );
        assert_eq!(
            race_ethnicity(Some("Black_or_African_American"), None),
            "Black or African American"
        );
        assert_eq!(
            race_ethnicity(Some("two or more races"), None),
            "Multiracial"
        );
        assert_eq!(
            race_ethnicity(Some("martian"), None),
            "Missing",
            "not guessed"
        );
        assert_eq!(race_ethnicity(None, None), "Missing");
        for r in ["white", "asian", "other race", "unknown", "hispanic"] {
            assert!(RACE_ETHNICITY.contains(&race_ethnicity(Some(r), None)));
        }
    }

    #[test]
    fn sex_maps_letters_and_defaults_to_unknown() {
        assert_eq!(sex(Some("F")), "female");
        assert_eq!(sex(Some(" male ")), "male");
        assert_eq!(sex(Some("x")), "unknown");
        assert_eq!(sex(None), "unknown");
    }

    #[test]
    fn zip_codes_are_five_digits() {
        assert_eq!(zip5("63101").as_deref(), Some("63101"));
        assert_eq!(zip5("63101-1234").as_deref(), Some("63101"));
        assert_eq!(zip5("631011234").as_deref(), Some("63101"));
        assert_eq!(zip5("2134").as_deref(), Some("02134"), "lost leading zero");
        assert_eq!(zip5("6310"), Some("06310".into()));
        assert_eq!(zip5("abc"), None);
        assert_eq!(zip5("631"), Some("00631".into()));
        assert_eq!(zip5("63"), None);
    }

    #[test]
    fn geography_file_urban_rural_and_ruca() {
        let dir = std::env::temp_dir().join(format!("caregap-geo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("geo.csv");
        std::fs::write(&f, "zip_code,geography\n63101,urban\n65401,Rural\n").unwrap();
        let g = Geography::from_file(&f).unwrap();
        assert_eq!(g.of(Some("63101-0001")), "urban");
        assert_eq!(g.of(Some("65401")), "rural");
        assert_eq!(g.of(Some("99999")), "unknown");
        assert_eq!(g.of(None), "unknown");
        std::fs::write(&f, "ZIP,RUCA\n63101,1.0\n65401,10\n").unwrap();
        let g = Geography::from_file(&f).unwrap();
        assert_eq!(
            (g.of(Some("63101")), g.of(Some("65401"))),
            ("urban", "rural")
        );
        std::fs::write(&f, "zip_code,geography\n63101,urban\n63102,suburban\n").unwrap();
        let e = Geography::from_file(&f).unwrap_err().to_string();
        assert!(
            e.contains("line 3") && e.contains("geography") && e.contains("suburban"),
            "{e}"
        );
        std::fs::write(&f, "zip_code,geography\n63101,urban\n63101,rural\n").unwrap();
        let e = Geography::from_file(&f).unwrap_err().to_string();
        assert!(e.contains("both urban and rural"), "{e}");
        std::fs::write(&f, "zip_code,x\n63101,urban\n").unwrap();
        assert!(Geography::from_file(&f).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
