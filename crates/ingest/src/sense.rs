//! Values checked for sense: numbers that parse but cannot be true.
//!
//! A value can be well-formed and still wrong: a paid amount of `NaN` or `1e400` (which parses
//! as infinity), a systolic blood pressure of −5 (which the CBP numerator would count as
//! controlled), an HbA1c of 90 %. Each such row is rejected with a reason naming the column and
//! the bound, never counted or skipped silently. The bounds are data ([`AMOUNT_LIMIT`],
//! [`PLAUSIBLE`]), documented in `docs/input-layer.md` ("Values checked for sense").
//!
//! Clinical results are judged on **the number the measures read** (`caregap-transform`'s
//! `encounters.rs` and `conditions.rs`): a vital sign as [`number`] parses it, an HbA1c as
//! [`hba1c`] (§8) parses it. What the measures do not read as a number is left to their rules:
//! a non-numeric HbA1c (`>14`) still counts as a test (§8) and is never rejected here.

use polars::prelude::*;

/// An amount or quantity of one claim line or fill is rejected from this magnitude on
/// (`|value| ≥ 1e9`): no real line is paid a billion dollars, and sums of such values stop
/// being exact in integer cents long before they mean anything.
pub const AMOUNT_LIMIT: f64 = 1e9;

/// How the measures read a clinical result as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Trimmed, then a decimal number ([`number`]).
    Number,
    /// §8's HbA1c rule ([`hba1c`]): only results that count for control are judged.
    Hba1c,
}

/// A clinical result with a plausible range: rows of `table` whose code (normalized_code, else
/// source_code, §8) is one of `codes` must have a result in `lo..=hi` (bounds included).
#[derive(Debug, Clone, Copy)]
pub struct Plausible {
    /// The table.
    pub table: &'static str,
    /// What the code measures, for the reason (`systolic blood pressure`).
    pub what: &'static str,
    /// LOINC codes, as input-layer.md lists them and caregap's value sets use them.
    pub codes: &'static [&'static str],
    /// What the value reads as.
    pub reading: Reading,
    /// The lowest plausible value.
    pub lo: f64,
    /// The highest plausible value.
    pub hi: f64,
    /// The unit of the bounds, for the reason.
    pub unit: &'static str,
}

/// The clinical results checked for sense. The ranges are wide on purpose: they catch what no
/// living person can have (a sign error, a unit mix-up, a value typed into the wrong field),
/// never a reading that is merely alarming.
pub const PLAUSIBLE: &[Plausible] = &[
    Plausible {
        table: crate::schema::OBSERVATION,
        what: "systolic blood pressure",
        codes: &["8480-6"],
        reading: Reading::Number,
        lo: 40.0,
        hi: 300.0,
        unit: "mmHg",
    },
    Plausible {
        table: crate::schema::OBSERVATION,
        what: "diastolic blood pressure",
        codes: &["8462-4"],
        reading: Reading::Number,
        lo: 20.0,
        hi: 200.0,
        unit: "mmHg",
    },
    Plausible {
        table: crate::schema::OBSERVATION,
        what: "BMI",
        codes: &["39156-5"],
        reading: Reading::Number,
        lo: 5.0,
        hi: 150.0,
        unit: "kg/m2",
    },
    Plausible {
        table: crate::schema::LAB_RESULT,
        what: "HbA1c",
        codes: &["4548-4", "4549-2", "17856-6"],
        reading: Reading::Hba1c,
        lo: 2.0,
        hi: 25.0,
        unit: "%",
    },
    // GSD (docs/measures/gsd.md §4): a GMI is read by the same §8 rule and judged the same way,
    // in both tables the measure reads it from.
    Plausible {
        table: crate::schema::LAB_RESULT,
        what: "GMI",
        codes: &["97506-0"],
        reading: Reading::Hba1c,
        lo: 2.0,
        hi: 25.0,
        unit: "%",
    },
    Plausible {
        table: crate::schema::OBSERVATION,
        what: "GMI",
        codes: &["97506-0"],
        reading: Reading::Hba1c,
        lo: 2.0,
        hi: 25.0,
        unit: "%",
    },
];

impl Plausible {
    /// `result: systolic blood pressure (8480-6) is not a number …`.
    pub fn not_a_number_reason(&self) -> String {
        format!(
            "result: {} ({}) is not a finite number (a unit belongs in normalized_units)",
            self.what,
            self.codes.join(", ")
        )
    }

    /// `result: systolic blood pressure (8480-6) outside 40..300 mmHg`.
    pub fn outside_reason(&self) -> String {
        format!(
            "result: {} ({}) outside {}..{} {}",
            self.what,
            self.codes.join(", "),
            self.lo,
            self.hi,
            self.unit
        )
    }
}

/// A vital sign's result as the measures read it (CBP's blood pressure, the BMI rule of §2):
/// trimmed, then polars' decimal parser (`120`, `120.5`, `1e2`, and also `NaN` and `inf`);
/// anything else (`132 mmHg`, `120/80`) is null.
pub fn number(result: Expr) -> Expr {
    result.str().strip_chars(lit(NULL)).cast(DataType::Float64)
}

/// §8 HbA1c result, as `hba1c_poor` reads it: trimmed, one trailing `%` removed, trimmed again,
/// a plain decimal (`[+-]digits[.digits]`); null when it is not one (`>14`, `7.0%%`) or when
/// the unit (normalized, else source: `units`) is neither null, blank nor `%`.
pub fn hba1c(result: Expr, units: Expr) -> Expr {
    let t = result.str().strip_chars(lit(NULL));
    let t = when(t.clone().str().ends_with(lit("%")))
        .then(
            t.clone()
                .str()
                .slice(lit(0), t.clone().str().len_chars() - lit(1u32)),
        )
        .otherwise(t)
        .str()
        .strip_chars(lit(NULL));
    let unit = units.str().strip_chars(lit(NULL));
    let unit_ok = unit
        .clone()
        .is_null()
        .or(unit.clone().eq(lit("")))
        .or(unit.eq(lit("%")));
    let plain = t
        .clone()
        .str()
        .contains(lit(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"), false);
    when(unit_ok.and(plain))
        .then(t.cast(DataType::Float64))
        .otherwise(lit(NULL).cast(DataType::Float64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(e: Expr, results: &[&str], units: &[Option<&str>]) -> Vec<Option<f64>> {
        let df = df!("result" => results, "units" => units).unwrap();
        let out = df.lazy().select([e.alias("v")]).collect().unwrap();
        out.column("v").unwrap().f64().unwrap().iter().collect()
    }

    #[test]
    fn vital_signs_parse_as_the_measures_read_them() {
        let v = eval(
            number(col("result")),
            &[" 132 ", "132 mmHg", "120/80", "-5", "1e2"],
            &[None; 5],
        );
        assert_eq!(v, vec![Some(132.0), None, None, Some(-5.0), Some(100.0)]);
        let nan = eval(number(col("result")), &["NaN", "inf"], &[None; 2]);
        assert!(nan[0].unwrap().is_nan() && nan[1].unwrap().is_infinite());
    }

    #[test]
    fn hba1c_follows_section_8() {
        let v = eval(
            hba1c(col("result"), col("units")),
            &[
                "8.5%", " 8.2% ", "7.0%%", "8.0 %", "6.5%", ">14", "NaN", "-3",
            ],
            &[
                None,
                Some("%"),
                Some("%"),
                None,
                Some("mmol/mol"),
                None,
                None,
                Some(" "),
            ],
        );
        assert_eq!(
            v,
            vec![
                Some(8.5),
                Some(8.2),
                None,
                Some(8.0),
                None,
                None,
                None,
                Some(-3.0)
            ]
        );
    }

    #[test]
    fn ranges_are_sane() {
        for p in PLAUSIBLE {
            assert!(p.lo < p.hi && !p.codes.is_empty(), "{}", p.what);
        }
        assert_eq!(
            PLAUSIBLE[0].outside_reason(),
            "result: systolic blood pressure (8480-6) outside 40..300 mmHg"
        );
    }
}
