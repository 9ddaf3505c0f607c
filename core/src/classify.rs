//! [`Classifier`]: what a call's result means to its breaker, and the
//! [`Verdict`] that ends its permit. Shared by every adapter.

use crate::permit::Outcome;
use core::time::Duration;

/// Decides what a call's result means to the breaker.
///
/// Any `Fn(&Result<T, E>) -> Outcome` is one, so a classifier can look at the
/// `Ok` value too:
///
/// ```
/// use fusebox_core::{Classifier, Outcome};
///
/// // An HTTP status inside `Ok`: 5xx fails, 429 counts nowhere.
/// let by_status = |r: &Result<u16, ()>| match r {
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
    /// recorded with [`Permit::trip_for`](crate::Permit::trip_for):
    /// a failure that opens the breaker at once for that long (clamped to
    /// `max_trip_hint`, never shorter than the backoff), whatever
    /// [`classify`](Self::classify) says. `None` by default.
    fn retry_hint(&self, _result: &Result<T, E>) -> Option<Duration> {
        None
    }
}

/// `Ok` is a success, `Err` a failure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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

/// How a permit ends: the one description of it that adapters pass around
/// ([`Permit::conclude`](crate::Permit::conclude) applies it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Verdict {
    /// Record this outcome ([`Permit::record`](crate::Permit::record)).
    Record(Outcome),
    /// A failure that asks for a pause this long
    /// ([`Permit::trip_for`](crate::Permit::trip_for)).
    TripFor(Duration),
}

impl Verdict {
    /// What `classifier` makes of `result`: its retry hint if it gives one,
    /// else its outcome.
    ///
    /// ```
    /// use fusebox_core::{DefaultClassifier, Outcome, Verdict};
    /// let v = Verdict::of(&DefaultClassifier, &Err::<(), _>("refused"));
    /// assert_eq!(v, Verdict::Record(Outcome::Failure));
    /// ```
    #[inline]
    pub fn of<T, E, K: Classifier<T, E> + ?Sized>(classifier: &K, result: &Result<T, E>) -> Self {
        match classifier.retry_hint(result) {
            Some(hint) => Verdict::TripFor(hint),
            None => Verdict::Record(classifier.classify(result)),
        }
    }
}
