//! The default classifier of HTTP responses.

use crate::classify::Classifier;
use fusebox_core::Outcome;
use std::time::Duration;

/// 5xx responses and transport errors are failures; 429 (too many
/// requests) counts nowhere, since the dependency is healthy but busy; every
/// other response is a success.
///
/// A 429 or 503 with `Retry-After: <seconds>` is the dependency asking for
/// a pause: it opens the breaker for that long
/// ([`Classifier::retry_hint`]), and like every hint it is recorded as a
/// failure ([`Permit::trip_for`](fusebox_core::Permit::trip_for)), 429
/// included. The HTTP-date form of `Retry-After` is not read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpClassifier;

impl<B, E> Classifier<http::Response<B>, E> for HttpClassifier {
    fn classify(&self, result: &Result<http::Response<B>, E>) -> Outcome {
        match result {
            Ok(r) if r.status() == http::StatusCode::TOO_MANY_REQUESTS => Outcome::Ignored,
            Ok(r) if r.status().is_server_error() => Outcome::Failure,
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }

    fn retry_hint(&self, result: &Result<http::Response<B>, E>) -> Option<Duration> {
        let r = result.as_ref().ok()?;
        if !matches!(r.status().as_u16(), 429 | 503) {
            return None;
        }
        let secs: u64 = r
            .headers()
            .get(http::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Some(Duration::from_secs(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> Result<http::Response<()>, ()> {
        Ok(http::Response::builder().status(s).body(()).unwrap())
    }

    #[test]
    fn server_errors_fail_429_is_ignored_and_the_rest_succeeds() {
        let k = HttpClassifier;
        assert_eq!(k.classify(&status(200)), Outcome::Success);
        assert_eq!(k.classify(&status(404)), Outcome::Success);
        assert_eq!(k.classify(&status(429)), Outcome::Ignored);
        assert_eq!(k.classify(&status(500)), Outcome::Failure);
        assert_eq!(k.classify(&status(503)), Outcome::Failure);
        assert_eq!(
            k.classify(&Err::<http::Response<()>, _>(())),
            Outcome::Failure
        );
    }

    #[test]
    fn retry_after_on_429_or_503_is_a_hint_in_seconds() {
        let with = |s: u16, after: &str| -> Result<http::Response<()>, ()> {
            Ok(http::Response::builder()
                .status(s)
                .header("retry-after", after)
                .body(())
                .unwrap())
        };
        let k = HttpClassifier;
        assert_eq!(k.retry_hint(&with(429, "7")), Some(Duration::from_secs(7)));
        assert_eq!(
            k.retry_hint(&with(503, " 2 ")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(k.retry_hint(&with(500, "7")), None);
        assert_eq!(
            k.retry_hint(&with(503, "Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(k.retry_hint(&status(503)), None);
    }
}
