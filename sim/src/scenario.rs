//! Scenarios: named operating conditions that push a replica into the states infermon must detect.
//!
//! A scenario is a set of multipliers and switches applied to a replica's workload and engine while it is
//! active. They are chosen so that every alert of the rules (issue 4) can be reached by one of them:
//!
//! | scenario | what happens | alerts it drives |
//! |---|---|---|
//! | `steady` | base workload | none |
//! | `burst` | every 10 min, 150 s at 6× the rate: the queue builds up, then drains | queue building up / critical, latency |
//! | `kv-pressure` | 3× longer prompts/outputs, 40 % of the KV cache: usage near 1, preemptions | KV usage, preemptions |
//! | `slow-prefill` | prefill 6× slower: TTFT above 0.5 s | TTFT SLO burn, latency |
//! | `errors` | 25 % of requests fail in the engine | error ratio, no-error SLO burn |
//! | `outage` | the replica stops answering scrapes and serving | target down / traffic without scrape |
//! | `stall` | the engine hangs: requests stay running, no token is produced, /metrics still answers | low token throughput |

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    #[default]
    Steady,
    Burst,
    KvPressure,
    SlowPrefill,
    Errors,
    Outage,
    Stall,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::Steady,
        Scenario::Burst,
        Scenario::KvPressure,
        Scenario::SlowPrefill,
        Scenario::Errors,
        Scenario::Outage,
        Scenario::Stall,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::Burst => "burst",
            Scenario::KvPressure => "kv-pressure",
            Scenario::SlowPrefill => "slow-prefill",
            Scenario::Errors => "errors",
            Scenario::Outage => "outage",
            Scenario::Stall => "stall",
        }
    }

    pub fn accepted() -> String {
        Scenario::ALL
            .iter()
            .map(|s| s.id())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The effects of this scenario `since` seconds after it was switched on.
    pub fn effects(self, since: f64) -> Effects {
        let base = Effects::default();
        match self {
            Scenario::Steady => base,
            Scenario::Burst => {
                let phase = since.rem_euclid(BURST_PERIOD_S);
                Effects {
                    rate_mult: if phase < BURST_LENGTH_S {
                        BURST_FACTOR
                    } else {
                        1.0
                    },
                    ..base
                }
            }
            Scenario::KvPressure => Effects {
                length_mult: 3.0,
                kv_mult: 0.4,
                rate_mult: 1.2,
                ..base
            },
            Scenario::SlowPrefill => Effects {
                prefill_mult: 6.0,
                ..base
            },
            Scenario::Errors => Effects {
                error_ratio: Some(0.25),
                ..base
            },
            Scenario::Outage => Effects {
                outage: true,
                ..base
            },
            Scenario::Stall => Effects {
                stall: true,
                ..base
            },
        }
    }

    /// The largest rate multiplier this scenario ever applies (for arrival thinning).
    pub fn max_rate_mult(self) -> f64 {
        match self {
            Scenario::Burst => BURST_FACTOR,
            Scenario::KvPressure => 1.2,
            _ => 1.0,
        }
    }
}

/// Burst cycle: `BURST_LENGTH_S` seconds at `BURST_FACTOR`× the rate every `BURST_PERIOD_S` seconds.
pub const BURST_PERIOD_S: f64 = 600.0;
pub const BURST_LENGTH_S: f64 = 150.0;
pub const BURST_FACTOR: f64 = 6.0;

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.id() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown scenario {s:?}: accepted values are {}",
                    Scenario::accepted()
                )
            })
    }
}

/// Multipliers and switches applied while a scenario is active.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effects {
    pub rate_mult: f64,
    /// Multiplies prompt and output length means (clamped to the configured maxima).
    pub length_mult: f64,
    /// Share of the KV cache available.
    pub kv_mult: f64,
    pub prefill_mult: f64,
    /// Overrides the workload's error ratio.
    pub error_ratio: Option<f64>,
    pub outage: bool,
    pub stall: bool,
}

impl Default for Effects {
    fn default() -> Self {
        Effects {
            rate_mult: 1.0,
            length_mult: 1.0,
            kv_mult: 1.0,
            prefill_mult: 1.0,
            error_ratio: None,
            outage: false,
            stall: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_accepted_ones() {
        for s in Scenario::ALL {
            assert_eq!(s.id().parse::<Scenario>().unwrap(), s);
        }
        let e = "meltdown".parse::<Scenario>().unwrap_err();
        assert!(e.contains("kv-pressure") && e.contains("outage"), "{e}");
    }

    #[test]
    fn burst_alternates_between_high_and_base_rate() {
        assert_eq!(Scenario::Burst.effects(10.0).rate_mult, BURST_FACTOR);
        assert_eq!(Scenario::Burst.effects(BURST_LENGTH_S + 1.0).rate_mult, 1.0);
        assert_eq!(
            Scenario::Burst.effects(BURST_PERIOD_S + 1.0).rate_mult,
            BURST_FACTOR
        );
    }
}
