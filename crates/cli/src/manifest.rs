//! `run_manifest.json`: what was read (rows, SHA-256, column aliases), with which parameters and
//! value sets, how long each stage took, the data-quality figures (§9), the coverage check
//! (§9) and the SHA-256 of every output, so that a rerun can be proven identical.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use caregap_ingest::InputLayer;
use caregap_transform::events::PersonEvents;
use caregap_transform::measures::{GapRow, Status};
use caregap_transform::params::{in_list, is_covered_payer};
use caregap_transform::utilization::{BootstrapSettings, UtilizationQuality};
use caregap_transform::value_sets::{OverrideReport, SHIPPED_MAP_VERSION};
use caregap_transform::{Params, ValueSets};
use polars::prelude::*;
use serde::Serialize;

use crate::pipeline::RunOptions;

/// Version of the measure specification implemented.
pub const SPEC_VERSION: &str = "1.3";

// The facts a partial carries are the scale-out core's; the manifest reports them as they are.
pub use caregap_scaleout::{Headline, InputFile, StageTiming};

/// Start a new peak-memory window (Linux: reset VmHWM through /proc/self/clear_refs).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory since the last reset, in MiB (Linux VmHWM).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// §9 coverage check.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageCheck {
    /// The payer types that counted as coverage.
    pub coverage_types: Vec<String>,
    /// Every payer_type in the eligibility table, with its rows.
    pub payer_types_seen: BTreeMap<String, u64>,
    /// Eligibility rows whose payer type counted as coverage.
    pub eligibility_rows_covered: u64,
    /// Coverage types given that no eligibility row has.
    pub coverage_types_not_seen: Vec<String>,
}

/// §9 data-quality figures.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DataQuality {
    /// Rows read per table.
    pub rows_read: BTreeMap<String, usize>,
    /// Rows rejected per table.
    pub rows_rejected: BTreeMap<String, usize>,
    /// Accepted rows of each person table whose person has no accepted eligibility row (they
    /// enter no measure and no member-month).
    pub rows_orphaned: BTreeMap<String, usize>,
    /// The limit in force: the largest share of rows rejected (and of accepted rows orphaned)
    /// a table may have before the run fails with exit 4.
    pub max_reject_rate: f64,
    /// Accepted medical claim lines dated (claim_start_date) in the measurement period.
    pub claim_lines_in_period: u64,
    /// Rejected rows per table and reason.
    pub rejects_by_reason: BTreeMap<String, BTreeMap<String, u64>>,
    /// Optional tables the input did not have.
    pub tables_absent: Vec<String>,
    /// Claim lines with diagnosis codes in a system for which no value set is loaded.
    pub lines_dx_system_without_value_set: u64,
    /// Rows and amounts outside member-months, null paid amounts (§5, §9).
    #[serde(flatten)]
    pub utilization: UtilizationQuality,
}

/// The headline counts of a run over a set of persons.
pub fn headline(
    people: &[PersonEvents],
    rows: &[Vec<GapRow>],
    eligibility: &DataFrame,
) -> Result<Headline> {
    let count = |c: &str| -> Result<usize> {
        Ok(eligibility
            .column(c)?
            .bool()?
            .iter()
            .filter(|x| *x == Some(true))
            .count())
    };
    Ok(Headline {
        persons: eligibility.height(),
        eligible: count("eligible")?,
        outreach: count("outreach")?,
        hh_enrolled: count("hh_enrolled")?,
        acute_stays: people.iter().map(|p| p.stays.len()).sum(),
        ed_visits: people.iter().map(|p| p.ed_visits.len()).sum(),
        bp_readings: people.iter().map(|p| p.bp.len()).sum(),
        care_gap_rows: rows.iter().map(Vec::len).sum(),
        open_care_gaps: rows
            .iter()
            .flatten()
            .filter(|r| r.status == Status::Open)
            .count(),
    })
}

#[derive(Debug, Clone, Serialize)]
/// The value sets in force, for the manifest.
pub struct ValueSetInfo {
    /// The shipped value-set version.
    pub version: String,
    /// The override files given, in order.
    pub override_files: Vec<String>,
    /// The caregap sets they replaced.
    pub replaced: Vec<String>,
    /// The value-set map used for NCQA / VSAC exports.
    pub map: ValueSetMapInfo,
    /// What each override file did: its layout, the sets it replaced (and from which of the
    /// publisher's sets), the sets the map does not list and the codes in systems caregap
    /// matches nothing in (both skipped).
    pub files: Vec<OverrideReport>,
}

#[derive(Debug, Clone, Serialize)]
/// The value-set map in force, for the manifest.
pub struct ValueSetMapInfo {
    /// The user's map file; null for the shipped map.
    pub file: Option<String>,
    /// The shipped map's version (null for a user's map).
    pub version: Option<String>,
    /// Rows (publisher's set, caregap set) of the map.
    pub rows: usize,
}

#[derive(Debug, Clone, Serialize)]
/// `run_manifest.json`: what a run read, with which settings, and what it wrote.
pub struct Manifest {
    /// The caregap version that wrote it.
    pub caregap_version: String,
    /// The specification version it implements.
    pub spec_version: String,
    /// The run parameters (period, as-of, look-back, coverage types).
    pub parameters: Params,
    /// The bootstrap draws and seed.
    pub bootstrap: BootstrapSettings,
    /// The headline counts.
    pub summary: Headline,
    /// The input folder, as given.
    pub input_folder: String,
    /// Every input file with its rows and SHA-256.
    pub inputs: Vec<InputFile>,
    /// The value sets in force.
    pub value_sets: ValueSetInfo,
    /// Which payer types counted as coverage, and which were seen.
    pub coverage_check: CoverageCheck,
    /// Rows read, rejected and orphaned, and other data-quality figures.
    pub data_quality: DataQuality,
    /// Facts of single measures (the COL history start and look-backs).
    pub measures: MeasureFacts,
    /// Seconds, rows and peak memory per stage, in order.
    pub timings: Vec<StageTiming>,
    /// Rows per output.
    pub output_rows: BTreeMap<String, usize>,
    /// SHA-256 per output file.
    pub output_sha256: BTreeMap<String, String>,
    /// How the Core Set was stratified (docs/core-set.md).
    pub core_set: CoreSetInfo,
}

/// `run_manifest.json` `core_set`: the sources of the Core Set's strata.
#[derive(Debug, Clone, Serialize)]
pub struct CoreSetInfo {
    /// The ZIP → urban/rural file of the geography stratum (`--geography`); null: every
    /// person's geography is `unknown`.
    pub geography_file: Option<String>,
    /// Core Set measures the input cannot answer, with why (no rows in core_set).
    pub not_computed: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
/// Facts of single measures, for the manifest.
pub struct MeasureFacts {
    /// COL (docs/measures/col.md §3, §6).
    pub col: ColFacts,
}

#[derive(Debug, Clone, Serialize)]
/// COL's history start, look-backs and exclusion state (docs/measures/col.md §3, §6).
pub struct ColFacts {
    /// The first day the input's history is taken to be complete from; null: the input has
    /// no medical claims and no `--history-start` was given.
    pub history_start: Option<HistoryStart>,
    /// Every modality's window start and whether the history reaches it.
    pub lookback: Vec<caregap_transform::measures::col::Lookback>,
    /// Open `col` rows flagged `history_short`.
    pub history_short_rows: u64,
    /// `active`, or `inactive (value sets empty)` while `frailty` or both `advanced_illness`
    /// and `dementia_medication` have no codes.
    pub frailty_exclusion: &'static str,
}

#[derive(Debug, Clone, Serialize)]
/// The history start and where it came from.
pub struct HistoryStart {
    /// The date.
    pub date: chrono::NaiveDate,
    /// `parameter` (`--history-start`) or `earliest medical_claim service date`.
    pub source: &'static str,
}

/// The history start of a run (docs/measures/col.md §6.1): `--history-start`, else the
/// earliest medical_claim service date of the input (of every bucket, after a merge).
pub fn history_start(facts: &caregap_scaleout::PartialFacts, p: &Params) -> Option<HistoryStart> {
    match p.history_start {
        Some(date) => Some(HistoryStart {
            date,
            source: "parameter",
        }),
        None => facts.earliest_service_date.map(|d| HistoryStart {
            date: caregap_transform::params::from_epoch_days(d),
            source: "earliest medical_claim service date",
        }),
    }
}

/// COL's manifest facts.
pub fn col_facts(facts: &caregap_scaleout::PartialFacts, p: &Params, vs: &ValueSets) -> ColFacts {
    let h = history_start(facts, p);
    let has = |set: &str| {
        caregap_transform::value_sets::CODE_SYSTEMS
            .iter()
            .any(|sys| !vs.codes(set, sys).is_empty())
    };
    ColFacts {
        lookback: caregap_transform::measures::col::lookbacks(
            p.period_start,
            h.as_ref().map(|h| h.date),
        ),
        history_start: h,
        history_short_rows: facts.history_short_rows,
        frailty_exclusion: if has("frailty")
            && (has("advanced_illness") || has("dementia_medication"))
        {
            "active"
        } else {
            "inactive (value sets empty)"
        },
    }
}

/// The one warning of a run with open `col` rows flagged `history_short` (col.md §6.6).
pub fn history_warning(facts: &caregap_scaleout::PartialFacts, p: &Params) -> Option<String> {
    if facts.history_short_rows == 0 {
        return None;
    }
    let h = history_start(facts, p)?;
    let short: Vec<String> =
        caregap_transform::measures::col::lookbacks(p.period_start, Some(h.date))
            .into_iter()
            .filter(|l| l.short)
            .map(|l| format!("{} look-back needs {}", l.modality, l.window_start))
            .collect();
    Some(format!(
        "warning: col: input history starts {} ({}); {}: {} open col row(s) may be open only for lack of history (the rate is a lower bound; give --history-start when the input is complete from an earlier date)",
        h.date,
        h.source,
        short.join(", "),
        facts.history_short_rows
    ))
}

/// Payer types seen in the accepted eligibility rows (rows per type) and the rows the
/// coverage types cover: the mergeable half of the §9 coverage check.
pub fn payer_types_seen(input: &InputLayer, p: &Params) -> Result<(BTreeMap<String, u64>, u64)> {
    let df = input
        .lazy("eligibility")
        .group_by([col("payer_type")])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .sort(["payer_type"], Default::default())
        .collect()?;
    let mut seen = BTreeMap::new();
    for (t, n) in df
        .column("payer_type")?
        .str()?
        .iter()
        .zip(df.column("n")?.u64()?.iter())
    {
        if let (Some(t), Some(n)) = (t, n) {
            seen.insert(t.to_string(), n);
        }
    }
    let covered = input
        .lazy("eligibility")
        .filter(is_covered_payer(p))
        .select([len().cast(DataType::UInt64).alias("n")])
        .collect()?;
    let covered = covered.column("n")?.u64()?.get(0).unwrap_or(0);
    Ok((seen, covered))
}

/// §9 coverage check from the payer types seen.
pub fn coverage_check(seen: &BTreeMap<String, u64>, covered: u64, p: &Params) -> CoverageCheck {
    CoverageCheck {
        coverage_types: p.coverage_types.clone(),
        coverage_types_not_seen: p
            .coverage_types
            .iter()
            .filter(|t| !seen.contains_key(*t))
            .cloned()
            .collect(),
        payer_types_seen: seen.clone(),
        eligibility_rows_covered: covered,
    }
}

/// Rows read and rejected per table and the tables absent.
pub fn table_counts(
    input: &InputLayer,
) -> (
    BTreeMap<String, usize>,
    BTreeMap<String, usize>,
    Vec<String>,
) {
    let (mut read, mut rejected, mut absent) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    for (name, t) in &input.tables {
        read.insert(name.to_string(), t.rows_read);
        rejected.insert(name.to_string(), t.rows_rejected);
        if !t.present {
            absent.push(name.to_string());
        }
    }
    (read, rejected, absent)
}

/// The input files as the manifest lists them.
pub fn input_files(input: &InputLayer) -> Vec<InputFile> {
    input
        .tables
        .values()
        .flat_map(|t| {
            t.files.iter().map(|f| InputFile {
                table: t.name.to_string(),
                file: f.relative.clone(),
                rows: f.rows,
                sha256: f.sha256.clone(),
                column_aliases: f.column_aliases.clone(),
            })
        })
        .collect()
}

/// Rejected rows per table and reason.
fn rejects_by_reason(rejects: &DataFrame) -> Result<BTreeMap<String, BTreeMap<String, u64>>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let by_reason = rejects
        .clone()
        .lazy()
        .group_by([col("table"), col("reason")])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .collect()?;
    let tables = by_reason.column("table")?.str()?;
    let reasons = by_reason.column("reason")?.str()?;
    let ns = by_reason.column("n")?.u64()?;
    for i in 0..by_reason.height() {
        if let (Some(t), Some(r), Some(n)) = (tables.get(i), reasons.get(i), ns.get(i)) {
            out.entry(t.to_string())
                .or_default()
                .insert(r.to_string(), n);
        }
    }
    Ok(out)
}

/// Claim lines whose diagnosis codes are in a system no loaded value set covers.
pub fn lines_dx_system_without_value_set(input: &InputLayer, vs: &ValueSets) -> Result<u64> {
    let loaded: Vec<String> = ["icd-10-cm", "icd-9-cm", "snomed-ct"]
        .iter()
        .filter(|s| vs.has_system(s))
        .map(|s| s.to_string())
        .collect();
    let n = input
        .lazy("medical_claim")
        .filter(
            col("diagnosis_code_1")
                .is_not_null()
                .and(in_list(col("diagnosis_code_type"), &loaded).not()),
        )
        .select([len().cast(DataType::UInt64).alias("n")])
        .collect()?;
    Ok(n.column("n")?.u64()?.get(0).unwrap_or(0))
}

/// What a run learnt along the way, for the manifest.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// Which payer types counted as coverage, and which were seen.
    pub coverage_check: CoverageCheck,
    /// Seconds, rows and peak memory per stage, in order.
    pub timings: Vec<StageTiming>,
    /// Rows per output.
    pub output_rows: BTreeMap<String, usize>,
    /// SHA-256 per output file.
    pub output_sha256: BTreeMap<String, String>,
}

impl Manifest {
    /// The facts of a finished run.
    pub fn build(
        facts: &caregap_scaleout::PartialFacts,
        rejects: &DataFrame,
        vs: &ValueSets,
        opts: &RunOptions,
        run: RunFacts,
    ) -> Result<Self> {
        let RunFacts {
            coverage_check,
            timings,
            output_rows,
            output_sha256,
        } = run;
        Ok(Manifest {
            caregap_version: env!("CARGO_PKG_VERSION").to_string(),
            spec_version: SPEC_VERSION.to_string(),
            parameters: opts.params.clone(),
            bootstrap: opts.bootstrap,
            summary: facts.headline.clone(),
            input_folder: facts.input_folder.clone(),
            inputs: facts.inputs.clone(),
            value_sets: ValueSetInfo {
                version: caregap_transform::value_sets::SHIPPED_VERSION.to_string(),
                override_files: opts
                    .value_sets
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
                replaced: vs.replaced(),
                map: ValueSetMapInfo {
                    file: vs.map().file().map(str::to_string),
                    version: vs
                        .map()
                        .file()
                        .is_none()
                        .then(|| SHIPPED_MAP_VERSION.to_string()),
                    rows: vs.map().len(),
                },
                files: vs.reports().to_vec(),
            },
            core_set: CoreSetInfo {
                geography_file: opts.geography.as_ref().map(|p| p.display().to_string()),
                not_computed: caregap_transform::core_set::not_computed(facts.facility_claims)
                    .into_iter()
                    .map(|(code, why)| format!("{code}: {why}"))
                    .collect(),
            },
            coverage_check,
            data_quality: DataQuality {
                rows_read: facts.rows_read.clone(),
                rows_rejected: facts.rows_rejected.clone(),
                rows_orphaned: facts.rows_orphaned.clone(),
                max_reject_rate: opts
                    .max_reject_rate
                    .unwrap_or(crate::pipeline::DEFAULT_MAX_REJECT_RATE),
                claim_lines_in_period: facts.claim_lines_in_period,
                rejects_by_reason: rejects_by_reason(rejects)?,
                tables_absent: facts.tables_absent.clone(),
                lines_dx_system_without_value_set: facts.lines_dx_system_without_value_set,
                utilization: facts.utilization_quality.clone(),
            },
            measures: MeasureFacts {
                col: col_facts(facts, &opts.params, vs),
            },
            timings,
            output_rows,
            output_sha256,
        })
    }

    /// Write the manifest as pretty JSON, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        caregap_report::write_atomic(path, &json)?;
        Ok(())
    }
}
