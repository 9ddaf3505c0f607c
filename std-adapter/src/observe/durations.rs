//! The call-duration histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the histogram buckets, in seconds (Prometheus' defaults
/// from 1 ms, which suit remote calls).
pub const BUCKETS_SECONDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
const BOUNDS_NS: [u64; 12] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    10_000_000_000,
];

/// Durations of permitted calls made through the call wrappers or the tower
/// layer, for `circuit_breaker_call_duration_seconds`. Lock-free: one
/// relaxed add per bucket, count and sum.
#[derive(Debug, Default)]
pub struct CallDurations {
    /// Per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; 13],
    sum_ns: AtomicU64,
}

impl CallDurations {
    /// Adds one call.
    #[inline]
    pub fn observe(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = BOUNDS_NS.partition_point(|&b| b < ns);
        // Relaxed: statistics.
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// `(sum in seconds, count, buckets as (upper bound, calls in that
    /// bucket alone))`; the last bound is `f64::MAX`, which `prometheus-client` writes as `+Inf`. Not cumulative:
    /// `prometheus-client` accumulates when it encodes.
    pub fn buckets(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut count = 0;
        let mut out = Vec::with_capacity(13);
        for (i, b) in self.buckets.iter().enumerate() {
            // Relaxed: statistics.
            let n = b.load(Ordering::Relaxed);
            count += n;
            let bound = BUCKETS_SECONDS.get(i).copied().unwrap_or(f64::MAX);
            out.push((bound, n));
        }
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, count, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_of_their_upper_bound() {
        let h = CallDurations::default();
        h.observe(Duration::from_millis(1));
        h.observe(Duration::from_millis(7));
        h.observe(Duration::from_secs(60));
        let (sum, count, buckets) = h.buckets();
        assert_eq!(count, 3);
        assert!((sum - 60.008).abs() < 1e-9);
        assert_eq!(buckets[0], (0.001, 1));
        assert_eq!(buckets[3], (0.01, 1));
        assert_eq!(buckets[11], (10.0, 0));
        assert_eq!(buckets[12].1, 1);
        assert_eq!(
            buckets[12].0,
            f64::MAX,
            "prometheus-client writes it as +Inf"
        );
    }
}
