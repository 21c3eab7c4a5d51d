//! Planted care-gap scenarios (spec §4 and its edges) with their expected rows.
//!
//! A scenario person has continuous Medicaid over every generated year (unless the scenario is
//! about enrollment), is 40 on the MP end, and has *only* the events of the scenario: no
//! background utilization that could open or close anything by accident. Each scenario writes
//! its events and, beside them, every care-gap row they must produce (or the absence of one,
//! `no_row`) and the person's eligibility — all decided by construction, never by running the
//! measure code. Dates are drawn at random within the ranges each scenario needs.
//!
//! Scenario persons are kept off the outreach list (no program rule holds, or — for SSD, whose
//! population needs schizophrenia or bipolar disorder — a death_date on the MP's last day, which
//! only eligibility reads), so that their concentrated planted events stay out of the
//! comparison group and cannot bias the difference-in-differences.

use chrono::{Duration, NaiveDate};
use rand::RngExt;

use crate::person::{program_rules, ymd, Cond, Ctx};
use crate::tables::{Clinical, EligibilityRow, Truth};

/// Every scenario, by name. The generator cycles through them at random.
pub const SCENARIOS: [&str; 50] = [
    "fuh_day7",
    "fuh_day8",
    "fuh_visit_on_discharge_day",
    "fuh_direct_transfer",
    "fuh_mh_readmission_replaces",
    "fuh_non_mh_readmission_excludes",
    "fuh_death_during_stay",
    "fuh_discharge_in_last_30_days",
    "fuh_not_continuously_enrolled",
    "hospice_excludes_all",
    "fum_follow_up_on_ed_date",
    "fum_31_day_rule",
    "fum_resulted_in_admission",
    "fua_closed_day7",
    "fua_open",
    "fua_hh_overdose_pharmacotherapy",
    "fua_hh_fill_day8",
    "oud_buprenorphine_fill",
    "oud_hcpcs_two_rates",
    "oud_naloxone_only",
    "cbp_closed",
    "cbp_inpatient_reading_ignored",
    "cbp_no_reading",
    "cbp_esrd",
    "hba1c_closed",
    "hba1c_no_test",
    "hba1c_poor_control",
    "ssd_closed",
    "ssd_open",
    "ssd_diabetes_excluded",
    "pcr_readmission",
    "tcm_closed",
    "gsd_gmi_and_hba1c_same_day",
    "gsd_gmi_latest_poor",
    "gsd_palliative_care",
    "cdf_negative_screen",
    "cdf_positive_with_plan",
    "cdf_positive_no_plan",
    "cdf_screen_15_days_before",
    "cdf_bipolar_excluded",
    "iet_initiated_engaged",
    "iet_day15_not_initiated",
    "col_colonoscopy_closed",
    "col_fit_dna_closed",
    "col_fobt_year_before_open",
    "col_open",
    "col_cancer_excluded",
    "pcr_hh_observation_readmission",
    "pcr_hh_planned_readmission",
    "pcr_hh_outlier",
];

/// Real FDA NDC Directory package codes (2019-04-29): Suboxone 8 mg/2 mg sublingual film,
/// acamprosate 333 mg delayed-release tablets, and a naloxone nasal spray (in no OUD set).
const SUBOXONE_FILM: &str = "12496120803";
const ACAMPROSATE: &str = "00093535286";
const NALOXONE_SPRAY: &str = "69547035302";

const OPEN: &str = "open";
const CLOSED: &str = "closed";
const EXCLUDED: &str = "excluded";
const NO_ROW: &str = "no_row";

struct Plan<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    name: &'static str,
    conditions: Vec<Cond>,
}

impl Plan<'_, '_> {
    fn d(&self, y_offset: i32, m: u32, day: u32) -> NaiveDate {
        ymd(self.cx.cfg.last_year + y_offset, m, day)
    }
    /// Expect a row. A `pcr_30` row is expected for `pcr_hh` too: the two agree for a person
    /// without observation stays, planned readmissions or four index stays, which every
    /// scenario but the `pcr_hh_*` ones is (those plant their rows with [`Plan::expect_one`]).
    fn expect(
        &mut self,
        measure: &'static str,
        index: NaiveDate,
        status: &'static str,
        reason: &str,
        what: &str,
    ) {
        if measure == "pcr_30" {
            self.expect_one("pcr_hh", index, status, reason, what);
        }
        self.expect_one(measure, index, status, reason, what);
    }
    /// Expect a row of `measure` only.
    fn expect_one(
        &mut self,
        measure: &'static str,
        index: NaiveDate,
        status: &'static str,
        reason: &str,
        what: &str,
    ) {
        self.cx.rows.truth.push(Truth {
            person_id: self.cx.pid.clone(),
            kind: "care_gap",
            measure: Some(measure),
            index_date: index,
            expected_status: status,
            expected_rule: reason.to_string(),
            description: format!("{}: {what}", self.name),
        });
    }
    /// The four rows of an acute stay in the MP's index window, for an adult.
    fn stay_rows(
        &mut self,
        d: NaiveDate,
        fuh: Option<(&'static str, &'static str)>,
        tcm: &'static str,
        pcr: &'static str,
    ) {
        if let Some((f7, f30)) = fuh {
            self.expect("fuh_7", d, f7, "", "FUH 7-day");
            self.expect("fuh_30", d, f30, "", "FUH 30-day");
        }
        self.expect("tcm_7", d, tcm, "", "TCM");
        self.expect("pcr_30", d, pcr, "", "PCR");
    }
    /// The `cdf` row (one per person, index = MP end): every scenario with a qualifying
    /// encounter (an office visit 99213/99214, psychotherapy 90834 …) in the MP has one.
    fn cdf(&mut self, status: &'static str, reason: &str, what: &str) {
        let end = self.d(0, 12, 31);
        self.expect("cdf", end, status, reason, what);
    }
    /// The two GSD rows (index = MP end) of a person in the diabetes population.
    fn gsd(&mut self, lt8: &'static str, gt9: &'static str, reason: &str, what: &str) {
        let end = self.d(0, 12, 31);
        self.expect("gsd_lt8", end, lt8, reason, what);
        self.expect("gsd_gt9", end, gt9, reason, what);
    }
    /// The four IET rows of an SUD episode on `d` with one cohort (`alcohol`, `opioid`,
    /// `other`): the total and the cohort's initiation and engagement.
    fn iet_rows(&mut self, d: NaiveDate, cohort: &str, init: &'static str, engage: &'static str) {
        let (i, e): (&'static str, &'static str) = match cohort {
            "alcohol" => ("iet_init_alcohol", "iet_engage_alcohol"),
            "opioid" => ("iet_init_opioid", "iet_engage_opioid"),
            _ => ("iet_init_other", "iet_engage_other"),
        };
        self.expect("iet_init", d, init, "", "IET initiation");
        self.expect("iet_engage", d, engage, "", "IET engagement");
        self.expect(i, d, init, "", "IET initiation (cohort)");
        self.expect(e, d, engage, "", "IET engagement (cohort)");
    }
    /// The five OUD-HH rows (index MP end): `closed` for the total and each medication rate
    /// in `closed`, `open` for the others.
    fn oud_rows(&mut self, closed: &[&str]) {
        let end = self.d(0, 12, 31);
        let total = if closed.is_empty() { OPEN } else { CLOSED };
        self.expect("oud", end, total, "", "OUD-HH total");
        for m in ["oud_bup", "oud_ntx_oral", "oud_ntx_lai", "oud_methadone"] {
            let s = if closed.contains(&m) { CLOSED } else { OPEN };
            self.expect(m, end, s, "", "OUD-HH medication rate");
        }
    }
    fn lab(&mut self, d: NaiveDate, code: &'static str, result: &str) {
        let id = format!("{}-L{:04}", self.cx.pid, self.cx.rows.lab.len() + 1);
        self.cx.rows.lab.push(Clinical {
            id,
            person_id: self.cx.pid.clone(),
            date: d,
            code,
            result: result.to_string(),
            units: Some("%"),
        });
    }
}

/// Write one scenario person: coverage, events, expected rows and eligibility.
pub(crate) fn plant(cx: &mut Ctx) {
    let name = SCENARIOS[cx.rng.random_range(0..SCENARIOS.len())];
    let last = cx.last;
    // Coverage from the year before the MP at the latest, so PCR's D − 365 is covered.
    let first = cx.first.min(ymd(cx.cfg.last_year - 1, 1, 1));
    // 40 on the MP end (outside COL's 46–75); the COL scenarios are 60.
    let birth = if name.starts_with("col_") {
        ymd(cx.cfg.last_year - 60, 6, 15)
    } else {
        ymd(cx.cfg.last_year - 40, 6, 15)
    };
    let mut coverage_end = last;
    let mut death: Option<NaiveDate> = None;
    let mut plan = Plan {
        cx,
        name,
        conditions: vec![],
    };
    // An index date with room after it: 1 February … 15 October of the MP year.
    let lo = plan.d(0, 2, 1);
    let hi = plan.d(0, 10, 15);
    let d = plan.cx.day_between(lo, hi);
    let day = |n: i64| d + Duration::days(n);
    // A mental illness that is not SPMI: FUH applies, no eligibility rule holds.
    let mh = "F32.9";
    match name {
        "fuh_day7" | "fuh_day8" | "fuh_visit_on_discharge_day" => {
            plan.cx.stay(day(-3), d, mh, "01");
            let after = match name {
                "fuh_day7" => 7,
                "fuh_day8" => 8,
                _ => 0,
            };
            plan.cx
                .office_visit(day(after), "90834", "53", [Some(mh), None, None]);
            let (f7, f30, tcm) = match after {
                7 => (CLOSED, CLOSED, CLOSED),
                8 => (OPEN, CLOSED, OPEN),
                _ => (OPEN, OPEN, OPEN),
            };
            plan.stay_rows(d, Some((f7, f30)), tcm, CLOSED);
            plan.cdf(
                EXCLUDED,
                "depression",
                "F32.9 on the stay before the 90834 visit",
            );
            plan.conditions = vec![Cond::MentalIllness];
        }
        "fuh_direct_transfer" => {
            plan.cx.stay(day(-6), day(-3), "J18.9", "02");
            plan.cx.stay(day(-2), d, mh, "01");
            plan.cx
                .office_visit(day(3), "90834", "53", [Some(mh), None, None]);
            plan.stay_rows(d, Some((CLOSED, CLOSED)), CLOSED, CLOSED);
            plan.cdf(
                EXCLUDED,
                "depression",
                "F32.9 on the stay before the 90834 visit",
            );
            plan.expect(
                "pcr_30",
                day(-3),
                NO_ROW,
                "",
                "the first component is not a discharge",
            );
            plan.conditions = vec![Cond::MentalIllness];
        }
        "fuh_mh_readmission_replaces" => {
            plan.cx.stay(day(-2), d, mh, "01");
            plan.cx.stay(day(10), day(12), mh, "01");
            plan.cx
                .office_visit(day(14), "90834", "53", [Some(mh), None, None]);
            plan.expect("fuh_7", d, NO_ROW, "", "replaced by the MH readmission");
            plan.expect("fuh_30", d, NO_ROW, "", "replaced by the MH readmission");
            plan.expect("tcm_7", d, OPEN, "", "no visit within 7 days");
            plan.expect("pcr_30", d, OPEN, "", "readmitted on D+10");
            plan.stay_rows(day(12), Some((CLOSED, CLOSED)), CLOSED, CLOSED);
            plan.cdf(
                EXCLUDED,
                "depression",
                "F32.9 on the stays before the 90834 visit",
            );
            plan.conditions = vec![Cond::MentalIllness];
        }
        "fuh_non_mh_readmission_excludes" => {
            plan.cx.stay(day(-2), d, mh, "01");
            plan.cx
                .office_visit(day(2), "90834", "53", [Some(mh), None, None]);
            plan.cx.stay(day(10), day(11), "J18.9", "01");
            let r = "acute readmission with non-MH principal dx within 30 days";
            plan.expect("fuh_7", d, EXCLUDED, r, "non-MH readmission on D+10");
            plan.expect("fuh_30", d, EXCLUDED, r, "non-MH readmission on D+10");
            plan.expect("tcm_7", d, CLOSED, "", "visit on D+2");
            plan.expect("pcr_30", d, OPEN, "", "readmitted on D+10");
            plan.stay_rows(day(11), None, OPEN, CLOSED);
            plan.cdf(
                EXCLUDED,
                "depression",
                "F32.9 on the stay before the 90834 visit",
            );
            plan.conditions = vec![Cond::MentalIllness];
        }
        "fuh_death_during_stay" => {
            plan.cx.stay(day(-3), d, mh, "20");
            for m in ["fuh_7", "fuh_30", "tcm_7", "pcr_30"] {
                plan.expect(m, d, EXCLUDED, "death during stay", "discharge status 20");
            }
            plan.conditions = vec![Cond::MentalIllness];
        }
        "fuh_discharge_in_last_30_days" => {
            let dd = plan.cx.day_between(plan.d(0, 12, 1), plan.d(0, 12, 28));
            plan.cx.stay(dd - Duration::days(3), dd, mh, "01");
            for m in ["fuh_7", "fuh_30", "tcm_7", "pcr_30"] {
                plan.expect(m, dd, NO_ROW, "", "discharged after MP end - 31 days");
            }
            plan.conditions = vec![Cond::MentalIllness];
        }
        "fuh_not_continuously_enrolled" => {
            plan.cx.stay(day(-3), d, mh, "01");
            coverage_end = day(20);
            plan.expect("fuh_7", d, NO_ROW, "", "Medicaid ends D+20");
            plan.expect("fuh_30", d, NO_ROW, "", "Medicaid ends D+20");
            plan.expect("tcm_7", d, OPEN, "", "covered D..D+7, no visit");
            plan.expect("pcr_30", d, NO_ROW, "", "Medicaid ends D+20");
            plan.conditions = vec![Cond::MentalIllness];
        }
        "hospice_excludes_all" => {
            plan.cx.stay(day(-3), d, mh, "01");
            plan.cx
                .office_visit(day(3), "90834", "53", [Some(mh), None, None]);
            let hd = plan.cx.day_between(plan.d(0, 1, 1), plan.d(0, 12, 31));
            let id = plan
                .cx
                .office_visit(hd, "Q5003", "34", [Some("Z51.5"), None, None]);
            let _ = id;
            for m in ["fuh_7", "fuh_30", "tcm_7", "pcr_30"] {
                plan.expect(m, d, EXCLUDED, "hospice", "hospice HCPCS Q5003 in the MP");
            }
            plan.cdf(
                EXCLUDED,
                "hospice",
                "90834 visit; hospice HCPCS Q5003 in the MP",
            );
            plan.conditions = vec![Cond::MentalIllness];
        }
        "fum_follow_up_on_ed_date" => {
            plan.cx.ed_visit(d, "F41.1");
            plan.cx
                .office_visit(d, "90834", "53", [Some("F41.1"), None, None]);
            plan.expect("fum_7", d, CLOSED, "", "MH visit on the ED date");
            plan.expect("fum_30", d, CLOSED, "", "MH visit on the ED date");
            plan.cdf(OPEN, "", "90834 visit, no depression screen");
        }
        "fum_31_day_rule" => {
            let e = plan.cx.day_between(lo, plan.d(0, 9, 15));
            plan.cx.ed_visit(e, "F41.1");
            plan.cx.office_visit(
                e + Duration::days(5),
                "90834",
                "53",
                [Some("F41.1"), None, None],
            );
            plan.cx.ed_visit(e + Duration::days(10), "F41.1");
            plan.cx.ed_visit(e + Duration::days(31), "F41.1");
            plan.expect("fum_7", e, CLOSED, "", "follow-up on E+5");
            plan.expect("fum_30", e, CLOSED, "", "follow-up on E+5");
            plan.expect(
                "fum_7",
                e + Duration::days(10),
                NO_ROW,
                "",
                "blocked by the visit on E",
            );
            plan.expect(
                "fum_7",
                e + Duration::days(31),
                OPEN,
                "",
                "E+31 is a new index",
            );
            plan.expect(
                "fum_30",
                e + Duration::days(31),
                OPEN,
                "",
                "E+31 is a new index",
            );
            plan.cdf(OPEN, "", "90834 visit, no depression screen");
            plan.conditions = vec![Cond::MentalIllness];
        }
        "fum_resulted_in_admission" => {
            plan.cx.ed_visit(d, "F41.1");
            plan.cx.stay(day(1), day(3), "J18.9", "01");
            plan.expect(
                "fum_7",
                d,
                EXCLUDED,
                "resulted in admission",
                "admitted the next day",
            );
            plan.expect(
                "fum_30",
                d,
                EXCLUDED,
                "resulted in admission",
                "admitted the next day",
            );
            plan.stay_rows(day(3), None, OPEN, CLOSED);
        }
        "fua_closed_day7" => {
            plan.cx.ed_visit(d, "F10.20");
            plan.cx
                .office_visit(day(7), "H0001", "57", [Some("Z00.00"), None, None]);
            plan.expect("fua_7", d, CLOSED, "", "H0001 on E+7");
            plan.expect("fua_30", d, CLOSED, "", "H0001 on E+7");
            // The ED visit opens an IET episode; H0001 without an SUD diagnosis initiates nothing.
            plan.iet_rows(d, "alcohol", OPEN, OPEN);
            plan.expect("fua_hh_7", d, CLOSED, "", "H0001 on E+7");
            plan.expect("fua_hh_30", d, CLOSED, "", "H0001 on E+7");
        }
        "fua_open" => {
            plan.cx.ed_visit(d, "F11.20");
            plan.expect("fua_7", d, OPEN, "", "no follow-up");
            plan.expect("fua_30", d, OPEN, "", "no follow-up");
            plan.iet_rows(d, "opioid", OPEN, OPEN);
            plan.expect("fua_hh_7", d, OPEN, "", "no follow-up");
            plan.expect("fua_hh_30", d, OPEN, "", "no follow-up");
            // The F11.20 of the ED line is an OUD diagnosis in the MP: OUD-HH, no medication.
            plan.oud_rows(&[]);
        }
        "iet_initiated_engaged" => {
            // An OUD office visit, then buprenorphine/naloxone fills on D+3 (initiation) and
            // on two later dates in the 34 days after it (engagement).
            plan.cx
                .office_visit(d, "99213", "11", [Some("F11.20"), None, None]);
            for n in [3, 10, 20] {
                plan.cx.fill(day(n), "00054018813".to_string(), 7, 20, 120);
            }
            plan.iet_rows(d, "opioid", CLOSED, CLOSED);
            // The 99213 is a CDF encounter; the buprenorphine/naloxone fills make it OUD-HH's
            // buprenorphine rate.
            plan.cdf(OPEN, "", "99213 office visit, no depression screen");
            plan.oud_rows(&["oud_bup"]);
        }
        "iet_day15_not_initiated" => {
            // An AUD office visit; the next visit with an AUD diagnosis is on day 15 (D+14),
            // too late to initiate, and inside the first visit's 194 days (no new episode).
            plan.cx
                .office_visit(d, "99213", "11", [Some("F10.20"), None, None]);
            plan.cx
                .office_visit(day(14), "99213", "11", [Some("F10.20"), None, None]);
            plan.iet_rows(d, "alcohol", OPEN, OPEN);
            plan.conditions.push(Cond::Sud);
            plan.cdf(OPEN, "", "99213 office visits, no depression screen");
        }
        "fua_hh_overdose_pharmacotherapy" => {
            // An overdose-only ED visit (not a v1.3 FUA index) and a buprenorphine/naloxone
            // fill on the ED date; no F11 diagnosis, so no OUD-HH row.
            plan.cx.ed_visit(d, "T40.1X1A");
            plan.cx.fill(d, SUBOXONE_FILM.into(), 30, 200, 400);
            plan.expect("fua_hh_7", d, CLOSED, "", "buprenorphine fill on E");
            plan.expect("fua_hh_30", d, CLOSED, "", "buprenorphine fill on E");
        }
        "fua_hh_fill_day8" => {
            plan.cx.ed_visit(d, "F10.20");
            plan.cx.fill(day(8), ACAMPROSATE.into(), 30, 40, 90);
            // The ED visit opens an IET alcohol episode; acamprosate on D+8 initiates it, and
            // nothing follows to engage.
            plan.iet_rows(d, "alcohol", CLOSED, OPEN);
            plan.expect("fua_7", d, OPEN, "", "v1.3: fills do not count");
            plan.expect("fua_30", d, OPEN, "", "v1.3: fills do not count");
            plan.expect("fua_hh_7", d, OPEN, "", "acamprosate on E+8");
            plan.expect("fua_hh_30", d, CLOSED, "", "acamprosate on E+8");
        }
        "oud_buprenorphine_fill" | "oud_hcpcs_two_rates" | "oud_naloxone_only" => {
            plan.cx
                .office_visit(d, "99213", "11", [Some("F11.20"), None, None]);
            // The 99213 is a CDF qualifying encounter (no screen) and opens an IET opioid
            // episode on D.
            plan.cdf(OPEN, "", "99213 office visit, no depression screen");
            match name {
                "oud_buprenorphine_fill" => {
                    plan.cx.fill(day(20), SUBOXONE_FILM.into(), 30, 200, 400);
                    plan.oud_rows(&["oud_bup"]);
                    // The fill on D+20 is after the 14-day initiation window.
                    plan.iet_rows(d, "opioid", OPEN, OPEN);
                }
                "oud_hcpcs_two_rates" => {
                    plan.cx
                        .office_visit(day(10), "J2315", "11", [Some("F11.20"), None, None]);
                    plan.cx
                        .office_visit(day(40), "G2067", "58", [Some("F11.20"), None, None]);
                    plan.oud_rows(&["oud_ntx_lai", "oud_methadone"]);
                    // J2315 on D+10 initiates; the OTP bundle on D+40 (within 34 days of it)
                    // engages.
                    plan.iet_rows(d, "opioid", CLOSED, CLOSED);
                }
                _ => {
                    plan.cx.fill(day(5), NALOXONE_SPRAY.into(), 1, 60, 140);
                    plan.oud_rows(&[]);
                    // Naloxone is no treatment: nothing initiates.
                    plan.iet_rows(d, "opioid", OPEN, OPEN);
                }
            }
        }
        "cbp_closed" | "cbp_inpatient_reading_ignored" | "cbp_no_reading" | "cbp_esrd" => {
            let a = plan.cx.day_between(plan.d(-1, 1, 1), plan.d(-1, 12, 31));
            let b = plan.cx.day_between(plan.d(0, 1, 1), plan.d(0, 6, 30));
            plan.cx
                .office_visit(a, "99213", "11", [Some("I10"), None, None]);
            plan.cx
                .office_visit(b, "99214", "11", [Some("Z00.00"), Some("I10"), None]);
            let end = plan.d(0, 12, 31);
            let r = plan.cx.day_between(plan.d(0, 7, 1), plan.d(0, 9, 30));
            match name {
                "cbp_closed" => {
                    plan.cx
                        .observation(r, "8480-6", "128".into(), Some("mm[Hg]"));
                    plan.cx
                        .observation(r, "8462-4", "82".into(), Some("mm[Hg]"));
                    plan.expect("cbp", end, CLOSED, "", "128/82");
                }
                "cbp_inpatient_reading_ignored" => {
                    plan.cx
                        .observation(r, "8480-6", "150".into(), Some("mm[Hg]"));
                    plan.cx
                        .observation(r, "8462-4", "95".into(), Some("mm[Hg]"));
                    let s = r + Duration::days(20);
                    plan.cx.stay(s, s + Duration::days(2), "J18.9", "01");
                    plan.cx.observation(
                        s + Duration::days(1),
                        "8480-6",
                        "120".into(),
                        Some("mm[Hg]"),
                    );
                    plan.cx.observation(
                        s + Duration::days(1),
                        "8462-4",
                        "70".into(),
                        Some("mm[Hg]"),
                    );
                    plan.expect(
                        "cbp",
                        end,
                        OPEN,
                        "",
                        "150/95; the controlled reading is during a stay",
                    );
                    plan.stay_rows(s + Duration::days(2), None, OPEN, CLOSED);
                }
                "cbp_esrd" => {
                    plan.cx
                        .office_visit(r, "99213", "11", [Some("N18.6"), Some("I10"), None]);
                    plan.expect("cbp", end, EXCLUDED, "esrd", "ESRD in the MP");
                }
                _ => plan.expect("cbp", end, OPEN, "", "no BP reading"),
            }
            plan.cdf(OPEN, "", "99214 office visit, no depression screen");
            plan.conditions = vec![Cond::Hypertension];
        }
        "hba1c_closed" | "hba1c_no_test" | "hba1c_poor_control" => {
            // In the population by a diabetes medication alone (no diagnosis, so no rule).
            let b = plan.cx.day_between(plan.d(0, 1, 1), plan.d(0, 6, 30));
            plan.cx.fill(b, "00000000101".into(), 30, 4, 40);
            let r = plan.cx.day_between(plan.d(0, 7, 1), plan.d(0, 11, 30));
            let end = plan.d(0, 12, 31);
            match name {
                "hba1c_closed" => {
                    plan.lab(r, "4548-4", "7.4");
                    plan.expect("hba1c_poor", end, CLOSED, "", "7.4 %");
                    plan.gsd(CLOSED, CLOSED, "", "HbA1c 7.4 %");
                }
                "hba1c_poor_control" => {
                    plan.lab(r, "4548-4", "10.3");
                    plan.expect("hba1c_poor", end, OPEN, "", "10.3 %");
                    plan.gsd(OPEN, OPEN, "", "HbA1c 10.3 %");
                }
                _ => {
                    plan.expect("hba1c_poor", end, OPEN, "", "no HbA1c test");
                    plan.gsd(OPEN, OPEN, "", "no glycemic result");
                }
            }
        }
        "ssd_closed" | "ssd_open" | "ssd_diabetes_excluded" => {
            let a = plan.cx.day_between(plan.d(0, 1, 1), plan.d(0, 3, 31));
            plan.cx
                .office_visit(a, "90834", "53", [Some("F20.9"), None, None]);
            plan.cx.office_visit(
                a + Duration::days(30),
                "90834",
                "53",
                [Some("F20.9"), None, None],
            );
            death = Some(last);
            plan.cx
                .fill(a + Duration::days(2), "00000000002".into(), 30, 50, 300);
            let end = plan.d(0, 12, 31);
            plan.conditions = vec![Cond::Smi];
            plan.cdf(OPEN, "", "90834 visits, no depression screen");
            match name {
                "ssd_closed" => {
                    plan.lab(a + Duration::days(60), "2345-7", "96");
                    plan.expect("ssd", end, CLOSED, "", "glucose test");
                }
                "ssd_diabetes_excluded" => {
                    plan.cx.office_visit(
                        a + Duration::days(40),
                        "99213",
                        "11",
                        [Some("E11.9"), None, None],
                    );
                    plan.cx.office_visit(
                        a + Duration::days(80),
                        "99213",
                        "11",
                        [Some("E11.9"), None, None],
                    );
                    plan.expect("ssd", end, EXCLUDED, "diabetes", "diabetes on two dates");
                    plan.expect("hba1c_poor", end, OPEN, "", "no HbA1c test");
                    plan.gsd(
                        EXCLUDED,
                        EXCLUDED,
                        "death",
                        "death_date on the MP's last day",
                    );
                    plan.conditions.push(Cond::Diabetes);
                }
                _ => plan.expect("ssd", end, OPEN, "", "no glucose or HbA1c test"),
            }
        }
        "pcr_readmission" => {
            plan.cx.stay(day(-3), d, "J18.9", "01");
            plan.cx.stay(day(15), day(17), "J18.9", "01");
            plan.stay_rows(d, None, OPEN, OPEN);
            plan.stay_rows(day(17), None, OPEN, CLOSED);
        }
        "tcm_closed" => {
            plan.cx.stay(day(-3), d, "J18.9", "01");
            plan.cx
                .office_visit(day(2), "99214", "11", [Some("J18.9"), None, None]);
            plan.stay_rows(d, None, CLOSED, CLOSED);
            plan.cdf(OPEN, "", "99214 office visit, no depression screen");
        }
        "gsd_gmi_and_hba1c_same_day" | "gsd_gmi_latest_poor" | "gsd_palliative_care" => {
            // In the population by a diabetes medication alone (no diagnosis, so no rule).
            let b = plan.cx.day_between(plan.d(0, 1, 1), plan.d(0, 6, 30));
            plan.cx.fill(b, "00000000101".into(), 30, 4, 40);
            let r = plan.cx.day_between(plan.d(0, 7, 1), plan.d(0, 11, 30));
            let end = plan.d(0, 12, 31);
            match name {
                "gsd_gmi_and_hba1c_same_day" => {
                    plan.cx.observation(r, "97506-0", "7.2".into(), Some("%"));
                    plan.lab(r, "4548-4", "8.4");
                    plan.gsd(CLOSED, CLOSED, "", "GMI 7.2 and HbA1c 8.4 on one date: 7.2");
                    plan.expect("hba1c_poor", end, CLOSED, "", "HbA1c 8.4 %");
                }
                "gsd_gmi_latest_poor" => {
                    plan.lab(b, "4548-4", "7.0");
                    plan.cx.observation(r, "97506-0", "9.5".into(), Some("%"));
                    plan.gsd(OPEN, OPEN, "", "HbA1c 7.0, then GMI 9.5 (latest)");
                    plan.expect("hba1c_poor", end, CLOSED, "", "HbA1c 7.0 % (GMI not read)");
                }
                _ => {
                    plan.lab(r, "4548-4", "7.0");
                    // M1017 (palliative care) with Z51.5: not a CDF encounter, not hospice.
                    plan.cx
                        .office_visit(b, "M1017", "11", [Some("Z51.5"), None, None]);
                    plan.gsd(
                        EXCLUDED,
                        EXCLUDED,
                        "palliative care",
                        "M1017 / Z51.5 in the MP",
                    );
                    plan.expect("hba1c_poor", end, CLOSED, "", "HbA1c 7.0 %; hospice only");
                }
            }
        }
        "cdf_negative_screen"
        | "cdf_positive_with_plan"
        | "cdf_positive_no_plan"
        | "cdf_screen_15_days_before"
        | "cdf_bipolar_excluded" => {
            let visit = plan
                .cx
                .office_visit(d, "99213", "11", [Some("Z00.00"), None, None]);
            match name {
                "cdf_negative_screen" => {
                    plan.cx.add_line(&visit, d, "G8510", Some("Z00.00"));
                    plan.cdf(CLOSED, "", "99213 with G8510 (negative screen)");
                }
                "cdf_positive_with_plan" => {
                    plan.cx.observation(day(-3), "44261-6", "15".into(), None);
                    plan.cx
                        .office_visit(d, "90832", "11", [Some("F43.10"), None, None]);
                    plan.cdf(CLOSED, "", "PHQ-9 15 on E-3, psychotherapy 90832 on E");
                }
                "cdf_positive_no_plan" => {
                    plan.cx.observation(d, "44261-6", "15".into(), None);
                    plan.cdf(OPEN, "", "PHQ-9 15 on E, no follow-up plan");
                }
                "cdf_screen_15_days_before" => {
                    plan.cx.observation(day(-15), "44261-6", "4".into(), None);
                    plan.cdf(OPEN, "", "negative PHQ-9 on E-15, outside E-14..E");
                }
                _ => {
                    let a = plan.cx.day_between(plan.d(-1, 1, 1), plan.d(-1, 12, 31));
                    plan.cx
                        .office_visit(a, "99213", "11", [Some("F31.9"), None, None]);
                    plan.cx.add_line(&visit, d, "G8510", Some("Z00.00"));
                    plan.cdf(EXCLUDED, "bipolar disorder", "F31.9 the year before");
                }
            }
        }
        // COL (docs/measures/col.md): aged 60, covered over the MP and the year before; the
        // only events are the screens (or the cancer history) below.
        "col_colonoscopy_closed" => {
            // Inside the 10-year window but older than every other modality's.
            let c = plan.cx.day_between(plan.d(-9, 1, 1), plan.d(-5, 12, 31));
            plan.cx
                .office_visit(c, "45378", "22", [Some("Z12.11"), None, None]);
            let end = plan.d(0, 12, 31);
            plan.expect(
                "col",
                end,
                CLOSED,
                "",
                "colonoscopy in the MP or the 9 years before",
            );
        }
        "col_fit_dna_closed" => {
            let c = plan.cx.day_between(plan.d(-2, 1, 1), plan.d(-1, 12, 31));
            plan.cx
                .office_visit(c, "81528", "81", [Some("Z12.11"), None, None]);
            let end = plan.d(0, 12, 31);
            plan.expect(
                "col",
                end,
                CLOSED,
                "",
                "sDNA-FIT in the 2 years before the MP",
            );
        }
        "col_fobt_year_before_open" => {
            let c = plan.cx.day_between(plan.d(-1, 1, 1), plan.d(-1, 12, 31));
            plan.cx
                .office_visit(c, "82274", "81", [Some("Z12.11"), None, None]);
            let end = plan.d(0, 12, 31);
            plan.expect("col", end, OPEN, "", "FOBT counts in the MP only");
        }
        "col_open" => {
            let end = plan.d(0, 12, 31);
            plan.expect("col", end, OPEN, "", "no screen");
        }
        "col_cancer_excluded" => {
            let c = plan.cx.day_between(plan.d(-1, 1, 1), plan.d(0, 6, 30));
            plan.cx
                .office_visit(c, "99213", "11", [Some("Z85.038"), None, None]);
            if c >= plan.d(0, 1, 1) {
                // A qualifying CDF encounter in the MP without a screen.
                plan.cdf(OPEN, "", "99213 in the MP, no depression screen");
            }
            let c2 = plan.cx.day_between(plan.d(0, 1, 1), plan.d(0, 12, 31));
            plan.cx
                .office_visit(c2, "82274", "81", [Some("Z12.11"), None, None]);
            let end = plan.d(0, 12, 31);
            plan.expect(
                "col",
                end,
                EXCLUDED,
                "colorectal cancer",
                "history of colorectal cancer (before the FOBT that would close it)",
            );
        }
        "pcr_hh_observation_readmission" => {
            // An observation stay is a PCR-HH index and readmission, never a v1.3 stay.
            plan.cx.stay(day(-3), d, "J18.9", "01");
            plan.cx.observation_stay(day(15), day(16), "R07.9");
            plan.expect_one("tcm_7", d, OPEN, "", "no visit");
            plan.expect_one("pcr_30", d, CLOSED, "", "observation is no v1.3 stay");
            plan.expect_one("pcr_hh", d, OPEN, "", "observation readmission on D+15");
            plan.expect_one("pcr_hh", day(16), CLOSED, "", "observation index stay");
        }
        "pcr_hh_planned_readmission" => {
            // Principal Z51.11 (chemotherapy, CCS 45, PR2): a planned readmission.
            plan.cx.stay(day(-3), d, "J18.9", "01");
            plan.cx.stay(day(10), day(11), "Z51.11", "01");
            plan.expect_one("tcm_7", d, OPEN, "", "no visit");
            plan.expect_one("pcr_30", d, OPEN, "", "readmitted on D+10");
            plan.expect_one("pcr_hh", d, CLOSED, "", "the D+10 readmission is planned");
            plan.stay_rows(day(11), None, OPEN, CLOSED);
        }
        "pcr_hh_outlier" => {
            // Four index stays in the MP, none readmitted within 30 days.
            for m in [2, 4, 6, 8] {
                let dis = plan.d(0, m, 10);
                plan.cx.stay(dis - Duration::days(2), dis, "J18.9", "01");
                plan.expect_one("tcm_7", dis, OPEN, "", "no visit");
                plan.expect_one("pcr_30", dis, CLOSED, "", "no readmission");
                plan.expect_one("pcr_hh", dis, EXCLUDED, "outlier", "four index stays");
            }
        }
        other => unreachable!("scenario {other}"),
    }

    // Coverage and eligibility of the scenario person.
    let conditions = std::mem::take(&mut plan.conditions);
    let cx = plan.cx;
    cx.rows.eligibility.push(EligibilityRow {
        person_id: cx.pid.clone(),
        gender: "female",
        race: "white",
        ethnicity: "not hispanic or latino",
        zip_code: "63101",
        birth_date: birth,
        death_date: death,
        start: first,
        end: coverage_end,
        payer: "MO HealthNet",
        payer_type: "medicaid",
        plan: "FFS",
    });
    let rules = program_rules(&conditions);
    let covered = coverage_end >= last && death.is_none();
    cx.rows.truth.push(Truth {
        person_id: cx.pid.clone(),
        kind: "eligibility",
        measure: None,
        index_date: last,
        expected_status: if covered && !rules.is_empty() {
            "eligible"
        } else {
            "not_eligible"
        },
        expected_rule: rules.join(";"),
        description: format!("care-gap scenario {name}"),
    });
}
