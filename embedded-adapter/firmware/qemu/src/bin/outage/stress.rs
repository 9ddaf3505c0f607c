//! Thread mode and the SysTick handler on one breaker.
use super::*;

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

/// Counts transitions from whichever context made them, and queues them
/// too: events drained plus events dropped must equal the count.
pub struct CountAndQueue {
    count: AtomicU32,
    queue: QueueObserver<'static, 8>,
}

impl Observer for CountAndQueue {
    fn on_transition(&self, t: &Transition) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.queue.on_transition(t);
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

/// The stress runs for at least this many thread-mode calls and at least
/// this long (0.3 s of the firmware's clock, ~3000 SysTick interrupts):
/// how many calls fit in a tick depends on the host running QEMU.
const MIN_THREAD_CALLS: u32 = 200_000;
const MIN_TICKS: u64 = 3 * time::TICK_HZ / 10;

fn admitted_ok() -> bool {
    SHARED.snapshot().half_open_admitted <= 2
}

pub fn on_systick() {
    if !ACTIVE.load(Ordering::Relaxed) {
        return;
    }
    let n = ISR_CALLS.load(Ordering::Relaxed).wrapping_add(1);
    ISR_CALLS.store(n, Ordering::Relaxed);
    // Only on some ticks: a handler that runs right after every tick
    // would always be first to see an open deadline pass.
    if n.wrapping_mul(0x9E37_79B9) >> 30 != 0 {
        return;
    }
    if let Ok(p) = SHARED.try_acquire() {
        ISR_PERMITS.store(ISR_PERMITS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        // Mostly failures, so that it keeps tripping.
        let recorded = if n & 4 == 0 { p.success() } else { p.failure() };
        if recorded == Recorded::Discarded || !admitted_ok() {
            ISR_BAD.store(ISR_BAD.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }
}

pub fn run(syst: &mut cortex_m::peripheral::SYST) {
    let (mut permitted, mut stale, mut bad) = (0u32, 0u32, 0u32);
    let mut rng = 0x2545_f491u32;
    ACTIVE.store(true, Ordering::Relaxed);
    let mut drained = 0u32;
    let started = time::now();
    let mut i = 0u32;
    while i < MIN_THREAD_CALLS || time::now() - started < MIN_TICKS {
        i += 1;
        if i & 63 == 0 {
            while STRESS_EVENTS.pop().is_some() {
                drained += 1;
            }
        }
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        if let Ok(p) = SHARED.try_acquire() {
            permitted += 1;
            // Hold the permit a little, so interrupts land mid-call.
            for _ in 0..(rng & 31) {
                cortex_m::asm::nop();
            }
            let recorded = if rng & 1 == 0 {
                p.success()
            } else {
                p.failure()
            };
            match recorded {
                Recorded::Stale => stale += 1,
                Recorded::Discarded => bad += 1,
                Recorded::Counted => {}
            }
        }
        if !admitted_ok() {
            bad += 1;
        }
    }
    // Stop the interrupt side, then read everything with interrupts off
    // (a SysTick may still be pending).
    ACTIVE.store(false, Ordering::Relaxed);
    syst.disable_interrupt();
    let (isr_calls, isr_permits, isr_bad, snapshot, transitions) =
        cortex_m::interrupt::free(|_| {
            (
                ISR_CALLS.load(Ordering::Relaxed),
                ISR_PERMITS.load(Ordering::Relaxed),
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
    hprintln!(
        "stress: thread {} calls ({} permitted, {} stale); SysTick {} ticks ({} permitted); {} transitions ({} queued, {} dropped)",
        i,
        permitted,
        stale,
        isr_calls,
        isr_permits,
        transitions,
        drained,
        dropped
    );
    check(
        permitted >= 10 && isr_permits >= 10,
        "both contexts made calls (at least 10 permitted each)",
    );
    check(
        transitions >= 20,
        "the shared breaker cycled (at least 20 transitions)",
    );
    check_eq(
        bad + isr_bad,
        0,
        "no discarded record, half-open limit held at every sample",
    );
    check_eq(
        snapshot.epoch,
        u64::from(transitions),
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
