//! A minimal Cortex-M firmware: poll a "dependency" register, guard it with a
//! breaker held in a `static`, report on an output register. Built once per
//! feature (`baseline`, `consecutive`, `count`, `time`); `measure.sh` turns the
//! size differences into fusebox's cost.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

/// A peripheral register the "dependency" answers in (nonzero = success).
const DEPENDENCY: *const u32 = 0x5000_0510 as *const u32;
/// A register the firmware reports each call's fate to.
const REPORT: *mut u32 = 0x5000_0504 as *mut u32;

#[inline(always)]
fn dependency_ok() -> bool {
    // SAFETY: a fixed, aligned MMIO address; the image is never run, only measured.
    unsafe { read_volatile(DEPENDENCY) != 0 }
}

#[inline(always)]
fn report(value: u32) {
    // SAFETY: as above.
    unsafe { write_volatile(REPORT, value) }
}

#[cfg(feature = "baseline")]
fn poll() {
    report(dependency_ok() as u32);
}

#[cfg(not(feature = "baseline"))]
mod guarded {
    use core::time::Duration;

    use fusebox_core::{Breaker, Clock, Config};

    use super::{dependency_ok, report};

    /// SysTick's current-value register, as a clock (good enough to size the code).
    pub struct SysTick;

    impl Clock for SysTick {
        const TICKS_PER_SECOND: u64 = 1_000;
        fn now(&self) -> u64 {
            // SAFETY: SysTick CVR, a fixed, aligned core register.
            u64::from(unsafe { core::ptr::read_volatile(0xE000_E018 as *const u32) })
        }
    }

    const fn config() -> Config {
        let builder = Config::builder()
            .consecutive_failures(5)
            .open_for(Duration::from_secs(10));
        #[cfg(not(feature = "consecutive"))]
        let builder = builder
            .failure_rate(fusebox_core::Ratio::percent(50))
            .minimum_calls(10);
        #[cfg(feature = "time")]
        let builder = builder.window_span(Duration::from_secs(10));
        match builder.build() {
            Ok(config) => config,
            Err(_) => panic!("bad footprint config"),
        }
    }

    #[cfg(feature = "consecutive")]
    type Window = fusebox_core::NoWindow;
    #[cfg(feature = "count")]
    type Window = fusebox_core::CountWindow<16>;
    #[cfg(feature = "time")]
    type Window = fusebox_core::TimeWindow<8>;

    static BREAKER: Breaker<SysTick, Window> = Breaker::new(SysTick, config());

    pub fn poll() {
        match BREAKER.try_acquire() {
            Ok(permit) => {
                let ok = dependency_ok();
                let _ = if ok {
                    permit.success()
                } else {
                    permit.failure()
                };
                report(ok as u32);
            }
            Err(_) => report(2),
        }
    }
}

#[cfg(not(feature = "baseline"))]
use guarded::poll;

/// The reset handler: the whole program.
#[no_mangle]
pub extern "C" fn reset() -> ! {
    loop {
        poll();
    }
}

/// The reset vector; the linker script puts the initial stack pointer before it.
#[link_section = ".vector_table"]
#[no_mangle]
#[used]
pub static VECTORS: [extern "C" fn() -> !; 1] = [reset];

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// Interrupts off on the single core: what thumbv6m needs for atomics
/// without compare-and-swap (`cas-less`).
#[cfg(feature = "cas-less")]
mod single_core {
    struct SingleCore;
    critical_section::set_impl!(SingleCore);

    // SAFETY: one core; masking interrupts excludes every other context.
    unsafe impl critical_section::Impl for SingleCore {
        unsafe fn acquire() -> bool {
            let primask: u32;
            // SAFETY: reading PRIMASK and masking interrupts have no memory effects.
            unsafe {
                core::arch::asm!("mrs {}, PRIMASK", out(reg) primask, options(nomem, nostack, preserves_flags));
                core::arch::asm!("cpsid i", options(nomem, nostack, preserves_flags));
            }
            primask & 1 == 0
        }

        unsafe fn release(was_enabled: bool) {
            if was_enabled {
                // SAFETY: re-enables interrupts that `acquire` found enabled.
                unsafe { core::arch::asm!("cpsie i", options(nomem, nostack, preserves_flags)) };
            }
        }
    }
}
