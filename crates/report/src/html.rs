//! The evaluator's report: one self-contained HTML file (no network requests, inline CSS, inline
//! SVG charts drawn with plotters, a few lines of inline JavaScript to sort tables), printable,
//! deterministic (no timestamps but the run's parameters), aggregates only, and every number
//! passed through [`crate::suppress`].
//!
//! It reads its four frames (measure_summary, utilization_monthly, cost_effectiveness,
//! eligibility) only through [`crate::contract::OutputFrame`]: a frame that does not match its
//! output's declaration, or a column the declaration does not have, is an error, never an empty
//! table.

use std::collections::BTreeMap;

use maud::{html, Markup, PreEscaped, DOCTYPE};
use plotters::prelude::*;
use polars::prelude::*;

use crate::contract::{self, ContractError, OutputFrame};
use crate::error::ReportError;
use crate::suppress::{rate_shown, unstable, CountTable, Shown, SuppressionRule};

/// One input file, as the methods section lists it.
#[derive(Debug, Clone)]
pub struct InputFileInfo {
    /// The table.
    pub table: String,
    /// The file, relative to the input folder.
    pub file: String,
    /// Rows read.
    pub rows: usize,
    /// Its SHA-256.
    pub sha256: String,
}

/// Everything the report shows. Built by the caller from the run's outputs and manifest; the
/// report reads no claims.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// The measurement period's first day (ISO).
    pub period_start: String,
    /// Its last day (ISO).
    pub period_end: String,
    /// The eligibility as-of date (ISO).
    pub as_of: String,
    /// The condition look-back start (ISO).
    pub lookback_start: String,
    /// The payer types that counted as coverage.
    pub coverage_types: Vec<String>,
    /// The caregap version.
    pub caregap_version: String,
    /// The specification version.
    pub spec_version: String,
    /// The shipped value-set version.
    pub value_set_version: String,
    /// The value-set override files.
    pub value_set_files: Vec<String>,
    /// The sets they replaced.
    pub value_sets_replaced: Vec<String>,
    /// Bootstrap draws.
    pub bootstrap_draws: usize,
    /// The bootstrap seed.
    pub bootstrap_seed: u64,
    /// The small-cell suppression rule.
    pub rule: SuppressionRule,
    /// The input files.
    pub inputs: Vec<InputFileInfo>,
    /// Rows read per table.
    pub rows_read: BTreeMap<String, usize>,
    /// Rows rejected per table.
    pub rows_rejected: BTreeMap<String, usize>,
    /// Accepted rows whose person has no accepted eligibility row, per table.
    pub rows_orphaned: BTreeMap<String, usize>,
    /// Rejected rows per table and reason.
    pub rejects_by_reason: BTreeMap<String, BTreeMap<String, u64>>,
    /// Optional tables absent from the input.
    pub tables_absent: Vec<String>,
    /// `measure_summary`.
    pub measure_summary: &'a DataFrame,
    /// `utilization_monthly`.
    pub utilization_monthly: &'a DataFrame,
    /// `cost_effectiveness`.
    pub cost_effectiveness: &'a DataFrame,
    /// `eligibility`.
    pub eligibility: &'a DataFrame,
    /// `core_set` (with its suppression flags).
    pub core_set: &'a DataFrame,
    /// Core Set measures the input cannot answer, each `CODE: why`.
    pub core_set_not_computed: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Frame access.

/// The frames the report reads, each checked against its output's declaration.
struct Frames<'a> {
    measure_summary: OutputFrame<'a>,
    utilization_monthly: OutputFrame<'a>,
    cost_effectiveness: OutputFrame<'a>,
    eligibility: OutputFrame<'a>,
    core_set: OutputFrame<'a>,
}

impl<'a> Frames<'a> {
    fn new(inp: &ReportInput<'a>) -> Result<Self, ContractError> {
        Ok(Frames {
            measure_summary: OutputFrame::new(&contract::MEASURE_SUMMARY, inp.measure_summary)?,
            utilization_monthly: OutputFrame::new(
                &contract::UTILIZATION_MONTHLY,
                inp.utilization_monthly,
            )?,
            cost_effectiveness: OutputFrame::new(
                &contract::COST_EFFECTIVENESS,
                inp.cost_effectiveness,
            )?,
            eligibility: OutputFrame::new(&contract::ELIGIBILITY, inp.eligibility)?,
            core_set: OutputFrame::new(&contract::CORE_SET, inp.core_set)?,
        })
    }
}

/// A count column (Int64, never negative in a valid output).
fn counts(f: &OutputFrame, c: &str) -> Result<Vec<u64>, ContractError> {
    Ok(f.ints(c)?.into_iter().map(|v| v.max(0) as u64).collect())
}

// ---------------------------------------------------------------------------------------------
// Formatting.

fn fmt_int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn fmt_shown(rule: &SuppressionRule, s: Shown) -> String {
    match s {
        Shown::Value(v) => fmt_int(v),
        Shown::Suppressed => format!("<{}", rule.threshold + 1),
    }
}

fn fmt_money(v: f64) -> String {
    let neg = v < 0.0;
    let cents = (v.abs() * 100.0).round() as u64;
    format!(
        "{}${}.{:02}",
        if neg { "\u{2212}" } else { "" },
        fmt_int(cents / 100),
        cents % 100
    )
}

fn fmt_signed(v: f64, digits: usize) -> String {
    if v < 0.0 {
        format!("\u{2212}{:.*}", digits, -v)
    } else {
        format!("{:.*}", digits, v)
    }
}

fn pct(v: f64) -> String {
    format!("{:.1} %", 100.0 * v)
}

fn month_label(d: &str) -> String {
    const M: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let y = &d[..4.min(d.len())];
    let m: usize = d.get(5..7).and_then(|x| x.parse().ok()).unwrap_or(1);
    format!("{} {y}", M[(m.clamp(1, 12)) - 1])
}

const SUPPRESSED_TITLE: &str = "suppressed: small cell (spec \u{00a7}7)";

fn cell(rule: &SuppressionRule, s: Shown) -> Markup {
    match s {
        Shown::Value(_) => html! { td.num { (fmt_shown(rule, s)) } },
        Shown::Suppressed => html! { td.num.sup title=(SUPPRESSED_TITLE) { (fmt_shown(rule, s)) } },
    }
}

// ---------------------------------------------------------------------------------------------
// Charts (plotters, SVG backend).

/// One line of a chart: label, colour, and its points (None = suppressed or no data: a gap).
struct Series<'a> {
    label: &'a str,
    color: RGBColor,
    points: Vec<Option<f64>>,
}

const BLUE: RGBColor = RGBColor(31, 95, 168);
const ORANGE: RGBColor = RGBColor(204, 102, 0);
const GREY: RGBColor = RGBColor(110, 110, 110);

fn line_chart(title: &str, y_label: &str, x_labels: &[String], series: &[Series]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let ymax = series
            .iter()
            .flat_map(|s| s.points.iter().flatten())
            .fold(0.0f64, |a, b| a.max(*b));
        let ymax = if ymax <= 0.0 { 1.0 } else { ymax * 1.15 };
        let n = x_labels.len().max(1);
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..ymax);
        let Ok(mut chart) = chart else {
            return svg_fallback(title);
        };
        let labels = x_labels.to_vec();
        let _ = chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round() as i64;
                if (x - i as f64).abs() < 1e-6 && i >= 0 && (i as usize) < labels.len() {
                    month_label(&labels[i as usize])
                } else {
                    String::new()
                }
            })
            .y_desc(y_label)
            .x_desc("Month")
            .light_line_style(RGBColor(235, 235, 235))
            .draw();
        for s in series {
            let color = s.color;
            // Contiguous runs of shown points; a suppressed point breaks the line.
            let mut run: Vec<(f64, f64)> = Vec::new();
            let mut runs = Vec::new();
            for (i, p) in s.points.iter().enumerate() {
                match p {
                    Some(v) => run.push((i as f64, *v)),
                    None => {
                        if !run.is_empty() {
                            runs.push(std::mem::take(&mut run));
                        }
                    }
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
            let mut first = true;
            for r in runs {
                let line = chart.draw_series(LineSeries::new(r.clone(), color.stroke_width(2)));
                if let Ok(a) = line {
                    if first {
                        a.label(s.label).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                        });
                        first = false;
                    }
                }
                let _ = chart.draw_series(
                    r.into_iter()
                        .map(|(x, y)| Circle::new((x, y), 3, color.filled())),
                );
            }
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .position(SeriesLabelPosition::UpperRight)
            .draw();
        let _ = root.present();
    }
    svg
}

fn svg_fallback(title: &str) -> String {
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"40\"><text x=\"10\" y=\"25\">{title}: no data</text></svg>")
}

fn figure(id: &str, title: &str, svg: String, alt: Markup) -> Markup {
    html! {
        figure id=(id) {
            div.chart role="img" aria-label=(title) { (PreEscaped(svg)) }
            figcaption { (title) }
            details.alt open {
                summary { "The numbers behind this chart" }
                (alt)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sections.

struct GroupCounts {
    eligible: usize,
    excluded: usize,
    denominator: usize,
    numerator: usize,
}

/// One measure × group row: its cells, raw numerator and denominator, rate and interval.
type GroupRow = (GroupCounts, u64, u64, Option<f64>, Option<f64>, Option<f64>);

/// (measure, group_type, group_id) → its row, with the suppressed count table.
struct CareGapTable {
    t: CountTable,
    rows: BTreeMap<(String, String, String), GroupRow>,
}

fn care_gap_table(ms: &OutputFrame, rule: &SuppressionRule) -> Result<CareGapTable, ContractError> {
    let (m, gt, gid) = (
        ms.strs("measure")?,
        ms.strs("group_type")?,
        ms.strs("group_id")?,
    );
    let (den, num, exc) = (
        counts(ms, "denominator")?,
        counts(ms, "numerator")?,
        counts(ms, "excluded")?,
    );
    let (rate, lo, hi) = (
        ms.floats("rate")?,
        ms.floats("rate_ci_low")?,
        ms.floats("rate_ci_high")?,
    );
    let mut t = CountTable::new();
    let mut rows = BTreeMap::new();
    for i in 0..m.len() {
        let eligible = t.cell(den[i] + exc[i]);
        let excluded = t.cell(exc[i]);
        let denominator = t.cell(den[i]);
        let numerator = t.cell(num[i]);
        t.relation(eligible, vec![excluded, denominator]);
        rows.insert(
            (m[i].clone(), gt[i].clone(), gid[i].clone()),
            (
                GroupCounts {
                    eligible,
                    excluded,
                    denominator,
                    numerator,
                },
                num[i],
                den[i],
                rate[i],
                lo[i],
                hi[i],
            ),
        );
    }
    // The Health Homes' counts add up to the hh_enrolled group's.
    let measures: Vec<String> = rows
        .keys()
        .map(|k| k.0.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for measure in measures {
        let homes: Vec<&GroupCounts> = rows
            .iter()
            .filter(|(k, _)| k.0 == measure && k.1 == "health_home")
            .map(|(_, v)| &v.0)
            .collect();
        if let Some(total) =
            rows.get(&(measure.clone(), "hh_enrolled".into(), "hh_enrolled".into()))
        {
            let tc = &total.0;
            for (tcell, part) in [
                (
                    tc.eligible,
                    homes.iter().map(|h| h.eligible).collect::<Vec<_>>(),
                ),
                (tc.excluded, homes.iter().map(|h| h.excluded).collect()),
                (
                    tc.denominator,
                    homes.iter().map(|h| h.denominator).collect(),
                ),
                (tc.numerator, homes.iter().map(|h| h.numerator).collect()),
            ] {
                t.relation(tcell, part);
            }
        }
    }
    t.suppress(rule);
    Ok(CareGapTable { t, rows })
}

fn rate_cells(rule: &SuppressionRule, c: &CareGapTable, key: &(String, String, String)) -> Markup {
    let Some((g, num, den, rate, lo, hi)) = c.rows.get(key) else {
        return html! { td.num { "\u{2013}" } td.num { "\u{2013}" } };
    };
    let hidden = c.t.is_hidden(g.numerator) || c.t.is_hidden(g.denominator);
    match rate {
        Some(r) if rate_shown(rule, *num, *den, hidden) => {
            let flag = if unstable(rule, *num) { "\u{2020}" } else { "" };
            html! {
                td.num { (pct(*r)) (flag) }
                td.num { (lo.map(pct).unwrap_or_default()) " \u{2013} " (hi.map(pct).unwrap_or_default()) }
            }
        }
        Some(_) => {
            html! { td.num.sup title=(SUPPRESSED_TITLE) { "suppressed" } td.num.sup { "\u{2013}" } }
        }
        None => html! { td.num { "no data" } td.num { "\u{2013}" } },
    }
}

fn care_gaps_section(inp: &ReportInput, f: &Frames) -> Result<Markup, ContractError> {
    let rule = &inp.rule;
    let c = care_gap_table(&f.measure_summary, rule)?;
    let groups = [
        ("overall", "overall", "All rows"),
        ("hh_enrolled", "hh_enrolled", "Health Home enrollees"),
        (
            "eligible_not_enrolled",
            "eligible_not_enrolled",
            "Eligible, not enrolled",
        ),
    ];
    let homes: Vec<(String, String)> = c
        .rows
        .keys()
        .filter(|k| k.1 == "health_home")
        .map(|k| (k.0.clone(), k.2.clone()))
        .collect();
    Ok(html! {
        section id="care-gaps" {
            h2 { "3. Care gaps" }
            p { "For each measure: the eligible population, exclusions, denominator (open + closed) and numerator (closed; open for the inverse measures HbA1c poor control and readmissions), with the rate and its 95 % Wilson interval. Health Home enrollees are rows attributed to a Health Home on the index date; \u{201c}eligible, not enrolled\u{201d} are rows of people on the outreach list." }
            @for (measure, name) in caregap_transform::measures::all().filter(|m| m.kind != caregap_transform::measures::Kind::Rate).map(|m| (m.id, m.name)) {
                h3 id={ "measure-" (measure) } { (name) " " span.code { "(" (measure) ")" } }
                table.data {
                    thead { tr { th scope="col" { "Group" } th scope="col" { "Eligible" } th scope="col" { "Excluded" } th scope="col" { "Denominator" } th scope="col" { "Numerator" } th scope="col" { "Rate" } th scope="col" { "95 % interval" } } }
                    tbody {
                        @for (gt, gid, label) in groups {
                            @let key = (measure.to_string(), gt.to_string(), gid.to_string());
                            @if let Some((g, ..)) = c.rows.get(&key) {
                                tr {
                                    th scope="row" { (label) }
                                    (cell(rule, c.t.get(g.eligible)))
                                    (cell(rule, c.t.get(g.excluded)))
                                    (cell(rule, c.t.get(g.denominator)))
                                    (cell(rule, c.t.get(g.numerator)))
                                    (rate_cells(rule, &c, &key))
                                }
                            }
                        }
                    }
                }
            }
            h3 id="by-health-home" { "By Health Home (click a column to sort)" }
            @if homes.is_empty() {
                p { "No care-gap rows are attributed to a Health Home." }
            } @else {
                table.data.sortable {
                    thead { tr { th scope="col" { "Measure" } th scope="col" { "Health Home" } th scope="col" { "Denominator" } th scope="col" { "Numerator" } th scope="col" { "Rate" } th scope="col" { "95 % interval" } th scope="col" { "Program rate" } } }
                    tbody {
                        @for (measure, home) in &homes {
                            @let key = (measure.clone(), "health_home".to_string(), home.clone());
                            @let program = (measure.clone(), "overall".to_string(), "overall".to_string());
                            @if let Some((g, ..)) = c.rows.get(&key) {
                                tr {
                                    td.code { (measure) }
                                    th scope="row" { (home) }
                                    (cell(rule, c.t.get(g.denominator)))
                                    (cell(rule, c.t.get(g.numerator)))
                                    (rate_cells(rule, &c, &key))
                                    @match c.rows.get(&program) {
                                        Some((pg, pn, pd, Some(r), ..)) if rate_shown(rule, *pn, *pd, c.t.is_hidden(pg.numerator) || c.t.is_hidden(pg.denominator)) => td.num { (pct(*r)) },
                                        _ => td.num { "\u{2013}" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// One row of `core_set` as the report reads it.
struct CoreRow {
    program: String,
    measure: String,
    rate: String,
    band: String,
    stratum_type: String,
    num: i64,
    den: i64,
    value: Option<f64>,
    per_months: bool,
    ratio: bool,
    hide_count: bool,
    hide_rate: bool,
    history_short: i64,
}

fn core_rows(f: &OutputFrame) -> Result<Vec<CoreRow>, ContractError> {
    let (p, m, r, b, t) = (
        f.strs("program")?,
        f.strs("measure")?,
        f.strs("rate")?,
        f.strs("age_band")?,
        f.strs("stratum_type")?,
    );
    let (num, den, ev, mo, hs) = (
        f.ints("numerator")?,
        f.ints("denominator")?,
        f.ints("events")?,
        f.ints("enrollee_months")?,
        f.ints("history_short")?,
    );
    let (value, unit) = (f.floats("value")?, f.strs("unit")?);
    let (hc, hr) = (f.bools("suppress_count")?, f.bools("suppress_rate")?);
    Ok((0..f.height())
        .map(|i| {
            let per_months = unit[i] == caregap_transform::core_set::PER_1000_MONTHS;
            CoreRow {
                program: p[i].clone(),
                measure: m[i].clone(),
                rate: r[i].clone(),
                band: b[i].clone(),
                stratum_type: t[i].clone(),
                num: if per_months { ev[i] } else { num[i] },
                den: if per_months { mo[i] } else { den[i] },
                value: value[i],
                per_months,
                ratio: unit[i] == caregap_transform::core_set::DAYS_PER_DISCHARGE,
                hide_count: hc[i],
                hide_rate: hr[i],
                history_short: hs[i],
            }
        })
        .collect())
}

fn core_count(rule: &SuppressionRule, hide: bool, v: i64) -> Markup {
    html! {
        @if hide { td.num.sup title=(SUPPRESSED_TITLE) { "<" (rule.threshold + 1) } } @else { td.num { (fmt_int(v.max(0) as u64)) } }
    }
}

fn core_value(r: &CoreRow) -> Markup {
    html! {
        @match (r.hide_rate, r.value) {
            (true, _) | (_, None) => td.num { "\u{2014}" },
            (false, Some(v)) if r.per_months || r.ratio => td.num { (format!("{v:.1}")) },
            (false, Some(v)) => td.num { (pct(v)) },
        }
    }
}

/// A program's `none` rows in the QMR layout's order.
fn ordered<'a>(rows: &'a [CoreRow], program: &str) -> Vec<&'a CoreRow> {
    let mut v: Vec<&CoreRow> = rows
        .iter()
        .filter(|r| r.program == program && r.stratum_type == "none")
        .collect();
    v.sort_by(|a, b| {
        crate::core_set::order_key(&a.measure, &a.rate, &a.band)
            .cmp(&crate::core_set::order_key(&b.measure, &b.rate, &b.band))
    });
    v
}

fn core_set_section(inp: &ReportInput, f: &Frames) -> Result<Markup, ContractError> {
    let rule = &inp.rule;
    let rows = core_rows(&f.core_set)?;
    let programs: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.program.as_str()).collect();
    let computed: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.measure.as_str()).collect();
    let not_computed: Vec<&str> = caregap_transform::core_set::CORE_SET_2026
        .iter()
        .map(|(c, _, _)| *c)
        .filter(|c| !computed.contains(c))
        .collect();
    let names: BTreeMap<&str, &str> = caregap_transform::core_set::CORE_SET_2026
        .iter()
        .map(|(c, n, _)| (*c, *n))
        .collect();
    Ok(html! {
        section id="core-set" {
            h2 { "2. Health Home Core Set" }
            p { "The 2026 Health Home Core Set as each program reports it to CMS: Health Home enrollees only (rows attributed to a Health Home on their index date), per program, by CMS\u{2019}s age bands. Counts from 1 to " (rule.threshold) " are hidden, with complementary cells, and rates on a denominator under " (crate::core_set::MIN_RATE_DENOMINATOR) " are not shown (CMS\u{2019}s public-reporting rule). The exact counts, and the strata by race and ethnicity, sex and geography, are in core_set.parquet; the state\u{2019}s filing is core_set_qmr.csv (docs/core-set.md)." }
            @if !not_computed.is_empty() {
                p { "Not computed by this run: " (not_computed.join(", ")) "." }
                @for why in &inp.core_set_not_computed {
                    p { (why) }
                }
            }
            @if programs.is_empty() {
                p { "No care-gap row or rate count is attributed to a Health Home, so no program has a Core Set." }
            }
            @for program in &programs {
                h3 id={ "core-set-" (program) } { "Program " span.code { (program) } }
                table.data {
                    thead { tr { th scope="col" { "Measure" } th scope="col" { "Rate" } th scope="col" { "Age band" } th scope="col" { "Numerator (events)" } th scope="col" { "Denominator (enrollee months)" } th scope="col" { "Rate" } } }
                    tbody {
                        @for r in ordered(&rows, program) {
                            tr {
                                td { span.code { (r.measure) } " " (names.get(r.measure.as_str()).copied().unwrap_or("")) }
                                td { (r.rate) }
                                td { (r.band) }
                                (core_count(rule, r.hide_count, r.num))
                                (core_count(rule, r.hide_count && !r.per_months, r.den))
                                (core_value(r))
                            }
                        }
                    }
                }
                @let short: i64 = rows.iter().filter(|r| r.program == *program && r.stratum_type == "none" && r.band == "total").map(|r| r.history_short).sum();
                @if short > 0 {
                    p { "Some open rows are open only because the input does not reach back far enough for the measure\u{2019}s look-back (COL-HH): the rate is a lower bound. run_manifest.json says which look-backs are short." }
                }
            }
        }
    })
}

struct MonthRow {
    month: String,
    mm: u64,
    ed: u64,
    ip: u64,
    paid: Option<f64>,
}

fn monthly(u: &OutputFrame, group: &str) -> Result<Vec<MonthRow>, ContractError> {
    let (g, months) = (u.strs("group")?, u.dates_iso("month")?);
    let (mm, ed, ip, paid) = (
        counts(u, "member_months")?,
        counts(u, "ed_visits")?,
        counts(u, "admissions")?,
        u.floats("paid_total")?,
    );
    Ok((0..g.len())
        .filter(|i| g[*i] == group)
        .map(|i| MonthRow {
            month: months[i].clone(),
            mm: mm[i],
            ed: ed[i],
            ip: ip[i],
            paid: paid[i],
        })
        .collect())
}

/// A per-1,000 rate or PMPM, when neither its events nor its member-months are small cells.
fn shown_rate(rule: &SuppressionRule, events: Option<u64>, mm: u64, value: f64) -> Option<f64> {
    if mm == 0 || rule.hides(mm) || events.is_some_and(|e| rule.hides(e)) {
        None
    } else {
        Some(value)
    }
}

fn utilization_section(inp: &ReportInput, f: &Frames) -> Result<Markup, ContractError> {
    let rule = &inp.rule;
    let groups = [
        ("hh_enrolled", "Health Home enrollees", BLUE),
        ("eligible_not_enrolled", "Eligible, not enrolled", ORANGE),
        ("all", "All members", GREY),
    ];
    let data: Vec<(&str, &str, RGBColor, Vec<MonthRow>)> = groups
        .iter()
        .map(|(g, l, c)| Ok((*g, *l, *c, monthly(&f.utilization_monthly, g)?)))
        .collect::<Result<_, ContractError>>()?;
    let months: Vec<String> = data
        .first()
        .map(|d| d.3.iter().map(|r| r.month.clone()).collect())
        .unwrap_or_default();
    let metrics = caregap_transform::metrics::DID.map(|m| (m.chart, m.axis, m.title));
    Ok(html! {
        section id="utilization" {
            h2 { "4. Utilization trends" }
            p { "Monthly rates over the measurement period for three groups of member-months. A gap in a line is a suppressed month (fewer than " (rule.threshold + 1) " events or member-months)." }
            @for (key, y, title) in metrics {
                @let series: Vec<Series> = data.iter().map(|(_, label, color, rows)| Series {
                    label,
                    color: *color,
                    points: rows.iter().map(|r| match key {
                        "ed" => shown_rate(rule, Some(r.ed), r.mm, 1000.0 * r.ed as f64 / r.mm.max(1) as f64),
                        "ip" => shown_rate(rule, Some(r.ip), r.mm, 1000.0 * r.ip as f64 / r.mm.max(1) as f64),
                        _ => r.paid.and_then(|p| shown_rate(rule, None, r.mm, p / r.mm.max(1) as f64)),
                    }).collect(),
                }).collect();
                @let svg = line_chart(title, y, &months, &series);
                (figure(&format!("chart-{key}"), title, svg, html! {
                    table.data {
                        thead { tr { th scope="col" { "Month" } @for (_, label, _, _) in &data { th scope="col" { (label) } } } }
                        tbody {
                            @for (i, m) in months.iter().enumerate() {
                                tr {
                                    th scope="row" { (month_label(m)) }
                                    @for s in &series {
                                        td.num { @match s.points.get(i).copied().flatten() {
                                            Some(v) => { @if key == "pmpm" { (fmt_money(v)) } @else { (format!("{v:.1}")) } },
                                            None => span.sup title=(SUPPRESSED_TITLE) { "suppressed" },
                                        } }
                                    }
                                }
                            }
                        }
                    }
                }))
            }
            h3 { "Member-months and events by month" }
            table.data {
                thead { tr { th scope="col" { "Month" } @for (_, label, _, _) in &data { th scope="col" { (label) ": member-months" } th scope="col" { "ED visits" } th scope="col" { "Admissions" } } } }
                tbody {
                    @for (i, m) in months.iter().enumerate() {
                        tr {
                            th scope="row" { (month_label(m)) }
                            @for (_, _, _, rows) in &data {
                                @let r = &rows[i];
                                @for v in [r.mm, r.ed, r.ip] {
                                    (cell(rule, if rule.hides(v) { Shown::Suppressed } else { Shown::Value(v) }))
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

fn did_chart(title: &str, y: &str, hb: f64, ha: f64, cb: f64, ca: f64) -> String {
    let labels = ["before".to_string(), "after".to_string()];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (360, 260)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let ymax = [hb, ha, cb, ca].into_iter().fold(0.0f64, f64::max) * 1.2;
        let ymax = if ymax <= 0.0 { 1.0 } else { ymax };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.3f64..1.3f64, 0f64..ymax)
        {
            let _ = chart
                .configure_mesh()
                .x_labels(2)
                .x_label_formatter(&|x| {
                    let i = x.round() as usize;
                    if (x - i as f64).abs() < 1e-6 && i < 2 {
                        labels[i].clone()
                    } else {
                        String::new()
                    }
                })
                .y_desc(y)
                .light_line_style(RGBColor(235, 235, 235))
                .draw();
            for (label, color, a, b) in [
                ("Health Home enrollees", BLUE, hb, ha),
                ("Comparison group", ORANGE, cb, ca),
            ] {
                if let Ok(s) = chart.draw_series(LineSeries::new(
                    vec![(0.0, a), (1.0, b)],
                    color.stroke_width(2),
                )) {
                    s.label(label).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                }
                let _ = chart.draw_series(
                    [(0.0, a), (1.0, b)].map(|(x, y)| Circle::new((x, y), 4, color.filled())),
                );
            }
            let _ = chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.9))
                .position(SeriesLabelPosition::LowerRight)
                .draw();
        }
        let _ = root.present();
    }
    svg
}

fn cost_section(inp: &ReportInput, f: &Frames) -> Result<Markup, ContractError> {
    let rule = &inp.rule;
    let ce = &f.cost_effectiveness;
    let metric = ce.strs("metric")?;
    let (hb, ha, cb, ca) = (
        ce.floats("hh_before")?,
        ce.floats("hh_after")?,
        ce.floats("comparison_before")?,
        ce.floats("comparison_after")?,
    );
    let (did, lo, hi) = (
        ce.floats("did")?,
        ce.floats("did_ci_low")?,
        ce.floats("did_ci_high")?,
    );
    let hh_n = counts(ce, "hh_persons")?.first().copied().unwrap_or(0);
    let cmp_n = counts(ce, "comparison_persons")?
        .first()
        .copied()
        .unwrap_or(0);
    // Group sizes of 1 … threshold would make person-level values derivable: show nothing.
    let small = rule.hides(hh_n) || rule.hides(cmp_n);
    let names = caregap_transform::metrics::DID.map(|m| (m.id, m.name, m.unit));
    let fmt = |m: &str, v: Option<f64>| -> String {
        match v {
            None => "\u{2013}".into(),
            Some(v)
                if m == caregap_transform::metrics::IMPLIED_SAVINGS
                    || caregap_transform::metrics::find(m).is_some_and(|x| x.money) =>
            {
                fmt_money(v)
            }
            Some(v) => fmt_signed(v, 1),
        }
    };
    Ok(html! {
        section id="cost-effectiveness" {
            h2 { "5. Cost-effectiveness" }
            p { "Enrollees are compared with themselves in the 12 months before and the 12 months from their Health Home start, against eligible people never enrolled, each given a pseudo-start date (spec \u{00a7}5). The difference-in-differences (DiD) is the enrollees\u{2019} change minus the comparison group\u{2019}s; a negative DiD means the Health Home lowered the rate. Intervals are 95 % bootstrap percentile intervals (" (inp.bootstrap_draws) " draws over persons, seed " (inp.bootstrap_seed) ")." }
            p { "Enrollees: " strong { (fmt_shown(rule, if rule.hides(hh_n) { Shown::Suppressed } else { Shown::Value(hh_n) })) } "; comparison persons: " strong { (fmt_shown(rule, if rule.hides(cmp_n) { Shown::Suppressed } else { Shown::Value(cmp_n) })) } "." }
            @if small || did.iter().all(Option::is_none) {
                p { "No difference-in-differences is shown: " @if small { "a group is a small cell." } @else { "there is no enrollee or no comparison person with member-months in both periods." } }
            } @else {
                table.data {
                    thead { tr { th scope="col" { "Metric" } th scope="col" { "Enrollees before" } th scope="col" { "Enrollees after" } th scope="col" { "Comparison before" } th scope="col" { "Comparison after" } th scope="col" { "DiD" } th scope="col" { "95 % interval" } } }
                    tbody {
                        @for i in 0..metric.len() {
                            @let m = metric[i].as_str();
                            tr {
                                th scope="row" { @if m == "implied_savings" { "Implied savings (total)" } @else { (names.iter().find(|n| n.0 == m).map(|n| n.1).unwrap_or(m)) } }
                                td.num { (fmt(m, hb[i])) } td.num { (fmt(m, ha[i])) } td.num { (fmt(m, cb[i])) } td.num { (fmt(m, ca[i])) }
                                td.num { (fmt(m, did[i])) }
                                td.num { (fmt(m, lo[i])) " \u{2013} " (fmt(m, hi[i])) }
                            }
                        }
                    }
                }
                div.charts {
                    @for (i, (m, title, unit)) in names.iter().enumerate() {
                        @if let (Some(a), Some(b), Some(c), Some(d)) = (hb.get(i).copied().flatten(), ha.get(i).copied().flatten(), cb.get(i).copied().flatten(), ca.get(i).copied().flatten()) {
                            (figure(&format!("did-{m}"), &format!("{title}: before and after"), did_chart(title, unit, a, b, c, d), html! {
                                p { "Enrollees " (fmt(m, Some(a))) " \u{2192} " (fmt(m, Some(b))) "; comparison " (fmt(m, Some(c))) " \u{2192} " (fmt(m, Some(d))) "; DiD " (fmt(m, did[i])) "." }
                            }))
                        }
                    }
                }
            }
        }
    })
}

fn eligibility_section(inp: &ReportInput, f: &Frames) -> Result<Markup, ContractError> {
    let rule = &inp.rule;
    let e = &f.eligibility;
    let eligible = e.bools("eligible")?;
    let outreach = e.bools("outreach")?;
    let enrolled = e.bools("hh_enrolled")?;
    let tracks = e.strs("track")?;
    let (rules, conds) = (e.str_lists("rules")?, e.str_lists("conditions")?);
    let n_elig = eligible.iter().filter(|x| **x).count() as u64;
    let mut t = CountTable::new();
    let persons = t.cell(e.height() as u64);
    let elig = t.cell(n_elig);
    let out = t.cell(outreach.iter().filter(|x| **x).count() as u64);
    let enr = t.cell(enrolled.iter().filter(|x| **x).count() as u64);
    let track_cells: Vec<(&str, usize)> = ["cmhc", "pchh", "both"]
        .iter()
        .map(|tr| {
            (
                *tr,
                t.cell(
                    tracks
                        .iter()
                        .zip(&eligible)
                        .filter(|(x, e)| **e && x.as_str() == *tr)
                        .count() as u64,
                ),
            )
        })
        .collect();
    t.relation(elig, track_cells.iter().map(|x| x.1).collect());
    let rule_names = [
        "spmi",
        "bh_plus_chronic",
        "two_chronic",
        "one_chronic_at_risk",
    ];
    let rule_cells: Vec<(&str, usize)> = rule_names
        .iter()
        .map(|r| {
            (
                *r,
                t.cell(
                    rules
                        .iter()
                        .zip(&eligible)
                        .filter(|(x, e)| **e && x.iter().any(|y| y == r))
                        .count() as u64,
                ),
            )
        })
        .collect();
    let mut cond_names: Vec<String> = conds
        .iter()
        .flatten()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    cond_names.sort();
    let cond_cells: Vec<(String, usize)> = cond_names
        .iter()
        .map(|c| {
            (
                c.clone(),
                t.cell(
                    conds
                        .iter()
                        .zip(&eligible)
                        .filter(|(x, e)| **e && x.contains(c))
                        .count() as u64,
                ),
            )
        })
        .collect();
    t.suppress(rule);
    let track_label = |s: &str| match s {
        "cmhc" => "Community mental health center (CMHC) track",
        "pchh" => "Primary care (PCHH) track",
        _ => "Both tracks",
    };
    Ok(html! {
        section id="eligibility" {
            h2 { "6. Eligibility" }
            table.data {
                thead { tr { th scope="col" { "Population" } th scope="col" { "People" } } }
                tbody {
                    tr { th scope="row" { "Members with an eligibility record" } (cell(rule, t.get(persons))) }
                    tr { th scope="row" { "Eligible for a Health Home on " (inp.as_of) } (cell(rule, t.get(elig))) }
                    tr { th scope="row" { "Enrolled in a Health Home on " (inp.as_of) } (cell(rule, t.get(enr))) }
                    tr { th scope="row" { "Outreach list (eligible, not enrolled)" } (cell(rule, t.get(out))) }
                }
            }
            h3 { "Eligible people by track" }
            table.data {
                thead { tr { th scope="col" { "Track" } th scope="col" { "People" } } }
                tbody { @for (tr, c) in &track_cells { tr { th scope="row" { (track_label(tr)) } (cell(rule, t.get(*c))) } } }
            }
            h3 { "Eligible people by rule (a person may meet several)" }
            table.data {
                thead { tr { th scope="col" { "Rule" } th scope="col" { "People" } } }
                tbody { @for (r, c) in &rule_cells { tr { th scope="row" { span.code { (r) } } (cell(rule, t.get(*c))) } } }
            }
            h3 { "Eligible people by qualifying condition (a person may have several)" }
            table.data {
                thead { tr { th scope="col" { "Condition" } th scope="col" { "People" } } }
                tbody { @for (c, h) in &cond_cells { tr { th scope="row" { (c.replace('_', " ")) } (cell(rule, t.get(*h))) } } }
            }
        }
    })
}

fn data_quality_section(inp: &ReportInput) -> Markup {
    let rule = &inp.rule;
    let mut t = CountTable::new();
    let mut rows = Vec::new();
    for (table, read) in &inp.rows_read {
        let r = t.cell(*read as u64);
        let rejected = inp.rows_rejected.get(table).copied().unwrap_or(0) as u64;
        let rj = t.cell(rejected);
        let orphaned = inp.rows_orphaned.get(table).map(|&o| t.cell(o as u64));
        let reasons: Vec<(String, usize)> = inp
            .rejects_by_reason
            .get(table)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), t.cell(*v))).collect())
            .unwrap_or_default();
        let sum: u64 = inp
            .rejects_by_reason
            .get(table)
            .map(|m| m.values().sum())
            .unwrap_or(0);
        if sum == rejected && !reasons.is_empty() {
            t.relation(rj, reasons.iter().map(|x| x.1).collect());
        }
        rows.push((table.clone(), r, rj, orphaned, reasons));
    }
    t.suppress(rule);
    html! {
        section id="data-quality" {
            h2 { "7. Data quality" }
            table.data {
                thead { tr { th scope="col" { "Input table" } th scope="col" { "Rows read" } th scope="col" { "Rows rejected" } th scope="col" { "Rows of persons without eligibility" } } }
                tbody {
                    @for (table, r, rj, o, _) in &rows {
                        tr {
                            th scope="row" { span.code { (table) } @if inp.tables_absent.contains(table) { " (absent)" } }
                            (cell(rule, t.get(*r)))
                            (cell(rule, t.get(*rj)))
                            @match o { Some(o) => (cell(rule, t.get(*o))), None => td { "–" } }
                        }
                    }
                }
            }
            h3 { "Rejected rows by reason" }
            @if rows.iter().all(|r| r.4.is_empty()) {
                p { "No row was rejected." }
            } @else {
                table.data {
                    thead { tr { th scope="col" { "Table" } th scope="col" { "Reason" } th scope="col" { "Rows" } } }
                    tbody {
                        @for (table, _, _, _, reasons) in &rows {
                            @for (reason, c) in reasons {
                                tr { td.code { (table) } th scope="row" { (reason) } (cell(rule, t.get(*c))) }
                            }
                        }
                    }
                }
            }
            @if !inp.tables_absent.is_empty() {
                p { "Tables absent from the input (measures that need them report no data): " (inp.tables_absent.join(", ")) "." }
            }
        }
    }
}

fn methods_section(inp: &ReportInput) -> Markup {
    html! {
        section id="methods" {
            h2 { "8. Methods" }
            dl {
                dt { "Measurement period" } dd { (inp.period_start) " to " (inp.period_end) "; eligibility as of " (inp.as_of) "; condition look-back from " (inp.lookback_start) }
                dt { "Coverage" } dd { "payer types counted as Medicaid coverage: " (inp.coverage_types.join(", ")) }
                dt { "Specification" } dd { "caregap measure specification v" (inp.spec_version) "; input layer: Tuva Project input layer with caregap\u{2019}s health_home_enrollment" }
                dt { "Value sets" } dd {
                    (inp.value_set_version)
                    @if inp.value_set_files.is_empty() { " (shipped, no overrides)" } @else { "; overridden by " (inp.value_set_files.join(", ")) " (replaced: " (inp.value_sets_replaced.join(", ")) ")" }
                }
                dt { "Suppression" } dd { (inp.rule.describe()) }
                dt { "Difference-in-differences" } dd { (inp.bootstrap_draws) " bootstrap draws over persons, seed " (inp.bootstrap_seed) }
                dt { "Software" } dd { "caregap " (inp.caregap_version) }
            }
            h3 { "Input files" }
            table.data {
                thead { tr { th scope="col" { "Table" } th scope="col" { "File" } th scope="col" { "SHA-256" } } }
                tbody { @for f in &inp.inputs { tr { td.code { (f.table) } th scope="row" { (f.file) } td.hash { (f.sha256) } } } }
            }
        }
    }
}

fn headline_section(inp: &ReportInput, f: &Frames) -> Result<Markup, ContractError> {
    let rule = &inp.rule;
    let all = monthly(&f.utilization_monthly, "all")?;
    let mm: u64 = all.iter().map(|r| r.mm).sum();
    let ed: u64 = all.iter().map(|r| r.ed).sum();
    let ip: u64 = all.iter().map(|r| r.ip).sum();
    let paid: f64 = all.iter().filter_map(|r| r.paid).sum();
    let persons = f.eligibility.height() as u64;
    let enrolled = f
        .eligibility
        .bools("hh_enrolled")?
        .iter()
        .filter(|x| **x)
        .count() as u64;
    let outreach = f
        .eligibility
        .bools("outreach")?
        .iter()
        .filter(|x| **x)
        .count() as u64;
    let ce = &f.cost_effectiveness;
    let metric = ce.strs("metric")?;
    let (did, lo, hi) = (
        ce.floats("did")?,
        ce.floats("did_ci_low")?,
        ce.floats("did_ci_high")?,
    );
    let hh_n = counts(ce, "hh_persons")?.first().copied().unwrap_or(0);
    let cmp_n = counts(ce, "comparison_persons")?
        .first()
        .copied()
        .unwrap_or(0);
    let savings = metric
        .iter()
        .position(|m| m == "implied_savings")
        .and_then(|i| did[i].map(|d| (d, lo[i], hi[i])));
    let count = |n: u64| {
        fmt_shown(
            rule,
            if rule.hides(n) {
                Shown::Suppressed
            } else {
                Shown::Value(n)
            },
        )
    };
    let rate =
        |e: u64, per: f64| match shown_rate(rule, Some(e), mm, per * e as f64 / mm.max(1) as f64) {
            Some(v) => format!("{v:.1}"),
            None => "suppressed".into(),
        };
    Ok(html! {
        section id="headline" {
            h2 { "1. Headline" }
            div.cards {
                div.card { span.label { "Measurement period" } span.value { (inp.period_start) " \u{2013} " (inp.period_end) } }
                div.card { span.label { "Medicaid members" } span.value { (count(persons)) } }
                div.card { span.label { "Health Home enrollees (as of " (inp.as_of) ")" } span.value { (count(enrolled)) } }
                div.card { span.label { "Eligible, not enrolled (outreach list)" } span.value { (count(outreach)) } }
                div.card { span.label { "ED visits per 1,000 member-months" } span.value { (rate(ed, 1000.0)) } }
                div.card { span.label { "Admissions per 1,000 member-months" } span.value { (rate(ip, 1000.0)) } }
                div.card { span.label { "PMPM" } span.value { @match shown_rate(rule, None, mm, paid / mm.max(1) as f64) { Some(v) => (fmt_money(v)), None => "suppressed" } } }
                div.card { span.label { "Implied savings" } span.value {
                    @match savings {
                        Some((d, Some(l), Some(h))) if !rule.hides(hh_n) && !rule.hides(cmp_n) => { (fmt_money(d)) small { " (95 % interval " (fmt_money(l)) " to " (fmt_money(h)) ")" } },
                        _ => "not estimable",
                    }
                } }
            }
        }
    })
}

const CSS: &str = r#"
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1b1b;max-width:1100px;margin:0 auto;padding:1.5rem;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #1f5fa8;padding-bottom:.2rem;margin-top:2.2rem}
h3{margin-top:1.4rem}.subtitle{color:#555;margin-top:0}
nav ol{columns:2;padding-left:1.2rem}
table.data{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.92rem}
table.data th,table.data td{border:1px solid #d0d0d0;padding:.25rem .55rem;text-align:left;vertical-align:top}
table.data thead th{background:#eef3fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.sup{color:#8a5a00;background:#fff6e0}
.code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}
td.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.75em;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:.7rem}
.card{border:1px solid #d0d0d0;border-radius:6px;padding:.6rem .8rem;background:#fafcff}
.card .label{display:block;color:#555;font-size:.85rem}.card .value{display:block;font-size:1.3rem;font-weight:600}
figure{margin:1rem 0;break-inside:avoid}figcaption{font-weight:600;margin:.3rem 0}
.chart svg{max-width:100%;height:auto}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts figure{flex:1 1 340px}
details.alt summary{cursor:pointer;color:#1f5fa8}
table.sortable th{cursor:pointer}
footer{margin-top:2.5rem;color:#666;font-size:.85rem}
@media print{body{max-width:none;padding:0;font-size:10pt}nav,details.alt summary{display:none}section{break-before:auto}h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}a{color:inherit;text-decoration:none}}
"#;

const SORT_JS: &str = r#"
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('thead th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),asc=th.getAttribute('aria-sort')!=='ascending';
      var key=function(r){var s=r.cells[i].textContent.trim(),n=parseFloat(s.replace(/[^0-9.\-]/g,''));return isNaN(n)?s:n;};
      rows.sort(function(x,y){var a=key(x),c=key(y);var r=(typeof a==='number'&&typeof c==='number')?a-c:String(a).localeCompare(String(c));return asc?r:-r;});
      rows.forEach(function(r){b.appendChild(r);});
      t.querySelectorAll('thead th').forEach(function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',asc?'ascending':'descending');
    });
  });
});
"#;

/// Render the whole report. A frame that does not match its output's declaration in
/// [`crate::contract`] is an error naming the output and the column.
pub fn render(inp: &ReportInput) -> Result<String, ReportError> {
    let f = Frames::new(inp)?;
    let sections = [
        headline_section(inp, &f)?,
        core_set_section(inp, &f)?,
        care_gaps_section(inp, &f)?,
        utilization_section(inp, &f)?,
        cost_section(inp, &f)?,
        eligibility_section(inp, &f)?,
    ];
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Health Home care gaps and cost-effectiveness, " (inp.period_start) " to " (inp.period_end) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { "Health Home care gaps and cost-effectiveness" }
                    p.subtitle { "Measurement period " (inp.period_start) " to " (inp.period_end) ". Aggregates only; small cells suppressed (spec \u{00a7}7). Produced by caregap " (inp.caregap_version) "." }
                }
                nav aria-label="Contents" {
                    ol {
                        li { a href="#headline" { "Headline" } }
                        li { a href="#core-set" { "Health Home Core Set" } }
                        li { a href="#care-gaps" { "Care gaps" } }
                        li { a href="#utilization" { "Utilization trends" } }
                        li { a href="#cost-effectiveness" { "Cost-effectiveness" } }
                        li { a href="#eligibility" { "Eligibility" } }
                        li { a href="#data-quality" { "Data quality" } }
                        li { a href="#methods" { "Methods" } }
                    }
                }
                main {
                    @for s in sections { (s) }
                    (data_quality_section(inp))
                    (methods_section(inp))
                }
                footer { "\u{2020} unstable rate: " (inp.rule.threshold + 1) "\u{2013}" (inp.rule.unstable_max) " events. \u{201c}<" (inp.rule.threshold + 1) "\u{201d}: suppressed small cell." }
                script { (PreEscaped(SORT_JS)) }
            }
        }
    };
    Ok(page.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        ms: &'a DataFrame,
        um: &'a DataFrame,
        ce: &'a DataFrame,
        el: &'a DataFrame,
    ) -> ReportInput<'a> {
        ReportInput {
            period_start: "2025-01-01".into(),
            period_end: "2025-12-31".into(),
            as_of: "2025-12-31".into(),
            lookback_start: "2024-01-01".into(),
            coverage_types: vec!["medicaid".into()],
            caregap_version: "test".into(),
            spec_version: "1.3".into(),
            value_set_version: "test".into(),
            value_set_files: vec![],
            value_sets_replaced: vec![],
            bootstrap_draws: 10,
            bootstrap_seed: 1,
            rule: SuppressionRule::default(),
            inputs: vec![],
            rows_read: BTreeMap::new(),
            rows_rejected: BTreeMap::new(),
            rows_orphaned: BTreeMap::new(),
            rejects_by_reason: BTreeMap::new(),
            tables_absent: vec![],
            measure_summary: ms,
            utilization_monthly: um,
            cost_effectiveness: ce,
            eligibility: el,
            core_set: Box::leak(Box::new(contract::CORE_SET.empty_frame())),
            core_set_not_computed: vec![],
        }
    }

    #[test]
    fn the_report_refuses_a_frame_missing_a_declared_column() {
        let ms = contract::MEASURE_SUMMARY.empty_frame();
        let um = contract::UTILIZATION_MONTHLY.empty_frame();
        let ce = contract::COST_EFFECTIVENESS.empty_frame();
        let el = contract::ELIGIBILITY.empty_frame();
        render(&input(&ms, &um, &ce, &el)).unwrap();

        // A renamed column used to read as an empty table; now it stops the report.
        let mut renamed = el.clone();
        renamed.rename("outreach", "outreach_list".into()).unwrap();
        let e = render(&input(&ms, &um, &ce, &renamed))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("output `eligibility`: column `outreach` (Boolean) is missing")
                && e.contains("`outreach_list`"),
            "{e}"
        );
        let missing = ms.drop("rate").unwrap();
        let e = render(&input(&missing, &um, &ce, &el))
            .unwrap_err()
            .to_string();
        assert!(e.contains("output `measure_summary`: column `rate`"), "{e}");
        // A frame given as the wrong output is refused too.
        let e = render(&input(&ms, &ce, &ce, &el)).unwrap_err().to_string();
        assert!(e.contains("output `utilization_monthly`"), "{e}");
    }
}
