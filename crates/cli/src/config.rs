//! Pipeline files (`pipelines/*.toml`) and how they combine with the command line: a setting
//! given on the command line wins over the file, the file over the built-in default. Unknown
//! keys are an error that names the key. Relative paths in a file are relative to the file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use caregap_report::suppress::SuppressionRule;
use caregap_transform::utilization::BootstrapSettings;
use caregap_transform::Params;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::pipeline::RunOptions;
use crate::UsageError;

/// A date written either as a TOML date (`2025-12-31`) or as a string (`"2025-12-31"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DateValue {
    Toml(toml::value::Datetime),
    Text(String),
}

impl DateValue {
    fn parse(&self, key: &str) -> Result<NaiveDate> {
        let s = match self {
            DateValue::Toml(d) => d.to_string(),
            DateValue::Text(s) => s.clone(),
        };
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| UsageError(format!("`{key}`: `{s}` is not a date (YYYY-MM-DD)")).into())
    }
}

/// The keys of a pipeline file. Every key is optional; see `pipelines/README.md`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// Input folder (the input layer).
    pub input: Option<PathBuf>,
    /// Output folder (replaced atomically by each successful run).
    pub output: Option<PathBuf>,
    /// Measurement period: a calendar year (`"2025"`) or `"2025-04-01..2026-03-31"`.
    pub period: Option<String>,
    /// Eligibility as-of date (default: the period's last day).
    pub as_of: Option<DateValue>,
    /// Condition look-back start (default: period start − 1 year).
    pub lookback_start: Option<DateValue>,
    /// payer_type values that count as coverage (default `["medicaid"]`).
    pub coverage_types: Option<Vec<String>>,
    /// Measures to compute (default: all).
    pub measures: Option<Vec<String>>,
    /// Value-set override files (caregap's CSV or NCQA / VSAC exports).
    pub value_sets: Option<Vec<PathBuf>>,
    /// The value-set map for NCQA / VSAC exports (default: the shipped map).
    pub value_set_map: Option<PathBuf>,
    /// Report suppression threshold (default 10).
    pub suppression_threshold: Option<u64>,
    /// DiD bootstrap draws (default 1000).
    pub bootstrap_draws: Option<usize>,
    /// DiD bootstrap seed.
    pub seed: Option<u64>,
    /// Largest share of rejected rows a table may have (0–1); above it the run exits with 4.
    pub max_reject_rate: Option<f64>,
    /// Process the input in this many person buckets (exact merge; bounds memory).
    pub buckets: Option<u32>,
    /// Peak memory to aim for (`"7GiB"`): chooses `buckets` from the input's size.
    pub memory_limit: Option<String>,
    /// How buckets are formed: `"auto"` (default), `"range"` or `"hash"` (see
    /// [`crate::pipeline::Bucketing`]).
    pub bucketing: Option<crate::pipeline::Bucketing>,
}

impl PipelineFile {
    /// Read a pipeline file; relative paths become relative to its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UsageError(format!("cannot read pipeline file {}: {e}", path.display()))
        })?;
        let mut f: PipelineFile = toml::from_str(&text)
            .map_err(|e| UsageError(format!("pipeline file {}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let rel = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(p) = f.input.as_mut() {
            rel(p);
        }
        if let Some(p) = f.output.as_mut() {
            rel(p);
        }
        if let Some(v) = f.value_sets.as_mut() {
            v.iter_mut().for_each(rel);
        }
        if let Some(p) = f.value_set_map.as_mut() {
            rel(p);
        }
        Ok(f)
    }

    /// `self` with every key that `over` sets replaced by it.
    pub fn overridden_by(self, over: PipelineFile) -> PipelineFile {
        PipelineFile {
            input: over.input.or(self.input),
            output: over.output.or(self.output),
            period: over.period.or(self.period),
            as_of: over.as_of.or(self.as_of),
            lookback_start: over.lookback_start.or(self.lookback_start),
            coverage_types: over.coverage_types.or(self.coverage_types),
            measures: over.measures.or(self.measures),
            value_sets: over.value_sets.or(self.value_sets),
            value_set_map: over.value_set_map.or(self.value_set_map),
            suppression_threshold: over.suppression_threshold.or(self.suppression_threshold),
            bootstrap_draws: over.bootstrap_draws.or(self.bootstrap_draws),
            seed: over.seed.or(self.seed),
            max_reject_rate: over.max_reject_rate.or(self.max_reject_rate),
            buckets: over.buckets.or(self.buckets),
            memory_limit: over.memory_limit.or(self.memory_limit),
            bucketing: over.bucketing.or(self.bucketing),
        }
    }

    /// Resolve into run options, with the built-in defaults for what is unset.
    pub fn into_options(self) -> Result<RunOptions> {
        let input = self.input.ok_or_else(|| {
            UsageError("no input folder: give --input or `input` in a pipeline file".into())
        })?;
        let out = self.output.ok_or_else(|| {
            UsageError("no output folder: give --out or `output` in a pipeline file".into())
        })?;
        let mut params = parse_period(self.period.as_deref().unwrap_or("2025"))?;
        if let Some(d) = &self.as_of {
            params.as_of = d.parse("as_of")?;
        }
        if let Some(d) = &self.lookback_start {
            params.lookback_start = d.parse("lookback_start")?;
        }
        check_dates(&params)?;
        let params = params.with_coverage_types(
            self.coverage_types
                .unwrap_or_else(|| vec!["medicaid".into()]),
        );
        if params.coverage_types.is_empty() {
            bail!(UsageError("coverage_types is empty".into()));
        }
        if let Some(ms) = &self.measures {
            let known = caregap_transform::measures::ids();
            for m in ms {
                if !known.contains(&m.as_str()) {
                    bail!(UsageError(format!(
                        "unknown measure `{m}` (known: {})",
                        known.join(", ")
                    )));
                }
            }
        }
        if let Some(r) = self.max_reject_rate {
            if !(0.0..=1.0).contains(&r) {
                bail!(UsageError(format!(
                    "max_reject_rate must be between 0 and 1, not {r}"
                )));
            }
        }
        let threshold = self.suppression_threshold.unwrap_or(10);
        if !(1..20).contains(&threshold) {
            bail!(UsageError(format!(
                "suppression_threshold (--suppression-threshold) {threshold} must be from 1 to 19: counts from 1 to it are suppressed in the report (0 would turn small-cell suppression off)"
            )));
        }
        let buckets = match self.buckets {
            Some(b) if !(1..=MAX_BUCKETS).contains(&b) => bail!(UsageError(format!(
                "buckets (--buckets) {b} must be from 1 to {MAX_BUCKETS} (and a run never uses more buckets than persons)"
            ))),
            b => b,
        };
        let memory_limit = match (&self.memory_limit, buckets) {
            (Some(limit), None) => Some(parse_size(limit)?),
            (None, None) => crate::pipeline::default_memory_limit(),
            (_, Some(_)) => None,
        };
        let boot = BootstrapSettings::default();
        Ok(RunOptions {
            input,
            out,
            params,
            value_sets: self.value_sets.unwrap_or_default(),
            value_set_map: self.value_set_map,
            bootstrap: BootstrapSettings {
                draws: self.bootstrap_draws.unwrap_or(boot.draws),
                seed: self.seed.unwrap_or(boot.seed),
            },
            suppression: SuppressionRule {
                threshold,
                ..Default::default()
            },
            measures: self.measures,
            max_reject_rate: self.max_reject_rate,
            buckets,
            memory_limit,
            bucketing: self.bucketing.unwrap_or_default(),
        })
    }
}

/// The most person buckets a run or `caregap partition` may have: each bucket costs a pass over
/// every table and a file per table, and buckets of a few hundred persons are already slower
/// than fewer larger ones (docs/performance.md).
pub const MAX_BUCKETS: u32 = 4096;

/// The as-of date and the look-back start against the measurement period (spec §3): the
/// eligibility, Health Home enrollment and worklist date is a day of the period; the condition
/// look-back runs from `lookback_start` to the period end, so it starts on or before the
/// period start.
pub fn check_dates(p: &Params) -> Result<()> {
    let period = format!("{}..{}", p.period_start, p.period_end);
    if p.as_of < p.period_start || p.as_of > p.period_end {
        bail!(UsageError(format!(
            "as_of (--as-of) {} is outside the measurement period {period}: eligibility, Health Home enrollment and the worklist are judged on the as-of date, which must be a day of the period (default: its last day); to judge another date, give a period that contains it",
            p.as_of
        )));
    }
    if p.lookback_start > p.period_start {
        bail!(UsageError(format!(
            "lookback_start (--lookback-start) {} is after the period start {}: the condition look-back runs from lookback_start to the period end and must cover the whole period (default: one year before the period start)",
            p.lookback_start, p.period_start
        )));
    }
    Ok(())
}

/// `4GiB`, `800MiB`, `2GB`, `1500000000` → bytes.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        UsageError(format!(
            "memory limit: `{s}` is not a size like 4GiB or 800MiB"
        ))
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad().into()),
    };
    Ok((v * mult) as u64)
}

/// `2025` or `2025-04-01..2026-03-31`.
pub fn parse_period(s: &str) -> Result<Params> {
    let s = s.trim();
    if let Some((x, y)) = s.split_once("..") {
        let d = |t: &str| {
            NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
                .map_err(|_| UsageError(format!("period: `{t}` is not a date (YYYY-MM-DD)")))
        };
        let (start, end) = (d(x)?, d(y)?);
        for day in [start, end] {
            if !(1900..=2100).contains(&day.year()) {
                bail!(UsageError(format!(
                    "period: {day} is outside the years 1900–2100"
                )));
            }
        }
        Ok(Params::for_period(start, end).map_err(|e| UsageError(e.to_string()))?)
    } else {
        let year: i32 = s
            .parse()
            .map_err(|_| UsageError(format!("period: `{s}` is neither a year nor START..END")))?;
        if !(1900..=2100).contains(&year) {
            bail!(UsageError(format!(
                "period: year {year} is outside 1900–2100"
            )));
        }
        Ok(Params::calendar_year(year))
    }
}

/// Read the example files in `pipelines/` (tests keep them valid).
pub fn example_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join("pipelines"))
        .context("pipelines/")?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("4GiB").unwrap(), 4 << 30);
        assert_eq!(parse_size(" 800MiB ").unwrap(), 800 << 20);
        assert_eq!(parse_size("2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("4XB").is_err());
    }

    #[test]
    fn unknown_key_is_named() {
        let e = toml::from_str::<PipelineFile>("input = \"x\"\nbootstrap_drawz = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bootstrap_drawz"), "{e}");
    }

    #[test]
    fn dates_quoted_or_not() {
        let f: PipelineFile = toml::from_str(
            "as_of = 2025-10-31\nlookback_start = \"2024-01-01\"\ninput = \"i\"\noutput = \"o\"",
        )
        .unwrap();
        let o = f.into_options().unwrap();
        assert_eq!(
            o.params.as_of,
            NaiveDate::from_ymd_opt(2025, 10, 31).unwrap()
        );
        assert_eq!(
            o.params.lookback_start,
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
        );
    }

    #[test]
    fn command_line_wins_over_file() {
        let file: PipelineFile =
            toml::from_str("input = \"i\"\noutput = \"o\"\nperiod = \"2024\"\nseed = 1").unwrap();
        let cli = PipelineFile {
            period: Some("2025".into()),
            ..Default::default()
        };
        let o = file.overridden_by(cli).into_options().unwrap();
        assert_eq!(
            o.params.period_start,
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
        );
        assert_eq!(o.bootstrap.seed, 1);
    }

    #[test]
    fn dates_within_the_period_and_bounds_pass() {
        for text in [
            "as_of = 2025-01-01\nlookback_start = 2025-01-01",
            "as_of = 2025-10-31\nlookback_start = 2020-01-01",
            "suppression_threshold = 1\nbuckets = 4096",
            "period = \"2025-04-01..2026-03-31\"\nas_of = 2026-03-31",
        ] {
            let f: PipelineFile =
                toml::from_str(&format!("input = \"i\"\noutput = \"o\"\n{text}")).unwrap();
            f.into_options().unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for text in [
            "input = \"i\"\noutput = \"o\"\nmeasures = [\"fuh_8\"]",
            "input = \"i\"\noutput = \"o\"\nmax_reject_rate = 2.0",
            "input = \"i\"\noutput = \"o\"\nperiod = \"20x5\"",
            "input = \"i\"\noutput = \"o\"\nperiod = \"1025-01-01..2025-12-31\"",
            "input = \"i\"\noutput = \"o\"\nsuppression_threshold = 0",
            "input = \"i\"\noutput = \"o\"\nsuppression_threshold = 20",
            "input = \"i\"\noutput = \"o\"\nbuckets = 0",
            "input = \"i\"\noutput = \"o\"\nbuckets = 100000",
            "input = \"i\"\noutput = \"o\"\nas_of = 2026-01-01",
            "input = \"i\"\noutput = \"o\"\nas_of = 2024-12-31",
            "input = \"i\"\noutput = \"o\"\nlookback_start = 2025-01-02",
        ] {
            let f: PipelineFile = toml::from_str(text).unwrap();
            let e = f.into_options().unwrap_err();
            assert!(e.downcast_ref::<UsageError>().is_some(), "{text}: {e}");
        }
    }
}
