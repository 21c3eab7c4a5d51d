//! The split strategy: whether a run computes its input whole or in person buckets, how many,
//! and how the buckets are formed (person ranges read in place, or a hash partition).
//!
//! Only the decision lives here. The caller does the reading it needs (the person-range
//! survey, the count of eligible persons), which [`choose_split`] asks for through closures
//! so that nothing is read that the decision does not need, and the caller prints the
//! [`Note`]s it returns.

use std::path::Path;

use caregap_ingest::ranges::{RangePlan, Survey};
use caregap_ingest::IngestError;

/// How an in-process bucketed run forms its person buckets. Outputs are byte-identical
/// whichever is used; only time and memory differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Bucketing {
    /// Person ranges when the input is clustered by person (the planned reads decode its rows
    /// at most [`RANGE_READ_FACTOR_LIMIT`] times over), else the hash partition.
    #[default]
    Auto,
    /// Contiguous person-id ranges read in place (`caregap_ingest::ranges`): no partition
    /// pass; fast when the input is clustered by person, slow when it is not.
    Range,
    /// A temporary hash partition written first (`caregap partition`'s layout): one extra
    /// read and write of the input, whatever its order.
    Hash,
}

/// Largest read factor (see `RangePlan::read_factor`) at which `auto` bucketing reads person
/// ranges in place: above it, a partition pass (one decode and one encode of every row, then
/// one more decode) costs less than reading pieces again and again.
pub const RANGE_READ_FACTOR_LIMIT: f64 = 1.5;

/// Peak memory of the fastest buckets measured (docs/performance.md): buckets of about this
/// size beat fewer, larger ones per person, as their frames stay small. At 1,000,000 persons,
/// person ranges: 7 buckets 109.6 s, 14 buckets 99.0 s, 30 buckets 90.7 s; hash buckets: 7
/// 116.7 s, 16 111.0 s, 29 104.8 s. At 100,000: one pass 8.3–9.0 s, 3 buckets 6.5–8.0 s.
pub const FAST_BUCKET_MEMORY: u64 = 1536 << 20;

/// Resident memory of a run besides its data (binary, value sets, thread pools), in bytes.
pub const BASE_MEMORY: u64 = 400 << 20;
/// Peak resident bytes per input byte on disk, measured with the scale bench (docs/performance.md):
/// zstd Parquet expands far more than CSV text.
const PEAK_PER_PARQUET_BYTE: u64 = 60;
const PEAK_PER_CSV_BYTE: u64 = 12;

/// The number of person buckets that keeps a run's peak memory near `limit` bytes, from the
/// size of the input files (measured expansion factors; at least 1).
pub fn buckets_for_memory(input: &Path, limit: u64) -> Result<u32, IngestError> {
    let mut need: u64 = 0;
    for spec in caregap_ingest::schema::all_tables() {
        for f in caregap_ingest::locate::locate_table(input, spec.name)? {
            let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
            let factor = if f.extension().is_some_and(|e| e == "csv") {
                PEAK_PER_CSV_BYTE
            } else {
                PEAK_PER_PARQUET_BYTE
            };
            need += len * factor;
        }
    }
    let room = limit.saturating_sub(BASE_MEMORY).max(64 << 20);
    Ok(need.div_ceil(room).clamp(1, 4096) as u32)
}

/// What a run asks of the split (its options).
#[derive(Debug, Clone, Copy, Default)]
pub struct SplitRequest {
    /// `--buckets N`: exactly N buckets.
    pub buckets: Option<u32>,
    /// The peak memory to aim for, in bytes (used when `buckets` is not given).
    pub memory_limit: Option<u64>,
    /// How the buckets are formed.
    pub bucketing: Bucketing,
}

/// How a run splits its input.
#[derive(Debug)]
pub enum Split {
    /// The whole input at once.
    Whole,
    /// Person ranges read in place.
    Ranges(RangePlan),
    /// A temporary hash partition into this many buckets.
    Hash(u32),
}

/// A message the caller shows with the split.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// Shown on every run (the bucket plan).
    Notice(String),
    /// A warning about the settings.
    Warning(String),
}

/// The split chosen, what to tell the user, and the person-range plan's facts when one was
/// made (read factor, buckets) for the log.
#[derive(Debug)]
pub struct SplitChoice {
    /// The split.
    pub split: Split,
    /// Messages, in order.
    pub notes: Vec<Note>,
    /// `(read factor, buckets)` of the person-range plan, when the input was surveyed.
    pub range_plan: Option<(f64, u32)>,
}

/// Choose the split of a run:
/// - `--buckets N`: exactly N buckets (person ranges when the input is clustered by person or
///   `--bucketing range`, else a hash partition).
/// - `--memory-limit` (or the default budget): enough buckets to stay under it. Person ranges
///   when the input is clustered, and then at least enough for buckets of about
///   [`FAST_BUCKET_MEMORY`] (the fastest size measured). Otherwise a hash partition, only when
///   the budget needs buckets, and then as many (its cost does not grow with their number).
/// - Neither: the whole input at once.
///
/// Never more buckets than persons in eligibility. `survey` reads the person-range survey of
/// the input (called unless `--bucketing hash`); `eligible_persons` counts the distinct
/// persons of eligibility (called for `--bucketing hash` only).
pub fn choose_split<E: From<IngestError>>(
    req: &SplitRequest,
    input: &Path,
    survey: impl FnOnce() -> Result<Survey, E>,
    eligible_persons: impl FnOnce() -> Result<usize, E>,
) -> Result<SplitChoice, E> {
    let whole = || SplitChoice {
        split: Split::Whole,
        notes: vec![],
        range_plan: None,
    };
    let (n, from_limit) = match (req.buckets, req.memory_limit) {
        (Some(n), _) => (n, false),
        (None, Some(limit)) => (buckets_for_memory(input, limit)?, true),
        (None, None) => return Ok(whole()),
    };
    // Buckets wanted when splitting anyway.
    let wanted = if from_limit {
        n.max(buckets_for_memory(input, FAST_BUCKET_MEMORY + BASE_MEMORY)?)
    } else {
        n
    };
    if wanted <= 1 {
        return Ok(whole());
    }
    let mut notes = Vec::new();
    // A hash partition when the memory needs buckets (or they were asked for), never more
    // buckets than persons.
    let hash_if_needed = |why: &str, persons: usize, notes: &mut Vec<Note>| {
        let m = cap_to_persons(wanted, persons, req.buckets, notes);
        if n > 1 && m > 1 {
            notes.push(Note::Notice(format!(
                "caregap: {m} person bucket(s) by a hash partition{why}"
            )));
            Split::Hash(m)
        } else {
            Split::Whole
        }
    };
    if req.bucketing == Bucketing::Hash {
        let split = hash_if_needed("", eligible_persons()?, &mut notes);
        return Ok(SplitChoice {
            split,
            notes,
            range_plan: None,
        });
    }
    let survey = survey()?;
    let plan = survey.plan(wanted);
    let factor = plan.read_factor();
    let range_plan = Some((factor, plan.buckets()));
    let split = if req.bucketing == Bucketing::Range || factor <= RANGE_READ_FACTOR_LIMIT {
        cap_to_persons(wanted, survey.eligible.len(), req.buckets, &mut notes);
        notes.push(Note::Notice(format!(
            "caregap: {} person bucket(s): person-id ranges read in place (the planned reads decode the input {factor:.2} times)",
            plan.buckets()
        )));
        Split::Ranges(plan)
    } else {
        hash_if_needed(
            &format!(" (the input is not clustered by person: person-id ranges would decode it {factor:.2} times)"),
            survey.eligible.len(),
            &mut notes,
        )
    };
    Ok(SplitChoice {
        split,
        notes,
        range_plan,
    })
}

/// `wanted` buckets, but never more than the `persons` of eligibility (at least one): an empty
/// bucket costs a pass over every table for nothing. Warns when `--buckets` (`asked`) asked
/// for more.
fn cap_to_persons(wanted: u32, persons: usize, asked: Option<u32>, notes: &mut Vec<Note>) -> u32 {
    let m = (wanted as usize).min(persons.max(1)) as u32;
    if let Some(b) = asked.filter(|&b| b > m) {
        notes.push(Note::Warning(format!(
            "warning: --buckets {b} is more than the {persons} person(s) in eligibility: {m} bucket(s) instead"
        )));
    }
    m
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn memory_and_speed_buckets_grow_with_the_input() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("medical_claim");
        std::fs::create_dir_all(&t).unwrap();
        // 100 MiB of Parquet: 6 GiB expanded.
        std::fs::write(t.join("part-0.parquet"), vec![0u8; 100 << 20]).unwrap();
        assert_eq!(buckets_for_memory(d.path(), 64 << 30).unwrap(), 1);
        assert_eq!(buckets_for_memory(d.path(), 2 << 30).unwrap(), 4);
        assert_eq!(
            buckets_for_memory(d.path(), FAST_BUCKET_MEMORY + BASE_MEMORY).unwrap(),
            4
        );
    }

    fn survey(persons: usize) -> Survey {
        Survey {
            tables: BTreeMap::new(),
            eligible: (0..persons).map(|i| format!("P{i:04}")).collect(),
        }
    }

    fn choose(req: SplitRequest, persons: usize) -> SplitChoice {
        let d = tempfile::tempdir().unwrap();
        choose_split::<IngestError>(&req, d.path(), || Ok(survey(persons)), || Ok(persons)).unwrap()
    }

    #[test]
    fn no_buckets_and_no_budget_is_the_whole_input() {
        let c = choose(SplitRequest::default(), 100);
        assert!(matches!(c.split, Split::Whole));
        assert!(c.notes.is_empty());
    }

    #[test]
    fn asked_buckets_are_person_ranges_when_clustered_and_never_more_than_persons() {
        let req = SplitRequest {
            buckets: Some(3),
            ..Default::default()
        };
        let c = choose(req, 100);
        assert!(matches!(&c.split, Split::Ranges(p) if p.buckets() == 3));
        assert!(
            matches!(&c.notes[..], [Note::Notice(n)] if n.contains("3 person bucket(s): person-id ranges"))
        );

        let req = SplitRequest {
            buckets: Some(8),
            bucketing: Bucketing::Hash,
            ..Default::default()
        };
        let c = choose(req, 5);
        assert!(matches!(c.split, Split::Hash(5)));
        assert!(
            matches!(&c.notes[0], Note::Warning(w) if w.contains("--buckets 8 is more than the 5 person(s)"))
        );
        assert!(
            matches!(&c.notes[1], Note::Notice(n) if n.contains("5 person bucket(s) by a hash partition"))
        );
    }

    #[test]
    fn one_person_is_never_split() {
        let req = SplitRequest {
            buckets: Some(4),
            bucketing: Bucketing::Hash,
            ..Default::default()
        };
        assert!(matches!(choose(req, 1).split, Split::Whole));
    }
}
