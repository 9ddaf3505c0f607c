//! A scripted outage, replayed on a manual clock: a dependency that is
//! healthy, fails completely for 9 seconds, then recovers. One call every
//! 250 ms; every call and every transition is printed.
//!
//! Run: `cargo run -p fusebox-core --example outage`

use core::time::Duration;
use fusebox_core::{
    Backoff, Breaker, Config, CountWindow, ManualClock, Observer, Ratio, Recorded, State,
    Transition,
};

/// Prints each transition as it commits.
struct PrintTransitions;

impl Observer for PrintTransitions {
    fn on_transition(&self, t: &Transition) {
        let until = t
            .open_until
            .map(|d| format!(", open until {}", secs(d)))
            .unwrap_or_default();
        println!(
            "{:>8}  ==> {} -> {} ({}; window {} calls / {} failures; backoff level {}{})",
            secs(t.at),
            t.from,
            t.to,
            t.reason.as_str(),
            t.window.calls,
            t.window.failures,
            t.backoff_level,
            until
        );
    }
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// The dependency: down from 3 s to 12 s.
fn dependency_is_up(at_ms: u64) -> bool {
    !(3_000..12_000).contains(&at_ms)
}

fn main() {
    let clock = ManualClock::<1000>::new();
    let config = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(6)
        .consecutive_failures(5)
        .open_for(Duration::from_secs(1))
        .backoff(Backoff::Exponential {
            base: None,
            multiplier: Ratio::from_basis_points(20_000),
            max: Duration::from_secs(4),
        })
        .half_open_permits(2)
        .success_threshold(2)
        .build()
        .expect("valid config");
    let breaker: Breaker<_, CountWindow<10>, _> =
        Breaker::with_observer(&clock, config, PrintTransitions).expect("config fits the window");

    println!(
        "fusebox outage: a call every 250 ms; the dependency is down from 3.000s to 12.000s\n"
    );
    let (mut permitted, mut rejected, mut stale) = (0, 0, 0);
    while clock.now() <= 20_000 {
        let at = clock.now();
        match breaker.try_acquire() {
            Ok(permit) => {
                permitted += 1;
                let state = permit.state();
                let up = dependency_is_up(at);
                let recorded = if up {
                    permit.success()
                } else {
                    permit.failure()
                };
                if recorded == Recorded::Stale {
                    stale += 1;
                }
                println!(
                    "{:>8}  call permitted in {:<9} -> {}",
                    secs(at),
                    state.as_str(),
                    if up { "success" } else { "failure" }
                );
            }
            Err(r) => {
                rejected += 1;
                let retry = r
                    .retry_after
                    .map(|d| format!(" (retry after {} ms)", d.as_millis()))
                    .unwrap_or_default();
                println!("{:>8}  call rejected: {}{}", secs(at), r.state, retry);
            }
        }
        clock.advance(250);
    }
    let s = breaker.snapshot();
    println!(
        "\n{permitted} permitted, {rejected} rejected, {stale} stale; {} trips; final state {} (epoch {})",
        s.trips, s.state, s.epoch
    );
    assert_eq!(
        s.state,
        State::Closed,
        "the breaker recovers after the outage"
    );
}
