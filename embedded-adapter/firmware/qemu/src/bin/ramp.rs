//! Progressive recovery on the chip (fusebox-core's `ramp` feature): after
//! an outage closes the breaker, it admits 10 %, then 50 %, then every call,
//! each stage for a third of `ramp_up`. Every decision is checked against
//! the documented function (`shape::ramp_admits` of the seed, the closed
//! episode's epoch and the attempt's number), each stage's count to the
//! call, the `retry_after` of a rejection against the stage's end, and a
//! trip during the ramp reopens one backoff level up. Exits 0/1 through
//! semihosting.
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::{entry, exception};
use fusebox_core::shape::ramp_admits;
use fusebox_core::{Backoff, Config, Ratio, RejectReason, State};
use fusebox_embedded::{EmbassyBreaker, EmbassyClock};
use fusebox_qemu::{report, time};
use panic_semihosting as _;

/// Ticks per millisecond (the driver's 10 kHz).
const MS: u64 = 10;
/// Each stage's length: 200 ms, so that a burst of attempts (well under a
/// millisecond) stays inside one stage even with QEMU's late SysTicks.
const STAGE_MS: u64 = 200;
const SEED: u32 = 7;

const CONFIG: Config = match Config::builder()
    .consecutive_failures(3)
    .open_for(Duration::from_millis(20))
    .backoff(Backoff::Exponential {
        base: None,
        multiplier: Ratio::from_basis_points(20_000),
        max: Duration::from_millis(80),
    })
    .jitter_seed(SEED)
    .ramp_up(Duration::from_millis(3 * STAGE_MS))
    .ramp_stages(&[10, 50, 100])
    .build()
{
    Ok(c) => c,
    Err(_) => panic!("bad breaker config"),
};

static UPLINK: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, CONFIG);

#[exception]
fn SysTick() {
    time::on_tick();
}

/// Trips the breaker (3 failures while closed, admitted or not), waits out
/// the open period and closes it with one successful probe: the close that
/// starts a ramp. Returns the closed episode's epoch.
fn outage_and_close() -> u64 {
    let mut failures = 0;
    while UPLINK.state() == State::Closed && failures < 100 {
        if let Ok(p) = UPLINK.try_acquire() {
            let _ = p.failure();
            failures += 1;
        }
    }
    report::check_eq(UPLINK.state(), State::Open, "the outage trips the breaker");
    while UPLINK.try_acquire().map(|p| p.success()).is_err() {
        time::spin_for(MS);
    }
    let s = UPLINK.snapshot();
    report::check_eq(s.state, State::Closed, "a successful probe closes it");
    s.epoch
}

/// `n` attempts in a burst, numbered from `first` in the episode `epoch`, in
/// a stage admitting `pct` %: each decision must be `ramp_admits`', each
/// admitted call records a success, each rejection is the ramp's, closed,
/// with `retry_after` at most the stage's length. Returns the number
/// admitted and the smallest `retry_after` seen, in ticks.
fn burst(epoch: u64, first: u64, n: u64, pct: u32) -> (u64, u64) {
    let (mut admitted, mut wrong, mut retry) = (0, 0, u64::MAX);
    for m in first..first + n {
        let expected = ramp_admits(SEED, epoch, m, pct * 100);
        match UPLINK.try_acquire() {
            Ok(p) => {
                let _ = p.success();
                admitted += 1;
                wrong += u32::from(!expected);
            }
            Err(r) => {
                let after = r
                    .retry_after
                    .map_or(u64::MAX, |d| d.as_micros() as u64 / 100);
                let ours = r.reason == RejectReason::Ramp && r.state == State::Closed;
                wrong += u32::from(expected || !ours || after > STAGE_MS * MS);
                retry = retry.min(after);
            }
        }
    }
    report::check_eq(
        wrong,
        0,
        "every decision is ramp_admits(seed, epoch, m, share)",
    );
    (admitted, retry)
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    time::start(&mut cp.SYST);

    // Closed from the start: no ramp, everything admitted.
    let all = (0..50)
        .filter(|_| UPLINK.try_acquire().map(|p| p.success()).is_ok())
        .count();
    report::check_eq(all, 50, "no ramp before the first close: all admitted");

    let epoch = outage_and_close();
    // Stage 1, 10 %: of 200 numbered attempts, 20 (the even spreading
    // admits floor(n * share) or one more).
    let (admitted, retry) = burst(epoch, 0, 200, 10);
    report::check(
        admitted == 20 || admitted == 21,
        "stage 1 admits 10 % of 200 attempts, to the call",
    );
    report::check(
        retry > 0 && retry <= STAGE_MS * MS,
        "a ramp rejection's retry_after is the time to the next stage",
    );
    // Stage 2, 50 %: the numbering goes on from 200.
    time::spin_for(retry + 20 * MS);
    let (admitted, _) = burst(epoch, 200, 200, 50);
    report::check(
        admitted == 100 || admitted == 101,
        "stage 2 admits 50 % of 200 attempts, to the call",
    );
    // Past the ramp's end: every call.
    time::spin_for(2 * STAGE_MS * MS + 20 * MS);
    let all = (0..100)
        .filter(|_| UPLINK.try_acquire().map(|p| p.success()).is_ok())
        .count();
    report::check_eq(all, 100, "after the ramp every call is admitted");
    report::check_eq(
        UPLINK.snapshot().backoff_level,
        0,
        "after the ramp: level 0",
    );

    // A trip after the ramp opens at level 0; the next ramp's trip at 1.
    outage_check(0, "a trip after the ramp opens at backoff level 0");
    let _ = outage_and_close();
    outage_check(1, "a trip during the ramp reopens one level up (1)");
    report::finish()
}

/// Fails admitted calls until the breaker opens; checks its backoff level.
fn outage_check(level: u32, what: &str) {
    let mut tries = 0;
    while UPLINK.state() == State::Closed && tries < 10_000 {
        if let Ok(p) = UPLINK.try_acquire() {
            let _ = p.failure();
        }
        tries += 1;
    }
    let s = UPLINK.snapshot();
    report::check_eq((s.state, s.backoff_level), (State::Open, level), what);
}
