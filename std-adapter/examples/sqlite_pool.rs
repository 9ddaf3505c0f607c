//! A SQL connection pool behind a breaker: `deadpool-sqlite` (SQLite
//! bundled, a file in the temporary directory) through `pool::GuardedPool`.
//!
//! ```text
//! cargo run -p fusebox-std --features deadpool --example sqlite_pool
//! ```
//!
//! The same shape serves `deadpool-postgres`: only the pool and the
//! operation change. rusqlite is blocking, so each operation runs on the
//! pool's blocking thread through `interact`; the breaker sees the whole
//! checkout plus query as one call.

use deadpool_sqlite::rusqlite;
use deadpool_sqlite::{Config as SqliteConfig, Object, PoolConfig, Runtime, Timeouts};
use fusebox_core::{Config, State};
use fusebox_std::pool::GuardedPool;
use fusebox_std::{BreakerSpec, Error, StdBreaker, WindowSpec};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a query on a pooled connection failed.
#[derive(Debug)]
enum SqlError {
    /// SQLite's own error.
    Query(rusqlite::Error),
    /// The query panicked on the pool's thread (deadpool's `InteractError`).
    Panicked(String),
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlError::Query(e) => write!(f, "query failed: {e}"),
            SqlError::Panicked(e) => write!(f, "query panicked: {e}"),
        }
    }
}

impl std::error::Error for SqlError {}

/// Runs `query` on the pooled connection's blocking thread.
async fn sql<T: Send + 'static>(
    conn: &mut Object,
    query: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, SqlError> {
    match conn.interact(query).await {
        Ok(result) => result.map_err(SqlError::Query),
        Err(e) => Err(SqlError::Panicked(e.to_string())),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("fusebox-example-{}.db", std::process::id()));
    let mut sqlite = SqliteConfig::new(&path);
    sqlite.pool = Some(PoolConfig {
        max_size: 4,
        // Without a wait timeout a checkout on an exhausted pool waits forever,
        // and the breaker never hears of it.
        timeouts: Timeouts {
            wait: Some(Duration::from_millis(500)),
            create: Some(Duration::from_secs(2)),
            recycle: Some(Duration::from_secs(2)),
        },
        ..PoolConfig::default()
    });
    let pool = sqlite.create_pool(Runtime::Tokio1)?;
    let config = Config::builder()
        .consecutive_failures(5)
        .open_for(Duration::from_secs(10))
        .build()?;
    let breaker = Arc::new(StdBreaker::new(
        "orders-db",
        BreakerSpec {
            config,
            window: WindowSpec::None,
        },
    )?);
    let db = GuardedPool::new(pool, breaker);

    db.run(async |c| {
        sql(c, |c| {
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL);
                 INSERT INTO orders (item) VALUES ('tea'), ('coffee');",
            )
        })
        .await
    })
    .await?;
    let count: i64 = db
        .run(async |c| {
            sql(c, |c| {
                c.query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
            })
            .await
        })
        .await?;
    println!("{count} orders");

    // A query error is a failure of the dependency (a classifier is the
    // place to say otherwise).
    let bad = db
        .run(async |c| sql(c, |c| c.execute("SELECT * FROM no_such_table", [])).await)
        .await;
    println!("bad query: {}", bad.unwrap_err().into_inner().unwrap());

    // An open breaker answers at once and never touches the pool.
    db.breaker().force_open();
    match db
        .run(async |c| sql(c, |c| c.execute("DELETE FROM orders", [])).await)
        .await
    {
        Err(Error::Rejected { state, .. }) => {
            assert_eq!(state, State::ForcedOpen);
            println!(
                "rejected while {state:?}; pool status {:?}",
                db.pool().status()
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    db.breaker().reset();
    let totals = db.breaker().observer().totals().snapshot();
    println!(
        "totals: {} succeeded, {} failed, {} rejected",
        totals.success, totals.failure, totals.rejected
    );
    drop(db);
    let _ = std::fs::remove_file(&path);
    Ok(())
}
