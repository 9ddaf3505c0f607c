//! An embassy firmware that protects a flaky uplink with a fusebox breaker.
//!
//! Build: `cd embedded-adapter/firmware &&
//! cargo build --release --target thumbv7em-none-eabihf --example embassy_task`
//! (`cargo run` with the same arguments runs it in QEMU on an mps2-an386).
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::exception;
use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::Spawner;
use embassy_time::Timer;
use fusebox_embedded::fusebox_core::{Backoff, Breaker, Config, NoWindow, Ratio, State};
use fusebox_embedded::{AsyncCall, CallError, CallPolicy, EmbassyClock, EventQueue, QueueObserver};
use fusebox_qemu::time; // this firmware's SysTick driver for embassy-time
use panic_semihosting as _;

/// Trip after 3 failures in a row; stay open 20 ms, doubling per failed
/// probe up to 160 ms.
const UPLINK_CONFIG: Config = match Config::builder()
    .consecutive_failures(3)
    .open_for(Duration::from_millis(20))
    .backoff(Backoff::Exponential {
        base: None,
        multiplier: Ratio::from_basis_points(20_000),
        max: Duration::from_millis(160),
    })
    .build()
{
    Ok(c) => c,
    Err(_) => panic!("bad uplink breaker config"),
};

/// Transitions, pushed by the breaker from any context, drained by `log_task`.
static EVENTS: EventQueue<8> = EventQueue::new();

static UPLINK: Breaker<EmbassyClock, NoWindow, QueueObserver<'static, 8>> =
    match Breaker::with_observer(EmbassyClock, UPLINK_CONFIG, EVENTS.observer("uplink")) {
        Ok(b) => b,
        Err(_) => panic!("bad uplink breaker config"),
    };

/// Each call may take at most 10 ms; a timeout counts as a failure.
const UPLINK_POLICY: CallPolicy =
    CallPolicy::new().timeout(embassy_time::Duration::from_millis(10));

#[derive(Debug)]
enum LinkError {
    NoCarrier,
}

/// A pretend uplink: no carrier for the first 50 ms, then hangs (times out)
/// until 120 ms, then works.
async fn send_report(seq: u32) -> Result<u32, LinkError> {
    let uptime_ms =
        embassy_time::Instant::now().as_millis() - time::START_TICKS * 1_000 / time::TICK_HZ;
    if uptime_ms < 50 {
        Timer::after_millis(1).await;
        Err(LinkError::NoCarrier)
    } else if uptime_ms < 120 {
        core::future::pending().await
    } else {
        Timer::after_millis(1).await;
        Ok(seq)
    }
}

#[embassy_executor::task]
async fn uplink_task() {
    let mut delivered = 0;
    for seq in 0.. {
        match UPLINK.call_with(&UPLINK_POLICY, || send_report(seq)).await {
            Ok(_) => delivered += 1,
            Err(CallError::Rejected(rejected)) => {
                // Fail fast, and sleep until the breaker may let a probe through.
                let wait = rejected.retry_after.unwrap_or(Duration::from_millis(1));
                Timer::after(embassy_time::Duration::try_from(wait).unwrap()).await;
            }
            Err(CallError::Failed(LinkError::NoCarrier) | CallError::TimedOut) => {
                Timer::after_millis(2).await;
            }
        }
        if delivered == 5 {
            break;
        }
    }
    Timer::after_millis(5).await; // let log_task drain the last events
    let ok = UPLINK.state() == State::Closed && EVENTS.dropped() == 0;
    hprintln!(
        "uplink recovered after {} reports: {}",
        delivered,
        if ok { "ok" } else { "FAIL" }
    );
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
}

#[embassy_executor::task]
async fn log_task() {
    loop {
        while let Some(event) = EVENTS.pop() {
            let t = event.transition;
            hprintln!(
                "{}: {:?} -> {:?} ({:?})",
                event.breaker,
                t.from,
                t.to,
                t.reason
            );
        }
        match EVENTS.take_dropped() {
            0 => {}
            lost => hprintln!("{} breaker events lost", lost),
        }
        Timer::after_millis(2).await;
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    time::start(&mut cp.SYST);
    spawner.must_spawn(log_task());
    spawner.must_spawn(uplink_task());
}

#[exception]
fn SysTick() {
    time::on_tick();
}
