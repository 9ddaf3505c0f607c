//! The fleet's connections to Redis: every command bounded by a timeout,
//! every failure followed by a reconnection after a backoff. Nothing here
//! runs on a caller's task.

use super::FleetConfig;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use std::future::Future;
use std::time::Duration;
use tokio::time::{sleep_until, timeout, Instant};

/// Records the sender's entry in the breaker's state hash, stamped with
/// the server's clock, and publishes a message (KEYS[1]: the hash; ARGV:
/// field, channel, message or empty for none, entry without stamp or empty
/// for none, key lifetime in ms).
pub(crate) const PUBLISH: &str = "\
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4] .. ' ' .. ms)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
if ARGV[3] ~= '' then
  return redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return 0";

/// A breaker's state hash and the server's clock in one reply, so that
/// entries' ages are measured on that clock.
pub(crate) const READ_STATE: &str = "\
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {ms, redis.call('HGETALL', KEYS[1])}";

/// Exponential backoff from `min` to `max`, with a deterministic jitter
/// of up to half a step drawn from the instance's name (instances that
/// lost Redis together do not all come back at the same instant).
pub(crate) fn backoff(min: Duration, max: Duration, failures: u32, seed: u64) -> Duration {
    let step = min
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(max);
    let mix = seed
        .wrapping_add(failures as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let share = (mix >> 40) as f64 / (1u64 << 24) as f64;
    step.mul_f64(1.0 - share * 0.5)
}

/// A stable hash of a name (FNV-1a), for the backoff's jitter.
pub(crate) fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One command connection, replaced after any failure.
pub(crate) struct Link {
    client: Client,
    conn: Option<MultiplexedConnection>,
    failures: u32,
    next_try: Instant,
    timeout: Duration,
    backoff: (Duration, Duration),
    seed: u64,
}

impl Link {
    pub(crate) fn new(client: Client, config: &FleetConfig) -> Link {
        Link {
            client,
            conn: None,
            failures: 0,
            next_try: Instant::now(),
            timeout: config.command_timeout,
            backoff: (config.backoff_min, config.backoff_max),
            seed: seed_of(&config.instance),
        }
    }

    /// Runs `cmd` on the connection (connecting first, after waiting out
    /// the backoff if the last try failed); `None` on any failure or
    /// timeout, after which the connection is dropped.
    pub(crate) async fn run<T, F, Fut>(&mut self, cmd: F) -> Option<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.conn.is_none() {
            sleep_until(self.next_try).await;
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout));
            let connect = self
                .client
                .get_multiplexed_async_connection_with_config(&config);
            match timeout(self.timeout * 2, connect).await {
                Ok(Ok(c)) => self.conn = Some(c),
                _ => {
                    self.failed();
                    return None;
                }
            }
        }
        let conn = self.conn.clone()?;
        match timeout(self.timeout, cmd(conn)).await {
            Ok(Ok(v)) => {
                self.failures = 0;
                Some(v)
            }
            _ => {
                self.failed();
                None
            }
        }
    }

    fn failed(&mut self) {
        self.conn = None;
        self.failures = self.failures.saturating_add(1);
        self.next_try =
            Instant::now() + backoff(self.backoff.0, self.backoff.1, self.failures, self.seed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_maximum_and_jitters_by_at_most_half() {
        let (min, max) = (Duration::from_millis(50), Duration::from_secs(2));
        for seed in [0, 1, seed_of("web-1"), u64::MAX] {
            let d: Vec<Duration> = (1..12).map(|f| backoff(min, max, f, seed)).collect();
            for (i, d) in d.iter().enumerate() {
                let step = (min * (1 << i)).min(max);
                assert!(*d <= step && *d >= step / 2, "{i}: {d:?} vs {step:?}");
            }
        }
        assert_ne!(
            backoff(min, max, 3, seed_of("web-1")),
            backoff(min, max, 3, seed_of("web-2"))
        );
    }
}
