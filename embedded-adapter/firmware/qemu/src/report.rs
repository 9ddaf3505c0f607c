//! Checks printed over semihosting; the failure count becomes QEMU's exit
//! status through semihosting `exit`.
use core::fmt::Debug;

use cortex_m_semihosting::{debug, hprintln};
use portable_atomic::{AtomicU32, Ordering};

static CHECKS: AtomicU32 = AtomicU32::new(0);
static FAILURES: AtomicU32 = AtomicU32::new(0);

/// Records one check and prints `ok` or `FAIL` with its description.
pub fn check(ok: bool, what: &str) {
    CHECKS.fetch_add(1, Ordering::Relaxed);
    if ok {
        hprintln!("ok   {}", what);
    } else {
        FAILURES.fetch_add(1, Ordering::Relaxed);
        hprintln!("FAIL {}", what);
    }
}

/// Checks `actual == expected`, printing both on a mismatch.
pub fn check_eq<T: PartialEq + Debug>(actual: T, expected: T, what: &str) {
    let ok = actual == expected;
    check(ok, what);
    if !ok {
        hprintln!("       got {:?}, expected {:?}", actual, expected);
    }
}

/// Number of failed checks so far.
pub fn failures() -> u32 {
    FAILURES.load(Ordering::Relaxed)
}

/// Prints the summary and ends the QEMU run: exit 0 if every check passed
/// (and at least one ran), exit 1 otherwise.
pub fn finish() -> ! {
    let (checks, failures) = (CHECKS.load(Ordering::Relaxed), failures());
    hprintln!("{} checks, {} failures", checks, failures);
    debug::exit(if failures == 0 && checks > 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}
