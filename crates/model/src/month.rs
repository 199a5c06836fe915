//! Calendar months, written `YYYY-MM` in files.

use std::fmt;

/// A calendar month, stored as `year * 12 + (month - 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i32);

impl Month {
    /// Builds a month from a year and a month number 1..=12.
    pub fn new(year: i32, month: u32) -> Month {
        Month(year * 12 + month as i32 - 1)
    }

    /// Parses `YYYY-MM`. Returns a message on failure.
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("`{s}` is not a month: write it as YYYY-MM, e.g. 2027-03");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(format!("`{s}` has month {month}: months run from 01 to 12"));
        }
        if !(1900..=2300).contains(&year) {
            return Err(format!("`{s}` has year {year}: years must be 1900..=2300"));
        }
        Ok(Month::new(year, month))
    }

    /// Calendar year.
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// Month number 1..=12.
    pub fn month(self) -> u32 {
        (self.0.rem_euclid(12) + 1) as u32
    }

    /// Months from `other` to `self` (negative if `self` is earlier).
    pub fn since(self, other: Month) -> i32 {
        self.0 - other.0
    }

    /// The month `n` months later.
    pub fn plus(self, n: i32) -> Month {
        Month(self.0 + n)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        let m = Month::parse("2026-01").unwrap();
        assert_eq!(m.year(), 2026);
        assert_eq!(m.month(), 1);
        assert_eq!(m.plus(13).to_string(), "2027-02");
        assert_eq!(Month::parse("2027-02").unwrap().since(m), 13);
    }

    #[test]
    fn rejects_malformed_months() {
        assert!(Month::parse("2026-13")
            .unwrap_err()
            .contains("months run from 01 to 12"));
        assert!(Month::parse("2026/01").unwrap_err().contains("YYYY-MM"));
        assert!(Month::parse("26-01").unwrap_err().contains("YYYY-MM"));
    }
}
