//! The output contract: every file a run writes, declared once.
//!
//! Each tabular file caregap writes is one [`Output`] in [`OUTPUTS`]: its file name and format,
//! its grain (what one row is), its sort order, a description, and for every column its name,
//! type ([`ColumnType`]: the polars dtype and the Parquet/Arrow type evaluators see), whether it
//! may be null, and what it means. Three things read the declarations, so they cannot drift:
//!
//! - **the writer**: [`crate::parquet::write_output`] checks a frame against its declaration
//!   ([`Output::check`]: column names, order and types, and no null in a column declared not
//!   null) before it writes a byte, so a renamed, missing, extra or retyped column is a
//!   [`ContractError`] naming the output and the column, never a silently different file;
//! - **the report**: [`crate::html`] reads its frames only through [`OutputFrame`], which
//!   refuses a frame that does not match its declaration and a column the output does not
//!   declare (a renamed column is an error, not an empty table);
//! - **the data dictionary**: `docs/outputs.md` is [`markdown`] of the declarations
//!   (`caregap outputs` prints it, `--format json` as JSON); a test fails when the file is
//!   stale, and `BLESS=1` rewrites it.
//!
//! The contract lives in `caregap-report` because this crate owns what leaves the pipeline (the
//! Parquet and CSV writer and the HTML report) and both its users can see it here: the
//! dependency graph is `ingest → transform → report → cli`, so the CLI (which writes the
//! outputs and a bucket's partial) and the report (which reads them) depend on this crate,
//! while `caregap-transform`, which computes the frames, must not depend on it. Transform
//! decides a frame's types; the contract checks them where they leave.
//!
//! The contract declares; it does not convert. A check never casts or reorders a frame, so the
//! bytes written are exactly those of the frame computed.

use std::path::Path;

use polars::prelude::*;

use crate::error::ReportError;

/// The Parquet key-value metadata key holding a file's Arrow schema.
const ARROW_SCHEMA_KEY: &str = "ARROW:schema";

/// The logical type of an output column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text.
    Str,
    /// A calendar date.
    Date,
    /// A 32-bit integer (internal files only).
    Int32,
    /// A 64-bit integer.
    Int,
    /// A 64-bit float.
    Float,
    /// A boolean.
    Bool,
    /// A list of UTF-8 texts.
    StrList,
}

impl ColumnType {
    /// The polars dtype of the column in the frame written.
    pub fn dtype(self) -> DataType {
        match self {
            ColumnType::Str => DataType::String,
            ColumnType::Date => DataType::Date,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::StrList => DataType::List(Box::new(DataType::String)),
        }
    }

    /// The polars dtype's name, as Rust and Python polars print it.
    pub fn polars_name(self) -> &'static str {
        match self {
            ColumnType::Str => "String",
            ColumnType::Date => "Date",
            ColumnType::Int32 => "Int32",
            ColumnType::Int => "Int64",
            ColumnType::Float => "Float64",
            ColumnType::Bool => "Boolean",
            ColumnType::StrList => "List(String)",
        }
    }

    /// The Arrow type stored in a Parquet file's schema (what pyarrow, DuckDB and Spark see):
    /// polars' oldest compatibility level, as `caregap_ingest::portable` writes it.
    pub fn arrow(self) -> ArrowDataType {
        self.dtype().to_arrow(CompatLevel::oldest())
    }

    /// [`ColumnType::arrow`]'s name, as Arrow spells it (pyarrow prints `float64` as `double`
    /// and `date32` as `date32[day]`).
    pub fn arrow_name(self) -> &'static str {
        match self {
            ColumnType::Str => "large_string",
            ColumnType::Date => "date32",
            ColumnType::Int32 => "int32",
            ColumnType::Int => "int64",
            ColumnType::Float => "float64",
            ColumnType::Bool => "bool",
            ColumnType::StrList => "large_list<large_string>",
        }
    }

    /// How a CSV output writes a value of this type.
    pub fn csv_form(self) -> &'static str {
        match self {
            ColumnType::Str => "text",
            ColumnType::Date => "date, `YYYY-MM-DD`",
            ColumnType::Int32 | ColumnType::Int => "integer",
            ColumnType::Float => "decimal number",
            ColumnType::Bool => "`true` / `false`",
            ColumnType::StrList => "texts joined by `;`",
        }
    }
}

/// One declared column of an output.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name in the file.
    pub name: &'static str,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it may be null (a column declared not null is checked to have no null).
    pub nullable: bool,
    /// One sentence an evaluator understands.
    pub description: &'static str,
}

/// A column that is never null.
const fn req(name: &'static str, ty: ColumnType, description: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable: false,
        description,
    }
}

/// A column that may be null.
const fn opt(name: &'static str, ty: ColumnType, description: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable: true,
        description,
    }
}

/// How an output is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Parquet (zstd, statistics, the portable Arrow schema of `caregap_ingest::portable`).
    Parquet,
    /// CSV with a header; list columns joined by `;`, dates ISO, nulls empty.
    Csv,
}

/// Where an output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// In a run's (or a merge's) output folder.
    Run,
    /// In a run's output folder and in a bucket's partial (`caregap run --bucket i`).
    RunAndPartial,
    /// Only in a bucket's partial: an internal file `caregap merge` reads, not for evaluators.
    Partial,
}

/// One declared output file.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// The output's name (the key of `output_rows` and `output_sha256` in run_manifest.json).
    pub name: &'static str,
    /// Its file name in the output folder.
    pub file: &'static str,
    /// How it is encoded.
    pub format: Format,
    /// Where it is written.
    pub written: Written,
    /// What one row is ("one row per …").
    pub grain: &'static str,
    /// The columns its rows are sorted by, in order (empty: see [`Output::order`]).
    pub sort: &'static [&'static str],
    /// The row order in words, when the sort columns do not say it all.
    pub order: &'static str,
    /// What the output is for.
    pub description: &'static str,
    /// Its columns, in file order.
    pub columns: &'static [Column],
}

use ColumnType::{Bool, Date, Float, Int, Int32, Str, StrList};

/// `conditions.parquet`.
pub static CONDITIONS: Output = Output {
    name: "conditions",
    file: "conditions.parquet",
    format: Format::Parquet,
    written: Written::RunAndPartial,
    grain: "person × chronic condition present in the look-back window",
    sort: &["person_id", "condition"],
    order: "",
    description: "The chronic conditions each person has (spec §3): a diagnosis from the condition's value set on an acute-inpatient line or on lines of at least two service dates in the look-back window (one date, or the observation rule, for smoking and overweight).",
    columns: &[
        req("person_id", Str, "The member's id, as in the input layer."),
        req("condition", Str, "The condition: serious_mental_illness, asthma, substance_use_disorder, diabetes, cardiovascular, overweight, developmental_disability, smoking, mental_illness or schizophrenia_bipolar."),
        req("first_date", Date, "The earliest date of evidence for the condition in the look-back window."),
        req("last_date", Date, "The latest date of evidence for the condition in the look-back window."),
        req("dates", Int, "The number of distinct dates of evidence."),
        req("inpatient", Bool, "Whether any evidence is on an acute-inpatient line."),
        req("basis", Str, "What the condition rests on: `claims`, `observation` or `claims+observation`."),
    ],
};

/// `eligibility.parquet`.
pub static ELIGIBILITY: Output = Output {
    name: "eligibility",
    file: "eligibility.parquet",
    format: Format::Parquet,
    written: Written::RunAndPartial,
    grain: "person with an accepted eligibility row",
    sort: &["person_id"],
    order: "",
    description: "Health Home eligibility on the as-of date (spec §3): the rules each person meets, the program track, enrollment in a Health Home, and the outreach list (eligible, not enrolled).",
    columns: &[
        req("person_id", Str, "The member's id, as in the input layer."),
        req("eligible", Bool, "Eligible for a Health Home on the as-of date: alive, covered, and at least one rule holds."),
        req("rules", StrList, "The eligibility rules that hold (`spmi`, `bh_plus_chronic`, `two_chronic`, `one_chronic_at_risk`), listed whether or not the person is eligible; empty when none holds."),
        opt("track", Str, "The program track: `cmhc`, `pchh` or `both`; null when not eligible."),
        req("conditions", StrList, "The qualifying chronic conditions the person has; empty when none."),
        req("hh_enrolled", Bool, "Enrolled in a Health Home on the as-of date."),
        opt("health_home_id", Str, "The Health Home the person is enrolled in on the as-of date (latest start wins, then the smallest id); null when not enrolled."),
        req("outreach", Bool, "On the outreach list: eligible and not enrolled in a Health Home."),
        req("birth_date", Date, "The birth date (the earliest when eligibility rows disagree)."),
        opt("death_date", Date, "The death date (the earliest when eligibility rows disagree); null when none is recorded."),
        req("covered_on_as_of", Bool, "Covered (payer_type among the coverage types) on the as-of date."),
        req("alive_on_as_of", Bool, "Alive on the as-of date (no death date on or before it)."),
    ],
};

/// `care_gaps.parquet`.
pub static CARE_GAPS: Output = Output {
    name: "care_gaps",
    file: "care_gaps.parquet",
    format: Format::Parquet,
    written: Written::RunAndPartial,
    grain: "person × measure × index event (person measures: one index, the period's last day)",
    sort: &["person_id", "measure", "index_date"],
    order: "",
    description: "Every care-gap row of every measure (spec §4): `open` is a care gap, `closed` no gap, `excluded` in the eligible population but excluded, with the reason and the evidence.",
    columns: &[
        req("person_id", Str, "The member's id, as in the input layer."),
        req("measure", Str, "The measure id (`fuh_7`, `fuh_30`, `tcm_7`, `fum_7`, `fum_30`, `fua_7`, `fua_30`, `cbp`, `hba1c_poor`, `ssd`, `pcr_30`)."),
        req("index_date", Date, "The date of the index event (discharge or ED visit); for person measures, the measurement period's last day."),
        req("due_date", Date, "The last day the gap can be closed: index date + 7 or + 30 for episode measures, the period's last day for person measures."),
        req("status", Str, "`open` (a care gap), `closed` (no gap) or `excluded`."),
        opt("exclusion_reason", Str, "Why the row is excluded (`hospice`, `death during stay`, …, spec §8); null unless status is `excluded`."),
        opt("closing_date", Date, "The date of the evidence that closed the gap (first follow-up visit, controlling reading, first test); null when nothing closed it."),
        opt("health_home_id", Str, "The Health Home whose enrollment covers the index date; null when the person was not enrolled then."),
        req("index_evidence", StrList, "The ids of the claims or observations behind the index event."),
        opt("closing_evidence", StrList, "The ids of the claims or observations that closed the gap; null when nothing closed it."),
    ],
};

/// `measure_summary.parquet`.
pub static MEASURE_SUMMARY: Output = Output {
    name: "measure_summary",
    file: "measure_summary.parquet",
    format: Format::Parquet,
    written: Written::Run,
    grain: "measure × group (overall; each Health Home; Health Home enrollees; eligible, not enrolled)",
    sort: &["measure", "group_type", "group_id"],
    order: "",
    description: "Each measure's counts and rate per group (spec §4, §6). Every measure computed has an `overall` row; other groups appear when they have rows, even only excluded ones.",
    columns: &[
        req("measure", Str, "The measure id."),
        req("group_type", Str, "The kind of group: `overall`, `health_home`, `hh_enrolled` (rows attributed to a Health Home) or `eligible_not_enrolled` (rows of people on the outreach list)."),
        req("group_id", Str, "The group: the Health Home's id for `health_home`, else the same as group_type."),
        req("denominator", Int, "Rows open or closed (exclusions left out)."),
        req("numerator", Int, "Closed rows; open rows for the inverse measures `hba1c_poor` and `pcr_30` (the HEDIS convention)."),
        req("excluded", Int, "Excluded rows."),
        opt("rate", Float, "numerator / denominator; null when the denominator is 0."),
        opt("rate_ci_low", Float, "The lower bound of the rate's 95 % Wilson interval; null when the denominator is 0."),
        opt("rate_ci_high", Float, "The upper bound of the rate's 95 % Wilson interval; null when the denominator is 0."),
        req("lower_is_better", Bool, "Whether a lower rate is better (the inverse measures)."),
        req("open", Int, "Open rows."),
        req("closed", Int, "Closed rows."),
    ],
};

/// The columns of the worklist, in Parquet and in CSV.
const WORKLIST_COLUMNS: &[Column] = &[
    req(
        "health_home_id",
        Str,
        "The Health Home the gap is attributed to.",
    ),
    req("due_date", Date, "The last day the gap can be closed."),
    req("person_id", Str, "The member's id, as in the input layer."),
    req("measure", Str, "The measure id."),
    req(
        "index_date",
        Date,
        "The date of the index event (for person measures, the period's last day).",
    ),
    req(
        "days_left",
        Int,
        "due_date − the as-of date, in days; negative when overdue.",
    ),
    req(
        "index_evidence",
        StrList,
        "The ids of the claims or observations behind the index event.",
    ),
];

const WORKLIST_GRAIN: &str = "open care gap of a Health Home enrollee (a `care_gaps` row with status `open` and a health_home_id)";

/// `worklist.parquet`.
pub static WORKLIST: Output = Output {
    name: "worklist",
    file: "worklist.parquet",
    format: Format::Parquet,
    written: Written::Run,
    grain: WORKLIST_GRAIN,
    sort: &["health_home_id", "due_date", "person_id", "measure", "index_date"],
    order: "",
    description: "What each Health Home's care managers work on (spec §9): its members' open gaps, soonest due first.",
    columns: WORKLIST_COLUMNS,
};

/// `worklist.csv`: the worklist for a spreadsheet.
pub static WORKLIST_CSV: Output = Output {
    name: "worklist.csv",
    file: "worklist.csv",
    format: Format::Csv,
    written: Written::Run,
    grain: WORKLIST_GRAIN,
    sort: &[
        "health_home_id",
        "due_date",
        "person_id",
        "measure",
        "index_date",
    ],
    order: "",
    description:
        "The worklist as CSV, for a spreadsheet: the same rows and columns as `worklist.parquet`.",
    columns: WORKLIST_COLUMNS,
};

/// `utilization_monthly.parquet`.
pub static UTILIZATION_MONTHLY: Output = Output {
    name: "utilization_monthly",
    file: "utilization_monthly.parquet",
    format: Format::Parquet,
    written: Written::Run,
    grain: "group × calendar month of the measurement period (every month, even with no member-month)",
    sort: &["group", "month"],
    order: "",
    description: "Monthly utilization and cost for three groups of member-months (spec §5): ED visits, acute admissions, inpatient days and paid amounts, with rates per 1,000 member-months and PMPM.",
    columns: &[
        req("group", Str, "The group of member-months: `all`, `eligible_not_enrolled` (months of outreach-list persons never in a Health Home) or `hh_enrolled` (months in which the person is in a Health Home on any day)."),
        req("month", Date, "The month, as its first day."),
        req("member_months", Int, "Persons covered on any day of the month."),
        req("ed_visits", Int, "ED visits not resulting in admission, in member-months."),
        req("admissions", Int, "Acute inpatient admissions (merged stays) by admission month, in member-months."),
        req("inpatient_days", Int, "Days of those stays (discharge − admission, at least 1)."),
        req("paid_medical", Float, "Paid amount of medical claim lines, by claim start month, in US dollars."),
        req("paid_pharmacy", Float, "Paid amount of pharmacy fills, by dispensing month, in US dollars."),
        req("paid_total", Float, "paid_medical + paid_pharmacy, in US dollars."),
        opt("ed_per_1000", Float, "ED visits per 1,000 member-months; null without member-months."),
        opt("ip_per_1000", Float, "Admissions per 1,000 member-months; null without member-months."),
        opt("pmpm", Float, "paid_total per member-month, in US dollars; null without member-months."),
        opt("alos", Float, "Average length of stay, inpatient_days / admissions; null without admissions."),
    ],
};

/// `cost_effectiveness.parquet`.
pub static COST_EFFECTIVENESS: Output = Output {
    name: "cost_effectiveness",
    file: "cost_effectiveness.parquet",
    format: Format::Parquet,
    written: Written::Run,
    grain: "metric (`ed_per_1000`, `ip_per_1000`, `pmpm`, `implied_savings`): four rows",
    sort: &[],
    order: "The fixed order `ed_per_1000`, `ip_per_1000`, `pmpm`, `implied_savings`.",
    description: "The difference-in-differences of Health Home enrollment (spec §5): enrollees 12 months before and after their start against eligible people never enrolled, each given a pseudo-start, with 95 % seeded bootstrap intervals. The group sizes repeat on every row.",
    columns: &[
        req("metric", Str, "`ed_per_1000`, `ip_per_1000`, `pmpm`, or `implied_savings` (−DiD(PMPM) × enrollee member-months after, in US dollars)."),
        opt("hh_before", Float, "The enrollees' pooled rate in the 12 months before their start; null without member-months, and for implied_savings."),
        opt("hh_after", Float, "The enrollees' pooled rate from their start month on; null without member-months, and for implied_savings."),
        opt("comparison_before", Float, "The comparison group's pooled rate before its pseudo-start; null without member-months, and for implied_savings."),
        opt("comparison_after", Float, "The comparison group's pooled rate from its pseudo-start on; null without member-months, and for implied_savings."),
        opt("did", Float, "The difference-in-differences (after − before for enrollees minus the same for the comparison group), or the implied savings; null when not estimable."),
        opt("did_ci_low", Float, "The lower bound of its 95 % bootstrap percentile interval; null when not estimable."),
        opt("did_ci_high", Float, "The upper bound of its 95 % bootstrap percentile interval; null when not estimable."),
        req("hh_persons", Int, "Enrollees in the comparison (persons with an accepted Health Home enrollment row)."),
        req("comparison_persons", Int, "Comparison persons (on the outreach list, never in a Health Home)."),
        req("hh_member_months_after", Int, "The enrollees' member-months after their start."),
        req("bootstrap_draws", Int, "The bootstrap draws behind the intervals."),
    ],
};

/// `comparison_assignment.parquet`.
pub static COMPARISON_ASSIGNMENT: Output = Output {
    name: "comparison_assignment",
    file: "comparison_assignment.parquet",
    format: Format::Parquet,
    written: Written::Run,
    grain: "comparison person (on the outreach list, never in a Health Home)",
    sort: &["person_id"],
    order: "",
    description: "Each comparison person's pseudo-start date, for audit (spec §5): element k mod n of the enrollees' sorted start dates, k from the SHA-256 of the person_id.",
    columns: &[
        req("person_id", Str, "The member's id, as in the input layer."),
        req("pseudo_anchor_date", Date, "The pseudo-start date the before/after periods are counted from."),
    ],
};

/// `rejects.parquet`.
pub static REJECTS: Output = Output {
    name: "rejects",
    file: "rejects.parquet",
    format: Format::Parquet,
    written: Written::RunAndPartial,
    grain: "input row × failed check (a row failing two checks has two rows)",
    sort: &["table", "file", "row", "column"],
    order: "",
    description: "Every input row not used, and why (spec §8); run_manifest.json counts them by table and reason.",
    columns: &[
        req("table", Str, "The input table (`eligibility`, `medical_claim`, …)."),
        req("file", Str, "The file the row is in, relative to the input folder."),
        req("row", Int, "The row's 1-based data-row number, counted across the table's part files in file-name order."),
        req("column", Str, "The column that failed the check."),
        req("reason", Str, "What is wrong, in words."),
        opt("value", Str, "The offending value as text; null when it was empty."),
    ],
};

/// `summary_counts.parquet` of a bucket's partial.
pub static SUMMARY_COUNTS: Output = Output {
    name: "summary_counts",
    file: "summary_counts.parquet",
    format: Format::Parquet,
    written: Written::Partial,
    grain: "measure × group, as in measure_summary",
    sort: &["measure", "group_type", "group_id"],
    order: "",
    description: "The bucket's measure counts, which `caregap merge` adds up into measure_summary.",
    columns: &[
        req("measure", Str, "The measure id."),
        req(
            "group_type",
            Str,
            "The kind of group, as in measure_summary.",
        ),
        req("group_id", Str, "The group, as in measure_summary."),
        req("open", Int, "Open rows."),
        req("closed", Int, "Closed rows."),
        req("excluded", Int, "Excluded rows."),
    ],
};

/// `core_set.parquet`: the Health Home Core Set (docs/core-set.md).
pub static CORE_SET: Output = Output {
    name: "core_set",
    file: "core_set.parquet",
    format: Format::Parquet,
    written: Written::Run,
    grain: "program × Core Set measure × rate × age band × stratum (every CMS band and every category of every stratification of each measure and rate a program has rows in, zero where nobody is in it)",
    sort: &["program", "measure", "rate", "age_band", "stratum_type", "stratum"],
    order: "",
    description: "The Health Home Core Set as a state reports it (docs/core-set.md): per Health Home program, the counts and rate of every Core Set measure caregap computes, by CMS's age bands (plus `total`) and by race and ethnicity, sex and geography. Health Home enrollees only (rows attributed to a Health Home). Proportion measures carry numerator and denominator, rate measures events and enrollee months. The `suppress_*` columns say what a public report must hide under CMS's rules; the counts themselves are exact (this file stays with the state).",
    columns: &[
        req("program", Str, "The Health Home program (State Plan Amendment): health_home_enrollment.program_id, else health_home_type (`cmhc`, `pchh`, `dd`), else `unspecified`."),
        req("measure", Str, "The CMS Core Set measure code, e.g. `FUH-HH`."),
        req("rate", Str, "The rate within the measure, e.g. `7-day` (docs/core-set.md lists them)."),
        req("age_band", Str, "CMS's age band for the measure (`18-64`, `65+`), `unknown` (rate measures: no birth date), or `total` (every age)."),
        req("stratum_type", Str, "`none`, `race_ethnicity`, `sex` or `geography`."),
        req("stratum", Str, "The category (`all` for `none`; docs/core-set.md §3 lists the categories)."),
        opt("numerator", Int, "Proportion measures: rows in the numerator (closed; open for the inverse PCR-HH). Null for rate measures."),
        opt("denominator", Int, "Proportion measures: rows open or closed. Null for rate measures."),
        opt("excluded", Int, "Proportion measures: rows excluded. Null for rate measures."),
        opt("history_short", Int, "Proportion measures: open rows whose look-back the input does not reach (COL-HH), so the rate is a lower bound; 0 for the others. Null for rate measures."),
        opt("events", Int, "Rate measures: the events counted (admissions, discharges, days). Null for proportion measures."),
        opt("enrollee_months", Int, "Rate measures: enrollee months. Null for proportion measures."),
        opt("value", Float, "The rate: numerator / denominator, or events × 1,000 / enrollee_months; null when its denominator is 0."),
        req("unit", Str, "`proportion`, `per 1,000 enrollee months`, or `days per discharge` (IU-HH's average length of stay rows: numerator = days, denominator = discharges), or for PCR-HH's other fields `count` (events = index stays), `per 1,000 enrollees` (outliers: numerator = outlier enrollees, denominator = enrollees 18–64), `expected count` (value = expected readmissions, denominator = index stays; only with `--pcr-risk-weights`) and `ratio` (O/E: numerator = observed readmissions, denominator = index stays)."),
        req("lower_is_better", Bool, "Whether a lower rate is better."),
        req("suppress_count", Bool, "A public report must hide this row's counts: a count from 1 to the threshold (default 10), directly or by difference (denominator − numerator), or complementary suppression within the program's table so that no hidden count can be derived from the others."),
        req("suppress_rate", Bool, "A public report must hide this row's rate: its counts are hidden, or its denominator (enrollee months for rate measures) is below 30 (CMS's public-reporting rule)."),
    ],
};

/// `core_set_qmr.csv`: the Core Set laid out as the state's reporting form asks.
pub static CORE_SET_QMR: Output = Output {
    name: "core_set_qmr.csv",
    file: "core_set_qmr.csv",
    format: Format::Csv,
    written: Written::Run,
    grain: "program × Core Set measure × rate × age band (stratum `none`)",
    sort: &[],
    order: "program, then measure code, then the measure's rates in caregap's registry order, then age bands in CMS's order with `total` last",
    description: "The Health Home Core Set as the state enters it in CMS's Quality Measure Reporting (QMR) application: one row per program, measure, rate and age band, with numerator, denominator and rate (a percentage for proportion measures, per 1,000 enrollee months for rate measures) and the QMR checks that failed, if any. Not suppressed: it is the state's own filing.",
    columns: &[
        req("program", Str, "The Health Home program."),
        req("measure", Str, "The CMS measure code."),
        req("measure_name", Str, "The measure's name as the Core Set lists it."),
        req("rate", Str, "The rate."),
        req("age_band", Str, "The age band (`total` last)."),
        opt("numerator", Int, "Numerator (events for rate measures)."),
        opt("denominator", Int, "Denominator (enrollee months for rate measures)."),
        opt("rate_value", Float, "The rate as QMR shows it: a percentage with one decimal for proportion measures, per 1,000 enrollee months with one decimal for rate measures, days per discharge with one decimal for IU-HH's ALOS; PCR-HH's counts, expected readmissions, O/E and outlier rate to four decimals; empty when the denominator is 0."),
        req("unit", Str, "`percent`, `per 1,000 enrollee months`, `days per discharge`, or PCR-HH's `count`, `per 1,000 enrollees`, `expected count`, `ratio`."),
        opt("excluded", Int, "Rows excluded (proportion measures)."),
        opt("history_short", Int, "Open rows only for lack of history (COL-HH)."),
        req("qmr_checks", Str, "The QMR validations this row fails (`numerator > denominator`, `30-day < 7-day`), `;`-separated; empty when none."),
    ],
};

/// `core_set_counts.parquet` of a bucket's partial.
pub static CORE_SET_COUNTS: Output = Output {
    name: "core_set_counts",
    file: "core_set_counts.parquet",
    format: Format::Parquet,
    written: Written::Partial,
    grain: "program × measure × rate × age band × stratum with a row in the bucket",
    sort: &[
        "program",
        "measure",
        "rate",
        "age_band",
        "stratum_type",
        "stratum",
    ],
    order: "",
    description: "The bucket's Core Set counts, which `caregap merge` adds up into core_set.",
    columns: &[
        req("program", Str, "As in core_set."),
        req("measure", Str, "As in core_set."),
        req("rate", Str, "As in core_set."),
        req("age_band", Str, "As in core_set."),
        req("stratum_type", Str, "As in core_set."),
        req("stratum", Str, "As in core_set."),
        req("numerator", Int, "Numerator rows."),
        req("denominator", Int, "Denominator rows."),
        req("excluded", Int, "Excluded rows."),
        req("history_short", Int, "Open rows short of history."),
        req("events", Int, "Rate measures' events."),
        req("months", Int, "Rate measures' enrollee months."),
    ],
};

/// `utilization_groups.parquet` of a bucket's partial.
pub static UTILIZATION_GROUPS: Output = Output {
    name: "utilization_groups",
    file: "utilization_groups.parquet",
    format: Format::Parquet,
    written: Written::Partial,
    grain: "month of the measurement period × trend group",
    sort: &["k", "group"],
    order: "",
    description: "The bucket's monthly utilization sums, which `caregap merge` adds up into utilization_monthly.",
    columns: &[
        req("k", Int32, "The month, counted from the period's first (0)."),
        req("group", Int32, "The trend group: 0 `all`, 1 `eligible_not_enrolled`, 2 `hh_enrolled`."),
        req("member_months", Int, "Member-months."),
        req("ed", Int, "ED visits not resulting in admission."),
        req("admissions", Int, "Acute admissions."),
        req("days", Int, "Inpatient days."),
        req("medical_cents", Int, "Paid medical, in cents."),
        req("pharmacy_cents", Int, "Paid pharmacy, in cents."),
    ],
};

/// The before/after sums of a person in `utilization_persons.parquet`.
macro_rules! before_after_columns {
    ($($side:literal),*) => {
        &[
            req("person_id", Str, "The member's id."),
            req("enrollee", Bool, "An enrollee (else a comparison person)."),
            $(
                req(concat!($side, "_member_months"), Int, concat!("Member-months ", $side, " the (pseudo-)start.")),
                req(concat!($side, "_ed"), Int, concat!("ED visits ", $side, " the (pseudo-)start.")),
                req(concat!($side, "_admissions"), Int, concat!("Acute admissions ", $side, " the (pseudo-)start.")),
                req(concat!($side, "_days"), Int, concat!("Inpatient days ", $side, " the (pseudo-)start.")),
                req(concat!($side, "_medical_cents"), Int, concat!("Paid medical in cents ", $side, " the (pseudo-)start.")),
                req(concat!($side, "_pharmacy_cents"), Int, concat!("Paid pharmacy in cents ", $side, " the (pseudo-)start.")),
            )*
        ]
    };
}

/// `utilization_persons.parquet` of a bucket's partial.
pub static UTILIZATION_PERSONS: Output = Output {
    name: "utilization_persons",
    file: "utilization_persons.parquet",
    format: Format::Parquet,
    written: Written::Partial,
    grain: "enrollee or comparison person of the bucket",
    sort: &["person_id"],
    order: "",
    description: "Each enrollee's and comparison person's before/after sums, from which `caregap merge` computes the difference-in-differences and its bootstrap.",
    columns: before_after_columns!("before", "after"),
};

/// `utilization_assignment.parquet` of a bucket's partial.
pub static UTILIZATION_ASSIGNMENT: Output = Output {
    name: "utilization_assignment",
    file: "utilization_assignment.parquet",
    format: Format::Parquet,
    written: Written::Partial,
    grain: "comparison person of the bucket",
    sort: &["person_id"],
    order: "",
    description: "The bucket's comparison assignment, which `caregap merge` concatenates into comparison_assignment.",
    columns: &[
        req("person_id", Str, "The member's id."),
        req("date", Int32, "The pseudo-start date, in days since 1970-01-01."),
    ],
};

/// Every declared output, run outputs first (in the order the data dictionary shows them).
pub static OUTPUTS: &[&Output] = &[
    &CARE_GAPS,
    &MEASURE_SUMMARY,
    &CORE_SET,
    &CORE_SET_QMR,
    &WORKLIST,
    &WORKLIST_CSV,
    &ELIGIBILITY,
    &CONDITIONS,
    &UTILIZATION_MONTHLY,
    &COST_EFFECTIVENESS,
    &COMPARISON_ASSIGNMENT,
    &REJECTS,
    &SUMMARY_COUNTS,
    &CORE_SET_COUNTS,
    &UTILIZATION_GROUPS,
    &UTILIZATION_PERSONS,
    &UTILIZATION_ASSIGNMENT,
];

/// The files of a run's output folder besides the declared outputs.
pub const RUN_OTHER_FILES: &[(&str, &str)] = &[
    ("report.html", "The evaluator's report: one self-contained HTML file (inline CSS and SVG charts, no network requests), aggregates only, small cells suppressed (spec §7). It is made from measure_summary, utilization_monthly, cost_effectiveness and eligibility, read through this contract."),
    ("run_manifest.json", "What the run read and did: input files (rows, SHA-256, column aliases), parameters, value-set version and overrides, coverage check, data-quality counts (rows read, rejected by reason, orphaned), stage timings, and each output's row count and SHA-256 (`output_rows`, `output_sha256`, keyed by the output names above)."),
];

/// The output called `name` (its [`Output::name`], e.g. `care_gaps` or `worklist.csv`).
pub fn output(name: &str) -> Result<&'static Output, ContractError> {
    OUTPUTS
        .iter()
        .copied()
        .find(|o| o.name == name)
        .ok_or_else(|| ContractError::Undeclared {
            output: name.to_string(),
        })
}

/// The outputs of a run's output folder, in dictionary order.
pub fn run_outputs() -> impl Iterator<Item = &'static Output> {
    OUTPUTS
        .iter()
        .copied()
        .filter(|o| o.written != Written::Partial)
}

/// The outputs of a bucket's partial folder, in dictionary order.
pub fn partial_outputs() -> impl Iterator<Item = &'static Output> {
    OUTPUTS
        .iter()
        .copied()
        .filter(|o| o.written != Written::Run)
}

/// A frame that does not match its output's declaration, or a read the declaration does not
/// allow: a programming error in caregap, reported loudly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// A frame is written or read as an output the contract does not declare.
    #[error(
        "output `{output}` is not declared in the output contract (crates/report/src/contract.rs)"
    )]
    Undeclared {
        /// The name given.
        output: String,
    },
    /// A declared column is not in the frame.
    #[error("output `{output}`: column `{column}` ({expected}) is missing{}", undeclared_hint(.undeclared))]
    MissingColumn {
        /// The output.
        output: &'static str,
        /// The missing column.
        column: &'static str,
        /// Its declared polars type.
        expected: &'static str,
        /// Columns of the frame the contract does not declare (a rename shows here).
        undeclared: Vec<String>,
    },
    /// The frame has a column the contract does not declare.
    #[error(
        "output `{output}`: column `{column}` ({found}) is not declared in the output contract"
    )]
    ExtraColumn {
        /// The output.
        output: &'static str,
        /// The extra column.
        column: String,
        /// Its polars type.
        found: String,
    },
    /// The frame's columns are in another order than declared.
    #[error("output `{output}`: column {position} is `{found}`, the contract declares `{expected}` there")]
    ColumnOrder {
        /// The output.
        output: &'static str,
        /// The 1-based position.
        position: usize,
        /// The declared column there.
        expected: &'static str,
        /// The frame's column there.
        found: String,
    },
    /// A column has another type than declared.
    #[error("output `{output}`: column `{column}` is {found}, the contract declares {expected}")]
    ColumnType {
        /// The output.
        output: &'static str,
        /// The column.
        column: &'static str,
        /// The declared polars type.
        expected: &'static str,
        /// The frame's polars type.
        found: String,
    },
    /// A column declared not null has nulls.
    #[error("output `{output}`: column `{column}` is declared not null but has {nulls} null(s) in {rows} rows")]
    Nulls {
        /// The output.
        output: &'static str,
        /// The column.
        column: &'static str,
        /// Nulls found.
        nulls: usize,
        /// Rows of the frame.
        rows: usize,
    },
    /// A Parquet file's stored Arrow schema (`ARROW:schema`) is not the declared one.
    #[error(
        "output `{output}`: the file's stored Arrow schema is not the declared one ({expected})"
    )]
    ArrowSchema {
        /// The output.
        output: &'static str,
        /// The declared columns and Arrow types.
        expected: String,
    },
    /// The report reads a column the output does not declare.
    #[error("the report reads column `{column}` of output `{output}`, which the output contract does not declare")]
    UndeclaredRead {
        /// The output.
        output: &'static str,
        /// The column asked for.
        column: String,
    },
    /// The report reads a column as another type than declared.
    #[error("the report reads column `{column}` of output `{output}` as {asked}, the contract declares {declared}")]
    ReadType {
        /// The output.
        output: &'static str,
        /// The column.
        column: &'static str,
        /// The polars type the reader wanted.
        asked: &'static str,
        /// The declared polars type.
        declared: &'static str,
    },
    /// A run wrote a set of outputs other than the declared one.
    #[error("a run's outputs do not match the output contract: {0}")]
    RunOutputs(String),
}

fn undeclared_hint(cols: &[String]) -> String {
    if cols.is_empty() {
        String::new()
    } else {
        format!(
            " (the frame has undeclared column(s) {})",
            cols.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

impl Output {
    /// The declared column `name`.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The polars schema a frame of this output has.
    pub fn schema(&self) -> Schema {
        self.columns
            .iter()
            .map(|c| Field::new(c.name.into(), c.ty.dtype()))
            .collect()
    }

    /// An empty frame of this output (for tests and for readers that want the shape).
    pub fn empty_frame(&self) -> DataFrame {
        DataFrame::empty_with_schema(&self.schema())
    }

    /// Check `df` against the declaration: the same column names in the same order, each of
    /// its declared type, and no null in a column declared not null. Never changes `df`.
    pub fn check(&'static self, df: &DataFrame) -> Result<(), ContractError> {
        let schema = df.schema();
        let undeclared: Vec<String> = schema
            .iter_names()
            .filter(|n| self.column(n).is_none())
            .map(|n| n.to_string())
            .collect();
        for c in self.columns {
            if schema.get(c.name).is_none() {
                return Err(ContractError::MissingColumn {
                    output: self.name,
                    column: c.name,
                    expected: c.ty.polars_name(),
                    undeclared,
                });
            }
        }
        if let Some(extra) = undeclared.first() {
            return Err(ContractError::ExtraColumn {
                output: self.name,
                column: extra.clone(),
                found: format!("{:?}", schema.get(extra).expect("in the schema")),
            });
        }
        for (i, (c, found)) in self.columns.iter().zip(schema.iter_names()).enumerate() {
            if c.name != found.as_str() {
                return Err(ContractError::ColumnOrder {
                    output: self.name,
                    position: i + 1,
                    expected: c.name,
                    found: found.to_string(),
                });
            }
        }
        for c in self.columns {
            let found = schema.get(c.name).expect("checked above");
            if *found != c.ty.dtype() {
                return Err(ContractError::ColumnType {
                    output: self.name,
                    column: c.name,
                    expected: c.ty.polars_name(),
                    found: format!("{found:?}"),
                });
            }
            if !c.nullable {
                let nulls = df.column(c.name).expect("checked above").null_count();
                if nulls > 0 {
                    return Err(ContractError::Nulls {
                        output: self.name,
                        column: c.name,
                        nulls,
                        rows: df.height(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Check a Parquet file of this output as a reader sees it: read back with polars, it
    /// passes [`Output::check`], and its stored Arrow schema has the declared Arrow types.
    pub fn check_parquet_file(&'static self, path: &Path) -> Result<(), ReportError> {
        let open = || {
            std::fs::File::open(path).map_err(|e| ReportError::Read {
                path: path.to_path_buf(),
                source: e,
            })
        };
        let df = ParquetReader::new(open()?).finish()?;
        self.check(&df)?;
        // The stored Arrow schema must be exactly the one the declared types give at polars'
        // oldest compatibility level (large_string, date32, large_list<large_string>, …).
        let meta = polars_parquet::read::read_metadata(&mut open()?)?;
        let stored = meta
            .key_value_metadata()
            .iter()
            .flatten()
            .find(|kv| kv.key == ARROW_SCHEMA_KEY)
            .and_then(|kv| kv.value.clone());
        let expected = match caregap_ingest::portable::portable_arrow_schema(&self.schema()) {
            KeyValueMetadata::Static(kvs) => kvs
                .into_iter()
                .find(|kv| kv.key == ARROW_SCHEMA_KEY)
                .and_then(|kv| kv.value),
            _ => None,
        };
        if stored.is_none() || stored != expected {
            return Err(ContractError::ArrowSchema {
                output: self.name,
                expected: self
                    .columns
                    .iter()
                    .map(|c| format!("{}: {}", c.name, c.ty.arrow_name()))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into());
        }
        Ok(())
    }
}

/// A run's frames by output name, checked as a whole: exactly the run outputs written from
/// frames (every declared run output but the CSV forms, which are written from their Parquet
/// twin's frame), each matching its declaration.
pub fn check_run_frames<'a>(
    frames: impl IntoIterator<Item = (&'a str, &'a DataFrame)>,
) -> Result<(), ContractError> {
    let mut seen = Vec::new();
    for (name, df) in frames {
        let out = output(name)?;
        if out.written == Written::Partial || out.format != Format::Parquet {
            return Err(ContractError::RunOutputs(format!(
                "`{name}` is not a Parquet output of a run"
            )));
        }
        out.check(df)?;
        seen.push(name);
    }
    let missing: Vec<&str> = run_outputs()
        .filter(|o| o.format == Format::Parquet && !seen.contains(&o.name))
        .map(|o| o.name)
        .collect();
    if !missing.is_empty() {
        return Err(ContractError::RunOutputs(format!(
            "declared output(s) {} not computed",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// A frame of a declared output, checked against its declaration, whose columns are read by
/// name and declared type: what the report reads its inputs through. Reading a column the
/// output does not declare, or as another type than declared, is a [`ContractError`].
#[derive(Debug, Clone, Copy)]
pub struct OutputFrame<'a> {
    output: &'static Output,
    df: &'a DataFrame,
}

impl<'a> OutputFrame<'a> {
    /// `df` as the output `output`, when it matches the declaration ([`Output::check`]).
    pub fn new(output: &'static Output, df: &'a DataFrame) -> Result<Self, ContractError> {
        output.check(df)?;
        Ok(OutputFrame { output, df })
    }

    /// The output's declaration.
    pub fn output(&self) -> &'static Output {
        self.output
    }

    /// The number of rows.
    pub fn height(&self) -> usize {
        self.df.height()
    }

    fn get(
        &self,
        name: &str,
        asked: ColumnType,
    ) -> Result<&'a polars::prelude::Column, ContractError> {
        let declared = self
            .output
            .column(name)
            .ok_or_else(|| ContractError::UndeclaredRead {
                output: self.output.name,
                column: name.to_string(),
            })?;
        if declared.ty != asked {
            return Err(ContractError::ReadType {
                output: self.output.name,
                column: declared.name,
                asked: asked.polars_name(),
                declared: declared.ty.polars_name(),
            });
        }
        Ok(self.df.column(name).expect("checked by OutputFrame::new"))
    }

    /// A `String` column; a null reads as "".
    pub fn strs(&self, name: &str) -> Result<Vec<String>, ContractError> {
        let c = self.get(name, Str)?;
        Ok(c.str()
            .expect("declared String")
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect())
    }

    /// An `Int64` column; a null reads as 0.
    pub fn ints(&self, name: &str) -> Result<Vec<i64>, ContractError> {
        let c = self.get(name, Int)?;
        Ok(c.i64()
            .expect("declared Int64")
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    }

    /// A `Float64` column.
    pub fn floats(&self, name: &str) -> Result<Vec<Option<f64>>, ContractError> {
        let c = self.get(name, Float)?;
        Ok(c.f64().expect("declared Float64").iter().collect())
    }

    /// A `Boolean` column; a null reads as false.
    pub fn bools(&self, name: &str) -> Result<Vec<bool>, ContractError> {
        let c = self.get(name, Bool)?;
        Ok(c.bool()
            .expect("declared Boolean")
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect())
    }

    /// A `Date` column as ISO text (`2025-01-31`); a null reads as "".
    pub fn dates_iso(&self, name: &str) -> Result<Vec<String>, ContractError> {
        let c = self.get(name, Date)?;
        let s = c.cast(&DataType::String).expect("a date casts to text");
        Ok(s.str()
            .expect("cast to String")
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect())
    }

    /// A `List(String)` column; a null list reads as empty, null items are skipped.
    pub fn str_lists(&self, name: &str) -> Result<Vec<Vec<String>>, ContractError> {
        let c = self.get(name, StrList)?;
        Ok(c.list()
            .expect("declared List(String)")
            .series_iter()
            .map(|s| {
                s.map(|s| {
                    s.str()
                        .map(|x| x.iter().flatten().map(str::to_string).collect())
                        .unwrap_or_default()
                })
                .unwrap_or_default()
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// The data dictionary.

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn sorted_by(o: &Output) -> String {
    if o.sort.is_empty() {
        o.order.to_string()
    } else {
        let keys = o
            .sort
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if o.order.is_empty() {
            keys
        } else {
            format!("{keys}; {}", o.order)
        }
    }
}

fn md_output(s: &mut String, o: &Output) {
    s.push_str(&format!("\n### `{}`\n\n{}\n\n", o.file, o.description));
    s.push_str(&format!("- One row per {}.\n", o.grain));
    s.push_str(&format!("- Sorted by {}.\n", sorted_by(o)));
    match o.format {
        Format::Parquet => {
            s.push_str(&if o.written == Written::Partial {
                format!("- Name `{}` (internal: read by `caregap merge`).\n\n", o.name)
            } else {
                format!(
                    "- Output name `{}` (the key of its row count and SHA-256 in run_manifest.json).\n\n",
                    o.name
                )
            });
            s.push_str("| column | polars type | Parquet (Arrow) type | nulls | description |\n");
            s.push_str("|---|---|---|---|---|\n");
            for c in o.columns {
                s.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    c.name,
                    c.ty.polars_name(),
                    c.ty.arrow_name(),
                    if c.nullable { "may be null" } else { "never" },
                    md_cell(c.description)
                ));
            }
        }
        Format::Csv => {
            s.push_str(&format!(
                "- Output name `{}`. Comma-separated with a header row, UTF-8; a null is an empty field.\n\n",
                o.name
            ));
            s.push_str("| column | written as | nulls | description |\n");
            s.push_str("|---|---|---|---|\n");
            for c in o.columns {
                s.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    c.name,
                    c.ty.csv_form(),
                    if c.nullable { "may be empty" } else { "never" },
                    md_cell(c.description)
                ));
            }
        }
    }
}

/// The data dictionary of every output, as Markdown: `docs/outputs.md`.
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# Outputs: the data dictionary\n\n");
    s.push_str("<!-- Generated from crates/report/src/contract.rs (`caregap outputs`); do not edit by hand. `BLESS=1 cargo test -p caregap-report contract` rewrites it, and that test fails when it is stale. -->\n\n");
    s.push_str("Every file `caregap run` (or `caregap merge`) writes into its output folder, with each column's type, whether it may be null, and what it means. These declarations are the output contract: the writer checks every frame against them before writing it (a column renamed, missing, added or retyped stops the run with an internal error naming the output and the column), and the report reads its inputs through them.\n\n");
    s.push_str("Types: the polars type is what polars (Rust or Python) reads; the Parquet (Arrow) type is the Arrow schema stored in the file, which pyarrow, pandas, R's arrow, DuckDB and Spark read (`large_string`, `large_list<large_string>`, `date32`; pyarrow prints `float64` as `double` and `date32` as `date32[day]`). Every Arrow field is marked nullable in the file; the nulls column says which columns can really hold a null. Dates are calendar dates without time zone; money is in US dollars.\n\n");
    s.push_str("Every output is sorted by its key columns and byte-identical when the run is repeated on the same input with the same settings, whatever the threads or person buckets.\n\n");
    s.push_str("## Files of a run\n\n");
    s.push_str("| file | one row per | sorted by |\n|---|---|---|\n");
    for o in run_outputs() {
        s.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            o.file,
            anchor(o.file),
            md_cell(o.grain),
            md_cell(&sorted_by(o))
        ));
    }
    for (f, _) in RUN_OTHER_FILES {
        s.push_str(&format!("| `{f}` | (not a table: see below) | |\n"));
    }
    s.push_str("\n## Tables\n");
    for o in run_outputs() {
        md_output(&mut s, o);
    }
    s.push_str("\n## Other files of a run\n\n");
    for (f, d) in RUN_OTHER_FILES {
        s.push_str(&format!("- `{f}`: {d}\n"));
    }
    s.push_str("\n## Internal files\n\n");
    s.push_str("These are not outputs for evaluators: their layout may change between caregap versions without notice. They are declared and checked like the outputs all the same.\n\n");
    s.push_str("- **A bucket's partial** (`caregap run --bucket i`, the Spark driver's tasks): a folder with `partial.json` (the bucket's facts), `conditions.parquet`, `eligibility.parquet`, `care_gaps.parquet` and `rejects.parquet` (the bucket's rows, with the columns above), and the files below, which `caregap merge` combines into a run's outputs.\n");
    s.push_str("- **A hash partition** (`caregap partition`, and the temporary one a bucketed run makes and removes): the input layer's tables split by person bucket, `<table>/bucket=<i>/part-*.parquet`, with `_partition.json`. Their columns are the input layer's (docs/input-layer.md).\n");
    for o in OUTPUTS.iter().filter(|o| o.written == Written::Partial) {
        md_output(&mut s, o);
    }
    s
}

/// GitHub's heading anchor of a `### \`file\`` heading.
fn anchor(file: &str) -> String {
    file.chars()
        .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// The declarations as JSON (`caregap outputs --format json`): one object per output.
pub fn json() -> serde_json::Value {
    let outputs: Vec<serde_json::Value> = OUTPUTS
        .iter()
        .map(|o| {
            serde_json::json!({
                "name": o.name,
                "file": o.file,
                "format": match o.format { Format::Parquet => "parquet", Format::Csv => "csv" },
                "internal": o.written == Written::Partial,
                "in_run": o.written != Written::Partial,
                "in_partial": o.written != Written::Run,
                "grain": o.grain,
                "sorted_by": o.sort,
                "order": o.order,
                "description": o.description,
                "columns": o.columns.iter().map(|c| serde_json::json!({
                    "name": c.name,
                    "polars_type": c.ty.polars_name(),
                    "arrow_type": c.ty.arrow_name(),
                    "nullable": c.nullable,
                    "description": c.description,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "outputs": outputs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worklist() -> DataFrame {
        let mut df = WORKLIST.empty_frame();
        let row = df!(
            "health_home_id" => ["hh1"],
            "due_date" => [1i32],
            "person_id" => ["p1"],
            "measure" => ["fuh_7"],
            "index_date" => [0i32],
            "days_left" => [3i64],
        )
        .unwrap()
        .lazy()
        .with_columns([
            col("due_date").cast(DataType::Date),
            col("index_date").cast(DataType::Date),
            lit("c1").implode(false).alias("index_evidence"),
        ])
        .collect()
        .unwrap();
        df.vstack_mut(&row).unwrap();
        df
    }

    fn refused(df: &DataFrame) -> String {
        WORKLIST.check(df).unwrap_err().to_string()
    }

    #[test]
    fn a_matching_frame_passes() {
        WORKLIST.check(&worklist()).unwrap();
        for o in OUTPUTS {
            o.check(&o.empty_frame()).unwrap();
        }
    }

    #[test]
    fn renamed_missing_extra_reordered_mistyped_and_null_columns_are_refused_by_name() {
        let mut df = worklist();
        df.rename("days_left", "days_remaining".into()).unwrap();
        let e = refused(&df);
        assert!(
            e.contains("`worklist`")
                && e.contains("`days_left`")
                && e.contains("missing")
                && e.contains("`days_remaining`"),
            "{e}"
        );

        let df = worklist().drop("measure").unwrap();
        let e = refused(&df);
        assert!(e.contains("`measure` (String) is missing"), "{e}");

        let mut df = worklist();
        df.with_column(polars::prelude::Column::new("extra".into(), [1i64]))
            .unwrap();
        let e = refused(&df);
        assert!(e.contains("`extra`") && e.contains("not declared"), "{e}");

        let df = worklist()
            .select([
                "due_date",
                "health_home_id",
                "person_id",
                "measure",
                "index_date",
                "days_left",
                "index_evidence",
            ])
            .unwrap();
        let e = refused(&df);
        assert!(
            e.contains("column 1 is `due_date`") && e.contains("`health_home_id`"),
            "{e}"
        );

        let df = worklist()
            .lazy()
            .with_column(col("days_left").cast(DataType::Int32))
            .collect()
            .unwrap();
        let e = refused(&df);
        assert!(
            e.contains("`days_left` is Int32, the contract declares Int64"),
            "{e}"
        );

        let df = worklist()
            .lazy()
            .with_column(lit(NULL).cast(DataType::String).alias("person_id"))
            .collect()
            .unwrap();
        let e = refused(&df);
        assert!(
            e.contains("`person_id` is declared not null but has 1 null(s)"),
            "{e}"
        );
    }

    #[test]
    fn output_names_are_unique_and_looked_up() {
        let mut names: Vec<&str> = OUTPUTS.iter().map(|o| o.name).collect();
        let mut files: Vec<&str> = OUTPUTS.iter().map(|o| o.file).collect();
        names.sort();
        files.sort();
        names.dedup();
        files.dedup();
        assert_eq!(names.len(), OUTPUTS.len());
        assert_eq!(files.len(), OUTPUTS.len());
        assert_eq!(output("care_gaps").unwrap().file, "care_gaps.parquet");
        let e = output("care_gap").unwrap_err().to_string();
        assert!(e.contains("`care_gap` is not declared"), "{e}");
        for o in OUTPUTS {
            for k in o.sort {
                assert!(
                    o.column(k).is_some(),
                    "{}: sort key {k} is not a column",
                    o.name
                );
            }
            assert!(
                !o.sort.is_empty() || !o.order.is_empty(),
                "{}: no order",
                o.name
            );
        }
    }

    #[test]
    fn arrow_names_are_the_arrow_types() {
        use ArrowDataType as A;
        let named = |t: ColumnType| match t.arrow() {
            A::LargeUtf8 => "large_string".to_string(),
            A::Date32 => "date32".into(),
            A::Int32 => "int32".into(),
            A::Int64 => "int64".into(),
            A::Float64 => "float64".into(),
            A::Boolean => "bool".into(),
            A::LargeList(f) if f.dtype() == &A::LargeUtf8 => "large_list<large_string>".into(),
            other => format!("{other:?}"),
        };
        for t in [Str, Date, Int32, Int, Float, Bool, StrList] {
            assert_eq!(named(t), t.arrow_name());
        }
    }

    #[test]
    fn the_report_reads_only_declared_columns_as_declared() {
        let df = worklist();
        let f = OutputFrame::new(&WORKLIST, &df).unwrap();
        assert_eq!(f.strs("person_id").unwrap(), vec!["p1"]);
        assert_eq!(f.dates_iso("due_date").unwrap(), vec!["1970-01-02"]);
        assert_eq!(f.str_lists("index_evidence").unwrap(), vec![vec!["c1"]]);
        let e = f.strs("person").unwrap_err().to_string();
        assert!(
            e.contains("column `person` of output `worklist`") && e.contains("does not declare"),
            "{e}"
        );
        let e = f.floats("days_left").unwrap_err().to_string();
        assert!(e.contains("as Float64, the contract declares Int64"), "{e}");
        let bad = df.drop("days_left").unwrap();
        let e = OutputFrame::new(&WORKLIST, &bad).unwrap_err().to_string();
        assert!(e.contains("`days_left` (Int64) is missing"), "{e}");
    }

    /// docs/outputs.md is the data dictionary generated from the declarations;
    /// `BLESS=1 cargo test -p caregap-report contract` rewrites it.
    #[test]
    fn docs_outputs_md_is_up_to_date() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/outputs.md");
        let now = markdown();
        if std::env::var("BLESS").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &now).unwrap();
            return;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == now,
            "docs/outputs.md is stale: the output contract (crates/report/src/contract.rs) changed; run `BLESS=1 cargo test -p caregap-report contract` and commit docs/outputs.md"
        );
    }
}
