//! Classic breaker vs progressive recovery (ramp) vs adaptive throttling on
//! simulated dependencies (issue 19). Not a timing benchmark: a
//! deterministic replay on a manual millisecond clock, one call a
//! millisecond, each completing at once; it prints what each breaker let
//! through.
//!
//! Scenarios:
//! - `slow_recovery`: the dependency is down for 5 s, then its capacity grows
//!   linearly from 0 to 1 000 calls/s over 10 s; in each 100 ms slot the calls
//!   beyond the slot's capacity fail. 30 s in all.
//! - `degraded_30`: 30 % of calls fail (a fixed pseudo-random choice) from
//!   5 s to 65 s; 90 s in all. `degraded_60`: the same at 60 %.
//!
//! Breakers (all with a 5 s time window of 10 buckets, failure rate >= 50 %
//! over at least 20 calls, open for 2 s, 3 probes that must all succeed):
//! `classic`; `ramp` adds `ramp_up = 10 s` with the default stages 10, 25,
//! 50, 100 %; `throttle` adds `throttle_k = 1.5`.
//!
//! Columns: `goodput` = successful calls; `reached` = calls that reached
//! the dependency; `failed` = calls that reached it and failed;
//! `recovered_s` = seconds from the start of the trouble (5 s) to the
//! start of the first 1 s stretch, after which every later call is
//! admitted and succeeds (`-` if never).
//!
//! Run: `cargo run --release -p fusebox-benches --bin recovery`.

use std::time::Duration;

use fusebox_core::{Breaker, Config, ManualClock, Ratio, TimeWindow};

type Clock = ManualClock<1000>;

#[derive(Clone, Copy)]
enum Mode {
    Classic,
    Ramp,
    Throttle,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Classic => "classic",
            Mode::Ramp => "ramp",
            Mode::Throttle => "throttle",
        }
    }

    fn config(self) -> Config {
        let mut b = Config::builder()
            .failure_rate(Ratio::percent(50))
            .minimum_calls(20)
            .window_span(Duration::from_secs(5))
            .open_for(Duration::from_secs(2))
            .half_open_permits(3)
            .success_threshold(3);
        match self {
            Mode::Classic => {}
            Mode::Ramp => b = b.ramp_up(Duration::from_secs(10)),
            Mode::Throttle => b = b.throttle_k(Ratio::from_basis_points(15_000)),
        }
        b.build().expect("valid")
    }
}

#[derive(Clone, Copy)]
enum Scenario {
    SlowRecovery,
    Degraded(u64),
}

impl Scenario {
    fn name(self) -> String {
        match self {
            Scenario::SlowRecovery => "slow_recovery".into(),
            Scenario::Degraded(p) => format!("degraded_{p}"),
        }
    }

    fn length_ms(self) -> u64 {
        match self {
            Scenario::SlowRecovery => 30_000,
            Scenario::Degraded(_) => 90_000,
        }
    }
}

/// The dependency: decides whether the call admitted at `t` (ms) succeeds.
struct Dependency {
    scenario: Scenario,
    slot: u64,
    used: u64,
}

impl Dependency {
    fn call(&mut self, t: u64) -> bool {
        match self.scenario {
            Scenario::SlowRecovery => {
                let slot = t / 100;
                if slot != self.slot {
                    self.slot = slot;
                    self.used = 0;
                }
                // Capacity in calls per 100 ms slot: 0 until 5 s, then up to
                // 100 (1 000 calls/s) at 15 s.
                let capacity = t.saturating_sub(5_000).min(10_000) / 100;
                self.used += 1;
                self.used <= capacity
            }
            Scenario::Degraded(pct) => {
                if !(5_000..65_000).contains(&t) {
                    return true;
                }
                // splitmix64 of the instant: a fixed pseudo-random choice.
                let mut z = t.wrapping_add(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)) % 100 >= pct
            }
        }
    }
}

struct Outcome {
    goodput: u64,
    reached: u64,
    failed: u64,
    recovered_ms: Option<u64>,
}

fn run(scenario: Scenario, mode: Mode) -> Outcome {
    let clock = Clock::new();
    let b: Breaker<&Clock, TimeWindow<10>> = Breaker::try_new(&clock, mode.config()).unwrap();
    let mut dep = Dependency {
        scenario,
        slot: u64::MAX,
        used: 0,
    };
    let (mut goodput, mut reached, mut failed) = (0, 0, 0);
    // The last instant at which a call was turned away or failed.
    let mut last_bad = None;
    for t in 0..scenario.length_ms() {
        clock.set(t);
        match b.try_acquire() {
            Ok(p) => {
                reached += 1;
                if dep.call(t) {
                    goodput += 1;
                    let _ = p.success();
                } else {
                    failed += 1;
                    last_bad = Some(t);
                    let _ = p.failure();
                }
            }
            Err(_) => last_bad = Some(t),
        }
    }
    // Recovered: everything after the last bad call was good, and that
    // stretch lasted at least 1 s before the end.
    let recovered_ms = match last_bad {
        None => Some(0),
        Some(t) if t + 1_000 < scenario.length_ms() => Some((t + 1).saturating_sub(5_000)),
        Some(_) => None,
    };
    Outcome {
        goodput,
        reached,
        failed,
        recovered_ms,
    }
}

fn main() {
    println!("| scenario | breaker | goodput | reached | failed | recovered_s |");
    println!("|---|---|---:|---:|---:|---:|");
    for scenario in [
        Scenario::SlowRecovery,
        Scenario::Degraded(30),
        Scenario::Degraded(60),
    ] {
        for mode in [Mode::Classic, Mode::Ramp, Mode::Throttle] {
            let o = run(scenario, mode);
            let rec = o
                .recovered_ms
                .map_or("-".to_string(), |ms| format!("{:.1}", ms as f64 / 1000.0));
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                scenario.name(),
                mode.name(),
                o.goodput,
                o.reached,
                o.failed,
                rec
            );
        }
    }
}
