//! The fusebox breakers the benches time, one per window kind, on the real
//! [`InstantClock`], configured to match the peers (see [`crate::peers`]).
//!
//! | id | type | rules |
//! |---|---|---|
//! | `fusebox_consecutive` | `Breaker<InstantClock, NoWindow>` | 5 consecutive failures |
//! | `fusebox_count100` | `Breaker<InstantClock, CountWindow<100>>` | failure rate >= 50 % over the last 100, at least 10 calls |
//! | `fusebox_count100_slow` | same | as above, plus slow-call rate >= 50 % (slow = 5 s or more): reads the clock at acquire and record |
//! | `fusebox_time10x16` | `Breaker<InstantClock, TimeWindow<10, 16>>` | failure rate >= 50 % over 10 s in 10 buckets, 16 stripes, at least 10 calls |
//!
//! All open for 30 s with constant backoff, one half-open probe.

use std::time::Duration;

use fusebox_core::{Breaker, Clock, Config, CountWindow, NoWindow, Ratio, State, TimeWindow};

use crate::clock::InstantClock;
use crate::peers::{OPEN_FOR, WINDOW_SPAN};
use crate::subject::Subject;
use crate::workload::dependency;

/// Consecutive failures only: a success on a zero run writes nothing.
pub type Consecutive = Breaker<InstantClock, NoWindow>;
/// The last 100 outcomes, exact.
pub type Count100 = Breaker<InstantClock, CountWindow<100>>;
/// 10 buckets over [`WINDOW_SPAN`], 16 cache-padded stripes.
pub type Time10x16 = Breaker<InstantClock, TimeWindow<10, 16>>;

/// 5 consecutive failures, open for `open_for`.
pub fn consecutive_config(open_for: Duration) -> Config {
    Config::builder()
        .consecutive_failures(5)
        .open_for(open_for)
        .build()
        .expect("consecutive config")
}

/// Failure rate 50 % with at least 10 calls, open for `open_for`; with
/// `slow`, also a slow-call rate of 50 % (slow = 5 s). `span` is set for time
/// windows.
pub fn rate_config(open_for: Duration, slow: bool, span: Option<Duration>) -> Config {
    let mut builder = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(10)
        .open_for(open_for);
    if slow {
        builder = builder
            .slow_call_rate(Ratio::percent(50))
            .slow_call_duration(Duration::from_secs(5));
    }
    if let Some(span) = span {
        builder = builder.window_span(span);
    }
    builder.build().expect("rate config")
}

/// `fusebox_consecutive`.
pub fn consecutive() -> Consecutive {
    Breaker::new(InstantClock::new(), consecutive_config(OPEN_FOR))
}

/// `fusebox_count100`, or `fusebox_count100_slow` with `slow`.
pub fn count100(slow: bool) -> Count100 {
    Breaker::new(InstantClock::new(), rate_config(OPEN_FOR, slow, None))
}

/// `fusebox_time10x16`.
pub fn time10x16() -> Time10x16 {
    Breaker::new(
        InstantClock::new(),
        rate_config(OPEN_FOR, false, Some(WINDOW_SPAN)),
    )
}

/// One protected call: acquire, call, record. `true` when permitted.
#[inline(always)]
pub fn call<C: Clock, W: fusebox_core::Window, O: fusebox_core::Observer>(
    breaker: &Breaker<C, W, O>,
    i: u64,
    fail: bool,
) -> bool {
    match breaker.try_acquire() {
        Ok(permit) => {
            let _ = match dependency(i, fail) {
                Ok(_) => permit.success(),
                Err(_) => permit.failure(),
            };
            true
        }
        Err(_) => false,
    }
}

impl<W: fusebox_core::Window + Sync> Subject for Breaker<InstantClock, W> {
    #[inline(always)]
    fn call(&self, i: u64, fail: bool) -> bool {
        call(self, i, fail)
    }
}

/// Trips `breaker` with failures until it rejects.
fn trip<C: Clock, W: fusebox_core::Window>(breaker: &Breaker<C, W>) {
    for i in 0..1_000 {
        if !call(breaker, i, true) {
            return;
        }
    }
    panic!("breaker did not trip");
}

/// A breaker of window kind `W` that is open for an hour. `config` gets
/// `open_for`; it must trip on failures alone.
pub fn open<W: fusebox_core::Window>(config: fn(Duration) -> Config) -> Breaker<InstantClock, W> {
    let breaker = Breaker::new(InstantClock::new(), config(Duration::from_secs(3600)));
    trip(&breaker);
    assert_eq!(breaker.state(), State::Open);
    breaker
}

/// A breaker of window kind `W` in half-open with one probe slot, where it
/// stays: no `max_half_open_wait`, and the benches give every probe back.
/// (1 ms is about the shortest `open_for` a nanosecond clock allows: the
/// deadline is kept in 2^15-tick units and must span 16 of them.)
pub fn half_open<W: fusebox_core::Window>(
    config: fn(Duration) -> Config,
) -> Breaker<InstantClock, W> {
    let breaker = Breaker::new(InstantClock::new(), config(Duration::from_millis(1)));
    trip(&breaker);
    std::thread::sleep(Duration::from_millis(3));
    assert_eq!(breaker.state(), State::HalfOpen);
    breaker
}

/// [`consecutive_config`] as a `fn(Duration) -> Config` for [`open`] / [`half_open`].
pub fn consecutive_with(open_for: Duration) -> Config {
    consecutive_config(open_for)
}

/// The count-window config for [`open`] / [`half_open`].
pub fn count_with(open_for: Duration) -> Config {
    rate_config(open_for, false, None)
}

/// The time-window config for [`open`] / [`half_open`].
pub fn time_with(open_for: Duration) -> Config {
    rate_config(open_for, false, Some(WINDOW_SPAN))
}
