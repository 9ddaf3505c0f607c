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

const F: Entry = Entry {
    failure: true,
    slow: false,
};
const OK: Entry = Entry {
    failure: false,
    slow: false,
};
const SLOW: Entry = Entry {
    failure: false,
    slow: true,
};

fn put<const B: usize, const S: usize>(
    w: &TimeWindow<B, S>,
    st: &AtomicWord,
    epoch: Word,
    now: u64,
    e: Entry,
) -> Put {
    w.put(
        &Ctx {
            epoch,
            state: st,
            now,
            slots: SlotClock::new(10),
        },
        e,
        true,
    )
}

fn counted(p: Put) -> WindowCounts {
    match p {
        Put::Counted(c) => c,
        Put::Stale => panic!("stale"),
    }
}

#[test]
fn buckets_expire_one_by_one() {
    // 3 buckets of 10 ticks: the span is 30 ticks.
    let w = TimeWindow::<3>::EMPTY;
    let st = state_at(0);
    put(&w, &st, 0, 0, F);
    put(&w, &st, 0, 10, F);
    assert_eq!(
        counted(put(&w, &st, 0, 20, OK)),
        WindowCounts {
            calls: 3,
            failures: 2,
            slow: 0
        }
    );
    // At t=30 the bucket of t=0 has left the window.
    assert_eq!(
        counted(put(&w, &st, 0, 30, SLOW)),
        WindowCounts {
            calls: 3,
            failures: 1,
            slow: 1
        }
    );
    assert_eq!(
        w.counts(0, 39, SlotClock::new(10)),
        WindowCounts {
            calls: 3,
            failures: 1,
            slow: 1
        }
    );
    assert_eq!(
        w.counts(0, 40, SlotClock::new(10)),
        WindowCounts {
            calls: 2,
            failures: 0,
            slow: 1
        }
    );
}

#[test]
fn idle_time_of_any_length_empties_the_window() {
    let w = TimeWindow::<4>::EMPTY;
    let st = state_at(0);
    put(&w, &st, 0, 5, F);
    // Far enough for every stamp to wrap many times over.
    let far = 10 * (1u64 << STAMP_BITS) * 7 + 5;
    assert_eq!(
        counted(put(&w, &st, 0, far, OK)),
        WindowCounts {
            calls: 1,
            failures: 0,
            slow: 0
        }
    );
}

/// After any idle gap, the first record counts and nothing older does,
/// whatever the old stamps read as once the gap has wrapped them
/// (equal, older, or newer than the new slot).
fn record_after_idle_gaps<const B: usize>() {
    let half = 1u64 << (STAMP_BITS - 1);
    let full = 1u64 << STAMP_BITS;
    let b = B as u64;
    let near = |edge: u64| edge.saturating_sub(b + 2).max(1)..=edge + b + 2;
    let gaps = [1, b, b + 1, 3 * full + 1, 10 * full]
        .into_iter()
        .chain(near(half))
        .chain(near(full))
        .chain(near(full + half));
    for gap in gaps {
        let w = TimeWindow::<B>::EMPTY;
        let st = state_at(0);
        // Every bucket holds a failure from the slots before the gap.
        for slot in 0..b {
            put(&w, &st, 0, 10 * (1_000 + slot), F);
        }
        let last = 10 * (1_000 + b - 1);
        let at = last + 10 * gap;
        let counts = counted(put(&w, &st, 0, at, OK));
        let expected_failures = b.saturating_sub(gap) as u32;
        assert_eq!(
            counts,
            WindowCounts {
                calls: expected_failures + 1,
                failures: expected_failures,
                slow: 0
            },
            "B = {B}, gap of {gap} slots"
        );
        // The next record in the same slot counts too.
        assert_eq!(
            counted(put(&w, &st, 0, at + 1, F)).calls,
            expected_failures + 2
        );
    }
}

#[test]
fn a_record_after_an_idle_gap_counts_however_the_old_stamps_wrapped() {
    record_after_idle_gaps::<1>();
    record_after_idle_gaps::<4>();
    record_after_idle_gaps::<16>();
}

#[test]
fn a_window_of_one_bucket_holds_only_the_current_slot() {
    let w = TimeWindow::<1>::EMPTY;
    let st = state_at(0);
    put(&w, &st, 0, 1, F);
    assert_eq!(counted(put(&w, &st, 0, 9, F)).failures, 2);
    assert_eq!(
        counted(put(&w, &st, 0, 10, OK)),
        WindowCounts {
            calls: 1,
            failures: 0,
            slow: 0
        }
    );
}

#[test]
fn a_new_episode_starts_empty_even_within_the_same_slot() {
    let w = TimeWindow::<3>::EMPTY;
    let st = state_at(0);
    put(&w, &st, 0, 1, F);
    put(&w, &st, 0, 2, F);
    let st = state_at(3);
    w.after_transition(3, &st, 3, SlotClock::new(10));
    assert_eq!(w.counts(3, 3, SlotClock::new(10)), WindowCounts::default());
    assert_eq!(
        counted(put(&w, &st, 3, 4, OK)),
        WindowCounts {
            calls: 1,
            failures: 0,
            slow: 0
        }
    );
    // A stale writer of episode 0 is refused.
    assert_eq!(put(&w, &st, 0, 5, F), Put::Stale);
}

#[test]
fn striped_counts_add_up() {
    let w = TimeWindow::<2, 4>::EMPTY;
    let st = state_at(0);
    // The episode starts with this thread's record, in its own stripe.
    put(&w, &st, 0, 0, OK);
    let live: [Word; 4] =
        core::array::from_fn(|r| w.grid.0[r].0[0].calls.load(Ordering::Relaxed) & COUNT_MASK);
    let mine = live
        .iter()
        .position(|&c| c == 1)
        .expect("one stripe holds the record");
    assert_eq!(live.iter().sum::<Word>(), 1);
    let word = w.grid.0[mine].0[0].calls.load(Ordering::Relaxed);
    let slot = word >> COUNT_BITS;
    // Other threads' records in the same slot land in their own stripes:
    // 2 calls in each other row, 1 failure in the last one.
    for row in (0..4).filter(|&r| r != mine) {
        bump(&w.grid.0[row].0[0].calls, slot, 2, add_calls);
    }
    let other = (mine + 1) % 4;
    bump(&w.grid.0[other].0[0].bad, slot, 1, add_bad);
    assert_eq!(
        w.counts(0, 0, SlotClock::new(10)),
        WindowCounts {
            calls: 1 + 3 * 2,
            failures: 1,
            slow: 0
        }
    );
}

#[test]
fn judged_counts_match_a_full_sum_at_every_record() {
    // Failures in every slot, across bucket reuse and the expiry of old
    // buckets: the summary plus the current column equals the full sweep.
    let w = TimeWindow::<4, 3>::EMPTY;
    let st = state_at(0);
    let mut x: u32 = 11;
    for i in 0..600u64 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let e = match (x >> 16) % 5 {
            0 => F,
            1 => SLOW,
            _ => OK,
        };
        let now = i / 7 * 3 + u64::from((x >> 8).is_multiple_of(3)) * 40;
        let judged = counted(put(&w, &st, 0, now, e));
        if e != OK {
            assert_eq!(
                judged,
                w.counts(0, now, SlotClock::new(10)),
                "record {i} at {now}"
            );
        }
    }
}

/// As the breaker puts: counts only for a failure or a slow call.
fn record<const B: usize, const S: usize>(
    w: &TimeWindow<B, S>,
    st: &AtomicWord,
    now: u64,
    e: Entry,
) -> Put {
    w.put(
        &Ctx {
            epoch: 0,
            state: st,
            now,
            slots: SlotClock::new(10),
        },
        e,
        e.failure || e.slow,
    )
}

#[test]
fn a_summary_is_published_once_per_slot_and_reused() {
    let w = TimeWindow::<3>::EMPTY;
    let st = state_at(0);
    record(&w, &st, 0, OK);
    record(&w, &st, 10, OK);
    assert_eq!(w.summary_at.load(Ordering::Relaxed), NO_SUMMARY);
    let c = counted(record(&w, &st, 20, F));
    assert_eq!((c.calls, c.failures), (3, 1));
    let at = w.summary_at.load(Ordering::Relaxed);
    assert_eq!(at & (BUSY | NO_SUMMARY), 0, "a summary is published");
    assert_eq!(w.older[0].load(Ordering::Relaxed), 2);
    // A second failure in the slot reads it (and the column).
    let c = counted(record(&w, &st, 25, F));
    assert_eq!((c.calls, c.failures), (4, 2));
    assert_eq!(w.summary_at.load(Ordering::Relaxed), at);
    // A late record into an older bucket is in snapshots at once, and in
    // judgments from the next slot on.
    record(&w, &st, 12, OK);
    assert_eq!(w.counts(0, 25, SlotClock::new(10)).calls, 5);
    assert_eq!(
        counted(record(&w, &st, 26, F)).calls,
        5,
        "missed in this slot"
    );
    // Slot 3: the bucket of t=0 left; the late record is counted.
    assert_eq!(counted(record(&w, &st, 30, F)).calls, 6);
}

#[test]
fn a_forged_summary_is_used_only_for_its_own_slot() {
    // The summary words decide the judged counts; a summary of another slot,
    // or one being published, is never read.
    let w = TimeWindow::<3>::EMPTY;
    let st = state_at(0);
    record(&w, &st, 0, OK);
    counted(record(&w, &st, 10, F));
    let at = w.summary_at.load(Ordering::Relaxed);
    w.older[0].store(1000, Ordering::Relaxed);
    assert_eq!(
        counted(record(&w, &st, 11, F)).calls,
        1002,
        "own slot: read"
    );
    w.summary_at.store(at | BUSY, Ordering::Relaxed);
    assert_eq!(counted(record(&w, &st, 12, F)).calls, 4, "busy: summed");
    w.summary_at.store(at.wrapping_sub(1), Ordering::Relaxed);
    assert_eq!(
        counted(record(&w, &st, 13, F)).calls,
        5,
        "other slot: summed"
    );
}

#[test]
fn an_idle_gap_drops_the_summary() {
    let w = TimeWindow::<2>::EMPTY;
    let st = state_at(0);
    record(&w, &st, 0, OK);
    counted(record(&w, &st, 10, F));
    assert_ne!(w.summary_at.load(Ordering::Relaxed), NO_SUMMARY);
    record(&w, &st, 1_000, OK);
    assert_eq!(w.summary_at.load(Ordering::Relaxed), NO_SUMMARY);
}

/// The throttle's cells carry only the low bits of the epoch: the calls
/// throttled in an episode a whole tag range back must not count in the
/// episode that shares its tag (found by the model suite on the narrow
/// layout, where the range is 16 epochs).
#[test]
#[cfg(feature = "throttle")]
fn throttled_calls_of_an_episode_a_tag_range_back_are_forgotten() {
    use crate::shape::T_TAG_BITS;
    let w = TimeWindow::<4>::EMPTY;
    let slots = SlotClock::new(10);
    let st = state_at(0);
    w.after_transition(0, &st, 5, slots);
    w.throttled_add(0, slots.slot(5));
    w.throttled_add(0, slots.slot(5));
    assert_eq!(w.throttled_sum(0, slots.slot(5)), 2);
    let range: Word = 1 << T_TAG_BITS;
    for epoch in 1..=range {
        let st = state_at(epoch);
        w.after_transition(epoch, &st, 5, slots);
        assert_eq!(w.throttled_sum(epoch, slots.slot(5)), 0, "epoch {epoch}");
    }
    // A call of the current episode counted before its window's start (a
    // racing admission) is kept: only other episodes' cells are emptied.
    let next = range + 1;
    w.throttled_add(next, slots.slot(5));
    let st = state_at(next);
    w.after_transition(next, &st, 5, slots);
    assert_eq!(w.throttled_sum(next, slots.slot(5)), 1);
}
