//! The on-disk format of a partial (what `caregap run --bucket i` writes and `caregap merge`
//! reads): a folder of Parquet files and [`PARTIAL_FACTS`].
//!
//! | file | holds |
//! |---|---|
//! | `partial.json` | `format_version` ([`FORMAT_VERSION`]) and the [`PartialFacts`] |
//! | `conditions.parquet`, `eligibility.parquet`, `care_gaps.parquet`, `rejects.parquet` | the [`crate::PERSON_FRAMES`] |
//! | `summary_counts.parquet` | measure, group_type, group_id, open, closed, excluded |
//! | `core_set_counts.parquet` | the Core Set cells with a row in the bucket ([`caregap_transform::core_set`]) |
//! | `utilization_*.parquet` | the utilization partial (`format/utilization.rs`: its one place) |
//!
//! Every file is written atomically. [`read`] checks the format version before anything else:
//! a partial written by a caregap with another format is refused with
//! [`ScaleoutError::FormatVersion`] rather than misread. **Bump [`FORMAT_VERSION`] whenever
//! what these files hold or mean changes** (a column, a field, a unit, a sort order).

mod utilization;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use caregap_report::{contract, write_atomic, write_output};
use caregap_transform::core_set::{Cell, CoreKey, CoreSetCounts};
use caregap_transform::summary::{Counts, SummaryCounts};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ScaleoutError;
use crate::facts::PartialFacts;
use crate::partial::{Partial, PERSON_FRAMES};

/// The facts file of a partial folder.
pub const PARTIAL_FACTS: &str = "partial.json";

/// The on-disk format version this caregap writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 2;

/// `partial.json` as written: the version first, then the facts.
#[derive(Serialize)]
struct FactsFile<'a> {
    format_version: u32,
    #[serde(flatten)]
    facts: &'a PartialFacts,
}

/// Just the version of a `partial.json`, read before the rest (whose shape may differ).
#[derive(Deserialize)]
struct VersionOnly {
    format_version: Option<u32>,
}

/// Write `part` into `dir` (every file atomically).
pub fn write(part: &Partial, dir: &Path) -> Result<(), ScaleoutError> {
    fs::create_dir_all(dir).map_err(|e| ScaleoutError::Io {
        what: "create",
        path: dir.to_path_buf(),
        source: e,
    })?;
    // Each file checked against its declaration (caregap_report::contract).
    for (name, df) in &part.frames {
        write_output(
            contract::output(name).map_err(caregap_report::ReportError::from)?,
            &mut df.clone(),
            dir,
        )?;
    }
    write_output(
        &contract::SUMMARY_COUNTS,
        &mut counts_frame(&part.counts)?,
        dir,
    )?;
    write_output(
        &contract::CORE_SET_COUNTS,
        &mut core_set_frame(&part.core_set)?,
        dir,
    )?;
    for (name, mut df) in utilization::to_frames(&part.utilization)? {
        write_output(
            contract::output(name).map_err(caregap_report::ReportError::from)?,
            &mut df,
            dir,
        )?;
    }
    let json = serde_json::to_vec_pretty(&FactsFile {
        format_version: FORMAT_VERSION,
        facts: &part.facts,
    })
    .map_err(ScaleoutError::Encode)?;
    write_atomic(&dir.join(PARTIAL_FACTS), &json)?;
    Ok(())
}

/// Read a partial folder written by [`write()`], refusing one of another [`FORMAT_VERSION`].
pub fn read(dir: &Path) -> Result<Partial, ScaleoutError> {
    let file = dir.join(PARTIAL_FACTS);
    let bytes = fs::read(&file).map_err(|_| ScaleoutError::NotAPartial {
        dir: dir.to_path_buf(),
    })?;
    let parse = |e| ScaleoutError::Parse {
        file: file.clone(),
        source: e,
    };
    let version: VersionOnly = serde_json::from_slice(&bytes).map_err(parse)?;
    if version.format_version != Some(FORMAT_VERSION) {
        return Err(ScaleoutError::FormatVersion {
            file,
            found: version.format_version,
            expected: FORMAT_VERSION,
        });
    }
    let facts: PartialFacts = serde_json::from_slice(&bytes).map_err(parse)?;
    let read = |name: &str| Frame::read(&dir.join(format!("{name}.parquet")));
    let mut frames = BTreeMap::new();
    for (name, _) in PERSON_FRAMES {
        frames.insert(*name, read(name)?.df);
    }
    let counts = counts_from_frame(&read("summary_counts")?)?;
    let core_set = core_set_from_frame(&read("core_set_counts")?)?;
    let utilization = utilization::from_frames(read, facts.utilization_quality.clone())?;
    Ok(Partial {
        frames,
        counts,
        core_set,
        utilization,
        facts,
    })
}

impl Partial {
    /// [`write()`] this partial into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), ScaleoutError> {
        write(self, dir)
    }

    /// [`read()`] the partial in `dir`.
    pub fn read(dir: &Path) -> Result<Partial, ScaleoutError> {
        read(dir)
    }
}

/// A frame read from a partial, with its file for the errors.
pub(crate) struct Frame {
    file: PathBuf,
    df: DataFrame,
}

impl Frame {
    fn read(file: &Path) -> Result<Frame, ScaleoutError> {
        let f = fs::File::open(file).map_err(|e| ScaleoutError::Io {
            what: "open",
            path: file.to_path_buf(),
            source: e,
        })?;
        let df = ParquetReader::new(f)
            .finish()
            .map_err(|e| self::frame_error(file, e))?;
        Ok(Frame {
            file: file.to_path_buf(),
            df,
        })
    }

    fn height(&self) -> usize {
        self.df.height()
    }

    fn column(&self, c: &str) -> Result<&Column, ScaleoutError> {
        self.df.column(c).map_err(|e| frame_error(&self.file, e))
    }

    /// A text column (null as "").
    fn strs(&self, c: &str) -> Result<Vec<String>, ScaleoutError> {
        let col = self.column(c)?;
        let ca = col.str().map_err(|e| frame_error(&self.file, e))?;
        Ok(ca
            .iter()
            .map(|s| s.unwrap_or_default().to_string())
            .collect())
    }

    /// An integer column (null as 0).
    fn ints(&self, c: &str) -> Result<Vec<i64>, ScaleoutError> {
        let col = self
            .column(c)?
            .cast(&DataType::Int64)
            .map_err(|e| frame_error(&self.file, e))?;
        let ca = col.i64().map_err(|e| frame_error(&self.file, e))?;
        Ok(ca.iter().map(|v| v.unwrap_or(0)).collect())
    }

    /// A boolean column (null as false).
    fn bools(&self, c: &str) -> Result<Vec<bool>, ScaleoutError> {
        let col = self.column(c)?;
        let ca = col.bool().map_err(|e| frame_error(&self.file, e))?;
        Ok(ca.iter().map(|b| b.unwrap_or(false)).collect())
    }
}

fn frame_error(file: &Path, e: PolarsError) -> ScaleoutError {
    ScaleoutError::Frame {
        file: file.to_path_buf(),
        source: e,
    }
}

fn counts_frame(c: &SummaryCounts) -> PolarsResult<DataFrame> {
    let (mut m, mut t, mut g, mut o, mut cl, mut e) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for ((measure, gt, gid), v) in c {
        m.push(measure.as_str());
        t.push(gt.as_str());
        g.push(gid.as_str());
        o.push(v.open as i64);
        cl.push(v.closed as i64);
        e.push(v.excluded as i64);
    }
    DataFrame::new_infer_height(vec![
        Column::new("measure".into(), m),
        Column::new("group_type".into(), t),
        Column::new("group_id".into(), g),
        Column::new("open".into(), o),
        Column::new("closed".into(), cl),
        Column::new("excluded".into(), e),
    ])
}

fn core_set_frame(c: &CoreSetCounts) -> PolarsResult<DataFrame> {
    let mut k: [Vec<&str>; 6] = Default::default();
    let mut v: [Vec<i64>; 6] = Default::default();
    for (key, cell) in c {
        for (col, x) in k.iter_mut().zip([
            &key.program,
            &key.measure,
            &key.rate,
            &key.age_band,
            &key.stratum_type,
            &key.stratum,
        ]) {
            col.push(x.as_str());
        }
        for (col, x) in v.iter_mut().zip([
            cell.numerator as i64,
            cell.denominator as i64,
            cell.excluded as i64,
            cell.history_short as i64,
            cell.events,
            cell.months,
        ]) {
            col.push(x);
        }
    }
    let [p, m, r, b, t, st] = k;
    let [num, den, exc, hs, ev, mo] = v;
    DataFrame::new_infer_height(vec![
        Column::new("program".into(), p),
        Column::new("measure".into(), m),
        Column::new("rate".into(), r),
        Column::new("age_band".into(), b),
        Column::new("stratum_type".into(), t),
        Column::new("stratum".into(), st),
        Column::new("numerator".into(), num),
        Column::new("denominator".into(), den),
        Column::new("excluded".into(), exc),
        Column::new("history_short".into(), hs),
        Column::new("events".into(), ev),
        Column::new("months".into(), mo),
    ])
}

fn core_set_from_frame(df: &Frame) -> Result<CoreSetCounts, ScaleoutError> {
    let k = [
        df.strs("program")?,
        df.strs("measure")?,
        df.strs("rate")?,
        df.strs("age_band")?,
        df.strs("stratum_type")?,
        df.strs("stratum")?,
    ];
    let v = [
        df.ints("numerator")?,
        df.ints("denominator")?,
        df.ints("excluded")?,
        df.ints("history_short")?,
        df.ints("events")?,
        df.ints("months")?,
    ];
    let mut out = CoreSetCounts::new();
    for i in 0..df.height() {
        out.insert(
            CoreKey {
                program: k[0][i].clone(),
                measure: k[1][i].clone(),
                rate: k[2][i].clone(),
                age_band: k[3][i].clone(),
                stratum_type: k[4][i].clone(),
                stratum: k[5][i].clone(),
            },
            Cell {
                numerator: v[0][i] as u64,
                denominator: v[1][i] as u64,
                excluded: v[2][i] as u64,
                history_short: v[3][i] as u64,
                events: v[4][i],
                months: v[5][i],
            },
        );
    }
    Ok(out)
}

fn counts_from_frame(df: &Frame) -> Result<SummaryCounts, ScaleoutError> {
    let (m, t, g) = (
        df.strs("measure")?,
        df.strs("group_type")?,
        df.strs("group_id")?,
    );
    let (o, c, e) = (df.ints("open")?, df.ints("closed")?, df.ints("excluded")?);
    let mut out = SummaryCounts::new();
    for i in 0..df.height() {
        out.insert(
            (m[i].clone(), t[i].clone(), g[i].clone()),
            Counts {
                open: o[i] as u64,
                closed: c[i] as u64,
                excluded: e[i] as u64,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use caregap_transform::summary::Counts;
    use caregap_transform::utilization::UtilizationPartial;

    use super::*;

    fn partial() -> Partial {
        let mut frames = BTreeMap::new();
        // Frames of the declared shapes (the writer checks them against the contract); the
        // care gaps as transform makes them, two persons' rows.
        for (name, _) in PERSON_FRAMES {
            frames.insert(*name, contract::output(name).unwrap().empty_frame());
        }
        use caregap_transform::events::PersonEvents;
        use caregap_transform::measures::{care_gaps_frame, GapRow, Outcome};
        let people: Vec<PersonEvents> = ["A1", "B2"]
            .iter()
            .map(|id| PersonEvents {
                person_id: id.to_string(),
                ..Default::default()
            })
            .collect();
        let rows: Vec<Vec<GapRow>> = [10, 20]
            .iter()
            .map(|d| {
                vec![GapRow::new(
                    "fuh_7",
                    *d,
                    d + 7,
                    vec![format!("C{d}")],
                    Outcome::Open { evidence: None },
                )]
            })
            .collect();
        frames.insert("care_gaps", care_gaps_frame(&people, &rows).unwrap());
        let mut counts = SummaryCounts::new();
        counts.insert(
            ("fuh".into(), "overall".into(), "all".into()),
            Counts {
                open: 1,
                closed: 2,
                excluded: 3,
            },
        );
        let mut core_set = CoreSetCounts::new();
        core_set.insert(
            CoreKey {
                program: "cmhc".into(),
                measure: "FUH-HH".into(),
                rate: "7-day".into(),
                age_band: "total".into(),
                stratum_type: "none".into(),
                stratum: "all".into(),
            },
            Cell {
                numerator: 1,
                denominator: 2,
                excluded: 3,
                history_short: 0,
                events: 4,
                months: 5,
            },
        );
        Partial {
            frames,
            counts,
            core_set,
            utilization: UtilizationPartial::default(),
            facts: PartialFacts {
                bucket: Some((0, 2)),
                settings: "{\"s\":1}".into(),
                ..Default::default()
            },
        }
    }

    fn set_version(dir: &Path, v: Option<u32>) {
        let file = dir.join(PARTIAL_FACTS);
        let mut json: serde_json::Value =
            serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
        let obj = json.as_object_mut().unwrap();
        match v {
            Some(v) => obj.insert("format_version".into(), v.into()),
            None => obj.remove("format_version"),
        };
        fs::write(&file, serde_json::to_vec(&json).unwrap()).unwrap();
    }

    #[test]
    fn a_partial_reads_back_as_written_with_its_version() {
        let d = tempfile::tempdir().unwrap();
        let p = partial();
        p.write(d.path()).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(d.path().join(PARTIAL_FACTS)).unwrap()).unwrap();
        assert_eq!(json["format_version"], FORMAT_VERSION);
        let back = Partial::read(d.path()).unwrap();
        assert_eq!(back.counts, p.counts);
        assert_eq!(back.core_set, p.core_set);
        assert_eq!(back.facts.bucket, Some((0, 2)));
        assert_eq!(back.facts.settings, p.facts.settings);
        assert!(back.frames["care_gaps"].equals_missing(&p.frames["care_gaps"]));
        assert_eq!(back.frames["care_gaps"].height(), 2);
    }

    #[test]
    fn a_partial_of_another_format_version_is_refused_naming_file_versions_and_remedy() {
        let d = tempfile::tempdir().unwrap();
        partial().write(d.path()).unwrap();
        let file = d.path().join(PARTIAL_FACTS);
        set_version(d.path(), Some(FORMAT_VERSION + 1));
        let e = Partial::read(d.path()).unwrap_err();
        assert!(
            matches!(&e, ScaleoutError::FormatVersion { file: f, found: Some(v), expected }
                if *f == file && *v == FORMAT_VERSION + 1 && *expected == FORMAT_VERSION),
            "{e:?}"
        );
        let m = e.to_string();
        assert!(m.contains(&file.display().to_string()), "{m}");
        assert!(
            m.contains(&format!("partial format version {}", FORMAT_VERSION + 1))
                && m.contains(&format!("this caregap reads version {FORMAT_VERSION}"))
                && m.contains("re-run the buckets"),
            "{m}"
        );
        // A partial from before versions were written.
        set_version(d.path(), None);
        let m = Partial::read(d.path()).unwrap_err().to_string();
        assert!(
            m.contains("partial format version none") && m.contains("re-run the buckets"),
            "{m}"
        );
    }

    #[test]
    fn a_folder_without_facts_is_not_a_partial() {
        let d = tempfile::tempdir().unwrap();
        let e = Partial::read(d.path()).unwrap_err();
        assert!(matches!(e, ScaleoutError::NotAPartial { .. }));
        assert!(e.to_string().contains("is not a bucket output"));
    }
}
