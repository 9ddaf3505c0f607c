#![cfg(fusebox_loom)]
mod common;
use common::{breaker, model, thread};
use fusebox_core::*;
use std::time::Duration;
fn cfg() -> Config {
    Config::builder()
        .failure_rate(Ratio::percent(100))
        .minimum_calls(4)
        .window_span(Duration::from_millis(20))
        .build()
        .unwrap()
}
fn run<W: Window + 'static>(n: usize) {
    model(move || {
        let b = breaker::<W>(cfg(), 0);
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let p = Breaker::try_acquire_owned(b.clone()).unwrap();
                thread::spawn(move || p.success())
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), Recorded::Counted);
        }
        let w = b.snapshot().window;
        assert_eq!(w.calls as usize, n, "{:?}", b.snapshot());
    });
}
#[test]
fn t2_s1() {
    run::<TimeWindow<2, 1>>(2);
}
#[test]
fn t2_s2() {
    run::<TimeWindow<2, 2>>(2);
}
#[test]
fn t3_s1() {
    run::<TimeWindow<2, 1>>(3);
}
#[test]
fn t3_s2() {
    run::<TimeWindow<2, 2>>(3);
}
#[test]
fn t2_b1() {
    run::<TimeWindow<1, 1>>(2);
}
