//! The single outbox writer: one thread owns the write connection and commits everything queued in one
//! transaction (group commit), so one fsync covers many accepts. Each caller gets its answer only after the
//! transaction holding its write has committed; that is what makes "2xx only after durable store" cheap
//! (performance.md §4.3: 0.38–0.46 of bare axum with group commit vs 0.06–0.07 with one commit per request).
//!
//! Dedupe state (content key → last acceptance) lives here too, because only the writer sees accepts in order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::{oneshot, Notify};

use super::store::{self, StoreError};
use crate::dedupe::{self, Verdict};
use crate::metrics::Metrics;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 1024;

/// A notification to store, already parsed, validated and routed by the handler.
#[derive(Debug, Clone)]
pub struct AcceptRequest {
    pub received_ms: i64,
    pub group_key: String,
    pub content_key: [u8; 32],
    pub body: Bytes,
    pub receivers: Vec<String>,
}

/// Result of an accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    Stored {
        notification_id: i64,
        reminder: bool,
    },
    Duplicate,
}

/// The outcome of one delivery attempt, to be recorded.
#[derive(Debug, Clone)]
pub enum DeliveryUpdate {
    Delivered {
        id: i64,
        attempts: u32,
        now_ms: i64,
    },
    Retry {
        id: i64,
        attempts: u32,
        next_attempt_ms: i64,
        error: String,
        now_ms: i64,
    },
    Dead {
        id: i64,
        attempts: u32,
        error: String,
        now_ms: i64,
    },
}

enum Op {
    Accept(AcceptRequest, oneshot::Sender<Result<Accepted, StoreError>>),
    Update(DeliveryUpdate, oneshot::Sender<Result<(), StoreError>>),
    SetContext {
        notification_id: i64,
        context: String,
    },
    Prune {
        now_ms: i64,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    Shutdown,
}

/// Settings of the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub data_dir: PathBuf,
    pub queue_capacity: usize,
    pub dedupe_window: Duration,
    pub retention: Duration,
    pub max_notifications: u64,
    pub max_db_bytes: Option<u64>,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: SyncSender<Op>,
    closed: Arc<AtomicBool>,
    available: Arc<AtomicBool>,
    /// Signalled after a commit that added deliveries or changed their schedule.
    pub committed: Arc<Notify>,
}

impl Writer {
    /// Starts the writer thread. If the database cannot be opened the writer keeps trying every second and answers
    /// every operation with [`StoreError::Unavailable`] meanwhile (so the receive path answers 503).
    pub fn spawn(
        cfg: WriterConfig,
        metrics: Arc<Metrics>,
    ) -> (Writer, std::thread::JoinHandle<()>) {
        let (tx, rx) = sync_channel(cfg.queue_capacity);
        let available = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(Notify::new());
        let w = Writer {
            tx,
            closed: Arc::new(AtomicBool::new(false)),
            available: available.clone(),
            committed: committed.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || run(cfg, rx, available, committed, metrics))
            .expect("spawn outbox writer thread");
        (w, handle)
    }

    /// Whether the database is open and the last commit succeeded.
    pub fn is_available(&self) -> bool {
        self.available.load(Ordering::Relaxed)
    }

    /// Stores a notification durably. Fails fast (no waiting) when the queue is full or the service is closing.
    pub async fn accept(&self, req: AcceptRequest) -> Result<Accepted, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::ShuttingDown);
        }
        let (reply, rx) = oneshot::channel();
        self.send(Op::Accept(req, reply))?;
        rx.await.map_err(|_| StoreError::Unavailable)?
    }

    /// Records a delivery outcome; returns after it is committed.
    pub async fn update(&self, u: DeliveryUpdate) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        // Outcome records must not be dropped on a full queue: wait for room (off the async threads) instead.
        match self.tx.try_send(Op::Update(u, reply)) {
            Ok(()) => {}
            Err(TrySendError::Disconnected(_)) => return Err(StoreError::Unavailable),
            Err(TrySendError::Full(op)) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || tx.send(op).map_err(|_| ()))
                    .await
                    .map_err(|_| StoreError::Unavailable)?
                    .map_err(|_| StoreError::Unavailable)?;
            }
        }
        rx.await.map_err(|_| StoreError::Unavailable)?
    }

    /// Stores the enrichment of a notification (best effort: losing it only means enriching again).
    pub fn set_context(&self, notification_id: i64, context: String) {
        let _ = self.tx.try_send(Op::SetContext {
            notification_id,
            context,
        });
    }

    /// Deletes old finished notifications and expired dedupe keys.
    pub async fn prune(&self, now_ms: i64) -> Result<u64, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.send(Op::Prune { now_ms, reply })?;
        rx.await.map_err(|_| StoreError::Unavailable)?
    }

    /// Stops accepting new notifications; outcome updates still go through.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Asks the thread to finish after the operations already queued.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Op::Shutdown);
    }

    fn send(&self, op: Op) -> Result<(), StoreError> {
        self.tx.try_send(op).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::QueueFull,
            TrySendError::Disconnected(_) => StoreError::Unavailable,
        })
    }
}

struct State {
    /// Content key → last acceptance (ms). Entries older than the dedupe window are dropped by prune.
    seen: HashMap<[u8; 32], i64>,
    stored: u64,
}

fn run(
    cfg: WriterConfig,
    rx: Receiver<Op>,
    available: Arc<AtomicBool>,
    committed: Arc<Notify>,
    metrics: Arc<Metrics>,
) {
    let mut logged = false;
    let (mut conn, mut state) = loop {
        match open(&cfg) {
            Ok(x) => break x,
            Err(e) => {
                if !logged {
                    tracing::error!(error = %e, "Outbox store unavailable; answering 503 until it can be opened.");
                    logged = true;
                }
                available.store(false, Ordering::Relaxed);
                let deadline = std::time::Instant::now() + Duration::from_secs(1);
                loop {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    match rx.recv_timeout(left) {
                        Ok(Op::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                        Ok(op) => fail(op, || StoreError::Unavailable),
                        Err(RecvTimeoutError::Timeout) => break,
                    }
                }
            }
        }
    };
    available.store(true, Ordering::Relaxed);
    if logged {
        tracing::info!("Outbox store is available again.");
    }
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        match rx.recv() {
            Ok(op) => batch.push(op),
            Err(_) => return,
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let shutdown = batch.iter().any(|o| matches!(o, Op::Shutdown));
        metrics.commit_batch_size.observe(batch.len() as f64);
        let wake = commit_batch(&cfg, &mut conn, &mut state, &mut batch, &available);
        if wake {
            committed.notify_one();
        }
        if shutdown {
            // Answer whatever raced in behind the shutdown request.
            while let Ok(op) = rx.try_recv() {
                fail(op, || StoreError::ShuttingDown);
            }
            return;
        }
    }
}

fn open(cfg: &WriterConfig) -> Result<(Connection, State), StoreError> {
    let conn = store::open_writer(&cfg.data_dir, cfg.max_db_bytes)?;
    let now = now_ms();
    let since = now - cfg.dedupe_window.as_millis() as i64;
    let seen = store::load_keys(&conn, since)?.into_iter().collect();
    let stored = store::count_notifications(&conn)?;
    Ok((conn, State { seen, stored }))
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn fail(op: Op, err: impl Fn() -> StoreError) {
    match op {
        Op::Accept(_, r) => {
            let _ = r.send(Err(err()));
        }
        Op::Update(_, r) => {
            let _ = r.send(Err(err()));
        }
        Op::Prune { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::SetContext { .. } | Op::Shutdown => {}
    }
}

/// Replies to send once the batch's fate is known.
enum Reply {
    Accept(
        oneshot::Sender<Result<Accepted, StoreError>>,
        Result<Accepted, StoreError>,
    ),
    Update(oneshot::Sender<Result<(), StoreError>>),
    Prune(oneshot::Sender<Result<u64, StoreError>>, u64),
}

/// Applies the batch in one IMMEDIATE transaction and answers every caller after COMMIT. Any SQL error rolls the
/// whole batch back and fails every operation in it (the error is about the store, not about one request).
/// Returns whether the delivery worker should look for work.
fn commit_batch(
    cfg: &WriterConfig,
    conn: &mut Connection,
    state: &mut State,
    batch: &mut Vec<Op>,
    available: &AtomicBool,
) -> bool {
    let mut replies = Vec::with_capacity(batch.len());
    let mut undo: Vec<([u8; 32], Option<i64>)> = Vec::new();
    let stored_before = state.stored;
    let mut wake = false;
    let result = (|| -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for op in batch.drain(..) {
            match op {
                Op::Accept(req, reply) => {
                    let prev = state.seen.get(&req.content_key).copied();
                    let verdict = dedupe::decide(prev, req.received_ms, cfg.dedupe_window);
                    if verdict == Verdict::Duplicate {
                        replies.push(Reply::Accept(reply, Ok(Accepted::Duplicate)));
                        continue;
                    }
                    if state.stored >= cfg.max_notifications {
                        replies.push(Reply::Accept(reply, Err(StoreError::Full(state.stored))));
                        continue;
                    }
                    let reminder = verdict == Verdict::Reminder;
                    let id = store::insert_notification(
                        &tx,
                        req.received_ms,
                        &req.group_key,
                        reminder,
                        &req.body,
                        &req.receivers,
                    )?;
                    store::remember_key(&tx, &req.content_key, req.received_ms)?;
                    undo.push((
                        req.content_key,
                        state.seen.insert(req.content_key, req.received_ms),
                    ));
                    state.stored += 1;
                    wake = true;
                    replies.push(Reply::Accept(
                        reply,
                        Ok(Accepted::Stored {
                            notification_id: id,
                            reminder,
                        }),
                    ));
                }
                Op::Update(u, reply) => {
                    apply_update(&tx, &u)?;
                    wake |= matches!(u, DeliveryUpdate::Retry { .. });
                    replies.push(Reply::Update(reply));
                }
                Op::SetContext {
                    notification_id,
                    context,
                } => {
                    tx.prepare_cached("UPDATE notifications SET context = ?1 WHERE id = ?2")?
                        .execute(params![context, notification_id])?;
                }
                Op::Prune { now_ms, reply } => {
                    let before = now_ms - cfg.retention.as_millis() as i64;
                    let dedupe_before = now_ms - cfg.dedupe_window.as_millis() as i64;
                    let n = store::prune(&tx, before, dedupe_before, 5_000)?;
                    state.stored = state.stored.saturating_sub(n);
                    state
                        .seen
                        .retain(|_, t| !dedupe::expired(*t, now_ms, cfg.dedupe_window));
                    replies.push(Reply::Prune(reply, n));
                }
                Op::Shutdown => {}
            }
        }
        tx.commit()
    })();
    match result {
        Ok(()) => {
            available.store(true, Ordering::Relaxed);
            for r in replies {
                match r {
                    Reply::Accept(s, v) => {
                        let _ = s.send(v);
                    }
                    Reply::Update(s) => {
                        let _ = s.send(Ok(()));
                    }
                    Reply::Prune(s, n) => {
                        let _ = s.send(Ok(n));
                    }
                }
            }
            wake
        }
        Err(e) => {
            // The transaction rolled back: restore the in-memory state and fail everyone in the batch, including
            // operations that were not yet reached (still in `batch`).
            tracing::error!(error = %e, "Outbox commit failed; the batch was rolled back and its requests get 503.");
            for (k, prev) in undo.into_iter().rev() {
                match prev {
                    Some(t) => state.seen.insert(k, t),
                    None => state.seen.remove(&k),
                };
            }
            state.stored = stored_before;
            let msg = e.to_string();
            for r in replies {
                match r {
                    Reply::Accept(s, _) => {
                        let _ = s.send(Err(StoreError::Commit(msg.clone())));
                    }
                    Reply::Update(s) => {
                        let _ = s.send(Err(StoreError::Commit(msg.clone())));
                    }
                    Reply::Prune(s, _) => {
                        let _ = s.send(Err(StoreError::Commit(msg.clone())));
                    }
                }
            }
            for op in batch.drain(..) {
                fail(op, || StoreError::Commit(msg.clone()));
            }
            false
        }
    }
}

fn apply_update(tx: &Connection, u: &DeliveryUpdate) -> rusqlite::Result<()> {
    match u {
        DeliveryUpdate::Delivered {
            id,
            attempts,
            now_ms,
        } => {
            tx.prepare_cached("UPDATE deliveries SET state = 1, attempts = ?2, updated_ms = ?3, last_error = NULL WHERE id = ?1")?
                .execute(params![id, attempts, now_ms])?;
        }
        DeliveryUpdate::Retry {
            id,
            attempts,
            next_attempt_ms,
            error,
            now_ms,
        } => {
            tx.prepare_cached(
                "UPDATE deliveries SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4, updated_ms = ?5 WHERE id = ?1",
            )?
            .execute(params![id, attempts, next_attempt_ms, error, now_ms])?;
        }
        DeliveryUpdate::Dead {
            id,
            attempts,
            error,
            now_ms,
        } => {
            tx.prepare_cached("UPDATE deliveries SET state = 2, attempts = ?2, last_error = ?3, updated_ms = ?4 WHERE id = ?1")?
                .execute(params![id, attempts, error, now_ms])?;
        }
    }
    Ok(())
}

/// Checkpoints the WAL from its own connection, off the accept path: PASSIVE never blocks the writer.
pub fn spawn_checkpointer(data_dir: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("outbox-checkpoint".into())
        .spawn(move || {
            let mut conn = None;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                if conn.is_none() {
                    conn = store::open_reader(&data_dir).ok();
                }
                if let Some(c) = &conn {
                    if let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed.");
                        conn = None;
                    }
                }
            }
        })
        .expect("spawn checkpoint thread")
}
