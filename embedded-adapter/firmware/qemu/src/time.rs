//! A minimal `embassy-time` driver on SysTick, lock-free on every Cortex-M.
//!
//! One SysTick interrupt is one tick ([`TICK_HZ`] = 10 kHz, chosen by this
//! firmware's `embassy-time/tick-hz-10_000` feature). The 64-bit tick count is
//! built from two 32-bit words that only the SysTick handler writes, with
//! plain loads and stores: no `AtomicU64` (a spinning seqlock on ARMv7-M, see
//! EMBEDDED.md) and no compare-and-swap (the Cortex-M0 has none).
//!
//! `PERIOD` counts half-wraps of `COUNTER` (it is bumped when `COUNTER` crosses
//! a multiple of 2^31), the same scheme as embassy's hardware timer drivers:
//! `now = PERIOD * 2^31 + (COUNTER ^ ((PERIOD & 1) << 31))`. A reader loads
//! `PERIOD` first; whatever the counter did since (less than 2^31 ticks), the
//! XOR puts it on the right side of the half-period, so an interrupt between
//! the two loads, or between the handler's two stores, never makes time jump.
//!
//! Timers (`embassy_time::Timer`, `with_timeout`) wait in a fixed-size queue
//! that the SysTick handler checks on each tick, inside a critical section
//! (interrupts off for a few instructions: no context ever spins).
use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Waker;

use critical_section::Mutex;
use embassy_time_queue_utils::Queue;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// Ticks per second of this driver.
pub const TICK_HZ: u64 = 10_000;
const _: () = assert!(
    embassy_time_driver::TICK_HZ == TICK_HZ,
    "enable embassy-time/tick-hz-10_000"
);

/// The clock starts 30 ms before its low 32 bits wrap, so every run crosses
/// 2^32 ticks early on (in the outage firmware: while the first breaker is
/// open): the 64-bit extension here and fusebox's wrap-aware 32-bit deadline
/// on these targets are both exercised.
pub const START_TICKS: u64 = (1 << 32) - 300;

static COUNTER: AtomicU32 = AtomicU32::new(START_TICKS as u32);
static PERIOD: AtomicU32 = AtomicU32::new((START_TICKS >> 31) as u32);

/// The SysTick input clock QEMU models for this machine (see build.rs), in Hz.
const CORE_CLOCK_HZ: u32 = parse_u32(env!("FW_CORE_CLOCK_HZ"));

const fn parse_u32(digits: &str) -> u32 {
    let bytes = digits.as_bytes();
    let (mut value, mut i) = (0u32, 0);
    while i < bytes.len() {
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

/// Starts SysTick at [`TICK_HZ`] with its interrupt enabled.
pub fn start(syst: &mut SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_CLOCK_HZ / TICK_HZ as u32 - 1);
    syst.clear_current();
    syst.enable_counter();
    syst.enable_interrupt();
}

/// Advances the clock by one tick and wakes the timers that are due. Call it
/// first thing in the `SysTick` handler, and nowhere else: this driver relies
/// on a single writer.
pub fn on_tick() {
    let counter = COUNTER.load(Ordering::Relaxed).wrapping_add(1);
    COUNTER.store(counter, Ordering::Relaxed);
    if counter & 0x7FFF_FFFF == 0 {
        // Release: pairs with the Acquire load in `now`, which then sees the
        // counter value that completed this half-period.
        PERIOD.store(
            PERIOD.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Release,
        );
    }
    let now = now();
    critical_section::with(|cs| {
        let mut alarm = ALARM.borrow_ref_mut(cs);
        if now >= alarm.at {
            alarm.at = alarm.queue.next_expiration(now);
        }
    });
}

/// Ticks since boot (plus [`START_TICKS`]), 64 bits, monotonic.
pub fn now() -> u64 {
    let period = PERIOD.load(Ordering::Acquire);
    let counter = COUNTER.load(Ordering::Relaxed);
    (u64::from(period) << 31) + u64::from(counter ^ ((period & 1) << 31))
}

/// Busy-waits for `ticks` ticks (thread mode, or a handler that SysTick can
/// preempt).
pub fn spin_for(ticks: u64) {
    let until = now() + ticks;
    while now() < until {
        core::hint::spin_loop();
    }
}

/// Pending timers and the earliest expiration among them.
struct Alarm {
    queue: Queue,
    at: u64,
}

static ALARM: Mutex<RefCell<Alarm>> = Mutex::new(RefCell::new(Alarm {
    queue: Queue::new(),
    at: u64::MAX,
}));

struct SysTickDriver;

impl embassy_time_driver::Driver for SysTickDriver {
    fn now(&self) -> u64 {
        now()
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut alarm = ALARM.borrow_ref_mut(cs);
            if alarm.queue.schedule_wake(at, waker) {
                // Wakes the already-due ones at once; the rest on a tick.
                alarm.at = alarm.queue.next_expiration(now());
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver);
