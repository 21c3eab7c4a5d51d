//! What a partial knows besides its frames: the facts every run's manifest reports, in a form
//! that merges by addition.

use std::collections::BTreeMap;

use caregap_transform::utilization::UtilizationQuality;
use serde::{Deserialize, Serialize};

/// One input file as the run manifest lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputFile {
    /// Its table.
    pub table: String,
    /// Its path relative to the input folder.
    pub file: String,
    /// Rows read from it.
    pub rows: usize,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Canonical column name → the name found in the file.
    pub column_aliases: BTreeMap<String, String>,
}

/// How long one stage of a run took.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageTiming {
    /// The stage (`ingest`, `bucket 2: measures`, …).
    pub stage: String,
    /// Wall time.
    pub seconds: f64,
    /// Rows it produced or read.
    pub rows: usize,
    /// Peak resident memory of the process during the stage (Linux; null elsewhere).
    pub peak_rss_mb: Option<f64>,
}

/// Headline counts of a run (all are counts over persons, so they add up across buckets).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Headline {
    /// Persons with an accepted eligibility row.
    pub persons: usize,
    /// Eligible persons.
    pub eligible: usize,
    /// The outreach list: eligible and not in a Health Home on the as-of date.
    pub outreach: usize,
    /// Persons in a Health Home on the as-of date.
    pub hh_enrolled: usize,
    /// Merged acute stays (any date).
    pub acute_stays: usize,
    /// ED visits (person-dates, any date, including those resulting in admission).
    pub ed_visits: usize,
    /// BP reading rows (observations and CPT II lines) dated in the MP.
    pub bp_readings: usize,
    /// Care-gap rows.
    pub care_gap_rows: usize,
    /// Open care gaps.
    pub open_care_gaps: usize,
}

impl Headline {
    /// Add another set of persons' counts.
    pub fn merge(&mut self, o: &Headline) {
        self.persons += o.persons;
        self.eligible += o.eligible;
        self.outreach += o.outreach;
        self.hh_enrolled += o.hh_enrolled;
        self.acute_stays += o.acute_stays;
        self.ed_visits += o.ed_visits;
        self.bp_readings += o.bp_readings;
        self.care_gap_rows += o.care_gap_rows;
        self.open_care_gaps += o.open_care_gaps;
    }
}

/// What a run learnt that is not a frame: input facts, data-quality counts, headline counts.
/// Every field merges by addition (or is the same in every bucket).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartialFacts {
    /// `(bucket, buckets)` of a bucket run; `None` for a whole input.
    pub bucket: Option<(u32, u32)>,
    /// The run settings, fingerprinted by the caller: every partial of one merge must have the
    /// same. Opaque here (compared, never parsed).
    pub settings: String,
    /// The input folder as given.
    pub input_folder: String,
    /// Every file read.
    pub inputs: Vec<InputFile>,
    /// Rows read per table.
    pub rows_read: BTreeMap<String, usize>,
    /// Rows rejected per table.
    pub rows_rejected: BTreeMap<String, usize>,
    /// Accepted rows per table whose person has no accepted eligibility row.
    #[serde(default)]
    pub rows_orphaned: BTreeMap<String, usize>,
    /// Accepted medical claim lines whose claim_start_date is in the measurement period.
    #[serde(default)]
    pub claim_lines_in_period: u64,
    /// The earliest medical_claim service date, as days since 1970-01-01 (the merge keeps
    /// the earliest): the history start when the run gives none (docs/measures/col.md §6).
    #[serde(default)]
    pub earliest_service_date: Option<i32>,
    /// Open rows flagged `history_short` (their look-back reaches before the history start).
    #[serde(default)]
    pub history_short_rows: u64,
    /// Institutional facility claims (AIF-HH's source, `events::facility`) of the persons: with
    /// none in the whole input, AIF-HH is "not computed" rather than zero admissions.
    #[serde(default)]
    pub facility_claims: u64,
    /// Optional tables absent from the input.
    pub tables_absent: Vec<String>,
    /// Accepted eligibility rows per payer type.
    pub payer_types_seen: BTreeMap<String, u64>,
    /// Accepted eligibility rows the coverage types cover.
    pub eligibility_rows_covered: u64,
    /// Claim lines with diagnosis codes in a system for which no value set is loaded.
    pub lines_dx_system_without_value_set: u64,
    /// Utilization rows and amounts outside member-months, null paid amounts.
    pub utilization_quality: UtilizationQuality,
    /// Headline counts.
    pub headline: Headline,
    /// The stages that made the partial.
    pub timings: Vec<StageTiming>,
}
