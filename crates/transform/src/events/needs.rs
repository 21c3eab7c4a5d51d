//! What the measures ask of the event tables, declared by each measure family in the registry
//! ([`crate::measures::REGISTRY`]) and gathered here into one [`Needs`] for the run.
//!
//! Event tables are the same for every measure: an ED visit is an ED visit (§1). What differs
//! is which value sets a measure asks about an event — FUM asks whether an ED visit's
//! principal diagnosis is a mental illness, FUA whether it is a substance use disorder. Rather
//! than a builder that grows one flag per measure, each event carries **tags**: a bit per value
//! set that some registered measure declared for that role, set when the event's codes are in
//! the set. A measure reads a tag by name through [`Needs`] (`needs.principal("mental_illness")`).
//! Asking for a name no measure declared is a programming error caught by every test that runs
//! the measure, never a silent `false`.

/// Where a dispensing window starts (it always ends on the measurement period's last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Since {
    /// The measurement period's first day.
    PeriodStart,
    /// The look-back start (§9; default one year before the period).
    Lookback,
}

/// How far back a coded event is kept ([`Uses::coded`]); it always ends on the measurement
/// period's last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// From the MP's first day `n` whole years back (same month and day; 29 February → 1
    /// March); `Years(0)` is the MP itself.
    Years(u32),
    /// Any date in the input.
    AnyTime,
}

/// The value sets one measure family reads from the event tables, by role.
#[derive(Debug, Clone, Copy, Default)]
pub struct Uses {
    /// Sets tested against a stay's or an ED visit's principal diagnosis (diagnosis_code_1).
    pub principal_dx: &'static [&'static str],
    /// Sets tested against any diagnosis position of an ED visit's lines (FUA-HH overdoses).
    pub ed_dx: &'static [&'static str],
    /// Sets tested against any diagnosis position of a visit line.
    pub visit_dx: &'static [&'static str],
    /// Sets tested against a claim line's HCPCS code; a line in one is a visit event.
    pub visit_services: &'static [&'static str],
    /// Sets tested against any diagnosis position of any line dated in the period.
    pub period_dx: &'static [&'static str],
    /// Sets tested against any diagnosis position of a non-lab line (place of service not
    /// `81`) dated in the period; the person gets the claims that match ([`super::diagnosed`]).
    pub dx_claims: &'static [&'static str],
    /// Conditions (§3) whose presence and evidence claims the family reads.
    pub conditions: &'static [&'static str],
    /// Medication sets whose dispensings (pharmacy NDC / RxNorm, medical HCPCS) it reads.
    pub dispensed: &'static [(&'static str, Since)],
    /// Sets whose dated codes it reads ([`crate::events::coded`]): a claim line's HCPCS code,
    /// ICD-10-PCS procedure or diagnosis (any position), an observation's or lab result's
    /// LOINC; kept from how far back.
    pub coded: &'static [(&'static str, Reach)],
}

/// The union of every registered family's [`Uses`], in registry order without repeats; tag
/// bit `i` of a role is its `i`-th name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Principal-diagnosis tags of stays and ED visits.
    pub principal_dx: Vec<&'static str>,
    /// Any-diagnosis tags of ED visits.
    pub ed_dx: Vec<&'static str>,
    /// Any-diagnosis tags of visits.
    pub visit_dx: Vec<&'static str>,
    /// Service (HCPCS) tags of visits.
    pub visit_services: Vec<&'static str>,
    /// Any-diagnosis-in-the-period tags of a person.
    pub period_dx: Vec<&'static str>,
    /// Diagnosis sets whose matching claims in the period a person carries.
    pub dx_claims: Vec<&'static str>,
    /// Conditions with evidence.
    pub conditions: Vec<&'static str>,
    /// Dispensed medication sets and their windows.
    pub dispensed: Vec<(&'static str, Since)>,
    /// Coded-event sets and how far back each is kept (the widest any family asked for).
    pub coded: Vec<(&'static str, Reach)>,
}

impl Uses {
    /// Nothing from the event tables beyond what every measure gets.
    pub const NONE: Uses = Uses {
        principal_dx: &[],
        ed_dx: &[],
        visit_dx: &[],
        visit_services: &[],
        period_dx: &[],
        dx_claims: &[],
        conditions: &[],
        dispensed: &[],
        coded: &[],
    };
}

fn push_all<T: PartialEq + Copy>(into: &mut Vec<T>, from: &[T]) {
    for x in from {
        if !into.contains(x) {
            into.push(*x);
        }
    }
}

fn bit(role: &str, names: &[&'static str], name: &str) -> u64 {
    match names.iter().position(|n| *n == name) {
        Some(i) => 1 << i,
        None => panic!(
            "value set `{name}` is not declared as a {role} tag by any registered measure \
             (declare it in the measure's `Uses`)"
        ),
    }
}

impl Needs {
    /// The needs of `uses`, in order.
    pub fn of<'a>(uses: impl IntoIterator<Item = &'a Uses>) -> Self {
        let mut n = Needs::default();
        for u in uses {
            push_all(&mut n.principal_dx, u.principal_dx);
            push_all(&mut n.ed_dx, u.ed_dx);
            push_all(&mut n.visit_dx, u.visit_dx);
            push_all(&mut n.visit_services, u.visit_services);
            push_all(&mut n.period_dx, u.period_dx);
            push_all(&mut n.dx_claims, u.dx_claims);
            push_all(&mut n.conditions, u.conditions);
            for d in u.dispensed {
                if !n.dispensed.iter().any(|(s, _)| *s == d.0) {
                    n.dispensed.push(*d);
                }
            }
            for c in u.coded {
                match n.coded.iter_mut().find(|(s, _)| *s == c.0) {
                    Some(have) => have.1 = have.1.max(c.1),
                    None => n.coded.push(*c),
                }
            }
        }
        for role in [
            &n.principal_dx,
            &n.ed_dx,
            &n.visit_dx,
            &n.visit_services,
            &n.period_dx,
        ] {
            assert!(role.len() <= 64, "at most 64 tags per role");
        }
        n
    }

    /// The tag bit of principal-diagnosis set `name`.
    pub fn principal(&self, name: &str) -> u64 {
        bit("principal-diagnosis", &self.principal_dx, name)
    }

    /// The tag bit of ED-visit any-diagnosis set `name`.
    pub fn ed_dx(&self, name: &str) -> u64 {
        bit("ED-diagnosis", &self.ed_dx, name)
    }

    /// The tag bit of visit any-diagnosis set `name`.
    pub fn visit_dx(&self, name: &str) -> u64 {
        bit("visit-diagnosis", &self.visit_dx, name)
    }

    /// The tag bit of visit service set `name`.
    pub fn service(&self, name: &str) -> u64 {
        bit("visit-service", &self.visit_services, name)
    }

    /// The tag bit of period-diagnosis set `name`.
    pub fn period_dx(&self, name: &str) -> u64 {
        bit("period-diagnosis", &self.period_dx, name)
    }

    /// Every value-set name these needs read.
    pub fn value_sets(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        push_all(&mut v, &self.principal_dx);
        push_all(&mut v, &self.ed_dx);
        push_all(&mut v, &self.visit_dx);
        push_all(&mut v, &self.visit_services);
        push_all(&mut v, &self.period_dx);
        push_all(&mut v, &self.dx_claims);
        push_all(&mut v, &self.conditions);
        let meds: Vec<&'static str> = self.dispensed.iter().map(|d| d.0).collect();
        push_all(&mut v, &meds);
        let coded: Vec<&'static str> = self.coded.iter().map(|d| d.0).collect();
        push_all(&mut v, &coded);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_keeps_registry_order_without_repeats() {
        let a = Uses {
            principal_dx: &["mental_illness"],
            visit_dx: &["hypertension"],
            ..Default::default()
        };
        let b = Uses {
            principal_dx: &["substance_use_disorder", "mental_illness"],
            dispensed: &[("antipsychotic", Since::PeriodStart)],
            ..Default::default()
        };
        let n = Needs::of([&a, &b]);
        assert_eq!(n.principal_dx, ["mental_illness", "substance_use_disorder"]);
        assert_eq!(n.principal("mental_illness"), 1);
        assert_eq!(n.principal("substance_use_disorder"), 2);
        assert_eq!(n.visit_dx("hypertension"), 1);
        assert_eq!(
            n.value_sets(),
            [
                "mental_illness",
                "substance_use_disorder",
                "hypertension",
                "antipsychotic"
            ]
        );
    }

    #[test]
    fn a_coded_set_keeps_the_widest_reach_declared() {
        let a = Uses {
            coded: &[("palliative_care", Reach::Years(0))],
            ..Default::default()
        };
        let b = Uses {
            coded: &[
                ("colorectal_cancer", Reach::AnyTime),
                ("palliative_care", Reach::Years(1)),
            ],
            ..Default::default()
        };
        let n = Needs::of([&a, &b]);
        assert_eq!(
            n.coded,
            [
                ("palliative_care", Reach::Years(1)),
                ("colorectal_cancer", Reach::AnyTime)
            ]
        );
        assert!(Reach::AnyTime > Reach::Years(9));
    }

    #[test]
    #[should_panic(expected = "`hypertensoin` is not declared")]
    fn an_undeclared_tag_is_a_loud_error() {
        let n = Needs::of([&Uses {
            visit_dx: &["hypertension"],
            ..Default::default()
        }]);
        n.visit_dx("hypertensoin");
    }
}
