//! Builders for the measures' unit tests: a 1970 calendar-year period (so day numbers are
//! small: day 0 = 1970-01-01, MP end = day 364) and persons put together by hand.

use chrono::NaiveDate;

use super::Context;
use crate::events::{BpReading, Dated, Dispensing, Hba1c, PersonEvents, Stay, Visit};
use crate::params::{epoch_days, Params};

/// Days since 1970-01-01 of a date.
pub fn day(y: i32, m: u32, d: u32) -> i32 {
    epoch_days(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

/// The context of a 1970 calendar-year run (look-back from 1969-01-01).
pub fn ctx() -> Context {
    let p = Params::for_period(
        NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(1970, 12, 31).unwrap(),
    )
    .unwrap();
    Context::new(&p)
}

/// A 30-year-old (born 1940-01-01) covered from 1968 to 1972, with nothing else.
pub fn adult() -> PersonEvents {
    PersonEvents {
        person_id: "P1".into(),
        birth: day(1940, 1, 1),
        coverage: vec![(day(1968, 1, 1), day(1972, 12, 31))],
        ..Default::default()
    }
}

/// The principal-diagnosis tag of `set`.
pub fn principal(set: &str) -> u64 {
    ctx().needs.principal(set)
}

/// An acute stay `adm … dis` with principal-diagnosis tags `principal`, claim `S<dis>`.
pub fn stay(adm: i32, dis: i32, principal: u64) -> Stay {
    Stay {
        admission: adm,
        discharge: dis,
        principal,
        death: false,
        claim_ids: vec![format!("S{dis}")],
    }
}

/// A dated event with id `D<date>`.
pub fn dated(date: i32) -> Dated {
    Dated {
        date,
        id: Some(format!("D{date}")),
    }
}

/// An outpatient visit on `date` (a mental-health one when `mh`), claim `V<date>` (`W<date>`
/// when not MH, so that the two can be told apart on one day).
pub fn visit(date: i32, mh: bool) -> Visit {
    Visit {
        date,
        claim_id: format!("{}{date}", if mh { "V" } else { "W" }),
        outpatient: true,
        mental_health: mh,
        dx: 0,
        services: 0,
    }
}

/// A BP reading on `date` with id `B<date>`.
pub fn bp(date: i32, systolic: Option<f64>, diastolic: Option<f64>) -> BpReading {
    BpReading {
        date,
        id: Some(format!("B{date}")),
        code: None,
        systolic,
        diastolic,
    }
}

/// An HbA1c result on `date` with id `A<date>`.
pub fn a1c(date: i32, value: Option<f64>) -> Hba1c {
    Hba1c {
        date,
        id: Some(format!("A{date}")),
        code: None,
        value,
    }
}

/// A dispensing on `date` with id `R<date>`.
pub fn fill(date: i32) -> Dispensing {
    Dispensing {
        date,
        id: Some(format!("R{date}")),
        code: None,
    }
}
