//! The shapes in which data teams hand over input files, and how each becomes the text or
//! typed value that spec §8 normalises.
//!
//! - **Files**: `T.csv`, `T.tsv` (tab-separated), either gzip- or zstd-compressed
//!   (`T.csv.gz`, `T.tsv.gz`, or compressed bytes under a plain `.csv` name, detected by
//!   their magic bytes), and `T.parquet`; a UTF-8 byte-order mark and CRLF line ends are
//!   accepted.
//! - **Stored types** (Parquet): strings of any Arrow layout (`string`, `large_string`,
//!   `string_view`, dictionary-encoded); DATE32, DATE64 and TIMESTAMP of any unit, with or
//!   without a time zone (the calendar date in that zone is taken); DECIMAL(p, s) money;
//!   integers and floats. An id or code stored as a number is read as its digits: a float
//!   `10133.0` is `10133`, a DECIMAL `10133.00` is `10133`, and a value with a fraction
//!   (`10133.5`) is rejected, never silently kept. An NDC stored as an integer has lost its
//!   leading zeros and is padded back to 11 digits; revenue codes, places of service and bill
//!   types are padded or trimmed by §8 as if they had been text.
//! - **Dates as text**: ISO `YYYY-MM-DD` and `YYYYMMDD` (CMS and T-MSIS files); anything else
//!   is a reject that names the value.

use std::borrow::Cow;
use std::path::Path;

use polars::prelude::*;

use crate::schema::Kind;

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text with a header row; the delimiter byte (`,` or tab). Compression is
    /// detected from the bytes, whatever the name says.
    Csv(u8),
    /// Parquet.
    Parquet,
}

/// File-name endings caregap reads, and their format.
const ENDINGS: &[(&str, Format)] = &[
    (".csv", Format::Csv(b',')),
    (".csv.gz", Format::Csv(b',')),
    (".csv.zst", Format::Csv(b',')),
    (".tsv", Format::Csv(b'\t')),
    (".tsv.gz", Format::Csv(b'\t')),
    (".tsv.zst", Format::Csv(b'\t')),
    (".parquet", Format::Parquet),
];

/// The format of a file by its name; `None` for a file caregap does not read.
pub fn file_format(p: &Path) -> Option<Format> {
    let name = p.file_name()?.to_str()?.to_ascii_lowercase();
    ENDINGS
        .iter()
        .find(|(end, _)| name.ends_with(end))
        .map(|(_, f)| *f)
}

/// The names a table `T` may have as one file in an input folder, in the order they are
/// looked for.
pub fn table_file_names(table: &str) -> impl Iterator<Item = String> + '_ {
    ENDINGS.iter().map(move |(end, _)| format!("{table}{end}"))
}

/// The endings accepted, for messages (`.csv, .csv.gz, …`).
pub fn endings_list() -> String {
    ENDINGS
        .iter()
        .map(|(e, _)| *e)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a file's stored type for a column of `kind` can be taken without a text round
/// trip (a Parquet date or timestamp for a date, an integer for a whole number, a float or an
/// integer for an amount).
pub fn is_native(kind: Kind, dt: &DataType) -> bool {
    match kind {
        Kind::Date => matches!(dt, DataType::Date | DataType::Datetime(..)),
        Kind::Int | Kind::NonNegativeInt => dt.is_integer(),
        Kind::Decimal => dt.is_float() || dt.is_integer(),
        _ => false,
    }
}

/// A natively typed column as its ingest type (see [`is_native`]).
pub fn native_expr(name: &str, kind: Kind, stored: &DataType) -> Expr {
    match stored {
        DataType::Datetime(..) => col(name).dt().date(),
        _ => col(name).cast(crate::schema::dtype_of(kind)),
    }
}

/// Whether a stored type is a number that may carry a fraction: a text column stored so must
/// have whole values only (see [`fraction_expr`]).
pub fn is_fractional(dt: &DataType) -> bool {
    dt.is_float() || matches!(dt, DataType::Decimal(_, s) if *s > 0)
}

/// A column of stored type `stored` as the text that §8 then parses and normalises.
pub fn text_expr(name: &str, kind: Kind, stored: &DataType) -> Expr {
    let text = match stored {
        DataType::String => return col(name),
        dt if dt.is_float() => col(name).cast(DataType::Float64).map(
            |c: Column| {
                let out: StringChunked = c
                    .f64()?
                    .iter()
                    .map(|o| o.map(|v| float_text(v).into_owned()))
                    .collect();
                Ok(out.with_name(c.name().clone()).into_column())
            },
            |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
        ),
        DataType::Decimal(..) if kind == Kind::Decimal => col(name).cast(DataType::String),
        DataType::Decimal(..) => col(name).cast(DataType::String).map(
            |c: Column| {
                let out: StringChunked =
                    c.str()?.iter().map(|o| o.map(whole_decimal_text)).collect();
                Ok(out.with_name(c.name().clone()).into_column())
            },
            |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
        ),
        DataType::Datetime(..) if kind == Kind::Date => return date_text(col(name).dt().date()),
        DataType::Date => return date_text(col(name)),
        _ => col(name).cast(DataType::String),
    };
    // A number has lost an NDC's leading zeros: 11 digits again.
    if kind == Kind::Ndc && (stored.is_primitive_numeric() || stored.is_decimal()) {
        text.str().zfill(lit(11))
    } else {
        text
    }
}

/// Days from 1970-01-01 within which a date can be written as text: chrono's calendar ends near
/// ±262,000 years, and polars panics ("out-of-range date") casting a date beyond it to text.
const TEXT_DATE_DAYS: i32 = 95_000_000;

/// A date column as `YYYY-MM-DD` text; a date no calendar can show (a corrupt or sentinel
/// Parquet DATE such as −2^31) as `<n> days after 1970-01-01`, never a panic.
pub fn date_text(e: Expr) -> Expr {
    let days = e.clone().to_physical();
    let ok = days
        .clone()
        .gt_eq(lit(-TEXT_DATE_DAYS))
        .and(days.clone().lt_eq(lit(TEXT_DATE_DAYS)));
    let shown = when(ok.clone())
        .then(e)
        .otherwise(lit(NULL).cast(DataType::Date))
        .cast(DataType::String);
    when(ok.or(days.clone().is_null()))
        .then(shown)
        .otherwise(concat_str(
            [days.cast(DataType::String), lit(" days after 1970-01-01")],
            "",
            true,
        ))
}

/// `true` where a text column stored as a fractional number has a value that is not whole
/// (`10133.5`, NaN, infinity): such an id or code is rejected, not guessed.
pub fn fraction_expr(name: &str, kind: Kind, stored: &DataType) -> Expr {
    text_expr(name, kind, stored).map(
        |c: Column| {
            let out: BooleanChunked = c
                .str()?
                .iter()
                .map(|o| Some(o.is_some_and(|s| !is_whole_number_text(s))))
                .collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

/// A float as an id or code's text: a whole value as its digits (`10133.0` → `10133`),
/// anything else as Rust writes it (`10133.5`, `NaN`, `inf`).
pub fn float_text(v: f64) -> Cow<'static, str> {
    // Every integer up to 2^53 is exact in a float; beyond it the digits are not the id's.
    if v.is_finite() && v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 {
        Cow::Owned(format!("{}", v as i64))
    } else {
        Cow::Owned(format!("{v}"))
    }
}

/// A DECIMAL's text without a zero fraction (`10133.00` → `10133`); other values unchanged.
fn whole_decimal_text(s: &str) -> String {
    match s.split_once('.') {
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int.to_string(),
        _ => s.to_string(),
    }
}

fn is_whole_number_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Days since 1970-01-01 of a text date `YYYY-MM-DD` or `YYYYMMDD` (surrounding blanks
/// ignored); `None` for anything else, including impossible dates (`2025-02-30`).
pub fn parse_date_days(s: &str) -> Option<i32> {
    let b = s.trim().as_bytes();
    let (y, m, d) = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => (&b[0..4], &b[5..7], &b[8..10]),
        8 => (&b[0..4], &b[4..6], &b[6..8]),
        _ => return None,
    };
    let num = |x: &[u8]| -> Option<u32> {
        x.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?)?;
    // 719,163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
    Some(chrono::Datelike::num_days_from_ce(&date) - 719_163)
}

/// A text column parsed as dates (see [`parse_date_days`]); unparseable values are null.
pub fn date_expr(name: &str) -> Expr {
    col(name).map(
        |c: Column| {
            let out: Int32Chunked = c
                .str()?
                .iter()
                .map(|o| o.and_then(parse_date_days))
                .collect();
            Ok(out
                .into_date()
                .into_series()
                .with_name(c.name().clone())
                .into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Date)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_iso_and_compact() {
        assert_eq!(parse_date_days("1970-01-01"), Some(0));
        assert_eq!(parse_date_days("19700102"), Some(1));
        assert_eq!(parse_date_days(" 2025-03-01 "), parse_date_days("20250301"));
        assert_eq!(parse_date_days("2024-02-29"), Some(19782));
        assert_eq!(parse_date_days("2025-02-29"), None);
        assert_eq!(parse_date_days("03/01/2025"), None);
        assert_eq!(parse_date_days("2025-3-1"), None);
        assert_eq!(parse_date_days("2025030"), None);
        assert_eq!(parse_date_days("2025-03-01T00:00"), None);
        assert_eq!(parse_date_days("+025-03-01"), None);
        assert_eq!(parse_date_days(""), None);
    }

    #[test]
    fn numbers_as_ids() {
        assert_eq!(float_text(10133.0), "10133");
        assert_eq!(float_text(-7.0), "-7");
        assert_eq!(float_text(10133.5), "10133.5");
        assert_eq!(float_text(f64::NAN), "NaN");
        assert_eq!(float_text(f64::INFINITY), "inf");
        assert!(is_whole_number_text("10133"));
        assert!(!is_whole_number_text("10133.5"));
        assert!(!is_whole_number_text("NaN"));
        assert!(!is_whole_number_text("-"));
        assert_eq!(whole_decimal_text("10133.00"), "10133");
        assert_eq!(whole_decimal_text("10133.50"), "10133.50");
        assert_eq!(whole_decimal_text("7"), "7");
    }

    #[test]
    fn dates_beyond_any_calendar_are_text_without_a_panic() {
        let days = Series::new("d".into(), [Some(0i32), Some(i32::MIN), None, Some(20089)]);
        let df =
            DataFrame::new_infer_height(vec![days.cast(&DataType::Date).unwrap().into()]).unwrap();
        let out = df.lazy().select([date_text(col("d"))]).collect().unwrap();
        let v: Vec<Option<&str>> = out.column("d").unwrap().str().unwrap().iter().collect();
        assert_eq!(
            v,
            vec![
                Some("1970-01-01"),
                Some("-2147483648 days after 1970-01-01"),
                None,
                Some("2025-01-01")
            ]
        );
    }

    #[test]
    fn names_and_formats() {
        assert_eq!(
            file_format(Path::new("a/medical_claim.csv")),
            Some(Format::Csv(b','))
        );
        assert_eq!(
            file_format(Path::new("medical_claim.TSV.GZ")),
            Some(Format::Csv(b'\t'))
        );
        assert_eq!(file_format(Path::new("x.parquet")), Some(Format::Parquet));
        assert_eq!(file_format(Path::new("x.gz")), None);
        assert_eq!(file_format(Path::new("x.json")), None);
    }
}
