//! Errors of the service: [`crate::Error`] over the inner service's error.
//!
//! `Rejected` comes from `call` after a rejecting `poll_ready`; `Inner`
//! wraps the inner service's own error (from `poll_ready` or the response
//! future), except `tower::timeout`'s `Elapsed`, which is `Timeout`: put a
//! `tower::timeout::Timeout` inside the breaker layer so that timeouts are
//! recorded as failures and reported as [`Error::Timeout`].

use crate::Error;

impl<E> Error<E> {
    /// For a rejection from an open breaker: the whole seconds to wait,
    /// rounded up, as an HTTP `Retry-After` header wants them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_core::State;
    /// use fusebox_std::Error;
    /// let e: Error<()> = Error::Rejected { state: State::Open, retry_after: Some(Duration::from_millis(1500)), reason: fusebox_core::RejectReason::State };
    /// assert_eq!(e.retry_after_secs(), Some(2));
    /// ```
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::Rejected {
                retry_after: Some(d),
                ..
            } => Some(d.as_secs() + u64::from(d.subsec_nanos() > 0)),
            _ => None,
        }
    }
}
