//! Utilization and cost (spec §5, §9): member-months, ED and inpatient rates, PMPM, the trend
//! groups, before/after Health Home enrollment, the comparison group and the
//! difference-in-differences with its bootstrap interval.
//!
//! - **Member-month**: a person counts 1 in a calendar month when covered (payer_type in the
//!   coverage types) on any day of it; overlapping spans count once. Events and dollars count
//!   only in a person's member-months; those in other months of the MP are counted in the
//!   data-quality figures.
//! - **ED visits** (AMB): ED visits not resulting in admission (§1), by month of visit.
//!   **Admissions** (IPU): merged acute stays by admission month; inpatient days = length of
//!   stay (discharge − admission, at least 1); `alos` = days / admissions.
//!   **PMPM**: paid medical (claim_start_date month) + pharmacy (dispensing month) over
//!   member-months; a null paid_amount counts as 0. Money is summed in integer cents.
//! - **Groups** (MP months): `all`; `hh_enrolled` = member-months in which the person is in a
//!   Health Home on any day; `eligible_not_enrolled` = member-months of persons on the outreach
//!   list who were never in a Health Home.
//! - **Before / after**: enrollees (every person with an accepted Health Home row) are anchored
//!   at the month of their earliest enrollment start; before = the 12 months before it, after =
//!   the anchor month and the 11 after; only member-months count; rates pooled (Σ events /
//!   Σ member-months).
//! - **Comparison group**: outreach persons never in a Health Home. Pseudo-anchor: the
//!   enrollees' anchor dates sorted by (date, person_id) into a list of n; element `k mod n`,
//!   k = the first 8 bytes of SHA-256(person_id) as a big-endian u64.
//! - **DiD** = (after − before)_HH − (after − before)_comparison for ED rate, admission rate and
//!   PMPM, with a 95 % percentile interval from a seeded bootstrap over persons (enrollees and
//!   comparison persons resampled separately). Implied savings = −DiD(PMPM) × enrollee
//!   member-months after.

use std::collections::BTreeMap;

use polars::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::events::{month_index, month_start, PersonEvents};
use crate::metrics::{self, N_DID};
use crate::params::{epoch_days, Params};

/// Bootstrap settings (§5).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct BootstrapSettings {
    /// Bootstrap draws (0: no interval).
    pub draws: usize,
    /// The bootstrap seed.
    pub seed: u64,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            draws: 1000,
            seed: 20_120_101,
        }
    }
}

/// What one person did in one month.
#[derive(Debug, Clone, Copy, Default)]
struct Month {
    member: bool,
    health_home: bool,
    ed: u64,
    admissions: u64,
    days: u64,
    medical_cents: i64,
    pharmacy_cents: i64,
    rows: u64,
}

/// A person's months, keyed by `month_index`.
fn person_months(pe: &PersonEvents, hh_cap: i32) -> BTreeMap<i32, Month> {
    let mut m: BTreeMap<i32, Month> = BTreeMap::new();
    for &(s, e) in &pe.coverage {
        for k in month_index(s)..=month_index(e) {
            m.entry(k).or_default().member = true;
        }
    }
    for h in &pe.health_homes {
        let end = h.end.map(month_index).unwrap_or(hh_cap).min(hh_cap);
        for k in month_index(h.start)..=end {
            m.entry(k).or_default().health_home = true;
        }
    }
    for ed in &pe.ed_visits {
        let admitted = pe
            .stays
            .iter()
            .any(|s| s.admission == ed.date || s.admission == ed.date + 1);
        if !admitted {
            m.entry(month_index(ed.date)).or_default().ed += 1;
        }
    }
    for s in &pe.stays {
        let e = m.entry(month_index(s.admission)).or_default();
        e.admissions += 1;
        e.days += s.length() as u64;
    }
    for p in &pe.paid {
        let e = m.entry(p.month).or_default();
        e.medical_cents += p.medical_cents;
        e.pharmacy_cents += p.pharmacy_cents;
        e.rows += p.rows as u64;
    }
    m
}

/// Sums for one group and month (mergeable: plain integer sums of per-person values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Member-months.
    pub member_months: u64,
    /// ED visits not resulting in admission.
    pub ed: u64,
    /// Acute admissions.
    pub admissions: u64,
    /// Inpatient days of those admissions.
    pub days: u64,
    /// Paid on medical lines, in cents.
    pub medical_cents: i64,
    /// Paid on pharmacy fills, in cents.
    pub pharmacy_cents: i64,
}

impl Sums {
    fn add(&mut self, m: &Month) {
        self.member_months += 1;
        self.ed += m.ed;
        self.admissions += m.admissions;
        self.days += m.days;
        self.medical_cents += m.medical_cents;
        self.pharmacy_cents += m.pharmacy_cents;
    }
    /// Add `o`.
    pub fn merge(&mut self, o: &Sums) {
        self.merge_times(o, 1);
    }
    /// Add `k` copies of `o`.
    fn merge_times(&mut self, o: &Sums, k: u32) {
        let k = u64::from(k);
        self.member_months += k * o.member_months;
        self.ed += k * o.ed;
        self.admissions += k * o.admissions;
        self.days += k * o.days;
        self.medical_cents += k as i64 * o.medical_cents;
        self.pharmacy_cents += k as i64 * o.pharmacy_cents;
    }
}

/// §9 data-quality figures of this stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UtilizationQuality {
    /// Medical lines and fills dated in the MP in a month that is not a member-month.
    pub paid_outside_member_months_rows: u64,
    /// Their paid amount, in cents.
    pub paid_outside_member_months_cents: i64,
    /// ED visits (not resulting in admission) in the MP outside member-months.
    pub ed_visits_outside_member_months: u64,
    /// Admissions in the MP outside member-months.
    pub admissions_outside_member_months: u64,
    /// Medical lines and fills with a null paid_amount (counted as 0).
    pub null_paid_amount_rows: u64,
}

/// The groups of member-months `utilization_monthly` reports.
pub const GROUPS: [&str; 3] = ["all", "eligible_not_enrolled", "hh_enrolled"];

/// The utilization stage's outputs.
#[derive(Debug)]
pub struct Utilization {
    /// `utilization_monthly`.
    pub monthly: DataFrame,
    /// `cost_effectiveness`.
    pub cost_effectiveness: DataFrame,
    /// `comparison_assignment`.
    pub comparison_assignment: DataFrame,
    /// The stage's data-quality figures.
    pub quality: UtilizationQuality,
}

/// k of §5: the first 8 bytes of SHA-256(person_id) read as a big-endian u64.
pub fn sha256_k(person_id: &str) -> u64 {
    let h = Sha256::digest(person_id.as_bytes());
    u64::from_be_bytes(h[..8].try_into().expect("8 bytes"))
}

/// Every enrollee's anchor (earliest Health Home enrollment start), sorted by (date,
/// person_id): the list the pseudo-anchors are drawn from.
pub fn enrollee_anchors(input: &caregap_ingest::InputLayer) -> PolarsResult<Vec<(i32, String)>> {
    let df = input
        .lazy("health_home_enrollment")
        .group_by([col("person_id")])
        .agg([col("enrollment_start_date").min().alias("anchor")])
        .sort(["anchor", "person_id"], Default::default())
        .collect()?;
    let ids = df.column("person_id")?.str()?.clone();
    let dates = df.column("anchor")?.cast(&DataType::Int32)?;
    let dates = dates.i32()?;
    Ok(ids
        .iter()
        .zip(dates.iter())
        .filter_map(|(i, d)| Some((d?, i?.to_string())))
        .collect())
}

/// Facts about paid amounts that do not belong to a person's events: rows of persons without
/// an eligibility row (no member-months at all) and the count of null paid amounts.
#[derive(Debug, Clone)]
pub struct PaidInputs {
    /// `month, rows, cents` of persons without an accepted eligibility row.
    pub orphans: DataFrame,
    /// Medical lines and fills with a null paid_amount.
    pub null_paid_rows: u64,
    /// Accepted medical lines and fills whose person has no accepted eligibility row.
    pub orphan_medical_rows: u64,
    /// Accepted pharmacy fills whose person has no eligibility row.
    pub orphan_pharmacy_rows: u64,
}

impl PaidInputs {
    /// From the input and its [`crate::events::paid_by_person_month`] frame (computed once
    /// per run or bucket and shared with the person events: each computation is a group-by
    /// over every claim line).
    pub fn from_paid(input: &caregap_ingest::InputLayer, paid: &DataFrame) -> PolarsResult<Self> {
        let paid = paid.clone().lazy();
        let persons = input
            .lazy("eligibility")
            .select([col("person_id")])
            .unique(None, Default::default());
        let orphans = paid
            .clone()
            .join(
                persons,
                [col("person_id")],
                [col("person_id")],
                JoinArgs::new(JoinType::Anti),
            )
            .select([
                col("month"),
                col("rows"),
                (col("medical_cents") + col("pharmacy_cents")).alias("cents"),
                col("medical_rows"),
            ])
            .collect()?;
        let sum = |df: &DataFrame, c: &str| -> PolarsResult<u64> {
            Ok(df
                .column(c)?
                .as_materialized_series()
                .sum::<i64>()
                .unwrap_or(0) as u64)
        };
        let nulls = paid.select([col("null_paid_rows").sum()]).collect()?;
        let orphan_rows = sum(&orphans, "rows")?;
        let orphan_medical_rows = sum(&orphans, "medical_rows")?;
        Ok(PaidInputs {
            orphans,
            null_paid_rows: sum(&nulls, "null_paid_rows")?,
            orphan_medical_rows,
            orphan_pharmacy_rows: orphan_rows - orphan_medical_rows,
        })
    }
}

/// Accepted rows of input table `table` whose person has no accepted eligibility row: they
/// have no age and enter no measure (spec §8), so a run counts them as orphaned.
pub fn orphan_rows(input: &caregap_ingest::InputLayer, table: &str) -> PolarsResult<u64> {
    let persons = input
        .lazy("eligibility")
        .select([col("person_id")])
        .unique(None, Default::default());
    let n = input
        .lazy(table)
        .select([col("person_id")])
        .join(
            persons,
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Anti),
        )
        .select([len().cast(DataType::Int64).alias("n")])
        .collect()?;
    Ok(n.column("n")?.i64()?.get(0).unwrap_or(0) as u64)
}

/// Per-person before/after aggregates for the DiD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BeforeAfter {
    /// The 12 months before the anchor.
    pub before: Sums,
    /// The 12 months from the anchor.
    pub after: Sums,
}

fn before_after(months: &BTreeMap<i32, Month>, anchor_month: i32) -> BeforeAfter {
    let mut ba = BeforeAfter::default();
    for (k, m) in months.range(anchor_month - 12..=anchor_month + 11) {
        if !m.member {
            continue;
        }
        if *k < anchor_month {
            ba.before.add(m);
        } else {
            ba.after.add(m);
        }
    }
    ba
}

/// The §5 difference-in-differences metrics of a sum ([`metrics::DID`]); None without
/// member-months.
fn rates(s: &Sums) -> Option<[f64; N_DID]> {
    if s.member_months == 0 {
        return None;
    }
    Some(std::array::from_fn(|i| {
        (metrics::DID[i].value)(s).expect("a rate per member-month exists with member-months")
    }))
}

/// DiD of the three metrics and the implied savings for a set of persons.
fn did(enrollees: &[BeforeAfter], comparison: &[BeforeAfter]) -> Option<Draw> {
    let sum = |v: &[BeforeAfter]| {
        let mut b = Sums::default();
        let mut a = Sums::default();
        for x in v {
            b.merge(&x.before);
            a.merge(&x.after);
        }
        (b, a)
    };
    did_of_sums(sum(enrollees), sum(comparison))
}

/// DiD of the three metrics and the implied savings from the (before, after) sums of the
/// enrollees and of the comparison group.
fn did_of_sums((hb, ha): (Sums, Sums), (cb, ca): (Sums, Sums)) -> Option<Draw> {
    let (hb_r, ha_r, cb_r, ca_r) = (rates(&hb)?, rates(&ha)?, rates(&cb)?, rates(&ca)?);
    let d: [f64; N_DID] = std::array::from_fn(|i| (ha_r[i] - hb_r[i]) - (ca_r[i] - cb_r[i]));
    Some((d, -d[metrics::SAVINGS] * ha.member_months as f64))
}

/// The `q` quantile of sorted values, interpolating linearly between order statistics.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let r = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo as f64))
}

fn draw_seed(seed: u64, draw: u64) -> u64 {
    let mut z = seed ^ draw.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One bootstrap draw: DiD of the three metrics and the implied savings.
type Draw = ([f64; N_DID], f64);

/// Percentile intervals of the DiD metrics and savings over `draws` bootstrap resamples.
/// Each draw has its own seeded stream, so the result does not depend on the thread count.
fn bootstrap(
    enrollees: &[BeforeAfter],
    comparison: &[BeforeAfter],
    b: BootstrapSettings,
) -> [Option<(f64, f64)>; N_DID + 1] {
    if enrollees.is_empty() || comparison.is_empty() || b.draws == 0 {
        return [None; N_DID + 1];
    }
    // A resample is drawn as how many times each person is picked (random increments of a
    // small counts array, then one sequential pass over the persons): gathering the drawn
    // persons themselves missed the CPU cache on every pick once the persons outgrew it
    // (5.5 s at 1,000,000 persons against 0.1 s at 100,000). The sums are integers, so
    // the result equals summing the picks one by one, in any order.
    let results: Vec<Option<Draw>> = (0..b.draws as u64)
        .into_par_iter()
        .map_init(Vec::new, |counts: &mut Vec<u32>, k| {
            let mut rng = ChaCha8Rng::seed_from_u64(draw_seed(b.seed, k));
            let mut resample = |v: &[BeforeAfter]| {
                counts.clear();
                counts.resize(v.len(), 0);
                for _ in 0..v.len() {
                    counts[rng.random_range(0..v.len())] += 1;
                }
                let (mut before, mut after) = (Sums::default(), Sums::default());
                for (x, &n) in v.iter().zip(counts.iter()) {
                    if n > 0 {
                        before.merge_times(&x.before, n);
                        after.merge_times(&x.after, n);
                    }
                }
                (before, after)
            };
            let e = resample(enrollees);
            let c = resample(comparison);
            did_of_sums(e, c)
        })
        .collect();
    let interval = |f: &dyn Fn(&Draw) -> f64| {
        let mut v: Vec<f64> = results
            .iter()
            .flatten()
            .map(f)
            .filter(|x| x.is_finite())
            .collect();
        v.sort_by(f64::total_cmp);
        Some((percentile(&v, 0.025)?, percentile(&v, 0.975)?))
    };
    std::array::from_fn(|i| {
        if i < N_DID {
            interval(&|r| r.0[i])
        } else {
            interval(&|r| r.1)
        }
    })
}

/// The mergeable partial of the utilization stage for a set of persons: integer sums per
/// month and group, the data-quality sums, each enrollee's and comparison person's before/after
/// sums (for the DiD and its bootstrap) and the comparison assignment. Partials of disjoint sets
/// of persons merge exactly ([`UtilizationPartial::merge`]); [`utilization_finish`] turns the
/// merged partial into the outputs, so a run over person buckets equals a run over everyone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UtilizationPartial {
    /// `groups[k][g]`: month `m0 + k` of the MP, group `GROUPS[g]`.
    pub groups: Vec<[Sums; 3]>,
    /// The stage's data-quality figures.
    pub quality: UtilizationQuality,
    /// (person_id, is an enrollee, before/after sums), sorted by person_id.
    pub persons: Vec<(String, bool, BeforeAfter)>,
    /// (person_id, pseudo-anchor date as days since 1970-01-01), sorted by person_id.
    pub assignment: Vec<(String, i32)>,
}

impl UtilizationPartial {
    /// Merge partials of disjoint sets of persons: sums added, persons re-sorted by id.
    pub fn merge(parts: Vec<UtilizationPartial>) -> UtilizationPartial {
        let mut out = UtilizationPartial::default();
        for p in parts {
            if out.groups.len() < p.groups.len() {
                out.groups.resize(p.groups.len(), [Sums::default(); 3]);
            }
            for (g, pg) in out.groups.iter_mut().zip(&p.groups) {
                for i in 0..3 {
                    g[i].merge(&pg[i]);
                }
            }
            out.quality.merge(&p.quality);
            out.persons.extend(p.persons);
            out.assignment.extend(p.assignment);
        }
        out.persons.sort_by(|a, b| a.0.cmp(&b.0));
        out.assignment.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

impl UtilizationQuality {
    /// Add `o`.
    pub fn merge(&mut self, o: &UtilizationQuality) {
        self.paid_outside_member_months_rows += o.paid_outside_member_months_rows;
        self.paid_outside_member_months_cents += o.paid_outside_member_months_cents;
        self.ed_visits_outside_member_months += o.ed_visits_outside_member_months;
        self.admissions_outside_member_months += o.admissions_outside_member_months;
        self.null_paid_amount_rows += o.null_paid_amount_rows;
    }
}

/// Compute `utilization_monthly`, `cost_effectiveness` and `comparison_assignment`.
pub fn utilization(
    people: &[PersonEvents],
    anchors: &[(i32, String)],
    paid_inputs: &PaidInputs,
    p: &Params,
    boot: BootstrapSettings,
) -> PolarsResult<Utilization> {
    utilization_finish(
        utilization_partial(people, anchors, paid_inputs, p)?,
        p,
        boot,
    )
}

/// The partial of one set of persons. `anchors` is the global enrollee anchor list (every
/// enrollee of the whole input, not only of this set), so that every set assigns the same
/// pseudo-anchors.
pub fn utilization_partial(
    people: &[PersonEvents],
    anchors: &[(i32, String)],
    paid_inputs: &PaidInputs,
    p: &Params,
) -> PolarsResult<UtilizationPartial> {
    let (m0, m1) = (
        month_index(epoch_days(p.period_start)),
        month_index(epoch_days(p.period_end)),
    );
    let n_months = (m1 - m0 + 1).max(0) as usize;
    // HH months only matter in the MP (trend groups); cap open spans there.
    let cap = m1;

    struct Partial {
        groups: Vec<[Sums; 3]>,
        quality: UtilizationQuality,
        ba: Option<(bool, BeforeAfter)>,
        assignment: Option<i32>,
    }
    let n = anchors.len() as u64;
    let partials: Vec<Partial> = people
        .par_iter()
        .map(|pe| {
            let months = person_months(pe, cap);
            let never_hh = pe.health_homes.is_empty();
            let mut groups = vec![[Sums::default(); 3]; n_months];
            let mut q = UtilizationQuality::default();
            for (k, m) in months.range(m0..=m1) {
                let g = &mut groups[(k - m0) as usize];
                if m.member {
                    g[0].add(m);
                    if pe.outreach && never_hh {
                        g[1].add(m);
                    }
                    if m.health_home {
                        g[2].add(m);
                    }
                } else {
                    q.paid_outside_member_months_rows += m.rows;
                    q.paid_outside_member_months_cents += m.medical_cents + m.pharmacy_cents;
                    q.ed_visits_outside_member_months += m.ed;
                    q.admissions_outside_member_months += m.admissions;
                }
            }
            let (ba, assignment) = if !never_hh {
                let first = pe
                    .health_homes
                    .iter()
                    .map(|h| h.start)
                    .min()
                    .expect("non-empty");
                (
                    Some((true, before_after(&months, month_index(first)))),
                    None,
                )
            } else if pe.outreach && n > 0 {
                let pseudo = anchors[(sha256_k(&pe.person_id) % n) as usize].0;
                (
                    Some((false, before_after(&months, month_index(pseudo)))),
                    Some(pseudo),
                )
            } else {
                (None, None)
            };
            Partial {
                groups,
                quality: q,
                ba,
                assignment,
            }
        })
        .collect();

    // Reduce in person order (integer sums: the same whatever the threads).
    let mut out = UtilizationPartial {
        groups: vec![[Sums::default(); 3]; n_months],
        ..Default::default()
    };
    for (pe, part) in people.iter().zip(partials) {
        for (g, pg) in out.groups.iter_mut().zip(&part.groups) {
            for i in 0..3 {
                g[i].merge(&pg[i]);
            }
        }
        out.quality.merge(&part.quality);
        if let Some((enrollee, ba)) = part.ba {
            out.persons.push((pe.person_id.clone(), enrollee, ba));
        }
        if let Some(d) = part.assignment {
            out.assignment.push((pe.person_id.clone(), d));
        }
    }
    // Rows of persons without an eligibility row have no member-months at all.
    let orphan_paid = &paid_inputs.orphans;
    if orphan_paid.height() > 0 {
        let months = orphan_paid.column("month")?.i32()?;
        let rows = orphan_paid.column("rows")?.i64()?;
        let cents = orphan_paid.column("cents")?.i64()?;
        for i in 0..orphan_paid.height() {
            if months.get(i).is_some_and(|m| m >= m0 && m <= m1) {
                out.quality.paid_outside_member_months_rows += rows.get(i).unwrap_or(0) as u64;
                out.quality.paid_outside_member_months_cents += cents.get(i).unwrap_or(0);
            }
        }
    }
    out.quality.null_paid_amount_rows += paid_inputs.null_paid_rows;
    // `people` is sorted by person_id; keep the partial's promise whatever the caller passed.
    out.persons.sort_by(|a, b| a.0.cmp(&b.0));
    out.assignment.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The outputs from a (merged) partial: rates from the summed integers, the DiD over the
/// persons in person_id order, its bootstrap with the given seed.
pub fn utilization_finish(
    part: UtilizationPartial,
    p: &Params,
    boot: BootstrapSettings,
) -> PolarsResult<Utilization> {
    let (m0, m1) = (
        month_index(epoch_days(p.period_start)),
        month_index(epoch_days(p.period_end)),
    );
    let n_months = (m1 - m0 + 1).max(0) as usize;
    let mut groups = part.groups;
    groups.resize(n_months, [Sums::default(); 3]);
    let quality = part.quality;
    let (mut enrollees, mut comparison) = (Vec::new(), Vec::new());
    for (_, enrollee, ba) in &part.persons {
        if *enrollee {
            enrollees.push(*ba);
        } else {
            comparison.push(*ba);
        }
    }
    let (ca_ids, ca_dates): (Vec<String>, Vec<i32>) = part.assignment.into_iter().unzip();

    // utilization_monthly.
    let mut cols: (Vec<&str>, Vec<i32>) = (vec![], vec![]);
    let mut v: [Vec<Option<f64>>; metrics::MONTHLY.len()] = Default::default();
    let (mut mm, mut ed, mut adm, mut days, mut med, mut rx, mut tot) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for (gi, g) in GROUPS.iter().enumerate() {
        for (k, row) in groups.iter().enumerate() {
            let s = &row[gi];
            cols.0.push(g);
            cols.1.push(epoch_days(month_start(m0 + k as i32)));
            mm.push(s.member_months as i64);
            ed.push(s.ed as i64);
            adm.push(s.admissions as i64);
            days.push(s.days as i64);
            med.push(s.medical_cents as f64 / 100.0);
            rx.push(s.pharmacy_cents as f64 / 100.0);
            tot.push((s.medical_cents + s.pharmacy_cents) as f64 / 100.0);
            for (col, m) in v.iter_mut().zip(metrics::MONTHLY.iter()) {
                col.push((m.value)(s));
            }
        }
    }
    let mut monthly_cols = vec![
        Column::new("group".into(), cols.0),
        Series::new("month".into(), cols.1)
            .cast(&DataType::Date)?
            .into(),
        Column::new("member_months".into(), mm),
        Column::new("ed_visits".into(), ed),
        Column::new("admissions".into(), adm),
        Column::new("inpatient_days".into(), days),
        Column::new("paid_medical".into(), med),
        Column::new("paid_pharmacy".into(), rx),
        Column::new("paid_total".into(), tot),
    ];
    for (values, m) in v.into_iter().zip(metrics::MONTHLY.iter()) {
        monthly_cols.push(Column::new(m.id.into(), values));
    }
    let monthly = DataFrame::new_infer_height(monthly_cols)?;

    // cost_effectiveness.
    let pooled = |v: &[BeforeAfter]| {
        let mut b = Sums::default();
        let mut a = Sums::default();
        for x in v {
            b.merge(&x.before);
            a.merge(&x.after);
        }
        (rates(&b), rates(&a), a.member_months)
    };
    let (hb, ha, hh_mm_after) = pooled(&enrollees);
    let (cb, cafter, _) = pooled(&comparison);
    let point = did(&enrollees, &comparison);
    let ci = bootstrap(&enrollees, &comparison, boot);
    let mut metric = vec![];
    let mut c: [Vec<Option<f64>>; 7] = Default::default();
    for (i, m) in metrics::DID.iter().enumerate() {
        metric.push(m.id);
        c[0].push(hb.map(|r| r[i]));
        c[1].push(ha.map(|r| r[i]));
        c[2].push(cb.map(|r| r[i]));
        c[3].push(cafter.map(|r| r[i]));
        c[4].push(point.map(|p| p.0[i]));
        c[5].push(ci[i].map(|x| x.0));
        c[6].push(ci[i].map(|x| x.1));
    }
    metric.push(metrics::IMPLIED_SAVINGS);
    for col in c.iter_mut().take(4) {
        col.push(None);
    }
    c[4].push(point.map(|p| p.1));
    c[5].push(ci[N_DID].map(|x| x.0));
    c[6].push(ci[N_DID].map(|x| x.1));
    let [c0, c1, c2, c3, c4, c5, c6] = c;
    let n_rows = metric.len();
    let cost_effectiveness = DataFrame::new_infer_height(vec![
        Column::new("metric".into(), metric),
        Column::new("hh_before".into(), c0),
        Column::new("hh_after".into(), c1),
        Column::new("comparison_before".into(), c2),
        Column::new("comparison_after".into(), c3),
        Column::new("did".into(), c4),
        Column::new("did_ci_low".into(), c5),
        Column::new("did_ci_high".into(), c6),
        Column::new("hh_persons".into(), vec![enrollees.len() as i64; n_rows]),
        Column::new(
            "comparison_persons".into(),
            vec![comparison.len() as i64; n_rows],
        ),
        Column::new(
            "hh_member_months_after".into(),
            vec![hh_mm_after as i64; n_rows],
        ),
        Column::new("bootstrap_draws".into(), vec![boot.draws as i64; n_rows]),
    ])?;

    let comparison_assignment = DataFrame::new_infer_height(vec![
        Column::new("person_id".into(), ca_ids),
        Series::new("pseudo_anchor_date".into(), ca_dates)
            .cast(&DataType::Date)?
            .into(),
    ])?;
    Ok(Utilization {
        monthly,
        cost_effectiveness,
        comparison_assignment,
        quality,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.5), Some(3.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 1.0), Some(5.0));
        assert!((percentile(&v, 0.025).unwrap() - 1.1).abs() < 1e-12);
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn sha256_k_is_big_endian_first_8_bytes() {
        // SHA-256("abc") = ba7816bf 8f01cfea …
        assert_eq!(sha256_k("abc"), 0xba78_16bf_8f01_cfea);
    }
}
