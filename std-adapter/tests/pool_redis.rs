//! `GuardedPool` over `deadpool-redis` against a real `redis-server` on
//! 127.0.0.1: commands succeed through it, a pool timeout is a failure and
//! `Error::Timeout`, a dead server trips the breaker, and a rejected call
//! never touches the pool.
#![cfg(feature = "deadpool")]

mod support;

use deadpool_redis::redis::AsyncCommands;
use deadpool_redis::{PoolConfig, Runtime, Timeouts};
use fusebox_core::{Config, State};
use fusebox_std::pool::{GuardedPool, PoolCallError};
use fusebox_std::{BreakerSpec, Error, StdBreaker, WindowSpec};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::redis_server::RedisServer;

type Redis = GuardedPool<deadpool_redis::Manager, StdBreaker, deadpool_redis::Connection>;

fn guarded(url: &str, max_size: usize, failures: u32) -> Redis {
    let mut cfg = deadpool_redis::Config::from_url(url);
    cfg.pool = Some(PoolConfig {
        max_size,
        timeouts: Timeouts {
            wait: Some(Duration::from_millis(100)),
            create: Some(Duration::from_millis(500)),
            recycle: Some(Duration::from_millis(500)),
        },
        ..PoolConfig::default()
    });
    let pool = cfg.create_pool(Some(Runtime::Tokio1)).unwrap();
    let config = Config::builder()
        .consecutive_failures(failures)
        .open_for(Duration::from_secs(60))
        .build()
        .unwrap();
    let spec = BreakerSpec {
        config,
        window: WindowSpec::None,
    };
    GuardedPool::new(pool, Arc::new(StdBreaker::new("cache", spec).unwrap()))
}

#[tokio::test]
async fn commands_run_through_the_breaker_and_a_pool_timeout_is_a_failure() {
    let Some(server) = RedisServer::start("pool_redis::timeout") else {
        return;
    };
    let cache = guarded(&server.url(), 1, 5);
    let n: u64 = cache.run(async |c| c.incr("hits", 1).await).await.unwrap();
    assert_eq!(n, 1);
    let n: u64 = cache.run(async |c| c.incr("hits", 1).await).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(cache.breaker().snapshot().consecutive_failures, 0);

    // One connection, held by a slow operation: the next checkout waits
    // 100 ms for it and gives up.
    let holder = cache.clone();
    let slow = tokio::spawn(async move {
        holder
            .run(async |c| {
                tokio::time::sleep(Duration::from_millis(400)).await;
                c.get::<_, u64>("hits").await
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = cache
        .run(async |c| c.get::<_, u64>("hits").await)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    assert_eq!(cache.breaker().snapshot().consecutive_failures, 1);
    assert_eq!(slow.await.unwrap().unwrap(), 2);
    assert_eq!(cache.breaker().snapshot().consecutive_failures, 0);
}

#[tokio::test]
async fn a_dead_server_trips_the_breaker_and_rejections_never_touch_the_pool() {
    let Some(mut server) = RedisServer::start("pool_redis::dead") else {
        return;
    };
    let cache = guarded(&server.url(), 4, 3);
    let _: () = cache.run(async |c| c.set("k", 1).await).await.unwrap();
    server.kill();

    let ran = AtomicU32::new(0);
    for _ in 0..3 {
        let e = cache
            .run(async |c| {
                ran.fetch_add(1, Ordering::SeqCst);
                c.get::<_, u64>("k").await
            })
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Inner(PoolCallError::Operation(_) | PoolCallError::Pool(_)) | Error::Timeout
            ),
            "{e:?}"
        );
    }
    assert_eq!(cache.breaker().state(), State::Open);

    let before = cache.pool().status();
    let ran_before = ran.load(Ordering::SeqCst);
    for _ in 0..10 {
        let e = cache
            .run(async |c| {
                ran.fetch_add(1, Ordering::SeqCst);
                c.get::<_, u64>("k").await
            })
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Rejected {
                    state: State::Open,
                    ..
                }
            ),
            "{e:?}"
        );
    }
    let after = cache.pool().status();
    assert_eq!(ran.load(Ordering::SeqCst), ran_before, "no operation ran");
    assert_eq!(
        (after.size, after.available, after.waiting),
        (before.size, before.available, before.waiting)
    );
}
