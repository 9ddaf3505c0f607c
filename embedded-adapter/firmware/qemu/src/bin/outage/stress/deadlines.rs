//! What each context knows about the open episodes, and what went wrong.
use super::*;

/// One open episode: its deadline, once seen, and the earliest it may
/// be (the start of the call that tripped it plus `open_for`).
#[derive(Clone, Copy)]
struct Episode {
    epoch: u64,
    deadline: Option<u64>,
    earliest: Option<u64>,
}

#[derive(Clone, Copy, Default)]
pub struct Totals {
    pub checks: u32,
    pub aliased_trips: u32,
    pub early: u32,
    pub unknown: u32,
    pub changed: u32,
    /// Unknown deadlines seen by a snapshot that a transition interleaved
    /// with (its state and timer reads straddled another episode).
    pub torn: u32,
}

struct Book {
    episodes: [Episode; 32],
    /// Start of the current call in thread mode, PendSV, SysTick.
    call_started: [u64; 3],
    last_open: u64,
    totals: Totals,
}

static BOOK: Mutex<RefCell<Book>> = Mutex::new(RefCell::new(Book {
    episodes: [Episode {
        epoch: u64::MAX,
        deadline: None,
        earliest: None,
    }; 32],
    call_started: [0; 3],
    last_open: 0,
    totals: Totals {
        checks: 0,
        aliased_trips: 0,
        early: 0,
        unknown: 0,
        changed: 0,
        torn: 0,
    },
}));

fn context() -> usize {
    match SCB::vect_active() {
        VectActive::ThreadMode => 0,
        VectActive::Exception(Exception::PendSV) => 1,
        _ => 2,
    }
}

fn with<R>(f: impl FnOnce(&mut Book) -> R) -> R {
    critical_section::with(|cs| f(&mut BOOK.borrow_ref_mut(cs)))
}

impl Book {
    fn episode(&mut self, epoch: u64) -> &mut Episode {
        let e = &mut self.episodes[(epoch % 32) as usize];
        if e.epoch != epoch {
            *e = Episode {
                epoch,
                deadline: None,
                earliest: None,
            };
        }
        e
    }

    fn deadline_seen(&mut self, epoch: u64, d: u64) {
        self.totals.checks += 1;
        let e = self.episode(epoch);
        let early = e.earliest.is_some_and(|min| d < min);
        let changed = e.deadline.is_some_and(|old| old != d);
        e.deadline = Some(d);
        self.totals.early += u32::from(early);
        self.totals.changed += u32::from(changed);
    }

    /// The episode `epoch` ended (or was found due) at `at`.
    fn due_at(&mut self, epoch: u64, at: u64) {
        self.totals.checks += 1;
        let e = self.episode(epoch);
        let early = e.deadline.is_some_and(|d| at < d) || e.earliest.is_some_and(|d| at < d);
        self.totals.early += u32::from(early);
    }
}

/// Runs one breaker call, noting when it started.
pub fn call<R>(f: impl FnOnce() -> R) -> R {
    let ctx = context();
    let now = time::now();
    with(|b| b.call_started[ctx] = now);
    f()
}

/// The epoch of the last trip.
pub fn last_open() -> u64 {
    with(|b| b.last_open)
}

pub fn totals() -> Totals {
    with(|b| b.totals)
}

/// After every call: an open breaker shows its deadline, one per
/// episode; one that shows none must be due, unless `strict` is off
/// (a handler may have preempted the opener before it published).
pub fn after_call(strict: bool) {
    let s = SHARED.snapshot();
    let now = time::now(); // after the snapshot's own reading
    if s.state != State::Open {
        return;
    }
    match s.open_until {
        Some(d) => with(|b| b.deadline_seen(s.epoch, d)),
        None if s.probe_eligible => with(|b| b.due_at(s.epoch, now)),
        None if strict => unknown_unless_torn(s.epoch),
        None => {}
    }
}

/// A snapshot in `epoch` showed no deadline: a fault if the epoch has
/// not moved since (else the snapshot's two reads straddled a transition).
fn unknown_unless_torn(epoch: u64) {
    let torn = SHARED.snapshot().epoch != epoch;
    with(|b| {
        b.totals.checks += 1;
        b.totals.unknown += u32::from(!torn);
        b.totals.torn += u32::from(torn);
    });
}

/// After every transition, in the context that made it (after its
/// follow-up): the trip's deadline is at least `open_for` after the call
/// began and is what a snapshot shows while the episode lasts; a
/// half-open never comes before the deadline it ends.
pub fn after_transition(t: &Transition) {
    let ctx = context();
    let snapshot = SHARED.snapshot();
    let mut unknown = false;
    with(|b| {
        if t.to == State::Open && matches!(t.from, State::Closed | State::HalfOpen) {
            let earliest = b.call_started[ctx] + OPEN_TICKS;
            if (t.epoch & EPOCH_MASK) % TAG_RANGE == b.last_open % TAG_RANGE {
                b.totals.aliased_trips += 1;
            }
            b.last_open = t.epoch;
            b.episode(t.epoch).earliest = Some(earliest);
            if let Some(d) = t.open_until {
                b.deadline_seen(t.epoch, d);
            }
            if snapshot.epoch == t.epoch {
                // Still this episode: the opener has published, and knows it.
                let knows = t.open_until.is_some()
                    && (snapshot.open_until == t.open_until || snapshot.probe_eligible);
                if knows {
                    b.totals.checks += 1;
                } else {
                    unknown = true;
                }
            }
        }
        if t.reason == TransitionReason::OpenDeadlineReached {
            b.due_at(t.epoch.wrapping_sub(1) & EPOCH_MASK, t.at);
        }
    });
    if unknown {
        unknown_unless_torn(t.epoch);
    }
}
