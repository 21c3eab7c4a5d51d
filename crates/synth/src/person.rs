//! One synthetic person: demographics, coverage, planted conditions, Health Home enrollment,
//! utilization, and the ground truth that follows from what was planted.
//!
//! Ground truth is planted by construction, never computed by the measure code: each chronic
//! condition is given a *status* first (present, a single-date near miss, or absent) and then
//! exactly the evidence that status needs is written. Background visits, ED visits and stays
//! only carry diagnosis codes of conditions already present or neutral codes that are in no
//! value set, so nothing else can create or complete a condition.

use chrono::{Datelike, Duration, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

use crate::tables::*;
use crate::SynthConfig;

/// The condition families the generator plants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cond {
    /// Serious (persistent) mental illness: schizophrenia, bipolar, recurrent major depression,
    /// schizoaffective disorder; it alone meets the SPMI rule.
    Smi,
    /// A mental illness other than SPMI (depression, generalized anxiety, post-traumatic stress).
    MentalIllness,
    /// Substance use disorder (opioid, alcohol, cannabis dependence).
    Sud,
    /// Diabetes (type 2 or type 1), one of the five chronic conditions and an at-risk factor.
    Diabetes,
    /// Hypertension, counted as cardiovascular disease by the program rules.
    Hypertension,
    /// Cardiovascular disease other than hypertension (coronary disease, heart failure, atrial
    /// fibrillation).
    OtherCardio,
    /// Asthma, one of the five chronic conditions.
    Asthma,
    /// Overweight or obesity (diagnosis or a BMI over 25); present on one date of evidence.
    Overweight,
    /// Developmental disability (intellectual disability, Down syndrome, cerebral palsy).
    DevDisability,
    /// Tobacco use (diagnosis, cessation counselling or tobacco-status observation); present on
    /// one date of evidence.
    Smoking,
}

use Cond::*;

const ALL: [Cond; 10] = [
    Smi,
    MentalIllness,
    Sud,
    Diabetes,
    Hypertension,
    OtherCardio,
    Asthma,
    Overweight,
    DevDisability,
    Smoking,
];

impl Cond {
    fn codes(self) -> &'static [&'static str] {
        match self {
            Smi => &["F20.9", "F31.9", "F33.1", "F25.0"],
            MentalIllness => &["F32.9", "F41.1", "F43.10"],
            Sud => &["F11.20", "F10.20", "F12.20"],
            Diabetes => &["E11.9", "E11.65", "E10.9"],
            Hypertension => &["I10"],
            OtherCardio => &["I25.10", "I50.9", "I48.91"],
            Asthma => &["J45.909", "J45.20"],
            Overweight => &["E66.9", "Z68.30"],
            DevDisability => &["F70", "Q90.9", "G80.9"],
            Smoking => &["F17.210", "Z72.0"],
        }
    }
    fn name(self) -> &'static str {
        match self {
            Smi => "serious_mental_illness",
            MentalIllness => "mental_illness",
            Sud => "substance_use_disorder",
            Diabetes => "diabetes",
            Hypertension => "hypertension",
            OtherCardio => "cardiovascular",
            Asthma => "asthma",
            Overweight => "overweight",
            DevDisability => "developmental_disability",
            Smoking => "smoking",
        }
    }
    /// Prevalence among (children, adults 18–64, adults 65+), Medicaid-like.
    fn prevalence(self) -> (f64, f64, f64) {
        match self {
            Smi => (0.005, 0.05, 0.03),
            MentalIllness => (0.10, 0.18, 0.12),
            Sud => (0.01, 0.09, 0.04),
            Diabetes => (0.003, 0.09, 0.22),
            Hypertension => (0.01, 0.20, 0.55),
            OtherCardio => (0.002, 0.04, 0.18),
            Asthma => (0.10, 0.09, 0.07),
            Overweight => (0.15, 0.30, 0.25),
            DevDisability => (0.03, 0.02, 0.01),
            Smoking => (0.01, 0.28, 0.15),
        }
    }
    /// Present on one date of evidence (§3).
    fn one_date(self) -> bool {
        matches!(self, Smoking | Overweight)
    }
}

/// Ancillary HCPCS of office visits (labs, venipuncture, ECG, chest X-ray): in no value set.
const ANCILLARY: [&str; 6] = ["36415", "80053", "85025", "81001", "93000", "71046"];

/// Neutral diagnoses: in no value set.
const NEUTRAL_OUTPATIENT: [&str; 6] = ["Z00.00", "J06.9", "M54.50", "K21.9", "L30.9", "R51.9"];
const NEUTRAL_ED: [&str; 5] = ["R07.9", "S93.401A", "J06.9", "R10.9", "S61.419A"];
const NEUTRAL_INPATIENT: [&str; 5] = ["J18.9", "A41.9", "K35.80", "N17.9", "S72.001A"];

/// Health Homes the generator enrolls persons in: six of each type.
pub fn health_home_ids() -> Vec<(String, &'static str)> {
    let mut v = Vec::new();
    for i in 1..=6 {
        v.push((format!("HH-CMHC-{i:02}"), "cmhc"));
    }
    for i in 1..=6 {
        v.push((format!("HH-PC-{i:02}"), "pchh"));
    }
    for i in 1..=2 {
        v.push((format!("HH-DD-{i:02}"), "dd"));
    }
    v
}

/// The Health Home program (State Plan Amendment) of a home type, as `program_id`: Missouri's
/// three programs.
pub fn program_of(health_home_type: &str) -> &'static str {
    match health_home_type {
        "cmhc" => "MO-CMHC-HH",
        "pchh" => "MO-PC-HH",
        _ => "MO-DD-HH",
    }
}

/// Synthetic ZIP codes of Missouri with their geography (`zip_geography.csv`, which synth
/// writes beside the tables for `--geography`): the first twelve urban, the rest rural.
pub const ZIPS: &[(&str, &str)] = &[
    ("63101", "urban"),
    ("63106", "urban"),
    ("63110", "urban"),
    ("63116", "urban"),
    ("63118", "urban"),
    ("64106", "urban"),
    ("64109", "urban"),
    ("64127", "urban"),
    ("65802", "urban"),
    ("65804", "urban"),
    ("65201", "urban"),
    ("63301", "urban"),
    ("63401", "rural"),
    ("63501", "rural"),
    ("63601", "rural"),
    ("63901", "rural"),
    ("64601", "rural"),
    ("65401", "rural"),
    ("65536", "rural"),
    ("65775", "rural"),
];

/// A person's race, ethnicity and ZIP code, in Tuva's vocabulary: drawn from their own stream
/// (seeded by seed and person), so that adding them changed no other draw. Shares are roughly
/// Missouri Medicaid's (white 62 %, Black 27 %, Hispanic 6 %, ZIP rural 30 %); 3 % have no
/// race recorded.
pub fn demographics(seed: u64, idx: u64) -> (&'static str, &'static str, &'static str) {
    let mut rng = ChaCha8Rng::seed_from_u64(person_seed(seed ^ 0xD3E0_64A9, idx));
    let u: f64 = rng.random();
    let race = match u {
        x if x < 0.62 => "white",
        x if x < 0.89 => "black or african american",
        x if x < 0.91 => "asian",
        x if x < 0.92 => "american indian or alaska native",
        x if x < 0.925 => "native hawaiian or other pacific islander",
        x if x < 0.955 => "two or more races",
        x if x < 0.97 => "other race",
        _ => "unknown",
    };
    let ethnicity = if rng.random::<f64>() < 0.06 {
        "hispanic or latino"
    } else {
        "not hispanic or latino"
    };
    let zip = if rng.random::<f64>() < 0.7 {
        ZIPS[rng.random_range(0..12)].0
    } else {
        ZIPS[rng.random_range(12..ZIPS.len())].0
    };
    (race, ethnicity, zip)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Absent,
    /// Evidence on exactly one date in the look-back window (not a condition unless one-date).
    NearMiss,
    Present,
}

pub(crate) struct Ctx<'a> {
    pub(crate) cfg: &'a SynthConfig,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) pid: String,
    claim_seq: u32,
    pub(crate) rows: Rows,
    pub(crate) first: NaiveDate,
    pub(crate) last: NaiveDate,
    lookback: NaiveDate,
}

pub(crate) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

impl Ctx<'_> {
    pub(crate) fn p(&mut self, x: f64) -> bool {
        self.rng.random_bool(x.clamp(0.0, 1.0))
    }
    pub(crate) fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.rng.random_range(0..v.len())]
    }
    pub(crate) fn day_between(&mut self, a: NaiveDate, b: NaiveDate) -> NaiveDate {
        if b <= a {
            return a;
        }
        let n = (b - a).num_days();
        a + Duration::days(self.rng.random_range(0..=n))
    }
    fn money(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.random_range(lo * 100..=hi * 100)
    }
    pub(crate) fn next_claim(&mut self, prefix: char) -> String {
        self.claim_seq += 1;
        format!("{}-{prefix}{:04}", self.pid, self.claim_seq)
    }

    /// A professional office visit on `d` with `hcpcs` and diagnoses.
    pub(crate) fn office_visit(
        &mut self,
        d: NaiveDate,
        hcpcs: &str,
        pos: &'static str,
        dx: [Option<&'static str>; 3],
    ) -> String {
        let id = self.next_claim('C');
        let paid = self.money(45, 160);
        self.rows.medical.push(ClaimLine {
            claim_id: id.clone(),
            line: 1,
            institutional: false,
            person_id: self.pid.clone(),
            start: Some(d),
            end: Some(d),
            line_start: Some(d),
            pos: Some(pos),
            hcpcs: Some(hcpcs.to_string()),
            paid_cents: Some(paid),
            dx,
            ..Default::default()
        });
        id
    }

    /// An extra line on an existing professional claim (CPT II codes, labs).
    pub(crate) fn add_line(
        &mut self,
        claim_id: &str,
        d: NaiveDate,
        hcpcs: &str,
        dx: Option<&'static str>,
    ) {
        let n = self
            .rows
            .medical
            .iter()
            .filter(|l| l.claim_id == claim_id)
            .count() as i64
            + 1;
        self.rows.medical.push(ClaimLine {
            claim_id: claim_id.to_string(),
            line: n,
            institutional: false,
            person_id: self.pid.clone(),
            start: Some(d),
            end: Some(d),
            line_start: Some(d),
            pos: Some("11"),
            hcpcs: Some(hcpcs.to_string()),
            paid_cents: Some(0),
            dx: [dx, None, None],
            ..Default::default()
        });
    }

    /// An ED visit on `d` (facility line 0450 and professional 9928x, POS 23).
    pub(crate) fn ed_visit(&mut self, d: NaiveDate, dx: &'static str) {
        let id = self.next_claim('E');
        let fac = self.money(300, 1500);
        let null_paid = self.p(0.01);
        self.rows.medical.push(ClaimLine {
            claim_id: id.clone(),
            line: 1,
            institutional: true,
            person_id: self.pid.clone(),
            start: Some(d),
            end: Some(d),
            line_start: Some(d),
            bill_type: Some("131"),
            revenue: Some("0450"),
            paid_cents: if null_paid { None } else { Some(fac) },
            dx: [Some(dx), None, None],
            ..Default::default()
        });
        // Lab and imaging lines of the facility claim.
        for (line, rev) in [(2, "0300"), (3, "0320")] {
            if self.p(0.7) {
                let paid = self.money(40, 600);
                self.rows.medical.push(ClaimLine {
                    claim_id: id.clone(),
                    line,
                    institutional: true,
                    person_id: self.pid.clone(),
                    start: Some(d),
                    end: Some(d),
                    line_start: Some(d),
                    bill_type: Some("131"),
                    revenue: Some(rev),
                    paid_cents: Some(paid),
                    dx: [Some(dx), None, None],
                    ..Default::default()
                });
            }
        }
        let pro = self.money(80, 250);
        let code = self.pick(&["99283", "99284", "99285"]);
        let id2 = self.next_claim('E');
        self.rows.medical.push(ClaimLine {
            claim_id: id2,
            line: 1,
            institutional: false,
            person_id: self.pid.clone(),
            start: Some(d),
            end: Some(d),
            line_start: Some(d),
            pos: Some("23"),
            hcpcs: Some(code.to_string()),
            paid_cents: Some(pro),
            dx: [Some(dx), None, None],
            ..Default::default()
        });
    }

    /// An acute stay (bill type 111) from `adm` to `dis`.
    pub(crate) fn stay(
        &mut self,
        adm: NaiveDate,
        dis: NaiveDate,
        dx: &'static str,
        status: &'static str,
    ) {
        let id = self.next_claim('I');
        let days = (dis - adm).num_days().max(1);
        let room = self.money(1500, 3000) * days;
        let other = self.money(500, 6000);
        let lab = self.money(100, 900);
        let img = self.money(100, 1200);
        for (line, rev, paid) in [
            (1, "0100", room),
            (2, "0250", other),
            (3, "0300", lab),
            (4, "0320", img),
            (5, "0730", 0),
        ] {
            self.rows.medical.push(ClaimLine {
                claim_id: id.clone(),
                line,
                institutional: true,
                person_id: self.pid.clone(),
                start: Some(adm),
                end: Some(dis),
                line_start: Some(adm),
                admission: Some(adm),
                discharge: Some(dis),
                discharge_status: Some(status),
                bill_type: Some("111"),
                revenue: Some(rev),
                paid_cents: Some(paid),
                dx: [Some(dx), None, None],
                ..Default::default()
            });
        }
    }

    /// A facility observation stay `adm … dis`: an outpatient (131) claim without admission or
    /// discharge dates, a revenue 0762 line and a 0762 / G0378 line dated `adm`.
    pub(crate) fn observation_stay(&mut self, adm: NaiveDate, dis: NaiveDate, dx: &'static str) {
        let id = self.next_claim('O');
        for (line, hcpcs) in [(1, None), (2, Some("G0378".to_string()))] {
            let paid = self.money(200, 900);
            self.rows.medical.push(ClaimLine {
                claim_id: id.clone(),
                line,
                institutional: true,
                person_id: self.pid.clone(),
                start: Some(adm),
                end: Some(dis),
                line_start: Some(adm),
                discharge_status: Some("01"),
                bill_type: Some("131"),
                revenue: Some("0762"),
                hcpcs,
                paid_cents: Some(paid),
                dx: [Some(dx), None, None],
                ..Default::default()
            });
        }
    }

    pub(crate) fn fill(&mut self, d: NaiveDate, ndc: String, days: i64, lo: i64, hi: i64) {
        let id = self.next_claim('R');
        let paid = self.money(lo, hi);
        self.rows.pharmacy.push(Fill {
            claim_id: id,
            person_id: self.pid.clone(),
            date: d,
            ndc,
            days_supply: days,
            paid_cents: paid,
        });
    }

    pub(crate) fn observation(
        &mut self,
        d: NaiveDate,
        code: &'static str,
        result: String,
        units: Option<&'static str>,
    ) {
        let id = format!("{}-O{:04}", self.pid, self.rows.observation.len() + 1);
        self.rows.observation.push(Clinical {
            id,
            person_id: self.pid.clone(),
            date: d,
            code,
            result,
            units,
        });
    }
}

/// Coverage spans of one person: (start, end, medicaid?).
struct Coverage {
    spans: Vec<(NaiveDate, NaiveDate)>,
    medicaid: bool,
}

impl Coverage {
    fn covers(&self, d: NaiveDate) -> bool {
        self.spans.iter().any(|(s, e)| *s <= d && d <= *e)
    }
}

/// Per-person seed: independent of chunking and threads.
fn person_seed(seed: u64, idx: u64) -> u64 {
    let mut z = seed ^ idx.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Generate person number `idx`.
pub fn generate_person(cfg: &SynthConfig, idx: u64) -> Rows {
    let first = ymd(cfg.first_year, 1, 1);
    let last = ymd(cfg.last_year, 12, 31);
    let mp_start = ymd(cfg.last_year, 1, 1);
    let mut cx = Ctx {
        cfg,
        rng: ChaCha8Rng::seed_from_u64(person_seed(cfg.seed, idx)),
        pid: format!("P{idx:08}"),
        claim_seq: 0,
        rows: Rows::default(),
        first,
        last,
        lookback: ymd(cfg.last_year - 1, 1, 1),
    };

    if cx.p(cfg.scenario_rate) {
        crate::scenarios::plant(&mut cx);
        return cx.rows;
    }

    // Demographics: Medicaid skews young.
    let u: f64 = cx.rng.random();
    let age = if u < 0.38 {
        cx.rng.random_range(0..18)
    } else if u < 0.90 {
        cx.rng.random_range(18..65)
    } else {
        cx.rng.random_range(65..91)
    };
    let band = if age < 18 {
        0
    } else if age < 65 {
        1
    } else {
        2
    };
    let birth = cx.day_between(
        ymd(cfg.last_year - age - 1, 1, 2),
        ymd(cfg.last_year - age, 1, 1),
    );
    let gender = if cx.p(0.54) { "female" } else { "male" };
    let (race, ethnicity, zip_code) = demographics(cfg.seed, idx);

    // Death in the MP (about 0.8 %).
    let death = if cx.p(if band == 2 { 0.03 } else { 0.004 }) {
        Some(cx.day_between(mp_start, ymd(cfg.last_year, 12, 30)))
    } else {
        None
    };

    // Coverage with churn: covered at the MP end for most; one gap for some.
    let medicaid = !cx.p(0.03);
    let start = if cx.p(0.7) {
        first
    } else {
        cx.day_between(first, ymd(cfg.last_year, 9, 30))
    };
    let mut end = if cx.p(0.88) {
        last
    } else {
        cx.day_between(mp_start.max(start), ymd(cfg.last_year, 12, 30))
    };
    if let Some(d) = death {
        end = end.min(d);
    }
    let end = end.max(start);
    let mut spans = vec![(start, end)];
    if (end - start).num_days() > 200 && cx.p(0.22) {
        let gs = cx.day_between(start + Duration::days(60), end - Duration::days(140));
        let glen = cx.rng.random_range(10..120);
        let ge = gs + Duration::days(glen);
        spans = vec![
            (start, gs - Duration::days(1)),
            (ge + Duration::days(1), end),
        ];
    }
    let cov = Coverage { spans, medicaid };
    // Rows split at year ends, as many state files deliver them.
    for (s, e) in &cov.spans {
        let mut a = *s;
        while a <= *e {
            let ye = ymd(a.year(), 12, 31).min(*e);
            cx.rows.eligibility.push(EligibilityRow {
                person_id: cx.pid.clone(),
                race,
                ethnicity,
                zip_code,
                gender,
                birth_date: birth,
                death_date: death,
                start: a,
                end: ye,
                payer: if medicaid {
                    "MO HealthNet"
                } else {
                    "Acme Commercial"
                },
                payer_type: if medicaid { "medicaid" } else { "commercial" },
                plan: if medicaid { "FFS" } else { "PPO" },
            });
            a = ye + Duration::days(1);
        }
    }

    // Plant conditions.
    let mut status = std::collections::BTreeMap::new();
    for c in ALL {
        let (a, b, d) = c.prevalence();
        let prev = [a, b, d][band];
        let s = if cx.p(prev) {
            Status::Present
        } else if !c.one_date() && cx.p(prev * 0.3) {
            Status::NearMiss
        } else {
            Status::Absent
        };
        status.insert(c, s);
    }
    // At most one near miss per family whose codes share a condition (SMI ⊂ mental illness,
    // hypertension ⊂ cardiovascular): two single dates would make two dates of the family.
    for (a, b) in [(Smi, MentalIllness), (Hypertension, OtherCardio)] {
        if status[&a] == Status::NearMiss && status[&b] == Status::NearMiss {
            status.insert(b, Status::Absent);
        }
    }
    let present: Vec<Cond> = ALL
        .iter()
        .copied()
        .filter(|c| status[c] == Status::Present)
        .collect();
    let has = |c: Cond| present.contains(&c);

    let window_end = cx.last;
    let mut evidence_notes = Vec::new();
    for c in ALL {
        match status[&c] {
            Status::Absent => {}
            Status::NearMiss => {
                let d = cx.day_between(cx.lookback, window_end);
                let code = cx.pick(c.codes());
                cx.office_visit(d, "99213", "11", [Some(code), None, None]);
                if cx.first < cx.lookback && cx.p(0.5) {
                    let d0 = cx.day_between(cx.first, cx.lookback - Duration::days(1));
                    cx.office_visit(d0, "99213", "11", [Some(code), None, None]);
                    evidence_notes.push(format!(
                        "{} on one date in the look-back and one before it",
                        c.name()
                    ));
                } else {
                    evidence_notes.push(format!("{} on one outpatient date only", c.name()));
                }
            }
            Status::Present => plant_present(&mut cx, c, &mut evidence_notes),
        }
    }
    // Observations that must not make a condition: BMI ≤ 25 (25.0 exactly is the edge),
    // non-smoker answers.
    if !has(Overweight) && cx.p(0.3) {
        let d = cx.day_between(cx.lookback, window_end);
        let bmi = if cx.p(0.2) {
            "25.0".to_string()
        } else {
            format!("{:.1}", cx.rng.random_range(18.5..25.0))
        };
        cx.observation(d, "39156-5", bmi, Some("kg/m2"));
    }
    if !has(Smoking) && cx.p(0.3) {
        let d = cx.day_between(cx.lookback, window_end);
        let ans = cx.pick(&["266919005", "8517006", "Never smoker", "Former smoker"]);
        cx.observation(d, "72166-2", ans.to_string(), None);
    }

    // Ground truth: eligibility, from what was planted.
    let rules = program_rules(&present);
    let alive = death.is_none_or(|d| d > last);
    let covered = cov.medicaid && cov.covers(last);
    let eligible = alive && covered && !rules.is_empty();
    let mut desc = vec![format!(
        "conditions: {}",
        if present.is_empty() {
            "none".to_string()
        } else {
            present
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        }
    )];
    desc.extend(evidence_notes);
    if !cov.medicaid {
        desc.push("commercial coverage only".into());
    } else if !cov.covers(last) {
        desc.push("not covered on the as-of date".into());
    }
    if !alive {
        desc.push("died before the as-of date".into());
    }
    cx.rows.truth.push(Truth {
        person_id: cx.pid.clone(),
        kind: "eligibility",
        measure: None,
        index_date: last,
        expected_status: if eligible { "eligible" } else { "not_eligible" },
        expected_rule: rules.join(";"),
        description: desc.join("; "),
    });

    // Health Home enrollment: a share of those who meet a rule, type by track.
    let mut anchor: Option<NaiveDate> = None;
    if !rules.is_empty() && cx.p(cfg.enrollment_rate) {
        let cmhc = rules.contains(&"spmi") || rules.contains(&"bh_plus_chronic");
        // The developmental-disabilities program enrols members with a developmental
        // disability who are not in a CMHC home.
        let kind = if cmhc {
            "cmhc"
        } else if present.contains(&Cond::DevDisability) {
            "dd"
        } else {
            "pchh"
        };
        let homes: Vec<(String, &str)> = health_home_ids()
            .into_iter()
            .filter(|(_, t)| *t == kind)
            .collect();
        let (id, t) = homes[cx.rng.random_range(0..homes.len())].clone();
        let s = cx.day_between(
            ymd(cfg.first_year, 3, 1).max(cx.first),
            ymd(cfg.last_year, 10, 31),
        );
        let e = if cx.p(0.15) {
            let months = cx.rng.random_range(3..18);
            Some(s + Duration::days(30 * months))
        } else {
            None
        };
        cx.rows.health_home.push(HealthHomeSpan {
            person_id: cx.pid.clone(),
            health_home_id: id,
            health_home_type: t,
            start: s,
            end: e,
        });
        anchor = Some(ymd(s.year(), s.month(), 1));
    }

    utilization(&mut cx, &present, &cov, death, anchor);
    cx.rows
}

/// The program's rules (Missouri's Health Home eligibility, spec §3) that hold for a set of
/// planted conditions. Mental illness includes SPMI (its codes are mental-illness codes), and
/// cardiovascular includes hypertension.
pub fn program_rules(present: &[Cond]) -> Vec<&'static str> {
    let has = |c: Cond| present.contains(&c);
    let mi = has(MentalIllness) || has(Smi);
    let cardio = has(Hypertension) || has(OtherCardio);
    let five = [
        has(Asthma),
        has(Diabetes),
        cardio,
        has(Overweight),
        has(DevDisability),
    ];
    let n5 = five.iter().filter(|x| **x).count();
    let mut rules = Vec::new();
    if has(Smi) {
        rules.push("spmi");
    }
    if (mi || has(Sud)) && (n5 > 0 || has(Smoking)) {
        rules.push("bh_plus_chronic");
    }
    if n5 >= 2 {
        rules.push("two_chronic");
    }
    if n5 >= 1 && (has(Smoking) || has(Diabetes)) {
        rules.push("one_chronic_at_risk");
    }
    rules
}

/// Write the evidence that makes condition `c` present (§3).
fn plant_present(cx: &mut Ctx, c: Cond, notes: &mut Vec<String>) {
    let window_end = cx.last;
    if c == Smoking {
        let d = cx.day_between(cx.lookback, window_end);
        match cx.rng.random_range(0..4) {
            0 | 1 => {
                let code = cx.pick(c.codes());
                cx.office_visit(d, "99213", "11", [Some("Z00.00"), Some(code), None]);
            }
            2 => {
                cx.office_visit(d, "99406", "11", [Some("Z00.00"), None, None]);
                notes.push("smoking by cessation counselling CPT 99406".into());
            }
            _ => {
                let ans = cx.pick(&[
                    "449868002",
                    "Every day smoker",
                    " some DAY smoker ",
                    "77176002",
                ]);
                cx.observation(d, "72166-2", ans.to_string(), None);
                notes.push("smoking by tobacco-status observation".into());
            }
        }
        return;
    }
    if c == Overweight {
        let d = cx.day_between(cx.lookback, window_end);
        if cx.p(0.4) {
            let code = cx.pick(c.codes());
            cx.office_visit(d, "99213", "11", [Some("Z00.00"), Some(code), None]);
        } else {
            let bmi = format!("{:.1}", cx.rng.random_range(25.1..42.0));
            cx.observation(d, "39156-5", bmi, Some("kg/m2"));
            notes.push("overweight by BMI observation".into());
        }
        return;
    }
    let code = cx.pick(c.codes());
    if cx.p(0.12) {
        // One acute stay with the diagnosis is enough.
        let adm = cx.day_between(cx.lookback, window_end - Duration::days(10));
        let los = cx.rng.random_range(1..6);
        cx.stay(adm, adm + Duration::days(los), code, "01");
        notes.push(format!("{} by one acute inpatient stay", c.name()));
    } else {
        let n = cx.rng.random_range(2..5);
        let mut dates = std::collections::BTreeSet::new();
        while dates.len() < n {
            dates.insert(cx.day_between(cx.lookback, window_end));
        }
        for d in dates {
            let pos = if cx.p(0.3) { 1 } else { 0 };
            let mut dx = [None, None, None];
            dx[pos] = Some(code);
            if pos == 1 {
                dx[0] = Some("Z00.00");
            }
            let hcpcs = if matches!(c, Smi | MentalIllness | Sud) {
                "90834"
            } else {
                "99214"
            };
            cx.office_visit(d, hcpcs, if hcpcs == "90834" { "53" } else { "11" }, dx);
        }
    }
}

fn poisson(cx: &mut Ctx, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    Poisson::new(lambda)
        .map(|p| p.sample(&mut cx.rng) as u32)
        .unwrap_or(0)
}

/// Monthly utilization while covered: visits, ED visits, stays, fills, BP readings, HbA1c.
fn utilization(
    cx: &mut Ctx,
    present: &[Cond],
    cov: &Coverage,
    death: Option<NaiveDate>,
    anchor: Option<NaiveDate>,
) {
    let cfg = cx.cfg;
    let has = |c: Cond| present.contains(&c);
    let chronic = present
        .iter()
        .filter(|c| !matches!(c, Smoking | Overweight))
        .count() as f64;
    let bh = has(Smi) || has(Sud);
    let ed_rate = cfg.ed_base + 0.25 * chronic + if bh { 0.6 } else { 0.0 };
    let ip_rate = cfg.ip_base + 0.05 * chronic + if bh { 0.15 } else { 0.0 };
    // Medicaid adults with chronic conditions see a clinician often; with the ancillary lines
    // of each visit this gives about 15–30 medical claim lines per enrolled person-year.
    let visit_rate = 4.0 + 2.5 * chronic;
    let person_dx: Vec<&'static str> = present
        .iter()
        .filter(|c| !matches!(c, Smoking | Overweight))
        .flat_map(|c| c.codes().iter().copied().take(1))
        .collect();
    let mh_dx: Vec<&'static str> = present
        .iter()
        .filter(|c| matches!(c, Smi | MentalIllness))
        .map(|c| c.codes()[0])
        .collect();
    let sud_dx = has(Sud).then(|| Sud.codes()[0]);
    let antipsychotic = has(Smi);
    let mut blocked_until = cx.first - Duration::days(1);

    let mut month = cx.first;
    while month <= cx.last {
        let next = if month.month() == 12 {
            ymd(month.year() + 1, 1, 1)
        } else {
            ymd(month.year(), month.month() + 1, 1)
        };
        let days: Vec<NaiveDate> = (0..(next - month).num_days())
            .map(|i| month + Duration::days(i))
            .filter(|d| cov.covers(*d) && death.is_none_or(|x| *d <= x))
            .collect();
        if days.is_empty() {
            month = next;
            continue;
        }
        let after = anchor.is_some_and(|a| month >= a);
        let frac = days.len() as f64 / (next - month).num_days() as f64;
        let ed_mult = if after { 1.0 - cfg.effect_ed } else { 1.0 };
        let ip_mult = if after {
            1.0 - cfg.effect_admissions
        } else {
            1.0
        };

        // Office visits.
        for _ in 0..poisson(cx, visit_rate / 12.0 * frac) {
            let d = cx.pick(&days);
            let dx = if !person_dx.is_empty() && cx.p(0.6) {
                cx.pick(&person_dx)
            } else {
                cx.pick(&NEUTRAL_OUTPATIENT)
            };
            let code = cx.pick(&["99213", "99214", "99212"]);
            let id = cx.office_visit(d, code, "11", [Some(dx), None, None]);
            // Ancillary lines on the same claim: labs, venipuncture, ECG, imaging. None of
            // these codes is in a value set, so they change no measure.
            for _ in 0..cx.rng.random_range(0..4) {
                let a = cx.pick(&ANCILLARY);
                cx.add_line(&id, d, a, Some(dx));
            }
            if has(Hypertension) && cx.p(0.35) {
                let sys = cx.pick(&["3074F", "3075F", "3077F"]);
                let dia = cx.pick(&["3078F", "3079F", "3080F"]);
                cx.add_line(&id, d, sys, Some("I10"));
                cx.add_line(&id, d, dia, Some("I10"));
            }
            if (has(Diabetes) || antipsychotic) && cx.p(0.15) {
                let t = cx.pick(&["83036", "82947"]);
                cx.add_line(&id, d, t, Some(dx));
            }
        }
        // Behavioural-health therapy for people with a mental illness or SUD.
        if !mh_dx.is_empty() || sud_dx.is_some() {
            for _ in 0..poisson(cx, 0.6 * frac) {
                let d = cx.pick(&days);
                let dx = match (mh_dx.is_empty(), sud_dx) {
                    (false, _) => cx.pick(&mh_dx),
                    (true, Some(s)) => s,
                    (true, None) => unreachable!("checked above"),
                };
                cx.office_visit(d, "90834", "53", [Some(dx), None, None]);
            }
        }
        // BP observations for hypertension.
        if has(Hypertension) && cx.p(0.12 * frac) {
            let d = cx.pick(&days);
            let s = cx.rng.random_range(112..170);
            let di = cx.rng.random_range(68..104);
            cx.observation(d, "8480-6", s.to_string(), Some("mm[Hg]"));
            cx.observation(d, "8462-4", di.to_string(), Some("mm[Hg]"));
        }
        // HbA1c labs for diabetes.
        if has(Diabetes) && cx.p(0.18 * frac) {
            let d = cx.pick(&days);
            let v = cx.rng.random_range(5.4..12.5);
            let id = format!("{}-L{:04}", cx.pid, cx.rows.lab.len() + 1);
            cx.rows.lab.push(Clinical {
                id,
                person_id: cx.pid.clone(),
                date: d,
                code: "4548-4",
                result: format!("{v:.1}"),
                units: Some("%"),
            });
        }
        // ED visits (not resulting in admission).
        for _ in 0..poisson(cx, ed_rate / 12.0 * frac * ed_mult) {
            let d = cx.pick(&days);
            let r: f64 = cx.rng.random();
            let dx = if !mh_dx.is_empty() && r < 0.3 {
                cx.pick(&mh_dx)
            } else if let (Some(s), true) = (sud_dx, r < 0.45) {
                s
            } else if !person_dx.is_empty() && r < 0.6 {
                cx.pick(&person_dx)
            } else {
                cx.pick(&NEUTRAL_ED)
            };
            cx.ed_visit(d, dx);
            // Follow-up after a behavioural-health ED visit for some.
            if (mh_dx.contains(&dx) || Some(dx) == sud_dx) && cx.p(0.5) {
                let f = d + Duration::days(cx.rng.random_range(1..20));
                if f <= cx.last && cov.covers(f) {
                    cx.office_visit(f, "90834", "53", [Some(dx), None, None]);
                }
            }
        }
        // Acute stays.
        for _ in 0..poisson(cx, ip_rate / 12.0 * frac * ip_mult) {
            let adm = cx.pick(&days);
            if adm <= blocked_until {
                continue;
            }
            let los = cx.rng.random_range(1..9);
            let dis = (adm + Duration::days(los)).min(cx.last);
            let r: f64 = cx.rng.random();
            let dx = if !mh_dx.is_empty() && r < 0.45 {
                cx.pick(&mh_dx)
            } else if !person_dx.is_empty() && r < 0.7 {
                cx.pick(&person_dx)
            } else {
                cx.pick(&NEUTRAL_INPATIENT)
            };
            if cx.p(0.3) {
                cx.ed_visit(adm, dx);
            }
            let dies_here = death.is_some_and(|x| x >= adm && x <= dis);
            let transfer = !dies_here && cx.p(0.04);
            let status = if dies_here {
                "20"
            } else if transfer {
                "02"
            } else {
                "01"
            };
            cx.stay(
                adm,
                if dies_here { death.unwrap_or(dis) } else { dis },
                dx,
                status,
            );
            blocked_until = dis;
            if transfer {
                let a2 = dis + Duration::days(cx.rng.random_range(0..2));
                let d2 = a2 + Duration::days(cx.rng.random_range(1..5));
                cx.stay(a2, d2, dx, "01");
                blocked_until = d2;
            }
            let discharged = blocked_until;
            if mh_dx.contains(&dx) && cx.p(0.55) {
                let f = discharged + Duration::days(cx.rng.random_range(1..30));
                if f <= cx.last {
                    cx.office_visit(f, "90834", "53", [Some(dx), None, None]);
                }
            } else if cx.p(0.5) {
                let f = discharged + Duration::days(cx.rng.random_range(1..14));
                if f <= cx.last {
                    cx.office_visit(f, "99214", "11", [Some(dx), None, None]);
                }
            }
        }
        // Pharmacy.
        if antipsychotic && cx.p(0.8 * frac) {
            let d = cx.pick(&days);
            let ndc = cx.pick(&["00000000001", "00000000002", "00000000003"]);
            cx.fill(d, ndc.to_string(), 30, 20, 450);
        }
        if has(Diabetes) && cx.p(0.75 * frac) {
            let d = cx.pick(&days);
            let ndc = cx.pick(&["00000000101", "00000000102", "00000000103"]);
            cx.fill(d, ndc.to_string(), 30, 8, 350);
        }
        for _ in 0..poisson(cx, (0.3 + 0.5 * chronic) * frac) {
            let d = cx.pick(&days);
            let ndc = format!("68180{:06}", cx.rng.random_range(0..1_000_000));
            cx.fill(d, ndc, 30, 4, 120);
        }
        month = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_index_same_person() {
        let cfg = SynthConfig::default();
        let a = generate_person(&cfg, 7);
        let b = generate_person(&cfg, 7);
        assert_eq!(a.medical.len(), b.medical.len());
        assert_eq!(a.truth[0].expected_rule, b.truth[0].expected_rule);
    }

    #[test]
    fn coverage_rows_are_ordered() {
        let cfg = SynthConfig::default();
        for i in 0..300 {
            for r in generate_person(&cfg, i).eligibility {
                assert!(r.start <= r.end, "person {i}: {:?}", r);
            }
        }
    }
}
