//! The service's own Prometheus metrics (prometheus-client), served on `/metrics`.
//!
//! Label values are closed sets (result, outcome, reason) or receiver names from the config; never alert labels,
//! URLs or error strings (cardinality and secrecy).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub receiver: String,
    pub outcome: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

/// All metrics of the service.
pub struct Metrics {
    pub registry: Registry,
    /// Receive results: accepted, duplicate, rejected (4xx), unauthorized, unavailable (503).
    pub received: Family<ResultLabel, Counter>,
    pub duplicates: Counter,
    pub accept_seconds: Histogram,
    pub commit_batch_size: Histogram,
    /// Wall time of each group-commit transaction, BEGIN to COMMIT done (the writer's serial cost per batch).
    pub commit_seconds: Histogram,
    /// The COMMIT step alone: WAL frames written and fsync'd (the part the disk decides).
    pub commit_sync_seconds: Histogram,
    pub enrichment_seconds: Histogram,
    pub enrichment_failures: Family<ReasonLabel, Counter>,
    pub promql_queries: Counter,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub outbox_pending: Gauge,
    pub outbox_dead: Gauge,
    pub outbox_oldest_pending_seconds: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("infermon_webhook");
        let received = Family::<ResultLabel, Counter>::default();
        registry.register(
            "notifications_received",
            "Notifications received, by result",
            received.clone(),
        );
        let duplicates = Counter::default();
        registry.register(
            "duplicates",
            "Notifications dropped as HA duplicates (answered 200)",
            duplicates.clone(),
        );
        let accept_seconds = Histogram::new(exponential_buckets(0.0002, 2.0, 16));
        registry.register(
            "accept_duration_seconds",
            "Time from request to durable answer",
            accept_seconds.clone(),
        );
        let commit_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register(
            "outbox_commit_batch_size",
            "Operations per outbox transaction (group commit)",
            commit_batch_size.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.00005, 2.0, 14));
        registry.register(
            "outbox_commit_duration_seconds",
            "Wall time of each outbox group-commit transaction, BEGIN to durable COMMIT",
            commit_seconds.clone(),
        );
        let commit_sync_seconds = Histogram::new(exponential_buckets(0.00005, 2.0, 14));
        registry.register(
            "outbox_commit_sync_duration_seconds",
            "Time of the COMMIT step alone (WAL frames written and fsync'd)",
            commit_sync_seconds.clone(),
        );
        let enrichment_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        registry.register(
            "enrichment_duration_seconds",
            "Time spent fetching model context",
            enrichment_seconds.clone(),
        );
        let enrichment_failures = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "enrichment_failures",
            "Enrichments that delivered without context, by reason",
            enrichment_failures.clone(),
        );
        let promql_queries = Counter::default();
        registry.register(
            "promql_queries",
            "PromQL queries issued for enrichment",
            promql_queries.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Delivery attempts by receiver, outcome and failure reason",
            deliveries.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Deliveries waiting in the outbox",
            outbox_pending.clone(),
        );
        let outbox_dead = Gauge::default();
        registry.register(
            "outbox_dead",
            "Deliveries marked dead (kept until retention)",
            outbox_dead.clone(),
        );
        let outbox_oldest_pending_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest pending delivery",
            outbox_oldest_pending_seconds.clone(),
        );
        Metrics {
            registry,
            received,
            duplicates,
            accept_seconds,
            commit_batch_size,
            commit_seconds,
            commit_sync_seconds,
            enrichment_seconds,
            enrichment_failures,
            promql_queries,
            deliveries,
            outbox_pending,
            outbox_dead,
            outbox_oldest_pending_seconds,
        }
    }

    pub fn received(&self, result: &'static str) {
        self.received.get_or_create(&ResultLabel { result }).inc();
    }

    /// Text exposition.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &self.registry)
            .expect("writing to a String cannot fail");
        s
    }
}
