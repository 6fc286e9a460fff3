//! Prometheus durations (`5m`, `1h30m`, `30d`): parsed once at the edge, printed in canonical form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A non-zero duration with millisecond resolution, printed canonically (`1h30m`, `90s` → `1m30s`, `30d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration {
    millis: u64,
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl PromDuration {
    pub const fn from_secs(secs: u64) -> Self {
        PromDuration {
            millis: secs * 1000,
        }
    }
    pub const fn from_millis(millis: u64) -> Self {
        PromDuration { millis }
    }
    pub fn as_millis(self) -> u64 {
        self.millis
    }
    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }
}

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: expected a Prometheus duration such as \"30s\", \"5m\", \"1h30m\" or \"30d\" (units ms, s, m, h, d, w, y)")]
pub struct DurationError {
    pub input: String,
}

impl FromStr for PromDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = || DurationError {
            input: input.to_string(),
        };
        let mut rest = input.trim();
        if rest.is_empty() {
            return Err(err());
        }
        let mut millis: u64 = 0;
        let mut last_unit_rank = usize::MAX;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err());
            }
            let value: u64 = rest[..digits].parse().map_err(|_| err())?;
            rest = &rest[digits..];
            // "ms" must be tried before "m".
            let (rank, (unit, factor)) = UNITS
                .iter()
                .enumerate()
                .filter(|(_, (u, _))| rest.starts_with(u))
                .max_by_key(|(_, (u, _))| u.len())
                .ok_or_else(err)?;
            // Units must appear from largest to smallest, each at most once (as Prometheus requires).
            if last_unit_rank != usize::MAX && rank <= last_unit_rank {
                return Err(err());
            }
            last_unit_rank = rank;
            rest = &rest[unit.len()..];
            millis = value
                .checked_mul(*factor)
                .and_then(|v| millis.checked_add(v))
                .ok_or_else(err)?;
        }
        if millis == 0 {
            return Err(err());
        }
        Ok(PromDuration { millis })
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Weeks and years parse, but days read better in windows such as `30d` (Prometheus would print `4w2d`).
        let mut rest = self.millis;
        for (unit, factor) in UNITS.into_iter().skip(2) {
            if rest >= factor {
                write!(f, "{}{unit}", rest / factor)?;
                rest %= factor;
            }
        }
        Ok(())
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonical_forms() {
        for (input, printed, ms) in [
            ("5m", "5m", 300_000),
            ("90s", "1m30s", 90_000),
            ("1h30m", "1h30m", 5_400_000),
            ("30d", "30d", 2_592_000_000),
            ("500ms", "500ms", 500),
            ("1d12h", "1d12h", 129_600_000),
        ] {
            let d: PromDuration = input.parse().unwrap();
            assert_eq!(d.as_millis(), ms, "{input}");
            assert_eq!(d.to_string(), printed, "{input}");
        }
    }

    #[test]
    fn rejects_bad_input_with_the_accepted_form() {
        for bad in ["", "5", "m5", "5x", "0s", "5m1h", "1m1m", "-5m", "5.5m"] {
            let e = bad.parse::<PromDuration>().unwrap_err();
            assert!(e.to_string().contains("\"5m\""), "{bad}: {e}");
        }
    }
}
