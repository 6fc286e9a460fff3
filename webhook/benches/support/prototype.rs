//! The minimal durable receiver of performance.md §4.3, rebuilt as described there, so every run measures the
//! reference the W1 goal was derived from on the same machine at the same time: an axum handler sends the body to a
//! bounded channel (65 536; full → 503), one writer thread owns a rusqlite connection (WAL, `synchronous=FULL`) to a
//! table `outbox(id INTEGER PRIMARY KEY, received_ms INTEGER, body BLOB)`, inserts everything queued (at most 1 024)
//! in one transaction, commits, then answers; the handler returns 200 after its commit. It does not parse, validate,
//! route, dedupe or fan out, and does nothing about checkpoints (SQLite's automatic ones run in the commit path).

use std::sync::mpsc::{sync_channel, SyncSender};

use axum::body::Bytes;
use axum::http::StatusCode;
use tokio::sync::oneshot;

type Job = (Bytes, oneshot::Sender<()>);

fn spawn_writer(path: std::path::PathBuf) -> SyncSender<Job> {
    let (tx, rx) = sync_channel::<Job>(65_536);
    std::thread::Builder::new()
        .name("prototype-writer".into())
        .spawn(move || {
            let mut conn = rusqlite::Connection::open(path).expect("prototype database");
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.pragma_update(None, "synchronous", "FULL").unwrap();
            conn.execute_batch(
                "CREATE TABLE outbox(id INTEGER PRIMARY KEY, received_ms INTEGER, body BLOB)",
            )
            .unwrap();
            let mut batch = Vec::with_capacity(1024);
            while let Ok(job) = rx.recv() {
                batch.push(job);
                while batch.len() < 1024 {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                let tx = conn.transaction().unwrap();
                {
                    let mut insert = tx
                        .prepare_cached("INSERT INTO outbox(received_ms, body) VALUES (?1, ?2)")
                        .unwrap();
                    for (body, _) in &batch {
                        insert
                            .execute(rusqlite::params![now_ms, &body[..]])
                            .unwrap();
                    }
                }
                tx.commit().unwrap();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(());
                }
            }
        })
        .expect("spawn the prototype writer");
    tx
}

/// Serves the prototype on a free port until the task is aborted; returns its URL. The database lives in `dir`.
pub async fn start(dir: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    let writer = spawn_writer(dir.join("outbox.db"));
    let app = axum::Router::new().route(
        "/api/v1/alerts",
        axum::routing::post(move |body: Bytes| {
            let writer = writer.clone();
            async move {
                let (reply, committed) = oneshot::channel();
                if writer.try_send((body, reply)).is_err() {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                match committed.await {
                    Ok(()) => StatusCode::OK,
                    Err(_) => StatusCode::SERVICE_UNAVAILABLE,
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/alerts", l.local_addr().unwrap());
    (
        url,
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() }),
    )
}
