//! The mergeable partial of a run over a set of persons, and its exact merge.
//!
//! Everything caregap computes is either **per person** (conditions, eligibility, care gaps,
//! the comparison assignment, rejected rows) or an **aggregate of per-person values** that can
//! be summed: measure counts (open, closed, excluded per measure × group), utilization sums in
//! integer cents per month × group, data-quality counts, and each enrollee's and comparison
//! person's before/after sums for the difference-in-differences. A [`Partial`] holds exactly
//! those. Partials of disjoint sets of persons (the buckets of `caregap partition` or of the
//! Spark driver) merge into the partial of their union ([`Partial::merge`]): per-person frames
//! concatenated and sorted by their key, counts and sums added. The outputs are then made from
//! the merged partial by the same code as a whole run's ([`crate::pipeline::finish`]), so a
//! bucketed run is byte-identical to a whole one: rates and Wilson intervals from the merged
//! counts, the DiD and its seeded bootstrap over the persons in person_id order, the worklist
//! from the merged care gaps, the report from the merged outputs.
//!
//! On disk (the output of `caregap run --bucket i`) a partial is a folder of Parquet files and
//! `partial.json` (the facts and the bucket it covers).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use caregap_report::contract;
use caregap_report::write_output;
use caregap_transform::summary::{Counts, SummaryCounts};
use caregap_transform::utilization::{BeforeAfter, Sums, UtilizationPartial, UtilizationQuality};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::manifest::{Headline, InputFile, StageTiming};

/// The facts file of a partial folder.
pub const PARTIAL_FACTS: &str = "partial.json";

/// Per-person frames of a partial, with the columns each is sorted by.
pub const PERSON_FRAMES: &[(&str, &[&str])] = &[
    ("conditions", &["person_id"]),
    ("eligibility", &["person_id"]),
    ("care_gaps", &["person_id"]),
    ("rejects", &["table", "file", "row", "column"]),
];

/// What a run learnt that is not a frame: input facts, data-quality counts, headline counts.
/// Every field merges by addition (or is the same in every bucket).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartialFacts {
    /// `(bucket, buckets)` of a bucket run; `None` for a whole input.
    pub bucket: Option<(u32, u32)>,
    /// The run settings (parameters, bootstrap, measures, value sets) as JSON: every partial
    /// of one merge must have the same.
    pub settings: String,
    pub input_folder: String,
    pub inputs: Vec<InputFile>,
    pub rows_read: BTreeMap<String, usize>,
    pub rows_rejected: BTreeMap<String, usize>,
    /// Accepted rows per table whose person has no accepted eligibility row.
    #[serde(default)]
    pub rows_orphaned: BTreeMap<String, usize>,
    /// Accepted medical claim lines whose claim_start_date is in the measurement period.
    #[serde(default)]
    pub claim_lines_in_period: u64,
    pub tables_absent: Vec<String>,
    pub payer_types_seen: BTreeMap<String, u64>,
    pub eligibility_rows_covered: u64,
    pub lines_dx_system_without_value_set: u64,
    pub utilization_quality: UtilizationQuality,
    pub headline: Headline,
    pub timings: Vec<StageTiming>,
}

/// The partial of a run over a set of persons.
#[derive(Debug, Clone)]
pub struct Partial {
    /// The [`PERSON_FRAMES`], by name.
    pub frames: BTreeMap<&'static str, DataFrame>,
    pub counts: SummaryCounts,
    pub utilization: UtilizationPartial,
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

impl Partial {
    /// Merge partials of disjoint sets of persons. With bucket partials, every bucket
    /// `0..N` must be there exactly once and all must share one set of settings.
    pub fn merge(parts: Vec<Partial>) -> Result<Partial> {
        if parts.is_empty() {
            bail!("nothing to merge");
        }
        let settings = parts[0].facts.settings.clone();
        for p in &parts {
            if p.facts.settings != settings {
                bail!(
                    "the partials were made with different settings; merge needs one run's buckets:\n  {}\n  {}",
                    settings,
                    p.facts.settings
                );
            }
        }
        if parts.len() > 1 || parts[0].facts.bucket.is_some() {
            let n = match parts[0].facts.bucket {
                Some((_, n)) => n,
                None => bail!("only bucket partials (`caregap run --bucket i`) can be merged"),
            };
            let mut seen = vec![0u32; n as usize];
            for p in &parts {
                match p.facts.bucket {
                    Some((i, m)) if m == n && i < n => seen[i as usize] += 1,
                    Some((i, m)) => {
                        bail!("bucket {i} of {m} does not belong to a run of {n} buckets")
                    }
                    None => bail!("a whole-input output cannot be merged with buckets"),
                }
            }
            let missing: Vec<String> = (0..n)
                .filter(|&i| seen[i as usize] == 0)
                .map(|i| i.to_string())
                .collect();
            let twice: Vec<String> = (0..n)
                .filter(|&i| seen[i as usize] > 1)
                .map(|i| i.to_string())
                .collect();
            if !missing.is_empty() || !twice.is_empty() {
                bail!(
                    "the partials do not cover buckets 0..{n} exactly once (missing: [{}], given more than once: [{}]); persons would be lost or counted twice",
                    missing.join(", "),
                    twice.join(", ")
                );
            }
        }
        let mut facts = PartialFacts {
            bucket: None,
            settings,
            input_folder: parts[0].facts.input_folder.clone(),
            tables_absent: parts[0].facts.tables_absent.clone(),
            ..Default::default()
        };
        let mut counts = SummaryCounts::new();
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
            utilization: UtilizationPartial::merge(utilization),
            facts,
        })
    }

    /// Write the partial into `dir` (every file atomically).
    pub fn write(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // Each file checked against its declaration (crates/report/src/contract.rs).
        for (name, df) in &self.frames {
            let out = contract::output(name).map_err(caregap_report::ReportError::from)?;
            write_output(out, &mut df.clone(), dir)?;
        }
        let mut counts = counts_frame(&self.counts)?;
        write_output(&contract::SUMMARY_COUNTS, &mut counts, dir)?;
        let (mut groups, mut persons, mut assignment) = utilization_frames(&self.utilization)?;
        write_output(&contract::UTILIZATION_GROUPS, &mut groups, dir)?;
        write_output(&contract::UTILIZATION_PERSONS, &mut persons, dir)?;
        write_output(&contract::UTILIZATION_ASSIGNMENT, &mut assignment, dir)?;
        let json = serde_json::to_vec_pretty(&self.facts)?;
        caregap_report::write_atomic(&dir.join(PARTIAL_FACTS), &json)?;
        Ok(())
    }

    /// Read a partial folder written by [`Partial::write`].
    pub fn read(dir: &Path) -> Result<Partial> {
        let facts_path = dir.join(PARTIAL_FACTS);
        let facts: PartialFacts = serde_json::from_slice(
            &fs::read(&facts_path)
                .with_context(|| format!("{} is not a bucket output (no {PARTIAL_FACTS}); give the folders `caregap run --bucket i` wrote", dir.display()))?,
        )
        .with_context(|| format!("cannot parse {}", facts_path.display()))?;
        let read = |name: &str| -> Result<DataFrame> {
            let p = dir.join(format!("{name}.parquet"));
            let f = fs::File::open(&p).with_context(|| format!("cannot open {}", p.display()))?;
            ParquetReader::new(f)
                .finish()
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
        };
        let mut frames = BTreeMap::new();
        for (name, _) in PERSON_FRAMES {
            frames.insert(*name, read(name)?);
        }
        let counts = counts_from_frame(&read("summary_counts")?)?;
        let utilization = utilization_from_frames(
            &read("utilization_groups")?,
            &read("utilization_persons")?,
            &read("utilization_assignment")?,
            facts.utilization_quality.clone(),
        )?;
        Ok(Partial {
            frames,
            counts,
            utilization,
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

fn counts_frame(c: &SummaryCounts) -> PolarsResult<DataFrame> {
    let (mut m, mut t, mut g, mut o, mut cl, mut e) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for ((measure, gt, gid), v) in c {
        m.push(measure.as_str());
        t.push(gt.as_str());
        g.push(gid.as_str());
        o.push(v.open as i64);
        cl.push(v.closed as i64);
        e.push(v.excluded as i64);
    }
    DataFrame::new_infer_height(vec![
        Column::new("measure".into(), m),
        Column::new("group_type".into(), t),
        Column::new("group_id".into(), g),
        Column::new("open".into(), o),
        Column::new("closed".into(), cl),
        Column::new("excluded".into(), e),
    ])
}

fn strs(df: &DataFrame, c: &str) -> Result<Vec<String>> {
    Ok(df
        .column(c)?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect())
}

fn ints(df: &DataFrame, c: &str) -> Result<Vec<i64>> {
    Ok(df
        .column(c)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

fn counts_from_frame(df: &DataFrame) -> Result<SummaryCounts> {
    let (m, t, g) = (
        strs(df, "measure")?,
        strs(df, "group_type")?,
        strs(df, "group_id")?,
    );
    let (o, c, e) = (
        ints(df, "open")?,
        ints(df, "closed")?,
        ints(df, "excluded")?,
    );
    let mut out = SummaryCounts::new();
    for i in 0..df.height() {
        out.insert(
            (m[i].clone(), t[i].clone(), g[i].clone()),
            Counts {
                open: o[i] as u64,
                closed: c[i] as u64,
                excluded: e[i] as u64,
            },
        );
    }
    Ok(out)
}

const SUM_FIELDS: [&str; 6] = [
    "member_months",
    "ed",
    "admissions",
    "days",
    "medical_cents",
    "pharmacy_cents",
];

fn sum_values(s: &Sums) -> [i64; 6] {
    [
        s.member_months as i64,
        s.ed as i64,
        s.admissions as i64,
        s.days as i64,
        s.medical_cents,
        s.pharmacy_cents,
    ]
}

fn sums_from(v: [i64; 6]) -> Sums {
    Sums {
        member_months: v[0] as u64,
        ed: v[1] as u64,
        admissions: v[2] as u64,
        days: v[3] as u64,
        medical_cents: v[4],
        pharmacy_cents: v[5],
    }
}

fn utilization_frames(u: &UtilizationPartial) -> PolarsResult<(DataFrame, DataFrame, DataFrame)> {
    let (mut k, mut g) = (vec![], vec![]);
    let mut sums: [Vec<i64>; 6] = Default::default();
    for (i, row) in u.groups.iter().enumerate() {
        for (gi, s) in row.iter().enumerate() {
            k.push(i as i32);
            g.push(gi as i32);
            for (f, v) in sums.iter_mut().zip(sum_values(s)) {
                f.push(v);
            }
        }
    }
    let mut cols = vec![Column::new("k".into(), k), Column::new("group".into(), g)];
    for (name, v) in SUM_FIELDS.iter().zip(sums) {
        cols.push(Column::new((*name).into(), v));
    }
    let groups = DataFrame::new_infer_height(cols)?;

    let (mut id, mut enrollee) = (vec![], vec![]);
    let mut ba: [Vec<i64>; 12] = Default::default();
    for (pid, e, x) in &u.persons {
        id.push(pid.as_str());
        enrollee.push(*e);
        for (f, v) in ba.iter_mut().zip(
            sum_values(&x.before)
                .into_iter()
                .chain(sum_values(&x.after)),
        ) {
            f.push(v);
        }
    }
    let mut cols = vec![
        Column::new("person_id".into(), id),
        Column::new("enrollee".into(), enrollee),
    ];
    for (i, v) in ba.into_iter().enumerate() {
        let side = if i < 6 { "before" } else { "after" };
        cols.push(Column::new(
            format!("{side}_{}", SUM_FIELDS[i % 6]).into(),
            v,
        ));
    }
    let persons = DataFrame::new_infer_height(cols)?;
    let (aid, adate): (Vec<&str>, Vec<i32>) =
        u.assignment.iter().map(|(p, d)| (p.as_str(), *d)).unzip();
    let assignment = DataFrame::new_infer_height(vec![
        Column::new("person_id".into(), aid),
        Column::new("date".into(), adate),
    ])?;
    Ok((groups, persons, assignment))
}

fn utilization_from_frames(
    groups: &DataFrame,
    persons: &DataFrame,
    assignment: &DataFrame,
    quality: UtilizationQuality,
) -> Result<UtilizationPartial> {
    let k = ints(groups, "k")?;
    let g = ints(groups, "group")?;
    let fields: Vec<Vec<i64>> = SUM_FIELDS
        .iter()
        .map(|f| ints(groups, f))
        .collect::<Result<_>>()?;
    let n = k.iter().max().map(|m| *m as usize + 1).unwrap_or(0);
    let mut out = UtilizationPartial {
        groups: vec![[Sums::default(); 3]; n],
        quality,
        ..Default::default()
    };
    for i in 0..groups.height() {
        out.groups[k[i] as usize][g[i] as usize] = sums_from(std::array::from_fn(|f| fields[f][i]));
    }
    let ids = strs(persons, "person_id")?;
    let enrollee: Vec<bool> = persons
        .column("enrollee")?
        .bool()?
        .iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    let cols: Vec<Vec<i64>> = ["before", "after"]
        .iter()
        .flat_map(|side| SUM_FIELDS.iter().map(move |f| format!("{side}_{f}")))
        .map(|c| ints(persons, &c))
        .collect::<Result<_>>()?;
    for i in 0..persons.height() {
        out.persons.push((
            ids[i].clone(),
            enrollee[i],
            BeforeAfter {
                before: sums_from(std::array::from_fn(|f| cols[f][i])),
                after: sums_from(std::array::from_fn(|f| cols[6 + f][i])),
            },
        ));
    }
    let aid = strs(assignment, "person_id")?;
    let adate = ints(assignment, "date")?;
    out.assignment = aid
        .into_iter()
        .zip(adate.into_iter().map(|d| d as i32))
        .collect();
    Ok(out)
}
