//! Statistical disclosure control for aggregate reports.
//!
//! A count of 1..k people (a "small cell") can identify them, so it is never
//! published. Hiding a small cell alone is not enough: when the total is known,
//! total minus the published cells gives a lone hidden cell back, and a hidden
//! group that sums below k is itself a small cell. So we also suppress
//! complementary cells until neither attack works. Pure functions, no I/O.

/// One published cell of a table: the true count, or `None` when suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub key: String,
    pub count: Option<u64>,
}

impl Cell {
    pub fn suppressed(&self) -> bool {
        self.count.is_none()
    }
}

/// Small-cell suppression with threshold `min_cell` (k). Counts in 1..k are small; 0 is not,
/// because "nobody" identifies no one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suppression {
    pub min_cell: u64,
}

impl Default for Suppression {
    /// k = 5, a common threshold in public-sector small-cell policies.
    fn default() -> Self {
        Self::new(5)
    }
}

impl Suppression {
    /// `min_cell` 0 or 1 means nothing is small, i.e. suppression is off.
    pub fn new(min_cell: u64) -> Self {
        Self { min_cell }
    }

    /// A count that could single out fewer than k people.
    pub fn is_small(&self, count: u64) -> bool {
        count > 0 && count < self.min_cell
    }

    /// The cells of one table that partitions a total the reader knows or can derive
    /// (e.g. portfolios by status; the total is published). Order of cells is kept.
    ///
    /// Small cells are suppressed (primary); then, while fewer than two cells are hidden
    /// or the hidden ones sum below k, the smallest positive published cell (earliest on
    /// ties) is hidden too, as it costs the reader the least information. A zero cell is
    /// only hidden as a last resort to make a lone hidden cell not derivable.
    pub fn partition(&self, cells: Vec<(String, u64)>) -> Vec<Cell> {
        let small: Vec<bool> = cells.iter().map(|(_, c)| self.is_small(*c)).collect();
        self.partition_with(cells, small)
    }

    /// [`Suppression::partition`] with the primary cells given: `primary[i]` hides cell
    /// `i` whatever its count (e.g. a cell another table lets the reader derive), and
    /// complementary suppression then protects it like a small one.
    pub fn partition_with(&self, cells: Vec<(String, u64)>, primary: Vec<bool>) -> Vec<Cell> {
        let mut hidden: Vec<bool> = cells
            .iter()
            .zip(primary.iter().chain(std::iter::repeat(&false)))
            .map(|((_, c), p)| *p || self.is_small(*c))
            .collect();
        loop {
            let (n, sum) = cells
                .iter()
                .zip(&hidden)
                .filter(|(_, h)| **h)
                .fold((0usize, 0u64), |(n, sum), ((_, c), _)| (n + 1, sum.saturating_add(*c)));
            if n == 0 || (n >= 2 && sum >= self.min_cell) {
                break;
            }
            let mut open = cells.iter().enumerate().filter(|(i, _)| !hidden[*i]);
            // `min_by_key` keeps the first of equal minima, so ties go to input order.
            let next = open.clone().filter(|(_, (_, c))| *c > 0).min_by_key(|(_, (_, c))| *c).map(|(i, _)| i);
            // No positive cell left: only zeros are open, and a zero adds nothing to the sum.
            let next = next.or_else(|| if n < 2 { open.next().map(|(i, _)| i) } else { None });
            match next {
                Some(i) => hidden[i] = true,
                None => break,
            }
        }
        cells.into_iter().zip(hidden).map(|((key, count), h)| Cell { key, count: (!h).then_some(count) }).collect()
    }

    /// A count of a subgroup of a known population (e.g. portfolios failing a requirement,
    /// out of all portfolios targeting a category): the complement `population - count`
    /// is derivable, so the cell is suppressed when either it or its complement is small.
    /// A count equal to a non-empty population is suppressed too: it would publish the
    /// population itself, which another table may hide. A `count` above `population` is
    /// treated as having an empty complement.
    pub fn against_population(&self, key: impl Into<String>, count: u64, population: u64) -> Cell {
        let whole = count > 0 && count >= population && self.min_cell > 1;
        let hide = whole || self.is_small(count) || self.is_small(population.saturating_sub(count));
        Cell { key: key.into(), count: (!hide).then_some(count) }
    }

    /// Whether order statistics (percentiles, max) of `n` values may be published: n == 0 or n >= k.
    /// With fewer values, a percentile or maximum is (nearly) one person's own value.
    pub fn publishable(&self, n: u64) -> bool {
        n == 0 || n >= self.min_cell
    }
}

/// Nearest-rank percentiles of `values` (as the database computes them
/// for the other reports): n, p50, p90 and max, each a value that occurred.
pub fn nearest_rank(mut values: Vec<f64>) -> (u64, Option<f64>, Option<f64>, Option<f64>) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let rank = |p: usize| (n > 0).then(|| values[((p * n).div_ceil(100)).max(1) - 1]);
    (n as u64, rank(50), rank(90), values.last().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(counts: &[u64]) -> Vec<(String, u64)> {
        counts.iter().enumerate().map(|(i, c)| (format!("c{i}"), *c)).collect()
    }

    fn shown(cells: &[Cell]) -> Vec<Option<u64>> {
        cells.iter().map(|c| c.count).collect()
    }

    #[test]
    fn nothing_small_nothing_suppressed() {
        let out = Suppression::default().partition(table(&[10, 0, 5, 7]));
        assert_eq!(shown(&out), vec![Some(10), Some(0), Some(5), Some(7)]);
    }

    #[test]
    fn one_small_cell_gets_smallest_positive_complement() {
        let out = Suppression::new(5).partition(table(&[20, 3, 0, 8, 8]));
        assert_eq!(shown(&out), vec![Some(20), None, Some(0), None, Some(8)]);
    }

    #[test]
    fn two_small_cells_below_k_pull_in_a_third() {
        let out = Suppression::new(5).partition(table(&[1, 2, 9, 6]));
        assert_eq!(shown(&out), vec![None, None, Some(9), None]);
    }

    #[test]
    fn zero_cells_only_hidden_as_second_cell() {
        let s = Suppression::new(5);
        assert_eq!(shown(&s.partition(table(&[0, 3, 0]))), vec![None, None, Some(0)]);
        assert_eq!(shown(&s.partition(table(&[2, 3, 0]))), vec![None, None, Some(0)]);
        assert_eq!(shown(&s.partition(table(&[0, 1, 2, 0]))), vec![Some(0), None, None, Some(0)]);
    }

    #[test]
    fn k_one_suppresses_nothing() {
        for k in [0, 1] {
            let out = Suppression::new(k).partition(table(&[1, 0, 2]));
            assert_eq!(shown(&out), vec![Some(1), Some(0), Some(2)]);
        }
    }

    #[test]
    fn against_population_both_directions() {
        let s = Suppression::new(5);
        assert_eq!(s.against_population("fail", 3, 100), Cell { key: "fail".into(), count: None });
        assert!(s.against_population("fail", 97, 100).suppressed());
        assert!(s.against_population("fail", 100, 100).suppressed(), "it would publish the population");
        assert_eq!(Suppression::new(1).against_population("fail", 100, 100).count, Some(100));
        assert_eq!(s.against_population("fail", 0, 100).count, Some(0));
        assert_eq!(s.against_population("fail", 50, 100).count, Some(50));
        assert!((0..=4).all(|c| s.against_population("x", c, 4).suppressed()));
        assert_eq!(s.against_population("x", 0, 0).count, Some(0));
    }

    #[test]
    fn primary_cells_can_be_named() {
        let s = Suppression::new(5);
        let out = s.partition_with(table(&[40, 30, 9, 8]), vec![false, true, false, false]);
        assert_eq!(shown(&out), vec![Some(40), None, Some(9), None], "30 is hidden with the smallest other cell");
        let none = s.partition_with(table(&[40, 30]), Vec::new());
        assert_eq!(shown(&none), vec![Some(40), Some(30)]);
    }

    #[test]
    fn publishable_needs_k_values() {
        let s = Suppression::new(5);
        assert!(s.publishable(0) && s.publishable(5) && s.publishable(50));
        assert!(!s.publishable(1) && !s.publishable(4));
        assert!(Suppression::new(1).publishable(1));
    }

    proptest! {
        #[test]
        fn partition_properties(counts in prop::collection::vec(0u64..40, 0..12), k in 1u64..10) {
            let s = Suppression::new(k);
            let out = s.partition(table(&counts));
            // (d) keys and order kept; (a) small cells hidden; (b) published counts exact.
            prop_assert_eq!(out.len(), counts.len());
            for (i, (cell, &c)) in out.iter().zip(&counts).enumerate() {
                prop_assert_eq!(&cell.key, &format!("c{i}"));
                prop_assert!(!s.is_small(c) || cell.suppressed());
                prop_assert!(cell.count.is_none_or(|v| v == c));
            }
            // (c) no recovery by subtraction.
            let hidden: Vec<u64> = out.iter().zip(&counts).filter(|(cell, _)| cell.suppressed()).map(|(_, c)| *c).collect();
            if !hidden.is_empty() {
                let safe = hidden.len() >= 2 && hidden.iter().sum::<u64>() >= k;
                let exhausted = out.iter().all(|cell| cell.count.is_none_or(|v| v == 0));
                prop_assert!(safe || exhausted);
                prop_assert!(hidden.len() >= 2 || counts.len() == 1);
            }
            // (e) nothing small, nothing suppressed.
            if !counts.iter().any(|&c| s.is_small(c)) {
                prop_assert!(hidden.is_empty());
            }
        }
    }

    #[test]
    fn nearest_rank_picks_values_that_occurred() {
        assert_eq!(nearest_rank(vec![]), (0, None, None, None));
        assert_eq!(nearest_rank(vec![7.0]), (1, Some(7.0), Some(7.0), Some(7.0)));
        let (n, p50, p90, max) = nearest_rank((1..=10).rev().map(f64::from).collect());
        assert_eq!((n, p50, p90, max), (10, Some(5.0), Some(9.0), Some(10.0)));
        assert_eq!(nearest_rank(vec![1.0, 2.0, 3.0]).1, Some(2.0));
    }
}
