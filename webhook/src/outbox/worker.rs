//! The delivery worker: picks due deliveries from the outbox, enriches each notification once, sends, classifies
//! and records the outcome. Reads the outbox through its own connection; every write goes through the writer.
//!
//! Per delivery: due → enrich (once per notification, bounded by its timeout) → rate gate → send → classify → mark.
//! Per (receiver, group) deliveries go out in arrival order (the store query enforces it). A delivery that keeps
//! failing past `retry.max_age`, or fails permanently, is marked dead: counted, listed on `/api/v1/dead`, never
//! silently dropped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{watch, OnceCell};
use tokio::task::JoinSet;

use super::retry::{self, Backoff, Outcome, Reason};
use super::store::{self, DueDelivery, OutboxStats};
use super::writer::{now_ms, DeliveryUpdate, Writer};
use crate::config::RetryConfig;
use crate::enrich::{Context, Enricher};
use crate::metrics::{DeliveryLabels, Metrics};
use crate::notify::{Message, Notifier};

/// Deliveries read per poll.
const POLL_LIMIT: usize = 512;
/// Concurrent sends per receiver without a rate limit.
const MAX_IN_FLIGHT_PER_RECEIVER: usize = 16;

/// Everything the worker needs; built once at start.
pub struct Worker {
    pub data_dir: std::path::PathBuf,
    pub writer: Writer,
    pub notifiers: HashMap<String, Arc<dyn Notifier>>,
    pub enricher: Enricher,
    pub retry: RetryConfig,
    pub metrics: Arc<Metrics>,
    reader: Mutex<Option<Connection>>,
    in_flight: Mutex<HashSet<i64>>,
    /// When each recently finished delivery was released. A poll whose read snapshot predates the release may
    /// still see the delivery as due; claiming it would send it twice.
    released: Mutex<HashMap<i64, Instant>>,
    per_receiver: Mutex<HashMap<String, usize>>,
    gates: HashMap<String, tokio::sync::Mutex<Option<Instant>>>,
    contexts: Mutex<HashMap<i64, Arc<OnceCell<Context>>>>,
}

impl Worker {
    pub fn new(
        data_dir: std::path::PathBuf,
        writer: Writer,
        notifiers: HashMap<String, Arc<dyn Notifier>>,
        enricher: Enricher,
        retry: RetryConfig,
        metrics: Arc<Metrics>,
    ) -> Worker {
        let gates = notifiers
            .keys()
            .map(|k| (k.clone(), tokio::sync::Mutex::new(None)))
            .collect();
        Worker {
            data_dir,
            writer,
            notifiers,
            enricher,
            retry,
            metrics,
            reader: Mutex::new(None),
            in_flight: Mutex::new(HashSet::new()),
            released: Mutex::new(HashMap::new()),
            per_receiver: Mutex::new(HashMap::new()),
            gates,
            contexts: Mutex::new(HashMap::new()),
        }
    }

    /// Runs until `shutdown` turns true, then lets in-flight sends finish for at most `drain`; whatever is not
    /// finished stays pending in the outbox and is sent after the next start.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>, drain: Duration) {
        let mut tasks = JoinSet::new();
        let mut last_stats = Instant::now() - Duration::from_secs(60);
        let mut last_prune = Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            let mut sleep_for = Duration::from_secs(1);
            let poll_started = Instant::now();
            self.released
                .lock()
                .expect("lock")
                .retain(|_, t| t.elapsed() < Duration::from_secs(30));
            match self
                .clone()
                .read(move |c| {
                    let now = now_ms();
                    Ok((
                        store::due_deliveries(c, now, POLL_LIMIT)?,
                        store::next_due_ms(c)?,
                    ))
                })
                .await
            {
                Ok((due, next)) => {
                    for d in due {
                        if self.claim(&d, poll_started) {
                            let me = self.clone();
                            tasks.spawn(async move { me.deliver(d).await });
                        }
                    }
                    if let Some(next) = next {
                        let wait = (next - now_ms()).clamp(0, 1000) as u64;
                        sleep_for = Duration::from_millis(wait.max(20));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "Cannot read the outbox; will retry."),
            }
            if last_stats.elapsed() >= Duration::from_secs(2) {
                last_stats = Instant::now();
                if let Ok(s) = self.clone().read(|c| Ok(store::stats(c)?)).await {
                    self.publish_stats(&s);
                }
            }
            if last_prune.elapsed() >= Duration::from_secs(60) {
                last_prune = Instant::now();
                if let Ok(n) = self.writer.prune(now_ms()).await {
                    if n > 0 {
                        tracing::info!(
                            notifications = n,
                            "Pruned finished notifications past retention."
                        );
                    }
                }
            }
            tokio::select! {
                _ = self.writer.committed.notified() => {}
                _ = tokio::time::sleep(sleep_for) => {}
                _ = shutdown.changed() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        let n = tasks.len();
        if n > 0 {
            tracing::info!(in_flight = n, "Finishing in-flight deliveries before exit.");
            let finished =
                tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} })
                    .await;
            if finished.is_err() {
                tracing::warn!(
                    left = tasks.len(),
                    "Shutdown deadline reached; unfinished deliveries stay in the outbox."
                );
                tasks.abort_all();
            }
        }
    }

    fn publish_stats(&self, s: &OutboxStats) {
        self.metrics.outbox_pending.set(s.pending as i64);
        self.metrics.outbox_dead.set(s.dead as i64);
        let age = s
            .oldest_pending_ms
            .map(|t| (now_ms() - t).max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        self.metrics.outbox_oldest_pending_seconds.set(age);
    }

    /// Runs a read on the reader connection in a blocking thread, opening it on first use.
    async fn read<T: Send + 'static>(
        self: Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<T, store::StoreError> + Send + 'static,
    ) -> Result<T, store::StoreError> {
        tokio::task::spawn_blocking(move || {
            let mut guard = self.reader.lock().expect("reader lock");
            if guard.is_none() {
                *guard = Some(store::open_reader(&self.data_dir)?);
            }
            let r = f(guard.as_ref().expect("just opened"));
            if r.is_err() {
                *guard = None;
            }
            r
        })
        .await
        .map_err(|_| store::StoreError::Unavailable)?
    }

    /// Marks a delivery in flight unless it already is or its receiver is at its concurrency limit.
    fn claim(&self, d: &DueDelivery, poll_started: Instant) -> bool {
        if self
            .released
            .lock()
            .expect("lock")
            .get(&d.id)
            .is_some_and(|t| *t >= poll_started)
        {
            return false;
        }
        let limit = match self.notifiers.get(&d.receiver) {
            Some(n) if !n.min_interval().is_zero() => 1,
            _ => MAX_IN_FLIGHT_PER_RECEIVER,
        };
        let mut in_flight = self.in_flight.lock().expect("lock");
        let mut per = self.per_receiver.lock().expect("lock");
        let count = per.entry(d.receiver.clone()).or_default();
        if in_flight.contains(&d.id) || *count >= limit {
            return false;
        }
        in_flight.insert(d.id);
        *count += 1;
        true
    }

    fn release(&self, d: &DueDelivery) {
        // Recorded before leaving the in-flight set, so a concurrent claim sees one or the other.
        self.released
            .lock()
            .expect("lock")
            .insert(d.id, Instant::now());
        self.in_flight.lock().expect("lock").remove(&d.id);
        if let Some(c) = self.per_receiver.lock().expect("lock").get_mut(&d.receiver) {
            *c = c.saturating_sub(1);
        }
    }

    async fn deliver(self: Arc<Self>, d: DueDelivery) {
        let update = self.attempt(&d).await;
        if let Err(e) = self.writer.update(update).await {
            // The delivery stays pending and will be attempted again: at-least-once.
            tracing::error!(delivery = d.id, error = %e, "Cannot record delivery outcome; it will be retried.");
        }
        self.release(&d);
    }

    /// One attempt, returning the outcome to record.
    async fn attempt(&self, d: &DueDelivery) -> DeliveryUpdate {
        let attempts = d.attempts + 1;
        let Some(notifier) = self.notifiers.get(&d.receiver) else {
            self.count(&d.receiver, "dead", Reason::Config.as_str());
            let error = format!("receiver {:?} is not in the configuration", d.receiver);
            tracing::error!(delivery = d.id, receiver = %d.receiver, "Delivery marked dead: receiver no longer configured.");
            return DeliveryUpdate::Dead {
                id: d.id,
                attempts,
                error,
                now_ms: now_ms(),
            };
        };
        let n = match crate::payload::parse(&d.body) {
            Ok(n) => n,
            Err(e) => {
                // Cannot happen for rows we wrote (they were parsed before storing); guard anyway.
                self.count(&d.receiver, "dead", Reason::ClientError.as_str());
                return DeliveryUpdate::Dead {
                    id: d.id,
                    attempts,
                    error: format!("stored body unreadable: {e}"),
                    now_ms: now_ms(),
                };
            }
        };
        let context = self.context(d, &n).await;
        let msg = Message {
            notification: &n,
            context: &context,
            reminder: d.reminder,
            idempotency_key: format!("infermon-{}-{}", d.notification_id, d.id),
        };
        let outcome = {
            let gate = self.gates.get(&d.receiver);
            let interval = notifier.min_interval();
            if let (Some(gate), false) = (gate, interval.is_zero()) {
                let mut next_allowed = gate.lock().await;
                if let Some(t) = *next_allowed {
                    tokio::time::sleep_until(t.into()).await;
                }
                let o = notifier.send(&msg).await;
                *next_allowed = Some(Instant::now() + interval);
                o
            } else {
                notifier.send(&msg).await
            }
        };
        let now = now_ms();
        match outcome {
            Outcome::Delivered => {
                self.count(&d.receiver, "delivered", "");
                tracing::info!(receiver = %d.receiver, delivery = d.id, attempts, "Delivered.");
                DeliveryUpdate::Delivered {
                    id: d.id,
                    attempts,
                    now_ms: now,
                }
            }
            Outcome::Retry {
                reason,
                detail,
                retry_after,
            } => {
                let b = Backoff {
                    initial: self.retry.initial_backoff,
                    max: self.retry.max_backoff,
                };
                let next = retry::next_attempt_at(now, attempts, b, retry_after, retry::jitter());
                if retry::too_old(d.created_ms, next, self.retry.max_age) {
                    self.count(&d.receiver, "dead", reason.as_str());
                    tracing::error!(receiver = %d.receiver, delivery = d.id, attempts, error = %detail, "Delivery marked dead after its maximum age.");
                    DeliveryUpdate::Dead {
                        id: d.id,
                        attempts,
                        error: format!("gave up after max_age: {detail}"),
                        now_ms: now,
                    }
                } else {
                    self.count(&d.receiver, "retry", reason.as_str());
                    tracing::warn!(receiver = %d.receiver, delivery = d.id, attempts, error = %detail, "Delivery failed; will retry.");
                    DeliveryUpdate::Retry {
                        id: d.id,
                        attempts,
                        next_attempt_ms: next,
                        error: detail,
                        now_ms: now,
                    }
                }
            }
            Outcome::Fail { reason, detail } => {
                self.count(&d.receiver, "dead", reason.as_str());
                tracing::error!(receiver = %d.receiver, delivery = d.id, attempts, error = %detail, "Delivery rejected by the destination; marked dead.");
                DeliveryUpdate::Dead {
                    id: d.id,
                    attempts,
                    error: detail,
                    now_ms: now,
                }
            }
        }
    }

    /// The notification's context: stored, or fetched once and shared by all its deliveries.
    async fn context(&self, d: &DueDelivery, n: &crate::payload::Notification) -> Context {
        if let Some(c) = d
            .context
            .as_deref()
            .and_then(|c| serde_json::from_str::<Context>(c).ok())
        {
            return c;
        }
        let cell = {
            let mut map = self.contexts.lock().expect("lock");
            if map.len() > 4096 {
                map.clear();
            }
            map.entry(d.notification_id).or_default().clone()
        };
        cell.get_or_init(|| async {
            let c = self
                .enricher
                .enrich(n, time::OffsetDateTime::now_utc())
                .await;
            if let Ok(json) = serde_json::to_string(&c) {
                self.writer.set_context(d.notification_id, json);
            }
            c
        })
        .await
        .clone()
    }

    fn count(&self, receiver: &str, outcome: &'static str, reason: &'static str) {
        self.metrics
            .deliveries
            .get_or_create(&DeliveryLabels {
                receiver: receiver.to_string(),
                outcome,
                reason,
            })
            .inc();
    }
}
