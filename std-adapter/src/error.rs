//! [`Error`]: why a protected call did not return its value.

use fusebox_core::{RejectReason, Rejected, State};
use std::fmt;
use std::time::Duration;

/// Why a call through a breaker did not produce a value.
///
/// ```
/// use fusebox_std::Error;
/// let e: Error<std::io::Error> = Error::Inner(std::io::ErrorKind::TimedOut.into());
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug)]
pub enum Error<E> {
    /// The breaker refused the call; the dependency was not called.
    Rejected {
        /// `Open`, `HalfOpen` (all probe slots taken) or `ForcedOpen`.
        state: State,
        /// Time left in the open period, or until the next ramp stage
        /// (`None` in half-open, forced-open and throttled rejections).
        retry_after: Option<Duration>,
        /// Why: the state's own rejection, the ramp after a close, or
        /// adaptive throttling.
        reason: RejectReason,
    },
    /// The call outlived its timeout; it was cancelled and recorded as a failure.
    Timeout,
    /// The call ran and returned this error.
    Inner(E),
}

impl<E> Error<E> {
    /// Whether the breaker refused the call.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected { .. })
    }
    /// Whether the call timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }
    /// The call's own error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }
    /// Maps the call's own error.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> Error<F> {
        match self {
            Error::Rejected {
                state,
                retry_after,
                reason,
            } => Error::Rejected {
                state,
                retry_after,
                reason,
            },
            Error::Timeout => Error::Timeout,
            Error::Inner(e) => Error::Inner(f(e)),
        }
    }
}

impl<E> From<Rejected> for Error<E> {
    fn from(r: Rejected) -> Self {
        Error::Rejected {
            state: r.state,
            retry_after: r.retry_after,
            reason: r.reason,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rejected {
                state,
                retry_after,
                reason,
            } => fmt::Display::fmt(
                &Rejected {
                    state: *state,
                    retry_after: *retry_after,
                    reason: *reason,
                },
                f,
            ),
            Error::Timeout => f.write_str("call through the circuit breaker timed out"),
            Error::Inner(_) => f.write_str("call through the circuit breaker failed"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_says_what_happened_and_source_is_the_inner_error() {
        let io = std::io::Error::other("refused");
        let e: Error<std::io::Error> = Error::Inner(io);
        assert_eq!(e.to_string(), "call through the circuit breaker failed");
        assert_eq!(e.source().unwrap().to_string(), "refused");
        let r: Error<std::io::Error> = Rejected {
            state: State::Open,
            retry_after: Some(Duration::from_secs(3)),
            reason: fusebox_core::RejectReason::State,
        }
        .into();
        assert!(r.is_rejected());
        assert!(r.to_string().contains("open"), "{r}");
        assert!(r.source().is_none());
        assert!(Error::<std::io::Error>::Timeout.is_timeout());
    }
}
