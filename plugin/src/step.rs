//! Step and rate-window calculation, ported from Grafana's Prometheus data source (`grafana-plugin.md` §6.1) so
//! that the same panel asks an engine for the same points as a Prometheus panel would:
//!
//! ```text
//! min      = max(intervalMs, scrapeInterval)            (the browser already floors intervalMs at the DS interval)
//! calc     = max(min, round(range / maxDataPoints))      (maxDataPoints 0 -> 1500)
//! safe     = round(range / 11000)                        (Prometheus refuses more than 11 000 points per series)
//! step     = max(calc, safe)
//! window   = max(step + scrape, 4 × scrape)              ($__rate_interval)
//! start/end floored to a multiple of the step            (Prometheus' cache needs aligned ranges)
//! ```

use std::time::Duration;

/// Prometheus' per-series resolution limit (`(end-start)/step > 11000` is refused).
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;
const DEFAULT_MAX_DATA_POINTS: i64 = 1_500;

/// Grafana's `RoundInterval` table (gtime): (upper threshold ms, step ms).
const ROUND: &[(i64, i64)] = &[
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (172_800_000, 86_400_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
];
const DAY_MS: i64 = 86_400_000;

/// Grafana's `RoundInterval`: the "nice" step for a raw interval in milliseconds.
pub fn round_interval(ms: i64) -> i64 {
    for (threshold, step) in ROUND {
        if ms <= *threshold {
            return *step;
        }
    }
    if ms < 2 * 365 * DAY_MS {
        30 * DAY_MS
    } else {
        365 * DAY_MS
    }
}

/// Grafana's `FormatInterval`: `1y`, `30d`, `2h`, `5m`, `15s`, `500ms`.
pub fn format_interval(ms: i64) -> String {
    let units = [
        (365 * DAY_MS, "y"),
        (DAY_MS, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    for (size, unit) in units {
        if ms >= size && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    for (size, unit) in units {
        if ms >= size {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// The time grid of one range query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
    /// `$__rate_interval` for this step.
    pub rate_window_ms: i64,
}

/// Computes the step, rate window and aligned range for a query.
pub fn grid(
    from_ms: i64,
    to_ms: i64,
    interval_ms: i64,
    max_data_points: i64,
    scrape: Duration,
) -> Grid {
    let scrape_ms = (scrape.as_millis() as i64).max(1);
    let range = (to_ms - from_ms).max(0);
    let min = interval_ms.max(scrape_ms);
    let points = if max_data_points <= 0 {
        DEFAULT_MAX_DATA_POINTS
    } else {
        max_data_points
    };
    let raw = range / points;
    let calculated = if raw < min {
        min
    } else {
        round_interval(raw).max(min)
    };
    let safe = round_interval(range / MAX_POINTS_PER_SERIES);
    let mut step = calculated.max(safe).max(1);
    // The rounding table can land just under the limit's need for very long ranges; never exceed it.
    while range / step > MAX_POINTS_PER_SERIES {
        step *= 2;
    }
    let rate_window_ms = (step + scrape_ms).max(4 * scrape_ms);
    Grid {
        start_ms: from_ms.div_euclid(step) * step,
        end_ms: to_ms.div_euclid(step) * step,
        step_ms: step,
        rate_window_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafana_examples() {
        let s15 = Duration::from_secs(15);
        // 1 h, 1000 points, intervalMs 3600 -> 3.6 s raw -> 5 s nice, floored by scrape 15 s.
        let g = grid(0, 3_600_000, 3_600, 1_000, s15);
        assert_eq!(g.step_ms, 15_000);
        assert_eq!(g.rate_window_ms, 60_000);
        // 7 d at 1000 points: 604.8 s -> 10m.
        let g = grid(0, 7 * DAY_MS, 0, 1_000, s15);
        assert_eq!(g.step_ms, 600_000);
        assert_eq!(g.rate_window_ms, 615_000);
        // Alerting: maxDataPoints 43200, intervalMs 1000 over 1 year -> safe interval wins.
        let g = grid(0, 365 * DAY_MS, 1_000, 43_200, s15);
        assert!((g.end_ms - g.start_ms) / g.step_ms <= MAX_POINTS_PER_SERIES);
        assert_eq!(format_interval(g.step_ms), "1h");
    }

    #[test]
    fn aligned_and_never_over_the_limit() {
        for (range, mdp, iv) in [
            (1_000, 1, 1),
            (123_456_789, 100_000, 1),
            (10 * 365 * DAY_MS, 0, 0),
            (50, 5, 0),
        ] {
            let g = grid(
                1_700_000_000_123,
                1_700_000_000_123 + range,
                iv,
                mdp,
                Duration::from_millis(1),
            );
            assert_eq!(g.start_ms % g.step_ms, 0);
            assert_eq!(g.end_ms % g.step_ms, 0);
            assert!(
                (g.end_ms - g.start_ms) / g.step_ms <= MAX_POINTS_PER_SERIES,
                "{range} {g:?}"
            );
        }
        assert_eq!(format_interval(90_000), "90s");
        assert_eq!(format_interval(500), "500ms");
        assert_eq!(round_interval(1_100), 1_000);
        assert_eq!(round_interval(3 * 365 * DAY_MS), 365 * DAY_MS);
    }
}
