//! The `caregap` binary. See the README for commands and exit statuses.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use caregap_cli::exit;
use caregap_cli::pipeline::{self, RunOptions};
use caregap_transform::Params;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use polars::prelude::{CsvWriter, SerWriter};

#[derive(Parser)]
#[command(
    name = "caregap",
    version,
    about = "Care gaps, eligibility and cost-effectiveness for Medicaid Health Homes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct PeriodArgs {
    /// Measurement period: a calendar year (`2025`) or `START..END` (`2025-04-01..2026-03-31`).
    #[arg(long, default_value = "2025")]
    period: String,
    /// Eligibility as-of date (default: the period's last day).
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Start of the condition look-back (default: period start − 1 year).
    #[arg(long)]
    lookback_start: Option<NaiveDate>,
    /// payer_type values that count as coverage, comma-separated (case-insensitive).
    #[arg(
        long,
        alias = "payer-types",
        default_value = "medicaid",
        value_delimiter = ','
    )]
    coverage_types: Vec<String>,
    /// Value-set override CSV (`value_set, code_system, code`); may be repeated.
    #[arg(long = "value-sets")]
    value_sets: Vec<PathBuf>,
    /// Bootstrap draws for the difference-in-differences interval.
    #[arg(long, default_value_t = 1000)]
    bootstrap_draws: usize,
    /// Seed of the bootstrap (same seed, same interval, on any number of threads).
    #[arg(long, default_value_t = 20_120_101)]
    seed: u64,
    /// Report suppression: counts from 1 to this are suppressed (CMS: 10).
    #[arg(long, default_value_t = 10)]
    suppression_threshold: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline on an input folder and write every output.
    Run {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        period: PeriodArgs,
    },
    /// Check an input folder and report every problem (rejects by reason), writing nothing.
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
    /// Value-set commands.
    ValueSets {
        #[command(subcommand)]
        command: ValueSetCommand,
    },
}

#[derive(Subcommand)]
enum ValueSetCommand {
    /// Write every value set in force (shipped and overridden) as `value_set,code_system,code`.
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long = "value-sets")]
        value_sets: Vec<PathBuf>,
    },
}

/// An error in the command line or configuration (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn parse_period(a: &PeriodArgs) -> Result<Params> {
    let s = a.period.trim();
    let mut p = if let Some((x, y)) = s.split_once("..") {
        let d = |t: &str| {
            NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
                .map_err(|_| UsageError(format!("--period: `{t}` is not a date (YYYY-MM-DD)")))
        };
        Params::for_period(d(x)?, d(y)?).map_err(|e| UsageError(e.to_string()))?
    } else {
        let year: i32 = s
            .parse()
            .map_err(|_| UsageError(format!("--period: `{s}` is neither a year nor START..END")))?;
        Params::calendar_year(year)
    };
    if let Some(d) = a.as_of {
        p.as_of = d;
    }
    if let Some(d) = a.lookback_start {
        p.lookback_start = d;
    }
    Ok(p.with_coverage_types(&a.coverage_types))
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

fn real_main(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { input, out, period } => {
            let params = parse_period(&period)?;
            let opts = RunOptions {
                input,
                out: out.clone(),
                params,
                value_sets: period.value_sets.clone(),
                bootstrap: caregap_transform::utilization::BootstrapSettings {
                    draws: period.bootstrap_draws,
                    seed: period.seed,
                },
                suppression: caregap_report::suppress::SuppressionRule {
                    threshold: period.suppression_threshold,
                    ..Default::default()
                },
            };
            let r = pipeline::run(&opts)?;
            let rej = r.outputs.get("rejects").map(|d| d.height()).unwrap_or(0);
            println!(
                "caregap: wrote {} outputs to {} ({} rows rejected; see rejects.parquet)",
                r.outputs.len(),
                out.display(),
                rej
            );
        }
        Command::Validate { input } => {
            let layer = pipeline::validate(&input)?;
            let mut problems = 0;
            for t in layer.tables.values() {
                if t.present {
                    println!(
                        "{:<24} {:>10} rows read {:>8} rejected",
                        t.name, t.rows_read, t.rows_rejected
                    );
                } else {
                    println!("{:<24} absent", t.name);
                }
            }
            let rej = &layer.rejects;
            if rej.height() > 0 {
                println!("\nrejected rows (table, file, row, column, reason):");
                let cols: Vec<_> = ["table", "file", "row", "column", "reason"]
                    .iter()
                    .map(|c| {
                        rej.column(c)
                            .and_then(|s| s.cast(&polars::prelude::DataType::String))
                    })
                    .collect::<Result<_, _>>()?;
                for i in 0..rej.height() {
                    let v: Vec<String> = cols
                        .iter()
                        .map(|c| {
                            c.str()
                                .ok()
                                .and_then(|s| s.get(i))
                                .unwrap_or("")
                                .to_string()
                        })
                        .collect();
                    println!("  {}", v.join(", "));
                    problems += 1;
                }
            }
            println!("\n{problems} problem(s) found");
        }
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
            let s = caregap_synth::generate(&cfg, &out)?;
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
            let opts = RunOptions {
                input: data.clone(),
                out: out.join("output"),
                params: Params::calendar_year(cfg.last_year),
                value_sets: vec![],
                bootstrap: Default::default(),
                suppression: Default::default(),
            };
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
            println!("  run_manifest.json");
            println!(
                "planted ground truth: {}",
                data.join("ground_truth.parquet").display()
            );
        }
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
        Command::Gaps { person, out } => {
            print!("{}", pipeline::person_gaps(&out, &person)?);
        }
        Command::ValueSets {
            command: ValueSetCommand::Export { out, value_sets },
        } => {
            let vs =
                pipeline::load_value_sets(&value_sets).map_err(|e| UsageError(e.to_string()))?;
            let mut df = vs.to_frame()?;
            let mut buf = Vec::new();
            CsvWriter::new(&mut buf).finish(&mut df)?;
            caregap_report::write_atomic(&out, &buf)?;
            println!("wrote {} codes to {}", df.height(), out.display());
        }
    }
    Ok(())
}

fn exit_code(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<UsageError>().is_some() {
        return exit::USAGE;
    }
    if let Some(ie) = e.downcast_ref::<caregap_ingest::IngestError>() {
        return if ie.is_input_schema_error() {
            exit::INPUT_SCHEMA
        } else {
            exit::FAILURE
        };
    }
    if let Some(
        caregap_transform::TransformError::ValueSetFile { .. }
        | caregap_transform::TransformError::Params(_),
    ) = e.downcast_ref::<caregap_transform::TransformError>()
    {
        return exit::USAGE;
    }
    exit::FAILURE
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAREGAP_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caregap: error: {e:#}");
            let _ = anyhow!("");
            ExitCode::from(exit_code(&e) as u8)
        }
    }
}
