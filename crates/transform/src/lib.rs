//! # caregap-transform
//!
//! Owns every computation on the validated input layer: value sets (§2), claim primitives,
//! the event tables (§1), chronic conditions and Health Home eligibility (§3), the measure
//! registry and its measures (§4), the measure summary and worklist, utilization metrics and
//! the difference-in-differences (§5). It must not present anything (no HTML, no suppression,
//! no file writing) and reads nothing but what `caregap-ingest` gives it.
//!
//! ```text
//! InputLayer ─┬─▶ claims ──▶ conditions (§3) ──▶ eligibility + outreach (§3)
//!             │                   │                     │
//!             │   measures::REGISTRY ──▶ Needs (tags each family declares)
//!             │                   │                     │
//!             └─▶ events (§1): lines ─▶ stays, ed, visits, bp, labs, dispensing,
//!                 diagnoses, coverage, paid ──▶ PersonEvents (one per person)
//!                                                   │
//!                   ┌───────────────────────────────┼───────────────────────────┐
//!                   ▼                               ▼                           ▼
//!       measures (one module per family)   utilization (metrics, §5)   summary: counts
//!       ──▶ care_gaps rows                 ──▶ monthly, DiD, bootstrap  ──▶ measure_summary,
//!                                                                            worklist
//! ValueSets (§2: shipped files + user overrides + the NCQA map) feed claims, events, conditions.
//! ```
//!
//! Every output is either per-person rows or sums of per-person rows, so persons can be split
//! into buckets (person-id ranges or a hash of person_id) and the partial results merged
//! exactly.

#![deny(missing_docs)]

pub mod claims;
pub mod conditions;
pub mod core_set;
pub mod eligibility;
pub mod error;
pub mod events;
pub mod measures;
pub mod metrics;
pub mod params;
pub mod strata;
pub mod summary;
pub mod utilization;
pub mod value_sets;

pub use error::TransformError;
pub use params::Params;
pub use value_sets::ValueSets;
