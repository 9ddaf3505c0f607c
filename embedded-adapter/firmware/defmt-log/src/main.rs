//! A breaker's transitions logged with defmt: the observer queues them from
//! whatever context made them, and this loop drains the queue and logs each
//! [`Event`](fusebox_embedded::Event) with its `defmt::Format`. CI decodes
//! the output with `defmt-print` and checks the lines.
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::{entry, exception};
use defmt_semihosting as _; // the global defmt logger
use fusebox_core::{Breaker, Config, NoWindow, State};
use fusebox_embedded::{EmbassyClock, EventQueue, QueueObserver, Registry};
use fusebox_qemu::time;

defmt::timestamp!("{=u64:us}", {
    (time::now() - time::START_TICKS) * (1_000_000 / time::TICK_HZ)
});

const CONFIG: Config = match Config::builder()
    .consecutive_failures(2)
    .open_for(Duration::from_millis(5))
    .build()
{
    Ok(c) => c,
    Err(_) => panic!("bad breaker config"),
};

static EVENTS: EventQueue<8> = EventQueue::new();
static SENSOR: Breaker<EmbassyClock, NoWindow, QueueObserver<'static, 8>> =
    match Breaker::with_observer(EmbassyClock, CONFIG, EVENTS.observer("sensor")) {
        Ok(b) => b,
        Err(_) => panic!("bad breaker config"),
    };

static BREAKERS: Registry<1> = Registry::new([("sensor", &SENSOR)]);

#[exception]
fn SysTick() {
    time::on_tick();
}

fn drain() {
    while let Some(event) = EVENTS.pop() {
        defmt::info!("{}", event);
    }
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    time::start(&mut cp.SYST);

    for _ in 0..2 {
        let _ = SENSOR.try_acquire().map(|p| p.failure());
    }
    match SENSOR.try_acquire() {
        Err(rejected) => defmt::info!("rejected: {}", rejected),
        Ok(_) => defmt::error!("an open breaker permitted a call"),
    }
    time::spin_for(6 * time::TICK_HZ / 1_000);
    let _ = SENSOR.try_acquire().map(|p| p.success());
    drain();
    defmt::info!("final: {}", SENSOR.snapshot());
    defmt::info!("registry: {}", BREAKERS);

    let ok = SENSOR.state() == State::Closed && EVENTS.dropped() == 0;
    defmt::println!("defmt-log done: {=str}", if ok { "ok" } else { "FAIL" });
    semihosting::process::exit(if ok { 0 } else { 1 })
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    semihosting::process::exit(1)
}
