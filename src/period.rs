//! Periods such as `744h`, `31d` or `4w`, parsed once when the topology is read: no later stage
//! handles their text, and none needs a fallback for one that does not parse.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A duration in whole hours, as the topology wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    text: String,
    hours: u64,
}

impl Period {
    /// `744h`, `31d`, `4w`; `None` for anything else (or a number of hours past `u64`).
    pub fn parse(text: &str) -> Option<Period> {
        let (number, unit) = text.split_at(text.len().checked_sub(1)?);
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = number.parse().ok()?;
        let per = match unit {
            "h" => 1,
            "d" => 24,
            "w" => 24 * 7,
            _ => return None,
        };
        Some(Period { text: text.to_string(), hours: n.checked_mul(per)? })
    }

    pub fn hours(&self) -> u64 {
        self.hours
    }

    /// The period as Loki, Tempo and Mimir read durations: whole hours (`2160h`).
    pub fn in_hours(&self) -> String {
        format!("{}h", self.hours)
    }

    /// Loki applies retention per 24h index period: at least a day, and whole days.
    pub fn is_whole_days(&self) -> bool {
        self.hours >= 24 && self.hours.is_multiple_of(24)
    }
}

impl fmt::Display for Period {
    /// As the topology wrote it, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Period::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not a period: write a whole number followed by h, d or w"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_to_hours() {
        let hours = |s: &str| Period::parse(s).map(|p| p.hours());
        assert_eq!(hours("744h"), Some(744));
        assert_eq!(hours("31d"), Some(744));
        assert_eq!(hours("2w"), Some(336));
        assert_eq!(hours("12x"), None);
        assert_eq!(hours(""), None);
        assert_eq!(hours("h"), None);
        assert_eq!(hours("-1h"), None);
        assert_eq!(hours("99999999999999999999w"), None);
        assert_eq!(Period::parse("31d").map(|p| p.in_hours()), Some("744h".to_string()));
        assert_eq!(Period::parse("31d").map(|p| p.to_string()), Some("31d".to_string()));
    }

    #[test]
    fn whole_days() {
        assert!(Period::parse("24h").is_some_and(|p| p.is_whole_days()));
        assert!(!Period::parse("36h").is_some_and(|p| p.is_whole_days()));
        assert!(!Period::parse("12h").is_some_and(|p| p.is_whole_days()));
    }
}
