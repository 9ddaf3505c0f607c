//! [`Classifier`]: which results count as failures.

use fusebox_core::Outcome;

/// Decides what a call's result means to the breaker.
///
/// Any `Fn(&Result<T, E>) -> Outcome` is one, so a classifier can look at the
/// `Ok` value too:
///
/// ```
/// use fusebox_core::Outcome;
/// use fusebox_std::Classifier;
///
/// // An HTTP status inside `Ok`: 5xx fails, 429 counts nowhere.
/// let by_status = |r: &Result<u16, std::io::Error>| match r {
///     Ok(429) => Outcome::Ignored,
///     Ok(s) if *s >= 500 => Outcome::Failure,
///     Ok(_) => Outcome::Success,
///     Err(_) => Outcome::Failure,
/// };
/// assert_eq!(by_status.classify(&Ok(503)), Outcome::Failure);
/// ```
pub trait Classifier<T, E> {
    /// The outcome of `result`.
    fn classify(&self, result: &Result<T, E>) -> Outcome;

    /// A pause the dependency asked for (an HTTP `Retry-After`, a
    /// provider's rate-limit reset). When this returns `Some`, the call is
    /// recorded with [`Permit::trip_for`](fusebox_core::Permit::trip_for):
    /// a failure that opens the breaker at once for that long (clamped to
    /// `max_trip_hint`, never shorter than the backoff), whatever
    /// [`classify`](Self::classify) says. `None` by default.
    fn retry_hint(&self, _result: &Result<T, E>) -> Option<std::time::Duration> {
        None
    }
}

/// `Ok` is a success, `Err` a failure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultClassifier;

impl<T, E> Classifier<T, E> for DefaultClassifier {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

impl<T, E, F: Fn(&Result<T, E>) -> Outcome> Classifier<T, E> for F {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        self(result)
    }
}
