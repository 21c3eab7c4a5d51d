//! The `caregap` binary. See the README for commands and exit statuses.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use caregap_cli::config::PipelineFile;
use caregap_cli::pipeline::{self, RunOptions};
use caregap_cli::{exit, UsageError};
use caregap_transform::Params;
use clap::{Parser, Subcommand, ValueEnum};
use polars::prelude::{CsvWriter, SerWriter};

/// mimalloc instead of the system allocator. polars allocates and frees large buffers at a high
/// rate; glibc's malloc hands them back to the kernel at once, and the kernel zeroes fresh
/// pages for the next buffer (up to 40 % of a bucket's time in `clear_page`, measured with
/// perf). See [`configure_allocator`].
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 2's option enum (`mimalloc.h`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed memory for 5 s before returning it to the OS (mimalloc's default is 10 ms):
/// measured on a 143,000-person bucket, 17.2 s → 11.7 s, peak memory +10 %. A
/// `MIMALLOC_PURGE_DELAY` set in the environment wins.
#[allow(unsafe_code)]
fn configure_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: `mi_option_set` stores one integer option of the allocator; it has no
        // pointer arguments and may be called at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 5000) }
    }
}

#[derive(Parser)]
#[command(
    name = "caregap",
    version,
    about = "Care gaps, eligibility and cost-effectiveness for Medicaid Health Homes"
)]
struct Cli {
    /// Log format on stderr: human-readable, or one JSON object per line for a scheduler.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// More log detail (info); CAREGAP_LOG=debug for more.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

/// Every `run` setting; each one overrides the pipeline file's.
#[derive(clap::Args, Clone, Default)]
struct RunArgs {
    /// Input folder (the input layer).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output folder, replaced atomically by a successful run.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Measurement period: a calendar year (`2025`) or `START..END` (`2025-04-01..2026-03-31`).
    #[arg(long)]
    period: Option<String>,
    /// Eligibility as-of date (default: the period's last day).
    #[arg(long)]
    as_of: Option<String>,
    /// Start of the condition look-back (default: period start − 1 year).
    #[arg(long)]
    lookback_start: Option<String>,
    /// payer_type values that count as coverage, comma-separated (case-insensitive).
    #[arg(long, alias = "payer-types", value_delimiter = ',')]
    coverage_types: Option<Vec<String>>,
    /// Measures to compute, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    measures: Option<Vec<String>>,
    /// Value-set override file, replacing the sets it names: caregap's CSV (`value_set,
    /// code_system, code`) or an NCQA / VSAC value-set export (CSV or tab-separated); may be
    /// repeated (docs/value-sets.md).
    #[arg(long = "value-sets")]
    value_sets: Vec<PathBuf>,
    /// Map from an export's value-set names to caregap's (`source_value_set, value_set`),
    /// replacing the shipped NCQA map.
    #[arg(long)]
    value_set_map: Option<PathBuf>,
    /// Bootstrap draws for the difference-in-differences interval (default 1000).
    #[arg(long)]
    bootstrap_draws: Option<usize>,
    /// Seed of the bootstrap (same seed, same interval, on any number of threads).
    #[arg(long)]
    seed: Option<u64>,
    /// Report suppression: counts from 1 to this are suppressed (default 10, as CMS).
    #[arg(long)]
    suppression_threshold: Option<u64>,
    /// Largest share (0–1) of a table's rows that may be rejected, and of its accepted rows
    /// that may belong to no eligible-table person; above it (or when no eligibility row is
    /// covered or no claim line joins a person), exit 4 with the outputs set aside [default:
    /// 0.05]. 1 accepts anything.
    #[arg(long)]
    max_reject_rate: Option<f64>,
}

/// How a run spends memory and threads (never what it computes: outputs are byte-identical
/// whatever these are).
#[derive(clap::Args, Clone, Default)]
struct ScaleArgs {
    /// Process the input in N person buckets one after another and merge them exactly
    /// (bounds peak memory to about one bucket's).
    #[arg(long, conflicts_with = "bucket")]
    buckets: Option<u32>,
    /// Peak memory to aim for (`4GiB`, `800MiB`); chooses the number of buckets from the
    /// input's size. Ignored when --buckets is given.
    #[arg(long, conflicts_with = "bucket")]
    memory_limit: Option<String>,
    /// How in-process buckets are formed: `range` reads contiguous person-id ranges of the
    /// input in place (fast when the input is clustered by person), `hash` writes a temporary
    /// hash partition first; `auto` picks `range` when the input is clustered.
    #[arg(long, value_enum, conflicts_with = "bucket")]
    bucketing: Option<caregap_cli::pipeline::Bucketing>,
    /// Compute one bucket of a bucketed input (`caregap partition` or the Spark driver) and
    /// write its partial to --out, for `caregap merge`.
    #[arg(long)]
    bucket: Option<u32>,
    /// Worker threads (polars and rayon); default: every core.
    #[arg(long)]
    threads: Option<usize>,
}

impl RunArgs {
    fn as_pipeline(&self) -> PipelineFile {
        let date = |s: &Option<String>| s.clone().map(caregap_cli::config::DateValue::Text);
        PipelineFile {
            input: self.input.clone(),
            output: self.out.clone(),
            period: self.period.clone(),
            as_of: date(&self.as_of),
            lookback_start: date(&self.lookback_start),
            coverage_types: self.coverage_types.clone(),
            measures: self.measures.clone(),
            value_sets: (!self.value_sets.is_empty()).then(|| self.value_sets.clone()),
            value_set_map: self.value_set_map.clone(),
            suppression_threshold: self.suppression_threshold,
            bootstrap_draws: self.bootstrap_draws,
            seed: self.seed,
            max_reject_rate: self.max_reject_rate,
            buckets: None,
            memory_limit: None,
            bucketing: None,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline (from a pipeline file, the options, or both) and write every output.
    Run {
        /// A pipeline file (`pipelines/monthly.toml`); options given here override it.
        pipeline: Option<PathBuf>,
        #[command(flatten)]
        args: RunArgs,
        #[command(flatten)]
        scale: ScaleArgs,
    },
    /// Write an input folder bucketed by person (`<table>/bucket=<i>/part-*.parquet`, Spark's
    /// `pmod(xxhash64(person_id), N)`), for `caregap run --bucket i`.
    Partition {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        buckets: u32,
    },
    /// Merge the outputs of `caregap run --bucket i` (every bucket once) into the outputs of a
    /// whole run. Give it the settings the bucket runs had (they are checked).
    Merge {
        /// A pipeline file; options given here override it.
        pipeline: Option<PathBuf>,
        /// The bucket output folders.
        #[arg(long, num_args = 1.., required = true)]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        args: RunArgs,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Check an input folder and report every problem at once, writing nothing.
    Validate {
        #[arg(long)]
        input: PathBuf,
    },
    /// Generate a synthetic Medicaid population with planted ground truth.
    Synth {
        #[arg(long, default_value_t = 10_000)]
        persons: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Calendar years covered, `FIRST-LAST`; the last is the measurement period.
        #[arg(long, default_value = "2023-2025")]
        years: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "parquet")]
        format: String,
        /// Persons per part file.
        #[arg(long, default_value_t = 50_000)]
        chunk: usize,
        /// Planted relative reduction of acute admissions after Health Home enrollment.
        #[arg(long, default_value_t = 0.128)]
        effect_admissions: f64,
        /// Planted relative reduction of ED visits after Health Home enrollment.
        #[arg(long, default_value_t = 0.082)]
        effect_ed: f64,
    },
    /// Synthesize a small population, run the pipeline on it, and say where the outputs are.
    Demo {
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
        #[arg(long, default_value_t = 5_000)]
        persons: usize,
    },
    /// Print one person's care gaps with their evidence, from a run's output folder.
    Gaps {
        #[arg(long)]
        person: String,
        /// The output folder of a `caregap run`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Compare a run's eligibility and care gaps with a synthetic input's ground truth.
    VerifyTruth {
        /// The synthetic input folder (with ground_truth.parquet).
        #[arg(long)]
        input: PathBuf,
        /// The run's output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Convert another data model into caregap's input layer (then `caregap run` it). Exits 3
    /// when the input is at fault (a missing, ambiguous or malformed table), 1 when the output
    /// cannot be written.
    Import {
        #[command(subcommand)]
        from: ImportCommand,
    },
    /// Value-set commands.
    ValueSets {
        #[command(subcommand)]
        command: ValueSetCommand,
    },
    /// Print the data dictionary of every output (docs/outputs.md): each file's grain, sort
    /// order and columns with their types, nullability and meaning.
    Outputs {
        #[arg(long, value_enum, default_value = "markdown")]
        format: DictionaryFormat,
    },
}

/// How `caregap outputs` prints the data dictionary.
#[derive(Clone, Copy, ValueEnum)]
enum DictionaryFormat {
    Markdown,
    Json,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A Synthea CSV export (docs/import-synthea.md).
    Synthea {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// An OMOP CDM 5.3/5.4 folder, CSV or Parquet (docs/import-omop.md).
    Omop {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ValueSetCommand {
    /// Write every value set in force (shipped and overridden) as `value_set,code_system,code`.
    Export {
        #[arg(long)]
        out: PathBuf,
        /// Override files, as for `caregap run`.
        #[arg(long = "value-sets")]
        value_sets: Vec<PathBuf>,
        /// Value-set map for NCQA / VSAC exports, as for `caregap run`.
        #[arg(long)]
        value_set_map: Option<PathBuf>,
    },
    /// Write the value-set map in force (the shipped NCQA map, or --value-set-map) as
    /// `source_value_set,value_set`: a starting point for a map of your own.
    Map {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        value_set_map: Option<PathBuf>,
    },
}

fn parse_years(s: &str) -> Result<(i32, i32)> {
    let bad = || UsageError(format!("--years: `{s}` is not FIRST-LAST (e.g. 2023-2025)"));
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (a, b): (i32, i32) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if b < a || a < 1900 || b > 2100 {
        return Err(bad().into());
    }
    Ok((a, b))
}

/// A spinner on a terminal only (never in CI or when stderr is piped).
fn progress(message: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(message.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(pb)
}

/// The most worker threads `--threads` may ask for (each thread has its own stack and
/// buffers: 100,000 of them never finish starting).
const MAX_THREADS: usize = 1024;

/// Cap polars' and rayon's thread pools (before either starts).
fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if !(1..=MAX_THREADS).contains(&n) {
            return Err(UsageError(format!(
                "--threads {n} must be from 1 to {MAX_THREADS} (default: every core)"
            ))
            .into());
        }
        std::env::set_var("POLARS_MAX_THREADS", n.to_string());
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot set the thread pool: {e}"))?;
    }
    Ok(())
}

fn pipeline_options(
    pipeline_file: &Option<PathBuf>,
    args: &RunArgs,
    scale: &ScaleArgs,
) -> Result<RunOptions> {
    let file = match pipeline_file {
        Some(p) => PipelineFile::load(p)?,
        None => PipelineFile::default(),
    };
    let mut over = args.as_pipeline();
    if scale.bucket.is_none() {
        over.buckets = scale.buckets;
        over.memory_limit = scale.memory_limit.clone();
        over.bucketing = scale.bucketing;
    }
    let mut opts = file.overridden_by(over).into_options()?;
    if scale.bucket.is_some() {
        opts.buckets = None;
    }
    Ok(opts)
}

/// A command's summary: a plain line on stdout, and with `--log-format json` also a JSON line
/// on stderr, so that a scheduler reading stderr sees how the command ended.
fn summary(line: &str) {
    println!("{line}");
    if caregap_cli::log::json() {
        tracing::info!(target: caregap_cli::log::NOTICE_TARGET, "{line}");
    }
}

fn run_command(pipeline_file: Option<PathBuf>, args: RunArgs, scale: ScaleArgs) -> Result<()> {
    set_threads(scale.threads)?;
    let opts = pipeline_options(&pipeline_file, &args, &scale)?;
    if let Some(i) = scale.bucket {
        let part = pipeline::run_bucket(&opts, i)?;
        summary(&format!(
            "caregap: bucket {i}: {} persons, {} care-gap rows, {} rows rejected; partial written to {} (merge with `caregap merge`)",
            part.facts.headline.persons,
            part.facts.headline.care_gap_rows,
            part.facts.rows_rejected.values().sum::<usize>(),
            opts.out.display()
        ));
        return Ok(());
    }
    tracing::info!(input = %opts.input.display(), out = %opts.out.display(), period = %format!("{}..{}", opts.params.period_start, opts.params.period_end), "run started");
    let pb = progress("caregap: running the pipeline…");
    let r = pipeline::run(&opts);
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let r = r?;
    let rej: usize = r.manifest.data_quality.rows_rejected.values().sum();
    summary(&format!(
        "caregap: wrote {} outputs, report.html and run_manifest.json to {} ({} rows rejected; see rejects.parquet)",
        r.outputs.len(),
        opts.out.display(),
        rej
    ));
    for line in pipeline::table_summary(&r.manifest) {
        println!("  {line}");
    }
    Ok(())
}

fn validate_command(input: PathBuf) -> Result<()> {
    let report = caregap_ingest::validate::validate(&input);
    for t in &report.tables {
        println!("{:<24} {}", t.0, t.1);
    }
    if !report.errors.is_empty() {
        println!("\ninput schema errors:");
        for e in &report.errors {
            println!("  {e}");
        }
    }
    if !report.rejects.is_empty() {
        println!("\nrejected rows (table, file, row, column, reason):");
        for r in &report.rejects {
            println!("  {r}");
        }
    }
    let n = report.errors.len() + report.rejects.len();
    println!("\n{n} problem(s) found");
    if !report.errors.is_empty() {
        return Err(caregap_cli::InputSchemaProblems(format!(
            "{} input schema error(s); the first: {}",
            report.errors.len(),
            report.errors[0]
        ))
        .into());
    }
    Ok(())
}

/// `CAREGAP_TEST_PANIC=main` (or `1`) panics on the main thread, `worker` in a rayon worker:
/// tests of the panic hook (there is no natural panic to trigger), like `CAREGAP_FAIL_WRITE`.
fn test_panic() {
    match std::env::var("CAREGAP_TEST_PANIC").as_deref() {
        Ok("1" | "main") => panic!("CAREGAP_TEST_PANIC is set"),
        Ok("worker") => {
            rayon::join(|| panic!("CAREGAP_TEST_PANIC is set (worker)"), || ());
        }
        _ => {}
    }
}

fn real_main(cli: Cli) -> Result<()> {
    test_panic();
    match cli.command {
        Command::Run {
            pipeline,
            args,
            scale,
        } => run_command(pipeline, args, scale)?,
        Command::Partition {
            input,
            out,
            buckets,
        } => {
            let max = caregap_cli::config::MAX_BUCKETS;
            if !(1..=max).contains(&buckets) {
                return Err(
                    UsageError(format!("--buckets {buckets} must be from 1 to {max}")).into(),
                );
            }
            let s = pipeline::partition_input(&input, &out, buckets)?;
            summary(&format!(
                "caregap partition: {} into {buckets} person buckets at {}",
                input.display(),
                out.display()
            ));
            for (t, rows) in &s.rows_per_bucket {
                let total: usize = rows.iter().sum();
                let (lo, hi) = (
                    rows.iter().min().copied().unwrap_or(0),
                    rows.iter().max().copied().unwrap_or(0),
                );
                println!("  {t:<24} {total:>12} rows, {lo}..{hi} per bucket");
            }
        }
        Command::Merge {
            pipeline,
            inputs,
            args,
            threads,
        } => {
            set_threads(threads)?;
            let mut args = args;
            if args.input.is_none() {
                // Only the manifest's input_folder uses it; the partials carry the rest.
                args.input = Some(PathBuf::from("(bucket outputs)"));
            }
            let opts = pipeline_options(&pipeline, &args, &ScaleArgs::default())?;
            let r = pipeline::merge(&opts, &inputs)?;
            summary(&format!(
                "caregap merge: {} bucket outputs merged; wrote {} outputs, report.html and run_manifest.json to {}",
                inputs.len(),
                r.outputs.len(),
                opts.out.display()
            ));
        }
        Command::Validate { input } => validate_command(input)?,
        Command::Synth {
            persons,
            seed,
            years,
            out,
            format,
            chunk,
            effect_admissions,
            effect_ed,
        } => {
            let (first, last) = parse_years(&years)?;
            let fmt = caregap_synth::Format::parse(&format)
                .ok_or_else(|| UsageError(format!("--format: `{format}` is not parquet or csv")))?;
            let cfg = caregap_synth::SynthConfig {
                persons,
                seed,
                first_year: first,
                last_year: last,
                format: fmt,
                chunk: chunk.max(1),
                effect_admissions,
                effect_ed,
                ..Default::default()
            };
            let pb = progress("caregap synth: generating…");
            let s = caregap_synth::generate(&cfg, &out);
            if let Some(pb) = pb {
                pb.finish_and_clear();
            }
            let s = s?;
            println!(
                "caregap synth: {} persons, {} rows in all, written to {}",
                persons,
                s.total_rows(),
                out.display()
            );
            for (t, n) in &s.rows {
                println!("  {t:<24} {n:>12}");
            }
        }
        Command::Demo { out, persons } => {
            let data = out.join("input");
            let cfg = caregap_synth::SynthConfig {
                persons,
                seed: 42,
                chunk: persons.max(1),
                ..Default::default()
            };
            caregap_synth::generate(&cfg, &data)?;
            let opts = RunOptions::new(
                data.clone(),
                out.join("output"),
                Params::calendar_year(cfg.last_year),
            );
            let r = pipeline::run(&opts)?;
            println!(
                "caregap demo: synthesized {persons} persons into {}",
                data.display()
            );
            println!(
                "ran the pipeline for {}..{}; outputs in {}:",
                opts.params.period_start,
                opts.params.period_end,
                opts.out.display()
            );
            for (name, df) in &r.outputs {
                println!("  {name:<24}.parquet {:>10} rows", df.height());
            }
            println!("  report.html              the evaluator's report (open it in a browser)");
            println!("  run_manifest.json");
            println!(
                "planted ground truth: {}",
                data.join("ground_truth.parquet").display()
            );
        }
        Command::Import { from } => {
            let (name, report, out) = match from {
                ImportCommand::Synthea { input, out } => (
                    "synthea",
                    caregap_import::synthea::import(&input, &out)?,
                    out,
                ),
                ImportCommand::Omop { input, out } => {
                    ("omop", caregap_import::omop::import(&input, &out)?, out)
                }
            };
            println!(
                "caregap import {name}: wrote the input layer to {}",
                out.display()
            );
            for (t, n) in &report.rows_written {
                println!("  {t:<24} {n:>10} rows");
            }
            for (reason, n) in &report.unmapped {
                println!("  note: {n} {reason}");
            }
            if !report.renamed_columns.is_empty() {
                println!(
                    "  note: column names matched ignoring case or spaces in {} files (renamed_columns)",
                    report.renamed_columns.len()
                );
            }
            println!("  import_report.json");
        }
        Command::Gaps { person, out } => print!("{}", pipeline::person_gaps(&out, &person)?),
        Command::VerifyTruth { input, out } => {
            let a = caregap_cli::verify::verify(&input, &out)?;
            for d in a.disagreements.iter().take(50) {
                println!("  {d}");
            }
            println!(
                "ground truth: {} eligibility rows and {} planted care-gap rows checked, {} disagreements",
                a.eligibility_checked,
                a.care_gaps_checked,
                a.disagreements.len()
            );
            if !a.disagreements.is_empty() {
                anyhow::bail!(
                    "{} disagreements with the planted ground truth",
                    a.disagreements.len()
                );
            }
        }
        Command::Outputs { format } => match format {
            DictionaryFormat::Markdown => print!("{}", caregap_report::contract::markdown()),
            DictionaryFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(&caregap_report::contract::json())?
            ),
        },
        Command::ValueSets {
            command:
                ValueSetCommand::Export {
                    out,
                    value_sets,
                    value_set_map,
                },
        } => {
            let vs = pipeline::load_value_sets(&value_sets, value_set_map.as_deref())
                .map_err(|e| UsageError(format!("{e:#}")))?;
            for w in vs.warnings() {
                caregap_cli::log::warning(&w);
            }
            let mut df = vs.to_frame()?;
            let mut buf = Vec::new();
            CsvWriter::new(&mut buf).finish(&mut df)?;
            caregap_report::write_atomic(&out, &buf)?;
            println!("wrote {} codes to {}", df.height(), out.display());
        }
        Command::ValueSets {
            command: ValueSetCommand::Map { out, value_set_map },
        } => {
            let vs = pipeline::load_value_sets(&[], value_set_map.as_deref())
                .map_err(|e| UsageError(format!("{e:#}")))?;
            let mut df = vs.map().to_frame()?;
            let mut buf = Vec::new();
            CsvWriter::new(&mut buf).finish(&mut df)?;
            caregap_report::write_atomic(&out, &buf)?;
            println!(
                "wrote {} value-set map rows to {}",
                df.height(),
                out.display()
            );
        }
    }
    Ok(())
}

fn exit_code(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<UsageError>().is_some() {
        return exit::USAGE;
    }
    if e.downcast_ref::<caregap_cli::InputSchemaProblems>()
        .is_some()
    {
        return exit::INPUT_SCHEMA;
    }
    if e.downcast_ref::<pipeline::RejectRateExceeded>().is_some() {
        return exit::REJECT_RATE;
    }
    if let Some(ie) = e.downcast_ref::<caregap_ingest::IngestError>() {
        return if ie.is_input_schema_error() {
            exit::INPUT_SCHEMA
        } else {
            exit::FAILURE
        };
    }
    if let Some(ie) = e.downcast_ref::<caregap_import::ImportError>() {
        return if ie.is_input_error() {
            exit::INPUT_SCHEMA
        } else {
            exit::FAILURE
        };
    }
    if let Some(te) = e.downcast_ref::<caregap_transform::TransformError>() {
        if te.is_value_set_file_error()
            || matches!(te, caregap_transform::TransformError::Params(_))
        {
            return exit::USAGE;
        }
    }
    exit::FAILURE
}

fn init_logging(format: LogFormat, verbose: bool) {
    let default = if verbose { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAREGAP_LOG").unwrap_or_else(|_| {
        // Notices (the bucket plan, leftovers removed) and each table's rows read, rejected
        // and orphaned show at the default level: a scheduler's log must show what a run lost.
        tracing_subscriber::EnvFilter::new(default)
            .add_directive(
                caregap_cli::log::filter_directive()
                    .parse()
                    .expect("a valid directive"),
            )
            .add_directive(
                "caregap::data_quality=info"
                    .parse()
                    .expect("a valid directive"),
            )
    });
    // Colours only on a terminal: a scheduler's log file gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// `--log-format json` among the arguments (read before they are parsed, so that a command
/// line clap rejects is reported as JSON too).
fn json_requested(args: &[std::ffi::OsString]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        a == "--log-format=json"
            || (a == "--log-format" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

/// Turn a panic (a bug) into one clear line: `caregap: internal error: … (please report
/// this)`, a JSON object in json mode; the backtrace only when RUST_BACKTRACE asks for it.
/// `main` then exits with status 1 (never Rust's 101).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.payload_as_str().unwrap_or("(no message)");
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "an unknown place".into());
        let bt = std::backtrace::Backtrace::capture();
        let bt = (bt.status() == std::backtrace::BacktraceStatus::Captured).then(|| bt.to_string());
        if caregap_cli::log::json() {
            let line = format!("internal error: {msg} (please report this)");
            match bt {
                Some(bt) => {
                    tracing::error!(target: "caregap", exit_status = exit::FAILURE, location = %at, backtrace = %bt, "{line}")
                }
                None => {
                    tracing::error!(target: "caregap", exit_status = exit::FAILURE, location = %at, "{line}")
                }
            }
        } else {
            eprintln!("caregap: internal error: {msg} at {at} (please report this)");
            if let Some(bt) = bt {
                eprintln!("{bt}");
            }
        }
    }));
}

fn main() -> ExitCode {
    configure_allocator();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    caregap_cli::log::set_json(json_requested(&args));
    install_panic_hook();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                // --help, --version: on stdout.
                let _ = e.print();
                return ExitCode::from(exit::OK as u8);
            }
            if caregap_cli::log::json() {
                init_logging(LogFormat::Json, false);
                let text = e.render().to_string();
                caregap_cli::log::error(text.trim_end(), exit::USAGE);
            } else {
                let _ = e.print();
            }
            return ExitCode::from(exit::USAGE as u8);
        }
    };
    init_logging(cli.log_format, cli.verbose);
    if let Err(e) = caregap_cli::signals::install() {
        tracing::warn!("cannot handle SIGTERM and SIGINT ({e}); a stopped run leaves its temporary folders for the next run to remove");
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| real_main(cli))) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            let code = exit_code(&e);
            caregap_cli::log::error(&format!("{e:#}"), code);
            ExitCode::from(code as u8)
        }
        // The panic hook has said what happened; the staging folder was removed on the way.
        Err(_) => ExitCode::from(exit::FAILURE as u8),
    }
}
