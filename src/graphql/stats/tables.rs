//! From MongoDB's `$group` rows (unordered, only keys that occur) to the
//! tables `Stats` publishes: every known key in a stable order, zeros
//! included, so reports and CSV columns line up from one run to the next.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

/// `known` keys in their order with their counts (0 when absent), then any
/// key MongoDB returned that is not known (data written by other tools), by name.
pub fn with_known_keys<'a>(known: impl IntoIterator<Item = &'a str>, rows: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut counts: HashMap<&str, u64> = rows.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    let mut table: Vec<(String, u64)> =
        known.into_iter().map(|key| (key.to_owned(), counts.remove(key).unwrap_or(0))).collect();
    let mut unknown: Vec<(String, u64)> = counts.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
    unknown.sort();
    table.extend(unknown);
    table
}

/// A monthly series keyed "YYYY-MM", ascending, zeros filled in: from the
/// filter's `from` month (or the first month with data) to its `to` month
/// (at most the current one; or the last month with data), so reports over
/// the same range always have the same rows.
pub fn monthly(rows: &[(String, u64)], from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<(String, u64)> {
    let month = |d: NaiveDate| Period::Month(d.year(), d.month());
    let today = month(chrono::Utc::now().date_naive());
    fill(rows, from.map(month), to.map(|d| month(d).min(today)))
}

/// A yearly series keyed "YYYY", ascending, with the years between the
/// first and the last filled with zeros.
pub fn yearly(rows: &[(String, u64)]) -> Vec<(String, u64)> {
    fill(rows, None, None)
}

fn fill(rows: &[(String, u64)], low: Option<Period>, high: Option<Period>) -> Vec<(String, u64)> {
    let counts: HashMap<&str, u64> = rows.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    let periods: Vec<Period> = rows.iter().filter_map(|(k, _)| Period::parse(k)).collect();
    let first = periods.iter().copied().chain(low).min();
    let last = periods.iter().copied().chain(high).max();
    let (Some(first), Some(last)) = (first, last) else {
        return with_known_keys([], rows);
    };
    let mut table = Vec::new();
    let mut period = first;
    while period <= last {
        let key = period.to_string();
        let n = counts.get(key.as_str()).copied().unwrap_or(0);
        table.push((key, n));
        period = period.next();
    }
    // Keys that are not periods (never written by the pipelines) stay visible.
    let mut odd: Vec<(String, u64)> = rows.iter().filter(|(k, _)| Period::parse(k).is_none()).cloned().collect();
    odd.sort();
    table.extend(odd);
    table
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Period {
    Year(i32),
    Month(i32, u32),
}

impl Period {
    fn parse(key: &str) -> Option<Period> {
        let year = |text: &str| text.parse::<i32>().ok().filter(|_| text.len() == 4);
        match key.split_once('-') {
            None => year(key).map(Period::Year),
            Some((y, m)) if m.len() == 2 => {
                let month = m.parse::<u32>().ok().filter(|m| (1..=12).contains(m))?;
                Some(Period::Month(year(y)?, month))
            }
            Some(_) => None,
        }
    }

    fn next(self) -> Period {
        match self {
            Period::Year(y) => Period::Year(y + 1),
            Period::Month(y, 12) => Period::Month(y + 1, 1),
            Period::Month(y, m) => Period::Month(y, m + 1),
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y:04}"),
            Period::Month(y, m) => write!(f, "{y:04}-{m:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn known_keys_come_first_with_zeros() {
        let table = with_known_keys(["A", "B", "C"], &rows(&[("C", 2), ("Z", 1), ("A", 5)]));
        assert_eq!(table, rows(&[("A", 5), ("B", 0), ("C", 2), ("Z", 1)]));
    }

    #[test]
    fn months_are_filled_across_years() {
        let table = monthly(&rows(&[("2025-02", 3), ("2024-11", 1)]), None, None);
        assert_eq!(table, rows(&[("2024-11", 1), ("2024-12", 0), ("2025-01", 0), ("2025-02", 3)]));
    }

    #[test]
    fn years_are_filled() {
        assert_eq!(yearly(&rows(&[("2022", 1), ("2020", 2)])), rows(&[("2020", 2), ("2021", 0), ("2022", 1)]));
        assert_eq!(yearly(&[]), Vec::<(String, u64)>::new());
    }

    #[test]
    fn months_cover_the_filter_range() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let table = monthly(&rows(&[("2024-03", 2)]), Some(day("2024-01-15")), Some(day("2024-04-30")));
        assert_eq!(table, rows(&[("2024-01", 0), ("2024-02", 0), ("2024-03", 2), ("2024-04", 0)]));
        assert_eq!(monthly(&[], Some(day("2024-01-01")), Some(day("2024-02-01"))).len(), 2);
        let future = monthly(&[], Some(day("2024-01-01")), Some(day("2999-12-31")));
        assert!(future.len() < 12 * 10, "the range stops at the current month");
    }
}
