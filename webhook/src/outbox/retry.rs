//! Delivery outcome classification and the retry schedule, kept apart: [`classify_status`] says *whether* to retry,
//! [`next_attempt_at`] says *when*. Both are pure (they take `now`), so tests are tables.

use std::time::Duration;

use rand::Rng;

/// Why a delivery attempt failed. A closed set, used as a metric label (never an error string or URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    RateLimited,
    ServerError,
    ClientError,
    Timeout,
    Network,
    /// The receiver named in the outbox no longer exists in the configuration.
    Config,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::RateLimited => "rate_limited",
            Reason::ServerError => "server_error",
            Reason::ClientError => "client_error",
            Reason::Timeout => "timeout",
            Reason::Network => "network",
            Reason::Config => "config",
        }
    }
}

/// Outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again later; `retry_after` is the destination's own hint (`Retry-After`), honoured over our backoff.
    Retry {
        reason: Reason,
        detail: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed as sent: mark dead right away.
    Fail {
        reason: Reason,
        detail: String,
    },
}

/// The shared HTTP status table: 2xx delivered; 408, 429 and 5xx retried; any other status fails for good.
/// Destinations with extra rules (Slack's `ok` body) apply them in their own file.
pub fn classify_status(status: u16, retry_after: Option<Duration>, detail: String) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        429 => Outcome::Retry {
            reason: Reason::RateLimited,
            detail,
            retry_after,
        },
        408 => Outcome::Retry {
            reason: Reason::Timeout,
            detail,
            retry_after,
        },
        500..=599 => Outcome::Retry {
            reason: Reason::ServerError,
            detail,
            retry_after,
        },
        _ => Outcome::Fail {
            reason: Reason::ClientError,
            detail,
        },
    }
}

/// Parses a `Retry-After` header: delta-seconds or an HTTP date, relative to `now_unix_secs`.
pub fn parse_retry_after(value: &str, now_unix_secs: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let t = time::PrimitiveDateTime::parse(v, &fmt)
        .ok()?
        .assume_utc()
        .unix_timestamp();
    Some(Duration::from_secs(
        t.saturating_sub(now_unix_secs).max(0) as u64
    ))
}

/// Backoff settings.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

/// When to try again after `attempts` failed attempts (1 = the first failed). Capped exponential (×2) with
/// "equal jitter": half the delay fixed, half random (`jitter01` in [0,1)), so retries from a burst spread out but
/// never come sooner than half the nominal delay. `Retry-After` wins if it is longer.
pub fn next_attempt_at(
    now_ms: i64,
    attempts: u32,
    b: Backoff,
    retry_after: Option<Duration>,
    jitter01: f64,
) -> i64 {
    let exp = attempts.saturating_sub(1).min(30);
    let nominal = b.initial.saturating_mul(1u32 << exp.min(20)).min(b.max);
    let half = nominal / 2;
    let delay = half + half.mul_f64(jitter01.clamp(0.0, 1.0));
    let delay = match retry_after {
        Some(ra) if ra > delay => ra.min(Duration::from_secs(3600)),
        _ => delay,
    };
    now_ms + delay.as_millis() as i64
}

/// A random jitter factor for [`next_attempt_at`].
pub fn jitter() -> f64 {
    rand::thread_rng().gen::<f64>()
}

/// Whether a delivery created at `created_ms` has exceeded its maximum age.
pub fn too_old(created_ms: i64, now_ms: i64, max_age: Duration) -> bool {
    now_ms.saturating_sub(created_ms) >= max_age.as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        let cases: &[(u16, &str)] = &[
            (200, "delivered"),
            (202, "delivered"),
            (204, "delivered"),
            (400, "fail"),
            (401, "fail"),
            (403, "fail"),
            (404, "fail"),
            (408, "retry"),
            (413, "fail"),
            (429, "retry"),
            (500, "retry"),
            (502, "retry"),
            (503, "retry"),
        ];
        for (code, want) in cases {
            let got = match classify_status(*code, None, String::new()) {
                Outcome::Delivered => "delivered",
                Outcome::Retry { .. } => "retry",
                Outcome::Fail { .. } => "fail",
            };
            assert_eq!(got, *want, "status {code}");
        }
        assert!(matches!(
            classify_status(429, None, String::new()),
            Outcome::Retry {
                reason: Reason::RateLimited,
                ..
            }
        ));
    }

    #[test]
    fn backoff_doubles_with_equal_jitter_and_is_capped() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        assert_eq!(next_attempt_at(0, 1, b, None, 0.0), 500);
        assert_eq!(next_attempt_at(0, 1, b, None, 0.999_999), 999);
        assert_eq!(next_attempt_at(0, 3, b, None, 0.0), 2_000);
        assert_eq!(
            next_attempt_at(0, 50, b, None, 0.0),
            30_000,
            "capped at max, jitter floor is max/2"
        );
        assert!(next_attempt_at(0, 50, b, None, 1.0) <= 60_000);
    }

    #[test]
    fn retry_after_wins_when_longer() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        assert_eq!(
            next_attempt_at(1_000, 1, b, Some(Duration::from_secs(30)), 0.5),
            31_000
        );
        assert_eq!(
            next_attempt_at(0, 1, b, Some(Duration::from_millis(1)), 0.0),
            500,
            "shorter hint ignored"
        );
    }

    #[test]
    fn parses_retry_after_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_770),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn max_age_boundary() {
        let day = Duration::from_secs(86_400);
        assert!(!too_old(0, 86_399_999, day));
        assert!(too_old(0, 86_400_000, day));
    }
}
