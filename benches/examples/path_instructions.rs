//! Runs one breaker path `N` times, for an instruction count that a loaded
//! machine cannot blur: `valgrind --tool=callgrind` over two `N`s gives the
//! instructions of one call as the difference divided by the difference of
//! `N`. Timing stays in the criterion benches; this only explains them.
//!
//! ```sh
//! cargo build --release -p fusebox-benches --example path_instructions
//! for n in 100000 200000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/path_instructions half_open_admit $n 2>&1 | grep refs
//! done
//! ```
//!
//! Paths: `closed_success`, `open_reject`, `half_open_admit` (take the probe
//! slot, give it back), `half_open_reject` (the slot is held).

use std::hint::black_box;
use std::time::Duration;

use fusebox_core::{Breaker, Config, ManualClock, NoWindow, State};

static CLOCK: ManualClock = ManualClock::new();

fn breaker() -> Breaker<&'static ManualClock, NoWindow> {
    let config = Config::builder()
        .consecutive_failures(5)
        .open_for(Duration::from_secs(10))
        .build()
        .expect("config");
    Breaker::new(&CLOCK, config)
}

fn trip(b: &Breaker<&'static ManualClock, NoWindow>) {
    for _ in 0..5 {
        let _ = b.try_acquire().expect("closed").failure();
    }
    assert_eq!(b.state(), State::Open);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "half_open_admit".into());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let b = breaker();
    match path.as_str() {
        "closed_success" => {}
        "open_reject" => trip(&b),
        "half_open_admit" | "half_open_reject" => {
            trip(&b);
            CLOCK.advance(11_000);
            assert_eq!(b.state(), State::HalfOpen);
        }
        other => panic!("unknown path {other}"),
    }
    let _held = (path == "half_open_reject").then(|| b.try_acquire().expect("probe"));
    let mut ok = 0u64;
    for _ in 0..n {
        let b = black_box(&b);
        ok += match b.try_acquire() {
            Ok(p) if path == "half_open_admit" => {
                let _ = p.ignore();
                1
            }
            Ok(p) => {
                let _ = p.success();
                1
            }
            Err(_) => 0,
        };
    }
    println!("{path} x{n}: {ok} permitted");
}
