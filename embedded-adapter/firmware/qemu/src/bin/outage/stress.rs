//! Thread mode, PendSV and the SysTick handler on one breaker.
//!
//! Besides the accounting checks at the end, every context checks the open
//! deadline after every call and the observer after every transition
//! (DESIGN.md §13, issue 12): an open episode keeps one deadline, never half-
//! opens before it nor before `open_for` after the call that tripped it, and
//! knows it (`open_until`) once its opener has finished. Thread mode also
//! runs bursts of operator calls that bring the epoch a whole timer-tag range
//! (256 epochs on these 32-bit targets) past the last trip before tripping
//! again, so the epoch crosses the tag range well over a hundred times.
use super::*;
use core::cell::RefCell;
use cortex_m::peripheral::scb::{Exception, VectActive};
use critical_section::Mutex;

/// Open for 2 ms (20 ticks), so the breaker cycles many times. (On a
/// 32-bit target the deadline unit grows with the longest possible open
/// period, `max_trip_hint` included, and `open_for` must span 16 units:
/// with the default 10-minute hint that is 3.2 ms at 10 kHz.)
const SHARED_CONFIG: Config = unwrap(
    Config::builder()
        .consecutive_failures(2)
        .open_for(Duration::from_millis(2))
        .max_trip_hint(Duration::from_millis(100))
        .half_open_permits(2)
        .success_threshold(1)
        .build(),
);
const OPEN_TICKS: u64 = 2 * TICKS_PER_MS;
/// Epochs the timer word's tag tells apart on a 32-bit target.
const TAG_RANGE: u64 = 256;
/// The state word's epoch wraps at 2^15 on a 32-bit target.
const EPOCH_MASK: u64 = (1 << 15) - 1;

/// Counts transitions from whichever context made them, queues them, and
/// checks each one's deadline.
pub struct CountAndQueue {
    count: AtomicU32,
    queue: QueueObserver<'static, 8>,
}

impl Observer for CountAndQueue {
    fn on_transition(&self, t: &Transition) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.queue.on_transition(t);
        deadlines::after_transition(t);
    }
}

static STRESS_EVENTS: EventQueue<8> = EventQueue::new();

static SHARED: Breaker<EmbassyClock, NoWindow, CountAndQueue> = match Breaker::with_observer(
    EmbassyClock,
    SHARED_CONFIG,
    CountAndQueue {
        count: AtomicU32::new(0),
        queue: STRESS_EVENTS.observer("shared"),
    },
) {
    Ok(b) => b,
    Err(_) => panic!("bad breaker config"),
};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static ISR_CALLS: LoadStoreU32 = LoadStoreU32::new(0);
static ISR_PERMITS: LoadStoreU32 = LoadStoreU32::new(0);
static ISR_BAD: LoadStoreU32 = LoadStoreU32::new(0);
static PENDSV_CALLS: LoadStoreU32 = LoadStoreU32::new(0);
static PENDSV_PERMITS: LoadStoreU32 = LoadStoreU32::new(0);

/// The stress runs for at least this many thread-mode calls, this many
/// alias bursts and this long (0.3 s of the firmware's clock, ~3000 SysTick
/// interrupts): how many calls fit in a tick depends on the host.
const MIN_THREAD_CALLS: u32 = 200_000;
const MIN_BURSTS: u32 = 300;
const MIN_TICKS: u64 = 3 * time::TICK_HZ / 10;

fn admitted_ok() -> bool {
    SHARED.snapshot().half_open_admitted <= 2
}

/// One call with a success or a failure; returns whether it was permitted.
fn one_call(fail: bool) -> bool {
    let Ok(p) = deadlines::call(|| SHARED.try_acquire()) else {
        return false;
    };
    // A permit granted while an operator burst had it disabled is discarded.
    let disabled = p.state() == State::Disabled;
    let recorded = deadlines::call(|| if fail { p.failure() } else { p.success() });
    if (recorded == Recorded::Discarded) != disabled || !admitted_ok() {
        ISR_BAD.store(ISR_BAD.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
    true
}

pub fn on_systick() {
    if !ACTIVE.load(Ordering::Relaxed) {
        return;
    }
    let n = ISR_CALLS.load(Ordering::Relaxed).wrapping_add(1);
    ISR_CALLS.store(n, Ordering::Relaxed);
    // PendSV on some ticks: it runs when SysTick returns, preempting thread
    // mode, and SysTick preempts it in turn.
    if n.wrapping_mul(0x85EB_CA6B) >> 29 == 0 {
        SCB::set_pendsv();
    }
    // Only on some ticks: a handler that runs right after every tick
    // would always be first to see an open deadline pass.
    if n.wrapping_mul(0x9E37_79B9) >> 30 != 0 {
        return;
    }
    // Mostly failures, so that it keeps tripping.
    if one_call(n & 4 != 0) {
        ISR_PERMITS.store(ISR_PERMITS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
    deadlines::after_call(false);
}

pub fn on_pendsv() {
    if !ACTIVE.load(Ordering::Relaxed) {
        return;
    }
    let n = PENDSV_CALLS.load(Ordering::Relaxed).wrapping_add(1);
    PENDSV_CALLS.store(n, Ordering::Relaxed);
    for i in 0..3 {
        if one_call((n + i) & 1 == 0) {
            PENDSV_PERMITS.store(
                PENDSV_PERMITS.load(Ordering::Relaxed) + 1,
                Ordering::Relaxed,
            );
        }
        deadlines::after_call(false);
    }
    if n.is_multiple_of(16) {
        deadlines::call(|| SHARED.reset());
        deadlines::after_call(false);
    }
}

/// Operator calls that move the epoch without any deadline, ending with a
/// `reset()` whose epoch is one below the last trip's plus a multiple of the
/// tag range, then two failures: the trip gets the last one's tag (unless
/// an interrupt moved the epoch in between, which is fine too).
fn alias_burst() {
    let last = deadlines::last_open();
    let now = SHARED.snapshot().epoch;
    let k = match (last % TAG_RANGE + 2 * TAG_RANGE - 1 - now % TAG_RANGE) % TAG_RANGE {
        0 => TAG_RANGE,
        k => k,
    };
    for i in 1..=k {
        deadlines::call(|| match i % 5 {
            _ if i == k => SHARED.reset(),
            0 => SHARED.force_open(),
            1 => SHARED.metrics_only(),
            2 => SHARED.disable(),
            3 => SHARED.transition_to_half_open(),
            _ => SHARED.reset(),
        });
        deadlines::after_call(true);
    }
    for _ in 0..2 {
        one_call(true);
        deadlines::after_call(true);
    }
}

pub fn run(syst: &mut cortex_m::peripheral::SYST) {
    let (mut permitted, mut stale, mut bad, mut bursts) = (0u32, 0u32, 0u32, 0u32);
    let mut rng = 0x2545_f491u32;
    ACTIVE.store(true, Ordering::Relaxed);
    let mut drained = 0u32;
    let started = time::now();
    let mut i = 0u32;
    while i < MIN_THREAD_CALLS || bursts < MIN_BURSTS || time::now() - started < MIN_TICKS {
        i += 1;
        if i & 63 == 0 {
            while STRESS_EVENTS.pop().is_some() {
                drained += 1;
            }
        }
        if i.is_multiple_of(512) {
            alias_burst();
            bursts += 1;
        }
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        if let Ok(p) = deadlines::call(|| SHARED.try_acquire()) {
            permitted += 1;
            let disabled = p.state() == State::Disabled;
            // Hold the permit a little, so interrupts land mid-call.
            for _ in 0..(rng & 31) {
                cortex_m::asm::nop();
            }
            let recorded = deadlines::call(|| {
                if rng & 1 == 0 {
                    p.success()
                } else {
                    p.failure()
                }
            });
            match recorded {
                Recorded::Stale => stale += 1,
                Recorded::Discarded if disabled => {}
                Recorded::Discarded => bad += 1,
                Recorded::Counted => bad += u32::from(disabled),
            }
        }
        deadlines::after_call(true);
        if !admitted_ok() {
            bad += 1;
        }
    }
    // Stop the interrupt side, then read everything with interrupts off
    // (a SysTick may still be pending).
    ACTIVE.store(false, Ordering::Relaxed);
    syst.disable_interrupt();
    let (isr_calls, isr_permits, pendsv_calls, pendsv_permits, isr_bad, snapshot, transitions) =
        cortex_m::interrupt::free(|_| {
            (
                ISR_CALLS.load(Ordering::Relaxed),
                ISR_PERMITS.load(Ordering::Relaxed),
                PENDSV_CALLS.load(Ordering::Relaxed),
                PENDSV_PERMITS.load(Ordering::Relaxed),
                ISR_BAD.load(Ordering::Relaxed),
                SHARED.snapshot(),
                SHARED.observer().count.load(Ordering::Relaxed),
            )
        });
    syst.enable_interrupt();
    while STRESS_EVENTS.pop().is_some() {
        drained += 1;
    }
    let dropped = STRESS_EVENTS.take_dropped();
    let d = deadlines::totals();
    hprintln!(
        "stress: thread {} calls ({} permitted, {} stale, {} alias bursts); SysTick {} ticks ({} permitted); PendSV {} runs ({} permitted); {} transitions ({} queued, {} dropped)",
        i,
        permitted,
        stale,
        bursts,
        isr_calls,
        isr_permits,
        pendsv_calls,
        pendsv_permits,
        transitions,
        drained,
        dropped
    );
    hprintln!(
        "stress deadlines: {} checks, {} trips with the tag of an earlier one; early {}, unknown {}, changed {} ({} torn snapshots)",
        d.checks,
        d.aliased_trips,
        d.early,
        d.unknown,
        d.changed,
        d.torn
    );
    check(
        permitted >= 10 && isr_permits >= 10 && pendsv_permits >= 10,
        "all three contexts made calls (at least 10 permitted each)",
    );
    check(
        u64::from(transitions) >= 100 * TAG_RANGE,
        "the epoch crossed the 8-bit timer tag range at least 100 times",
    );
    check(
        d.aliased_trips >= 50,
        "at least 50 trips landed on the tag of the trip before",
    );
    check_eq(
        bad + isr_bad,
        0,
        "discarded exactly when granted disabled; half-open limit held at every sample",
    );
    check_eq(
        d.early,
        0,
        "no half-open (or probe eligibility) before the open deadline in force",
    );
    check_eq(
        d.unknown,
        0,
        "an open episode knows its deadline once its opener has finished",
    );
    check_eq(d.changed, 0, "an open episode keeps one deadline");
    check_eq(
        snapshot.epoch,
        u64::from(transitions) & EPOCH_MASK,
        "every epoch bump was one observed transition",
    );
    check_eq(
        drained + dropped,
        transitions,
        "event queue: every transition drained or counted as dropped",
    );
    check(
        matches!(
            snapshot.state,
            State::Closed | State::Open | State::HalfOpen
        ),
        "shared breaker ends in an automatic state",
    );
}

mod deadlines;
