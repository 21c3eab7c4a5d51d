//! `iet_init`, `iet_engage` and their cohort rates (`iet_init_alcohol`, `iet_engage_alcohol`,
//! `…_opioid`, `…_other`): initiation and engagement of substance use disorder treatment (NCQA
//! HEDIS IET, Health Home Core Set IET-HH), `docs/measures/iet.md`.
//!
//! One row per **SUD episode** (a new SUD diagnosis after 194 days without one, §1–§2) and
//! measure: the total rows for every episode, a cohort row for each cohort its diagnoses name
//! (an episode with alcohol and opioid diagnoses has both). `index_date` = the episode date D;
//! `iet_init` is due D+13 and closes on the initiation date I; `iet_engage` is due I+34 (D+47
//! when not initiated) and closes when engagement is first met. Everything is read from the
//! `sud_line` / `sud_fill` event tables ([`crate::events::sud`]).

use super::{band, from_age, reason, AgeBand, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::sud::{
    SudFill, SudLine, ALCOHOL, F_AUD, F_BUPRENORPHINE, F_LONG_AUD, F_LONG_OUD,
    F_NALTREXONE_INJECTABLE, F_NALTREXONE_ORAL, K_DETOX, K_ED, K_LAB, K_LONG_AUD, K_LONG_OUD,
    K_MED_ADMIN, K_MONTHLY, K_STAY, K_VISIT, K_WEEKLY_DRUG, K_WEEKLY_NONDRUG, OPIOID, OTHER,
};
use crate::events::{PersonEvents, Uses};

const BANDS: &[AgeBand] = &[band(13, 17), band(18, 64), from_age(65)];
const SOURCE: &str =
    "NCQA HEDIS IET (Health Home Core Set IET-HH), as docs/measures/iet.md reads it";

/// The intake period ends this many days before the MP end (and starts this many before the
/// MP start): 13 days of initiation and 34 of engagement (§1).
pub const INTAKE_SHIFT: i32 = 47;
/// Days of negative diagnosis and medication history before the episode (§2).
pub const HISTORY_DAYS: i32 = 194;
/// Initiation: D … D+13 (§4).
pub const INITIATION_LAST_DAY: i32 = 13;
/// Engagement: the 34 days after initiation (§4).
pub const ENGAGEMENT_DAYS: i32 = 34;

const fn measure(id: &'static str, name: &'static str, rate: &'static str) -> Measure {
    Measure {
        id,
        name,
        steward: "NCQA",
        source: SOURCE,
        version: "iet 1",
        kind: Kind::Episode,
        lower_is_better: false,
        age_bands: BANDS,
        spec: "docs/measures/iet.md",
        core_set: super::core_set("IET-HH", rate),
    }
}

/// QMR's IET-HH **Total** is the sum of the cohort rates (`components/IETRate` `calcTotal` of
/// the QMR app; iet.md §2): the Core Set counts each total rate from these cohort ids, not from
/// the per-episode `iet_init` / `iet_engage` rows (which count a two-cohort episode once).
pub const CORE_SET_TOTALS: &[(&str, &[&str])] = &[
    (
        "iet_init",
        &["iet_init_alcohol", "iet_init_opioid", "iet_init_other"],
    ),
    (
        "iet_engage",
        &[
            "iet_engage_alcohol",
            "iet_engage_opioid",
            "iet_engage_other",
        ],
    ),
];

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "iet",
    measures: &[
        measure(
            "iet_init",
            "Initiation of SUD treatment, total",
            "Initiation of SUD Treatment: Total",
        ),
        measure(
            "iet_engage",
            "Engagement of SUD treatment, total",
            "Engagement of SUD Treatment: Total",
        ),
        measure(
            "iet_init_alcohol",
            "Initiation of SUD treatment, alcohol use disorder",
            "Initiation of SUD Treatment: Alcohol Use Disorder",
        ),
        measure(
            "iet_engage_alcohol",
            "Engagement of SUD treatment, alcohol use disorder",
            "Engagement of SUD Treatment: Alcohol Use Disorder",
        ),
        measure(
            "iet_init_opioid",
            "Initiation of SUD treatment, opioid use disorder",
            "Initiation of SUD Treatment: Opioid Use Disorder",
        ),
        measure(
            "iet_engage_opioid",
            "Engagement of SUD treatment, opioid use disorder",
            "Engagement of SUD Treatment: Opioid Use Disorder",
        ),
        measure(
            "iet_init_other",
            "Initiation of SUD treatment, other substance use disorder",
            "Initiation of SUD Treatment: Other Substance Use Disorder",
        ),
        measure(
            "iet_engage_other",
            "Engagement of SUD treatment, other substance use disorder",
            "Engagement of SUD Treatment: Other Substance Use Disorder",
        ),
    ],
    // Everything IET reads comes from its own event tables, `sud_line` and `sud_fill`.
    uses: Uses::NONE,
    value_sets: crate::events::sud::VALUE_SETS,
    evaluate,
    rates: super::no_rates,
};

/// The cohorts, with their row ids: (bit, initiation id, engagement id).
pub const COHORTS: [(u8, &str, &str); 3] = [
    (ALCOHOL, "iet_init_alcohol", "iet_engage_alcohol"),
    (OPIOID, "iet_init_opioid", "iet_engage_opioid"),
    (OTHER, "iet_init_other", "iet_engage_other"),
];

/// An IET stay (§1): acute and nonacute stay lines, grouped by (admission, discharge) and
/// merged when a component is admitted ≤ 1 day after the running discharge (direct transfers).
#[derive(Debug, Clone, PartialEq)]
pub struct IetStay {
    /// Admission of the first component.
    pub adm: i32,
    /// Discharge of the last component.
    pub dis: i32,
    /// Cohort diagnoses on any line of the stay.
    pub cohorts: u8,
    /// Claims of every line, sorted.
    pub claim_ids: Vec<String>,
}

/// §1: the person's IET stays, by admission.
pub fn stays(lines: &[SudLine]) -> Vec<IetStay> {
    let mut comps: Vec<(i32, i32, u8, &str)> = lines
        .iter()
        .filter(|l| l.kind & K_STAY != 0)
        .filter_map(|l| Some((l.adm?, l.dis?, l.cohorts, l.claim_id.as_str())))
        .filter(|c| c.1 >= c.0)
        .collect();
    comps.sort();
    let mut out: Vec<IetStay> = Vec::new();
    for (a, d, c, id) in comps {
        match out.last_mut() {
            Some(s) if a <= s.dis + 1 => {
                s.dis = s.dis.max(d);
                s.cohorts |= c;
                s.claim_ids.push(id.to_string());
            }
            _ => out.push(IetStay {
                adm: a,
                dis: d,
                cohorts: c,
                claim_ids: vec![id.to_string()],
            }),
        }
    }
    for s in &mut out {
        s.claim_ids.sort();
        s.claim_ids.dedup();
    }
    out
}

/// An SUD episode (§1).
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The episode date D.
    pub date: i32,
    /// H: the day the negative diagnosis history ends after (§2 step 2).
    pub history_to: i32,
    /// Cohort bits.
    pub cohorts: u8,
    /// An inpatient episode (a stay, a visit resulting in one, withdrawal management in one):
    /// the stay is its initiation.
    pub inpatient: bool,
    /// An office-based OUD monthly service with an opioid diagnosis: its own initiation.
    pub monthly: bool,
    /// The claims that formed it (index evidence), sorted.
    pub claims: Vec<String>,
    /// The claim and NPI of each of its non-stay lines (for the same-day rule).
    pub lines: Vec<(String, Option<String>)>,
}

fn is_visit_like(l: &SudLine) -> bool {
    l.kind & (K_VISIT | K_ED | K_DETOX) != 0
}

fn is_oud_service(l: &SudLine) -> bool {
    l.kind & (K_WEEKLY_DRUG | K_WEEKLY_NONDRUG | K_MONTHLY) != 0
}

/// §1: every candidate episode, one per encounter, before the intake filter and the collapse.
/// A stay with a cohort diagnosis gives D = its discharge (H = its admission); a visit, ED
/// visit or withdrawal management with one gives D = its date, unless a stay is admitted that
/// day or the next (then the stay is the episode, H = the visit date) or, for withdrawal
/// management, it lies in a stay; an OTP weekly or monthly service with an opioid diagnosis
/// gives D = its date. Lab lines open nothing.
pub fn candidates(lines: &[SudLine], stays: &[IetStay]) -> Vec<Episode> {
    let mut out = Vec::new();
    let stay_episode = |s: &IetStay, h: i32, cohorts: u8, extra: Option<&str>| {
        let mut claims = s.claim_ids.clone();
        claims.extend(extra.map(str::to_string));
        Episode {
            date: s.dis,
            history_to: h.min(s.adm),
            cohorts: cohorts | s.cohorts,
            inpatient: true,
            monthly: false,
            claims,
            lines: Vec::new(),
        }
    };
    for s in stays.iter().filter(|s| s.cohorts != 0) {
        out.push(stay_episode(s, s.adm, 0, None));
    }
    for l in lines {
        if l.kind & (K_LAB | K_STAY) != 0 {
            continue;
        }
        let opens = l.cohorts != 0 && is_visit_like(l);
        let oud = l.cohorts & OPIOID != 0 && is_oud_service(l);
        if !opens && !oud {
            continue;
        }
        let within = (l.kind & K_DETOX != 0)
            .then(|| stays.iter().find(|s| s.adm <= l.date && l.date <= s.dis))
            .flatten();
        let resulting = || {
            stays
                .iter()
                .find(|s| opens && (s.adm == l.date || s.adm == l.date + 1))
        };
        match within.or_else(resulting) {
            Some(s) => out.push(stay_episode(s, l.date, l.cohorts, Some(&l.claim_id))),
            None => out.push(Episode {
                date: l.date,
                history_to: l.date,
                cohorts: l.cohorts,
                inpatient: false,
                monthly: oud && l.kind & K_MONTHLY != 0,
                claims: vec![l.claim_id.clone()],
                lines: vec![(l.claim_id.clone(), l.npi.clone())],
            }),
        }
    }
    out
}

/// §1 intake period and §2 step 6: the candidates with D in MP start − 47 … MP end − 47,
/// collapsed to one episode per date (the union of their evidence; H the earliest).
pub fn episodes(mut cands: Vec<Episode>, ctx: &Context) -> Vec<Episode> {
    let (from, to) = (
        ctx.period.start - INTAKE_SHIFT,
        ctx.period.end - INTAKE_SHIFT,
    );
    cands.retain(|e| e.date >= from && e.date <= to);
    cands.sort_by_key(|e| e.date);
    let mut out: Vec<Episode> = Vec::new();
    for e in cands {
        match out.last_mut() {
            Some(x) if x.date == e.date => {
                x.history_to = x.history_to.min(e.history_to);
                x.cohorts |= e.cohorts;
                x.inpatient |= e.inpatient;
                x.monthly |= e.monthly;
                x.claims.extend(e.claims);
                x.lines.extend(e.lines);
            }
            _ => out.push(e),
        }
    }
    for e in &mut out {
        e.claims.sort();
        e.claims.dedup();
    }
    out
}

/// §2 step 2: a cohort diagnosis on a line dated H−194 … H−1 that is not an ED visit line,
/// withdrawal management or a lab line.
pub fn has_diagnosis_history(lines: &[SudLine], h: i32) -> bool {
    lines.iter().any(|l| {
        l.cohorts != 0
            && l.kind & (K_ED | K_DETOX | K_LAB) == 0
            && l.date >= h - HISTORY_DAYS
            && l.date < h
    })
}

const ANY_MEDICATION: u8 =
    F_AUD | F_BUPRENORPHINE | F_NALTREXONE_ORAL | F_NALTREXONE_INJECTABLE | F_LONG_AUD | F_LONG_OUD;

/// §2 step 3: an AUD/OUD medication fill or administration dated D−194 … D−1.
pub fn has_medication_history(lines: &[SudLine], fills: &[SudFill], d: i32) -> bool {
    let inside = |x: i32| x >= d - HISTORY_DAYS && x < d;
    fills
        .iter()
        .any(|f| f.sets & ANY_MEDICATION != 0 && inside(f.date))
        || lines
            .iter()
            .any(|l| l.kind & K_MED_ADMIN != 0 && inside(l.date))
}

/// **Eligible population** (§2, in order): the episodes of §1 in the intake period, one per
/// date, without a cohort diagnosis in H−194 … H−1 or an SUD medication in D−194 … D−1, of
/// persons aged ≥ 13 on D and covered every day D−194 … D+47.
pub fn eligible_population(pe: &PersonEvents, ctx: &Context) -> Vec<Episode> {
    let st = stays(&pe.sud_lines);
    episodes(candidates(&pe.sud_lines, &st), ctx)
        .into_iter()
        .filter(|e| {
            !has_diagnosis_history(&pe.sud_lines, e.history_to)
                && !has_medication_history(&pe.sud_lines, &pe.sud_fills, e.date)
                && pe.age_on(e.date) >= 13
                && pe.covered_every_day(e.date - HISTORY_DAYS, e.date + INTAKE_SHIFT)
        })
        .collect()
}

/// **Exclusion** §4.2 (hospice, §4.1, is applied to every row by `evaluate_person`): a death
/// in the MP.
pub fn exclusions(pe: &PersonEvents, ctx: &Context) -> Option<&'static str> {
    pe.death
        .is_some_and(|d| d >= ctx.period.start && d <= ctx.period.end)
        .then_some(reason::DEATH_IN_MP)
}

/// An initiation (§4 `iet_init`).
#[derive(Debug, Clone, PartialEq)]
pub struct Initiation {
    /// The initiation date I.
    pub date: i32,
    /// The first day of the engagement window (I+1, or the initiating stay's discharge + 1).
    pub engage_from: i32,
    /// What initiated, sorted.
    pub evidence: Vec<String>,
    /// §4.3: initiated by an admission discharged after MP end − 34 days.
    pub late_stay: bool,
}

/// §4 same-day rule: a non-medication event on D counts only with another provider than the
/// episode's: some other line of the episode has another NPI (rendering, else billing); when
/// either has no NPI, another claim. An inpatient episode has no such lines.
pub fn other_provider(l: &SudLine, ep: &Episode) -> bool {
    ep.lines.iter().any(|(claim, npi)| {
        *claim != l.claim_id
            && match (npi, &l.npi) {
                (Some(a), Some(b)) => a != b,
                _ => true,
            }
    })
}

/// A treatment visit (§4: initiation and engagement visits): an IET visit with a cohort
/// diagnosis that is neither an ED visit nor withdrawal management.
fn is_treatment_visit(l: &SudLine) -> bool {
    l.kind & K_VISIT != 0 && l.cohorts != 0 && l.kind & (K_ED | K_DETOX | K_LAB) == 0
}

/// The medication events of `cohort` for initiation and for engagement rule 3.
fn medication_fill(f: &SudFill, cohort: u8, long_acting_too: bool) -> bool {
    let sets = match cohort {
        ALCOHOL => F_AUD | if long_acting_too { F_LONG_AUD } else { 0 },
        OPIOID => {
            F_BUPRENORPHINE
                | F_NALTREXONE_ORAL
                | F_NALTREXONE_INJECTABLE
                | if long_acting_too { F_LONG_OUD } else { 0 }
        }
        _ => 0,
    };
    f.sets & sets != 0
}

fn medication_line(l: &SudLine, cohort: u8) -> bool {
    match cohort {
        ALCOHOL => l.kind & K_LONG_AUD != 0,
        OPIOID => l.kind & K_MED_ADMIN != 0,
        _ => false,
    }
}

/// **Numerator** `iet_init` for `cohort` (§4): the episode's own stay (I = D) or OUD monthly
/// service; otherwise the first day in D … D+13 with an admission with a cohort diagnosis, a
/// treatment visit, an OTP weekly or monthly service, or a medication of the cohort (alcohol:
/// AUD medication; opioid: OUD medication or administration; other: none). On D, a
/// non-medication event counts only by [`other_provider`]. When an admission and another
/// event share the first day, the other event initiates.
pub fn initiation(
    pe: &PersonEvents,
    st: &[IetStay],
    ep: &Episode,
    cohort: u8,
) -> Option<Initiation> {
    let d = ep.date;
    if ep.inpatient || ep.monthly {
        return Some(Initiation {
            date: d,
            engage_from: d + 1,
            evidence: ep.claims.clone(),
            late_stay: false,
        });
    }
    let last = d + INITIATION_LAST_DAY;
    let inside = |x: i32| x >= d && x <= last;
    // (date, id) of the non-stay events.
    let mut events: Vec<(i32, String)> = pe
        .sud_lines
        .iter()
        .filter(|l| inside(l.date) && l.kind & (K_LAB | K_STAY) == 0)
        .filter(|l| {
            medication_line(l, cohort)
                || ((is_treatment_visit(l) || is_oud_service(l))
                    && (l.date != d || other_provider(l, ep)))
        })
        .map(|l| (l.date, l.claim_id.clone()))
        .collect();
    events.extend(
        pe.sud_fills
            .iter()
            .filter(|f| inside(f.date) && medication_fill(f, cohort, true))
            .filter_map(|f| Some((f.date, f.id.clone()?))),
    );
    let admissions: Vec<&IetStay> = st
        .iter()
        .filter(|s| s.cohorts != 0 && inside(s.adm))
        .filter(|s| s.adm != d || s.claim_ids.iter().all(|c| !ep.claims.contains(c)))
        .collect();
    let first_event = events.iter().map(|e| e.0).min();
    let first_adm = admissions.iter().map(|s| s.adm).min();
    match (first_event, first_adm) {
        (Some(i), a) if a.is_none_or(|a| i <= a) => {
            let mut evidence: Vec<String> = events
                .into_iter()
                .filter(|e| e.0 == i)
                .map(|e| e.1)
                .collect();
            evidence.sort();
            evidence.dedup();
            Some(Initiation {
                date: i,
                engage_from: i + 1,
                evidence,
                late_stay: false,
            })
        }
        (_, Some(a)) => {
            let on_a: Vec<&&IetStay> = admissions.iter().filter(|s| s.adm == a).collect();
            let dis = on_a.iter().map(|s| s.dis).max().unwrap_or(a);
            let mut evidence: Vec<String> = on_a.iter().flat_map(|s| s.claim_ids.clone()).collect();
            evidence.sort();
            evidence.dedup();
            Some(Initiation {
                date: a,
                engage_from: dis + 1,
                evidence,
                late_stay: false,
            })
        }
        _ => None,
    }
}

/// **Numerator** `iet_engage` for `cohort` (§4), in the 34 days from `init.engage_from`: an OTP
/// weekly drug or monthly service (one suffices); a long-acting medication of the cohort (one
/// suffices); or two events of: a treatment visit or OTP weekly non-drug service (two on one
/// date count twice only with different providers), an admission with a cohort diagnosis, a
/// medication of the cohort (one per date). Closes on the day the first criterion is met.
pub fn engagement(
    pe: &PersonEvents,
    st: &[IetStay],
    init: &Initiation,
    cohort: u8,
) -> Option<(i32, Vec<String>)> {
    let a = init.engage_from;
    let b = a + ENGAGEMENT_DAYS - 1;
    let inside = |x: i32| x >= a && x <= b;
    let lines = || {
        pe.sud_lines
            .iter()
            .filter(move |l| inside(l.date) && l.kind & K_LAB == 0)
    };
    // Rules 1 and 2: one event suffices.
    let long_line = match cohort {
        ALCOHOL => K_LONG_AUD,
        OPIOID => K_LONG_OUD,
        _ => 0,
    };
    let long_fill = match cohort {
        ALCOHOL => F_LONG_AUD,
        OPIOID => F_LONG_OUD,
        _ => 0,
    };
    let mut single: Vec<(i32, String)> = lines()
        .filter(|l| l.kind & (K_WEEKLY_DRUG | K_MONTHLY | long_line) != 0)
        .map(|l| (l.date, l.claim_id.clone()))
        .collect();
    single.extend(
        pe.sud_fills
            .iter()
            .filter(|f| inside(f.date) && f.sets & long_fill != 0)
            .filter_map(|f| Some((f.date, f.id.clone()?))),
    );
    let one = single.iter().map(|e| e.0).min().map(|x| {
        let mut ev: Vec<String> = single
            .iter()
            .filter(|e| e.0 == x)
            .map(|e| e.1.clone())
            .collect();
        ev.sort();
        ev.dedup();
        (x, ev)
    });
    // Rule 3: two events, each (date, counting key).
    let mut events: Vec<(i32, String, String)> = lines()
        .filter(|l| {
            l.kind & K_STAY == 0 && (is_treatment_visit(l) || l.kind & K_WEEKLY_NONDRUG != 0)
        })
        .map(|l| {
            let who = l.npi.clone().unwrap_or_else(|| l.claim_id.clone());
            (l.date, format!("visit {who}"), l.claim_id.clone())
        })
        .collect();
    events.extend(
        st.iter()
            .filter(|s| s.cohorts != 0 && inside(s.adm))
            .flat_map(|s| {
                let key = format!("stay {}", s.claim_ids.first().cloned().unwrap_or_default());
                s.claim_ids
                    .iter()
                    .map(move |c| (s.adm, key.clone(), c.clone()))
            }),
    );
    events.extend(
        lines()
            .filter(|l| medication_line(l, cohort))
            .map(|l| (l.date, "medication".to_string(), l.claim_id.clone())),
    );
    events.extend(
        pe.sud_fills
            .iter()
            .filter(|f| inside(f.date) && medication_fill(f, cohort, false))
            .filter_map(|f| Some((f.date, "medication".to_string(), f.id.clone()?))),
    );
    events.sort();
    let mut keys: Vec<(i32, &str)> = events.iter().map(|e| (e.0, e.1.as_str())).collect();
    keys.dedup();
    let two = keys.get(1).map(|&(x, _)| {
        let counted = &keys[..2];
        let mut ev: Vec<String> = events
            .iter()
            .filter(|e| counted.contains(&(e.0, e.1.as_str())))
            .map(|e| e.2.clone())
            .collect();
        ev.sort();
        ev.dedup();
        (x, ev)
    });
    match (one, two) {
        (Some(o), Some(t)) => Some(if t.0 < o.0 { t } else { o }),
        (o, t) => o.or(t),
    }
}

/// One cohort's (or the total's) two outcomes and the engagement due date.
struct Rates {
    init: Outcome,
    engage: Outcome,
    engage_due: i32,
}

fn cohort_rates(
    pe: &PersonEvents,
    st: &[IetStay],
    ep: &Episode,
    cohort: u8,
    excluded: Option<&'static str>,
    ctx: &Context,
) -> Rates {
    let not_initiated_due = ep.date + INTAKE_SHIFT;
    if let Some(r) = excluded {
        return Rates {
            init: Outcome::Excluded(r),
            engage: Outcome::Excluded(r),
            engage_due: not_initiated_due,
        };
    }
    let Some(mut i) = initiation(pe, st, ep, cohort) else {
        return Rates {
            init: Outcome::Open { evidence: None },
            engage: Outcome::Open { evidence: None },
            engage_due: not_initiated_due,
        };
    };
    let due = i.engage_from + ENGAGEMENT_DAYS - 1;
    // §4.3: an initiating admission discharged after MP end − 34 days.
    i.late_stay = i.engage_from - 1 > ctx.period.end - ENGAGEMENT_DAYS;
    if i.late_stay {
        return Rates {
            init: Outcome::Excluded(reason::LATE_INITIATION_STAY),
            engage: Outcome::Excluded(reason::LATE_INITIATION_STAY),
            engage_due: due,
        };
    }
    let engage = match engagement(pe, st, &i, cohort) {
        Some((date, evidence)) => Outcome::Closed { date, evidence },
        None => Outcome::Open { evidence: None },
    };
    Rates {
        init: Outcome::Closed {
            date: i.date,
            evidence: i.evidence,
        },
        engage,
        engage_due: due,
    }
}

fn closed_date(o: &Outcome) -> Option<i32> {
    match o {
        Outcome::Closed { date, .. } => Some(*date),
        _ => None,
    }
}

/// The total rows (§4): closed when any of the episode's cohorts is (the earliest); otherwise
/// excluded when one is excluded; otherwise open.
fn total(rates: &[Rates]) -> Rates {
    let pick = |f: fn(&Rates) -> &Outcome| -> Option<&Rates> {
        rates
            .iter()
            .filter(|r| closed_date(f(r)).is_some())
            .min_by_key(|r| closed_date(f(r)))
    };
    let init_by = pick(|r| &r.init);
    let init = match init_by {
        Some(r) => r.init.clone(),
        None => rates
            .iter()
            .find(|r| matches!(r.init, Outcome::Excluded(_)))
            .map(|r| r.init.clone())
            .unwrap_or(Outcome::Open { evidence: None }),
    };
    let engage = match pick(|r| &r.engage) {
        Some(r) => r.engage.clone(),
        None => match &init {
            Outcome::Excluded(x) => Outcome::Excluded(x),
            _ => Outcome::Open { evidence: None },
        },
    };
    let engage_due = init_by
        .or_else(|| rates.first())
        .map(|r| r.engage_due)
        .unwrap_or_default();
    Rates {
        init,
        engage,
        engage_due,
    }
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    if pe.sud_lines.is_empty() {
        return Vec::new();
    }
    let st = stays(&pe.sud_lines);
    let excluded = exclusions(pe, ctx);
    let mut rows = Vec::new();
    for ep in eligible_population(pe, ctx) {
        let d = ep.date;
        let mut all = Vec::new();
        for (bit, init_id, engage_id) in COHORTS {
            if ep.cohorts & bit == 0 {
                continue;
            }
            let r = cohort_rates(pe, &st, &ep, bit, excluded, ctx);
            rows.push(GapRow::new(
                init_id,
                d,
                d + INITIATION_LAST_DAY,
                ep.claims.clone(),
                r.init.clone(),
            ));
            rows.push(GapRow::new(
                engage_id,
                d,
                r.engage_due,
                ep.claims.clone(),
                r.engage.clone(),
            ));
            all.push(r);
        }
        let t = total(&all);
        rows.push(GapRow::new(
            "iet_init",
            d,
            d + INITIATION_LAST_DAY,
            ep.claims.clone(),
            t.init,
        ));
        rows.push(GapRow::new(
            "iet_engage",
            d,
            t.engage_due,
            ep.claims.clone(),
            t.engage,
        ));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::sud::{F_AUD, F_BUPRENORPHINE, F_NALTREXONE_ORAL};
    use crate::measures::testing::*;

    /// An office visit line with cohort diagnoses `cohorts` on `date`, claim `C<date>`, NPI `N1`.
    fn office(date: i32, cohorts: u8) -> SudLine {
        SudLine {
            date,
            claim_id: format!("C{date}"),
            npi: Some("N1".into()),
            cohorts,
            kind: K_VISIT,
            ..Default::default()
        }
    }

    fn coded(date: i32, kind: u32, cohorts: u8, id: &str) -> SudLine {
        SudLine {
            date,
            claim_id: id.into(),
            npi: Some(format!("N-{id}")),
            cohorts,
            kind,
            ..Default::default()
        }
    }

    fn stay_line(adm: i32, dis: i32, cohorts: u8, id: &str) -> SudLine {
        SudLine {
            date: adm,
            claim_id: id.into(),
            npi: None,
            cohorts,
            kind: K_STAY,
            adm: Some(adm),
            dis: Some(dis),
        }
    }

    fn rx(date: i32, sets: u8) -> SudFill {
        SudFill {
            date,
            id: Some(format!("R{date}")),
            sets,
        }
    }

    fn person(lines: Vec<SudLine>, fills: Vec<SudFill>) -> PersonEvents {
        let mut pe = adult();
        pe.sud_lines = lines;
        pe.sud_fills = fills;
        pe
    }

    fn rows(pe: &PersonEvents) -> Vec<GapRow> {
        evaluate(pe, &ctx())
    }

    fn row<'a>(rows: &'a [GapRow], id: &str) -> &'a GapRow {
        rows.iter().find(|r| r.measure == id).expect(id)
    }

    fn status(rows: &[GapRow], id: &str) -> (&'static str, Option<i32>) {
        let r = row(rows, id);
        (r.status.as_str(), r.closing_date)
    }

    const D: i32 = 100; // 1970-04-11

    #[test]
    fn intake_period_edges() {
        let c = ctx();
        let at = |d| eligible_population(&person(vec![office(d, OPIOID)], vec![]), &c).len();
        assert_eq!(at(c.period.start - 47), 1, "MP start − 47");
        assert_eq!(at(c.period.start - 48), 0);
        assert_eq!(at(c.period.end - 47), 1, "MP end − 47");
        assert_eq!(at(c.period.end - 46), 0);
    }

    #[test]
    fn negative_diagnosis_history_194_days_and_what_is_not_history() {
        let c = ctx();
        let kept = |prior: SudLine| {
            eligible_population(&person(vec![prior, office(D, OPIOID)], vec![]), &c)
                .iter()
                .any(|e| e.date == D)
        };
        assert!(!kept(office(D - 1, ALCOHOL)), "H−1 is history");
        assert!(!kept(office(D - 194, ALCOHOL)), "H−194 is history");
        assert!(kept(office(D - 195, ALCOHOL)), "H−195 is not");
        assert!(
            kept(coded(D - 60, K_ED, OPIOID, "E1")),
            "ED lines are no history"
        );
        assert!(
            kept(coded(D - 60, K_DETOX, OPIOID, "X1")),
            "withdrawal management"
        );
        assert!(
            kept(coded(D - 60, K_LAB | K_VISIT, OPIOID, "L1")),
            "lab lines"
        );
        assert!(kept(coded(D, K_VISIT, OPIOID, "same day")), "D itself");
        // The ED visit opens its own episode (D−60 is in the intake period).
        let eps = eligible_population(
            &person(
                vec![coded(D - 60, K_ED, OPIOID, "E1"), office(D, OPIOID)],
                vec![],
            ),
            &c,
        );
        assert_eq!(eps.iter().map(|e| e.date).collect::<Vec<_>>(), [D - 60, D]);
        // A lab line opens nothing.
        let lab = coded(D, K_LAB | K_VISIT, OPIOID, "L1");
        assert!(eligible_population(&person(vec![lab], vec![]), &c).is_empty());
    }

    #[test]
    fn negative_medication_history() {
        let c = ctx();
        let n = |fills| eligible_population(&person(vec![office(D, OPIOID)], fills), &c).len();
        assert_eq!(n(vec![rx(D - 1, F_BUPRENORPHINE)]), 0, "D−1");
        assert_eq!(n(vec![rx(D - 194, F_AUD)]), 0, "D−194");
        assert_eq!(n(vec![rx(D - 195, F_AUD)]), 1, "D−195");
        assert_eq!(
            n(vec![rx(D, F_BUPRENORPHINE)]),
            1,
            "the episode day is not history"
        );
        let admin = coded(D - 30, K_MED_ADMIN, 0, "M1");
        let pe = person(vec![admin, office(D, OPIOID)], vec![]);
        assert_eq!(eligible_population(&pe, &c).len(), 0, "an administration");
    }

    #[test]
    fn age_13_on_the_episode_date_and_window_enrollment() {
        let c = ctx();
        let mut pe = person(vec![office(D, ALCOHOL)], vec![]);
        pe.birth = D - 1 - 13 * 365 - 3; // 13 the day before (leap days 1960, 1964, 1968)
        assert_eq!(pe.age_on(D), 13);
        assert_eq!(eligible_population(&pe, &c).len(), 1);
        pe.birth = day(1957, 4, 12); // 13 on 1970-04-12 = D+1
        assert_eq!(pe.age_on(D), 12);
        assert_eq!(eligible_population(&pe, &c).len(), 0);
        let mut pe = person(vec![office(D, ALCOHOL)], vec![]);
        pe.coverage = vec![(D - 194, D + 47)];
        assert_eq!(eligible_population(&pe, &c).len(), 1);
        pe.coverage = vec![(D - 194, D + 10), (D + 12, D + 47)];
        assert_eq!(eligible_population(&pe, &c).len(), 0, "one day's gap");
        pe.coverage = vec![(D - 193, D + 47)];
        assert_eq!(eligible_population(&pe, &c).len(), 0);
    }

    #[test]
    fn initiation_day_13_closes_day_14_does_not() {
        let r = rows(&person(
            vec![office(D, OPIOID), coded(D + 13, K_VISIT, OPIOID, "F")],
            vec![],
        ));
        assert_eq!(status(&r, "iet_init"), ("closed", Some(D + 13)));
        assert_eq!(row(&r, "iet_init").due_date, D + 13);
        let r = rows(&person(
            vec![office(D, OPIOID), coded(D + 14, K_VISIT, OPIOID, "F")],
            vec![],
        ));
        assert_eq!(status(&r, "iet_init"), ("open", None));
        assert_eq!(status(&r, "iet_engage"), ("open", None));
        assert_eq!(row(&r, "iet_engage").due_date, D + 47);
        let a_visit_without_dx = coded(D + 2, K_VISIT, 0, "F");
        let r = rows(&person(vec![office(D, OPIOID), a_visit_without_dx], vec![]));
        assert_eq!(status(&r, "iet_init").0, "open", "no SUD diagnosis");
    }

    #[test]
    fn same_day_events_need_another_provider() {
        let same_npi = SudLine {
            claim_id: "OTHER".into(),
            ..office(D, OPIOID)
        };
        let r = rows(&person(vec![office(D, OPIOID), same_npi.clone()], vec![]));
        assert_eq!(status(&r, "iet_init").0, "open", "same NPI, other claim");
        let other_npi = SudLine {
            npi: Some("N2".into()),
            ..same_npi.clone()
        };
        let r = rows(&person(vec![office(D, OPIOID), other_npi], vec![]));
        assert_eq!(status(&r, "iet_init"), ("closed", Some(D)));
        let no_npi = SudLine {
            npi: None,
            ..same_npi
        };
        let r = rows(&person(vec![office(D, OPIOID), no_npi], vec![]));
        assert_eq!(status(&r, "iet_init").0, "closed", "no NPI: another claim");
        let r = rows(&person(
            vec![office(D, OPIOID)],
            vec![rx(D, F_BUPRENORPHINE)],
        ));
        assert_eq!(
            status(&r, "iet_init"),
            ("closed", Some(D)),
            "medication on D"
        );
    }

    #[test]
    fn engagement_window_edges_and_counting() {
        let base = || vec![office(D, OPIOID)];
        let init = vec![rx(D + 7, F_BUPRENORPHINE)];
        let i = D + 7;
        // Two fills: I+20 and I+34 → closed on I+34; I+35 → open.
        let mut fills = init.clone();
        fills.extend([rx(i + 20, F_BUPRENORPHINE), rx(i + 34, F_BUPRENORPHINE)]);
        let r = rows(&person(base(), fills));
        assert_eq!(status(&r, "iet_engage"), ("closed", Some(i + 34)));
        assert_eq!(row(&r, "iet_engage").due_date, i + 34);
        let mut fills = init.clone();
        fills.extend([rx(i + 20, F_BUPRENORPHINE), rx(i + 35, F_BUPRENORPHINE)]);
        assert_eq!(
            status(&rows(&person(base(), fills)), "iet_engage").0,
            "open"
        );
        // Two visits on one date: the same NPI counts once, two NPIs twice.
        let v1 = coded(i + 5, K_VISIT, OPIOID, "V1");
        let v2 = SudLine {
            claim_id: "V2".into(),
            ..v1.clone()
        };
        let mut lines = base();
        lines.extend([v1.clone(), v2.clone()]);
        assert_eq!(
            status(&rows(&person(lines, init.clone())), "iet_engage").0,
            "open"
        );
        let mut lines = base();
        lines.extend([
            v1.clone(),
            SudLine {
                npi: Some("N9".into()),
                ..v2
            },
        ]);
        assert_eq!(
            status(&rows(&person(lines, init.clone())), "iet_engage"),
            ("closed", Some(i + 5))
        );
        // A visit and a fill on one date count twice; two fills on one date once.
        let mut lines = base();
        lines.push(v1);
        let mut fills = init.clone();
        fills.push(rx(i + 5, F_BUPRENORPHINE));
        assert_eq!(
            status(&rows(&person(lines, fills)), "iet_engage"),
            ("closed", Some(i + 5))
        );
        let mut fills = init.clone();
        fills.extend([rx(i + 5, F_BUPRENORPHINE), rx(i + 5, F_NALTREXONE_ORAL)]);
        assert_eq!(
            status(&rows(&person(base(), fills)), "iet_engage").0,
            "open"
        );
        // The initiation day itself is not in the window.
        let mut fills = init.clone();
        fills.extend([rx(i, F_BUPRENORPHINE), rx(i + 1, F_BUPRENORPHINE)]);
        assert_eq!(
            status(&rows(&person(base(), fills)), "iet_engage").0,
            "open"
        );
    }

    #[test]
    fn one_event_engages_long_acting_or_otp_drug_service() {
        let mut lines = vec![office(D, ALCOHOL)];
        lines.push(coded(D + 2, K_VISIT, ALCOHOL, "V"));
        lines.push(coded(D + 7, K_LONG_AUD | K_MED_ADMIN, 0, "J2315"));
        let r = rows(&person(lines, vec![]));
        assert_eq!(status(&r, "iet_engage_alcohol"), ("closed", Some(D + 7)));
        let mut lines = vec![office(D, OPIOID)];
        lines.push(coded(D + 2, K_MONTHLY, 0, "G2086"));
        lines.push(coded(D + 20, K_WEEKLY_DRUG | K_MED_ADMIN, 0, "G2068"));
        let r = rows(&person(lines, vec![]));
        assert_eq!(status(&r, "iet_init"), ("closed", Some(D + 2)));
        assert_eq!(status(&r, "iet_engage"), ("closed", Some(D + 20)));
    }

    #[test]
    fn cohorts_and_medication_by_cohort() {
        let both = || vec![office(D, ALCOHOL | OPIOID)];
        let r = rows(&person(both(), vec![rx(D + 3, F_BUPRENORPHINE)]));
        assert_eq!(r.len(), 6, "total + alcohol + opioid, init and engage");
        assert_eq!(status(&r, "iet_init_opioid").0, "closed");
        assert_eq!(status(&r, "iet_init_alcohol").0, "open");
        assert_eq!(status(&r, "iet_init"), ("closed", Some(D + 3)));
        let naltrexone = F_AUD | F_NALTREXONE_ORAL;
        let r = rows(&person(both(), vec![rx(D + 3, naltrexone)]));
        assert_eq!(status(&r, "iet_init_opioid").0, "closed");
        assert_eq!(status(&r, "iet_init_alcohol").0, "closed");
        let r = rows(&person(vec![office(D, OTHER)], vec![rx(D + 3, naltrexone)]));
        assert_eq!(r.len(), 4);
        assert_eq!(
            status(&r, "iet_init_other").0,
            "open",
            "other: no medication"
        );
        assert_eq!(status(&r, "iet_init").0, "open");
    }

    #[test]
    fn inpatient_episodes_initiate_themselves() {
        // An acute stay with an SUD dx transferred to a nonacute one: D = the last discharge.
        let lines = vec![
            stay_line(D, D + 2, ALCOHOL, "S1"),
            stay_line(D + 3, D + 19, 0, "S2"),
        ];
        let r = rows(&person(lines, vec![]));
        let init = row(&r, "iet_init");
        assert_eq!(init.index_date, D + 19);
        assert_eq!(init.index_evidence, ["S1", "S2"]);
        assert_eq!(status(&r, "iet_init"), ("closed", Some(D + 19)));
        assert_eq!(row(&r, "iet_engage").due_date, D + 19 + 34);
        // An ED visit with an SUD dx admitted the next day to a stay without one: the stay is
        // the episode, and history ends before the ED visit (not its own history).
        let ed = coded(D, K_ED, ALCOHOL, "E1");
        let lines = vec![ed.clone(), stay_line(D + 1, D + 5, 0, "S1")];
        let eps = eligible_population(&person(lines, vec![]), &ctx());
        assert_eq!(eps.len(), 1);
        assert_eq!((eps[0].date, eps[0].history_to), (D + 5, D));
        assert_eq!(eps[0].claims, ["E1", "S1"]);
        let prior = office(D - 1, ALCOHOL);
        let lines = vec![prior, ed, stay_line(D + 1, D + 5, 0, "S1")];
        let eps = eligible_population(&person(lines, vec![]), &ctx());
        assert!(eps.iter().all(|e| e.date != D + 5), "D−1 is history");
    }

    #[test]
    fn exclusions_in_order() {
        let c = ctx();
        // Initiation by an admission discharged after MP end − 34 (1970-11-27 = day 330).
        let late = vec![
            office(300, OTHER),
            stay_line(305, c.period.end - 33, OTHER, "S"),
        ];
        let r = rows(&person(late.clone(), vec![]));
        assert_eq!(
            row(&r, "iet_init").exclusion_reason,
            Some(reason::LATE_INITIATION_STAY)
        );
        assert_eq!(
            row(&r, "iet_engage_other").exclusion_reason,
            Some(reason::LATE_INITIATION_STAY)
        );
        let on_time = vec![
            office(300, OTHER),
            stay_line(305, c.period.end - 34, OTHER, "S"),
        ];
        let r = rows(&person(on_time, vec![]));
        assert_eq!(status(&r, "iet_init"), ("closed", Some(305)));
        assert_eq!(row(&r, "iet_engage").due_date, c.period.end - 34 + 34);
        // Death in the MP comes first.
        let mut pe = person(late, vec![]);
        pe.death = Some(c.period.end);
        let r = rows(&pe);
        assert!(r
            .iter()
            .all(|x| x.exclusion_reason == Some(reason::DEATH_IN_MP)));
        pe.death = Some(c.period.end + 1);
        assert_eq!(
            row(&rows(&pe), "iet_init").exclusion_reason,
            Some(reason::LATE_INITIATION_STAY)
        );
    }

    #[test]
    fn candidates_on_one_date_are_one_episode() {
        let lines = vec![coded(D, K_ED, OPIOID, "E1"), office(D, ALCOHOL)];
        let r = rows(&person(lines, vec![]));
        assert_eq!(r.len(), 6);
        assert_eq!(
            row(&r, "iet_init").index_evidence,
            [format!("C{D}"), "E1".into()]
        );
    }

    #[test]
    fn withdrawal_management_inside_a_stay_is_the_stay() {
        let lines = vec![
            stay_line(D, D + 4, 0, "S1"),
            coded(D + 1, K_DETOX, OPIOID, "X1"),
        ];
        let eps = eligible_population(&person(lines, vec![]), &ctx());
        assert_eq!(eps.len(), 1);
        assert!(eps[0].inpatient);
        assert_eq!(eps[0].date, D + 4);
    }
}
