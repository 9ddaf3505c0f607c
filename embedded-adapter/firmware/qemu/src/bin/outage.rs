//! Baseline firmware: the same harness as `minimal` (SysTick time driver,
//! semihosting output and exit) without any breaker, so that
//! `llvm-size minimal - baseline` is what fusebox adds to a firmware.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use fusebox_qemu::{report, time};
use panic_semihosting as _;

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
    report::finish()
}
