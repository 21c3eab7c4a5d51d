//! Pipeline files (`pipelines/*.toml`) and how they combine with the command line: a setting
//! given on the command line wins over the file, the file over the built-in default. Unknown
//! keys are an error that names the key. Relative paths in a file are relative to the file.
//! The settings themselves (keys, flags, defaults, ranges) are declared in [`crate::settings`];
//! this module resolves them into [`RunOptions`] and checks what spans several of them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use caregap_report::suppress::SuppressionRule;
use caregap_transform::utilization::BootstrapSettings;
use caregap_transform::Params;
use chrono::{Datelike, NaiveDate};

use crate::pipeline::RunOptions;
pub use crate::settings::Layer;
use crate::UsageError;

/// A pipeline file, or the settings the command line gives: a [`Layer`] of settings (see
/// [`crate::settings`], where every key is declared).
pub type PipelineFile = Layer;

/// A date setting (`YYYY-MM-DD`).
fn parse_date(key: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| UsageError(format!("`{key}`: `{s}` is not a date (YYYY-MM-DD)")).into())
}

/// The measure names a run may select: an unknown one is an error that lists them.
fn check_measures(ms: &[String]) -> Result<()> {
    let known = caregap_transform::measures::ids();
    for m in ms {
        if !known.contains(&m.as_str()) {
            bail!(UsageError(format!(
                "unknown measure `{m}` (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

impl Layer {
    /// Resolve into run options: the declared defaults for what is unset, every value checked
    /// (the pipeline reads each setting here, and nowhere else).
    pub fn into_options(self) -> Result<RunOptions> {
        let input = self.path("input").ok_or_else(|| {
            UsageError("no input folder: give --input or `input` in a pipeline file".into())
        })?;
        let out = self.path("output").ok_or_else(|| {
            UsageError("no output folder: give --out or `output` in a pipeline file".into())
        })?;
        let mut params = parse_period(&self.text("period").expect("a declared default"))?;
        if let Some(d) = self.text("as_of") {
            params.as_of = parse_date("as_of", &d)?;
        }
        if let Some(d) = self.text("lookback_start") {
            params.lookback_start = parse_date("lookback_start", &d)?;
        }
        if let Some(d) = self.text("history_start") {
            let d = parse_date("history_start", &d)?;
            if d > params.period_end {
                bail!(UsageError(format!(
                    "history_start (--history-start) {d} is after the period end {}: it is the first day the input is complete from",
                    params.period_end
                )));
            }
            params.history_start = Some(d);
        }
        check_dates(&params)?;
        let params =
            params.with_coverage_types(self.list("coverage_types").expect("a declared default"));
        if params.coverage_types.is_empty() {
            bail!(UsageError("coverage_types is empty".into()));
        }
        let measures = self.list("measures");
        if let Some(ms) = &measures {
            check_measures(ms)?;
        }
        let max_reject_rate = self.float("max_reject_rate")?;
        let threshold = self
            .int("suppression_threshold")?
            .expect("a declared default");
        let buckets = self.int("buckets")?;
        let memory_limit = match (self.text("memory_limit"), buckets) {
            (Some(limit), None) => Some(parse_size(&limit)?),
            (None, None) => crate::pipeline::default_memory_limit(),
            (_, Some(_)) => None,
        };
        let bucketing = self.text("bucketing").expect("a declared default");
        Ok(RunOptions {
            input,
            out,
            params,
            value_sets: self.paths("value_sets").unwrap_or_default(),
            value_set_map: self.path("value_set_map"),
            pcr_risk_weights: self.path("pcr_risk_weights"),
            bootstrap: BootstrapSettings {
                draws: self.int("bootstrap_draws")?.expect("a declared default"),
                seed: self.int("seed")?.expect("a declared default"),
            },
            suppression: SuppressionRule {
                threshold,
                ..Default::default()
            },
            measures,
            geography: self.path("geography"),
            max_reject_rate,
            buckets,
            memory_limit,
            bucketing: clap::ValueEnum::from_str(&bucketing, false)
                .map_err(|e| UsageError(format!("bucketing: {e}")))?,
        })
    }

    /// `threads`, checked (None: every core).
    pub fn threads(&self) -> Result<Option<usize>> {
        self.int("threads")
    }
}

pub use crate::settings::MAX_BUCKETS;

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

    fn parse(text: &str) -> PipelineFile {
        PipelineFile::parse(text, Path::new("")).unwrap()
    }

    #[test]
    fn unknown_key_is_named_with_the_closest_known_one() {
        let e =
            PipelineFile::parse("input = \"x\"\nbootstrap_drawz = 5\n", Path::new("")).unwrap_err();
        assert!(
            e.contains("line 2: unknown key `bootstrap_drawz` (did you mean `bootstrap_draws`?)"),
            "{e}"
        );
        let e = PipelineFile::parse("log_format = \"json\"\n", Path::new("")).unwrap_err();
        assert!(e.contains("command-line option only (--log-format)"), "{e}");
        let e = PipelineFile::parse("\n\nbuckets = \"4\"\n", Path::new("")).unwrap_err();
        assert!(
            e.contains("line 3: `buckets` must be a whole number, not a string"),
            "{e}"
        );
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let f = PipelineFile::parse(
            "input = \"in\"\noutput = \"/abs\"\nvalue_sets = [\"a.csv\"]",
            Path::new("jobs"),
        )
        .unwrap();
        let o = f.into_options().unwrap();
        assert_eq!(o.input, Path::new("jobs/in"));
        assert_eq!(o.out, Path::new("/abs"));
        assert_eq!(o.value_sets, vec![PathBuf::from("jobs/a.csv")]);
    }

    #[test]
    fn dates_quoted_or_not() {
        let f = parse(
            "as_of = 2025-10-31\nlookback_start = \"2024-01-01\"\ninput = \"i\"\noutput = \"o\"",
        );
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
        let file = parse("input = \"i\"\noutput = \"o\"\nperiod = \"2024\"\nseed = 1");
        let mut cli = PipelineFile::default();
        cli.set("period", crate::settings::Value::Text("2025".into()));
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
            let f = parse(&format!("input = \"i\"\noutput = \"o\"\n{text}"));
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
            let f = parse(text);
            let e = f.into_options().unwrap_err();
            assert!(e.downcast_ref::<UsageError>().is_some(), "{text}: {e}");
        }
    }
}
