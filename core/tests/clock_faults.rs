//! Issue 14, items 9 and 10: a clock that jumps back, and a trip near the end
//! of the tick range. The rules are written beside the timer word's diagram
//! (`core/src/timer.rs`) and in `docs/design.md` ("Open periods").
#![cfg(not(fusebox_loom))]

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
#[cfg(not(fusebox_narrow))]
use fusebox_core::ManualClock;
use fusebox_core::{Breaker, Clock, Config, NoWindow, Recorded, State};

/// A millisecond clock with the full 64-bit range on every layout
/// (`ManualClock` holds a native word: 32 bits under `fusebox_narrow`).
/// Like a hardware counter, it wraps at 2^64.
struct Ticks(AtomicU64);

impl Ticks {
    fn at(t: u64) -> Ticks {
        Ticks(AtomicU64::new(t))
    }
    fn set(&self, t: u64) {
        self.0.store(t, Ordering::Relaxed);
    }
    fn advance(&self, d: u64) {
        self.set(self.now().wrapping_add(d));
    }
    fn back(&self, d: u64) {
        self.set(self.now().wrapping_sub(d));
    }
}

impl Clock for Ticks {
    const TICKS_PER_SECOND: u64 = 1_000;
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

const OPEN_MS: u64 = 30_000;
/// The longest open period: the default `max_trip_hint`, 10 minutes.
const LONGEST_MS: u64 = 600_000;
/// Half the timer word's unit range (a unit is one tick with a ms clock):
/// the furthest a backward jump can be told from a passed deadline.
#[cfg(not(fusebox_narrow))]
const HALF_RANGE: u64 = 1 << 47;
#[cfg(fusebox_narrow)]
const HALF_RANGE: u64 = 1 << 23;

fn config() -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(OPEN_MS))
        .build()
        .unwrap()
}

fn trip<C: Clock>(b: &Breaker<C, NoWindow>) {
    assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    assert_eq!(b.snapshot().state, State::Open);
}

fn retry_after<C: Clock>(b: &Breaker<C, NoWindow>) -> Option<Duration> {
    let r = b.try_acquire().map(drop).unwrap_err();
    assert_eq!(r.state, State::Open);
    r.retry_after
}

fn ms(t: u64) -> Option<Duration> {
    Some(Duration::from_millis(t))
}

/// Opens at `now`, and checks the whole period: rejected to the last tick,
/// a probe at the deadline.
fn opens_for_the_configured_period(now: u64) {
    let clock = Ticks::at(now);
    let b = Breaker::try_new(&clock, config()).unwrap();
    trip(&b);
    let deadline = now.wrapping_add(OPEN_MS);
    // A deadline at tick 0 (modulo the unit range) would read as "no
    // deadline": it goes one unit later (documented in `timer`).
    let late = (deadline == 0) as u64;
    assert_eq!(
        b.snapshot().open_until,
        Some(deadline + late),
        "trip at {now}"
    );
    assert_eq!(retry_after(&b), ms(OPEN_MS + late), "trip at {now}");
    clock.advance(OPEN_MS - 1 + late);
    assert_eq!(retry_after(&b), ms(1), "trip at {now}");
    clock.advance(1);
    assert!(b.snapshot().probe_eligible, "trip at {now}");
    let probe = b.try_acquire().expect("due at the deadline");
    assert_eq!(probe.state(), State::HalfOpen);
}

// Item 10 -----------------------------------------------------------------

#[test]
fn a_trip_at_the_last_tick_opens_for_the_configured_period() {
    opens_for_the_configured_period(u64::MAX);
}

#[test]
fn a_trip_near_the_end_of_the_tick_range_opens_for_the_configured_period() {
    for back in [1, 2, OPEN_MS - 1, OPEN_MS, OPEN_MS + 1, LONGEST_MS] {
        opens_for_the_configured_period(u64::MAX - back);
    }
    opens_for_the_configured_period(0);
}

#[cfg(not(fusebox_narrow))]
#[test]
fn a_trip_at_the_end_of_a_manual_clock_opens_for_the_configured_period() {
    let clock: ManualClock = ManualClock::new();
    clock.set(u64::MAX - 1);
    let b = Breaker::try_new(&clock, config()).unwrap();
    trip(&b);
    assert_eq!(retry_after(&b), ms(OPEN_MS));
    assert_eq!(b.snapshot().open_until, Some(OPEN_MS - 2));
}

/// `ManualClock` holds 32 bits under `fusebox_narrow` and wraps at 2^32;
/// with one-tick units that wrap is invisible to the timer word (2^32 is a
/// multiple of its 2^24-unit range).
#[cfg(fusebox_narrow)]
#[test]
fn a_trip_at_the_end_of_a_narrow_manual_clock_opens_for_the_configured_period() {
    let clock: fusebox_core::ManualClock = fusebox_core::ManualClock::new();
    clock.set(u32::MAX as u64);
    let b = Breaker::try_new(&clock, config()).unwrap();
    trip(&b);
    assert_eq!(retry_after(&b), ms(OPEN_MS));
    clock.advance(OPEN_MS - 1);
    assert_eq!(clock.now(), OPEN_MS - 2, "wrapped");
    assert_eq!(retry_after(&b), ms(1));
    clock.advance(1);
    assert_eq!(b.try_acquire().unwrap().state(), State::HalfOpen);
}

#[test]
fn a_hint_near_the_end_of_the_tick_range_still_extends_the_open_period() {
    let clock = Ticks::at(u64::MAX - 100);
    let b = Breaker::try_new(&clock, config()).unwrap();
    let stale = b.try_acquire().unwrap();
    trip(&b);
    // The stale permit's hint asks for 60 s: an Open → Open extension.
    assert_eq!(stale.trip_for(Duration::from_secs(60)), Recorded::Stale);
    assert_eq!(retry_after(&b), ms(60_000));
    clock.advance(59_999);
    assert_eq!(retry_after(&b), ms(1));
    clock.advance(1);
    assert_eq!(b.try_acquire().unwrap().state(), State::HalfOpen);
}

#[test]
fn a_half_open_wait_near_the_end_of_the_tick_range_is_honoured() {
    let clock = Ticks::at(u64::MAX - OPEN_MS - 10);
    let config = Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(OPEN_MS))
        .max_half_open_wait(Duration::from_millis(5_000))
        .build()
        .unwrap();
    let b = Breaker::try_new(&clock, config).unwrap();
    trip(&b);
    clock.advance(OPEN_MS);
    let probe = b.try_acquire().unwrap();
    assert_eq!(probe.state(), State::HalfOpen);
    clock.advance(4_999);
    assert_eq!(b.state(), State::HalfOpen, "4.999 s into a 5 s wait");
    clock.advance(1);
    assert_eq!(b.state(), State::Open, "the wait has passed");
    drop(probe);
}

// Item 9 ------------------------------------------------------------------

/// Trips at 1 000 000, lets 10 s pass (20 s left), then sets the clock back
/// by `jump`.
fn open_then_jump_back(jump: u64) -> (&'static Ticks, Breaker<&'static Ticks, NoWindow>) {
    let clock: &'static Ticks = Box::leak(Box::new(Ticks::at(1_000_000)));
    let b = Breaker::try_new(clock, config()).unwrap();
    trip(&b);
    clock.advance(10_000);
    assert_eq!(retry_after(&b), ms(20_000));
    clock.back(jump);
    (clock, b)
}

#[test]
fn a_backward_jump_within_the_guard_keeps_the_deadline() {
    // 20 s left + the jump reaches the longest open period exactly (plus the
    // two units of rounding slack the guard allows): the deadline stays, and
    // the breaker is open until the clock reaches it again.
    let jump = LONGEST_MS + 2 - 20_000;
    let (_, b) = open_then_jump_back(jump);
    assert_eq!(retry_after(&b), ms(20_000 + jump));
    assert!(!b.snapshot().probe_eligible);
}

fn reanchored_for_the_longest_period(jump: u64) {
    let (clock, b) = open_then_jump_back(jump);
    let snap = b.snapshot();
    assert_eq!(snap.state, State::Open, "jump back by {jump}");
    assert!(!snap.probe_eligible, "jump back by {jump}: ended early");
    assert_eq!(
        snap.open_until,
        Some(clock.now().wrapping_add(LONGEST_MS)),
        "jump back by {jump}"
    );
    // Never less than the 20 s that were left, at most the longest period.
    assert_eq!(retry_after(&b), ms(LONGEST_MS), "jump back by {jump}");
    clock.advance(LONGEST_MS - 1);
    assert_eq!(retry_after(&b), ms(1), "jump back by {jump}: re-anchored");
    clock.advance(1);
    assert_eq!(
        b.try_acquire().expect("due").state(),
        State::HalfOpen,
        "jump back by {jump}"
    );
}

#[test]
fn a_backward_jump_beyond_the_guard_never_ends_the_open_period_early() {
    // Just past the guard, then the issue's jumps (2^40 and 10^12 ms exceed
    // the 32-bit unit range: there they are covered up to its half).
    let mut jumps = vec![LONGEST_MS + 3 - 20_000, LONGEST_MS, 1 << 20];
    if HALF_RANGE > 1 << 40 {
        jumps.extend([1 << 30, 1 << 40, 1_000_000_000_000]);
    }
    jumps.push(HALF_RANGE - 20_000);
    for jump in jumps {
        reanchored_for_the_longest_period(jump);
    }
}

#[test]
fn a_backward_jump_beyond_half_the_unit_range_reads_as_a_passed_deadline() {
    // The far side of the rule: beyond half the unit range, the timer word
    // cannot tell the jump from a deadline passed long ago (that is the
    // documented limit; a century of ticks on 64-bit targets).
    let (_, b) = open_then_jump_back(HALF_RANGE - 20_000 + 1);
    assert!(b.snapshot().probe_eligible);
}

#[test]
fn a_passed_deadline_stays_passed_for_half_the_unit_range() {
    let clock = Ticks::at(1_000_000);
    let b = Breaker::try_new(&clock, config()).unwrap();
    trip(&b);
    clock.advance(OPEN_MS + HALF_RANGE - 1);
    assert!(b.snapshot().probe_eligible);
    assert_eq!(b.try_acquire().unwrap().state(), State::HalfOpen);
}

#[cfg(not(fusebox_narrow))]
#[test]
fn a_manual_clock_set_back_by_the_issues_jumps_never_half_opens_early() {
    for jump in [1u64 << 30, 1 << 40, 1_000_000_000_000] {
        let clock: ManualClock = ManualClock::new();
        clock.set(1 << 50);
        let b = Breaker::try_new(&clock, config()).unwrap();
        trip(&b);
        clock.set((1 << 50) - jump);
        let r = b.try_acquire().map(drop).unwrap_err();
        assert_eq!(r.state, State::Open, "jump {jump}");
        assert_eq!(r.retry_after, ms(LONGEST_MS), "jump {jump}");
    }
}

#[test]
fn a_half_open_wait_after_a_backward_jump_ends_late_never_early() {
    let clock = Ticks::at(1_000_000);
    let config = Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(OPEN_MS))
        .max_half_open_wait(Duration::from_millis(5_000))
        .build()
        .unwrap();
    let b = Breaker::try_new(&clock, config).unwrap();
    trip(&b);
    clock.advance(OPEN_MS);
    let probe = b.try_acquire().unwrap();
    clock.back(1 << 20);
    assert_eq!(b.state(), State::HalfOpen, "right after the jump");
    // Re-anchored at the wait from the call that saw the jump.
    clock.advance(4_999);
    assert_eq!(b.state(), State::HalfOpen);
    clock.advance(1);
    assert_eq!(b.state(), State::Open);
    drop(probe);
}

// Beside items 9 and 10: the time window ----------------------------------

fn window_breaker(clock: &Ticks) -> Breaker<&Ticks, fusebox_core::TimeWindow<10>> {
    let config = Config::builder()
        .failure_rate(fusebox_core::Ratio::percent(50))
        .minimum_calls(100)
        .window_span(Duration::from_secs(10))
        .build()
        .unwrap();
    Breaker::try_new(clock, config).unwrap()
}

fn record(b: &Breaker<&Ticks, fusebox_core::TimeWindow<10>>, failures: u32, successes: u32) {
    for _ in 0..failures {
        let _ = b.try_acquire().unwrap().failure();
    }
    for _ in 0..successes {
        let _ = b.try_acquire().unwrap().success();
    }
}

/// Not fixed here (the windows are being restructured on another branch):
/// a time window's slot is `now / bucket`, so at the 2^64 wrap (unless the
/// bucket width divides 2^64) and after a backward jump, buckets stamped
/// before read as out of the window. The window forgets, so the breaker
/// trips later, never earlier; nothing panics, and it never counts more
/// than was recorded.
#[test]
fn a_time_window_across_the_end_of_the_tick_range_forgets_never_invents() {
    let clock = Ticks::at(u64::MAX - 1_500);
    let b = window_breaker(&clock);
    record(&b, 3, 2);
    clock.advance(3_000); // past u64::MAX
    record(&b, 1, 0);
    let w = b.snapshot().window;
    assert!(
        w.calls <= 6 && w.failures <= 4 && w.failures <= w.calls,
        "{w:?}"
    );
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_time_window_after_a_backward_jump_forgets_never_invents() {
    let clock = Ticks::at(1 << 40);
    let b = window_breaker(&clock);
    record(&b, 3, 2);
    for back in [5_000, 1 << 30] {
        clock.back(back);
        record(&b, 1, 0);
        let w = b.snapshot().window;
        assert!(w.calls <= 7 && w.failures <= 5, "{back} back: {w:?}");
    }
    clock.set(1 << 40);
    let w = b.snapshot().window;
    assert!(w.calls <= 7 && w.failures <= 5, "restored: {w:?}");
    assert_eq!(b.state(), State::Closed);
}

// Beside item 10: a call's duration ---------------------------------------

fn slow_breaker(clock: &Ticks) -> Breaker<&Ticks, fusebox_core::CountWindow<10>> {
    let config = Config::builder()
        .slow_call_rate(fusebox_core::Ratio::percent(100))
        .slow_call_duration(Duration::from_millis(100))
        .minimum_calls(1)
        .build()
        .unwrap();
    Breaker::try_new(clock, config).unwrap()
}

#[test]
fn a_slow_call_across_the_end_of_the_tick_range_is_slow() {
    let clock = Ticks::at(u64::MAX - 50);
    let b = slow_breaker(&clock);
    let permit = b.try_acquire().unwrap();
    clock.advance(200);
    assert_eq!(permit.success(), Recorded::Counted);
    assert_eq!(b.state(), State::Open, "200 ms against a 100 ms limit");
}

#[test]
fn a_call_during_which_the_clock_went_back_is_not_slow() {
    let clock = Ticks::at(1 << 40);
    let b = slow_breaker(&clock);
    let permit = b.try_acquire().unwrap();
    clock.back(1 << 30);
    assert_eq!(permit.success(), Recorded::Counted);
    assert_eq!(b.snapshot().window.slow, 0);
    assert_eq!(b.state(), State::Closed);
}
