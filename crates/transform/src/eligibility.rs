//! Health Home eligibility (spec §3) and the outreach list.
//!
//! **Rule (§3).** A person is eligible on the as-of date (default MP end) when alive (no
//! death_date on or before it), covered (payer_type in the coverage types, §4) on that date,
//! and at least one rule holds:
//! - `spmi`: serious_mental_illness (CMHC track);
//! - `bh_plus_chronic`: mental_illness or substance_use_disorder, plus at least one of asthma,
//!   diabetes, cardiovascular, overweight, developmental_disability, smoking (CMHC track);
//! - `two_chronic`: at least two of asthma, diabetes, cardiovascular, overweight,
//!   developmental_disability (primary-care track);
//! - `one_chronic_at_risk`: at least one of those five, and smoking or diabetes (primary-care
//!   track; diabetes alone qualifies).
//!
//! `rules` lists every rule that holds whether or not the person is eligible (empty, never
//! null); `track` is `cmhc`, `pchh` or `both`, null when not eligible. `outreach` = eligible
//! and not enrolled in a Health Home on the as-of date. One row per person with an accepted
//! eligibility row (§8: the earliest birth_date and death_date count).

use caregap_ingest::InputLayer;
use polars::prelude::*;

use crate::params::{date_lit, is_covered_payer, Params};

/// Conditions listed in `eligibility.conditions` (§9): the eight qualifying ones and
/// mental_illness, in alphabetical order.
pub const LISTED_CONDITIONS: [&str; 9] = [
    "asthma",
    "cardiovascular",
    "developmental_disability",
    "diabetes",
    "mental_illness",
    "overweight",
    "serious_mental_illness",
    "smoking",
    "substance_use_disorder",
];

/// The five chronic conditions of the primary-care rules (§3).
const PRIMARY_CARE_CHRONIC: [&str; 5] = [
    "asthma",
    "diabetes",
    "cardiovascular",
    "overweight",
    "developmental_disability",
];

/// Per person: `birth_date`, `death_date` (earliest of their rows, §8).
pub fn persons(input: &InputLayer) -> LazyFrame {
    input.lazy("eligibility").group_by([col("person_id")]).agg([
        col("birth_date").min().alias("birth_date"),
        col("death_date").min().alias("death_date"),
    ])
}

/// Health Home attribution on `date` (§4): the span covering it, latest start first, then the
/// smallest health_home_id. Returns `person_id, health_home_id`.
pub fn health_home_on(input: &InputLayer, date: Expr) -> LazyFrame {
    input
        .lazy("health_home_enrollment")
        .filter(
            col("enrollment_start_date").lt_eq(date.clone()).and(
                col("enrollment_end_date")
                    .is_null()
                    .or(col("enrollment_end_date").gt_eq(date)),
            ),
        )
        .group_by([col("person_id")])
        .agg([col("health_home_id")
            .sort_by(
                [col("enrollment_start_date"), col("health_home_id")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .first()
            .alias("health_home_id")])
}

/// §6 `eligibility`, sorted by person_id. `conditions` is the §6 `conditions` output.
pub fn eligibility(input: &InputLayer, conditions: LazyFrame, p: &Params) -> LazyFrame {
    let as_of = date_lit(p.as_of);
    let covered = input
        .lazy("eligibility")
        .group_by([col("person_id")])
        .agg([is_covered_payer(p)
            .and(col("enrollment_start_date").lt_eq(as_of.clone()))
            .and(col("enrollment_end_date").gt_eq(as_of.clone()))
            .any(false)
            .alias("covered_on_as_of")]);
    let flags: Vec<Expr> = LISTED_CONDITIONS
        .iter()
        .map(|c| col("condition").eq(lit(*c)).any(false).alias(*c))
        .collect();
    let has = conditions.group_by([col("person_id")]).agg(flags);
    let hh = health_home_on(input, as_of.clone());

    let h = |c: &str| col(c);
    let chronic_count = PRIMARY_CARE_CHRONIC
        .iter()
        .map(|c| h(c).cast(DataType::Int32))
        .reduce(|a, b| a + b)
        .expect("five");
    let bh_chronic = [
        "asthma",
        "diabetes",
        "cardiovascular",
        "overweight",
        "developmental_disability",
        "smoking",
    ]
    .iter()
    .map(|c| h(c))
    .reduce(|a, b| a.or(b))
    .expect("six");
    let rule = |name: &str, holds: Expr| {
        when(holds)
            .then(lit(name))
            .otherwise(lit(NULL).cast(DataType::String))
    };
    let listed = |name: &str| {
        when(h(name))
            .then(lit(name))
            .otherwise(lit(NULL).cast(DataType::String))
    };

    let mut filled: Vec<Expr> = LISTED_CONDITIONS
        .iter()
        .map(|c| h(c).fill_null(lit(false)))
        .collect();
    filled.push(col("covered_on_as_of").fill_null(lit(false)));

    persons(input)
        .join(
            covered,
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            has,
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            hh,
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns(filled)
        .with_columns([
            col("death_date")
                .is_null()
                .or(col("death_date").gt(as_of))
                .alias("alive_on_as_of"),
            h("serious_mental_illness").alias("r_spmi"),
            h("mental_illness")
                .or(h("substance_use_disorder"))
                .and(bh_chronic)
                .alias("r_bh"),
            chronic_count.clone().gt_eq(lit(2)).alias("r_two"),
            chronic_count
                .gt_eq(lit(1))
                .and(h("smoking").or(h("diabetes")))
                .alias("r_one"),
        ])
        .with_columns([
            concat_list([
                rule("spmi", col("r_spmi")),
                rule("bh_plus_chronic", col("r_bh")),
                rule("two_chronic", col("r_two")),
                rule("one_chronic_at_risk", col("r_one")),
            ])
            .expect("rules")
            .list()
            .drop_nulls()
            .alias("rules"),
            concat_list(
                LISTED_CONDITIONS
                    .iter()
                    .map(|c| listed(c))
                    .collect::<Vec<_>>(),
            )
            .expect("conditions")
            .list()
            .drop_nulls()
            .alias("conditions"),
            col("r_spmi").or(col("r_bh")).alias("cmhc"),
            col("r_two").or(col("r_one")).alias("pchh"),
        ])
        .with_column(
            col("alive_on_as_of")
                .and(col("covered_on_as_of"))
                .and(col("cmhc").or(col("pchh")))
                .alias("eligible"),
        )
        .with_column(col("health_home_id").is_not_null().alias("hh_enrolled"))
        .select([
            col("person_id"),
            col("eligible"),
            col("rules"),
            when(col("eligible").not())
                .then(lit(NULL).cast(DataType::String))
                .when(col("cmhc").and(col("pchh")))
                .then(lit("both"))
                .when(col("cmhc"))
                .then(lit("cmhc"))
                .otherwise(lit("pchh"))
                .alias("track"),
            col("conditions"),
            col("hh_enrolled"),
            col("health_home_id"),
            col("eligible")
                .and(col("hh_enrolled").not())
                .alias("outreach"),
            col("birth_date"),
            col("death_date"),
            col("covered_on_as_of"),
            col("alive_on_as_of"),
        ])
        .sort(["person_id"], Default::default())
}
