//! `oud`, `oud_bup`, `oud_ntx_oral`, `oud_ntx_lai`, `oud_methadone`: Use of Pharmacotherapy
//! for Opioid Use Disorder (Health Home Core Set **OUD-HH**, steward SAMHSA), as
//! `docs/measures/oud.md` specifies it. A person measure with a total rate and four medication
//! rates sharing one denominator; a person may be in several medication rates. It is not
//! NCQA's POD: no treatment duration, continuity or "new episode" rule.
//!
//! `index_date` = `due_date` = MP end; `index_evidence` = the claims with an OUD diagnosis in
//! the MP; `closing_date` = the first qualifying dispensing or administration in the MP.

use super::{from_age, AgeBand, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::{PersonEvents, Since, Uses};

const BANDS: &[AgeBand] = &[from_age(18)];

const SOURCE: &str = "CMS Health Home Core Set OUD-HH (SAMHSA; CMS QMR 2025-2026 definition, \
     CBE #3400), as docs/measures/oud.md reads it";

const fn measure(id: &'static str, name: &'static str, rate: &'static str) -> Measure {
    Measure {
        id,
        name,
        steward: "SAMHSA",
        source: SOURCE,
        version: "oud-hh-2026",
        kind: Kind::Person,
        lower_is_better: false,
        age_bands: BANDS,
        spec: "docs/measures/oud.md",
        core_set: super::core_set("OUD-HH", rate),
    }
}

/// The total rate's id.
pub const TOTAL: &str = "oud";

/// The four medication rates (oud.md §4), each with the medication sets that close it:
/// pharmacy NDC sets and medical HCPCS sets.
pub const MEDICATIONS: [(&str, &[&str]); 4] = [
    ("oud_bup", &["oud_buprenorphine", "oud_buprenorphine_hcpcs"]),
    ("oud_ntx_oral", &["oud_naltrexone_oral"]),
    (
        "oud_ntx_lai",
        &[
            "oud_naltrexone_injectable",
            "oud_naltrexone_injectable_hcpcs",
        ],
    ),
    (
        "oud_methadone",
        &["oud_methadone_otp", "oud_methadone_hcpcs"],
    ),
];

/// Every OUD medication set (the total rate's numerator).
pub const ALL_MEDICATIONS: &[&str] = &[
    "oud_buprenorphine",
    "oud_buprenorphine_hcpcs",
    "oud_naltrexone_oral",
    "oud_naltrexone_injectable",
    "oud_naltrexone_injectable_hcpcs",
    "oud_methadone_otp",
    "oud_methadone_hcpcs",
];

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "oud",
    measures: &[
        measure(
            TOTAL,
            "Pharmacotherapy for opioid use disorder, total",
            "Total Rate",
        ),
        measure(
            "oud_bup",
            "Pharmacotherapy for opioid use disorder, buprenorphine",
            "Buprenorphine",
        ),
        measure(
            "oud_ntx_oral",
            "Pharmacotherapy for opioid use disorder, oral naltrexone",
            "Oral naltrexone",
        ),
        measure(
            "oud_ntx_lai",
            "Pharmacotherapy for opioid use disorder, long-acting injectable naltrexone",
            "Long-acting injectable naltrexone",
        ),
        measure(
            "oud_methadone",
            "Pharmacotherapy for opioid use disorder, methadone",
            "Methadone",
        ),
    ],
    uses: Uses {
        dx_claims: &["oud_diagnosis"],
        dispensed: &[
            ("oud_buprenorphine", Since::PeriodStart),
            ("oud_buprenorphine_hcpcs", Since::PeriodStart),
            ("oud_naltrexone_oral", Since::PeriodStart),
            ("oud_naltrexone_injectable", Since::PeriodStart),
            ("oud_naltrexone_injectable_hcpcs", Since::PeriodStart),
            ("oud_methadone_otp", Since::PeriodStart),
            ("oud_methadone_hcpcs", Since::PeriodStart),
        ],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population** (oud.md §2): a medical claim line dated in the MP, not a lab line
/// (POS 81), with an `oud_diagnosis` code (ICD-10-CM F11) in any position; age ≥ 18 on the MP
/// end; MP enrollment (§4 of the shared spec: covered on the last day, at most one gap of at
/// most 45 days). Returns the diagnosis claims (the index evidence) when the person is in it.
pub fn eligible_population<'a>(pe: &'a PersonEvents, ctx: &Context) -> Option<&'a [String]> {
    let p = ctx.period;
    let claims = pe.diagnosed("oud_diagnosis")?;
    (pe.age_on(p.end) >= 18 && pe.mp_enrolled(p.start, p.end)).then_some(claims)
}

/// The first date in `a ..= b` with a dispensing of any of `sets`, and the ids of every
/// dispensing of those sets on that date (sorted, deduplicated).
pub fn first_dispensed(
    pe: &PersonEvents,
    sets: &[&str],
    a: i32,
    b: i32,
) -> Option<(i32, Vec<String>)> {
    let in_window = || {
        sets.iter()
            .flat_map(|s| pe.dispensed(s))
            .filter(move |d| d.date >= a && d.date <= b)
    };
    let first = in_window().map(|d| d.date).min()?;
    let mut ids: Vec<String> = in_window()
        .filter(|d| d.date == first)
        .filter_map(|d| d.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    Some((first, ids))
}

/// **Numerator** (oud.md §4): a pharmacy fill (dispensing_date) or a medical line (service
/// date) in one of `sets`, dated MP start … MP end; one is enough, days' supply is ignored.
/// Naloxone alone, buprenorphine pain products and HCPCS codes naming no drug are in no set.
pub fn numerator(pe: &PersonEvents, ctx: &Context, sets: &[&str]) -> Option<(i32, Vec<String>)> {
    first_dispensed(pe, sets, ctx.period.start, ctx.period.end)
}

/// **Exclusions**: none of its own. Hospice (shared spec §4) is applied to every measure by
/// `evaluate_person`; cancer, pain and naloxone-only persons stay in (oud.md §3).
fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let Some(index_evidence) = eligible_population(pe, ctx) else {
        return Vec::new();
    };
    let end = ctx.period.end;
    std::iter::once((TOTAL, ALL_MEDICATIONS))
        .chain(MEDICATIONS)
        .map(|(id, sets)| {
            let outcome = match numerator(pe, ctx, sets) {
                Some((date, evidence)) => Outcome::Closed { date, evidence },
                None => Outcome::Open { evidence: None },
            };
            GapRow::new(id, end, end, index_evidence.to_vec(), outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;
    use crate::measures::Status;

    fn with_oud(mut pe: PersonEvents) -> PersonEvents {
        pe.diagnosed = vec![("oud_diagnosis", vec!["C1".into()])];
        pe
    }

    fn status(rows: &[GapRow], id: &str) -> (Status, Option<i32>) {
        let r = rows.iter().find(|r| r.measure == id).expect("row");
        (r.status, r.closing_date)
    }

    #[test]
    fn eligible_needs_an_oud_diagnosis_age_18_and_mp_enrollment() {
        let c = ctx();
        assert!(eligible_population(&adult(), &c).is_none(), "no F11 claim");
        let pe = with_oud(adult());
        assert_eq!(eligible_population(&pe, &c), Some(&["C1".to_string()][..]));
        let mut kid = pe.clone();
        kid.birth = day(1953, 1, 1); // 18 on 1971-01-01, the day after MP end
        assert!(eligible_population(&kid, &c).is_none(), "17 on MP end");
        kid.birth = day(1952, 12, 31); // 18 on MP end
        assert!(eligible_population(&kid, &c).is_some(), "18 on MP end");
        let mut old = pe.clone();
        old.birth = day(1900, 1, 1);
        assert!(eligible_population(&old, &c).is_some(), "no upper age");
        let mut gaps = pe.clone();
        gaps.coverage = vec![(0, 99), (110, 199), (210, 364)];
        assert!(eligible_population(&gaps, &c).is_none(), "two gaps");
        gaps.coverage = vec![(0, 99), (140, 364)];
        assert!(eligible_population(&gaps, &c).is_some(), "one 40-day gap");
        gaps.coverage = vec![(0, 363)];
        assert!(
            eligible_population(&gaps, &c).is_none(),
            "not covered on MP end"
        );
    }

    #[test]
    fn numerator_window_is_the_mp_and_any_one_fill_closes() {
        let c = ctx();
        let mut pe = with_oud(adult());
        pe.dispensed = vec![("oud_buprenorphine", vec![fill(-1), fill(364)])];
        assert_eq!(
            numerator(&pe, &c, &["oud_buprenorphine"]),
            Some((364, vec!["R364".into()])),
            "the day before MP start does not count, MP end does"
        );
        pe.dispensed = vec![
            ("oud_buprenorphine", vec![fill(0)]),
            ("oud_naltrexone_oral", vec![]),
        ];
        assert_eq!(
            numerator(&pe, &c, &["oud_buprenorphine"]).map(|x| x.0),
            Some(0)
        );
        assert_eq!(numerator(&pe, &c, &["oud_naltrexone_oral"]), None);
        pe.dispensed = vec![];
        assert_eq!(numerator(&pe, &c, ALL_MEDICATIONS), None);
    }

    #[test]
    fn five_rows_share_the_denominator_and_a_person_can_be_in_two_rates() {
        let c = ctx();
        let mut pe = with_oud(adult());
        let mut j2315 = fill(150);
        j2315.id = Some("J150".into());
        pe.dispensed = vec![
            ("oud_naltrexone_oral", vec![fill(59)]),
            ("oud_naltrexone_injectable_hcpcs", vec![j2315]),
            ("oud_methadone_hcpcs", vec![fill(59)]),
        ];
        let rows = evaluate(&pe, &c);
        assert_eq!(rows.len(), 5);
        assert!(rows
            .iter()
            .all(|r| r.index_date == 364 && r.due_date == 364));
        assert!(rows.iter().all(|r| r.index_evidence == ["C1"]));
        assert_eq!(status(&rows, "oud"), (Status::Closed, Some(59)));
        assert_eq!(status(&rows, "oud_ntx_oral"), (Status::Closed, Some(59)));
        assert_eq!(status(&rows, "oud_ntx_lai"), (Status::Closed, Some(150)));
        assert_eq!(status(&rows, "oud_methadone"), (Status::Closed, Some(59)));
        assert_eq!(status(&rows, "oud_bup"), (Status::Open, None));
        let total = rows.iter().find(|r| r.measure == "oud").unwrap();
        assert_eq!(
            total.closing_evidence.as_deref(),
            Some(&["R59".to_string()][..]),
            "same-day evidence of two sets is one id when it is one claim"
        );
        assert!(evaluate(&adult(), &c).is_empty(), "no OUD: no rows");
    }
}
