//! Why tower-resilience's time-based window has no criterion row: it keeps
//! one record per call in a `VecDeque` and counts the whole deque on every
//! record, so a call costs more the more calls the window holds.
//!
//! ```text
//! cargo run --release -p fusebox-benches --example tower_resilience_time_window
//! ```
//!
//! Prints ns per call over successive blocks of 20 000 successful calls on a
//! 10 s window (all still inside it).

use std::time::Instant;

use fusebox_benches::peers::{tower_resilience_call, DependencyService, OPEN_FOR, WINDOW_SPAN};
use tower_resilience::circuitbreaker::{CircuitBreakerLayer, SlidingWindowType};

const BLOCK: u64 = 20_000;

fn main() {
    let mut breaker = CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_type(SlidingWindowType::TimeBased)
        .sliding_window_duration(WINDOW_SPAN)
        .minimum_number_of_calls(10)
        .wait_duration_in_open(OPEN_FOR)
        .build()
        .expect("tower-resilience time-based config")
        .layer_fn(DependencyService);
    let mut i = 0u64;
    let started = Instant::now();
    for _ in 0..6 {
        let block = Instant::now();
        for _ in 0..BLOCK {
            i += 1;
            assert!(tower_resilience_call(&mut breaker, i, false));
        }
        let per_call = block.elapsed().as_nanos() as f64 / BLOCK as f64;
        println!("{i:>7} calls in the window: {per_call:>8.0} ns per call");
    }
    assert!(
        started.elapsed() < WINDOW_SPAN,
        "ran past the window; the records aged out part-way"
    );
}
