//! `core::mem::size_of` of typical breakers, their parts and the peers'
//! handles, as a markdown table (`cargo run --release -p fusebox-benches --bin sizes`).
//!
//! The clock is a zero-sized `InstantClock` and the observer the zero-sized
//! default, so a breaker's size is its own words plus its window.

use std::mem::size_of;

use fusebox_benches::clock::InstantClock;
use fusebox_core::{
    Breaker, Config, CountWindow, NoWindow, Permit, Rejected, Snapshot, TimeWindow, WindowCounts,
};

fn row(name: &str, bytes: usize, note: &str) {
    println!("| `{name}` | {bytes} | {note} |");
}

/// A breaker with window `W`, and `W` alone: what the breaker adds to its window.
fn breaker<W: fusebox_core::Window>(window: &str) {
    let total = size_of::<Breaker<InstantClock, W>>();
    let alone = size_of::<W>();
    row(
        &format!("Breaker<InstantClock, {window}>"),
        total,
        &format!("{alone} window + {} the rest", total - alone),
    );
}

fn main() {
    println!("| type | bytes | note |");
    println!("|---|---:|---|");
    breaker::<NoWindow>("NoWindow");
    breaker::<CountWindow<16>>("CountWindow<16>");
    breaker::<CountWindow<100>>("CountWindow<100>");
    breaker::<TimeWindow<10>>("TimeWindow<10>");
    breaker::<TimeWindow<60>>("TimeWindow<60>");
    breaker::<TimeWindow<10, 16>>("TimeWindow<10, 16>");
    row(
        "Config",
        size_of::<Config>(),
        "converted to ticks at construction; not kept",
    );
    row(
        "Permit<&Breaker<..>>",
        size_of::<Permit<&Breaker<InstantClock, CountWindow<100>>>>(),
        "what a caller holds during a call",
    );
    row("Rejected", size_of::<Rejected>(), "");
    row("Snapshot", size_of::<Snapshot>(), "");
    row("WindowCounts", size_of::<WindowCounts>(), "");
    row(
        "failsafe::StateMachine<ConsecutiveFailures>",
        size_of::<fusebox_benches::peers::FailsafeConsecutive>(),
        "an `Arc`; the state sits behind it on the heap",
    );
    row(
        "recloser::Recloser",
        size_of::<recloser::Recloser>(),
        "plus a heap-allocated state and ring of `closed_len` AtomicBools",
    );
}
