//! # caregap-synth
//!
//! A synthetic Medicaid population in the input layer, with ground truth planted by
//! construction (`ground_truth.parquet`). It never calls the measure code: every expected
//! answer follows from what the generator decided to write.
//!
//! **Owns**: the generator behind `caregap synth` and `caregap demo` — persons, coverage,
//! planted conditions, Health Home enrollment, utilization and planted care-gap scenarios —
//! written as the input-layer tables (one folder of part files per table, Parquet or CSV)
//! plus `ground_truth.parquet`, and the knobs that shape them ([`SynthConfig`]).
//!
//! **Must not**: depend on or call `caregap-transform` (or any measure code), nor read its
//! output to decide what is true: the ground truth must stay independent of the code it
//! checks, or `caregap verify-truth` would compare the measures with themselves. Its only
//! caregap dependency is `caregap-ingest`, for the portable Parquet writer. It reads no files:
//! what it writes depends only on its [`SynthConfig`].
//!
//! Persons are generated independently, each from its own seeded random stream, so the output
//! depends only on `--seed` (not on threads or chunk size), and in chunks of persons written as
//! part files, so a state-sized population streams through bounded memory.
//!
//! Planted care gaps: about 4 % of persons are scenario persons ([`scenarios`]), each carrying
//! one of the spec's edge cases with its expected rows in `ground_truth.parquet`
//! (`kind = care_gap`; `expected_status` open / closed / excluded, or `no_row` where the spec
//! says no row is produced; `expected_rule` = the exclusion reason).
//!
//! Planted effect: from the month a person enrolls in a Health Home, acute admissions fall by
//! `effect_admissions` (default 12.8 %) and ED visits by `effect_ed` (default 8.2 %), the
//! reductions Missouri reported for its Health Homes.

#![deny(missing_docs)]

pub mod person;
pub mod scenarios;
pub mod tables;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use tables::Rows;

/// Output file format of the input-layer tables (`ground_truth.parquet` is always Parquet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Zstd-compressed Parquet part files (`part-00000.parquet`, …), the default.
    Parquet,
    /// CSV part files with a header row (`part-00000.csv`, …).
    Csv,
}

impl Format {
    /// The format named by `--format` (`parquet` or `csv`, any case); None for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Number of persons to generate (scenario persons included).
    pub persons: usize,
    /// Seed every person's random stream is derived from: the same seed, the same population.
    pub seed: u64,
    /// First calendar year of generated coverage and claims.
    pub first_year: i32,
    /// The last year is the measurement period; the one before it is the look-back.
    pub last_year: i32,
    /// File format of the input-layer tables.
    pub format: Format,
    /// Persons per part file.
    pub chunk: usize,
    /// Planted relative reduction of acute admissions after Health Home enrollment.
    pub effect_admissions: f64,
    /// Planted relative reduction of ED visits after Health Home enrollment.
    pub effect_ed: f64,
    /// Share of persons meeting a rule who enroll in a Health Home.
    pub enrollment_rate: f64,
    /// Share of persons who are planted care-gap scenarios (`scenarios::SCENARIOS`).
    pub scenario_rate: f64,
    /// Baseline ED visits per person-year (before conditions).
    pub ed_base: f64,
    /// Baseline acute admissions per person-year (before conditions).
    pub ip_base: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            persons: 10_000,
            seed: 42,
            first_year: 2023,
            last_year: 2025,
            format: Format::Parquet,
            chunk: 50_000,
            effect_admissions: 0.128,
            effect_ed: 0.082,
            enrollment_rate: 0.35,
            scenario_rate: 0.04,
            ed_base: 0.35,
            ip_base: 0.05,
        }
    }
}

/// The ZIP → urban/rural file synth writes beside the tables (`caregap run --geography`).
pub const GEOGRAPHY_FILE: &str = "zip_geography.csv";

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file or folder under the output folder cannot be created, removed or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder that failed.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Building a frame or writing it as Parquet or CSV failed.
    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
}

/// Row counts written per table.
#[derive(Debug, Default, Clone)]
pub struct SynthSummary {
    /// Rows written per table name (the six input-layer tables and `ground_truth`).
    pub rows: BTreeMap<String, usize>,
}

impl SynthSummary {
    /// Rows written across every table, `ground_truth` included.
    pub fn total_rows(&self) -> usize {
        self.rows.values().sum()
    }
}

const TABLES: [&str; 6] = [
    "eligibility",
    "medical_claim",
    "pharmacy_claim",
    "observation",
    "lab_result",
    "health_home_enrollment",
];

fn write_frame(df: &mut DataFrame, path: &Path, format: Format) -> Result<(), SynthError> {
    let io = |e| SynthError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut f = fs::File::create(path).map_err(io)?;
    match format {
        Format::Parquet => {
            df.rechunk_mut();
            caregap_ingest::portable::portable_writer(&mut f, df)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(df)?;
        }
        Format::Csv => {
            CsvWriter::new(&mut f).include_header(true).finish(df)?;
        }
    }
    Ok(())
}

/// Generate `cfg.persons` persons into `out` (one folder of part files per table, plus
/// `ground_truth.parquet`). Existing table folders in `out` are replaced.
pub fn generate(cfg: &SynthConfig, out: &Path) -> Result<SynthSummary, SynthError> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e| SynthError::Io {
            path: p.clone(),
            source: e,
        }
    };
    fs::create_dir_all(out).map_err(io(out))?;
    for t in TABLES {
        let d = out.join(t);
        if d.exists() {
            fs::remove_dir_all(&d).map_err(io(&d))?;
        }
        fs::create_dir_all(&d).map_err(io(&d))?;
    }
    let mut summary = SynthSummary::default();
    let mut truth: Vec<DataFrame> = Vec::new();
    let chunk = cfg.chunk.max(1);
    let mut start = 0usize;
    let mut part = 0usize;
    while start < cfg.persons {
        let end = (start + chunk).min(cfg.persons);
        let people: Vec<Rows> = (start..end)
            .into_par_iter()
            .map(|i| person::generate_person(cfg, i as u64))
            .collect();
        let mut rows = Rows::default();
        for p in people {
            rows.extend(p);
        }
        let frames: [(&str, DataFrame); 6] = [
            ("eligibility", rows.eligibility_frame()?),
            ("medical_claim", rows.medical_frame()?),
            ("pharmacy_claim", rows.pharmacy_frame()?),
            (
                "observation",
                Rows::clinical_frame(&rows.observation, "observation_id", &["observation_date"])?,
            ),
            (
                "lab_result",
                Rows::clinical_frame(
                    &rows.lab,
                    "lab_result_id",
                    &["result_date", "collection_date"],
                )?,
            ),
            ("health_home_enrollment", rows.health_home_frame()?),
        ];
        for (name, mut df) in frames {
            *summary.rows.entry(name.to_string()).or_default() += df.height();
            let path = out
                .join(name)
                .join(format!("part-{part:05}.{}", cfg.format.ext()));
            write_frame(&mut df, &path, cfg.format)?;
        }
        truth.push(rows.truth_frame()?);
        start = end;
        part += 1;
    }
    let mut gt = if truth.is_empty() {
        Rows::default().truth_frame()?
    } else {
        concat(
            truth.into_iter().map(|d| d.lazy()).collect::<Vec<_>>(),
            UnionArgs::default(),
        )?
        .collect()?
    };
    summary.rows.insert("ground_truth".into(), gt.height());
    write_frame(&mut gt, &out.join("ground_truth.parquet"), Format::Parquet)?;
    // The geography of the synthetic ZIP codes, for `caregap run --geography` (not a table).
    let geo = out.join(GEOGRAPHY_FILE);
    let mut text = String::from("zip_code,geography\n");
    for (z, g) in person::ZIPS {
        text.push_str(&format!("{z},{g}\n"));
    }
    fs::write(&geo, text).map_err(io(&geo))?;
    Ok(summary)
}
