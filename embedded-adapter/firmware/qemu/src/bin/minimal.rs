//! `baseline` plus one static breaker used the way a firmware would: a
//! permit per call, outcomes recorded, the state read. `llvm-size minimal`
//! minus `llvm-size baseline` is what fusebox adds to a firmware; built with
//! the `ramp` feature, the breaker also has a ramp (what progressive
//! recovery adds).
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::{entry, exception};
use fusebox_core::{Config, ConfigBuilder, State};
use fusebox_embedded::{EmbassyBreaker, EmbassyClock};
use fusebox_qemu::{report, time};
use panic_semihosting as _;

const BUILDER: ConfigBuilder = Config::builder()
    .consecutive_failures(3)
    .open_for(Duration::from_millis(5));
// Built with the `ramp` feature: the same breaker recovers in stages (what
// progressive recovery adds to a firmware, feature and config).
#[cfg(feature = "ramp")]
const BUILDER_SHAPED: ConfigBuilder = BUILDER.ramp_up(Duration::from_millis(40));
#[cfg(not(feature = "ramp"))]
const BUILDER_SHAPED: ConfigBuilder = BUILDER;

const CONFIG: Config = match BUILDER_SHAPED.build() {
    Ok(c) => c,
    Err(_) => panic!("bad breaker config"),
};

static UPLINK: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, CONFIG);

#[exception]
fn SysTick() {
    time::on_tick();
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    time::start(&mut cp.SYST);
    let start = embassy_time::Instant::now();
    time::spin_for(10);
    let elapsed = start.elapsed().as_ticks();
    report::check(elapsed >= 10, "embassy-time advances on SysTick");

    for ok in [true, false, false, false] {
        if let Ok(permit) = UPLINK.try_acquire() {
            let _ = if ok {
                permit.success()
            } else {
                permit.failure()
            };
        }
    }
    report::check(UPLINK.state() == State::Open, "3 failures open the breaker");
    // 5 ms open plus a margin: the deadline is stored in timer units of a
    // few ticks, rounded up (late, never early).
    time::spin_for(80);
    report::check(
        UPLINK.try_acquire().is_ok(),
        "a probe after the open period",
    );
    report::finish()
}
