//! `minimal` with a failure-rate rule over the last 16 calls
//! (`CountWindow<16>`): what a count window adds to a firmware.
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::{entry, exception};
use fusebox_core::{Config, CountWindow, Ratio, State};
use fusebox_embedded::{EmbassyBreaker, EmbassyClock};
use fusebox_qemu::{report, time};
use panic_semihosting as _;

const CONFIG: Config = match Config::builder()
    .failure_rate(Ratio::percent(50))
    .minimum_calls(4)
    .open_for(Duration::from_millis(5))
    .build()
{
    Ok(c) => c,
    Err(_) => panic!("bad breaker config"),
};

static UPLINK: EmbassyBreaker<CountWindow<16>> = EmbassyBreaker::new(EmbassyClock, CONFIG);

#[exception]
fn SysTick() {
    time::on_tick();
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    time::start(&mut cp.SYST);
    time::spin_for(10);

    // Half the calls fail: the rate rule trips at the 4th outcome (50 %).
    let mut tries = 0;
    while UPLINK.state() == State::Closed && tries < 100 {
        if let Ok(permit) = UPLINK.try_acquire() {
            let _ = if tries % 2 == 0 {
                permit.success()
            } else {
                permit.failure()
            };
        }
        tries += 1;
    }
    report::check(
        UPLINK.state() == State::Open,
        "a 50 % failure rate opens the breaker",
    );
    // 5 ms open plus a margin: the deadline is stored in timer units of a
    // few ticks, rounded up (late, never early).
    time::spin_for(80);
    report::check(
        UPLINK.try_acquire().is_ok(),
        "a probe after the open period",
    );
    report::finish()
}
