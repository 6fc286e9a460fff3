//! The SQLite outbox: schema, connection setup and the statements the writer and the worker run.
//!
//! One database file in WAL mode with `synchronous=FULL`, so a committed accept survives kill -9 and power loss.
//! Only the writer thread writes (no lock contention, group commit); readers use their own connections.
//! Automatic checkpoints are off on the writer: a separate thread checkpoints, so WAL checkpoints never stall an
//! accept (performance.md §4.3).

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

/// Delivery states as stored.
pub const PENDING: i64 = 0;
pub const DELIVERED: i64 = 1;
pub const DEAD: i64 = 2;

/// Storage failures. The accept path maps all of them to 503 so Alertmanager retries.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("outbox database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("outbox database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(
        "outbox is full ({0} notifications stored; raise outbox.max_notifications or fix delivery)"
    )]
    Full(u64),
    #[error("outbox is unavailable")]
    Unavailable,
    #[error("outbox commit failed: {0}")]
    Commit(String),
    #[error("outbox queue is full")]
    QueueFull,
    #[error("service is shutting down")]
    ShuttingDown,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notifications(
    id INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    reminder INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL,
    context TEXT
);
CREATE TABLE IF NOT EXISTS deliveries(
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries(receiver, group_key, state, id);
CREATE INDEX IF NOT EXISTS deliveries_notification ON deliveries(notification_id);
CREATE TABLE IF NOT EXISTS dedupe(
    key BLOB PRIMARY KEY,
    accepted_ms INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Path of the database inside the data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("outbox.db")
}

/// Opens (creating if needed) the database for writing. `max_db_bytes` caps the file via `max_page_count`,
/// which makes SQLite answer SQLITE_FULL like a full disk would.
pub fn open_writer(data_dir: &Path, max_db_bytes: Option<u64>) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
        path: data_dir.to_owned(),
        source,
    })?;
    let path = db_path(data_dir);
    let open = |path: &Path| -> rusqlite::Result<Connection> {
        let c = Connection::open(path)?;
        c.busy_timeout(std::time::Duration::from_secs(5))?;
        let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, expected wal"
            )));
        }
        // FULL: every commit fsyncs the WAL, so a 2xx means "survives power loss" (performance.md §4.2).
        c.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0;",
        )?;
        c.execute_batch(SCHEMA)?;
        if let Some(max) = max_db_bytes {
            let page: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (max as i64 / page).max(16);
            c.query_row(&format!("PRAGMA max_page_count={pages}"), [], |_| Ok(()))?;
        }
        Ok(c)
    };
    open(&path).map_err(|source| StoreError::Open { path, source })
}

/// Opens a reader connection (the worker and the status queries).
pub fn open_reader(data_dir: &Path) -> Result<Connection, StoreError> {
    let path = db_path(data_dir);
    let c = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open {
        path: path.clone(),
        source,
    })?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(c)
}

/// Inserts one accepted notification and its pending deliveries; returns the notification id.
pub fn insert_notification(
    tx: &Connection,
    received_ms: i64,
    group_key: &str,
    reminder: bool,
    body: &[u8],
    receivers: &[String],
) -> rusqlite::Result<i64> {
    let mut st = tx.prepare_cached(
        "INSERT INTO notifications(received_ms, group_key, reminder, body) VALUES (?1, ?2, ?3, ?4)",
    )?;
    st.execute(params![received_ms, group_key, reminder, body])?;
    let id = tx.last_insert_rowid();
    let mut st = tx.prepare_cached(
        "INSERT INTO deliveries(notification_id, receiver, group_key, created_ms, next_attempt_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?4, ?4)",
    )?;
    for r in receivers {
        st.execute(params![id, r, group_key, received_ms])?;
    }
    Ok(id)
}

pub fn remember_key(tx: &Connection, key: &[u8], accepted_ms: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO dedupe(key, accepted_ms) VALUES (?1, ?2)")?
        .execute(params![key, accepted_ms])?;
    Ok(())
}

/// Dedupe keys accepted at or after `since_ms`, to rebuild the in-memory map at start.
pub fn load_keys(c: &Connection, since_ms: i64) -> rusqlite::Result<Vec<([u8; 32], i64)>> {
    let mut st = c.prepare("SELECT key, accepted_ms FROM dedupe WHERE accepted_ms >= ?1")?;
    let rows = st.query_map([since_ms], |r| {
        let k: Vec<u8> = r.get(0)?;
        Ok((k, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (k, t) = row?;
        if let Ok(k) = <[u8; 32]>::try_from(k.as_slice()) {
            out.push((k, t));
        }
    }
    Ok(out)
}

pub fn count_notifications(c: &Connection) -> rusqlite::Result<u64> {
    c.query_row("SELECT count(*) FROM notifications", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
}

/// A delivery ready to be attempted, with what is needed to render it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub notification_id: i64,
    pub receiver: String,
    pub attempts: u32,
    pub created_ms: i64,
    pub reminder: bool,
    pub body: Vec<u8>,
    pub context: Option<String>,
}

/// Pending deliveries due at `now_ms`, oldest first, skipping any that has an earlier pending delivery for the same
/// (receiver, group): per group, destinations see notifications in the order Alertmanager sent them.
pub fn due_deliveries(
    c: &Connection,
    now_ms: i64,
    limit: usize,
) -> rusqlite::Result<Vec<DueDelivery>> {
    let mut st = c.prepare_cached(
        "SELECT d.id, d.notification_id, d.receiver, d.attempts, d.created_ms, n.reminder, n.body, n.context
         FROM deliveries d JOIN notifications n ON n.id = d.notification_id
         WHERE d.state = 0 AND d.next_attempt_ms <= ?1
           AND NOT EXISTS (SELECT 1 FROM deliveries e
                           WHERE e.receiver = d.receiver AND e.group_key = d.group_key AND e.state = 0 AND e.id < d.id)
         ORDER BY d.next_attempt_ms, d.id LIMIT ?2",
    )?;
    let rows = st.query_map(params![now_ms, limit as i64], |r| {
        Ok(DueDelivery {
            id: r.get(0)?,
            notification_id: r.get(1)?,
            receiver: r.get(2)?,
            attempts: r.get::<_, i64>(3)? as u32,
            created_ms: r.get(4)?,
            reminder: r.get(5)?,
            body: r.get(6)?,
            context: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Earliest `next_attempt_ms` among pending deliveries, to sleep until then.
pub fn next_due_ms(c: &Connection) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT min(next_attempt_ms) FROM deliveries WHERE state = 0",
        [],
        |r| r.get(0),
    )
    .optional()
    .map(Option::flatten)
}

/// Outbox figures for /metrics and the status endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: u64,
    pub dead: u64,
    pub delivered: u64,
    pub oldest_pending_ms: Option<i64>,
}

pub fn stats(c: &Connection) -> rusqlite::Result<OutboxStats> {
    let mut s = OutboxStats::default();
    let mut st =
        c.prepare_cached("SELECT state, count(*), min(created_ms) FROM deliveries GROUP BY state")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let state: i64 = r.get(0)?;
        let n = r.get::<_, i64>(1)? as u64;
        match state {
            PENDING => {
                s.pending = n;
                s.oldest_pending_ms = r.get(2)?;
            }
            DELIVERED => s.delivered = n,
            DEAD => s.dead = n,
            _ => {}
        }
    }
    Ok(s)
}

/// A dead delivery, for the status endpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadDelivery {
    pub id: i64,
    pub notification_id: i64,
    pub receiver: String,
    pub group_key: String,
    pub attempts: i64,
    pub created_ms: i64,
    pub last_error: Option<String>,
}

pub fn dead_deliveries(c: &Connection, limit: usize) -> rusqlite::Result<Vec<DeadDelivery>> {
    let mut st = c.prepare_cached(
        "SELECT id, notification_id, receiver, group_key, attempts, created_ms, last_error
         FROM deliveries WHERE state = 2 ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = st.query_map([limit as i64], |r| {
        Ok(DeadDelivery {
            id: r.get(0)?,
            notification_id: r.get(1)?,
            receiver: r.get(2)?,
            group_key: r.get(3)?,
            attempts: r.get(4)?,
            created_ms: r.get(5)?,
            last_error: r.get(6)?,
        })
    })?;
    rows.collect()
}

/// Deletes finished notifications (no pending delivery) older than `before_ms`, at most `limit` per call so a prune
/// never holds the write lock long. Returns how many notifications were removed.
pub fn prune(
    tx: &Connection,
    before_ms: i64,
    dedupe_before_ms: i64,
    limit: usize,
) -> rusqlite::Result<u64> {
    let n = tx.execute(
        "DELETE FROM notifications WHERE id IN (
             SELECT n.id FROM notifications n WHERE n.received_ms < ?1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND d.state = 0)
             LIMIT ?2)",
        params![before_ms, limit as i64],
    )?;
    tx.execute(
        "DELETE FROM dedupe WHERE accepted_ms < ?1",
        [dedupe_before_ms],
    )?;
    Ok(n as u64)
}
