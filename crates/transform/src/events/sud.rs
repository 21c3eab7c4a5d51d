//! **SUD treatment events** (IET, `docs/measures/iet.md` §1–§3, §6), for the persons with a
//! substance-use diagnosis near the period only:
//!
//! - `sud_line` — one row per medical claim line that carries an IET cohort diagnosis (any
//!   position: `iet_alcohol`, `iet_opioid`, `iet_other_drug`), or an IET code (OTP weekly or
//!   monthly service, SUD medication administration), or that is an acute / nonacute stay
//!   line: `date` (service date, §1), `claim_id`, `npi` (rendering_npi, else billing_npi),
//!   `cohorts` (bits [`ALCOHOL`], [`OPIOID`], [`OTHER`]), `kind` (the `K_*` bits below) and,
//!   for stay lines, `adm` / `dis` (§1 stay admission and discharge).
//! - `sud_fill` — one row per pharmacy fill whose NDC or RxNorm code is in an IET medication
//!   set: `date` (dispensing_date), `id` (claim_id), `sets` (the `F_*` bits).
//!
//! Both are kept from [`window_start`] (MP start − 47 − 194 − 365 days: the intake period's
//! start, the negative-history look-back and a year of stay before it) to the MP end, and only
//! for persons with a cohort diagnosis dated from MP start − 47 − 365 days to the MP end:
//! no one else can have an IET episode, so the tables stay small.

use polars::prelude::*;

use super::{Build, PersonEvents, Rows};
use crate::claims::{bill_type_class, is_acute_stay_line, stay_admission, stay_discharge};
use crate::params::{date_lit, epoch_days, in_list};

/// Cohort bit: an alcohol use disorder diagnosis (`iet_alcohol`).
pub const ALCOHOL: u8 = 1;
/// Cohort bit: an opioid use disorder diagnosis (`iet_opioid`).
pub const OPIOID: u8 = 2;
/// Cohort bit: another drug use disorder diagnosis (`iet_other_drug`).
pub const OTHER: u8 = 4;

/// Line kind: a lab line (place of service 81), never an IET event.
pub const K_LAB: u32 = 1;
/// Line kind: a line of a claim with an ED line (`ed_visit`) that date.
pub const K_ED: u32 = 1 << 1;
/// Line kind: withdrawal management (`iet_detox`).
pub const K_DETOX: u32 = 1 << 2;
/// Line kind: an IET visit (§3: outpatient, BH outpatient, IOP/PH, SUD service, telephone,
/// e-visit — by its HCPCS or revenue code, never by place of service alone); never a stay line.
pub const K_VISIT: u32 = 1 << 3;
/// Line kind: an acute or nonacute stay line (§1 bill types 11x; 21x, 22x, 18x, 28x, 86x).
pub const K_STAY: u32 = 1 << 4;
/// Line kind: an OTP weekly drug service (`iet_oud_weekly_drug`).
pub const K_WEEKLY_DRUG: u32 = 1 << 5;
/// Line kind: an OTP weekly non-drug service (`iet_oud_weekly_nondrug`).
pub const K_WEEKLY_NONDRUG: u32 = 1 << 6;
/// Line kind: an office-based OUD monthly service (`iet_oud_monthly`).
pub const K_MONTHLY: u32 = 1 << 7;
/// Line kind: an SUD medication administration (`iet_med_admin`).
pub const K_MED_ADMIN: u32 = 1 << 8;
/// Line kind: a long-acting AUD medication (`iet_long_acting_aud`, HCPCS).
pub const K_LONG_AUD: u32 = 1 << 9;
/// Line kind: a long-acting OUD medication (`iet_long_acting_oud`, HCPCS).
pub const K_LONG_OUD: u32 = 1 << 10;

/// Fill set bit: `iet_aud_medication`.
pub const F_AUD: u8 = 1;
/// Fill set bit: `oud_buprenorphine`.
pub const F_BUPRENORPHINE: u8 = 1 << 1;
/// Fill set bit: `oud_naltrexone_oral`.
pub const F_NALTREXONE_ORAL: u8 = 1 << 2;
/// Fill set bit: `oud_naltrexone_injectable`.
pub const F_NALTREXONE_INJECTABLE: u8 = 1 << 3;
/// Fill set bit: `iet_long_acting_aud`.
pub const F_LONG_AUD: u8 = 1 << 4;
/// Fill set bit: `iet_long_acting_oud`.
pub const F_LONG_OUD: u8 = 1 << 5;

/// The value sets these tables read.
pub const VALUE_SETS: &[&str] = &[
    "iet_alcohol",
    "iet_opioid",
    "iet_other_drug",
    "ed_visit",
    "iet_detox",
    "outpatient_visit",
    "mh_visit",
    "iet_iop_ph",
    "iet_sud_service",
    "iet_telephone",
    "iet_online",
    "iet_oud_weekly_drug",
    "iet_oud_weekly_nondrug",
    "iet_oud_monthly",
    "iet_med_admin",
    "iet_long_acting_aud",
    "iet_long_acting_oud",
    "iet_aud_medication",
    "oud_buprenorphine",
    "oud_naltrexone_oral",
    "oud_naltrexone_injectable",
];

const FILL_SETS: [(&str, u8); 6] = [
    ("iet_aud_medication", F_AUD),
    ("oud_buprenorphine", F_BUPRENORPHINE),
    ("oud_naltrexone_oral", F_NALTREXONE_ORAL),
    ("oud_naltrexone_injectable", F_NALTREXONE_INJECTABLE),
    ("iet_long_acting_aud", F_LONG_AUD),
    ("iet_long_acting_oud", F_LONG_OUD),
];

/// One `sud_line` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SudLine {
    /// The service date, as days since 1970-01-01.
    pub date: i32,
    /// The claim (the evidence).
    pub claim_id: String,
    /// rendering_npi, else billing_npi.
    pub npi: Option<String>,
    /// Cohort bits ([`ALCOHOL`], [`OPIOID`], [`OTHER`]).
    pub cohorts: u8,
    /// Kind bits (`K_*`).
    pub kind: u32,
    /// A stay line's admission date.
    pub adm: Option<i32>,
    /// A stay line's discharge date.
    pub dis: Option<i32>,
}

/// One `sud_fill` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SudFill {
    /// The dispensing date, as days since 1970-01-01.
    pub date: i32,
    /// The pharmacy claim (the evidence).
    pub id: Option<String>,
    /// Set bits (`F_*`).
    pub sets: u8,
}

/// The first day the tables keep: MP start − 47 − 194 − 365 days.
pub fn window_start(b: &Build) -> i32 {
    epoch_days(b.p.period_start) - 47 - 194 - 365
}

fn cohort_bits(b: &Build, dxc: &[&str]) -> Expr {
    let m = |set| super::lines::any_dx_in(b.vs, set, dxc).fill_null(lit(false));
    when(m("iet_alcohol"))
        .then(lit(ALCOHOL as u32))
        .otherwise(lit(0u32))
        + when(m("iet_opioid"))
            .then(lit(OPIOID as u32))
            .otherwise(lit(0u32))
        + when(m("iet_other_drug"))
            .then(lit(OTHER as u32))
            .otherwise(lit(0u32))
}

/// The persons who can have an IET episode (`person_id`): a cohort diagnosis on a line dated
/// MP start − 47 − 365 days … MP end.
fn sud_persons(lines: LazyFrame, b: &Build) -> LazyFrame {
    let from = crate::params::from_epoch_days(epoch_days(b.p.period_start) - 47 - 365);
    lines
        .filter(
            col("cohorts")
                .gt(lit(0u32))
                .and(col("date").gt_eq(date_lit(from)))
                .and(col("date").lt_eq(b.mp_end.clone())),
        )
        .select([col("person_id")])
        .unique(None, UniqueKeepStrategy::Any)
}

/// The `sud_line` table with `pidx`, sorted by (pidx, date, claim_id).
pub fn lines_table(b: &Build) -> PolarsResult<LazyFrame> {
    let vs = b.vs;
    let dxc = crate::claims::diagnosis_columns_in_use(b.input);
    let from = date_lit(crate::params::from_epoch_days(window_start(b)));
    let hcpcs = |set| {
        vs.matches(set, "hcpcs", col("hcpcs_code"))
            .fill_null(lit(false))
    };
    let code = |set| super::lines::line_code_in(vs, set).fill_null(lit(false));
    let stay = is_acute_stay_line().or(col("claim_type")
        .eq(lit("institutional"))
        .and(in_list(
            bill_type_class(),
            &super::lines::NONACUTE_BILL_TYPES,
        ))
        .fill_null(lit(false)));
    let visit = stay.clone().not().and(
        vs.matches("outpatient_visit", "hcpcs", col("hcpcs_code"))
            .or(vs.matches("outpatient_visit", "revenue", col("revenue_center_code")))
            .fill_null(lit(false))
            .or(hcpcs("mh_visit"))
            .or(code("iet_iop_ph"))
            .or(code("iet_sud_service"))
            .or(hcpcs("iet_telephone"))
            .or(hcpcs("iet_online")),
    );
    let flags = [
        (
            "lab",
            col("place_of_service_code")
                .eq(lit("81"))
                .fill_null(lit(false)),
            K_LAB,
        ),
        ("ed", code("ed_visit"), K_ED),
        ("detox", code("iet_detox"), K_DETOX),
        ("visit", visit, K_VISIT),
        ("stay", stay, K_STAY),
        ("weekly_drug", hcpcs("iet_oud_weekly_drug"), K_WEEKLY_DRUG),
        (
            "weekly_nondrug",
            hcpcs("iet_oud_weekly_nondrug"),
            K_WEEKLY_NONDRUG,
        ),
        ("monthly", hcpcs("iet_oud_monthly"), K_MONTHLY),
        ("med_admin", hcpcs("iet_med_admin"), K_MED_ADMIN),
        ("long_aud", hcpcs("iet_long_acting_aud"), K_LONG_AUD),
        ("long_oud", hcpcs("iet_long_acting_oud"), K_LONG_OUD),
    ];
    let mut select = vec![
        col("person_id"),
        col("claim_id"),
        crate::claims::service_date().alias("date"),
        coalesce(&[col("rendering_npi"), col("billing_npi")]).alias("npi"),
        cohort_bits(b, &dxc).alias("cohorts"),
        stay_admission().alias("adm"),
        stay_discharge().alias("dis"),
    ];
    select.extend(flags.iter().map(|(n, e, _)| e.clone().alias(*n)));
    // Lines an IET rule can read: a cohort diagnosis, a stay line, an OTP or medication code.
    let keep = col("cohorts").gt(lit(0u32)).or(flags
        .iter()
        .filter(|(n, _, _)| !matches!(*n, "lab" | "ed" | "detox" | "visit"))
        .fold(lit(false), |a, (n, _, _)| a.or(col(*n))));
    // An ED line marks every line of its claim on that date (§2 step 2: ED visits are no
    // history); the kind bits are disjoint, so their sum is their union.
    let ed_claim = col("ed")
        .any(false)
        .over([col("person_id"), col("claim_id"), col("date")])?;
    let kind = flags
        .iter()
        .map(|(n, _, bit)| {
            let c = if *n == "ed" {
                ed_claim.clone()
            } else {
                col(*n)
            };
            when(c).then(lit(*bit)).otherwise(lit(0u32))
        })
        .reduce(|a, c| a + c)
        .expect("flags");
    // Narrow first (the lines a rule can read and the ED lines that mark their claims), then
    // only the persons who can have an episode; the claim-wide ED mark runs on what is left.
    let base = b
        .input
        .lazy("medical_claim")
        .filter(
            crate::claims::service_date()
                .gt_eq(from)
                .and(crate::claims::service_date().lt_eq(b.mp_end.clone())),
        )
        .select(select)
        .filter(keep.clone().or(col("ed")).and(col("date").is_not_null()))
        .collect()?
        .lazy();
    let persons = sud_persons(base.clone(), b);
    let lines = base
        .join(
            persons,
            [col("person_id")],
            [col("person_id")],
            JoinArgs::new(JoinType::Semi),
        )
        .with_columns([kind.alias("kind")])
        .filter(keep)
        .select([
            col("person_id"),
            col("claim_id"),
            col("date"),
            col("npi"),
            col("cohorts"),
            col("kind"),
            col("adm"),
            col("dis"),
        ]);
    Ok(b.with_pidx(lines)
        .sort(["pidx", "date", "claim_id"], Default::default()))
}

/// The `sud_fill` table with `pidx`, sorted by (pidx, date, id): fills of the persons of
/// `persons` (`person_id`).
pub fn fills_table(b: &Build, persons: LazyFrame) -> LazyFrame {
    let vs = b.vs;
    let from = date_lit(crate::params::from_epoch_days(window_start(b)));
    let rx = col("rxnorm_code").str().strip_chars(lit(NULL));
    let sets = FILL_SETS
        .iter()
        .map(|(set, bit)| {
            when(
                vs.matches(set, "ndc", col("ndc_code"))
                    .or(vs.matches(set, "rxnorm", rx.clone()))
                    .fill_null(lit(false)),
            )
            .then(lit(*bit as u32))
            .otherwise(lit(0u32))
        })
        .reduce(|a, c| a + c)
        .expect("sets");
    b.with_pidx(
        b.input
            .lazy("pharmacy_claim")
            .filter(
                col("dispensing_date")
                    .gt_eq(from)
                    .and(col("dispensing_date").lt_eq(b.mp_end.clone())),
            )
            .select([
                col("person_id"),
                col("dispensing_date").alias("date"),
                col("claim_id").alias("id"),
                sets.alias("sets"),
            ])
            .filter(col("sets").gt(lit(0u32)))
            .join(
                persons,
                [col("person_id")],
                [col("person_id")],
                JoinArgs::new(JoinType::Semi),
            ),
    )
    .sort(["pidx", "date", "id"], Default::default())
}

/// Fill every person's `sud_lines` and `sud_fills`.
pub fn load(b: &Build, people: &mut [PersonEvents]) -> PolarsResult<()> {
    let lines = lines_table(b)?.collect()?;
    let r = Rows { df: &lines };
    let (pi, date, claim, npi) = (
        r.idx("pidx")?,
        r.date("date")?,
        r.str("claim_id")?,
        r.str("npi")?,
    );
    let (cohorts, kind) = (r.idx("cohorts")?, r.idx("kind")?);
    let (adm, dis) = (r.date("adm")?, r.date("dis")?);
    for k in 0..pi.len() {
        let Some(d) = date[k] else { continue };
        let stay = kind[k] & K_STAY != 0;
        people[pi[k] as usize].sud_lines.push(SudLine {
            date: d,
            claim_id: claim[k].clone().unwrap_or_default(),
            npi: npi[k].clone(),
            cohorts: cohorts[k] as u8,
            kind: kind[k],
            adm: if stay { adm[k] } else { None },
            dis: if stay { dis[k] } else { None },
        });
    }
    let persons = lines
        .lazy()
        .select([col("person_id")])
        .unique(None, UniqueKeepStrategy::Any);
    let fills = fills_table(b, persons).collect()?;
    let r = Rows { df: &fills };
    for (((i, d), id), sets) in r
        .idx("pidx")?
        .into_iter()
        .zip(r.date("date")?)
        .zip(r.str("id")?)
        .zip(r.idx("sets")?)
    {
        if let Some(d) = d {
            people[i as usize].sud_fills.push(SudFill {
                date: d,
                id,
                sets: sets as u8,
            });
        }
    }
    Ok(())
}
