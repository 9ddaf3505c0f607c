//! The scripted outage, run by CI in QEMU on a Cortex-M3 (native CAS) and a
//! Cortex-M0 (no CAS: the critical-section path).
//!
//! 1. Thread mode drives a breaker through an outage: trip, reject, half-open,
//!    a cancelled probe, a failed probe with backoff, recovery, a second trip
//!    whose backoff starts over. Every state, permit, `retry_after` and logged
//!    transition is checked.
//! 2. The PendSV handler runs the same script on a second breaker, with
//!    SysTick preempting it to move the clock.
//! 3. A permit taken in thread mode goes stale when an interrupt trips the
//!    breaker under it.
//! 4. Stress: thread mode, PendSV and the SysTick handler (10 kHz) hammer one
//!    shared breaker; afterwards every transition is accounted for and the
//!    half-open limit held at every sample. After every call and every
//!    transition each context checks the open deadline (one per episode,
//!    never early, known once the opener is done), while thread mode's
//!    operator bursts make trips land on the timer tag of the trip before
//!    (the epoch crosses the 8-bit tag range hundreds of times).
//!
//! Exits through semihosting: 0 if every check passed, 1 otherwise (a panic
//! exits 1 too, and a hang is killed by the runner's `timeout`).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU32 as LoadStoreU32, Ordering};
use core::time::Duration;

use cortex_m::peripheral::scb::SystemHandler;
use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::hprintln;
use fusebox_core::{
    Backoff, Breaker, Config, NoWindow, Observer, Permit, Ratio, Recorded, State, Transition,
    TransitionReason,
};
use fusebox_embedded::{EmbassyClock, EventQueue, QueueObserver};
use fusebox_qemu::report::{check, check_eq};
use fusebox_qemu::{report, time};
use panic_semihosting as _;
use portable_atomic::AtomicU32;

/// Ticks of the firmware clock (100 us) in a millisecond.
const TICKS_PER_MS: u64 = time::TICK_HZ / 1_000;

const fn unwrap(config: Result<Config, fusebox_core::ConfigError>) -> Config {
    match config {
        Ok(c) => c,
        Err(_) => panic!("bad breaker config"),
    }
}

/// 3 failures in a row trip it; open 20 ms, doubling per failed probe up to
/// 80 ms; 2 probes per half-open episode, both must succeed.
const OUTAGE: Config = unwrap(
    Config::builder()
        .consecutive_failures(3)
        .open_for(Duration::from_millis(20))
        .backoff(Backoff::Exponential {
            base: None,
            multiplier: Ratio::from_basis_points(20_000),
            max: Duration::from_millis(80),
        })
        .half_open_permits(2)
        .success_threshold(2)
        .build(),
);

type OutageBreaker = Breaker<EmbassyClock, NoWindow, QueueObserver<'static, 16>>;

static EVENTS: EventQueue<16> = EventQueue::new();

const fn outage_breaker(name: &'static str) -> OutageBreaker {
    match Breaker::with_observer(EmbassyClock, OUTAGE, EVENTS.observer(name)) {
        Ok(b) => b,
        Err(_) => panic!("bad breaker config"),
    }
}

static THREAD_BREAKER: OutageBreaker = outage_breaker("thread");
static ISR_BREAKER: OutageBreaker = outage_breaker("isr");

/// What PendSV does when pended (load/store only: the M0 has no CAS).
static PENDSV_JOB: LoadStoreU32 = LoadStoreU32::new(0);
const JOB_OUTAGE_SCRIPT: u32 = 1;
const JOB_TRIP_THREAD_BREAKER: u32 = 2;

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    // SysTick (the clock) must preempt PendSV (where the script runs too).
    // SAFETY: set once before any priority-based sharing exists; this
    // firmware uses no priority-based critical sections.
    unsafe {
        cp.SCB.set_priority(SystemHandler::SysTick, 0x00);
        cp.SCB.set_priority(SystemHandler::PendSV, 0xC0);
    }
    time::start(&mut cp.SYST);
    hprintln!(
        "fusebox outage on {}: clock at {} ticks, 32-bit wrap in {} ms",
        env!("FW_TARGET"),
        time::now(),
        ((1u64 << 32) - time::now()) / TICKS_PER_MS
    );

    hprintln!(
        "sizes: Breaker<EmbassyClock> {} B (its Config {} B), EventQueue<16> {} B",
        core::mem::size_of::<fusebox_embedded::EmbassyBreaker>(),
        core::mem::size_of::<Config>(),
        core::mem::size_of::<EventQueue<16>>()
    );
    config_limits();
    hprintln!("-- thread mode --");
    outage_script(&THREAD_BREAKER);
    check_logged_outage("thread");

    hprintln!("-- PendSV handler --");
    run_in_pendsv(JOB_OUTAGE_SCRIPT);
    check_logged_outage("isr");
    check(
        time::now() > 1 << 32,
        "the clock crossed 2^32 ticks during the outages",
    );

    hprintln!("-- preemption --");
    stale_permit_after_interrupt_trip();

    hprintln!("-- interrupt vs thread stress --");
    stress::run(&mut cp.SYST);

    check(!cfg!(feature = "force-fail"), "force-fail feature is off");
    report::finish()
}

#[exception]
fn SysTick() {
    time::on_tick();
    stress::on_systick();
}

#[exception]
fn PendSV() {
    stress::on_pendsv();
    match PENDSV_JOB.load(Ordering::Acquire) {
        JOB_OUTAGE_SCRIPT => outage_script(&ISR_BREAKER),
        JOB_TRIP_THREAD_BREAKER => {
            for _ in 0..3 {
                if let Ok(p) = THREAD_BREAKER.try_acquire() {
                    let _ = p.failure();
                }
            }
        }
        _ => {}
    }
    PENDSV_JOB.store(0, Ordering::Release);
}

/// On a 32-bit target the open deadline is kept in 24-bit units, sized from
/// the longest open period (`max_trip_hint`, 10 minutes by default), and
/// `open_for` must span 16 units: at 10 kHz that is 3.2 ms (2-tick units).
fn config_limits() {
    let with_open = |open: Duration| {
        let config = Config::builder()
            .consecutive_failures(1)
            .open_for(open)
            .build();
        config.is_ok_and(|c| {
            fusebox_embedded::EmbassyBreaker::<NoWindow>::try_new(EmbassyClock, c).is_ok()
        })
    };
    check(
        !with_open(Duration::from_micros(3_100)) && with_open(Duration::from_micros(3_200)),
        "32-bit deadline: open_for >= 3.2 ms with the default max_trip_hint at 10 kHz",
    );
}

fn run_in_pendsv(job: u32) {
    PENDSV_JOB.store(job, Ordering::Release);
    SCB::set_pendsv();
    // PendSV runs before the next instruction in thread mode; wait anyway.
    while PENDSV_JOB.load(Ordering::Acquire) != 0 {
        cortex_m::asm::nop();
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Records `n` failures, then checks them.
fn failures(b: &OutageBreaker, n: u32) {
    let (mut counted, mut rejected) = (0, 0);
    for _ in 0..n {
        match b.try_acquire() {
            Ok(p) => counted += u32::from(p.failure() == Recorded::Counted),
            Err(_) => rejected += 1,
        }
    }
    check_eq(rejected, 0, "closed breaker permits every call");
    check_eq(counted, n, "every failure counted");
}

/// QEMU's virtual clock follows the host's, and SysTick interrupts that fell
/// due while QEMU was busy (a semihosting print, a descheduled host thread)
/// arrive in a burst: the firmware's clock can jump by a few ms. Checks
/// allow that much lateness where the firmware's own readings are involved;
/// none of them allows earliness.
const HOST_JITTER_TICKS: u64 = 50 * TICKS_PER_MS;

/// The core rounds deadlines up to its timer unit: 2 ticks here (the longest
/// open period, `max_trip_hint`'s 10 minutes, needs 2-tick units in 24 bits).
const DEADLINE_UNIT_TICKS: u64 = 2;

/// Checks the open period that just began: the deadline is `open_ms` after
/// the trip, both read from the core's own snapshot (exact, in ticks); a call
/// is rejected as `Open` with `retry_after` = what is left of it; the first
/// probe comes when it runs out, never earlier. Prints nothing until the
/// probe is in hand, so that printing cannot delay it.
fn open_period(b: &'static OutageBreaker, open_ms: u64) -> Option<Permit<&'static OutageBreaker>> {
    let snapshot = b.snapshot();
    let rejected_at = time::now();
    let rejection = b.try_acquire().err();
    let mut probe = None;
    while probe.is_none() && time::now() - rejected_at < time::TICK_HZ {
        probe = b.try_acquire().ok().map(|p| (p, time::now()));
    }

    let open = open_ms * TICKS_PER_MS;
    let Some(deadline) = snapshot.open_until else {
        check(false, "open: snapshot shows the deadline");
        return None;
    };
    // `last_transition_at` holds the low 32 bits of the trip's tick.
    let period = u64::from((deadline as u32).wrapping_sub(snapshot.last_transition_at as u32));
    let period_ok = period >= open && period <= open + DEADLINE_UNIT_TICKS;
    check(
        period_ok,
        "open: deadline = trip + open period (core's ticks)",
    );

    let Some(rejection) = rejection else {
        check(false, "open: rejects");
        return None;
    };
    check_eq(rejection.state, State::Open, "open: rejected as Open");
    let retry_after = rejection.retry_after.unwrap_or(Duration::ZERO);
    let retry_ticks = retry_after.as_micros() as u64 * time::TICK_HZ / 1_000_000;
    // The core read its clock at or after `rejected_at`.
    let told = rejected_at + retry_ticks;
    let retry_ok = told <= deadline && told + HOST_JITTER_TICKS >= deadline;
    check(retry_ok, "open: retry_after = time left until the deadline");

    let Some((probe, probed_at)) = probe else {
        check(false, "open: a probe within 1 s");
        return None;
    };
    let on_time = probed_at >= deadline && probed_at <= deadline + HOST_JITTER_TICKS;
    check(on_time, "open: first probe at the deadline, not before");
    if !(period_ok && retry_ok && on_time) {
        hprintln!(
            "       open {}, tripped at {}, deadline {}, rejected at {} retry_after {:?}, probe at {}",
            open,
            snapshot.last_transition_at,
            deadline,
            rejected_at,
            retry_after,
            probed_at
        );
    }
    Some(probe)
}

fn outage_script(b: &'static OutageBreaker) {
    check_eq(b.state(), State::Closed, "starts closed");
    match b.try_acquire() {
        Ok(p) => check_eq(p.success(), Recorded::Counted, "closed: success counted"),
        Err(_) => check(false, "closed: permits"),
    }

    failures(b, 2);
    check_eq(b.state(), State::Closed, "2 failures: still closed");
    failures(b, 1);
    check_eq(b.state(), State::Open, "3rd failure trips it");
    check_eq(b.snapshot().backoff_level, 0, "first trip: backoff level 0");

    let Some(first) = open_period(b, 20) else {
        return;
    };
    check_eq(
        first.state(),
        State::HalfOpen,
        "after 20 ms: half-open probe",
    );
    let second = b.try_acquire();
    check(second.is_ok(), "half-open: second probe permitted");
    match b.try_acquire() {
        Err(r) => check(
            r.state == State::HalfOpen && r.retry_after.is_none(),
            "half-open: third call rejected, no retry_after",
        ),
        Ok(_) => check(false, "half-open: third call rejected"),
    }
    drop(second); // a cancelled probe gives its slot back
    check_eq(
        b.snapshot().half_open_admitted,
        1,
        "cancelled probe released its slot",
    );
    let second = b.try_acquire();
    check(
        second.is_ok(),
        "half-open: slot reusable after the cancellation",
    );

    check_eq(first.failure(), Recorded::Counted, "probe failure counted");
    check_eq(b.state(), State::Open, "failed probe reopens it");
    check_eq(b.snapshot().backoff_level, 1, "reopened: backoff level 1");
    if let Ok(p) = second {
        check_eq(
            p.success(),
            Recorded::Stale,
            "the other probe's late success is stale",
        );
    }
    check_eq(b.state(), State::Open, "a stale success changes nothing");

    let Some(first) = open_period(b, 40) else {
        return;
    };
    let Ok(second) = b.try_acquire() else {
        return check(false, "second probe after backoff");
    };
    check_eq(first.success(), Recorded::Counted, "probe 1 succeeds");
    check_eq(
        b.state(),
        State::HalfOpen,
        "1 of 2 successes: still half-open",
    );
    check_eq(second.success(), Recorded::Counted, "probe 2 succeeds");
    check_eq(b.state(), State::Closed, "2 successes close it (recovered)");
    check_eq(
        b.snapshot().backoff_level,
        0,
        "closed: backoff level back to 0",
    );

    failures(b, 3);
    check_eq(b.state(), State::Open, "second outage trips it again");
    match b.try_acquire() {
        Err(r) => check(
            r.retry_after.is_some_and(|d| d <= ms(21)),
            "backoff started over at 20 ms",
        ),
        Ok(_) => check(false, "second outage rejects"),
    }
    b.reset();
    check_eq(b.state(), State::Closed, "reset closes it");
}

/// The transitions `outage_script` must have logged, in order.
const EXPECTED: [(State, State, TransitionReason); 7] = [
    (
        State::Closed,
        State::Open,
        TransitionReason::ConsecutiveFailures,
    ),
    (
        State::Open,
        State::HalfOpen,
        TransitionReason::OpenDeadlineReached,
    ),
    (State::HalfOpen, State::Open, TransitionReason::ProbeFailed),
    (
        State::Open,
        State::HalfOpen,
        TransitionReason::OpenDeadlineReached,
    ),
    (
        State::HalfOpen,
        State::Closed,
        TransitionReason::ProbesSucceeded,
    ),
    (
        State::Closed,
        State::Open,
        TransitionReason::ConsecutiveFailures,
    ),
    (State::Open, State::Closed, TransitionReason::Reset),
];

fn check_logged_outage(breaker: &str) {
    let mut seen = 0;
    let mut in_order = true;
    while let Some(event) = EVENTS.pop() {
        let t: &Transition = &event.transition;
        let expected = EXPECTED.get(seen);
        if event.breaker != breaker || expected != Some(&(t.from, t.to, t.reason)) {
            hprintln!("       unexpected event #{}: {:?}", seen, event);
            in_order = false;
        }
        seen += 1;
    }
    check(
        in_order && seen == EXPECTED.len(),
        "event queue logged the 7 transitions in order",
    );
    check_eq(EVENTS.take_dropped(), 0, "no event dropped");
}

fn stale_permit_after_interrupt_trip() {
    THREAD_BREAKER.reset();
    let _ = EVENTS.pop(); // the reset is not a transition here, but drain anyway
    let Ok(permit) = THREAD_BREAKER.try_acquire() else {
        return check(false, "closed breaker permits");
    };
    run_in_pendsv(JOB_TRIP_THREAD_BREAKER);
    check_eq(
        THREAD_BREAKER.state(),
        State::Open,
        "interrupt tripped the breaker",
    );
    check_eq(
        permit.success(),
        Recorded::Stale,
        "thread's permit from before the trip is stale",
    );
    check_eq(
        THREAD_BREAKER.state(),
        State::Open,
        "stale success did not close it",
    );
    while EVENTS.pop().is_some() {}
}

/// Thread mode, PendSV and the SysTick handler on one breaker.
mod stress;
