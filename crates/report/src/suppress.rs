//! Small-cell suppression (spec §7, CMS cell-size suppression policy), in one place: every
//! number the HTML report shows goes through here.
//!
//! - Any count from 1 to the threshold (default 10) is suppressed; zero may show.
//! - A rate is suppressed when its numerator or its denominator is 1 … threshold.
//! - **Complementary suppression**: no suppressed value may be derivable from what is shown.
//!   Wherever a total and all but one of its parts would be shown, a second part is suppressed
//!   (the smallest shown one), and this repeats until no relation gives a value away.
//! - Rates with more than the threshold and at most 20 events are flagged unstable.

use std::collections::BTreeSet;

/// The suppression rule in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuppressionRule {
    /// Counts 1 ..= threshold are suppressed.
    pub threshold: u64,
    /// Rates whose numerator is above the threshold and at most this are unstable.
    pub unstable_max: u64,
}

impl Default for SuppressionRule {
    fn default() -> Self {
        SuppressionRule {
            threshold: 10,
            unstable_max: 20,
        }
    }
}

impl SuppressionRule {
    /// Primary suppression of one count.
    pub fn hides(&self, count: u64) -> bool {
        count >= 1 && count <= self.threshold
    }

    /// A human statement of the rule, for the methods section.
    pub fn describe(&self) -> String {
        format!(
            "Counts from 1 to {t} are suppressed (shown as \u{2018}<{u}\u{2019}), as are rates whose numerator or denominator is 1 to {t}; zero is shown. Where a total and all but one of its parts would be shown, a second part is suppressed as well (complementary suppression). Rates based on {u} to {m} events are flagged as unstable (\u{2020}).",
            t = self.threshold,
            u = self.threshold + 1,
            m = self.unstable_max
        )
    }
}

/// A count as the report may show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Shown as this count.
    Value(u64),
    /// Suppressed.
    Suppressed,
}

/// A table of counts with the additive relations between them (total = Σ parts), suppressed
/// primarily and complementarily.
#[derive(Debug, Clone)]
pub struct CountTable {
    values: Vec<u64>,
    hidden: Vec<bool>,
    /// (total cell, part cells).
    relations: Vec<(usize, Vec<usize>)>,
}

impl CountTable {
    /// An empty table of cells.
    pub fn new() -> Self {
        CountTable {
            values: vec![],
            hidden: vec![],
            relations: vec![],
        }
    }

    /// Add a cell; returns its handle.
    pub fn cell(&mut self, v: u64) -> usize {
        self.values.push(v);
        self.hidden.push(false);
        self.values.len() - 1
    }

    /// Declare `total = Σ parts`.
    pub fn relation(&mut self, total: usize, parts: Vec<usize>) {
        self.relations.push((total, parts));
    }

    /// Apply primary and complementary suppression.
    pub fn suppress(&mut self, rule: &SuppressionRule) {
        for (h, v) in self.hidden.iter_mut().zip(&self.values) {
            *h = rule.hides(*v);
        }
        loop {
            let mut changed = false;
            for (total, parts) in &self.relations {
                // A relation gives a value away when exactly one of its members is hidden.
                let members: Vec<usize> = std::iter::once(*total)
                    .chain(parts.iter().copied())
                    .collect();
                let hidden: BTreeSet<usize> = members
                    .iter()
                    .copied()
                    .filter(|&c| self.hidden[c])
                    .collect();
                if hidden.len() != 1 {
                    continue;
                }
                // Hide the smallest shown part (never the total unless no part is left).
                let candidate = parts
                    .iter()
                    .copied()
                    .filter(|c| !self.hidden[*c])
                    .min_by_key(|c| (self.values[*c] == 0, self.values[*c], *c))
                    .or_else(|| (!self.hidden[*total]).then_some(*total));
                if let Some(c) = candidate {
                    self.hidden[c] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// How `cell` is shown.
    pub fn get(&self, cell: usize) -> Shown {
        if self.hidden[cell] {
            Shown::Suppressed
        } else {
            Shown::Value(self.values[cell])
        }
    }

    /// Whether `cell` is suppressed.
    pub fn is_hidden(&self, cell: usize) -> bool {
        self.hidden[cell]
    }
}

impl Default for CountTable {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a rate may be shown: neither its numerator nor its denominator is 1 … threshold,
/// and neither is hidden by complementary suppression.
pub fn rate_shown(rule: &SuppressionRule, numerator: u64, denominator: u64, hidden: bool) -> bool {
    !hidden && denominator > 0 && !rule.hides(numerator) && !rule.hides(denominator)
}

/// A rate with more than the threshold and at most `unstable_max` events.
pub fn unstable(rule: &SuppressionRule, events: u64) -> bool {
    events > rule.threshold && events <= rule.unstable_max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> SuppressionRule {
        SuppressionRule::default()
    }

    #[test]
    fn counts_0_1_10_11() {
        let rule = r();
        assert!(!rule.hides(0), "zero may show");
        assert!(rule.hides(1));
        assert!(rule.hides(10));
        assert!(!rule.hides(11));
    }

    #[test]
    fn configurable_threshold() {
        let rule = SuppressionRule {
            threshold: 15,
            unstable_max: 20,
        };
        assert!(rule.hides(15));
        assert!(!rule.hides(16));
        assert!(unstable(&rule, 16));
    }

    #[test]
    fn one_suppressed_cell_with_shown_total_gets_a_complement() {
        let mut t = CountTable::new();
        let total = t.cell(100);
        let a = t.cell(5); // primary
        let b = t.cell(40);
        let c = t.cell(55);
        t.relation(total, vec![a, b, c]);
        t.suppress(&r());
        assert_eq!(t.get(total), Shown::Value(100));
        assert_eq!(t.get(a), Shown::Suppressed);
        assert_eq!(
            t.get(b),
            Shown::Suppressed,
            "the smallest other part is the complement"
        );
        assert_eq!(t.get(c), Shown::Value(55));
    }

    #[test]
    fn complement_propagates_through_linked_relations() {
        // Rows: eligible = excluded + denominator, for two groups whose denominators sum to a
        // shown program total.
        let mut t = CountTable::new();
        let program = t.cell(60);
        let (e1, x1, d1) = (t.cell(30), t.cell(3), t.cell(27));
        let (e2, x2, d2) = (t.cell(45), t.cell(12), t.cell(33));
        t.relation(e1, vec![x1, d1]);
        t.relation(e2, vec![x2, d2]);
        t.relation(program, vec![d1, d2]);
        t.suppress(&r());
        // x1 (3) is primary; d1 is its complement; then d2 must go because program is shown.
        assert!(t.is_hidden(x1) && t.is_hidden(d1) && t.is_hidden(d2));
        // and then e2 = x2 + d2 with only d2 hidden gives it away: x2 goes too.
        assert!(t.is_hidden(x2));
        for (total, parts) in &t.relations {
            let hidden = std::iter::once(total)
                .chain(parts)
                .filter(|c| t.is_hidden(**c))
                .count();
            assert_ne!(hidden, 1, "no relation has exactly one hidden member");
        }
    }

    #[test]
    fn no_complement_when_total_is_hidden_too() {
        let mut t = CountTable::new();
        let total = t.cell(8);
        let a = t.cell(3);
        let b = t.cell(5);
        t.relation(total, vec![a, b]);
        t.suppress(&r());
        assert!(t.is_hidden(total) && t.is_hidden(a) && t.is_hidden(b));
    }

    #[test]
    fn rate_with_numerator_5_is_suppressed() {
        assert!(!rate_shown(&r(), 5, 200, false));
        assert!(!rate_shown(&r(), 50, 7, false));
        assert!(rate_shown(&r(), 0, 200, false), "a zero numerator may show");
        assert!(rate_shown(&r(), 50, 200, false));
        assert!(
            !rate_shown(&r(), 50, 200, true),
            "hidden by complementary suppression"
        );
        assert!(unstable(&r(), 15) && !unstable(&r(), 21) && !unstable(&r(), 10));
    }
}
