//! The facts of a story's `expected.csv` / `expected-informative.csv`: reading them strictly,
//! checking one against what a run wrote, and what the run produced instead (for `BLESS=1`).
//!
//! Strict means: a file with a missing or unknown column, a fact with a malformed `key`, an
//! unknown `compare` mode, a `row_exists` that is neither `true` nor `false`, an output that
//! the run does not write, a column the output does not have, or a manifest item that does not
//! exist fails the story, naming the file, the line and the unknown name (with the nearest
//! known name when one is close). Nothing is "pending".

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

/// The columns of an expected-facts file, in the order the reference README gives them.
pub const COLUMNS: &[&str] = &[
    "output",
    "person_id",
    "measure",
    "index_date",
    "key",
    "field",
    "expected",
    "compare",
    "run",
];

/// Columns a file must have (the others default to empty, `run` to `default`).
const REQUIRED: &[&str] = &["output", "field", "expected"];

/// How an actual value is compared with `expected`.
#[derive(Debug, Clone, PartialEq)]
pub enum Compare {
    /// Exact (numbers within 1e-9 relative, JSON lists and maps as values).
    Exact,
    /// `abs:T`: numerically within T.
    Abs(f64),
    /// `rel:T`: numerically within T × |expected|.
    Rel(f64),
    /// `contains`: the list holds the value, or the text contains it.
    Contains,
    /// `not_contains`: the opposite.
    NotContains,
}

impl Compare {
    fn parse(s: &str) -> Result<Compare, String> {
        let tol = |t: &str| {
            t.parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| format!("compare `{s}`: the tolerance is not a number ≥ 0"))
        };
        match s {
            "" => Ok(Compare::Exact),
            "contains" => Ok(Compare::Contains),
            "not_contains" => Ok(Compare::NotContains),
            _ => {
                if let Some(t) = s.strip_prefix("abs:") {
                    Ok(Compare::Abs(tol(t)?))
                } else if let Some(t) = s.strip_prefix("rel:") {
                    Ok(Compare::Rel(tol(t)?))
                } else {
                    Err(format!(
                        "unknown compare `{s}`{} (known: empty, abs:T, rel:T, contains, not_contains)",
                        nearest(s, ["contains", "not_contains", "abs:", "rel:"])
                    ))
                }
            }
        }
    }

    /// Whether a failing fact can be blessed to the value the run produced.
    fn blessable(&self) -> bool {
        !matches!(self, Compare::Contains | Compare::NotContains)
    }
}

/// One asserted fact: a row of an expected-facts file.
#[derive(Debug, Clone)]
pub struct Fact {
    pub output: String,
    pub person_id: String,
    pub measure: String,
    pub index_date: String,
    pub key: Vec<(String, String)>,
    pub field: String,
    pub expected: String,
    pub compare: Compare,
    pub run: String,
    /// The file name (`expected.csv`), the file as messages show it, and the 1-based line the
    /// fact starts on.
    pub file: String,
    pub shown: String,
    pub line: u64,
    /// Where the record lies in the file (bytes, terminator excluded) and its fields as read,
    /// so that `BLESS=1` can rewrite that record alone.
    pub span: (usize, usize),
    pub record: Vec<String>,
    pub expected_col: usize,
}

impl Fact {
    /// `expected.csv:12 [care_gaps F1 fuh_7 2025-03-05 status]`: where the fact is, for messages.
    pub fn at(&self) -> String {
        let keys: Vec<String> = self.key.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let keys = keys.join(";");
        let parts: Vec<&str> = [
            self.output.as_str(),
            &self.person_id,
            &self.measure,
            &self.index_date,
            &keys,
            &self.field,
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
        format!("{}:{} [{}]", self.shown, self.line, parts.join(" "))
    }
}

/// Read the facts of `path`; a missing file has none. Every malformed row is a problem
/// (`file:line: what`, the file shown as `shown`), and so is a missing or unknown column.
pub fn read_facts(path: &Path, shown: &str) -> Result<Vec<Fact>, Vec<String>> {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(vec![]);
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => return Err(vec![format!("{shown}: {e}")]),
    };
    let mut problems = Vec::new();
    for h in &headers {
        if !COLUMNS.contains(&h.as_str()) {
            problems.push(format!(
                "{shown}:1: unknown column `{h}`{} (columns: {})",
                nearest(h, COLUMNS.iter().copied()),
                COLUMNS.join(",")
            ));
        }
    }
    for r in REQUIRED {
        if !headers.iter().any(|h| h == r) {
            problems.push(format!("{shown}:1: no `{r}` column"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let expected_col = col("expected").expect("checked above");
    let mut facts = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let read = rdr.read_record(&mut record);
        match read {
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.push(format!("{shown}:{line}: {e}"));
                break;
            }
            Ok(false) => break,
            Ok(true) => {}
        }
        // The reader's position is where it started looking: before any comment or blank
        // line it skipped on the way to the record.
        let pos = record.position().expect("a read record has a position");
        let (mut line, mut start) = (pos.line(), pos.byte() as usize);
        loop {
            let rest = &text[start..];
            if rest.starts_with('#') {
                start += rest.find('\n').map_or(rest.len(), |i| i + 1);
                line += 1;
            } else if rest.starts_with('\n') {
                start += 1;
                line += 1;
            } else if rest.starts_with('\r') {
                start += 1;
            } else {
                break;
            }
        }
        let end = start
            + text[start..rdr.position().byte() as usize]
                .trim_end_matches(['\r', '\n'])
                .len();
        let get = |name: &str| {
            col(name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_string()
        };
        let mut key = Vec::new();
        for kv in get("key").split(';').filter(|s| !s.is_empty()) {
            match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() => key.push((k.to_string(), v.to_string())),
                _ => problems.push(format!("{shown}:{line}: key `{kv}` is not `name=value`")),
            }
        }
        let compare = match Compare::parse(&get("compare")) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("{shown}:{line}: {e}"));
                continue;
            }
        };
        let run = get("run");
        facts.push(Fact {
            output: get("output"),
            person_id: get("person_id"),
            measure: get("measure"),
            index_date: get("index_date"),
            key,
            field: get("field"),
            expected: get("expected"),
            compare,
            run: if run.is_empty() {
                "default".into()
            } else {
                run
            },
            file: file.clone(),
            shown: shown.to_string(),
            line,
            span: (start, end),
            record: record.iter().map(str::to_string).collect(),
            expected_col,
        });
    }
    if problems.is_empty() {
        Ok(facts)
    } else {
        Err(problems)
    }
}

/// ` (did you mean `x`?)` when one of `known` is close to `name`, else "".
pub fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    known
        .into_iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(name, k), k))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// Why a fact does not hold. `actual` is the one value the run produced in its place, when
/// there is exactly one and the fact may be blessed to it (`BLESS=1`).
#[derive(Debug)]
pub struct Failure {
    pub msg: String,
    pub actual: Option<String>,
}

impl Failure {
    /// A failure that blessing cannot fix (an unknown name, no matching row, …).
    pub fn hard(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            actual: None,
        }
    }
}

/// A cell as the text `expected.csv` uses: ISO dates, `true`/`false`, `null`, JSON lists.
pub fn cell(c: &Column, i: usize) -> String {
    match c.get(i).unwrap_or(AnyValue::Null) {
        AnyValue::Null => "null".into(),
        AnyValue::Boolean(b) => b.to_string(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Date(d) => caregap_transform::params::from_epoch_days(d).to_string(),
        AnyValue::List(s) => {
            let items: Vec<Value> = (0..s.len())
                .map(|j| match s.get(j).unwrap_or(AnyValue::Null) {
                    AnyValue::Null => Value::Null,
                    AnyValue::String(x) => Value::String(x.to_string()),
                    AnyValue::StringOwned(x) => Value::String(x.to_string()),
                    v => Value::String(v.to_string()),
                })
                .collect();
            Value::Array(items).to_string()
        }
        v => v.to_string().trim_matches('"').to_string(),
    }
}

/// Compare an actual value (as text) with the expected text.
pub fn matches(actual: &str, expected: &str, compare: &Compare) -> bool {
    let num = |s: &str| s.trim().parse::<f64>().ok();
    let json = |s: &str| serde_json::from_str::<Value>(s).ok();
    match compare {
        Compare::Abs(t) => {
            matches!((num(actual), num(expected)), (Some(a), Some(e)) if (a - e).abs() <= *t)
        }
        Compare::Rel(t) => {
            matches!((num(actual), num(expected)), (Some(a), Some(e)) if (a - e).abs() <= t * e.abs().max(1e-12))
        }
        Compare::Contains | Compare::NotContains => {
            let holds = match json(actual) {
                Some(Value::Array(items)) => items.iter().any(|v| {
                    v.as_str()
                        .map(|s| s == expected.trim_matches('"'))
                        .unwrap_or(false)
                        || *v == Value::String(expected.to_string())
                }),
                _ => actual.contains(expected),
            };
            holds == (*compare == Compare::Contains)
        }
        Compare::Exact => {
            if let (Some(a), Some(e)) = (num(actual), num(expected)) {
                return (a - e).abs() <= 1e-9 * e.abs().max(1.0);
            }
            match (json(actual), json(expected)) {
                (Some(a @ (Value::Array(_) | Value::Object(_))), Some(e)) => a == e,
                _ => actual == expected,
            }
        }
    }
}

/// Check a fact against the frame of output `output`.
pub fn check_frame(df: &DataFrame, output: &str, f: &Fact) -> Result<(), Failure> {
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    let column = |name: &str| {
        df.column(name).map_err(|_| {
            Failure::hard(format!(
                "{output} has no column `{name}`{}",
                nearest(name, names.iter().copied())
            ))
        })
    };
    let mut filters: Vec<(&str, &str)> = Vec::new();
    for (name, v) in [
        ("person_id", &f.person_id),
        ("measure", &f.measure),
        ("index_date", &f.index_date),
    ] {
        if !v.is_empty() {
            filters.push((name, v));
        }
    }
    for (k, v) in &f.key {
        filters.push((k, v));
    }
    let mut rows: Vec<usize> = (0..df.height()).collect();
    for (name, v) in &filters {
        let c = column(name)?;
        rows.retain(|&i| matches(&cell(c, i), v, &Compare::Exact));
    }
    let differs = |what: &str, actual: String| {
        Err(Failure {
            msg: format!("{what}: expected {}, found {actual}", f.expected),
            actual: Some(actual),
        })
    };
    match f.field.as_str() {
        "row_exists" => {
            let want = match f.expected.as_str() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(Failure::hard(format!(
                        "row_exists expects `true` or `false`, not `{other}`"
                    )))
                }
            };
            let found = !rows.is_empty();
            if found == want {
                Ok(())
            } else {
                Err(Failure {
                    msg: format!(
                        "row_exists: expected {want}, found {found} ({} rows match)",
                        rows.len()
                    ),
                    actual: Some(found.to_string()),
                })
            }
        }
        "row_count" => {
            let want: usize = f.expected.parse().map_err(|_| {
                Failure::hard(format!(
                    "row_count expects a whole number, not `{}`",
                    f.expected
                ))
            })?;
            if rows.len() == want {
                Ok(())
            } else {
                differs("row_count", rows.len().to_string())
            }
        }
        "row_position" => {
            // The 1-based position of the matching row in the output's order (§9 sort).
            if rows.is_empty() {
                return Err(Failure::hard(format!("no {output} row matches")));
            }
            let positions: Vec<String> = rows.iter().map(|i| (i + 1).to_string()).collect();
            if positions
                .iter()
                .all(|p| matches(p, &f.expected, &f.compare))
            {
                return Ok(());
            }
            one_value("row_position", positions, f)
        }
        field => {
            let c = column(field)?;
            if rows.is_empty() {
                return Err(Failure::hard(format!("no {output} row matches")));
            }
            let values: Vec<String> = rows.iter().map(|&i| cell(c, i)).collect();
            if values.iter().all(|a| matches(a, &f.expected, &f.compare)) {
                return Ok(());
            }
            one_value(field, values, f)
        }
    }
}

/// The failure of a fact whose matching rows hold `values`: blessable when they agree.
fn one_value(what: &str, values: Vec<String>, f: &Fact) -> Result<(), Failure> {
    let distinct: BTreeSet<String> = values.into_iter().collect();
    let shown: Vec<&str> = distinct.iter().map(String::as_str).collect();
    let compare = match &f.compare {
        Compare::Exact => String::new(),
        c => format!(" ({c:?})"),
    };
    let msg = format!(
        "{what}: expected {}{compare}, found {}",
        f.expected,
        shown.join(" / ")
    );
    let actual = (distinct.len() == 1 && f.compare.blessable())
        .then(|| distinct.into_iter().next().expect("one value"));
    Err(Failure { msg, actual })
}

/// The JSON object `node`'s entry `key`, or an unknown-name failure naming `what`.
fn entry<'a>(node: &'a Value, key: &str, what: &str) -> Result<&'a Value, Failure> {
    let obj = node
        .as_object()
        .ok_or_else(|| Failure::hard(format!("{what} is not an object in run_manifest.json")))?;
    obj.get(key).ok_or_else(|| {
        Failure::hard(format!(
            "run_manifest.json has no {what} `{key}`{}",
            nearest(key, obj.keys().map(String::as_str))
        ))
    })
}

/// The outputs whose facts are entries of `run_manifest.json`.
pub const MANIFEST_OUTPUTS: &[&str] =
    &["data_quality", "coverage_check", "summary", "run_manifest"];

/// Check a fact about a `run_manifest.json` entry (`data_quality`, `coverage_check`,
/// `summary`, `run_manifest`). The `key` pairs are the path (`item=rows_rejected;table=x`);
/// the field is `value`, except for `item=inputs;table=T`, where it names the input entry's
/// field and every input file of table T must hold the value.
pub fn check_manifest(m: &Value, f: &Fact) -> Result<(), Failure> {
    for (name, v) in [
        ("person_id", &f.person_id),
        ("measure", &f.measure),
        ("index_date", &f.index_date),
    ] {
        if !v.is_empty() {
            return Err(Failure::hard(format!(
                "{name} is set, but {} facts are selected by `key` alone",
                f.output
            )));
        }
    }
    let Some(("item", item)) = f.key.first().map(|(k, v)| (k.as_str(), v.as_str())) else {
        return Err(Failure::hard(format!(
            "a {} fact needs `item=…` first in `key`",
            f.output
        )));
    };
    let rest = &f.key[1..];
    let field_is_value = || {
        if f.field == "value" {
            Ok(())
        } else {
            Err(Failure::hard(format!(
                "the field of a {} fact is `value`, not `{}`",
                f.output, f.field
            )))
        }
    };
    let no_more_keys = || match rest.first() {
        None => Ok(()),
        Some((k, _)) => Err(Failure::hard(format!(
            "{} item `{item}` takes no key `{k}`",
            f.output
        ))),
    };
    let section = |name: &str| entry(m, name, "section");
    let nodes: Vec<&Value> = match f.output.as_str() {
        "data_quality" => {
            field_is_value()?;
            let mut n = entry(section("data_quality")?, item, "data_quality item")?;
            for (k, v) in rest {
                n = entry(n, v, &format!("data_quality {item} {k}"))?;
            }
            vec![n]
        }
        "coverage_check" | "summary" => {
            field_is_value()?;
            no_more_keys()?;
            let what = format!("{} item", f.output);
            vec![entry(section(&f.output)?, item, &what)?]
        }
        "run_manifest" => match item {
            "value_sets_replaced" => {
                field_is_value()?;
                no_more_keys()?;
                vec![entry(
                    section("value_sets")?,
                    "replaced",
                    "value_sets entry",
                )?]
            }
            "inputs" => {
                let table = match rest {
                    [(k, t)] if k == "table" => t,
                    _ => {
                        return Err(Failure::hard(
                            "run_manifest item `inputs` takes exactly `table=…` after it",
                        ))
                    }
                };
                let inputs = section("inputs")?
                    .as_array()
                    .ok_or_else(|| Failure::hard("manifest `inputs` is not a list"))?;
                let hits: Vec<&Value> = inputs
                    .iter()
                    .filter(|x| x["table"].as_str() == Some(table.as_str()))
                    .collect();
                if hits.is_empty() {
                    let tables: BTreeSet<&str> =
                        inputs.iter().filter_map(|x| x["table"].as_str()).collect();
                    return Err(Failure::hard(format!(
                        "run_manifest.json lists no input file of table `{table}`{}",
                        nearest(table, tables)
                    )));
                }
                hits.into_iter()
                    .map(|h| entry(h, &f.field, "input field"))
                    .collect::<Result<_, _>>()?
            }
            other => {
                field_is_value()?;
                no_more_keys()?;
                vec![entry(m, other, "entry")?]
            }
        },
        other => unreachable!("not a manifest output: {other}"),
    };
    let values: Vec<String> = nodes
        .into_iter()
        .map(|n| match n {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect();
    if values.iter().all(|a| matches(a, &f.expected, &f.compare)) {
        Ok(())
    } else {
        one_value(&f.field, values, f)
    }
}
