//! Invariant (a) of DESIGN.md §7: admitted half-open probes never exceed
//! `half_open_permits`, however the admissions and give-backs interleave.
#![cfg(fusebox_loom)]

mod common;

use common::{breaker, model, thread, Arc, Logged};
use fusebox_core::{Breaker, Config, NoWindow, Recorded, State};
use loom::sync::atomic::{AtomicUsize, Ordering};

fn half_open(permits: u32) -> Arc<Logged<NoWindow>> {
    let config = Config::builder()
        .consecutive_failures(1)
        .half_open_permits(permits)
        .success_threshold(permits)
        .build()
        .unwrap();
    let b = breaker::<NoWindow>(config, 0);
    b.transition_to_half_open();
    b
}

#[test]
fn three_racing_probes_get_exactly_two_of_two_slots() {
    model(|| {
        let b = half_open(2);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || Breaker::try_acquire_owned(b))
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let granted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(granted, 2, "all permits are still held");
        for r in &results {
            match r {
                Ok(p) => assert_eq!((p.state(), p.epoch()), (State::HalfOpen, 1)),
                Err(e) => assert_eq!((e.state, e.retry_after), (State::HalfOpen, None)),
            }
        }
        assert_eq!(b.snapshot().half_open_admitted, 2);
    });
}

#[test]
fn a_slot_given_back_is_reused_but_never_doubled() {
    model(|| {
        let b = half_open(1);
        // Probes inside the protected section right now; the increment comes
        // after the grant and the decrement before the give-back, so it
        // under-counts the core's own admitted count, never over-counts.
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let (b, inside) = (b.clone(), inside.clone());
                thread::spawn(move || match Breaker::try_acquire_owned(b) {
                    Ok(p) => {
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        assert!(n <= 1, "{n} probes admitted with one slot");
                        if i == 0 {
                            inside.fetch_sub(1, Ordering::SeqCst);
                            assert_eq!(p.ignore(), Recorded::Counted);
                            None
                        } else {
                            Some(p)
                        }
                    }
                    Err(_) => None,
                })
            })
            .collect();
        let held: Vec<_> = threads
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .collect();
        let s = b.snapshot();
        assert_eq!(s.half_open_admitted as usize, held.len());
        assert_eq!(s.half_open_succeeded, 0);
        drop(held);
        assert_eq!(b.snapshot().half_open_admitted, 0);
    });
}
