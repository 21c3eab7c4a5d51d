//! # caregap-transform
//!
//! Owns every computation on the validated input layer: value sets (§2), claim primitives and
//! encounters (§1), chronic conditions and Health Home eligibility (§3). It knows nothing of
//! presentation (no HTML, no suppression) and reads nothing but what `caregap-ingest` gives it.
//!
//! ```text
//! InputLayer ──▶ claims (service date, acute lines, diagnosis long form)
//!     │              ├──▶ conditions (§3) ──▶ eligibility + outreach (§3)
//!     │              └──▶ encounters (§1) ──▶ PersonEvents ──▶ measures (§4) ──▶ care_gaps
//!     │                                                              └──▶ summary, worklist
//!     │                                         PersonEvents ──▶ utilization, DiD (§5)
//!     └── ValueSets (§2: shipped files + user overrides)
//! ```
//!
//! Every output is either per-person rows or sums of per-person rows, so persons can be split
//! into shards (by a hash of person_id) and the results merged exactly.

pub mod claims;
pub mod conditions;
pub mod eligibility;
pub mod error;
pub mod events;
pub mod measures;
pub mod metrics;
pub mod params;
pub mod summary;
pub mod utilization;
pub mod value_sets;

pub use error::TransformError;
pub use params::Params;
pub use value_sets::ValueSets;
