//! Small helpers for the sentences the engine and the rulebook produce.

use std::fmt::{self, Display};

/// "A", "A or B", "A, B or C".
pub fn either<S: AsRef<str>>(items: &[S]) -> String {
    join(items, "or")
}

/// "A", "A and B", "A, B and C".
pub fn both<S: AsRef<str>>(items: &[S]) -> String {
    join(items, "and")
}

fn join<S: AsRef<str>>(items: &[S], last: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == items.len() { " " } else { ", " });
            if i + 1 == items.len() {
                out.push_str(last);
                out.push(' ');
            }
        }
        out.push_str(item.as_ref());
    }
    out
}

/// "1 reference", "2 references".
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// A number of hours or years as a rule states it: 30, 29.5, 1.5.
pub fn num(value: f64) -> impl Display + Copy {
    Shown(value, false)
}

/// A measured amount with one decimal: "26.0".
pub fn one_decimal(value: f64) -> impl Display + Copy {
    Shown(value, true)
}

/// Formats without allocating an intermediate String.
#[derive(Clone, Copy)]
struct Shown(f64, bool);

impl Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 { write!(f, "{:.1}", self.0) } else { write!(f, "{}", (self.0 * 100.0).round() / 100.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_naturally() {
        assert_eq!(either(&["A"]), "A");
        assert_eq!(either(&["A", "B"]), "A or B");
        assert_eq!(both(&["A", "B", "C"]), "A, B and C");
        assert_eq!(num(30.0).to_string(), "30");
        assert_eq!(num(29.5).to_string(), "29.5");
        assert_eq!(one_decimal(26.0).to_string(), "26.0");
        assert_eq!(count(1, "hour", "hours"), "1 hour");
    }
}
