//! What the Core Set looks like when it leaves the pipeline (docs/core-set.md §5): the
//! public-reporting flags of `core_set.parquet` and the state's filing, `core_set_qmr.csv`.
//!
//! **Flags (CMS's public-reporting rule).** Within one program, every count from 1 to the
//! threshold (default 10) is hidden — a numerator, a denominator, or their difference (the
//! rows *not* in the numerator), which the two shown would give away — and so is every count
//! that, with the others shown, would let a hidden one be derived: each stratification's
//! strata sum to its `none` row, and the bands of a measure sum to `total` when they cover
//! every age, so [`crate::suppress::CountTable`] suppresses complementary cells along both
//! relations. A rate is hidden when its counts are, or when its denominator is under 30 (CMS:
//! rates on fewer than 30 are not reported). Rate measures apply the same rule to events and
//! enrollee months.

use std::collections::BTreeMap;

use caregap_transform::core_set::{
    bands_of, CORE_SET_2026, COUNT, DAYS_PER_DISCHARGE, DERIVED, EXPECTED_COUNT,
    PER_1000_ENROLLEES, PER_1000_MONTHS, RATIO,
};
use caregap_transform::measures;
use polars::prelude::*;

use crate::suppress::{CountTable, SuppressionRule};

/// The smallest denominator whose rate a public report shows (CMS).
pub const MIN_RATE_DENOMINATOR: u64 = 30;

fn ints(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<i64>>> {
    Ok(df.column(c)?.i64()?.iter().collect())
}

fn strs<'a>(df: &'a DataFrame, c: &str) -> PolarsResult<Vec<&'a str>> {
    Ok(df
        .column(c)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or(""))
        .collect())
}

/// Add `suppress_count` and `suppress_rate` to a `core_set` frame
/// ([`caregap_transform::core_set::core_set_frame`]).
pub fn with_flags(df: &DataFrame, rule: &SuppressionRule) -> PolarsResult<DataFrame> {
    let n = df.height();
    let (program, measure, rate, band, st, stratum) = (
        strs(df, "program")?,
        strs(df, "measure")?,
        strs(df, "rate")?,
        strs(df, "age_band")?,
        strs(df, "stratum_type")?,
        strs(df, "stratum")?,
    );
    let (num, den, ev, mo) = (
        ints(df, "numerator")?,
        ints(df, "denominator")?,
        ints(df, "events")?,
        ints(df, "enrollee_months")?,
    );
    // The two counts of each row: (numerator, denominator) or (events, months).
    let units = strs(df, "unit")?;
    let counts: Vec<(u64, u64, bool)> = (0..n)
        .map(|i| match (num[i], den[i]) {
            (Some(a), Some(b)) => (a.max(0) as u64, b.max(0) as u64, true),
            // An expected count (PCR-HH) is no count of persons; its rate rests on the index
            // stays.
            (None, Some(b)) => (0, b.max(0) as u64, false),
            _ => (
                ev[i].unwrap_or(0).max(0) as u64,
                mo[i].unwrap_or(0).max(0) as u64,
                false,
            ),
        })
        .collect();
    // One table per program: cells are numerators, "rest" (denominator − numerator) and
    // denominators, with the additive relations between rows.
    let mut by_program: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in program.iter().enumerate() {
        by_program.entry(p).or_default().push(i);
    }
    let mut hidden = vec![false; n];
    for rows in by_program.values() {
        let mut t = CountTable::new();
        let mut cells: BTreeMap<usize, [usize; 3]> = BTreeMap::new();
        for &i in rows {
            let (a, b, proportion) = counts[i];
            let rest = if proportion { b.saturating_sub(a) } else { 0 };
            cells.insert(i, [t.cell(a), t.cell(rest), t.cell(b)]);
        }
        let idx: BTreeMap<(&str, &str, &str, &str, &str), usize> = rows
            .iter()
            .map(|&i| ((measure[i], rate[i], band[i], st[i], stratum[i]), i))
            .collect();
        // Strata sum to the `none` row of their band.
        for &i in rows {
            if st[i] != "none" {
                continue;
            }
            let mut by_type: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for &j in rows {
                if st[j] != "none"
                    && measure[j] == measure[i]
                    && rate[j] == rate[i]
                    && band[j] == band[i]
                {
                    by_type.entry(st[j]).or_default().push(j);
                }
            }
            for parts in by_type.values() {
                for (k, &total) in cells[&i].iter().enumerate() {
                    t.relation(total, parts.iter().map(|j| cells[j][k]).collect());
                }
            }
        }
        // Bands sum to `total` when they cover every age (rate measures: with `unknown`).
        for &i in rows {
            if band[i] != "total" || !bands_cover_every_age(measure[i]) {
                continue;
            }
            let parts: Vec<usize> = bands_of(measure[i])
                .iter()
                .filter(|b| b.as_str() != "total")
                .filter_map(|b| {
                    idx.get(&(measure[i], rate[i], b.as_str(), st[i], stratum[i]))
                        .copied()
                })
                .collect();
            for (k, &total) in cells[&i].iter().enumerate() {
                t.relation(total, parts.iter().map(|j| cells[j][k]).collect());
            }
        }
        t.suppress(rule);
        for &i in rows {
            let c = cells[&i];
            let (_, _, proportion) = counts[i];
            // Months are not persons: only events are suppressed as counts in rate measures.
            hidden[i] = if proportion {
                c.iter().any(|&h| t.is_hidden(h))
            } else {
                t.is_hidden(c[0])
            };
        }
    }
    // A count row (PCR-HH's index stays) has no denominator: its value is the count.
    let rate_hidden: Vec<bool> = (0..n)
        .map(|i| match units[i] {
            COUNT => hidden[i],
            _ => hidden[i] || counts[i].1 < MIN_RATE_DENOMINATOR,
        })
        .collect();
    let mut out = df.clone();
    out.with_column(Column::new("suppress_count".into(), hidden))?;
    out.with_column(Column::new("suppress_rate".into(), rate_hidden))?;
    Ok(out)
}

/// Whether the bands of `code` cover every age, so that they sum to `total`: each band starts
/// the year after the previous one ends, the first at 0 or at the measure's youngest age, the
/// last without an upper bound. Measures whose population stops at an age (COL 46–75) cover
/// every age of their population too.
fn bands_cover_every_age(code: &str) -> bool {
    let mut ok = false;
    for m in measures::all().filter(|m| m.core_set.is_some_and(|c| c.code == code)) {
        let b = m.age_bands;
        ok = !b.is_empty()
            && b.windows(2)
                .all(|w| w[0].max.is_some_and(|x| x + 1 == w[1].min));
    }
    ok
}

/// Where a row goes in the QMR layout (and the report): by measure code, then the measure's
/// rates in the registry's and the rate families' own order (the form's), the derived rows
/// last, then the age bands in CMS's order with `total` last.
pub fn order_key<'a>(
    measure: &'a str,
    rate: &'a str,
    band: &str,
) -> (&'a str, usize, &'a str, usize) {
    use caregap_transform::measures::{aif, iu, pcr_hh};
    let mut rates: Vec<(&str, &str)> = measures::all()
        .filter_map(|m| m.core_set.map(|c| (c.code, c.rate)))
        .collect();
    rates.extend(iu::RATES.iter().map(|r| ("IU-HH", *r)));
    rates.extend(aif::RATES.iter().map(|r| ("AIF-HH", *r)));
    rates.extend(DERIVED.iter().map(|d| (d.0, d.1)));
    rates.extend(
        [
            pcr_hh::RATE_INDEX_STAYS,
            pcr_hh::RATE_INDEX_STAYS_OBSERVATION,
            pcr_hh::RATE_PLANNED_EXCLUDED,
            pcr_hh::RATE_EXPECTED,
            caregap_transform::core_set::PCR_OE,
            pcr_hh::RATE_OUTLIERS,
        ]
        .map(|r| ("PCR-HH", r)),
    );
    let r = rates
        .iter()
        .position(|x| *x == (measure, rate))
        .unwrap_or(usize::MAX);
    let b = bands_of(measure)
        .iter()
        .position(|x| x == band)
        .unwrap_or(usize::MAX);
    (measure, r, rate, b)
}

/// `core_set_qmr.csv` from a `core_set` frame: stratum `none`, laid out as QMR asks.
pub fn qmr(df: &DataFrame) -> PolarsResult<DataFrame> {
    let none = df
        .clone()
        .lazy()
        .filter(col("stratum_type").eq(lit("none")))
        .collect()?;
    let (program, measure, rate, band) = (
        strs(&none, "program")?,
        strs(&none, "measure")?,
        strs(&none, "rate")?,
        strs(&none, "age_band")?,
    );
    let (num, den, ev, mo, exc, hs) = (
        ints(&none, "numerator")?,
        ints(&none, "denominator")?,
        ints(&none, "events")?,
        ints(&none, "enrollee_months")?,
        ints(&none, "excluded")?,
        ints(&none, "history_short")?,
    );
    let unit = strs(&none, "unit")?;
    let values: Vec<Option<f64>> = none.column("value")?.f64()?.iter().collect();
    let mut order: Vec<usize> = (0..none.height()).collect();
    order.sort_by_key(|&i| (program[i], order_key(measure[i], rate[i], band[i])));
    let names: BTreeMap<&str, &str> = CORE_SET_2026.iter().map(|(c, n, _)| (*c, *n)).collect();
    // For the 30-day ≥ 7-day check: the numerator of the 7-day rate of the same cell.
    let key = |i: usize| (program[i], measure[i], band[i]);
    let seven: BTreeMap<(&str, &str, &str), i64> = (0..none.height())
        .filter(|&i| rate[i] == "7-day")
        .filter_map(|i| num[i].map(|n| (key(i), n)))
        .collect();
    let mut c: [Vec<String>; 6] = Default::default();
    let (mut n_out, mut d_out, mut r_out, mut e_out, mut h_out) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut checks_out: Vec<String> = Vec::new();
    for i in order {
        let per_months = unit[i] == PER_1000_MONTHS;
        let ratio = unit[i] == DAYS_PER_DISCHARGE;
        let other = [COUNT, EXPECTED_COUNT, RATIO, PER_1000_ENROLLEES].contains(&unit[i]);
        let (n, d) = if per_months {
            (ev[i], mo[i])
        } else if other {
            (num[i].or(ev[i]), den[i])
        } else {
            (num[i], den[i])
        };
        let mut checks = Vec::new();
        if !per_months && !ratio && !other && n.unwrap_or(0) > d.unwrap_or(0) {
            checks.push("numerator > denominator");
        }
        if rate[i] == "30-day" && seven.get(&key(i)).is_some_and(|s| n.unwrap_or(0) < *s) {
            checks.push("30-day < 7-day");
        }
        let value = match (n, d) {
            // PCR-HH's counts, expected readmissions, O/E and outliers: core_set's value.
            _ if other => values[i].map(|v| (v * 10_000.0).round() / 10_000.0),
            (Some(n), Some(d)) if d > 0 => {
                let v = if per_months {
                    n as f64 * 1000.0 / d as f64
                } else if ratio {
                    n as f64 / d as f64
                } else {
                    n as f64 * 100.0 / d as f64
                };
                Some((v * 10.0).round() / 10.0)
            }
            _ => None,
        };
        for (col, v) in c.iter_mut().zip([
            program[i],
            measure[i],
            names.get(measure[i]).copied().unwrap_or(""),
            rate[i],
            band[i],
            if per_months {
                PER_1000_MONTHS
            } else if ratio {
                DAYS_PER_DISCHARGE
            } else if other {
                unit[i]
            } else {
                "percent"
            },
        ]) {
            col.push(v.to_string());
        }
        n_out.push(n);
        d_out.push(d);
        r_out.push(value);
        e_out.push(if per_months || ratio { None } else { exc[i] });
        h_out.push(if per_months || ratio { None } else { hs[i] });
        checks_out.push(checks.join(";"));
    }
    let [p, m, name, r, b, u] = c;
    DataFrame::new_infer_height(vec![
        Column::new("program".into(), p),
        Column::new("measure".into(), m),
        Column::new("measure_name".into(), name),
        Column::new("rate".into(), r),
        Column::new("age_band".into(), b),
        Column::new("numerator".into(), n_out),
        Column::new("denominator".into(), d_out),
        Column::new("rate_value".into(), r_out),
        Column::new("unit".into(), u),
        Column::new("excluded".into(), e_out),
        Column::new("history_short".into(), h_out),
        Column::new("qmr_checks".into(), checks_out),
    ])
}
