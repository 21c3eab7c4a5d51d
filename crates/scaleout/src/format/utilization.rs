//! The utilization partial on disk: its one place. Three frames —
//! `utilization_groups` (month index `k`, group, the sums), `utilization_persons` (person_id,
//! enrollee, before_/after_ sums) and `utilization_assignment` (person_id, date) — written from
//! and read back into `caregap_transform::utilization::UtilizationPartial`. A change to what
//! that partial holds changes this file (and [`super::FORMAT_VERSION`]), nothing else.

use caregap_transform::utilization::{BeforeAfter, Sums, UtilizationPartial, UtilizationQuality};
use polars::prelude::*;

use super::Frame;
use crate::error::ScaleoutError;

/// The sums of one month × group, or one side of a person's DiD, as columns.
const SUM_FIELDS: [&str; 6] = [
    "member_months",
    "ed",
    "admissions",
    "days",
    "medical_cents",
    "pharmacy_cents",
];

fn sum_values(s: &Sums) -> [i64; 6] {
    [
        s.member_months as i64,
        s.ed as i64,
        s.admissions as i64,
        s.days as i64,
        s.medical_cents,
        s.pharmacy_cents,
    ]
}

fn sums_from(v: [i64; 6]) -> Sums {
    Sums {
        member_months: v[0] as u64,
        ed: v[1] as u64,
        admissions: v[2] as u64,
        days: v[3] as u64,
        medical_cents: v[4],
        pharmacy_cents: v[5],
    }
}

/// The frames of `u`, by file name (without `.parquet`).
pub(super) fn to_frames(u: &UtilizationPartial) -> PolarsResult<[(&'static str, DataFrame); 3]> {
    let (mut k, mut g) = (vec![], vec![]);
    let mut sums: [Vec<i64>; 6] = Default::default();
    for (i, row) in u.groups.iter().enumerate() {
        for (gi, s) in row.iter().enumerate() {
            k.push(i as i32);
            g.push(gi as i32);
            for (f, v) in sums.iter_mut().zip(sum_values(s)) {
                f.push(v);
            }
        }
    }
    let mut cols = vec![Column::new("k".into(), k), Column::new("group".into(), g)];
    for (name, v) in SUM_FIELDS.iter().zip(sums) {
        cols.push(Column::new((*name).into(), v));
    }
    let groups = DataFrame::new_infer_height(cols)?;

    let (mut id, mut enrollee) = (vec![], vec![]);
    let mut ba: [Vec<i64>; 12] = Default::default();
    for (pid, e, x) in &u.persons {
        id.push(pid.as_str());
        enrollee.push(*e);
        for (f, v) in ba.iter_mut().zip(
            sum_values(&x.before)
                .into_iter()
                .chain(sum_values(&x.after)),
        ) {
            f.push(v);
        }
    }
    let mut cols = vec![
        Column::new("person_id".into(), id),
        Column::new("enrollee".into(), enrollee),
    ];
    for (i, v) in ba.into_iter().enumerate() {
        let side = if i < 6 { "before" } else { "after" };
        cols.push(Column::new(
            format!("{side}_{}", SUM_FIELDS[i % 6]).into(),
            v,
        ));
    }
    let persons = DataFrame::new_infer_height(cols)?;
    let (aid, adate): (Vec<&str>, Vec<i32>) =
        u.assignment.iter().map(|(p, d)| (p.as_str(), *d)).unzip();
    let assignment = DataFrame::new_infer_height(vec![
        Column::new("person_id".into(), aid),
        Column::new("date".into(), adate),
    ])?;
    Ok([
        ("utilization_groups", groups),
        ("utilization_persons", persons),
        ("utilization_assignment", assignment),
    ])
}

/// The utilization partial from its frames (`read` opens one by file name); the quality
/// counts live in `partial.json`.
pub(super) fn from_frames(
    read: impl Fn(&str) -> Result<Frame, ScaleoutError>,
    quality: UtilizationQuality,
) -> Result<UtilizationPartial, ScaleoutError> {
    let groups = read("utilization_groups")?;
    let persons = read("utilization_persons")?;
    let assignment = read("utilization_assignment")?;
    let k = groups.ints("k")?;
    let g = groups.ints("group")?;
    let fields: Vec<Vec<i64>> = SUM_FIELDS
        .iter()
        .map(|f| groups.ints(f))
        .collect::<Result<_, _>>()?;
    let n = k.iter().max().map(|m| *m as usize + 1).unwrap_or(0);
    let mut out = UtilizationPartial {
        groups: vec![[Sums::default(); 3]; n],
        quality,
        ..Default::default()
    };
    for i in 0..groups.height() {
        out.groups[k[i] as usize][g[i] as usize] = sums_from(std::array::from_fn(|f| fields[f][i]));
    }
    let ids = persons.strs("person_id")?;
    let enrollee = persons.bools("enrollee")?;
    let cols: Vec<Vec<i64>> = ["before", "after"]
        .iter()
        .flat_map(|side| SUM_FIELDS.iter().map(move |f| format!("{side}_{f}")))
        .map(|c| persons.ints(&c))
        .collect::<Result<_, _>>()?;
    for i in 0..persons.height() {
        out.persons.push((
            ids[i].clone(),
            enrollee[i],
            BeforeAfter {
                before: sums_from(std::array::from_fn(|f| cols[f][i])),
                after: sums_from(std::array::from_fn(|f| cols[6 + f][i])),
            },
        ));
    }
    let aid = assignment.strs("person_id")?;
    let adate = assignment.ints("date")?;
    out.assignment = aid
        .into_iter()
        .zip(adate.into_iter().map(|d| d as i32))
        .collect();
    Ok(out)
}
