//! The `caregap` binary. See the README for commands and exit statuses.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use caregap_cli::config::PipelineFile;
use caregap_cli::pipeline::{self, RunOptions};
use caregap_cli::settings::{GlobalSettings, Layer, MergeSettings, RunSettings, Value};
use caregap_cli::{exit, UsageError};
use caregap_transform::Params;
use clap::{Parser, Subcommand};
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
    /// The global options (`--log-format`, `--verbose`): see [`caregap_cli::settings`].
    #[command(flatten)]
    global: GlobalSettings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline (from a pipeline file, the options, or both) and write every output.
    Run {
        /// A pipeline file (`pipelines/monthly.toml`); options given here override it.
        pipeline: Option<PathBuf>,
        /// Every `run` setting ([`caregap_cli::settings::SETTINGS`]); each one overrides the
        /// pipeline file's.
        #[command(flatten)]
        settings: RunSettings,
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
        settings: MergeSettings,
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
    /// List the measures caregap computes (the registry): id, name, kind, direction, steward,
    /// version and the specification of each.
    Measures {
        /// `text` (a table), `json` (every fact, for programs) or `markdown` (docs/measures.md).
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
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
#[derive(Clone, Copy, clap::ValueEnum)]
enum DictionaryFormat {
    Markdown,
    Json,
}

/// How `caregap measures` writes the registry.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ListFormat {
    Text,
    Json,
    Markdown,
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

/// Cap polars' and rayon's thread pools (before either starts).
fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        std::env::set_var("POLARS_MAX_THREADS", n.to_string());
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot set the thread pool: {e}"))?;
    }
    Ok(())
}

/// The settings of a pipeline file overridden by the command line's.
fn settings_layer(pipeline_file: &Option<PathBuf>, cli: Layer) -> Result<Layer> {
    let file = match pipeline_file {
        Some(p) => PipelineFile::load(p)?,
        None => PipelineFile::default(),
    };
    Ok(file.overridden_by(cli))
}

/// A command's summary: a plain line on stdout, and with `--log-format json` also a JSON line
/// on stderr, so that a scheduler reading stderr sees how the command ended.
fn summary(line: &str) {
    println!("{line}");
    if caregap_cli::log::json() {
        tracing::info!(target: caregap_cli::log::NOTICE_TARGET, "{line}");
    }
}

fn run_command(pipeline_file: Option<PathBuf>, cli: Layer) -> Result<()> {
    let bucket = cli.int::<u32>("bucket")?;
    let settings = settings_layer(&pipeline_file, cli)?;
    set_threads(settings.threads()?)?;
    let mut opts = settings.into_options()?;
    if let Some(i) = bucket {
        // One bucket of a bucketed input: the file's in-process bucketing does not apply.
        opts.buckets = None;
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
        Command::Run { pipeline, settings } => run_command(pipeline, settings.0)?,
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
            settings,
        } => {
            let mut cli = settings.0;
            if !cli.has("input") {
                // The partials carry their input folder; a merge reads no input.
                cli.set("input", Value::Path(PathBuf::from("(bucket outputs)")));
            }
            let settings = settings_layer(&pipeline, cli)?;
            set_threads(settings.threads()?)?;
            let opts = settings.into_options()?;
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
            let mut opts = RunOptions::new(
                data.clone(),
                out.join("output"),
                Params::calendar_year(cfg.last_year),
            );
            // The synthetic ZIP codes' geography, for the Core Set's geography stratum.
            opts.geography = Some(data.join(caregap_synth::GEOGRAPHY_FILE));
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
        Command::Measures { format } => {
            use caregap_transform::measures::listing;
            print!(
                "{}",
                match format {
                    ListFormat::Text => listing::text(),
                    ListFormat::Json => listing::json(),
                    ListFormat::Markdown => listing::markdown(),
                }
            );
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
    // A partial that cannot be read, is of another format version, or a merge that would
    // lose or double persons: a failure of the command (status 1), as before the scale-out
    // core was a crate of its own.
    if e.downcast_ref::<caregap_scaleout::ScaleoutError>()
        .is_some()
    {
        return exit::FAILURE;
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
    let global = &cli.global.0;
    let format = match global.text("log_format").as_deref() {
        Some("json") => LogFormat::Json,
        _ => LogFormat::Human,
    };
    init_logging(format, global.switch("verbose"));
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
