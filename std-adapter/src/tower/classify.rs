//! The default classifier of HTTP responses.

use crate::classify::Classifier;
use fusebox_core::Outcome;

/// 5xx responses and transport errors are failures; 429 (too many
/// requests) counts nowhere, since the dependency is healthy but busy; every
/// other response is a success.
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
}
