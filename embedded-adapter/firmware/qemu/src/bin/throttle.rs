//! Adaptive throttling on the chip (fusebox-core's `throttle` feature): a
//! burst of 300 attempts against a dependency that fails two calls in three
//! after its first ten, each decision checked against the documented
//! formula and draw (`shape::throttle_bp` over the window's requests and
//! accepts, `shape::admission_draw_bp` of the attempt's number), throttled
//! calls counted as requests; once the time window has forgotten the
//! burst, nothing is throttled. Exits 0/1 through semihosting.
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::{entry, exception};
use fusebox_core::shape::{admission_draw_bp, throttle_bp};
use fusebox_core::{Config, Ratio, RejectReason, State, TimeWindow};
use fusebox_embedded::{EmbassyBreaker, EmbassyClock};
use fusebox_qemu::{report, time};
use panic_semihosting as _;

/// Ticks per millisecond (the driver's 10 kHz).
const MS: u64 = 10;
const K_BP: u32 = 15_000;
const SEED: u32 = 3;

/// A 400 ms window of 8 buckets (50 ms each): the burst (well under a
/// millisecond) stays inside it, and a wait of 450 ms empties it.
const CONFIG: Config = match Config::builder()
    .window_span(Duration::from_millis(400))
    .throttle_k(Ratio::from_basis_points(K_BP))
    .jitter_seed(SEED)
    .build()
{
    Ok(c) => c,
    Err(_) => panic!("bad breaker config"),
};

static UPLINK: EmbassyBreaker<TimeWindow<8>> = EmbassyBreaker::new(EmbassyClock, CONFIG);

#[exception]
fn SysTick() {
    time::on_tick();
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    time::start(&mut cp.SYST);

    let epoch = UPLINK.snapshot().epoch;
    let (mut calls, mut accepts, mut throttled, mut m) = (0u64, 0u64, 0u64, 0u64);
    let mut wrong = 0u32;
    for _ in 0..300 {
        let p = throttle_bp(calls + throttled, accepts, K_BP);
        let expect_throttled = p > 0 && {
            let d = admission_draw_bp(SEED, epoch, m + 1);
            m += 1;
            d < p
        };
        match UPLINK.try_acquire() {
            Ok(permit) => {
                wrong += u32::from(expect_throttled);
                if calls < 10 || calls % 3 == 0 {
                    accepts += 1;
                    let _ = permit.success();
                } else {
                    let _ = permit.failure();
                }
                calls += 1;
            }
            Err(r) => {
                let ours = (r.state, r.reason, r.retry_after)
                    == (State::Closed, RejectReason::Throttled, None);
                wrong += u32::from(!expect_throttled || !ours);
                throttled += 1;
            }
        }
    }
    report::check_eq(
        wrong,
        0,
        "every decision is throttle_bp(requests, accepts, K) against the attempt's draw",
    );
    report::check(throttled > 50, "the failing dependency is throttled");
    report::check_eq(
        UPLINK.snapshot().window.calls as u64,
        calls,
        "throttled calls never reach the window",
    );
    // Once the window has forgotten the burst, nothing is throttled.
    time::spin_for(450 * MS);
    let all = (0..50)
        .filter(|_| UPLINK.try_acquire().map(|p| p.success()).is_ok())
        .count();
    report::check_eq(all, 50, "an empty window throttles nothing");
    report::finish()
}
