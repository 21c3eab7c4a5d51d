//! `col`: colorectal cancer screening (docs/measures/col.md; NCQA HEDIS COL-E, Health Home
//! Core Set COL-HH). A person measure: one row per person aged 46–75 on the MP end, `closed`
//! when a screen of any modality is dated in that modality's look-back window.
//!
//! index_date = due_date = MP end; `index_evidence` = `[]` (no index event, §4);
//! `closing_date` = the latest qualifying screen; `closing_evidence` = the screens that day.
//! An open row whose look-back the input does not reach is flagged `history_short` (§6).

use chrono::NaiveDate;

use super::{band, reason, Context, Family, GapRow, Kind, Measure, Outcome};
use crate::events::coded::{reach_start, Coded};
use crate::events::{PersonEvents, Reach, Since, Uses};
use crate::params::{epoch_days, from_epoch_days, minus_one_year};

/// The screening modalities (§1): name, value set, look-back years `L(m)` before the MP start.
pub const MODALITIES: [(&str, &str, u32); 5] = [
    ("colonoscopy", "col_colonoscopy", 9),
    ("ct_colonography", "col_ct_colonography", 4),
    ("sigmoidoscopy", "col_sigmoidoscopy", 4),
    ("fit_dna", "col_fit_dna", 2),
    ("fobt", "col_fobt", 0),
];

/// The registry entry.
pub static FAMILY: Family = Family {
    module: "col",
    measures: &[Measure {
        id: "col",
        name: "Colorectal cancer screening",
        steward: "NCQA",
        source: "NCQA HEDIS COL-E (Health Home Core Set COL-HH), claims and clinical data, as docs/measures/col.md reads it",
        version: "col 1.0",
        kind: Kind::Person,
        lower_is_better: false,
        age_bands: &[band(46, 50), band(51, 65), band(66, 75)],
        spec: "docs/measures/col.md",
        core_set: super::core_set("COL-HH", "Colorectal cancer screening"),
    }],
    uses: Uses {
        coded: &[
            ("col_colonoscopy", Reach::Years(9)),
            ("col_ct_colonography", Reach::Years(4)),
            ("col_sigmoidoscopy", Reach::Years(4)),
            ("col_fit_dna", Reach::Years(2)),
            ("col_fobt", Reach::Years(0)),
            ("colorectal_cancer", Reach::AnyTime),
            ("total_colectomy", Reach::AnyTime),
            ("palliative_care", Reach::Years(0)),
            ("frailty", Reach::Years(0)),
            ("advanced_illness", Reach::Years(1)),
        ],
        dispensed: &[("dementia_medication", Since::Lookback)],
        ..Uses::NONE
    },
    value_sets: &[],
    evaluate,
    rates: super::no_rates,
};

/// At most one gap in coverage over `a ..= b`, of at most 45 days (§2: the year before the
/// MP, where no anchor day is required).
fn at_most_one_short_gap(pe: &PersonEvents, a: i32, b: i32) -> bool {
    let mut gaps = Vec::new();
    let mut next = a;
    for &(s, e) in &pe.coverage {
        if e < next {
            continue;
        }
        if s > b {
            break;
        }
        if s > next {
            gaps.push(s - next);
        }
        next = next.max(e + 1);
    }
    if next <= b {
        gaps.push(b - next + 1);
    }
    gaps.len() <= 1 && gaps.iter().all(|g| *g <= 45)
}

/// **Eligible population** (§2): age 46–75 in completed years on the MP end; MP enrollment
/// (covered on the MP end, at most one gap ≤ 45 days in the MP) and at most one gap ≤ 45 days
/// in the year before the MP (`Y0 − 1 y … Y0 − 1 day`); no death before the MP start.
pub fn eligible_population(pe: &PersonEvents, ctx: &Context) -> bool {
    let p = &ctx.period;
    let year_before = epoch_days(minus_one_year(from_epoch_days(p.start)));
    (46..=75).contains(&pe.age_on(p.end))
        && pe.mp_enrolled(p.start, p.end)
        && at_most_one_short_gap(pe, year_before, p.start - 1)
        && pe.death.is_none_or(|d| d >= p.start)
}

fn dated_in(events: &[Coded], a: i32, b: i32) -> impl Iterator<Item = &Coded> {
    events.iter().filter(move |e| e.date >= a && e.date <= b)
}

/// Frailty and advanced illness (§3, exclusion 6): age ≥ 66 on the MP end; a `frailty` code
/// dated in the MP; and an `advanced_illness` code from MP start − 1 year to the MP end on ≥ 2
/// distinct dates outside acute stays or on ≥ 1 acute-stay line, or a `dementia_medication`
/// dispensing from the look-back start (default MP start − 1 year) to the MP end.
pub fn frail_with_advanced_illness(pe: &PersonEvents, ctx: &Context) -> bool {
    let p = &ctx.period;
    if pe.age_on(p.end) < 66
        || dated_in(pe.coded("frailty"), p.start, p.end)
            .next()
            .is_none()
    {
        return false;
    }
    let from = epoch_days(minus_one_year(from_epoch_days(p.start)));
    let ai: Vec<&Coded> = dated_in(pe.coded("advanced_illness"), from, p.end).collect();
    let mut dates: Vec<i32> = ai.iter().filter(|e| !e.acute).map(|e| e.date).collect();
    dates.sort_unstable();
    dates.dedup();
    dates.len() >= 2
        || ai.iter().any(|e| e.acute)
        || !pe.dispensed("dementia_medication").is_empty()
}

/// **Exclusions**, in order (§3; hospice, first of all, is applied to every measure by
/// [`super::evaluate_person`]): death in the MP (`death`); colorectal cancer on or before the
/// MP end, any time in the input (`colorectal cancer`); total colectomy, likewise
/// (`total colectomy`); palliative care dated in the MP (`palliative care`); 66 and older with
/// frailty and advanced illness (`frailty and advanced illness`).
pub fn exclusions(pe: &PersonEvents, ctx: &Context) -> Option<&'static str> {
    let p = &ctx.period;
    if pe.death.is_some_and(|d| d >= p.start && d <= p.end) {
        Some(reason::DEATH_IN_PERIOD)
    } else if pe
        .coded("colorectal_cancer")
        .iter()
        .any(|e| e.date <= p.end)
    {
        Some(reason::COLORECTAL_CANCER)
    } else if pe.coded("total_colectomy").iter().any(|e| e.date <= p.end) {
        Some(reason::TOTAL_COLECTOMY)
    } else if dated_in(pe.coded("palliative_care"), p.start, p.end)
        .next()
        .is_some()
    {
        Some(reason::PALLIATIVE_CARE)
    } else if frail_with_advanced_illness(pe, ctx) {
        Some(reason::FRAILTY_ADVANCED_ILLNESS)
    } else {
        None
    }
}

/// The first day of modality window `years` (§1): the MP start `years` whole years back.
fn window_start(ctx: &Context, years: u32) -> i32 {
    reach_start(from_epoch_days(ctx.period.start), Reach::Years(years)).expect("a year reach")
}

/// **Numerator** (§4, `closed`): a screen of any modality dated from its window start
/// (the MP start, 2, 4 or 9 years back) through the MP end. The latest such date and the ids
/// of every qualifying screen of any modality that day.
pub fn numerator(pe: &PersonEvents, ctx: &Context) -> Option<(i32, Vec<String>)> {
    let end = ctx.period.end;
    let screens: Vec<&Coded> = MODALITIES
        .iter()
        .flat_map(|(_, set, years)| dated_in(pe.coded(set), window_start(ctx, *years), end))
        .collect();
    let last = screens.iter().map(|e| e.date).max()?;
    let mut ids: Vec<String> = screens
        .iter()
        .filter(|e| e.date == last)
        .filter_map(|e| e.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    Some((last, ids))
}

/// One modality's look-back against the history start (§6).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lookback {
    /// The modality (`colonoscopy`, …).
    pub modality: &'static str,
    /// Its window's first day.
    pub window_start: NaiveDate,
    /// The history starts after the window does: a screen inside the window may be missing.
    pub short: bool,
}

/// Every modality's look-back for a run whose MP starts `period_start` and whose history
/// starts `history_start` (none: unknown, read as complete) (§6).
pub fn lookbacks(period_start: NaiveDate, history_start: Option<NaiveDate>) -> Vec<Lookback> {
    MODALITIES
        .iter()
        .map(|(m, _, years)| {
            let start = crate::events::coded::years_before(period_start, *years);
            Lookback {
                modality: m,
                window_start: start,
                short: history_start.is_some_and(|h| h > start),
            }
        })
        .collect()
}

/// Whether any modality's look-back is short (§6.2).
pub fn history_short(ctx: &Context) -> bool {
    ctx.history_start
        .is_some_and(|h| MODALITIES.iter().any(|(_, _, y)| h > window_start(ctx, *y)))
}

fn evaluate(pe: &PersonEvents, ctx: &Context) -> Vec<GapRow> {
    if !eligible_population(pe, ctx) {
        return vec![];
    }
    let outcome = match exclusions(pe, ctx) {
        Some(r) => Outcome::Excluded(r),
        None => match numerator(pe, ctx) {
            Some((date, evidence)) => Outcome::Closed { date, evidence },
            None => Outcome::Open { evidence: None },
        },
    };
    let open = matches!(outcome, Outcome::Open { .. });
    let end = ctx.period.end;
    let mut row = GapRow::new("col", end, end, Vec::new(), outcome);
    // §6.3: only an open row is flagged; closed and excluded rows are settled by evidence.
    row.history_short = open && history_short(ctx);
    vec![row]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::testing::*;
    use crate::measures::Status;

    /// A 50-year-old (born 1920-06-01) covered from 1968 to 1972.
    fn member() -> PersonEvents {
        PersonEvents {
            birth: day(1920, 6, 1),
            ..adult()
        }
    }

    fn ev(date: i32) -> Coded {
        Coded {
            date,
            id: Some(format!("E{date}")),
            acute: false,
        }
    }

    fn with(set: &'static str, dates: &[i32]) -> PersonEvents {
        let mut pe = member();
        pe.coded = vec![(set, dates.iter().map(|d| ev(*d)).collect())];
        pe
    }

    fn status(pe: &PersonEvents, c: &Context) -> Option<(Status, Option<&'static str>)> {
        evaluate(pe, c)
            .first()
            .map(|r| (r.status, r.exclusion_reason))
    }

    #[test]
    fn ages_46_to_75_on_the_period_end() {
        let c = ctx();
        let mut pe = member();
        pe.birth = day(1925, 1, 1); // 45 on 1970-12-31
        assert!(!eligible_population(&pe, &c));
        pe.birth = day(1924, 12, 31); // 46 on 1970-12-31
        assert!(eligible_population(&pe, &c));
        pe.birth = day(1895, 1, 1); // 75
        assert!(eligible_population(&pe, &c));
        pe.birth = day(1894, 12, 31); // 76
        assert!(!eligible_population(&pe, &c));
    }

    #[test]
    fn enrollment_in_the_period_and_the_year_before() {
        let c = ctx();
        let mut pe = member();
        pe.coverage = vec![(day(1969, 1, 1), day(1970, 12, 31))];
        assert!(eligible_population(&pe, &c));
        // A 45-day gap in 1969 is allowed, 46 days is not.
        pe.coverage = vec![
            (day(1969, 1, 1), day(1969, 3, 31)),
            (day(1969, 3, 31) + 46, day(1970, 12, 31)),
        ];
        assert!(eligible_population(&pe, &c));
        pe.coverage = vec![
            (day(1969, 1, 1), day(1969, 3, 31)),
            (day(1969, 3, 31) + 47, day(1970, 12, 31)),
        ];
        assert!(!eligible_population(&pe, &c));
        // Two short gaps in the year before.
        pe.coverage = vec![
            (day(1969, 1, 1), day(1969, 3, 31)),
            (day(1969, 4, 10), day(1969, 6, 30)),
            (day(1969, 7, 10), day(1970, 12, 31)),
        ];
        assert!(!eligible_population(&pe, &c));
        // Covered from 1969-02-15: one gap of 45 days at the start of the year before.
        pe.coverage = vec![(day(1969, 2, 15), day(1970, 12, 31))];
        assert!(eligible_population(&pe, &c));
        pe.coverage = vec![(day(1969, 2, 16), day(1970, 12, 31))];
        assert!(!eligible_population(&pe, &c));
    }

    #[test]
    fn a_death_before_the_period_removes_the_row_one_in_it_excludes() {
        let c = ctx();
        let mut pe = member();
        pe.death = Some(day(1969, 12, 31));
        assert_eq!(status(&pe, &c), None);
        pe.death = Some(day(1970, 1, 1));
        assert_eq!(status(&pe, &c), Some((Status::Excluded, Some("death"))));
        pe.death = Some(day(1970, 12, 31));
        assert_eq!(status(&pe, &c), Some((Status::Excluded, Some("death"))));
        pe.death = Some(day(1971, 1, 1));
        assert_eq!(status(&pe, &c), Some((Status::Open, None)));
    }

    #[test]
    fn each_modality_at_its_window_start_and_one_day_before() {
        let c = ctx();
        for (set, start) in [
            ("col_colonoscopy", day(1961, 1, 1)),
            ("col_ct_colonography", day(1966, 1, 1)),
            ("col_sigmoidoscopy", day(1966, 1, 1)),
            ("col_fit_dna", day(1968, 1, 1)),
            ("col_fobt", day(1970, 1, 1)),
        ] {
            assert_eq!(
                numerator(&with(set, &[start]), &c),
                Some((start, vec![format!("E{start}")])),
                "{set} on its window's first day"
            );
            assert_eq!(
                numerator(&with(set, &[start - 1]), &c),
                None,
                "{set} one day before its window"
            );
            assert_eq!(numerator(&with(set, &[364]), &c).map(|x| x.0), Some(364));
            assert_eq!(
                numerator(&with(set, &[365]), &c),
                None,
                "{set} after the MP"
            );
        }
    }

    #[test]
    fn the_latest_screen_closes_with_every_screen_that_day() {
        let c = ctx();
        let mut pe = member();
        pe.coded = vec![
            ("col_colonoscopy", vec![ev(day(1965, 5, 5)), ev(40)]),
            ("col_fobt", vec![ev(40), ev(20)]),
        ];
        pe.coded[1].1[0].id = Some("FOBT".into());
        assert_eq!(
            numerator(&pe, &c),
            Some((40, vec!["E40".to_string(), "FOBT".to_string()]))
        );
    }

    #[test]
    fn exclusions_in_order_before_the_numerator() {
        let c = ctx();
        let mut pe = member();
        pe.coded = vec![
            ("col_colonoscopy", vec![ev(100)]),
            ("colorectal_cancer", vec![ev(day(1950, 1, 1))]),
            ("total_colectomy", vec![ev(day(1960, 1, 1))]),
            ("palliative_care", vec![ev(10)]),
        ];
        pe.death = Some(200);
        assert_eq!(exclusions(&pe, &c), Some("death"));
        pe.death = None;
        assert_eq!(exclusions(&pe, &c), Some("colorectal cancer"));
        pe.coded.remove(1);
        assert_eq!(exclusions(&pe, &c), Some("total colectomy"));
        pe.coded.remove(1);
        assert_eq!(exclusions(&pe, &c), Some("palliative care"));
        assert_eq!(
            status(&pe, &c),
            Some((Status::Excluded, Some("palliative care")))
        );
        pe.coded[1].1[0].date = -1; // palliative care before the MP does not exclude
        assert_eq!(exclusions(&pe, &c), None);
        assert_eq!(status(&pe, &c), Some((Status::Closed, None)));
    }

    #[test]
    fn lifetime_exclusions_count_only_on_or_before_the_period_end() {
        let c = ctx();
        assert_eq!(
            exclusions(&with("colorectal_cancer", &[364]), &c),
            Some("colorectal cancer")
        );
        assert_eq!(exclusions(&with("colorectal_cancer", &[365]), &c), None);
        assert_eq!(
            exclusions(&with("total_colectomy", &[364]), &c),
            Some("total colectomy")
        );
        assert_eq!(exclusions(&with("total_colectomy", &[365]), &c), None);
    }

    #[test]
    fn frailty_and_advanced_illness_from_66() {
        let c = ctx();
        let mut pe = member();
        pe.birth = day(1904, 12, 31); // 66 on 1970-12-31
        pe.coded = vec![
            ("frailty", vec![ev(50)]),
            (
                "advanced_illness",
                vec![ev(day(1969, 1, 1)), ev(day(1969, 6, 1))],
            ),
        ];
        assert_eq!(exclusions(&pe, &c), Some("frailty and advanced illness"));
        // 65: not excluded.
        pe.birth = day(1905, 1, 1);
        assert_eq!(exclusions(&pe, &c), None);
        pe.birth = day(1904, 12, 31);
        // Advanced illness on one outpatient date only: not enough; an acute line is.
        pe.coded[1].1 = vec![ev(day(1969, 1, 1)), ev(day(1969, 1, 1))];
        assert_eq!(exclusions(&pe, &c), None);
        pe.coded[1].1[1].acute = true;
        assert_eq!(exclusions(&pe, &c), Some("frailty and advanced illness"));
        // Advanced illness before MP start − 1 year does not count.
        pe.coded[1].1 = vec![ev(day(1968, 12, 31)), ev(day(1969, 1, 1))];
        assert_eq!(exclusions(&pe, &c), None);
        // A dementia medication stands for advanced illness.
        pe.dispensed = vec![("dementia_medication", vec![fill(-30)])];
        assert_eq!(exclusions(&pe, &c), Some("frailty and advanced illness"));
        // Without frailty in the MP, nothing.
        pe.coded[0].1 = vec![ev(-1)];
        assert_eq!(exclusions(&pe, &c), None);
    }

    #[test]
    fn only_open_rows_are_flagged_when_a_look_back_is_short() {
        let mut c = ctx();
        let pe = member();
        assert!(!evaluate(&pe, &c)[0].history_short, "history unknown");
        c.history_start = Some(day(1961, 1, 1));
        assert!(
            !evaluate(&pe, &c)[0].history_short,
            "reaches the colonoscopy window"
        );
        c.history_start = Some(day(1961, 1, 2));
        assert!(evaluate(&pe, &c)[0].history_short, "one day short");
        let closed = with("col_fobt", &[10]);
        assert!(!evaluate(&closed, &c)[0].history_short);
        let excluded = with("palliative_care", &[10]);
        assert!(!evaluate(&excluded, &c)[0].history_short);
    }

    #[test]
    fn lookbacks_name_the_short_modalities() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let l = lookbacks(d(2026, 1, 1), Some(d(2024, 1, 1)));
        let short: Vec<(&str, bool)> = l.iter().map(|x| (x.modality, x.short)).collect();
        assert_eq!(
            short,
            [
                ("colonoscopy", true),
                ("ct_colonography", true),
                ("sigmoidoscopy", true),
                ("fit_dna", false),
                ("fobt", false)
            ]
        );
        assert_eq!(l[0].window_start, d(2017, 1, 1));
        assert!(lookbacks(d(2026, 1, 1), Some(d(2017, 1, 1)))
            .iter()
            .all(|x| !x.short));
        assert!(lookbacks(d(2026, 1, 1), None).iter().all(|x| !x.short));
    }
}
