//! Statistics a metric query can ask for, parsed from strings such as `"p95"`, `"p99.9"`, `"avg"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// What to compute from a concept's series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// A quantile in (0, 1), written `p50`, `p95`, `p99.9`.
    Quantile(f64),
    /// Mean: `rate(_sum)/rate(_count)` for latencies, `avg` across replicas for gauges.
    Avg,
    /// Per-second rate of a counter.
    Rate,
    /// Events-weighted ratio of two counters.
    Ratio,
    /// A gauge's level, combined across replicas the way the concept defines (sum, max or avg).
    Current,
    /// Largest replica value of a gauge.
    Max,
    /// Smallest replica value of a gauge.
    Min,
    /// Per-second growth of a gauge (`deriv`, never `rate`).
    Growth,
}

pub const ACCEPTED_STATS: &str =
    "p50, p90, p95, p99 (any pNN or pNN.N), avg, rate, ratio, current, max, min, growth";

impl Stat {
    /// The canonical spelling, used in JSON and legends.
    pub fn id(&self) -> String {
        match self {
            Stat::Quantile(q) => format!("p{}", crate::promql::format_number(*q * 100.0)),
            Stat::Avg => "avg".into(),
            Stat::Rate => "rate".into(),
            Stat::Ratio => "ratio".into(),
            Stat::Current => "current".into(),
            Stat::Max => "max".into(),
            Stat::Min => "min".into(),
            Stat::Growth => "growth".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown statistic {input:?}: expected one of {ACCEPTED_STATS}")]
pub struct StatError {
    pub input: String,
}

impl FromStr for Stat {
    type Err = StatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || StatError {
            input: s.to_string(),
        };
        Ok(match s {
            "avg" | "mean" => Stat::Avg,
            "rate" => Stat::Rate,
            "ratio" => Stat::Ratio,
            "current" => Stat::Current,
            "max" => Stat::Max,
            "min" => Stat::Min,
            "growth" => Stat::Growth,
            _ => {
                let pct: f64 = s
                    .strip_prefix('p')
                    .ok_or_else(err)?
                    .parse()
                    .map_err(|_| err())?;
                if !(pct > 0.0 && pct < 100.0) {
                    return Err(err());
                }
                // Round to avoid 0.95000000000000001-style noise in printed PromQL.
                Stat::Quantile((pct * 1e6).round() / 1e8)
            }
        })
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

impl Serialize for Stat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.id())
    }
}

impl<'de> Deserialize<'de> for Stat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quantiles_and_names() {
        assert_eq!("p95".parse::<Stat>().unwrap(), Stat::Quantile(0.95));
        assert_eq!("p99.9".parse::<Stat>().unwrap(), Stat::Quantile(0.999));
        assert_eq!("p99.9".parse::<Stat>().unwrap().id(), "p99.9");
        assert_eq!("avg".parse::<Stat>().unwrap(), Stat::Avg);
        for bad in ["p0", "p100", "q95", "P95", "", "p"] {
            assert!(
                bad.parse::<Stat>().unwrap_err().to_string().contains("p95"),
                "{bad}"
            );
        }
    }
}
