//! `gsd_lt8`, `gsd_gt9`: glycemic status assessment for patients with diabetes (NCQA GSD; Adult
//! Core Set GSD-AD), `docs/measures/gsd.md`. One evaluation per person gives two rows with the
//! same population and exclusions: `gsd_lt8` (closed: the deciding value is < 8.0 %) and
//! `gsd_gt9` (inverse: `open` — > 9.0 % or no result — is the numerator).
//!
//! The glycemic result is an HbA1c lab result or CPT II code (the v1.3 `hba1c_result` events) or a
//! GMI (LOINC 97506-0, observation or lab_result). index_date = due_date = MP end;
//! `index_evidence` = the diabetes evidence, as `hba1c_poor`.

use super::{band, hba1c, reason, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::{Hba1c, PersonEvents, Since, Uses};

/// CMS's GSD-AD age bands.
const BANDS: &[super::AgeBand] = &[band(18, 64), band(65, 75)];

const fn measure(id: &'static str, name: &'static str, lower_is_better: bool) -> Measure {
    Measure {
        id,
        name,
        steward: "NCQA",
        source: "NCQA HEDIS GSD (Adult Core Set GSD-AD), as docs/measures/gsd.md reads it",
        version: "gsd 1.0 (issue #18)",
        kind: Kind::Person,
        lower_is_better,
        age_bands: BANDS,
        spec: "docs/measures/gsd.md",
        core_set: None,
    }
}

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "gsd",
    measures: &[
        measure("gsd_lt8", "Glycemic status < 8.0 % (HbA1c or GMI)", false),
        measure(
            "gsd_gt9",
            "Glycemic status > 9.0 % (HbA1c or GMI), lower is better",
            true,
        ),
    ],
    uses: Uses {
        period_dx: &["palliative_care"],
        visit_services: &["palliative_care"],
        conditions: &["diabetes"],
        dispensed: &[("diabetes_medication", Since::Lookback)],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// **Eligible population** (§2): as `hba1c_poor` — age 18–75 at MP end, the diabetes condition
/// or a diabetes_medication dispensing from the look-back start, MP enrollment. The evidence.
pub fn eligible_population(pe: &PersonEvents, ctx: &Context) -> Option<Vec<String>> {
    hba1c::eligible_population(pe, ctx)
}

/// **Exclusions** (§3), in order after hospice (applied to every measure by
/// [`super::evaluate_person`]): `death` (death_date in the MP), then `palliative care` (a
/// `palliative_care` diagnosis, any position, or hcpcs on a line dated in the MP). The §3
/// frailty-and-advanced-illness exclusion is not applied (its sets are licensed and ship empty;
/// see the spec).
pub fn exclusions(pe: &PersonEvents, ctx: &Context) -> Option<&'static str> {
    let p = &ctx.period;
    if pe.death.is_some_and(|d| d >= p.start && d <= p.end) {
        return Some(reason::DEATH_IN_PERIOD);
    }
    let dx = ctx.needs.period_dx("palliative_care");
    let svc = ctx.needs.service("palliative_care");
    let service = pe
        .visits
        .iter()
        .any(|v| v.services & svc != 0 && v.date >= p.start && v.date <= p.end);
    if pe.period_dx & dx != 0 || service {
        return Some(reason::PALLIATIVE_CARE);
    }
    None
}

/// **Deciding result** (§4): the latest date in the MP with a glycemic result that counts
/// (HbA1c lab, CPT II or GMI, a plain decimal in %); on it the **lowest** value across every
/// kind. The date, the value and the ids of every counted result on that date.
pub fn deciding_result(pe: &PersonEvents) -> Option<(i32, f64, Vec<String>)> {
    let counted: Vec<&Hba1c> = pe
        .hba1c
        .iter()
        .chain(&pe.gmi)
        .filter(|r| r.value.is_some())
        .collect();
    let last = counted.iter().map(|r| r.date).max()?;
    let on: Vec<&&Hba1c> = counted.iter().filter(|r| r.date == last).collect();
    let lowest = on
        .iter()
        .filter_map(|r| r.value)
        .fold(f64::INFINITY, f64::min);
    let mut ids: Vec<String> = on.iter().filter_map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    Some((last, lowest, ids))
}

/// **Numerators** (§5): `gsd_lt8` is closed when the deciding value is < 8.0; `gsd_gt9` is
/// closed when it is ≤ 9.0. No result: both open.
pub fn numerator(pe: &PersonEvents) -> (Outcome, Outcome) {
    let open = || Outcome::Open { evidence: None };
    match deciding_result(pe) {
        None => (open(), open()),
        Some((date, v, ids)) => {
            let closed = || Outcome::Closed {
                date,
                evidence: ids.clone(),
            };
            (
                if v < 8.0 { closed() } else { open() },
                if v <= 9.0 { closed() } else { open() },
            )
        }
    }
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    let Some(evidence) = eligible_population(pe, ctx) else {
        return vec![];
    };
    let (lt8, gt9) = match exclusions(pe, ctx) {
        Some(r) => (Outcome::Excluded(r), Outcome::Excluded(r)),
        None => numerator(pe),
    };
    let end = ctx.period.end;
    vec![
        GapRow::new("gsd_lt8", end, end, evidence.clone(), lt8),
        GapRow::new("gsd_gt9", end, end, evidence, gt9),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Visit;
    use crate::measures::testing::*;
    use crate::measures::Status;

    fn diabetic() -> PersonEvents {
        let mut pe = adult();
        pe.conditions = vec![("diabetes", vec!["C1".into()])];
        pe
    }

    fn gmi(date: i32, value: Option<f64>) -> Hba1c {
        Hba1c {
            date,
            id: Some(format!("G{date}")),
            code: Some("97506-0".into()),
            value,
        }
    }

    fn statuses(pe: &PersonEvents) -> (Status, Status) {
        let rows = evaluate(pe, &ctx());
        assert_eq!(rows.len(), 2);
        (rows[0].status, rows[1].status)
    }

    #[test]
    fn thresholds_8_0_and_9_0() {
        use Status::*;
        let mut pe = diabetic();
        assert_eq!(statuses(&pe), (Open, Open), "no result: open in both");
        for (v, want) in [
            (7.9, (Closed, Closed)),
            (8.0, (Open, Closed)),
            (9.0, (Open, Closed)),
            (9.1, (Open, Open)),
        ] {
            pe.hba1c = vec![a1c(300, Some(v))];
            assert_eq!(statuses(&pe), want, "HbA1c {v}");
        }
    }

    #[test]
    fn the_latest_date_decides_and_gmi_counts() {
        let mut pe = diabetic();
        pe.hba1c = vec![a1c(60, Some(7.0))];
        pe.gmi = vec![gmi(273, Some(9.5))];
        assert_eq!(
            statuses(&pe),
            (Status::Open, Status::Open),
            "GMI 9.5 is later"
        );
        pe.gmi = vec![gmi(59, Some(9.5))];
        assert_eq!(
            deciding_result(&pe).map(|x| x.0),
            Some(60),
            "HbA1c is later"
        );
        pe.gmi = vec![gmi(300, None)];
        assert_eq!(
            deciding_result(&pe).map(|x| x.0),
            Some(60),
            "a GMI that does not count (mg/dL) is skipped"
        );
    }

    #[test]
    fn gmi_and_hba1c_on_one_date_take_the_lowest() {
        let mut pe = diabetic();
        pe.hba1c = vec![a1c(273, Some(8.4))];
        pe.gmi = vec![gmi(273, Some(7.2))];
        let (d, v, ids) = deciding_result(&pe).unwrap();
        assert_eq!((d, v), (273, 7.2));
        assert_eq!(ids, ["A273", "G273"], "both are the closing evidence");
        assert_eq!(statuses(&pe), (Status::Closed, Status::Closed));
        pe.gmi = vec![gmi(273, Some(9.4))];
        pe.hba1c = vec![a1c(273, Some(9.2))];
        assert_eq!(statuses(&pe), (Status::Open, Status::Open));
    }

    #[test]
    fn death_then_palliative_care_in_the_period() {
        let c = ctx();
        let mut pe = diabetic();
        pe.death = Some(364);
        assert_eq!(exclusions(&pe, &c), Some(reason::DEATH_IN_PERIOD));
        pe.death = Some(365);
        assert_eq!(exclusions(&pe, &c), None, "death after the MP");
        pe.death = Some(-1);
        assert_eq!(exclusions(&pe, &c), None, "death before the MP");
        pe.death = None;
        pe.period_dx = c.needs.period_dx("palliative_care");
        assert_eq!(exclusions(&pe, &c), Some(reason::PALLIATIVE_CARE));
        pe.death = Some(0);
        assert_eq!(
            exclusions(&pe, &c),
            Some(reason::DEATH_IN_PERIOD),
            "death comes first"
        );
        pe.death = None;
        pe.period_dx = 0;
        let svc = |date| Visit {
            services: c.needs.service("palliative_care"),
            outpatient: false,
            ..visit(date, false)
        };
        pe.visits = vec![svc(-1)];
        assert_eq!(exclusions(&pe, &c), None, "palliative hcpcs before the MP");
        pe.visits = vec![svc(0)];
        assert_eq!(exclusions(&pe, &c), Some(reason::PALLIATIVE_CARE));
        let rows = evaluate(&pe, &c);
        assert!(rows
            .iter()
            .all(|r| r.exclusion_reason == Some(reason::PALLIATIVE_CARE)));
    }

    #[test]
    fn population_as_hba1c_poor() {
        let c = ctx();
        let mut pe = adult();
        assert!(evaluate(&pe, &c).is_empty(), "no diabetes");
        pe.dispensed = vec![("diabetes_medication", vec![fill(-300)])];
        assert_eq!(evaluate(&pe, &c).len(), 2, "pharmacy path, look-back year");
        pe.birth = day(1894, 12, 31);
        assert!(evaluate(&pe, &c).is_empty(), "76 at MP end");
        pe.birth = day(1895, 1, 1);
        assert_eq!(evaluate(&pe, &c).len(), 2, "75 at MP end");
    }
}
