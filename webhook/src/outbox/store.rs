//! The SQLite outbox: schema, connection setup and the statements the writer and the worker run.
//!
//! One database file in WAL mode with `synchronous=FULL`, so a committed accept survives kill -9 and power loss.
//! Only the writer thread writes (no lock contention, group commit); readers use their own connections.
//! Automatic checkpoints are off on the writer: a separate thread checkpoints, so the bulk of the copying and the
//! database file's fsync stay off the accept path (performance.md §4.3). Under sustained load that checkpoint never
//! completes, so once the WAL holds `writer::WAL_RESTART_FRAMES` pages the writer checkpoints the last few
//! transactions itself, between two batches; the WAL then starts over at its beginning instead of growing for as
//! long as the load lasts (an fsync of an overwritten WAL is cheaper than one that also persists a longer file).
//!
//! An accept writes as little as the guarantee needs, because every WAL page a commit dirties is written and
//! fsync'd before the 2xx (issue 8, W1): one `notifications` row (the body as received plus the JSON list of its
//! receivers) and one row appended to `dedupe_log`. The per-receiver `deliveries` rows (a table with two indexes,
//! appended in id order; see [`super::order`]) are created by [`fan_out`] in a later transaction of the same
//! writer, when its queue is idle or the backlog is large; `meta.fanned_out` marks how far that has gone, so a crash
//! between the two loses nothing: the next start fans out the rest before anything is delivered from it.

use std::path::{Path, PathBuf};

use std::collections::HashMap;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::order::{GroupHeads, GroupRef};

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
    context TEXT,
    receivers TEXT
);
CREATE TABLE IF NOT EXISTS deliveries(
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    group_hash INTEGER NOT NULL DEFAULT 0,
    after_id INTEGER,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS deliveries_notification ON deliveries(notification_id);
CREATE TABLE IF NOT EXISTS dedupe_log(
    accepted_ms INTEGER NOT NULL,
    key BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta(
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Adds `notifications.receivers` to a database from before issue 8, whose notifications all have their delivery
/// rows already: the fan-out mark starts at the last of them.
const MIGRATE_RECEIVERS: &str = "
ALTER TABLE notifications ADD COLUMN receivers TEXT;
INSERT OR REPLACE INTO meta(name, value) VALUES ('fanned_out', (SELECT coalesce(max(id), 0) FROM notifications));
";

/// Moves the keys of the former `dedupe(key PRIMARY KEY)` table (before issue 8) into `dedupe_log`. That table was
/// keyed by a SHA-256, so every accept dirtied a random leaf page: at 16 accepts per commit that was 16 extra WAL
/// pages per fsync. The log is append-only (rowid order), so a commit touches one page of it.
const MIGRATE_DEDUPE: &str = "
INSERT INTO dedupe_log(accepted_ms, key) SELECT accepted_ms, key FROM dedupe;
DROP TABLE dedupe;
";

/// Adds `deliveries.after_id` ([`super::order`]) to a database from before it, filling it for the pending rows from
/// the index on (receiver, group hash) that ordered them before, then drops that index: its inserts landed on random
/// pages, the main cost of a fan-out with a large backlog.
const MIGRATE_AFTER_ID: &str = "
ALTER TABLE deliveries ADD COLUMN after_id INTEGER;
CREATE INDEX IF NOT EXISTS deliveries_group ON deliveries(receiver, group_hash, id) WHERE state = 0;
UPDATE deliveries SET after_id = (
    SELECT max(e.id) FROM deliveries e
    WHERE e.receiver = deliveries.receiver AND e.group_hash = deliveries.group_hash
      AND e.group_key = deliveries.group_key AND e.state = 0 AND e.id < deliveries.id)
WHERE state = 0;
DROP INDEX deliveries_group;
";

/// Adds `deliveries.group_hash` to a database from before it and drops the index on the group key text. Only
/// pending rows take part in the ordering, so only they get their hash ([`fill_group_hashes`]).
const MIGRATE_GROUP_HASH: &str = "
ALTER TABLE deliveries ADD COLUMN group_hash INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS deliveries_order;
";

/// The key of a group in the per-group ordering ([`super::order`]): the first 8 bytes of SHA-256 of the group key.
pub fn group_hash(group_key: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(group_key.as_bytes());
    i64::from_be_bytes(d[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
}

fn fill_group_hashes(c: &Connection) -> rusqlite::Result<()> {
    let pending: Vec<(i64, String)> = c
        .prepare("SELECT id, group_key FROM deliveries WHERE state = 0")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut set = c.prepare("UPDATE deliveries SET group_hash = ?2 WHERE id = ?1")?;
    for (id, key) in pending {
        set.execute(params![id, group_hash(&key)])?;
    }
    Ok(())
}

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
        let old_dedupe: bool = c.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'dedupe'",
            [],
            |r| r.get(0),
        )?;
        if old_dedupe {
            c.execute_batch(&format!("BEGIN IMMEDIATE; {MIGRATE_DEDUPE} COMMIT;"))?;
        }
        let has_receivers: bool = c.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('notifications') WHERE name = 'receivers'",
            [],
            |r| r.get(0),
        )?;
        if !has_receivers {
            c.execute_batch(&format!("BEGIN IMMEDIATE; {MIGRATE_RECEIVERS} COMMIT;"))?;
        }
        let has_group_hash: bool = c.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('deliveries') WHERE name = 'group_hash'",
            [],
            |r| r.get(0),
        )?;
        if !has_group_hash {
            // Rolled back on drop if any step fails.
            let tx =
                rusqlite::Transaction::new_unchecked(&c, rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(MIGRATE_GROUP_HASH)?;
            fill_group_hashes(&tx)?;
            tx.commit()?;
        }
        let has_after_id: bool = c.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('deliveries') WHERE name = 'after_id'",
            [],
            |r| r.get(0),
        )?;
        if !has_after_id {
            let tx =
                rusqlite::Transaction::new_unchecked(&c, rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(MIGRATE_AFTER_ID)?;
            tx.commit()?;
        }
        c.execute(
            "INSERT OR IGNORE INTO meta(name, value) VALUES ('fanned_out', 0)",
            [],
        )?;
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

/// Inserts one accepted notification as a single row: the validated body as received and its receivers (a JSON
/// array of names). Its delivery rows are created later by [`fan_out`], off the accept path; `id` is chosen by the
/// writer and always above every id used before (see [`next_notification_id`]).
pub fn insert_notification(
    tx: &Connection,
    id: i64,
    received_ms: i64,
    group_key: &str,
    reminder: bool,
    body: &[u8],
    receivers_json: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO notifications(id, received_ms, group_key, reminder, body, receivers) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, received_ms, group_key, reminder, body, receivers_json])?;
    Ok(())
}

/// The last notification id whose delivery rows exist: every notification above it still needs [`fan_out`].
pub fn fanned_out_mark(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT value FROM meta WHERE name = 'fanned_out'",
        [],
        |r| r.get(0),
    )
}

/// The id for the next notification: above every stored id and above the fan-out mark, so an id freed by pruning
/// the newest notification is never handed out again below the mark (it would never get its deliveries).
pub fn next_notification_id(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT max(coalesce((SELECT max(id) FROM notifications), 0),
                    (SELECT value FROM meta WHERE name = 'fanned_out')) + 1",
        [],
        |r| r.get(0),
    )
}

/// What one [`fan_out`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOut {
    /// The new mark: the last notification handled (unchanged when there was nothing to do).
    pub mark: i64,
    pub notifications: usize,
    pub deliveries: usize,
    /// The last delivery created per (receiver, group hash), for [`GroupHeads::extend`] once the transaction has
    /// committed.
    pub heads: Vec<(GroupRef, i64)>,
}

/// Creates the pending delivery rows (one per receiver) of up to `limit` notifications above the mark, in id order
/// (so per (receiver, group) the delivery order is the arrival order), and advances the mark, in the caller's
/// transaction: either a notification has all its delivery rows and is below the mark, or neither. Each row names
/// the delivery it must wait for (`after_id`): the last one of its receiver and group, from this call or from
/// `heads`. Run by the writer when its queue is idle, and at every start, so a crash between accept and fan-out
/// loses nothing.
pub fn fan_out(tx: &Connection, limit: usize, heads: &GroupHeads) -> rusqlite::Result<FanOut> {
    let mark = fanned_out_mark(tx)?;
    let rows: Vec<(i64, i64, String, Option<String>)> = tx
        .prepare_cached(
            "SELECT id, received_ms, group_key, receivers FROM notifications WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![mark, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(FanOut {
            mark,
            notifications: 0,
            deliveries: 0,
            heads: vec![],
        });
    };
    let mut ins = tx.prepare_cached(
        "INSERT INTO deliveries(notification_id, receiver, group_key, group_hash, after_id, created_ms, next_attempt_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?5, ?6, ?4, ?4, ?4)",
    )?;
    let mut created: HashMap<GroupRef, i64> = HashMap::new();
    let mut deliveries = 0;
    for (id, received_ms, group_key, receivers) in &rows {
        let receivers: Vec<String> = match receivers {
            Some(json) => serde_json::from_str(json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    6,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            None => vec![],
        };
        let hash = group_hash(group_key);
        for r in receivers {
            let key = (r, hash);
            let after = created
                .get(&key)
                .copied()
                .or_else(|| heads.last(&key.0, hash));
            ins.execute(params![id, key.0, group_key, received_ms, hash, after])?;
            created.insert(key, tx.last_insert_rowid());
            deliveries += 1;
        }
    }
    tx.prepare_cached("UPDATE meta SET value = ?1 WHERE name = 'fanned_out'")?
        .execute([last])?;
    Ok(FanOut {
        mark: last,
        notifications: rows.len(),
        deliveries,
        heads: created.into_iter().collect(),
    })
}

/// Appends one acceptance of a content key. A key accepted again (a reminder) gets a second row; [`load_keys`] keeps
/// the latest.
pub fn remember_key(tx: &Connection, key: &[u8], accepted_ms: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO dedupe_log(accepted_ms, key) VALUES (?1, ?2)")?
        .execute(params![accepted_ms, key])?;
    Ok(())
}

/// Dedupe keys accepted at or after `since_ms` with their latest acceptance, to rebuild the in-memory map at start.
pub fn load_keys(c: &Connection, since_ms: i64) -> rusqlite::Result<Vec<([u8; 32], i64)>> {
    let mut st = c.prepare(
        "SELECT key, max(accepted_ms) FROM dedupe_log WHERE accepted_ms >= ?1 GROUP BY key",
    )?;
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

const DUE_DELIVERIES: &str =
    "SELECT d.id, d.notification_id, d.receiver, d.attempts, d.created_ms, n.reminder, n.body, n.context
     FROM deliveries d JOIN notifications n ON n.id = d.notification_id
     WHERE d.state = 0 AND d.next_attempt_ms <= ?1
       AND (d.after_id IS NULL
            OR NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.id = d.after_id AND e.state = 0))
     ORDER BY d.next_attempt_ms, d.id LIMIT ?2";

/// Pending deliveries due at `now_ms`, oldest first, skipping any whose predecessor of the same (receiver, group) is
/// still pending ([`super::order`]): per group, destinations see notifications in the order Alertmanager sent them.
pub fn due_deliveries(
    c: &Connection,
    now_ms: i64,
    limit: usize,
) -> rusqlite::Result<Vec<DueDelivery>> {
    let mut st = c.prepare_cached(DUE_DELIVERIES)?;
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
    // Accepted but not yet fanned out (normally for a few milliseconds): pending too.
    let (n, oldest): (Option<i64>, Option<i64>) = c
        .prepare_cached(
            "SELECT sum(json_array_length(receivers)), min(received_ms) FROM notifications
             WHERE id > (SELECT value FROM meta WHERE name = 'fanned_out')",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    s.pending += n.unwrap_or(0) as u64;
    if let Some(o) = oldest {
        s.oldest_pending_ms = Some(s.oldest_pending_ms.map_or(o, |p| p.min(o)));
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
               AND n.id <= (SELECT value FROM meta WHERE name = 'fanned_out')
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND d.state = 0)
             LIMIT ?2)",
        params![before_ms, limit as i64],
    )?;
    tx.execute(
        "DELETE FROM dedupe_log WHERE accepted_ms < ?1",
        [dedupe_before_ms],
    )?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fan-out as a freshly started writer runs it (the per-group heads loaded from the database).
    fn fan(c: &Connection, limit: usize) -> FanOut {
        fan_out(c, limit, &GroupHeads::load(c).unwrap()).unwrap()
    }

    fn add(c: &Connection, id: i64, received_ms: i64, receivers: &str) {
        insert_notification(c, id, received_ms, "{}:{a=\"b\"}", false, b"{}", receivers).unwrap();
    }

    /// Notifications 1..=3 of one group to receiver `a`, fanned out, the first one delivered.
    fn three_of_one_group_the_first_delivered(c: &Connection) {
        for id in 1..=3 {
            add(c, id, id, r#"["a"]"#);
        }
        fan(c, 10);
        c.execute(
            "UPDATE deliveries SET state = 1 WHERE notification_id = 1",
            [],
        )
        .unwrap();
    }

    fn due_ids(c: &Connection) -> Vec<i64> {
        due_deliveries(c, i64::MAX / 2, 100)
            .unwrap()
            .iter()
            .map(|d| d.notification_id)
            .collect()
    }

    fn after_ids(c: &Connection) -> Vec<(i64, String, Option<i64>)> {
        c.prepare("SELECT notification_id, receiver, after_id FROM deliveries ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn each_delivery_waits_for_the_previous_one_of_its_receiver_and_group() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_writer(dir.path(), None).unwrap();
        for (id, group, receivers) in [
            (1, "g1", r#"["a","b"]"#),
            (2, "g1", r#"["a"]"#),
            (3, "g2", r#"["a"]"#),
            (4, "g1", r#"["a","b"]"#),
        ] {
            insert_notification(&c, id, id, group, false, b"{}", receivers).unwrap();
        }
        // Two fan-outs, as the writer runs them: the second one finds its predecessors in the heads the first left.
        let mut heads = GroupHeads::load(&c).unwrap();
        let f = fan_out(&c, 2, &heads).unwrap();
        heads.extend(f.heads);
        fan_out(&c, 10, &heads).unwrap();
        let ids: Vec<i64> = c
            .prepare("SELECT id FROM deliveries ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let (a1, b1, a2) = (ids[0], ids[1], ids[2]);
        assert_eq!(
            after_ids(&c),
            [
                (1, "a".into(), None),
                (1, "b".into(), None),
                (2, "a".into(), Some(a1)),
                (3, "a".into(), None),
                (4, "a".into(), Some(a2)),
                (4, "b".into(), Some(b1)),
            ]
        );
        // Delivery 1 to `a` waits for a retry far away: 2 and 4 to `a` (same group) wait behind it, 3 (other group)
        // and 1 to `b` do not; 4 to `b` waits for 1 to `b`.
        c.execute(
            "UPDATE deliveries SET next_attempt_ms = ?1 WHERE id = ?2",
            params![i64::MAX, a1],
        )
        .unwrap();
        let due = |c: &Connection| -> Vec<(i64, String)> {
            due_deliveries(c, i64::MAX / 2, 100)
                .unwrap()
                .into_iter()
                .map(|d| (d.notification_id, d.receiver))
                .collect()
        };
        assert_eq!(due(&c), [(1, "b".into()), (3, "a".into())]);
        c.execute("UPDATE deliveries SET state = 1 WHERE id = ?1", [b1])
            .unwrap();
        assert_eq!(due(&c), [(3, "a".into()), (4, "b".into())]);
        // A dead predecessor does not block either.
        c.execute("UPDATE deliveries SET state = 2 WHERE id = ?1", [a1])
            .unwrap();
        assert_eq!(due(&c), [(2, "a".into()), (3, "a".into()), (4, "b".into())]);
    }

    #[test]
    fn a_restarted_writer_finds_the_pending_predecessors_in_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_writer(dir.path(), None).unwrap();
        three_of_one_group_the_first_delivered(&c);
        let heads = GroupHeads::load(&c).unwrap();
        assert_eq!(heads.len(), 1);
        let last = heads.last("a", group_hash("{}:{a=\"b\"}"));
        add(&c, 4, 4, r#"["a"]"#);
        fan_out(&c, 10, &heads).unwrap();
        assert_eq!(after_ids(&c)[3].2, last);
        assert_eq!(due_ids(&c), [2]);
    }

    #[test]
    fn the_order_check_reads_the_predecessor_by_primary_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_writer(dir.path(), None).unwrap();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {DUE_DELIVERIES}"))
            .unwrap()
            .query_map(params![0, 10], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|l| l.starts_with("SEARCH e USING INTEGER PRIMARY KEY (rowid=?)")),
            "{plan:#?}"
        );
    }

    fn delivery_indexes(c: &Connection) -> Vec<String> {
        c.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn an_outbox_ordered_by_the_group_index_gets_predecessors_for_its_pending_deliveries() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = open_writer(dir.path(), None).unwrap();
            for (id, group) in [(1, "g1"), (2, "g1"), (3, "g2"), (4, "g1")] {
                insert_notification(&c, id, id, group, false, b"{}", r#"["a"]"#).unwrap();
            }
            fan(&c, 10);
            c.execute(
                "UPDATE deliveries SET state = 1 WHERE notification_id = 1",
                [],
            )
            .unwrap();
            // Back to the previous schema: no after_id, the partial index on (receiver, group hash).
            c.execute_batch(
                "ALTER TABLE deliveries DROP COLUMN after_id;
                 CREATE INDEX deliveries_group ON deliveries(receiver, group_hash, id) WHERE state = 0;",
            )
            .unwrap();
        }
        let c = open_writer(dir.path(), None).unwrap();
        assert_eq!(
            delivery_indexes(&c),
            ["deliveries_due", "deliveries_notification"]
        );
        let by_notification: Vec<(i64, Option<i64>)> =
            after_ids(&c).into_iter().map(|(n, _, a)| (n, a)).collect();
        let id_of = |n: i64| -> i64 {
            c.query_row(
                "SELECT id FROM deliveries WHERE notification_id = ?1",
                [n],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(
            by_notification,
            [(1, None), (2, None), (3, None), (4, Some(id_of(2)))],
            "pending rows wait for the previous pending one of their group (1 was delivered)"
        );
        assert_eq!(due_ids(&c), [2, 3]);
    }

    #[test]
    fn an_outbox_without_group_hashes_gets_them_for_its_pending_deliveries() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = open_writer(dir.path(), None).unwrap();
            three_of_one_group_the_first_delivered(&c);
            // Back to the schema before both columns: the old index on the key text, no hash, no predecessor.
            c.execute_batch(
                "ALTER TABLE deliveries DROP COLUMN group_hash; ALTER TABLE deliveries DROP COLUMN after_id;
                 CREATE INDEX deliveries_order ON deliveries(receiver, group_key, state, id);",
            )
            .unwrap();
        }
        let c = open_writer(dir.path(), None).unwrap();
        assert_eq!(
            delivery_indexes(&c),
            ["deliveries_due", "deliveries_notification"]
        );
        let hashes: Vec<(i64, i64)> = c
            .prepare("SELECT notification_id, group_hash FROM deliveries ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let h = group_hash("{}:{a=\"b\"}");
        assert_eq!(
            hashes,
            [(1, 0), (2, h), (3, h)],
            "only pending rows take part in the ordering"
        );
        // New deliveries of the group queue behind the migrated ones.
        add(&c, 4, 4, r#"["a"]"#);
        fan(&c, 10);
        assert_eq!(due_ids(&c), [2]);
    }

    #[test]
    fn fan_out_creates_one_pending_delivery_per_receiver_in_id_order_and_moves_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_writer(dir.path(), None).unwrap();
        add(&c, 1, 10, r#"["a","b"]"#);
        add(&c, 2, 20, "[]");
        add(&c, 3, 30, r#"["b"]"#);
        // Before the fan-out the deliveries are counted as pending from the notifications.
        let s = stats(&c).unwrap();
        assert_eq!((s.pending, s.oldest_pending_ms), (3, Some(10)));
        let f = fan(&c, 2);
        assert_eq!(
            f,
            FanOut {
                mark: 2,
                notifications: 2,
                deliveries: 2,
                heads: f.heads.clone()
            }
        );
        let f = fan(&c, 10);
        assert_eq!((f.mark, f.notifications, f.deliveries), (3, 1, 1));
        let f = fan(&c, 10);
        assert_eq!((f.mark, f.notifications, f.deliveries), (3, 0, 0));
        let rows: Vec<(i64, String, i64, i64)> = c
            .prepare("SELECT notification_id, receiver, state, next_attempt_ms FROM deliveries ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, "a".into(), PENDING, 10),
                (1, "b".into(), PENDING, 10),
                (3, "b".into(), PENDING, 30)
            ]
        );
        let s = stats(&c).unwrap();
        assert_eq!((s.pending, s.oldest_pending_ms), (3, Some(10)));
    }

    #[test]
    fn prune_keeps_notifications_not_yet_fanned_out_and_ids_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_writer(dir.path(), None).unwrap();
        add(&c, 1, 10, r#"["a"]"#);
        add(&c, 2, 20, "[]");
        // Old enough to prune, but without delivery rows yet: both must stay.
        assert_eq!(prune(&c, 1_000, 0, 100).unwrap(), 0);
        fan(&c, 10);
        c.execute("UPDATE deliveries SET state = 1", []).unwrap();
        assert_eq!(prune(&c, 1_000, 0, 100).unwrap(), 2);
        assert_eq!(count_notifications(&c).unwrap(), 0);
        // The newest id was pruned: the next one still goes above the mark, so it will be fanned out.
        assert_eq!(next_notification_id(&c).unwrap(), 3);
    }

    #[test]
    fn dedupe_log_keeps_the_latest_acceptance_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_writer(dir.path(), None).unwrap();
        remember_key(&c, &[1; 32], 100).unwrap();
        remember_key(&c, &[2; 32], 50).unwrap();
        remember_key(&c, &[1; 32], 300).unwrap();
        let mut keys = load_keys(&c, 60).unwrap();
        keys.sort();
        assert_eq!(keys, vec![([1; 32], 300)]);
        prune(&c, 0, 200, 10).unwrap();
        assert_eq!(load_keys(&c, 0).unwrap(), vec![([1; 32], 300)]);
    }
}
