//! The mergeable partial of a run over a set of persons, and its exact merge.
//!
//! Everything caregap computes is either **per person** (conditions, eligibility, care gaps,
//! the comparison assignment, rejected rows) or an **aggregate of per-person values** that can
//! be summed: measure counts (open, closed, excluded per measure × group), utilization sums in
//! integer cents per month × group, data-quality counts, and each enrollee's and comparison
//! person's before/after sums for the difference-in-differences. A [`Partial`] holds exactly
//! those. Partials of disjoint sets of persons (the buckets of `caregap partition` or of the
//! Spark driver) merge into the partial of their union ([`Partial::merge`]): per-person frames
//! concatenated and sorted by their key, counts and sums added. The caller then makes the
//! outputs from the merged partial by the same code as a whole run's (the CLI's
//! `pipeline::finish`), so a bucketed run is byte-identical to a whole one: rates and Wilson
//! intervals from the merged counts, the DiD and its seeded bootstrap over the persons in
//! person_id order, the worklist from the merged care gaps, the report from the merged outputs.

use std::collections::BTreeMap;

use caregap_transform::core_set::{self, CoreSetCounts};
use caregap_transform::summary::SummaryCounts;
use caregap_transform::utilization::UtilizationPartial;
use polars::prelude::*;

use crate::error::ScaleoutError;
use crate::facts::PartialFacts;

/// Per-person frames of a partial, with the columns each is sorted by.
pub const PERSON_FRAMES: &[(&str, &[&str])] = &[
    ("conditions", &["person_id"]),
    ("eligibility", &["person_id"]),
    ("care_gaps", &["person_id"]),
    ("rejects", &["table", "file", "row", "column"]),
];

/// The partial of a run over a set of persons.
#[derive(Debug, Clone)]
pub struct Partial {
    /// The [`PERSON_FRAMES`], by name.
    pub frames: BTreeMap<&'static str, DataFrame>,
    /// Open, closed and excluded per measure × group.
    pub counts: SummaryCounts,
    /// The Health Home Core Set counts per program × measure × rate × band × stratum.
    pub core_set: CoreSetCounts,
    /// Utilization sums and the DiD persons.
    pub utilization: UtilizationPartial,
    /// Everything else the run learnt.
    pub facts: PartialFacts,
}

fn sort_frame(df: DataFrame, by: &[&str]) -> PolarsResult<DataFrame> {
    // Stable: rows of one person keep the order their bucket gave them, which is the order a
    // whole run gives them (the same code on the same person's data).
    df.lazy()
        .sort(
            by.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()
}

/// Check that `parts` can be merged: one settings fingerprint, and either one whole-input
/// partial or bucket partials covering `0..N` exactly once.
pub fn check_mergeable(parts: &[Partial]) -> Result<(), ScaleoutError> {
    let first = parts.first().ok_or(ScaleoutError::NothingToMerge)?;
    let settings = &first.facts.settings;
    if let Some(p) = parts.iter().find(|p| &p.facts.settings != settings) {
        return Err(ScaleoutError::SettingsDiffer {
            first: settings.clone(),
            other: p.facts.settings.clone(),
        });
    }
    if parts.len() == 1 && first.facts.bucket.is_none() {
        return Ok(());
    }
    let Some((_, n)) = first.facts.bucket else {
        return Err(ScaleoutError::NotBuckets);
    };
    let mut seen = vec![0u32; n as usize];
    for p in parts {
        match p.facts.bucket {
            Some((i, m)) if m == n && i < n => seen[i as usize] += 1,
            Some((i, m)) => {
                return Err(ScaleoutError::ForeignBucket {
                    bucket: i,
                    of: m,
                    buckets: n,
                })
            }
            None => return Err(ScaleoutError::WholeAmongBuckets),
        }
    }
    let missing: Vec<u32> = (0..n).filter(|&i| seen[i as usize] == 0).collect();
    let twice: Vec<u32> = (0..n).filter(|&i| seen[i as usize] > 1).collect();
    if !missing.is_empty() || !twice.is_empty() {
        return Err(ScaleoutError::Coverage {
            buckets: n,
            missing,
            twice,
        });
    }
    Ok(())
}

impl Partial {
    /// Merge partials of disjoint sets of persons. With bucket partials, every bucket
    /// `0..N` must be there exactly once and all must share one set of settings
    /// ([`check_mergeable`]).
    pub fn merge(parts: Vec<Partial>) -> Result<Partial, ScaleoutError> {
        check_mergeable(&parts)?;
        let mut facts = PartialFacts {
            bucket: None,
            settings: parts[0].facts.settings.clone(),
            input_folder: parts[0].facts.input_folder.clone(),
            tables_absent: parts[0].facts.tables_absent.clone(),
            ..Default::default()
        };
        let mut counts = SummaryCounts::new();
        let mut core = CoreSetCounts::new();
        let mut frames: BTreeMap<&'static str, Vec<LazyFrame>> = BTreeMap::new();
        let mut utilization = Vec::new();
        for p in parts {
            let f = p.facts;
            for i in f.inputs {
                match facts
                    .inputs
                    .iter_mut()
                    .find(|x| x.table == i.table && x.file == i.file)
                {
                    Some(x) => x.rows += i.rows,
                    None => facts.inputs.push(i),
                }
            }
            add_map(&mut facts.rows_read, &f.rows_read);
            add_map(&mut facts.rows_rejected, &f.rows_rejected);
            add_map(&mut facts.rows_orphaned, &f.rows_orphaned);
            facts.claim_lines_in_period += f.claim_lines_in_period;
            facts.earliest_service_date =
                match (facts.earliest_service_date, f.earliest_service_date) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            facts.history_short_rows += f.history_short_rows;
            facts.facility_claims += f.facility_claims;
            add_map(&mut facts.payer_types_seen, &f.payer_types_seen);
            facts.tables_absent.retain(|t| f.tables_absent.contains(t));
            facts.eligibility_rows_covered += f.eligibility_rows_covered;
            facts.lines_dx_system_without_value_set += f.lines_dx_system_without_value_set;
            facts.utilization_quality.merge(&f.utilization_quality);
            facts.headline.merge(&f.headline);
            let b = f
                .bucket
                .map(|(i, _)| format!("bucket {i}: "))
                .unwrap_or_default();
            facts.timings.extend(f.timings.into_iter().map(|mut t| {
                t.stage = format!("{b}{}", t.stage);
                t
            }));
            for (k, c) in p.counts {
                let e = counts.entry(k).or_default();
                e.open += c.open;
                e.closed += c.closed;
                e.excluded += c.excluded;
            }
            core_set::merge(&mut core, &p.core_set);
            for (name, df) in p.frames {
                frames.entry(name).or_default().push(df.lazy());
            }
            utilization.push(p.utilization);
        }
        let mut merged = BTreeMap::new();
        for (name, by) in PERSON_FRAMES {
            let parts = frames.remove(name).unwrap_or_default();
            let df = concat(parts, UnionArgs::default())?.collect()?;
            merged.insert(*name, sort_frame(df, by)?);
        }
        Ok(Partial {
            frames: merged,
            counts,
            core_set: core,
            utilization: UtilizationPartial::merge(utilization),
            facts,
        })
    }
}

fn add_map<V: Copy + std::ops::AddAssign + Default>(
    into: &mut BTreeMap<String, V>,
    from: &BTreeMap<String, V>,
) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += *v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(i: u32, n: u32, settings: &str) -> Partial {
        let mut frames = BTreeMap::new();
        for (name, _) in PERSON_FRAMES {
            frames.insert(
                *name,
                df!("person_id" => [format!("P{i}")], "table" => ["t"], "file" => ["f"], "row" => [i as i64], "column" => ["c"])
                    .unwrap(),
            );
        }
        Partial {
            frames,
            counts: SummaryCounts::new(),
            core_set: CoreSetCounts::new(),
            utilization: UtilizationPartial::default(),
            facts: PartialFacts {
                bucket: Some((i, n)),
                settings: settings.into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn buckets_merge_into_their_union_sorted_by_person() {
        let m = Partial::merge(vec![
            bucket(2, 3, "s"),
            bucket(0, 3, "s"),
            bucket(1, 3, "s"),
        ])
        .unwrap();
        assert_eq!(m.facts.bucket, None);
        let ids: Vec<_> = m.frames["eligibility"]
            .column("person_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect();
        assert_eq!(ids, ["P0", "P1", "P2"]);
    }

    #[test]
    fn merges_that_would_lose_or_double_persons_or_mix_settings_are_refused() {
        let e = |parts| Partial::merge(parts).unwrap_err().to_string();
        assert!(e(vec![]).contains("nothing to merge"));
        assert!(e(vec![bucket(0, 3, "s"), bucket(2, 3, "s")]).contains("missing: [1]"));
        assert!(e(vec![
            bucket(0, 2, "s"),
            bucket(1, 2, "s"),
            bucket(1, 2, "s")
        ])
        .contains("given more than once: [1]"));
        assert!(e(vec![bucket(0, 2, "s"), bucket(1, 3, "s")])
            .contains("bucket 1 of 3 does not belong to a run of 2 buckets"));
        assert!(e(vec![bucket(0, 2, "s"), bucket(1, 2, "t")]).contains("different settings"));
        let mut whole = bucket(0, 1, "s");
        whole.facts.bucket = None;
        assert!(e(vec![bucket(0, 2, "s"), whole.clone()]).contains("whole-input output"));
        assert!(e(vec![whole.clone(), bucket(0, 2, "s")]).contains("only bucket partials"));
        assert!(Partial::merge(vec![whole]).is_ok());
    }
}
