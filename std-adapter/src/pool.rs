//! A connection pool behind a breaker (feature `deadpool`): any
//! `deadpool` managed pool (`deadpool-redis`, `deadpool-postgres`,
//! `deadpool-lapin`, ...).
//!
//! [`GuardedPool::run`] asks the breaker first: a rejected call never
//! touches the pool (no checkout, no connection attempt). A permitted call
//! checks out a connection and runs the operation on it; a pool timeout
//! ([`Error::Timeout`]), a pool error (the connection could not be made or
//! recycled) and an error of the operation are failures, and a success is
//! a success.
//!
//! Give the pool a wait timeout (`deadpool`'s `Timeouts::wait`): without
//! one, a checkout from an exhausted pool waits for ever and the breaker
//! never hears of it. `examples/sqlite_pool.rs` runs a SQL pool
//! (`deadpool-sqlite`) this way:
//! `cargo run -p fusebox-std --features deadpool --example sqlite_pool`.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use fusebox_std::pool::GuardedPool;
//! use fusebox_std::{BreakerSpec, StdBreaker, WindowSpec};
//! use fusebox_core::Config;
//! use deadpool_redis::redis::AsyncCommands;
//!
//! let pool = deadpool_redis::Config::from_url("redis://127.0.0.1/")
//!     .create_pool(Some(deadpool_redis::Runtime::Tokio1))
//!     .unwrap();
//! let config = Config::builder().consecutive_failures(5).build().unwrap();
//! let breaker = Arc::new(StdBreaker::new("cache", BreakerSpec { config, window: WindowSpec::None }).unwrap());
//! let cache = GuardedPool::new(pool, breaker);
//! let hits: Result<u64, _> = cache.run(async |conn| conn.incr("hits", 1).await).await;
//! # }
//! ```

use crate::breaker::{CircuitBreaker, RecordPermit};
use crate::Error;
use deadpool::managed::{Manager, Object, Pool, PoolError};
use fusebox_core::Outcome;
use std::fmt;
use std::sync::Arc;

/// What went wrong in a permitted [`GuardedPool::run`].
#[derive(Debug)]
pub enum PoolCallError<PE, E> {
    /// The pool could not hand out a connection (other than a timeout,
    /// which is [`Error::Timeout`]): it could not be made, or recycled, or
    /// the pool is closed.
    Pool(PoolError<PE>),
    /// The operation failed.
    Operation(E),
}

impl<PE: fmt::Display, E: fmt::Display> fmt::Display for PoolCallError<PE, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolCallError::Pool(e) => write!(f, "connection pool: {e}"),
            PoolCallError::Operation(e) => e.fmt(f),
        }
    }
}

impl<PE, E> std::error::Error for PoolCallError<PE, E>
where
    PE: fmt::Debug + fmt::Display + 'static,
    E: std::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolCallError::Pool(_) => None,
            PoolCallError::Operation(e) => Some(e),
        }
    }
}

/// A `deadpool` pool behind a breaker. See the [module docs](self).
pub struct GuardedPool<M: Manager, B, W: From<Object<M>> = Object<M>> {
    pool: Pool<M, W>,
    breaker: Arc<B>,
}

impl<M: Manager, B, W: From<Object<M>>> Clone for GuardedPool<M, B, W> {
    fn clone(&self) -> Self {
        GuardedPool {
            pool: self.pool.clone(),
            breaker: Arc::clone(&self.breaker),
        }
    }
}

impl<M: Manager, B, W: From<Object<M>>> fmt::Debug for GuardedPool<M, B, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedPool")
            .field("status", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl<M: Manager, B: CircuitBreaker, W: From<Object<M>>> GuardedPool<M, B, W> {
    /// `pool` behind `breaker`.
    pub fn new(pool: Pool<M, W>, breaker: Arc<B>) -> Self {
        GuardedPool { pool, breaker }
    }

    /// The pool (its status, its size).
    pub fn pool(&self) -> &Pool<M, W> {
        &self.pool
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<B> {
        &self.breaker
    }

    /// Runs `op` on a pooled connection if the breaker permits. See the
    /// [module docs](self) for what counts as a failure.
    pub async fn run<T, E>(
        &self,
        op: impl AsyncFnOnce(&mut W) -> Result<T, E>,
    ) -> Result<T, Error<PoolCallError<M::Error, E>>> {
        let permit = self.breaker.acquire()?;
        let mut conn = match self.pool.get().await {
            Ok(conn) => conn,
            Err(e) => {
                let _ = permit.record(Outcome::Failure);
                return Err(match e {
                    PoolError::Timeout(_) => Error::Timeout,
                    e => Error::Inner(PoolCallError::Pool(e)),
                });
            }
        };
        // A future dropped here (a cancelled request) abandons the permit.
        let result = op(&mut conn).await;
        let _ = permit.record(match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        });
        result.map_err(|e| Error::Inner(PoolCallError::Operation(e)))
    }
}
