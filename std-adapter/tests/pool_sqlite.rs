//! `GuardedPool` over `deadpool-sqlite` with a real SQLite file: queries
//! succeed through it, a pool timeout is a failure and `Error::Timeout`,
//! timeouts trip the breaker, and a rejected call never touches the pool.
#![cfg(feature = "deadpool")]

use deadpool_sqlite::{rusqlite, Config as SqliteConfig, Manager, PoolConfig, Runtime, Timeouts};
use fusebox_core::{Config, State};
use fusebox_std::pool::{GuardedPool, PoolCallError};
use fusebox_std::{BreakerSpec, Error, StdBreaker, WindowSpec};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Db = GuardedPool<Manager, StdBreaker>;

/// A database file of its own, removed when the test ends.
struct DbFile(PathBuf);

impl DbFile {
    fn new(test: &str) -> DbFile {
        let path = std::env::temp_dir().join(format!(
            "fusebox-pool-sqlite-{}-{test}.db",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        DbFile(path)
    }
}

impl Drop for DbFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn guarded(file: &DbFile, max_size: usize, failures: u32) -> Db {
    let mut cfg = SqliteConfig::new(&file.0);
    cfg.pool = Some(PoolConfig {
        max_size,
        timeouts: Timeouts {
            wait: Some(Duration::from_millis(100)),
            create: Some(Duration::from_secs(2)),
            recycle: Some(Duration::from_secs(2)),
        },
        ..PoolConfig::default()
    });
    let pool = cfg.create_pool(Runtime::Tokio1).unwrap();
    let config = Config::builder()
        .consecutive_failures(failures)
        .open_for(Duration::from_secs(60))
        .build()
        .unwrap();
    let spec = BreakerSpec {
        config,
        window: WindowSpec::None,
    };
    GuardedPool::new(pool, Arc::new(StdBreaker::new("orders-db", spec).unwrap()))
}

/// Runs `query` on the pooled connection's blocking thread; a panic there
/// (deadpool's `InteractError`) fails the test.
async fn sql<T: Send + 'static>(
    conn: &mut deadpool_sqlite::Object,
    query: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
) -> rusqlite::Result<T> {
    conn.interact(query).await.expect("query panicked")
}

/// Holds the pool's only connection for `hold`, in a task.
fn hold_the_connection(db: &Db, hold: Duration) -> tokio::task::JoinHandle<()> {
    let holder = db.clone();
    tokio::spawn(async move {
        holder
            .run(async |_c| {
                tokio::time::sleep(hold).await;
                Ok::<_, rusqlite::Error>(())
            })
            .await
            .unwrap();
    })
}

#[tokio::test]
async fn queries_on_a_real_sqlite_file_succeed_through_the_breaker() {
    let file = DbFile::new("queries");
    let db = guarded(&file, 2, 5);
    db.run(async |c| {
        sql(c, |c| {
            c.execute_batch(
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL);
                 INSERT INTO orders (item) VALUES ('tea'), ('coffee');",
            )
        })
        .await
    })
    .await
    .unwrap();
    let items: Vec<String> = db
        .run(async |c| {
            sql(c, |c| {
                let mut stmt = c.prepare("SELECT item FROM orders ORDER BY id")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect()
            })
            .await
        })
        .await
        .unwrap();
    assert_eq!(items, ["tea", "coffee"]);
    assert!(file.0.exists(), "a file on disk, not an in-memory database");

    // A query error is an operation failure, counted by the breaker.
    let bad = db
        .run(async |c| sql(c, |c| c.execute("INSERT INTO missing VALUES (1)", [])).await)
        .await;
    assert!(matches!(
        bad,
        Err(Error::Inner(PoolCallError::Operation(
            rusqlite::Error::SqliteFailure(..)
        )))
    ));
    let t = db.breaker().observer().totals().snapshot();
    assert_eq!((t.success, t.failure), (2, 1));
}

#[tokio::test]
async fn a_pool_timeout_is_a_failure_and_enough_of_them_trip_the_breaker() {
    let file = DbFile::new("timeout");
    let db = guarded(&file, 1, 2);
    let holder = hold_the_connection(&db, Duration::from_millis(600));
    tokio::time::sleep(Duration::from_millis(50)).await;

    let ran = AtomicU32::new(0);
    for _ in 0..2 {
        let started = Instant::now();
        let r = db
            .run(async |c| {
                ran.fetch_add(1, Ordering::Relaxed);
                sql(c, |c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))).await
            })
            .await;
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
        // It waited the pool's 100 ms for a connection.
        assert!(started.elapsed() >= Duration::from_millis(90));
    }
    assert_eq!(ran.load(Ordering::Relaxed), 0);
    assert_eq!(db.breaker().state(), State::Open);
    assert_eq!(db.breaker().observer().totals().snapshot().failure, 2);
    holder.await.unwrap();
}

#[tokio::test]
async fn a_rejected_call_never_touches_the_pool() {
    let file = DbFile::new("rejected");
    let db = guarded(&file, 1, 1);
    let holder = hold_the_connection(&db, Duration::from_millis(400));
    tokio::time::sleep(Duration::from_millis(50)).await;
    db.breaker().force_open();

    let ran = AtomicU32::new(0);
    let started = Instant::now();
    let r = db
        .run(async |c| {
            ran.fetch_add(1, Ordering::Relaxed);
            sql(c, |c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))).await
        })
        .await;
    assert!(
        matches!(
            r,
            Err(Error::Rejected {
                state: State::ForcedOpen,
                ..
            })
        ),
        "{r:?}"
    );
    // No checkout: it did not wait for the held connection, nor queue for it.
    assert!(started.elapsed() < Duration::from_millis(90));
    assert_eq!(ran.load(Ordering::Relaxed), 0);
    let status = db.pool().status();
    assert_eq!((status.size, status.waiting), (1, 0));
    holder.await.unwrap();
    // The holder's success after the force is not this call's: one
    // rejection, and the pool still has the one connection it made.
    assert_eq!(db.breaker().observer().totals().snapshot().rejected, 1);
    assert_eq!(db.pool().status().size, 1);
}
