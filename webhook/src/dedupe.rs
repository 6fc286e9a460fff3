//! Inbound dedupe of Alertmanager HA duplicates: a pure decision over the time a content key was last accepted.
//!
//! Replicas of an HA pair send the same group content (same `groupKey`, same set of (fingerprint, status)) within
//! `position × peer_timeout` of each other; Alertmanager re-sends identical content on purpose only after
//! `repeat_interval` (alert-webhook.md §2.5). So identical content inside `window` is a duplicate (200, not
//! delivered again) and identical content after it is a reminder (delivered). The state lives in the outbox writer;
//! this module only decides. No clock reads, no IO.

use std::time::Duration;

/// What to do with an accepted notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// First time this content is seen (or seen long enough ago that nothing remembers it).
    New,
    /// Same content as one accepted within the window: answer 200, deliver nothing.
    Duplicate,
    /// Same content as one accepted before the window: a `repeat_interval` reminder, delivered again.
    Reminder,
}

/// Decides from the last acceptance time (ms since the epoch) of the same content key.
pub fn decide(last_accepted_ms: Option<i64>, now_ms: i64, window: Duration) -> Verdict {
    match last_accepted_ms {
        None => Verdict::New,
        // A clock step backwards still counts as "within the window": prefer one missed reminder over a duplicate
        // page, since Alertmanager will remind again at the next repeat_interval.
        Some(t) if now_ms.saturating_sub(t) < window.as_millis() as i64 => Verdict::Duplicate,
        Some(_) => Verdict::Reminder,
    }
}

/// Whether a remembered key can be forgotten: older than the window, so it can no longer produce a duplicate.
pub fn expired(last_accepted_ms: i64, now_ms: i64, window: Duration) -> bool {
    now_ms.saturating_sub(last_accepted_ms) >= window.as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(300);

    #[test]
    fn decision_table() {
        struct Case {
            name: &'static str,
            last: Option<i64>,
            now: i64,
            want: Verdict,
        }
        let cases = [
            Case {
                name: "never seen is new",
                last: None,
                now: 1_000,
                want: Verdict::New,
            },
            Case {
                name: "second replica 2 s later is a duplicate",
                last: Some(1_000),
                now: 3_000,
                want: Verdict::Duplicate,
            },
            Case {
                name: "just inside the window is a duplicate",
                last: Some(0),
                now: 299_999,
                want: Verdict::Duplicate,
            },
            Case {
                name: "at the window edge it is a reminder",
                last: Some(0),
                now: 300_000,
                want: Verdict::Reminder,
            },
            Case {
                name: "after repeat_interval (4h) it is a reminder",
                last: Some(0),
                now: 4 * 3_600_000,
                want: Verdict::Reminder,
            },
            // The wall clock stepped back: never page twice for that.
            Case {
                name: "clock stepped back is a duplicate",
                last: Some(10_000),
                now: 5_000,
                want: Verdict::Duplicate,
            },
        ];
        for c in cases {
            assert_eq!(decide(c.last, c.now, W), c.want, "{}", c.name);
        }
    }

    #[test]
    fn keys_expire_exactly_when_they_stop_mattering() {
        assert!(!expired(0, 299_999, W));
        assert!(expired(0, 300_000, W));
    }
}
