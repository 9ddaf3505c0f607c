extern crate std;
use super::*;
use crate::state::{HALF_MAX, RUN_MAX};
use std::string::ToString;

#[test]
fn defaults_build_and_turn_every_rule_off() {
    let c = Config::builder().build().unwrap();
    assert_eq!(c.consecutive_failures(), None);
    assert!(!c.uses_window());
    assert_eq!(c.half_open_permits(), 1);
}

#[test]
fn each_bad_field_is_named_with_its_range() {
    let cases: [(ConfigBuilder, &str); 12] = [
        (
            Config::builder().consecutive_failures(0),
            "consecutive_failures",
        ),
        (
            Config::builder().failure_rate(Ratio::from_basis_points(10_001)),
            "failure_rate (basis points)",
        ),
        (
            Config::builder().failure_rate(Ratio::from_basis_points(0)),
            "failure_rate (basis points)",
        ),
        (
            Config::builder().slow_call_rate(Ratio::percent(50)),
            "slow_call_duration",
        ),
        (Config::builder().minimum_calls(0), "minimum_calls"),
        (Config::builder().open_for(Duration::ZERO), "open_for"),
        (Config::builder().half_open_permits(0), "half_open_permits"),
        (
            Config::builder().half_open_permits(2).success_threshold(3),
            "success_threshold",
        ),
        (
            Config::builder().jitter(Ratio::percent(95)),
            "jitter (basis points)",
        ),
        (
            Config::builder().backoff(Backoff::Exponential {
                base: None,
                multiplier: Ratio::percent(50),
                max: Duration::from_secs(60),
            }),
            "backoff.multiplier (basis points)",
        ),
        (
            Config::builder()
                .open_for(Duration::from_secs(60))
                .backoff(Backoff::Linear {
                    base: None,
                    step: Duration::from_secs(1),
                    max: Duration::from_secs(10),
                }),
            "backoff.max",
        ),
        (
            Config::builder().max_half_open_wait(Duration::ZERO),
            "max_half_open_wait",
        ),
    ];
    for (b, field) in cases {
        let e = b.build().unwrap_err();
        assert_eq!(e.field(), field, "{e}");
        assert!(e.to_string().starts_with(field), "{e}");
    }
}

#[test]
fn messages_state_the_allowed_range() {
    let e = Config::builder()
        .consecutive_failures(0)
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        std::format!("consecutive_failures = 0 is out of range: allowed 1..={RUN_MAX}")
    );
    let e = Config::builder()
        .half_open_permits(2)
        .success_threshold(3)
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "success_threshold = 3 must be between 1 and half_open_permits (2)"
    );
}

#[test]
fn limits_hold_exactly_at_the_boundaries() {
    assert!(Config::builder()
        .consecutive_failures(RUN_MAX)
        .build()
        .is_ok());
    assert!(Config::builder()
        .consecutive_failures(RUN_MAX + 1)
        .build()
        .is_err());
    assert!(Config::builder()
        .half_open_permits(HALF_MAX)
        .build()
        .is_ok());
    assert!(Config::builder()
        .half_open_permits(HALF_MAX + 1)
        .build()
        .is_err());
    assert!(Config::builder()
        .failure_rate(Ratio::percent(100))
        .build()
        .is_ok());
    assert!(Config::builder().jitter(MAX_JITTER).build().is_ok());
}

/// A config without shaping has one fingerprint whatever features the core
/// is built with (a firmware without `ramp`/`throttle` and a std service
/// with them restore each other's exports): pinned, so that the runs with
/// and without features each check it.
#[test]
fn the_fingerprint_does_not_depend_on_the_shaping_features() {
    let c = Config::builder()
        .consecutive_failures(3)
        .open_for(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_eq!(
        c.fingerprint(WindowShape::Count(16)),
        17_023_428_431_857_946_265
    );
}
