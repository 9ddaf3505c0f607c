use super::*;
use crate::state::StateWord;

fn state_at(epoch: Word) -> AtomicWord {
    atomic_word(
        StateWord {
            epoch,
            ..StateWord::INITIAL
        }
        .pack(),
    )
}

fn ctx(state: &AtomicWord, epoch: Word) -> Ctx<'_> {
    Ctx {
        epoch,
        state,
        now: 0,
        slots: SlotClock::new(1),
    }
}

const F: Entry = Entry {
    failure: true,
    slow: false,
};
const S: Entry = Entry {
    failure: false,
    slow: false,
};

fn counts(c: Put) -> WindowCounts {
    match c {
        Put::Counted(c) => c,
        Put::Stale => panic!("stale"),
    }
}

#[test]
fn keeps_exactly_the_last_n_outcomes() {
    let w = CountWindow::<3>::EMPTY;
    let st = state_at(0);
    let cx = ctx(&st, 0);
    assert_eq!(counts(w.put(&cx, F, true)).failures, 1);
    w.put(&cx, F, true);
    let c = counts(w.put(&cx, S, true));
    assert_eq!((c.calls, c.failures), (3, 2));
    // The first failure leaves the window.
    let c = counts(w.put(&cx, S, true));
    assert_eq!((c.calls, c.failures), (3, 1));
    let c = counts(w.put(&cx, S, true));
    assert_eq!((c.calls, c.failures), (3, 0));
}

#[test]
fn a_window_of_one_holds_the_latest_outcome() {
    let w = CountWindow::<1>::EMPTY;
    let st = state_at(0);
    let cx = ctx(&st, 0);
    assert_eq!(
        counts(w.put(&cx, F, true)),
        WindowCounts {
            calls: 1,
            failures: 1,
            slow: 0
        }
    );
    assert_eq!(
        counts(w.put(&cx, S, true)),
        WindowCounts {
            calls: 1,
            failures: 0,
            slow: 0
        }
    );
}

#[test]
fn a_new_episode_starts_empty_and_old_cells_are_not_subtracted() {
    let w = CountWindow::<2>::EMPTY;
    let st = state_at(0);
    w.put(&ctx(&st, 0), F, true);
    w.put(&ctx(&st, 0), F, true);
    let st = state_at(3);
    let c = counts(w.put(&ctx(&st, 3), S, true));
    assert_eq!(
        c,
        WindowCounts {
            calls: 1,
            failures: 0,
            slow: 0
        }
    );
    let c = counts(w.put(&ctx(&st, 3), S, true));
    assert_eq!(
        c,
        WindowCounts {
            calls: 2,
            failures: 0,
            slow: 0
        }
    );
    assert_eq!(w.counts(0, 0, SlotClock::new(1)), WindowCounts::default());
}

#[test]
fn a_stale_outcome_changes_nothing_and_restores_the_ring() {
    let w = CountWindow::<2>::EMPTY;
    let st = state_at(5);
    w.put(&ctx(&st, 5), F, true);
    w.put(&ctx(&st, 5), S, true);
    assert_eq!(w.put(&ctx(&st, 4), F, true), Put::Stale);
    assert_eq!(
        w.counts(5, 0, SlotClock::new(1)),
        WindowCounts {
            calls: 2,
            failures: 1,
            slow: 0
        }
    );
    // The ring still holds both outcomes: two more successes evict them exactly.
    w.put(&ctx(&st, 5), S, true);
    let c = counts(w.put(&ctx(&st, 5), S, true));
    assert_eq!(
        c,
        WindowCounts {
            calls: 2,
            failures: 0,
            slow: 0
        }
    );
}

#[test]
fn transient_negatives_clamp_and_settle() {
    // Evicting before the evicted outcome was added: calls goes "negative".
    let a = apply(0, F, false);
    assert_eq!(decode(a, 4), WindowCounts::default());
    let a = apply(a, F, true);
    assert_eq!(decode(a, 4), WindowCounts::default());
    assert_eq!(a & !(FIELD_MASK << TAG), 0);
}

#[test]
fn transitions_sweep_old_cells_and_retag_the_aggregate() {
    let w = CountWindow::<2>::EMPTY;
    let st = state_at(0);
    w.put(&ctx(&st, 0), F, true);
    w.put(&ctx(&st, 0), F, true);
    for epoch in 1..=2 {
        let st = state_at(epoch);
        w.after_transition(epoch, &st, 0, SlotClock::new(1));
    }
    assert!(w
        .cells
        .cells()
        .iter()
        .all(|c| c.0.load(Ordering::Relaxed) == 0));
    assert_eq!(w.aggregate.load(Ordering::Relaxed) >> TAG, 2);
}

#[test]
fn an_outcome_evicting_one_of_its_kind_writes_no_word() {
    let w = CountWindow::<2>::EMPTY;
    let st = state_at(0);
    let cx = ctx(&st, 0);
    w.put(&cx, S, false);
    w.put(&cx, F, false);
    let agg = w.aggregate.load(Ordering::Relaxed);
    let cells: [u32; 2] = core::array::from_fn(|i| w.cells.cells()[i].0.load(Ordering::Relaxed));
    // Ticket 2 evicts the success of ticket 0, ticket 3 the failure of ticket 1.
    assert_eq!(w.put(&cx, S, false), Put::Counted(WindowCounts::default()));
    assert_eq!(
        counts(w.put(&cx, F, true)),
        WindowCounts {
            calls: 2,
            failures: 1,
            slow: 0
        }
    );
    assert_eq!(w.aggregate.load(Ordering::Relaxed), agg);
    for (i, c) in cells.iter().enumerate() {
        assert_eq!(w.cells.cells()[i].0.load(Ordering::Relaxed), *c);
    }
    assert_eq!(w.ticket.load(Ordering::Relaxed), 4);
}

#[test]
fn a_stale_outcome_evicting_one_of_its_kind_is_stale() {
    let w = CountWindow::<1>::EMPTY;
    let st = state_at(0);
    w.put(&ctx(&st, 0), S, false);
    // The episode ended after the permit's check: the ring holds an equal
    // word of the old episode, and the record must not report Counted.
    let ended = state_at(1);
    let stale = Ctx {
        epoch: 0,
        state: &ended,
        now: 0,
        slots: SlotClock::new(1),
    };
    assert_eq!(w.put(&stale, S, false), Put::Stale);
    assert_eq!(w.counts(1, 0, SlotClock::new(1)), WindowCounts::default());
}

#[test]
fn mixed_sequences_match_the_last_n_outcomes() {
    // Every kind evicting every kind, including slow ones, against a plain
    // list of the last N.
    const N: usize = 5;
    let kinds = [
        S,
        F,
        Entry {
            failure: false,
            slow: true,
        },
        Entry {
            failure: true,
            slow: true,
        },
    ];
    let w = CountWindow::<N>::EMPTY;
    let st = state_at(0);
    let cx = ctx(&st, 0);
    let mut last: [Option<Entry>; N] = [None; N];
    let mut x: u32 = 7;
    for i in 0..400 {
        // A small LCG: runs of equal kinds as well as changes.
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let e = kinds[((x >> 16) % 4) as usize * usize::from(!(x >> 12).is_multiple_of(3))];
        last[i % N] = Some(e);
        let c = counts(w.put(&cx, e, true));
        let expect = WindowCounts {
            calls: last.iter().flatten().count() as u32,
            failures: last.iter().flatten().filter(|e| e.failure).count() as u32,
            slow: last.iter().flatten().filter(|e| e.slow).count() as u32,
        };
        assert_eq!(c, expect, "record {i}");
    }
}
