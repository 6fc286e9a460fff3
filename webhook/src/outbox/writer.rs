//! The single outbox writer: one thread owns the write connection and commits everything queued in one
//! transaction (group commit), so one fsync covers many accepts. Each caller gets its answer only after the
//! transaction holding its write has committed; that is what makes "2xx only after durable store" cheap
//! (performance.md §4.3: 0.38–0.46 of bare axum with group commit vs 0.06–0.07 with one commit per request).
//!
//! Dedupe state (content key → last acceptance) lives here too, because only the writer sees accepts in order.
//!
//! Delivery rows are not written by the accept transaction: the writer fans accepted notifications out into
//! per-receiver deliveries ([`store::fan_out`]) in separate transactions, whenever its queue has been empty for
//! [`IDLE_BEFORE_FANOUT`] (so under normal load a few milliseconds after the accept's commit) and, under sustained
//! load, once the backlog reaches [`FANOUT_CHUNK`] notifications or [`FANOUT_MAX_DELAY`]. That keeps the
//! deliveries table and its indexes out of the fsync'd commit every 2xx waits for. The delivery worker is woken
//! after a fan-out, not after an accept. Each delivery row names the delivery of its receiver and group it must wait
//! for, from the map of pending heads this thread keeps ([`super::order`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::{oneshot, Notify};

use super::order::GroupHeads;
use super::store::{self, StoreError};
use crate::dedupe::{self, Verdict};
use crate::metrics::Metrics;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 1024;

/// Most notifications fanned out in one transaction (bounds how long an accept can wait behind a fan-out).
pub const FANOUT_CHUNK: usize = 256;

/// Longest accepted notifications wait for their delivery rows while the queue never empties.
pub const FANOUT_MAX_DELAY: Duration = Duration::from_millis(50);

/// How long the queue must stay empty before the writer counts as idle and fans out.
pub const IDLE_BEFORE_FANOUT: Duration = Duration::from_millis(2);

/// Pause before fanning out again after a failed fan-out transaction (the store is broken or full).
const FANOUT_RETRY: Duration = Duration::from_secs(1);

/// WAL length (frames, i.e. pages) from which the checkpointer asks the writer to let the WAL start over.
pub const WAL_RESTART_FRAMES: i64 = 1024;

/// Pause between two background checkpoints.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

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
    /// Set by the checkpointer when the WAL is long and (nearly) all of it is checkpointed; see [`spawn_checkpointer`].
    wal_restart: Arc<AtomicBool>,
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
        let wal_restart = Arc::new(AtomicBool::new(false));
        let w = Writer {
            tx,
            closed: Arc::new(AtomicBool::new(false)),
            available: available.clone(),
            wal_restart: wal_restart.clone(),
            committed: committed.clone(),
        };
        let runtime = tokio::runtime::Handle::try_current().ok();
        let handle = std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || run(cfg, rx, available, committed, wal_restart, metrics, runtime))
            .expect("spawn outbox writer thread");
        (w, handle)
    }

    /// The flag [`spawn_checkpointer`] raises to have this writer finish a checkpoint between two transactions.
    pub fn wal_restart_flag(&self) -> Arc<AtomicBool> {
        self.wal_restart.clone()
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
    /// Id of the next notification (ids only grow; see [`store::next_notification_id`]).
    next_id: i64,
    /// The last pending delivery of each (receiver, group): the predecessor of the next one.
    heads: GroupHeads,
    /// Last notification with its delivery rows ([`store::fan_out`]).
    fanned_out: i64,
    /// When the oldest notification above `fanned_out` was committed (None when there is none).
    unfanned_since: Option<Instant>,
    /// After a failed fan-out, no new attempt before this.
    fanout_retry_at: Option<Instant>,
    /// The connection was left at `synchronous=NORMAL` by a fan-out (restoring FULL failed): the next batch must
    /// restore it before committing anything a caller waits for.
    relaxed: bool,
}

impl State {
    fn backlog(&self) -> i64 {
        self.next_id - 1 - self.fanned_out
    }

    fn may_fan_out(&self) -> bool {
        let paused = match self.fanout_retry_at {
            Some(t) => Instant::now() < t,
            None => false,
        };
        self.backlog() > 0 && !paused
    }
}

fn run(
    cfg: WriterConfig,
    rx: Receiver<Op>,
    available: Arc<AtomicBool>,
    committed: Arc<Notify>,
    wal_restart: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    runtime: Option<tokio::runtime::Handle>,
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
        // Idle (nothing queued for IDLE_BEFORE_FANOUT) with notifications to fan out: fan out one chunk, then look
        // at the queue again. Right after a commit the queue is briefly empty while the answered clients send
        // their next requests; fanning out in that gap would put a second fsync between every two group commits.
        let first = if state.may_fan_out() {
            match rx.recv_timeout(IDLE_BEFORE_FANOUT) {
                Ok(op) => op,
                Err(RecvTimeoutError::Timeout) => {
                    if fan_out(&mut conn, &mut state) {
                        committed.notify_one();
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else if let Some(at) = state.fanout_retry_at.filter(|_| state.backlog() > 0) {
            match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(op) => op,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match rx.recv() {
                Ok(op) => op,
                Err(_) => return,
            }
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let shutdown = batch.iter().any(|o| matches!(o, Op::Shutdown));
        metrics.commit_batch_size.observe(batch.len() as f64);
        let mut wake = commit_batch(
            &cfg,
            &mut conn,
            &mut state,
            &mut batch,
            &available,
            runtime.as_ref(),
            &metrics,
        );
        // Under sustained load the queue never empties: fan out anyway once the backlog is large or old.
        let due = state.backlog() >= FANOUT_CHUNK as i64
            || state
                .unfanned_since
                .is_some_and(|t| t.elapsed() >= FANOUT_MAX_DELAY);
        if (due || shutdown) && state.may_fan_out() {
            wake |= fan_out(&mut conn, &mut state);
        }
        if wake {
            committed.notify_one();
        }
        if wal_restart.swap(false, Ordering::Relaxed) {
            finish_checkpoint(&conn);
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
    let next_id = store::next_notification_id(&conn)?;
    let fanned_out = store::fanned_out_mark(&conn)?;
    let heads = GroupHeads::load(&conn)?;
    // Notifications left without delivery rows by a crash are fanned out as soon as the loop starts.
    let unfanned_since = (next_id - 1 > fanned_out).then(Instant::now);
    Ok((
        conn,
        State {
            seen,
            stored,
            heads,
            next_id,
            fanned_out,
            unfanned_since,
            fanout_retry_at: None,
            relaxed: false,
        },
    ))
}

/// One fan-out transaction of up to [`FANOUT_CHUNK`] notifications. Returns whether delivery rows were added (the
/// worker should look). A failure leaves the mark where it was and pauses fan-out for [`FANOUT_RETRY`]; the accepted
/// notifications stay in the store and are fanned out later (at the latest by the next start).
///
/// Its commit is not fsync'd (`synchronous=NORMAL` for this one transaction): it only derives rows from notifications
/// that are already durable, and moves the mark in the same transaction, so losing it to a power cut only means the
/// next start fans the same notifications out again. It cannot be lost while anything committed after it survives:
/// the WAL is appended in order and the next accept's fsync covers the whole file. That takes one fsync out of every
/// few group commits under sustained load.
fn fan_out(conn: &mut Connection, state: &mut State) -> bool {
    let result = (|| -> rusqlite::Result<store::FanOut> {
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        state.relaxed = true;
        let f = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let f = store::fan_out(&tx, FANOUT_CHUNK, &state.heads)?;
            tx.commit()?;
            Ok(f)
        })();
        if restore_full_sync(conn) {
            state.relaxed = false;
        }
        f
    })();
    match result {
        Ok(f) => {
            state.heads.extend(f.heads);
            state.fanned_out = f.mark;
            state.fanout_retry_at = None;
            state.unfanned_since = (state.backlog() > 0).then(Instant::now);
            if f.notifications == 0 && state.backlog() > 0 {
                // The rows above the mark are gone (cannot happen while only this thread writes): do not spin.
                tracing::error!(
                    mark = f.mark,
                    next_id = state.next_id,
                    "Outbox fan-out found nothing to do below the next id."
                );
                state.fanned_out = state.next_id - 1;
                state.unfanned_since = None;
            }
            f.deliveries > 0
        }
        Err(e) => {
            tracing::error!(error = %e, backlog = state.backlog(), "Outbox fan-out failed; accepted notifications stay stored and are fanned out later.");
            state.fanout_retry_at = Some(Instant::now() + FANOUT_RETRY);
            false
        }
    }
}

/// Checkpoints the frames the background checkpointer has not reached yet (the last few transactions), between two
/// transactions of this writer. Only then can a checkpoint be complete under sustained load: the background one
/// always trails the writer by the commits made while it copied. A complete checkpoint makes SQLite start the WAL
/// over at its beginning on the next write (when no reader holds a snapshot in it), so commits overwrite the same
/// file blocks instead of appending to an ever longer file, whose fsync also has to persist the new size and block
/// allocations. PASSIVE: never waits for readers or for the checkpointer (it answers busy; the next request retries).
fn finish_checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "WAL checkpoint by the writer failed.");
    }
}

/// Puts the connection back to `synchronous=FULL` (every commit fsync'd), checking that it took.
fn restore_full_sync(conn: &Connection) -> bool {
    let set = conn
        .pragma_update(None, "synchronous", "FULL")
        .and_then(|()| conn.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0)));
    match set {
        Ok(2) => true,
        Ok(level) => {
            tracing::error!(
                level,
                "Outbox connection did not go back to synchronous=FULL."
            );
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "Outbox connection could not go back to synchronous=FULL.");
            false
        }
    }
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
    runtime: Option<&tokio::runtime::Handle>,
    metrics: &Metrics,
) -> bool {
    let mut replies = Vec::with_capacity(batch.len());
    let mut undo: Vec<([u8; 32], Option<i64>)> = Vec::new();
    let stored_before = state.stored;
    let next_id_before = state.next_id;
    let mut wake = false;
    // Deliveries this batch finishes: they leave the per-group order once the batch has committed.
    let mut finished = Vec::new();
    let started = Instant::now();
    let result = (|| -> rusqlite::Result<()> {
        if state.relaxed {
            // A fan-out could not restore FULL: nothing a caller waits for may commit without its fsync.
            if !restore_full_sync(conn) {
                return Err(rusqlite::Error::InvalidParameterName(
                    "synchronous=FULL could not be restored".into(),
                ));
            }
            state.relaxed = false;
        }
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
                    let id = state.next_id;
                    let receivers = serde_json::to_string(&req.receivers)
                        .expect("a list of strings serializes");
                    store::insert_notification(
                        &tx,
                        id,
                        req.received_ms,
                        &req.group_key,
                        reminder,
                        &req.body,
                        &receivers,
                    )?;
                    store::remember_key(&tx, &req.content_key, req.received_ms)?;
                    undo.push((
                        req.content_key,
                        state.seen.insert(req.content_key, req.received_ms),
                    ));
                    state.stored += 1;
                    state.next_id += 1;
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
                    if let DeliveryUpdate::Delivered { id, .. } | DeliveryUpdate::Dead { id, .. } =
                        u
                    {
                        finished.push(id);
                    }
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
        let sync = Instant::now();
        tx.commit()?;
        metrics
            .commit_sync_seconds
            .observe(sync.elapsed().as_secs_f64());
        Ok(())
    })();
    metrics
        .commit_seconds
        .observe(started.elapsed().as_secs_f64());
    match result {
        Ok(()) => {
            available.store(true, Ordering::Relaxed);
            for id in finished {
                state.heads.finished(id);
            }
            if state.next_id != next_id_before && state.unfanned_since.is_none() {
                state.unfanned_since = Some(Instant::now());
            }
            // Every answer wakes a request task; from this thread each wake can cost a syscall to unpark a runtime
            // worker. One task on the runtime answers the whole batch instead: one wake here per commit.
            match runtime {
                Some(rt) if replies.len() > 1 => {
                    rt.spawn(async move { send_replies(replies) });
                }
                _ => send_replies(replies),
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
            state.next_id = next_id_before;
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

fn send_replies(replies: Vec<Reply>) {
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

/// Checkpoints the WAL from its own connection every [`CHECKPOINT_INTERVAL`], off the accept path: PASSIVE never
/// blocks the writer. Under sustained load it never completes (new commits arrive while it copies), so once the WAL
/// holds [`WAL_RESTART_FRAMES`] it raises `wal_restart` and the writer checkpoints the few remaining frames itself
/// between two transactions ([`finish_checkpoint`]), after which the WAL starts over instead of growing.
pub fn spawn_checkpointer(
    data_dir: PathBuf,
    wal_restart: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("outbox-checkpoint".into())
        .spawn(move || {
            let mut conn = None;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(CHECKPOINT_INTERVAL);
                if conn.is_none() {
                    conn = store::open_reader(&data_dir).ok();
                }
                if let Some(c) = &conn {
                    // (busy, frames in the WAL, frames checkpointed)
                    match c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                    }) {
                        Ok((0, frames)) if frames >= WAL_RESTART_FRAMES => {
                            wal_restart.store(true, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "WAL checkpoint failed.");
                            conn = None;
                        }
                    }
                }
            }
        })
        .expect("spawn checkpoint thread")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> WriterConfig {
        WriterConfig {
            data_dir: dir.to_owned(),
            queue_capacity: 16,
            dedupe_window: Duration::from_secs(60),
            retention: Duration::from_secs(3600),
            max_notifications: 100,
            max_db_bytes: None,
        }
    }

    /// Commits `batch` as the writer loop does (store available, replies sent from this thread).
    fn commit(cfg: &WriterConfig, conn: &mut Connection, state: &mut State, batch: &mut Vec<Op>) {
        commit_batch(
            cfg,
            conn,
            state,
            batch,
            &AtomicBool::new(true),
            None,
            &Metrics::new(),
        );
    }

    fn synchronous(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn the_fan_out_commits_without_fsync_and_leaves_the_connection_at_full() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, mut state) = open(&config(dir.path())).unwrap();
        assert_eq!(synchronous(&conn), 2);
        store::insert_notification(&conn, state.next_id, 1, "g", false, b"{}", r#"["a","b"]"#)
            .unwrap();
        state.next_id += 1;
        assert!(fan_out(&mut conn, &mut state));
        assert_eq!(state.fanned_out, 1);
        assert!(!state.relaxed);
        // Accepts committed after the fan-out are fsync'd again.
        assert_eq!(synchronous(&conn), 2);
    }

    #[test]
    fn a_committed_outcome_takes_the_delivery_out_of_its_group_order() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let (mut conn, mut state) = open(&cfg).unwrap();
        store::insert_notification(&conn, state.next_id, 1, "g", false, b"{}", r#"["a"]"#).unwrap();
        state.next_id += 1;
        assert!(fan_out(&mut conn, &mut state));
        let hash = store::group_hash("g");
        let delivery = state
            .heads
            .last("a", hash)
            .expect("the new delivery heads its group");
        let (reply, mut rx) = oneshot::channel();
        let mut batch = vec![Op::Update(
            DeliveryUpdate::Delivered {
                id: delivery,
                attempts: 1,
                now_ms: 2,
            },
            reply,
        )];
        commit(&cfg, &mut conn, &mut state, &mut batch);
        assert!(matches!(rx.try_recv(), Ok(Ok(()))));
        assert_eq!(state.heads.last("a", hash), None);
        // The group's next notification has nothing to wait for.
        store::insert_notification(&conn, state.next_id, 3, "g", false, b"{}", r#"["a"]"#).unwrap();
        state.next_id += 1;
        assert!(fan_out(&mut conn, &mut state));
        let after: Option<i64> = conn
            .query_row(
                "SELECT after_id FROM deliveries ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(after, None);
    }

    #[test]
    fn a_connection_left_relaxed_is_restored_before_the_next_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let (mut conn, mut state) = open(&cfg).unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        state.relaxed = true;
        let (reply, mut rx) = oneshot::channel();
        let mut batch = vec![Op::Accept(
            AcceptRequest {
                received_ms: 1,
                group_key: "g".into(),
                content_key: [1; 32],
                body: Bytes::from_static(b"{}"),
                receivers: vec!["a".into()],
            },
            reply,
        )];
        commit(&cfg, &mut conn, &mut state, &mut batch);
        assert!(matches!(rx.try_recv(), Ok(Ok(Accepted::Stored { .. }))));
        assert_eq!(synchronous(&conn), 2);
        assert!(!state.relaxed);
    }
}
