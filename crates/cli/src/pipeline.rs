//! The `caregap run` pipeline: read, compute, write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use caregap_ingest::partition::{self, PartitionManifest};
use caregap_ingest::ranges;
use caregap_ingest::{
    read_input_layer, read_input_layer_in, read_input_layer_range, InputLayer, Layout,
};
use caregap_report::contract;
use caregap_report::html::{InputFileInfo, ReportInput};
use caregap_report::suppress::SuppressionRule;
use caregap_scaleout::split::{self, Note, Split, SplitRequest};
use caregap_scaleout::{Partial, PartialFacts};
use caregap_transform::utilization::{self, BootstrapSettings, PaidInputs, UtilizationPartial};
use caregap_transform::value_sets::ValueSetMap;
use caregap_transform::{
    conditions, core_set, eligibility, events, measures, strata, summary, Params, ValueSets,
};
use polars::prelude::*;
use rayon::prelude::*;

use crate::manifest::{self, Manifest, RunFacts, StageTiming};
use crate::outdir::{OutputKind, OutputLock, Staging, TempFolder};
use crate::UsageError;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The input folder (the input layer).
    pub input: PathBuf,
    /// The output folder, replaced atomically.
    pub out: PathBuf,
    /// The run parameters.
    pub params: Params,
    /// Value-set override files (caregap's CSV or a value-set directory export), applied in
    /// order.
    pub value_sets: Vec<PathBuf>,
    /// The value-set map for directory exports (None: the shipped map).
    pub value_set_map: Option<PathBuf>,
    /// PCR-HH's risk-weight table (None: expected readmissions not computed).
    pub pcr_risk_weights: Option<PathBuf>,
    /// DiD bootstrap draws and seed (§5).
    pub bootstrap: BootstrapSettings,
    /// Small-cell suppression of the HTML report (§7).
    pub suppression: SuppressionRule,
    /// Measures to compute (None = all).
    pub measures: Option<Vec<String>>,
    /// The ZIP → urban/rural file of the Core Set's geography stratum (None: `unknown`).
    pub geography: Option<PathBuf>,
    /// Largest share of rejected rows a table may have; above it the run fails with exit 4 and
    /// its outputs go to a side folder for inspection.
    pub max_reject_rate: Option<f64>,
    /// Process the input in this many person buckets, one after another, and merge them
    /// exactly (bounds memory; the outputs are byte-identical to an unbucketed run).
    pub buckets: Option<u32>,
    /// Peak memory to aim for, in bytes (when `buckets` is not given): chooses the buckets
    /// (see [`buckets_for_memory`] and [`FAST_BUCKET_MEMORY`]).
    pub memory_limit: Option<u64>,
    /// How those buckets are formed.
    pub bucketing: Bucketing,
}

// The split strategy (how many buckets, ranges or hash) is the scale-out core's.
pub use caregap_scaleout::split::{
    buckets_for_memory, Bucketing, FAST_BUCKET_MEMORY, RANGE_READ_FACTOR_LIMIT,
};

impl RunOptions {
    /// Options with the defaults for everything but the folders and the period.
    pub fn new(input: PathBuf, out: PathBuf, params: Params) -> Self {
        RunOptions {
            input,
            out,
            params,
            value_sets: vec![],
            value_set_map: None,
            pcr_risk_weights: None,
            bootstrap: BootstrapSettings::default(),
            suppression: SuppressionRule::default(),
            measures: None,
            geography: None,
            max_reject_rate: None,
            buckets: None,
            memory_limit: None,
            bucketing: Bucketing::Auto,
        }
    }
}

/// The largest share of a table's rows that may be rejected (or, of accepted rows, orphaned)
/// when `--max-reject-rate` is not given.
pub const DEFAULT_MAX_REJECT_RATE: f64 = 0.05;

/// A run that lost more of its input than the limit allows, or whose covered population or
/// joined claims came out empty (exit status 4): its outputs are set aside, the live output
/// is untouched.
#[derive(Debug, thiserror::Error)]
#[error("the run lost too much of its input (limit {limit}; `--max-reject-rate 1` accepts anything): {tables}; outputs were written to {side} for inspection, the live output {live} is untouched")]
pub struct RejectRateExceeded {
    /// The largest share allowed.
    pub limit: f64,
    /// What went over it, per table.
    pub tables: String,
    /// Where the outputs were set aside.
    pub side: String,
    /// The live output, left untouched.
    pub live: String,
}

/// What a finished run lost, judged against `limit`: one sentence per problem.
pub fn data_loss(m: &Manifest, limit: f64) -> Vec<String> {
    let dq = &m.data_quality;
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b as f64;
    let mut out = Vec::new();
    for (t, &read) in &dq.rows_read {
        let rej = dq.rows_rejected.get(t).copied().unwrap_or(0);
        if read > 0 && rej as f64 / read as f64 > limit {
            out.push(format!(
                "{t}: {rej} of {read} rows rejected ({:.1} %; reasons in rejects.parquet)",
                pct(rej, read)
            ));
        }
        let accepted = read - rej.min(read);
        let orphaned = dq.rows_orphaned.get(t).copied().unwrap_or(0);
        if accepted > 0 && orphaned as f64 / accepted as f64 > limit {
            out.push(format!(
                "{t}: {orphaned} of {accepted} accepted rows belong to no person with an accepted eligibility row ({:.1} %; check that person ids are spelled alike in every table)",
                pct(orphaned, accepted)
            ));
        }
    }
    if limit < 1.0 {
        if m.coverage_check.eligibility_rows_covered == 0 {
            out.push(format!(
                "no eligibility row is covered: no accepted row has a payer_type among the coverage types ({}); payer types seen: {}",
                m.coverage_check.coverage_types.join(", "),
                if m.coverage_check.payer_types_seen.is_empty() {
                    "none".to_string()
                } else {
                    m.coverage_check
                        .payer_types_seen
                        .iter()
                        .map(|(k, v)| format!("{k} ({v} rows)"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        let read = dq.rows_read.get("medical_claim").copied().unwrap_or(0);
        let accepted = read
            - dq.rows_rejected
                .get("medical_claim")
                .copied()
                .unwrap_or(0)
                .min(read);
        let orphaned = dq.rows_orphaned.get("medical_claim").copied().unwrap_or(0);
        if accepted <= orphaned {
            out.push(format!(
                "no medical claim line belongs to a person with an accepted eligibility row ({read} read, {accepted} accepted)"
            ));
        } else if dq.claim_lines_in_period == 0 {
            out.push(format!(
                "no accepted medical claim line is dated in the measurement period {}..{} ({accepted} lines, all outside it): check --period",
                m.parameters.period_start, m.parameters.period_end
            ));
        }
    }
    out
}

/// One line per table, rows counted (not failed checks): what the log and the summary say.
pub fn table_summary(m: &Manifest) -> Vec<String> {
    let dq = &m.data_quality;
    dq.rows_read
        .iter()
        .filter(|(t, _)| !dq.tables_absent.contains(t))
        .map(|(t, &read)| {
            let rej = dq.rows_rejected.get(t).copied().unwrap_or(0);
            match dq.rows_orphaned.get(t) {
                Some(o) => format!("{t}: {read} rows read, {rej} rejected, {o} orphaned"),
                None => format!("{t}: {read} rows read, {rej} rejected"),
            }
        })
        .collect()
}

/// A write failure injected by `CAREGAP_FAIL_WRITE=<output>` (tests of what a failed run leaves).
#[derive(Debug, thiserror::Error)]
#[error("injected write failure while writing {0} (CAREGAP_FAIL_WRITE)")]
pub struct InjectedFailure(pub String);

/// What a run produced (frames are also written to `out`).
#[derive(Debug)]
pub struct RunOutput {
    /// Every Parquet output, by name.
    pub outputs: BTreeMap<&'static str, DataFrame>,
    /// The run manifest.
    pub manifest: Manifest,
    /// Warnings also printed on stderr.
    pub warnings: Vec<String>,
}

/// Load the shipped value sets, the value-set map (`map`, else the shipped one) and apply the
/// overrides in order.
pub fn load_value_sets(files: &[PathBuf], map: Option<&Path>) -> Result<ValueSets> {
    let mut vs = ValueSets::shipped();
    if let Some(m) = map {
        vs.use_map(ValueSetMap::from_file(m)?);
    }
    for f in files {
        vs.apply_override(f)?;
    }
    Ok(vs)
}

pub(crate) struct Timer {
    pub(crate) stages: Vec<StageTiming>,
}

impl Timer {
    fn time<T>(
        &mut self,
        stage: &str,
        f: impl FnOnce() -> Result<T>,
        rows: impl Fn(&T) -> usize,
    ) -> Result<T> {
        manifest::reset_peak_rss();
        let t = Instant::now();
        let v = f()?;
        self.stages.push(StageTiming {
            stage: stage.to_string(),
            seconds: t.elapsed().as_secs_f64(),
            rows: rows(&v),
            peak_rss_mb: manifest::peak_rss_mb(),
        });
        tracing::info!(stage, seconds = t.elapsed().as_secs_f64(), "stage done");
        Ok(v)
    }
}

/// Run the pipeline: lock the output folder, write every output into a staging folder beside
/// it, and swap it into place only when all are complete (see [`crate::outdir`]).
pub fn run(opts: &RunOptions) -> Result<RunOutput> {
    let unknown = measures::unknown_value_sets();
    if !unknown.is_empty() {
        anyhow::bail!(
            "internal error: the measures read value sets caregap does not have: {} (please report this)",
            unknown.join(", ")
        );
    }
    let (_lock, opts) = &lock_output(opts)?;
    let staging = Staging::new(&opts.out, OutputKind::Run)?;
    let out = compute_and_write(opts, staging.path())?;
    publish_checked(opts, staging, out)
}

/// Publish a finished output, or, when it lost more of its input than the limit allows (see
/// [`data_loss`]), set it aside.
fn publish_checked(opts: &RunOptions, staging: Staging, out: RunOutput) -> Result<RunOutput> {
    let dq = &out.manifest.data_quality;
    for t in dq
        .rows_read
        .keys()
        .filter(|t| !dq.tables_absent.contains(t))
    {
        tracing::info!(
            target: "caregap::data_quality",
            table = %t,
            rows_read = dq.rows_read.get(t).copied().unwrap_or(0),
            rows_rejected = dq.rows_rejected.get(t).copied().unwrap_or(0),
            rows_orphaned = dq.rows_orphaned.get(t).copied().unwrap_or(0),
            "table read"
        );
    }
    let limit = opts.max_reject_rate.unwrap_or(DEFAULT_MAX_REJECT_RATE);
    let over = data_loss(&out.manifest, limit);
    if !over.is_empty() {
        let side = opts.out.with_file_name(format!(
            "{}.reject-rate-exceeded",
            opts.out
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        ));
        staging.publish(&side)?;
        return Err(RejectRateExceeded {
            limit,
            tables: over.join("; "),
            side: side.display().to_string(),
            live: opts.out.display().to_string(),
        }
        .into());
    }
    staging.publish(&opts.out)?;
    tracing::info!(out = %opts.out.display(), "outputs published");
    Ok(out)
}

/// `caregap run --bucket i`: compute bucket `i` of a bucketed input (`caregap partition` or
/// the Spark driver) and write its partial to `opts.out`, for `caregap merge`.
pub fn run_bucket(opts: &RunOptions, bucket: u32) -> Result<Partial> {
    let (_lock, opts) = &lock_output(opts)?;
    let staging = Staging::new(&opts.out, OutputKind::Partial)?;
    let vs = load_value_sets(&opts.value_sets, opts.value_set_map.as_deref())?;
    let mut timer = Timer { stages: vec![] };
    let anchors = bucket_anchors(&opts.input)?;
    let n = PartitionManifest::read(&opts.input)?
        .map(|m| m.buckets)
        .unwrap_or(0);
    let part = bucket_partial(opts, &vs, &anchors, bucket, n, &mut timer)?;
    part.write(staging.path())?;
    staging.publish(&opts.out)?;
    Ok(part)
}

/// `caregap merge`: combine the partials of every bucket into the outputs of a whole run.
pub fn merge(opts: &RunOptions, partials: &[PathBuf]) -> Result<RunOutput> {
    let (_lock, opts) = &lock_output(opts)?;
    let staging = Staging::new(&opts.out, OutputKind::Run)?;
    let vs = load_value_sets(&opts.value_sets, opts.value_set_map.as_deref())?;
    let mut timer = Timer { stages: vec![] };
    let part = timer.time(
        "merge",
        || {
            let parts = partials
                .iter()
                .map(|p| Partial::read(p))
                .collect::<Result<Vec<_>, _>>()?;
            let merged = Partial::merge(parts)?;
            let ours = settings_fingerprint(opts);
            if merged.facts.settings != ours {
                bail!(UsageError(format!(
                    "the buckets were computed with other settings than this merge's:\n{}\ngive `caregap merge` the options the bucket runs had",
                    crate::settings::fingerprint_difference(&merged.facts.settings, &ours)
                )));
            }
            Ok(merged)
        },
        |p: &Partial| p.frames.values().map(DataFrame::height).sum(),
    )?;
    let out = finish(part, &vs, opts, staging.path(), timer)?;
    publish_checked(opts, staging, out)
}

/// Lock the output folder and aim the options at what was locked (a symlinked output is
/// resolved to its target: see [`crate::outdir`]).
fn lock_output(opts: &RunOptions) -> Result<(OutputLock, RunOptions)> {
    let lock = OutputLock::acquire(&opts.out)?;
    let opts = RunOptions {
        out: lock.out().to_path_buf(),
        ..opts.clone()
    };
    Ok((lock, opts))
}

/// `caregap partition`: write `input` bucketed by person into `out`, locked and staged like a
/// run's output (a killed or interrupted partition leaves the previous one untouched).
pub fn partition_input(
    input: &Path,
    out: &Path,
    buckets: u32,
) -> Result<partition::PartitionSummary> {
    let lock = OutputLock::acquire(out)?;
    let staging = Staging::new(lock.out(), OutputKind::Partition)?;
    let s = partition::partition(input, staging.path(), buckets)?;
    staging.publish(lock.out())?;
    Ok(s)
}

fn fail_point(name: &str) -> Result<()> {
    if std::env::var("CAREGAP_FAIL_WRITE").is_ok_and(|v| v == name) {
        return Err(InjectedFailure(name.to_string()).into());
    }
    Ok(())
}

/// The settings that must agree between the buckets of one run and its merge (see
/// [`crate::settings::fingerprint`]).
pub fn settings_fingerprint(opts: &RunOptions) -> String {
    crate::settings::fingerprint(opts)
}

/// The global enrollee anchor list of a bucketed input: the Health Home enrollment rows of
/// every bucket, validated in their original order (a small table).
fn bucket_anchors(dir: &Path) -> Result<Vec<(i32, String)>> {
    let hh = read_input_layer_in(dir, Layout::AllBuckets, Some(&["health_home_enrollment"]))?;
    Ok(utilization::enrollee_anchors(&hh)?)
}

fn bucket_partial(
    opts: &RunOptions,
    vs: &ValueSets,
    anchors: &[(i32, String)],
    bucket: u32,
    buckets: u32,
    timer: &mut Timer,
) -> Result<Partial> {
    let input: InputLayer = timer.time(
        "ingest",
        || {
            Ok(read_input_layer_in(
                &opts.input,
                Layout::Bucket(bucket),
                None,
            )?)
        },
        |i: &InputLayer| i.tables.values().map(|t| t.rows_read).sum(),
    )?;
    compute_partial(&input, anchors, vs, opts, timer, Some((bucket, buckets)))
}

/// Choose the split of a run ([`split::choose_split`]), reading only what the choice needs,
/// and tell the user.
fn choose_split(opts: &RunOptions, timer: &mut Timer) -> Result<Split> {
    let req = SplitRequest {
        buckets: opts.buckets,
        memory_limit: opts.memory_limit,
        bucketing: opts.bucketing,
    };
    let choice = split::choose_split(
        &req,
        &opts.input,
        || {
            timer.time(
                "plan",
                || Ok(ranges::survey(&opts.input)?),
                |s: &ranges::Survey| s.tables.values().flatten().map(|f| f.rows).sum(),
            )
        },
        || eligible_persons(&opts.input),
    )?;
    if let Some((read_factor, buckets)) = choice.range_plan {
        tracing::info!(read_factor, buckets, "person-range plan");
    }
    for note in &choice.notes {
        match note {
            Note::Notice(n) => crate::log::notice(n),
            Note::Warning(w) => crate::log::warning(w),
        }
    }
    Ok(choice.split)
}

/// The number of distinct persons in `eligibility` (a small table, read and checked once more
/// by every bucket).
fn eligible_persons(input: &Path) -> Result<usize> {
    let elig = read_input_layer_in(input, Layout::Flat, Some(&["eligibility"]))?;
    let n = elig
        .lazy("eligibility")
        .select([col("person_id").n_unique()])
        .collect()?;
    Ok(n.column("person_id")?
        .cast(&DataType::UInt64)?
        .u64()?
        .get(0)
        .unwrap_or(0) as usize)
}

/// Compute everything and write it into `dir`: the whole input at once, or bucket by bucket
/// (person ranges read in place, or a temporary hash partition) and merged exactly.
fn compute_and_write(opts: &RunOptions, dir: &Path) -> Result<RunOutput> {
    let vs = load_value_sets(&opts.value_sets, opts.value_set_map.as_deref())?;
    let mut timer = Timer { stages: vec![] };
    let split = choose_split(opts, &mut timer)?;
    let part = match split {
        Split::Ranges(plan) => {
            let hh =
                read_input_layer_in(&opts.input, Layout::Flat, Some(&["health_home_enrollment"]))?;
            let anchors = utilization::enrollee_anchors(&hh)?;
            // Stages before the buckets stay the run's own (each bucket keeps its stages).
            let before = std::mem::take(&mut timer.stages);
            let m = plan.buckets();
            let mut parts = Vec::new();
            for i in 0..m {
                let input: InputLayer = timer.time(
                    "ingest",
                    || Ok(read_input_layer_range(&opts.input, &plan, i)?),
                    |i: &InputLayer| i.tables.values().map(|t| t.rows_read).sum(),
                )?;
                parts.push(compute_partial(
                    &input,
                    &anchors,
                    &vs,
                    opts,
                    &mut timer,
                    Some((i, m)),
                )?);
            }
            merge_parts(parts, before, &mut timer)?
        }
        Split::Hash(n) => {
            let tmp = TempFolder::new(&opts.out, "partition")?;
            timer.time(
                "partition",
                || Ok(partition::partition(&opts.input, tmp.path(), n)?),
                |s: &partition::PartitionSummary| {
                    s.rows_per_bucket.values().flatten().sum::<usize>()
                },
            )?;
            let anchors = bucket_anchors(tmp.path())?;
            let before = std::mem::take(&mut timer.stages);
            let bucket_opts = RunOptions {
                input: tmp.path().to_path_buf(),
                ..opts.clone()
            };
            let mut parts = Vec::new();
            for i in 0..n {
                let mut p = bucket_partial(&bucket_opts, &vs, &anchors, i, n, &mut timer)?;
                p.facts.input_folder = opts.input.display().to_string();
                parts.push(p);
            }
            merge_parts(parts, before, &mut timer)?
        }
        Split::Whole => {
            let input: InputLayer = timer.time(
                "ingest",
                || Ok(read_input_layer(&opts.input)?),
                |i: &InputLayer| i.tables.values().map(|t| t.rows_read).sum(),
            )?;
            let anchors = utilization::enrollee_anchors(&input)?;
            compute_partial(&input, &anchors, &vs, opts, &mut timer, None)?
        }
    };
    finish(part, &vs, opts, dir, timer)
}

/// Merge the partials of the buckets; `before` are the run's stages before the buckets.
fn merge_parts(
    parts: Vec<Partial>,
    before: Vec<StageTiming>,
    timer: &mut Timer,
) -> Result<Partial> {
    let mut merged = timer.time(
        "merge",
        || Ok(Partial::merge(parts)?),
        |p: &Partial| p.frames.values().map(DataFrame::height).sum(),
    )?;
    // The run's stages in the order they ran: its own (plan or partition), the buckets', then
    // the merge and what follows it (`finish` puts the partial's stages first).
    merged.facts.timings.splice(0..0, before);
    Ok(merged)
}

/// PCR-HH's risk-weight table of `opts` (docs/measures/pcr.md), read and checked; a bad file
/// is a usage error naming its row and column.
fn pcr_risk_table(
    opts: &RunOptions,
) -> Result<Option<std::sync::Arc<measures::pcr_hh::RiskTable>>> {
    let Some(path) = &opts.pcr_risk_weights else {
        return Ok(None);
    };
    let bytes = std::fs::read(path).map_err(|e| {
        UsageError(format!(
            "pcr_risk_weights: cannot read {}: {e}",
            path.display()
        ))
    })?;
    measures::pcr_hh::RiskTable::parse(&path.display().to_string(), &bytes)
        .map(Some)
        .map_err(|e| UsageError(e.to_string()).into())
}

/// The partial of one input (a whole input or one bucket): every per-person output and every
/// mergeable count (see [`caregap_scaleout::partial`]). `anchors` is the global enrollee anchor list.
fn compute_partial(
    input: &InputLayer,
    anchors: &[(i32, String)],
    vs: &ValueSets,
    opts: &RunOptions,
    timer: &mut Timer,
    bucket: Option<(u32, u32)>,
) -> Result<Partial> {
    let p = &opts.params;
    let geography = match &opts.geography {
        Some(f) => strata::Geography::from_file(f).map_err(|e| UsageError(e.to_string()))?,
        None => strata::Geography::none(),
    };
    let earliest = caregap_transform::claims::earliest_service_date(input)?;
    // docs/measures/col.md §6: a bucket sees only its persons' claims, so a split run without
    // --history-start judges history from each bucket's earliest claim (see col.md §6).
    let mut ctx = measures::Context::new(p).with_history_from(earliest);
    ctx.pcr_risk = pcr_risk_table(opts)?;
    let conds = timer.time(
        "conditions",
        || Ok(conditions::conditions(input, vs, p)?.collect()?),
        DataFrame::height,
    )?;
    let elig = timer.time(
        "eligibility",
        || Ok(eligibility::eligibility(input, conds.clone().lazy(), p).collect()?),
        DataFrame::height,
    )?;
    // Paid amounts by person and month: one group-by over every line, shared by the person
    // events and the utilization stage.
    let (people, paid) = timer.time(
        "encounters",
        || {
            let paid = events::paid_by_person_month(input)?.collect()?;
            let mut people =
                events::build_person_events(input, vs, p, &ctx.needs, &conds, &elig, &paid)?;
            strata::load(input, &geography, &mut people)?;
            if let Some(t) = &ctx.pcr_risk {
                measures::pcr_hh::load_comorbidities(input, t, &ctx.period, &mut people)?;
            }
            Ok((people, paid))
        },
        |(people, _): &(Vec<_>, DataFrame)| people.len(),
    )?;
    let (gap_rows, rate_counts) = timer.time(
        "measures",
        || {
            let mut rows = measures::evaluate_all(&people, &ctx);
            let mut rates: Vec<Vec<measures::RateCount>> = people
                .par_iter()
                .map(|pe| measures::rates_of_person(pe, &ctx))
                .collect();
            if let Some(keep) = &opts.measures {
                for r in &mut rows {
                    r.retain(|g| keep.iter().any(|k| k == g.measure));
                }
                for r in &mut rates {
                    r.retain(|g| keep.iter().any(|k| k == g.measure));
                }
            }
            Ok((rows, rates))
        },
        |(r, _): &(Vec<Vec<measures::GapRow>>, _)| r.iter().map(Vec::len).sum(),
    )?;
    let care_gaps = measures::care_gaps_frame(&people, &gap_rows)?;
    // Rate measures have no care_gaps rows: they are counted in core_set, not measure_summary.
    let in_force: Vec<&str> = measures::all()
        .filter(|m| m.kind != measures::Kind::Rate)
        .map(|m| m.id)
        .filter(|m| {
            opts.measures
                .as_ref()
                .is_none_or(|k| k.iter().any(|x| x == m))
        })
        .collect();
    let counts = summary::summary_counts(&people, &gap_rows, &in_force);
    let every_in_force: Vec<&str> = measures::ids()
        .into_iter()
        .filter(|m| {
            opts.measures
                .as_ref()
                .is_none_or(|k| k.iter().any(|x| x == m))
        })
        .collect();
    let core_set = core_set::core_set_counts(&people, &gap_rows, &rate_counts, &every_in_force);
    let (util, rows_orphaned) = timer.time(
        "utilization",
        || {
            let paid = PaidInputs::from_paid(input, &paid)?;
            let orphaned = orphaned_rows(input, &paid)?;
            Ok((
                utilization::utilization_partial(&people, anchors, &paid, p)?,
                orphaned,
            ))
        },
        |(u, _): &(UtilizationPartial, _)| u.persons.len(),
    )?;
    let headline = manifest::headline(&people, &gap_rows, &elig)?;
    let (seen, covered) = manifest::payer_types_seen(input, p)?;
    let (rows_read, rows_rejected, tables_absent) = manifest::table_counts(input);
    let facts = PartialFacts {
        bucket,
        settings: settings_fingerprint(opts),
        input_folder: opts.input.display().to_string(),
        inputs: manifest::input_files(input),
        rows_read,
        rows_rejected,
        rows_orphaned,
        claim_lines_in_period: claim_lines_in_period(input, p)?,
        earliest_service_date: earliest.map(caregap_transform::params::epoch_days),
        history_short_rows: gap_rows
            .iter()
            .flatten()
            .filter(|r| r.history_short)
            .count() as u64,
        facility_claims: people.iter().map(|pe| pe.facility.len() as u64).sum(),
        tables_absent,
        payer_types_seen: seen,
        eligibility_rows_covered: covered,
        lines_dx_system_without_value_set: manifest::lines_dx_system_without_value_set(input, vs)?,
        utilization_quality: util.quality.clone(),
        headline,
        timings: std::mem::take(&mut timer.stages),
    };
    let mut frames = BTreeMap::new();
    frames.insert("conditions", conds);
    frames.insert("eligibility", elig);
    frames.insert("care_gaps", care_gaps);
    frames.insert("rejects", input.rejects.clone());
    Ok(Partial {
        frames,
        counts,
        core_set,
        utilization: util,
        facts,
    })
}

/// The outputs, manifest and report of a (merged) partial, written into `dir`: the one code
/// path of whole runs, in-process bucketed runs and `caregap merge`.
fn finish(
    part: Partial,
    vs: &ValueSets,
    opts: &RunOptions,
    dir: &Path,
    mut timer: Timer,
) -> Result<RunOutput> {
    let p = &opts.params;
    let Partial {
        mut frames,
        counts,
        core_set: core_counts,
        utilization: util_partial,
        facts,
    } = part;
    let mut warnings = Vec::new();
    for w in vs.warnings() {
        crate::log::warning(&w);
        warnings.push(w);
    }
    let coverage =
        manifest::coverage_check(&facts.payer_types_seen, facts.eligibility_rows_covered, p);
    if !coverage.coverage_types_not_seen.is_empty() {
        let w = format!(
            "warning: coverage type(s) {} match no payer_type in the eligibility data (payer types seen: {}); nobody is covered by them. Set --coverage-types to the payer types that count as coverage.",
            coverage.coverage_types_not_seen.join(", "),
            coverage
                .payer_types_seen
                .iter()
                .map(|(k, v)| format!("{k} ({v} rows)"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        crate::log::warning(&w);
        warnings.push(w);
    }
    if let Some(w) = manifest::history_warning(&facts, p) {
        crate::log::warning(&w);
        warnings.push(w);
    }
    let mut stages = facts.timings.clone();
    stages.append(&mut timer.stages);
    timer.stages = stages;
    let take = |frames: &mut BTreeMap<&'static str, DataFrame>, n: &str| {
        frames
            .remove(n)
            .with_context(|| format!("the partial has no `{n}` frame"))
    };
    let care_gaps = take(&mut frames, "care_gaps")?;
    let measure_summary = summary::measure_summary_frame(&counts)?;
    let worklist = summary::worklist(care_gaps.clone().lazy(), p.as_of).collect()?;
    let util = timer.time(
        "did_bootstrap",
        || {
            Ok(utilization::utilization_finish(
                util_partial,
                p,
                opts.bootstrap,
            )?)
        },
        |u: &utilization::Utilization| u.monthly.height(),
    )?;

    let mut outputs: BTreeMap<&'static str, DataFrame> = BTreeMap::new();
    outputs.insert("conditions", take(&mut frames, "conditions")?);
    outputs.insert("eligibility", take(&mut frames, "eligibility")?);
    outputs.insert("care_gaps", care_gaps);
    outputs.insert("measure_summary", measure_summary);
    // A measure the input cannot answer is "not computed", never a row of zeros.
    let not_computed = core_set::not_computed(facts.facility_claims);
    let mut core_counts = core_counts;
    core_counts.retain(|k, _| !not_computed.iter().any(|(code, _)| *code == k.measure));
    outputs.insert(
        "core_set",
        caregap_report::core_set::with_flags(
            &core_set::core_set_frame(&core_counts)?,
            &opts.suppression,
        )?,
    );
    outputs.insert("worklist", worklist);
    outputs.insert("utilization_monthly", util.monthly);
    outputs.insert("cost_effectiveness", util.cost_effectiveness);
    outputs.insert("comparison_assignment", util.comparison_assignment);
    outputs.insert("rejects", take(&mut frames, "rejects")?);

    // Every output against its declaration (crates/report/src/contract.rs) before any is
    // written: a frame off its contract is a bug, never a silently different file.
    contract::check_run_frames(outputs.iter().map(|(k, v)| (*k, v)))
        .map_err(caregap_report::ReportError::from)?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    manifest::reset_peak_rss();
    let t = Instant::now();
    let mut hashes = BTreeMap::new();
    for (name, df) in outputs.iter_mut() {
        fail_point(name)?;
        let out = contract::output(name).map_err(caregap_report::ReportError::from)?;
        hashes.insert(
            name.to_string(),
            caregap_report::write_output(out, df, dir)?,
        );
    }
    let csv = &contract::WORKLIST_CSV;
    hashes.insert(
        csv.name.into(),
        caregap_report::write_output(csv, &mut outputs["worklist"].clone(), dir)?,
    );
    let qmr = &contract::CORE_SET_QMR;
    hashes.insert(
        qmr.name.into(),
        caregap_report::write_output(
            qmr,
            &mut caregap_report::core_set::qmr(&outputs["core_set"])?,
            dir,
        )?,
    );
    timer.stages.push(StageTiming {
        stage: "write".into(),
        seconds: t.elapsed().as_secs_f64(),
        rows: outputs.values().map(DataFrame::height).sum(),
        peak_rss_mb: manifest::peak_rss_mb(),
    });

    let mut manifest = Manifest::build(
        &facts,
        &outputs["rejects"],
        vs,
        opts,
        RunFacts {
            coverage_check: coverage,
            timings: timer.stages,
            output_rows: outputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.height()))
                .collect(),
            output_sha256: hashes,
        },
    )?;
    manifest::reset_peak_rss();
    let t = Instant::now();
    let html = caregap_report::html::render(&report_input(&manifest, &outputs, opts))?;
    fail_point("report")?;
    let report_hash = caregap_report::write_atomic(&dir.join("report.html"), html.as_bytes())?;
    manifest
        .output_sha256
        .insert("report.html".into(), report_hash);
    manifest.timings.push(StageTiming {
        stage: "report".into(),
        seconds: t.elapsed().as_secs_f64(),
        rows: html.len(),
        peak_rss_mb: manifest::peak_rss_mb(),
    });
    manifest.write(&dir.join("run_manifest.json"))?;
    Ok(RunOutput {
        outputs,
        manifest,
        warnings,
    })
}

/// Accepted rows per person table (every table but eligibility, when present) whose person has
/// no accepted eligibility row. Medical lines and fills come from the paid group-by the run
/// has already made; the smaller tables are counted directly.
fn orphaned_rows(input: &InputLayer, paid: &PaidInputs) -> Result<BTreeMap<String, usize>> {
    let mut out = BTreeMap::new();
    for (name, t) in &input.tables {
        if *name == "eligibility" || !t.present {
            continue;
        }
        let n = match *name {
            "medical_claim" => paid.orphan_medical_rows,
            "pharmacy_claim" => paid.orphan_pharmacy_rows,
            _ => utilization::orphan_rows(input, name)?,
        };
        out.insert(name.to_string(), n as usize);
    }
    Ok(out)
}

/// Accepted medical claim lines whose claim_start_date is in the measurement period.
fn claim_lines_in_period(input: &InputLayer, p: &caregap_transform::Params) -> Result<u64> {
    use caregap_transform::params::date_lit;
    let n = input
        .lazy("medical_claim")
        .filter(
            col("claim_start_date")
                .gt_eq(date_lit(p.period_start))
                .and(col("claim_start_date").lt_eq(date_lit(p.period_end))),
        )
        .select([len().cast(DataType::Int64).alias("n")])
        .collect()?;
    Ok(n.column("n")?.i64()?.get(0).unwrap_or(0) as u64)
}

/// `caregap validate`: read every table, report every problem, write nothing.
pub fn validate(input: &Path) -> Result<InputLayer> {
    Ok(read_input_layer(input)?)
}

/// A frame with list columns joined by `;`, for CSV (which has no lists): how `worklist.csv`
/// is written ([`caregap_report::csv_ready`]).
pub fn csv_ready(df: &DataFrame) -> Result<DataFrame> {
    Ok(caregap_report::csv_ready(df)?)
}

/// One person's care-gap rows from a run's `care_gaps.parquet`, as text for a care manager:
/// each row with its status, dates, Health Home and the evidence that opened and closed it.
pub fn person_gaps(out: &Path, person: &str) -> Result<String> {
    let path = out.join("care_gaps.parquet");
    let file =
        std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let df = ParquetReader::new(file)
        .finish()?
        .lazy()
        .filter(col("person_id").eq(lit(person)))
        .collect()?;
    let df = csv_ready(&df)?;
    let mut s = String::new();
    if df.height() == 0 {
        s.push_str(&format!(
            "{person}: no care-gap rows in {}\n",
            path.display()
        ));
        return Ok(s);
    }
    let get = |c: &str, i: usize| -> String {
        df.column(c)
            .ok()
            .and_then(|col| col.get(i).ok())
            .map(|v| match v {
                AnyValue::Null => "-".to_string(),
                AnyValue::String(x) => x.to_string(),
                v => v.to_string(),
            })
            .unwrap_or_default()
    };
    s.push_str(&format!("care gaps of {person} ({} rows)\n", df.height()));
    for i in 0..df.height() {
        let reason = get("exclusion_reason", i);
        s.push_str(&format!(
            "- {} index {} due {}: {}{}\n    health home: {}\n    opened by: {}\n    closed by: {} on {}\n",
            get("measure", i),
            get("index_date", i),
            get("due_date", i),
            get("status", i),
            if reason == "-" { String::new() } else { format!(" ({reason})") },
            get("health_home_id", i),
            get("index_evidence", i),
            get("closing_evidence", i),
            get("closing_date", i),
        ));
    }
    Ok(s)
}

/// What the HTML report shows, from the run's outputs and manifest (no claims).
fn report_input<'a>(
    m: &Manifest,
    outputs: &'a BTreeMap<&'static str, DataFrame>,
    opts: &RunOptions,
) -> ReportInput<'a> {
    let p = &m.parameters;
    ReportInput {
        period_start: p.period_start.to_string(),
        period_end: p.period_end.to_string(),
        as_of: p.as_of.to_string(),
        lookback_start: p.lookback_start.to_string(),
        coverage_types: p.coverage_types.clone(),
        caregap_version: m.caregap_version.clone(),
        spec_version: m.spec_version.clone(),
        value_set_version: m.value_sets.version.clone(),
        value_set_files: m
            .value_sets
            .override_files
            .iter()
            .cloned()
            .chain(
                m.value_sets
                    .map
                    .file
                    .iter()
                    .map(|f| format!("{f} (value-set map)")),
            )
            .collect(),
        value_sets_replaced: m.value_sets.replaced.clone(),
        bootstrap_draws: m.bootstrap.draws,
        bootstrap_seed: m.bootstrap.seed,
        rule: opts.suppression,
        inputs: m
            .inputs
            .iter()
            .map(|f| InputFileInfo {
                table: f.table.clone(),
                file: f.file.clone(),
                rows: f.rows,
                sha256: f.sha256.clone(),
            })
            .collect(),
        rows_read: m.data_quality.rows_read.clone(),
        rows_rejected: m.data_quality.rows_rejected.clone(),
        rows_orphaned: m.data_quality.rows_orphaned.clone(),
        rejects_by_reason: m.data_quality.rejects_by_reason.clone(),
        tables_absent: m.data_quality.tables_absent.clone(),
        measure_summary: &outputs["measure_summary"],
        utilization_monthly: &outputs["utilization_monthly"],
        cost_effectiveness: &outputs["cost_effectiveness"],
        eligibility: &outputs["eligibility"],
        core_set: &outputs["core_set"],
        core_set_not_computed: m.core_set.not_computed.clone(),
    }
}

/// The default memory budget (see [`crate::memory`]).
pub use crate::memory::default_memory_limit;
