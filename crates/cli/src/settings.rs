//! Every run setting, declared once ([`SETTINGS`], in the manner of ripgrep's `FLAGS`): its
//! pipeline-file key and `--flag`, kind, default, allowed range, help text, and what it
//! changes ([`Effect`]). Everything else is derived from that table:
//!
//! ```text
//! SETTINGS ──▶ clap arguments of `run`, `merge` and the global options  (SettingArgs)
//!          ──▶ pipeline-file keys, unknown keys refused with a suggestion (Layer::parse)
//!          ──▶ defaults and range checks                                  (Layer getters)
//!          ──▶ the merge fingerprint of the result-changing settings      (fingerprint)
//!          ──▶ where run_manifest.json records each one                   (Setting::manifest)
//!          ──▶ the settings table of pipelines/README.md                  (docs_table)
//! ```
//!
//! Adding a setting is one entry here, a field in [`crate::pipeline::RunOptions`] and the line
//! of [`crate::config`] that reads it; the tests of this module and `tests/it/settings.rs`
//! fail when one of those places is missing. This module reads no data and runs nothing.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::builder::{PossibleValuesParser, ValueParser};
use clap::{Arg, ArgAction, ArgMatches};

use crate::pipeline::RunOptions;
use crate::UsageError;

/// The most person buckets a run or `caregap partition` may have: each bucket costs a pass over
/// every table and a file per table, and buckets of a few hundred persons are already slower
/// than fewer larger ones (docs/performance.md).
pub const MAX_BUCKETS: u32 = 4096;

/// The most worker threads `--threads` may ask for (each thread has its own stack and
/// buffers: 100,000 of them never finish starting).
pub const MAX_THREADS: usize = 1024;

/// The version of the [`fingerprint`] format, stored in it: a partial whose fingerprint has
/// another version (or none: caregap before the settings registry) is refused by name.
pub const FINGERPRINT_VERSION: u64 = 2;

/// What a setting changes, which decides whether it enters the merge fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Where the run reads and writes.
    Location,
    /// What is computed: the bucket runs of one job and its merge must agree on it, so it
    /// enters the merge [`fingerprint`] (and run_manifest.json records it).
    Results,
    /// What the finished run writes or whether it publishes (report suppression, the
    /// data-loss limit). Applied once, when the outputs are finished (after any merge, by
    /// the merge itself), so the buckets need not agree: not in the fingerprint.
    Finish,
    /// How the run executes (memory, threads, buckets, logs). Outputs are byte-identical
    /// whatever it is (tests/it/scale.rs): never in the fingerprint.
    Execution,
}

impl Effect {
    fn describe(self) -> &'static str {
        match self {
            Effect::Location => "location",
            Effect::Results => "results (fingerprinted)",
            Effect::Finish => "finished outputs",
            Effect::Execution => "execution only",
        }
    }
}

/// The commands a setting belongs to on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// `caregap run`.
    Run,
    /// `caregap merge`.
    Merge,
    /// Every command (a global option of `caregap`).
    Global,
}

/// The Rust integer type of an integer setting (clap parses into it, so that its errors for
/// a value that is not a number, or too large, stay clap's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntType {
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `usize`.
    Usize,
}

/// How a setting's value is written and parsed.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A folder or file. Relative paths in a pipeline file are relative to the file.
    Path,
    /// Files: the flag repeated on the command line, an array in a pipeline file.
    Paths,
    /// Text checked when the run resolves it (a period, a size).
    Text,
    /// A date, `YYYY-MM-DD` (in a pipeline file a TOML date or a string).
    Date,
    /// Words: comma-separated on the command line, an array of strings in a pipeline file.
    List,
    /// A whole number from `min` to `max`.
    Int {
        /// The Rust type clap parses into.
        ty: IntType,
        /// The smallest value.
        min: i128,
        /// The largest value.
        max: i128,
    },
    /// A number from `min` to `max`.
    Float {
        /// The smallest value.
        min: f64,
        /// The largest value.
        max: f64,
    },
    /// One of the values of a clap value parser.
    Choice(fn() -> ValueParser),
    /// A switch (`--verbose`); command line only.
    Switch,
}

/// The default of a setting that is not given.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    /// Must be given (on the command line or in the pipeline file).
    Required,
    /// This value, written as on the command line.
    Value(&'static str),
    /// Derived at run time, as described.
    Derived(&'static str),
}

/// Where run_manifest.json records a setting.
#[derive(Debug, Clone, Copy)]
pub enum Recorded {
    /// At these JSON pointers (resolved values: defaults filled in).
    At(&'static [&'static str]),
    /// Not recorded, and why.
    Not(&'static str),
}

/// One run setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The pipeline-file key (and clap's id).
    pub key: &'static str,
    /// The long flag, without `--`.
    pub flag: &'static str,
    /// The short flag, if any.
    pub short: Option<char>,
    /// A hidden second name of the flag.
    pub alias: Option<&'static str>,
    /// How its value is written and parsed.
    pub kind: Kind,
    /// Whether a pipeline file may set it (else: command line only).
    pub in_file: bool,
    /// The commands that take it.
    pub commands: &'static [Cmd],
    /// A command-line option it cannot be given with.
    pub conflicts_with: Option<&'static str>,
    /// Its default.
    pub default: Default,
    /// Whether `--help` shows `[default: …]` (clap's own default).
    pub help_default: bool,
    /// The `--help` text (clap's, one paragraph, no final full stop).
    pub help: &'static str,
    /// Appended to the range error: why the range is what it is.
    pub why: &'static str,
    /// What it allows, in words, where the kind does not say it (docs).
    pub allows: &'static str,
    /// What it changes: results, the finish, execution or location.
    pub effect: Effect,
    /// The resolved value in the merge [`fingerprint`] (result-changing settings only).
    pub fingerprint: Option<fn(&RunOptions) -> serde_json::Value>,
    /// Where the run manifest records it.
    pub manifest: Recorded,
    /// A valid value other than the default, as on the command line (tests and docs).
    pub example: &'static str,
}

impl Setting {
    const fn new(key: &'static str, kind: Kind, effect: Effect, help: &'static str) -> Self {
        Setting {
            key,
            flag: "",
            short: None,
            alias: None,
            kind,
            in_file: true,
            commands: &[Cmd::Run, Cmd::Merge],
            conflicts_with: None,
            default: Default::Derived("none"),
            help_default: false,
            help,
            why: "",
            allows: "",
            effect,
            fingerprint: None,
            manifest: Recorded::Not("an execution setting: outputs do not depend on it"),
            example: "",
        }
    }

    /// The long flag (`--{flag}`): the key with `-` for `_` unless declared.
    pub fn long(&self) -> String {
        if self.flag.is_empty() {
            self.key.replace('_', "-")
        } else {
            self.flag.to_string()
        }
    }

    /// The clap argument.
    pub fn arg(&self) -> Arg {
        let mut a = Arg::new(self.key)
            .long(self.long())
            .help(self.help)
            .required(false);
        if let Some(c) = self.short {
            a = a.short(c);
        }
        if let Some(al) = self.alias {
            a = a.alias(al);
        }
        if let Some(c) = self.conflicts_with {
            a = a.conflicts_with(c);
        }
        if self.commands.contains(&Cmd::Global) {
            a = a.global(true);
        }
        if let (true, Default::Value(v)) = (self.help_default, self.default) {
            a = a.default_value(v);
        }
        if matches!(self.kind, Kind::Switch) {
            return a.action(ArgAction::SetTrue);
        }
        a = a.value_name(self.long().replace('-', "_").to_ascii_uppercase());
        match self.kind {
            Kind::Path => a.value_parser(clap::value_parser!(PathBuf)),
            Kind::Paths => a
                .value_parser(clap::value_parser!(PathBuf))
                .action(ArgAction::Append),
            Kind::Text | Kind::Date => a.value_parser(clap::value_parser!(String)),
            Kind::List => a
                .value_parser(clap::value_parser!(String))
                .action(ArgAction::Append)
                .value_delimiter(','),
            Kind::Int { ty, .. } => match ty {
                IntType::U32 => a.value_parser(clap::value_parser!(u32)),
                IntType::U64 => a.value_parser(clap::value_parser!(u64)),
                IntType::Usize => a.value_parser(clap::value_parser!(usize)),
            },
            Kind::Float { .. } => a.value_parser(clap::value_parser!(f64)),
            Kind::Choice(p) => a.value_parser(p()),
            Kind::Switch => unreachable!("handled above"),
        }
    }

    /// The values a choice allows.
    pub fn choices(&self) -> Vec<String> {
        match self.kind {
            Kind::Choice(p) => p()
                .possible_values()
                .into_iter()
                .flatten()
                .map(|v| v.get_name().to_string())
                .collect(),
            _ => vec![],
        }
    }

    /// What the setting allows, in words (docs).
    pub fn allowed(&self) -> String {
        if !self.allows.is_empty() {
            return self.allows.to_string();
        }
        match self.kind {
            Kind::Path => "a folder or file".into(),
            Kind::Paths => "files".into(),
            Kind::Text | Kind::List => String::new(),
            Kind::Date => "`YYYY-MM-DD`".into(),
            Kind::Int { min, max, .. } if max >= u32::MAX as i128 => format!("{min} or more"),
            Kind::Int { min, max, .. } => format!("{min} to {max}"),
            Kind::Float { min, max } => format!("{min} to {max}"),
            Kind::Choice(_) => self
                .choices()
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            Kind::Switch => "a switch".into(),
        }
    }

    fn range_error(&self, v: impl std::fmt::Display) -> anyhow::Error {
        let (min, max) = match self.kind {
            Kind::Int { min, max, .. } => (min.to_string(), max.to_string()),
            Kind::Float { min, max } => (min.to_string(), max.to_string()),
            _ => unreachable!("a range error of a setting without a range"),
        };
        UsageError(format!(
            "{} (--{}) {v} must be from {min} to {max}{}",
            self.key,
            self.long(),
            self.why
        ))
        .into()
    }
}

/// Every run setting, in `--help` order.
pub static SETTINGS: &[Setting] = &[
    Setting {
        flag: "input",
        default: Default::Required,
        manifest: Recorded::At(&["/input_folder"]),
        example: "other-input",
        allows: "a folder",
        ..Setting::new(
            "input",
            Kind::Path,
            Effect::Location,
            "Input folder (the input layer)",
        )
    },
    Setting {
        flag: "out",
        default: Default::Required,
        manifest: Recorded::Not("the manifest is inside the output folder"),
        example: "other-output",
        allows: "a folder",
        ..Setting::new(
            "output",
            Kind::Path,
            Effect::Location,
            "Output folder, replaced atomically by a successful run",
        )
    },
    Setting {
        default: Default::Value("2025"),
        fingerprint: Some(|o| {
            format!("{}..{}", o.params.period_start, o.params.period_end).into()
        }),
        manifest: Recorded::At(&["/parameters/period_start", "/parameters/period_end"]),
        example: "2025-04-01..2026-03-31",
        allows: "`YEAR` or `START..END`, years 1900–2100",
        ..Setting::new(
            "period",
            Kind::Text,
            Effect::Results,
            "Measurement period: a calendar year (`2025`) or `START..END` (`2025-04-01..2026-03-31`)",
        )
    },
    Setting {
        default: Default::Derived("the period's last day"),
        fingerprint: Some(|o| o.params.as_of.to_string().into()),
        manifest: Recorded::At(&["/parameters/as_of"]),
        example: "2025-10-31",
        allows: "a day of the period (`YYYY-MM-DD`)",
        ..Setting::new(
            "as_of",
            Kind::Date,
            Effect::Results,
            "Eligibility as-of date (default: the period's last day)",
        )
    },
    Setting {
        default: Default::Derived("period start − 1 year"),
        fingerprint: Some(|o| o.params.lookback_start.to_string().into()),
        manifest: Recorded::At(&["/parameters/lookback_start"]),
        example: "2023-01-01",
        allows: "on or before the period start (`YYYY-MM-DD`)",
        ..Setting::new(
            "lookback_start",
            Kind::Date,
            Effect::Results,
            "Start of the condition look-back (default: period start − 1 year)",
        )
    },
    Setting {
        default: Default::Derived("the earliest medical_claim service date"),
        fingerprint: Some(|o| serde_json::json!(o.params.history_start.map(|d| d.to_string()))),
        manifest: Recorded::At(&["/parameters/history_start", "/measures/col/history_start"]),
        example: "2017-01-01",
        allows: "on or before the period end (`YYYY-MM-DD`)",
        ..Setting::new(
            "history_start",
            Kind::Date,
            Effect::Results,
            "First day the input's history is complete from: COL flags open rows whose look-back reaches before it (default: the earliest medical_claim service date)",
        )
    },
    Setting {
        alias: Some("payer-types"),
        default: Default::Value("medicaid"),
        fingerprint: Some(|o| serde_json::json!(o.params.coverage_types)),
        manifest: Recorded::At(&["/parameters/coverage_types", "/coverage_check/coverage_types"]),
        example: "medicaid,medicare",
        allows: "`payer_type` values (not none)",
        ..Setting::new(
            "coverage_types",
            Kind::List,
            Effect::Results,
            "payer_type values that count as coverage, comma-separated (case-insensitive)",
        )
    },
    Setting {
        default: Default::Derived("all"),
        fingerprint: Some(|o| serde_json::json!(o.measures)),
        manifest: Recorded::Not(
            "not yet: recording it would change the manifest's bytes, which the behaviour lock of #17 fixes; measure_summary.parquet lists the measures computed",
        ),
        example: "fuh_7,cbp",
        allows: "measure ids",
        ..Setting::new(
            "measures",
            Kind::List,
            Effect::Results,
            "Measures to compute, comma-separated (default: all)",
        )
    },
    Setting {
        default: Default::Derived("none"),
        fingerprint: Some(|o| serde_json::json!(o.value_sets)),
        manifest: Recorded::At(&["/value_sets/override_files"]),
        example: "overrides.csv",
        allows: "CSV or tab-separated files",
        ..Setting::new(
            "value_sets",
            Kind::Paths,
            Effect::Results,
            "Value-set override file, replacing the sets it names: caregap's CSV (`value_set, code_system, code`) or an NCQA / VSAC value-set export (CSV or tab-separated); may be repeated (docs/value-sets.md)",
        )
    },
    Setting {
        default: Default::Derived("the shipped NCQA map"),
        fingerprint: Some(|o| serde_json::json!(o.value_set_map)),
        manifest: Recorded::At(&["/value_sets/map/file"]),
        example: "map.csv",
        allows: "a CSV file",
        ..Setting::new(
            "value_set_map",
            Kind::Path,
            Effect::Results,
            "Map from an export's value-set names to caregap's (`source_value_set, value_set`), replacing the shipped NCQA map",
        )
    },
    Setting {
        default: Default::Derived("none: every person's geography is `unknown`"),
        fingerprint: Some(|o| serde_json::json!(o.geography)),
        manifest: Recorded::At(&["/core_set/geography_file"]),
        example: "zip_geography.csv",
        allows: "a CSV file",
        ..Setting::new(
            "geography",
            Kind::Path,
            Effect::Results,
            "ZIP → urban/rural file for the Core Set's geography stratum: a CSV with `zip_code` and `geography` (`urban` / `rural`) or `ruca` (primary RUCA code, 1–3 urban) columns (docs/core-set.md)",
        )
    },
    Setting {
        default: Default::Derived("none: PCR-HH expected readmissions not computed"),
        fingerprint: Some(|o| serde_json::json!(o.pcr_risk_weights)),
        manifest: Recorded::Not(
            "not yet: recording it would change the manifest's bytes, which the behaviour lock fixes; core_set says whether expected readmissions were computed",
        ),
        example: "pcr-weights.csv",
        allows: "a CSV file `factor,value,weight` (docs/measures/pcr.md)",
        ..Setting::new(
            "pcr_risk_weights",
            Kind::Path,
            Effect::Results,
            "PCR-HH risk-weight table (`factor,value,weight`: base, age, age_sex, observation, los, principal_dx, comorbidity), from which expected readmissions and O/E are computed (docs/measures/pcr.md); without it they are not computed",
        )
    },
    Setting {
        default: Default::Value("1000"),
        fingerprint: Some(|o| serde_json::json!(o.bootstrap.draws)),
        manifest: Recorded::At(&["/bootstrap/draws"]),
        example: "200",
        ..Setting::new(
            "bootstrap_draws",
            Kind::Int {
                ty: IntType::Usize,
                min: 0,
                max: usize::MAX as i128,
            },
            Effect::Results,
            "Bootstrap draws for the difference-in-differences interval (default 1000)",
        )
    },
    Setting {
        default: Default::Value("20120101"),
        fingerprint: Some(|o| serde_json::json!(o.bootstrap.seed)),
        manifest: Recorded::At(&["/bootstrap/seed"]),
        example: "7",
        ..Setting::new(
            "seed",
            Kind::Int {
                ty: IntType::U64,
                min: 0,
                max: u64::MAX as i128,
            },
            Effect::Results,
            "Seed of the bootstrap (same seed, same interval, on any number of threads)",
        )
    },
    Setting {
        default: Default::Value("10"),
        why: ": counts from 1 to it are suppressed in the report (0 would turn small-cell suppression off)",
        manifest: Recorded::Not(
            "not yet (the behaviour lock fixes the manifest's bytes); report.html states it",
        ),
        example: "5",
        ..Setting::new(
            "suppression_threshold",
            Kind::Int {
                ty: IntType::U64,
                min: 1,
                max: 19,
            },
            Effect::Finish,
            "Report suppression: counts from 1 to this are suppressed (default 10, as CMS)",
        )
    },
    Setting {
        default: Default::Value("0.05"),
        manifest: Recorded::At(&["/data_quality/max_reject_rate"]),
        example: "0.5",
        ..Setting::new(
            "max_reject_rate",
            Kind::Float { min: 0.0, max: 1.0 },
            Effect::Finish,
            "Largest share (0–1) of a table's rows that may be rejected, and of its accepted rows that may belong to no eligible-table person; above it (or when no eligibility row is covered or no claim line joins a person), exit 4 with the outputs set aside [default: 0.05]. 1 accepts anything",
        )
    },
    Setting {
        commands: &[Cmd::Run],
        conflicts_with: Some("bucket"),
        default: Default::Derived("from `memory_limit`"),
        why: " (and a run never uses more buckets than persons)",
        example: "3",
        ..Setting::new(
            "buckets",
            Kind::Int {
                ty: IntType::U32,
                min: 1,
                max: MAX_BUCKETS as i128,
            },
            Effect::Execution,
            "Process the input in N person buckets one after another and merge them exactly (bounds peak memory to about one bucket's)",
        )
    },
    Setting {
        commands: &[Cmd::Run],
        conflicts_with: Some("bucket"),
        default: Default::Derived("half the machine's memory, or ¾ of a lower cgroup limit"),
        example: "3000MiB",
        allows: "a size: `4GiB`, `800MiB`, `2GB`",
        ..Setting::new(
            "memory_limit",
            Kind::Text,
            Effect::Execution,
            "Peak memory to aim for (`4GiB`, `800MiB`); chooses the number of buckets from the input's size. Ignored when --buckets is given",
        )
    },
    Setting {
        commands: &[Cmd::Run],
        conflicts_with: Some("bucket"),
        default: Default::Value("auto"),
        example: "hash",
        ..Setting::new(
            "bucketing",
            Kind::Choice(|| {
                clap::builder::EnumValueParser::<crate::pipeline::Bucketing>::new().into()
            }),
            Effect::Execution,
            "How in-process buckets are formed: `range` reads contiguous person-id ranges of the input in place (fast when the input is clustered by person), `hash` writes a temporary hash partition first; `auto` picks `range` when the input is clustered",
        )
    },
    Setting {
        commands: &[Cmd::Run],
        in_file: false,
        default: Default::Derived("the whole run"),
        example: "0",
        allows: "a bucket of the input, from 0",
        ..Setting::new(
            "bucket",
            Kind::Int {
                ty: IntType::U32,
                min: 0,
                max: u32::MAX as i128,
            },
            Effect::Execution,
            "Compute one bucket of a bucketed input (`caregap partition` or the Spark driver) and write its partial to --out, for `caregap merge`",
        )
    },
    Setting {
        default: Default::Derived("every core"),
        why: " (default: every core)",
        example: "2",
        ..Setting::new(
            "threads",
            Kind::Int {
                ty: IntType::Usize,
                min: 1,
                max: MAX_THREADS as i128,
            },
            Effect::Execution,
            "Worker threads (polars and rayon); default: every core",
        )
    },
    Setting {
        commands: &[Cmd::Global],
        in_file: false,
        default: Default::Value("human"),
        help_default: true,
        example: "json",
        ..Setting::new(
            "log_format",
            Kind::Choice(|| PossibleValuesParser::new(["human", "json"]).into()),
            Effect::Execution,
            "Log format on stderr: human-readable, or one JSON object per line for a scheduler",
        )
    },
    Setting {
        short: Some('v'),
        commands: &[Cmd::Global],
        in_file: false,
        default: Default::Value("false"),
        example: "true",
        ..Setting::new(
            "verbose",
            Kind::Switch,
            Effect::Execution,
            "More log detail (info); CAREGAP_LOG=debug for more",
        )
    },
];

/// The setting of a key (a declared key: a typo in code is a bug).
pub fn setting(key: &str) -> &'static Setting {
    SETTINGS
        .iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("`{key}` is not a declared setting"))
}

/// A setting's value as given, before defaults and checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i128),
    /// A number.
    Float(f64),
    /// Words.
    List(Vec<String>),
    /// A path.
    Path(PathBuf),
    /// Paths.
    Paths(Vec<PathBuf>),
    /// A switch.
    Switch(bool),
}

/// The settings one source gives (a pipeline file, the command line): each declared key at
/// most once. A later source wins key by key ([`Layer::overridden_by`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    values: BTreeMap<&'static str, Value>,
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// The closest declared key to a misspelt one, if any is close.
fn suggestion(key: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .map(|s| (strsim::jaro_winkler(key, s.key), s.key))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

fn toml_type(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "a whole number",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

impl Layer {
    /// Read a pipeline file; relative paths become relative to its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UsageError(format!("cannot read pipeline file {}: {e}", path.display()))
        })?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| UsageError(format!("pipeline file {}: {e}", path.display())).into())
    }

    /// Parse a pipeline file's text; relative paths are joined to `base`. The error names the
    /// line and the key (an unknown key with the closest known one).
    pub fn parse(text: &str, base: &Path) -> std::result::Result<Self, String> {
        let table: BTreeMap<String, toml::Spanned<toml::Value>> =
            toml::from_str(text).map_err(|e| e.to_string())?;
        let mut layer = Layer::default();
        for (key, spanned) in table {
            let (line, _) = line_col(text, spanned.span().start);
            let at = |msg: String| format!("line {line}: {msg}");
            let Some(s) = SETTINGS.iter().find(|s| s.key == key) else {
                let hint = match suggestion(&key) {
                    Some(k) => format!(" (did you mean `{k}`?)"),
                    None => String::new(),
                };
                let known: Vec<&str> = SETTINGS
                    .iter()
                    .filter(|s| s.in_file)
                    .map(|s| s.key)
                    .collect();
                return Err(at(format!(
                    "unknown key `{key}`{hint}; the keys are {}",
                    known.join(", ")
                )));
            };
            if !s.in_file {
                return Err(at(format!(
                    "`{key}` is a command-line option only (--{})",
                    s.long()
                )));
            }
            let v = spanned.into_inner();
            let value = from_toml(s, &v, base).map_err(|want| match (s.kind, &v) {
                (Kind::Choice(_), toml::Value::String(_)) => {
                    at(format!("`{key}` must be {want}, not {v}"))
                }
                _ => at(format!(
                    "`{key}` must be {want}, not {} ({v})",
                    toml_type(&v)
                )),
            })?;
            layer.values.insert(s.key, value);
        }
        Ok(layer)
    }

    /// The settings of `cmd` given on its command line (not clap's defaults).
    pub fn from_matches(m: &ArgMatches, cmd: Cmd) -> Self {
        let mut layer = Layer::default();
        for s in SETTINGS.iter().filter(|s| s.commands.contains(&cmd)) {
            if matches!(s.kind, Kind::Switch) {
                if m.try_get_one::<bool>(s.key).ok().flatten() == Some(&true) {
                    layer.values.insert(s.key, Value::Switch(true));
                }
                continue;
            }
            if m.value_source(s.key) != Some(clap::parser::ValueSource::CommandLine) {
                continue;
            }
            let Ok(Some(raw)) = m.try_get_raw(s.key) else {
                continue;
            };
            let raw: Vec<&OsStr> = raw.collect();
            // clap has checked the values (UTF-8, numbers, choices) with the parser of `arg`.
            let text = |o: &OsStr| o.to_string_lossy().to_string();
            let value = match s.kind {
                Kind::Path => Value::Path(PathBuf::from(raw[raw.len() - 1])),
                Kind::Paths => Value::Paths(raw.iter().map(PathBuf::from).collect()),
                Kind::Text | Kind::Date | Kind::Choice(_) => Value::Text(text(raw[raw.len() - 1])),
                Kind::List => Value::List(raw.iter().map(|o| text(o)).collect()),
                Kind::Int { .. } => Value::Int(
                    text(raw[raw.len() - 1])
                        .parse()
                        .expect("clap checked the number"),
                ),
                Kind::Float { .. } => Value::Float(
                    text(raw[raw.len() - 1])
                        .parse()
                        .expect("clap checked the number"),
                ),
                Kind::Switch => unreachable!("handled above"),
            };
            layer.values.insert(s.key, value);
        }
        layer
    }

    /// `self` with every key that `over` sets replaced by it.
    pub fn overridden_by(mut self, over: Layer) -> Layer {
        self.values.extend(over.values);
        self
    }

    /// Set a key (as the command line would).
    pub fn set(&mut self, key: &str, value: Value) {
        self.values.insert(setting(key).key, value);
    }

    /// Remove a key.
    pub fn unset(&mut self, key: &str) {
        self.values.remove(key);
    }

    /// Whether a key is given.
    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The value given, or the declared default, as a value of the setting's kind.
    fn get(&self, key: &str) -> Option<Value> {
        let s = setting(key);
        if let Some(v) = self.values.get(s.key) {
            return Some(v.clone());
        }
        match s.default {
            Default::Value(d) => Some(parse_cli(s, d)),
            _ => None,
        }
    }

    /// A path setting.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        match self.get(key)? {
            Value::Path(p) => Some(p),
            v => unreachable!("`{key}` holds {v:?}"),
        }
    }

    /// A paths setting (empty when not given).
    pub fn paths(&self, key: &str) -> Option<Vec<PathBuf>> {
        match self.get(key)? {
            Value::Paths(p) => Some(p),
            v => unreachable!("`{key}` holds {v:?}"),
        }
    }

    /// A text, date or choice setting.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::Text(t) => Some(t),
            v => unreachable!("`{key}` holds {v:?}"),
        }
    }

    /// A list setting.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        match self.get(key)? {
            Value::List(l) => Some(l),
            v => unreachable!("`{key}` holds {v:?}"),
        }
    }

    /// A whole-number setting, checked against its range.
    pub fn int<T: TryFrom<i128>>(&self, key: &str) -> Result<Option<T>> {
        let s = setting(key);
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let Value::Int(n) = v else {
            unreachable!("`{key}` holds {v:?}")
        };
        let Kind::Int { min, max, .. } = s.kind else {
            unreachable!("`{key}` is not a whole number")
        };
        if !(min..=max).contains(&n) {
            return Err(s.range_error(n));
        }
        Ok(Some(T::try_from(n).map_err(|_| s.range_error(n))?))
    }

    /// A number setting, checked against its range.
    pub fn float(&self, key: &str) -> Result<Option<f64>> {
        let s = setting(key);
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let Value::Float(x) = v else {
            unreachable!("`{key}` holds {v:?}")
        };
        let Kind::Float { min, max } = s.kind else {
            unreachable!("`{key}` is not a number")
        };
        if !(min..=max).contains(&x) {
            return Err(s.range_error(x));
        }
        Ok(Some(x))
    }

    /// A switch.
    pub fn switch(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Value::Switch(true)))
    }
}

/// A value written as on the command line (a declared default or example).
pub fn parse_cli(s: &Setting, text: &str) -> Value {
    match s.kind {
        Kind::Path => Value::Path(text.into()),
        Kind::Paths => Value::Paths(text.split(',').map(PathBuf::from).collect()),
        Kind::Text | Kind::Date | Kind::Choice(_) => Value::Text(text.into()),
        Kind::List => Value::List(text.split(',').map(str::to_string).collect()),
        Kind::Int { .. } => Value::Int(text.parse().expect("a declared whole number")),
        Kind::Float { .. } => Value::Float(text.parse().expect("a declared number")),
        Kind::Switch => Value::Switch(text == "true"),
    }
}

/// A pipeline file's value of setting `s`, or what it must be.
fn from_toml(s: &Setting, v: &toml::Value, base: &Path) -> std::result::Result<Value, String> {
    let rel = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_relative() {
            base.join(p)
        } else {
            p
        }
    };
    let strings = |v: &toml::Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    match (s.kind, v) {
        (Kind::Path, toml::Value::String(p)) => Ok(Value::Path(rel(p))),
        (Kind::Path, _) => Err("a path (a string)".into()),
        (Kind::Paths, _) => strings(v)
            .map(|ps| Value::Paths(ps.iter().map(|p| rel(p)).collect()))
            .ok_or_else(|| "an array of paths (strings)".into()),
        (Kind::Text, toml::Value::String(t)) => Ok(Value::Text(t.clone())),
        (Kind::Text, _) => Err("a string".into()),
        (Kind::Date, toml::Value::String(t)) => Ok(Value::Text(t.clone())),
        (Kind::Date, toml::Value::Datetime(d)) => Ok(Value::Text(d.to_string())),
        (Kind::Date, _) => Err("a date (2025-12-31 or \"2025-12-31\")".into()),
        (Kind::List, _) => strings(v)
            .map(Value::List)
            .ok_or_else(|| "an array of strings".into()),
        (Kind::Int { .. }, toml::Value::Integer(n)) => Ok(Value::Int(*n as i128)),
        (Kind::Int { .. }, _) => Err("a whole number".into()),
        (Kind::Float { .. }, toml::Value::Float(x)) => Ok(Value::Float(*x)),
        (Kind::Float { .. }, toml::Value::Integer(n)) => Ok(Value::Float(*n as f64)),
        (Kind::Float { .. }, _) => Err("a number".into()),
        (Kind::Choice(_), toml::Value::String(t)) if s.choices().contains(t) => {
            Ok(Value::Text(t.clone()))
        }
        (Kind::Choice(_), _) => Err(format!("one of {}", s.choices().join(", "))),
        (Kind::Switch, _) => Err("set on the command line".into()),
    }
}

/// The settings of one command as clap arguments, for `#[command(flatten)]` in a clap derive
/// command: `SettingArgs<RUN>` (`caregap run`), `SettingArgs<MERGE>`, `SettingArgs<GLOBAL>`.
#[derive(Debug, Clone, Default)]
pub struct SettingArgs<const CMD: u8>(pub Layer);

/// `caregap run`'s settings.
pub const RUN: u8 = 0;
/// `caregap merge`'s settings.
pub const MERGE: u8 = 1;
/// The global options.
pub const GLOBAL: u8 = 2;
/// `caregap run`'s settings as clap arguments.
pub type RunSettings = SettingArgs<RUN>;
/// `caregap merge`'s settings as clap arguments.
pub type MergeSettings = SettingArgs<MERGE>;
/// The global options as clap arguments.
pub type GlobalSettings = SettingArgs<GLOBAL>;

const fn cmd_of(c: u8) -> Cmd {
    match c {
        RUN => Cmd::Run,
        MERGE => Cmd::Merge,
        _ => Cmd::Global,
    }
}

impl<const CMD: u8> clap::FromArgMatches for SettingArgs<CMD> {
    fn from_arg_matches(m: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        Ok(SettingArgs(Layer::from_matches(m, cmd_of(CMD))))
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> std::result::Result<(), clap::Error> {
        let over = Layer::from_matches(m, cmd_of(CMD));
        self.0 = std::mem::take(&mut self.0).overridden_by(over);
        Ok(())
    }
}

impl<const CMD: u8> clap::Args for SettingArgs<CMD> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        SETTINGS
            .iter()
            .filter(|s| s.commands.contains(&cmd_of(CMD)))
            .fold(cmd, |c, s| c.arg(s.arg()))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The settings the bucket runs of one job and its merge must agree on: a JSON object of the
/// version and every [`Effect::Results`] setting's resolved value, in [`SETTINGS`] order.
pub fn fingerprint(opts: &RunOptions) -> String {
    let mut m = serde_json::Map::new();
    m.insert("fingerprint".into(), FINGERPRINT_VERSION.into());
    for s in SETTINGS {
        if let Some(f) = s.fingerprint {
            m.insert(s.key.into(), f(opts));
        }
    }
    serde_json::Value::Object(m).to_string()
}

/// Why two fingerprints differ, in words: the settings that differ, with both values, or that
/// one of them is of another version.
pub fn fingerprint_difference(buckets: &str, merge: &str) -> String {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    let (Some(a), Some(b)) = (parse(buckets), parse(merge)) else {
        return format!("  buckets: {buckets}\n  merge:   {merge}");
    };
    let version = |v: &serde_json::Value| v.get("fingerprint").and_then(|x| x.as_u64());
    if version(&a) != version(&b) {
        return format!(
            "  the buckets were computed by another caregap version (settings fingerprint {}, this one's is {FINGERPRINT_VERSION}): compute them again with this version",
            version(&a).map_or("1".to_string(), |v| v.to_string())
        );
    }
    SETTINGS
        .iter()
        .filter(|s| s.fingerprint.is_some() && a.get(s.key) != b.get(s.key))
        .map(|s| {
            let show = |v: &serde_json::Value| v.get(s.key).map_or("-".into(), |x| x.to_string());
            format!(
                "  --{} ({}): buckets {}, merge {}",
                s.long(),
                s.key,
                show(&a),
                show(&b)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The settings table of `pipelines/README.md` (tests keep it fresh; `BLESS=1` rewrites it).
pub fn docs_table() -> String {
    let mut s = String::from(
        "| key | flag | meaning | default | allowed | changes |\n|---|---|---|---|---|---|\n",
    );
    for st in SETTINGS {
        let key = if st.in_file {
            format!("`{}`", st.key)
        } else {
            "(command line only)".into()
        };
        let mut flag = format!("`--{}`", st.long());
        if let Some(c) = st.short {
            flag = format!("`-{c}`, {flag}");
        }
        let default = match st.default {
            Default::Required => "required".to_string(),
            Default::Value(v) => format!("`{v}`"),
            Default::Derived(d) => d.to_string(),
        };
        let cmds = st
            .commands
            .iter()
            .map(|c| match c {
                Cmd::Run => "run",
                Cmd::Merge => "merge",
                Cmd::Global => "every command",
            })
            .collect::<Vec<_>>()
            .join(", ");
        s.push_str(&format!(
            "| {key} | {flag} ({cmds}) | {} | {default} | {} | {} |\n",
            st.help.replace('|', "\\|"),
            st.allowed(),
            st.effect.describe()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Bucketing, DEFAULT_MAX_REJECT_RATE};
    use clap::Args as _;

    /// A clap command with the settings of `cmd` (as `caregap run`, `merge` or the globals).
    fn command(cmd: Cmd) -> clap::Command {
        let c = clap::Command::new("caregap").no_binary_name(true);
        match cmd {
            Cmd::Run => RunSettings::augment_args(c),
            Cmd::Merge => MergeSettings::augment_args(c),
            Cmd::Global => GlobalSettings::augment_args(c),
        }
    }

    /// `s = example` as a pipeline file writes it.
    fn toml_line(s: &Setting) -> String {
        let quote = |t: &str| format!("\"{t}\"");
        let v = match s.kind {
            Kind::Int { .. } | Kind::Float { .. } => s.example.to_string(),
            Kind::List | Kind::Paths => format!(
                "[{}]",
                s.example
                    .split(',')
                    .map(quote)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => quote(s.example),
        };
        format!("{} = {v}\n", s.key)
    }

    /// Input and output, the two required settings.
    fn base() -> Layer {
        Layer::parse("input = \"in\"\noutput = \"out\"\n", Path::new("")).unwrap()
    }

    #[test]
    fn every_setting_has_its_flag_on_its_commands_and_its_key_in_the_pipeline_file() {
        for s in SETTINGS {
            assert!(!s.example.is_empty(), "{}: no example", s.key);
            assert!(
                !s.help.is_empty() && !s.help.ends_with('.'),
                "{}: help",
                s.key
            );
            for cmd in s.commands {
                let c = command(*cmd);
                assert!(
                    c.get_arguments()
                        .any(|a| a.get_long() == Some(s.long().as_str())),
                    "{}: no --{} on {cmd:?}",
                    s.key,
                    s.long()
                );
                let mut argv = vec![format!("--{}", s.long())];
                if !matches!(s.kind, Kind::Switch) {
                    argv.push(s.example.to_string());
                }
                let m = c
                    .try_get_matches_from(&argv)
                    .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                let cli = Layer::from_matches(&m, *cmd);
                assert_eq!(
                    cli.values.get(s.key),
                    Some(&parse_cli(s, s.example)),
                    "{argv:?} on {cmd:?}"
                );
                if s.in_file {
                    let file = Layer::parse(&toml_line(s), Path::new("")).unwrap();
                    assert_eq!(file, cli, "{}: the file and the command line agree", s.key);
                }
            }
            if s.in_file {
                Layer::parse(&toml_line(s), Path::new(""))
                    .unwrap_or_else(|e| panic!("{}: {e}", s.key));
            } else {
                let e = Layer::parse(&toml_line(s), Path::new("")).unwrap_err();
                assert!(e.contains("command-line option only"), "{e}");
            }
        }
    }

    #[test]
    fn only_result_settings_change_the_fingerprint_and_every_setting_is_read() {
        let opts = base().into_options().unwrap();
        let (fp, dbg) = (fingerprint(&opts), format!("{opts:?}"));
        for s in SETTINGS {
            assert_eq!(
                s.fingerprint.is_some(),
                s.effect == Effect::Results,
                "{}: in the fingerprint exactly when it changes results",
                s.key
            );
            let mut layer = base();
            layer.values.insert(s.key, parse_cli(s, s.example));
            // The settings that are not run options are read by `main` through these.
            match s.key {
                "bucket" => assert_eq!(layer.int::<u32>("bucket").unwrap(), Some(0)),
                "threads" => assert_eq!(layer.threads().unwrap(), Some(2)),
                "log_format" => assert_eq!(layer.text("log_format").as_deref(), Some("json")),
                "verbose" => assert!(layer.switch("verbose")),
                _ => {
                    let changed = layer
                        .into_options()
                        .unwrap_or_else(|e| panic!("{}: {e}", s.key));
                    assert_ne!(format!("{changed:?}"), dbg, "{}: not read", s.key);
                    assert_eq!(
                        fingerprint(&changed) != fp,
                        s.effect == Effect::Results,
                        "{}: {}",
                        s.key,
                        fingerprint(&changed)
                    );
                    continue;
                }
            }
            let opts = layer.into_options().unwrap();
            assert_eq!(fingerprint(&opts), fp, "{}", s.key);
        }
    }

    #[test]
    fn defaults_agree_with_run_options_new() {
        let o = base().into_options().unwrap();
        let n = RunOptions::new(
            "in".into(),
            "out".into(),
            caregap_transform::Params::calendar_year(2025),
        );
        assert_eq!(o.params, n.params);
        assert_eq!(o.bootstrap, n.bootstrap);
        assert_eq!(o.suppression, n.suppression);
        assert_eq!(o.measures, n.measures);
        assert_eq!(o.value_sets, n.value_sets);
        assert_eq!(o.value_set_map, n.value_set_map);
        assert_eq!(o.max_reject_rate, Some(DEFAULT_MAX_REJECT_RATE));
        assert_eq!(o.bucketing, Bucketing::default());
        assert_eq!(o.buckets, None);
        assert_eq!(fingerprint(&o), fingerprint(&n));
    }

    #[test]
    fn ranges_are_checked_naming_key_and_flag() {
        for s in SETTINGS {
            let (below, above) = match s.kind {
                Kind::Int { min, max, .. } => (Value::Int(min - 1), Value::Int(max + 1)),
                Kind::Float { min, max } => (Value::Float(min - 0.01), Value::Float(max + 0.01)),
                _ => continue,
            };
            for v in [below, above] {
                let mut layer = base();
                layer.values.insert(s.key, v.clone());
                let e = match s.kind {
                    Kind::Int { .. } => layer.int::<u64>(s.key).map(|_| ()),
                    _ => layer.float(s.key).map(|_| ()),
                }
                .unwrap_err();
                assert!(e.downcast_ref::<UsageError>().is_some(), "{}", s.key);
                let e = e.to_string();
                assert!(
                    e.starts_with(&format!("{} (--{}) ", s.key, s.long()))
                        && e.contains(" must be from "),
                    "{v:?}: {e}"
                );
            }
        }
    }

    #[test]
    fn results_and_finish_settings_say_where_the_manifest_records_them() {
        for s in SETTINGS {
            match (s.effect, s.manifest) {
                (Effect::Results | Effect::Finish, Recorded::At(at)) => {
                    assert!(
                        !at.is_empty() && at.iter().all(|p| p.starts_with('/')),
                        "{}",
                        s.key
                    )
                }
                (Effect::Results | Effect::Finish, Recorded::Not(why)) => {
                    assert!(why.starts_with("not yet"), "{}: {why}", s.key)
                }
                _ => {}
            }
        }
    }

    #[test]
    fn a_fingerprint_difference_names_the_settings() {
        let a = base().into_options().unwrap();
        let mut layer = base();
        layer.set("seed", Value::Int(7));
        let b = layer.into_options().unwrap();
        let d = fingerprint_difference(&fingerprint(&a), &fingerprint(&b));
        assert_eq!(d, "  --seed (seed): buckets 20120101, merge 7");
        let old = r#"{"bootstrap":{"draws":1000,"seed":1},"measures":null}"#;
        let d = fingerprint_difference(old, &fingerprint(&b));
        assert!(
            d.contains("another caregap version (settings fingerprint 1"),
            "{d}"
        );
    }

    /// `BLESS=1` rewrites the table in pipelines/README.md.
    #[test]
    fn the_settings_table_in_pipelines_readme_is_fresh() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/README.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let (begin, end) = (
            "<!-- settings table: generated from crates/cli/src/settings.rs; BLESS=1 cargo test -p caregap-cli --lib settings rewrites it -->\n",
            "<!-- end of settings table -->",
        );
        let (Some(i), Some(j)) = (text.find(begin), text.find(end)) else {
            panic!("{} lacks the settings table markers", path.display());
        };
        let fresh = format!("{}{begin}{}{}", &text[..i], docs_table(), &text[j..]);
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        } else {
            assert!(
                fresh == text,
                "{} is stale: run `BLESS=1 cargo test -p caregap-cli --lib settings`",
                path.display()
            );
        }
    }
}
