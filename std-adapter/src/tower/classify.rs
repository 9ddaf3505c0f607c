//! The classifier of HTTP responses, aware of how API providers (LLM APIs
//! among them) say "slow down".

use crate::classify::Classifier;
use fusebox_core::Outcome;
use http::header::{HeaderMap, HeaderName, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// What a `429 Too Many Requests` means to the breaker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RateLimited {
    /// Pause the breaker for as long as the response asks
    /// ([`Permit::trip_for`](fusebox_core::Permit::trip_for), which is also
    /// a failure); a 429 that names no time counts nowhere. The default:
    /// every call before the reset would be refused anyway.
    #[default]
    Pause,
    /// Count nowhere: the dependency is healthy, only busy.
    Ignore,
    /// A failure like a 5xx, judged by the breaker's rules.
    Failure,
}

/// HTTP responses to outcomes, with the knobs an API client needs.
///
/// By default:
///
/// | response | outcome |
/// |---|---|
/// | 5xx, a transport error, `408 Request Timeout` | failure |
/// | 503 that names a time (see below) | failure that pauses the breaker for that long |
/// | 429 that names a time | failure that pauses the breaker for that long ([`RateLimited::Pause`]) |
/// | 429 that names none | counts nowhere |
/// | other 4xx | counts nowhere: the request was wrong, not the dependency |
/// | 1xx, 2xx, 3xx | success |
///
/// A response names a time with, in this order of precedence:
/// `retry-after-ms` (milliseconds), `Retry-After` (seconds or an HTTP date),
/// `RateLimit-Reset` (seconds), and the providers' reset headers,
/// `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (durations such
/// as `6m0s` or `20ms`) and `anthropic-ratelimit-*-reset` (RFC 3339
/// instants); when several provider headers are present, the latest reset
/// wins. A time in the past names none. The breaker clamps every pause to its
/// `max_trip_hint` (10 minutes by default).
///
/// ```
/// use fusebox_core::Outcome;
/// use fusebox_std::Classifier;
/// use fusebox_std::tower::{HttpClassifier, RateLimited};
///
/// let strict = HttpClassifier::new()
///     .on_too_many_requests(RateLimited::Failure)
///     .on_client_error(Outcome::Failure);
/// let r = http::Response::builder().status(404).body(()).unwrap();
/// assert_eq!(strict.classify(&Ok::<_, ()>(r)), Outcome::Failure);
/// let r = http::Response::builder().status(404).body(()).unwrap();
/// assert_eq!(HttpClassifier::new().classify(&Ok::<_, ()>(r)), Outcome::Ignored);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HttpClassifier {
    too_many_requests: RateLimited,
    client_error: Outcome,
    pause_when_unavailable: bool,
}

impl Default for HttpClassifier {
    fn default() -> Self {
        HttpClassifier::new()
    }
}

impl HttpClassifier {
    /// The defaults of the table above.
    pub const fn new() -> Self {
        HttpClassifier {
            too_many_requests: RateLimited::Pause,
            client_error: Outcome::Ignored,
            pause_when_unavailable: true,
        }
    }

    /// What a 429 means (default [`RateLimited::Pause`]).
    pub const fn on_too_many_requests(mut self, r: RateLimited) -> Self {
        self.too_many_requests = r;
        self
    }

    /// The outcome of a 4xx other than 408 and 429 (default
    /// [`Outcome::Ignored`]).
    pub const fn on_client_error(mut self, outcome: Outcome) -> Self {
        self.client_error = outcome;
        self
    }

    /// Whether a 503 that names a time pauses the breaker for it (default
    /// `true`); otherwise it is a plain failure.
    pub const fn pause_when_unavailable(mut self, on: bool) -> Self {
        self.pause_when_unavailable = on;
        self
    }
}

impl<B, E> Classifier<http::Response<B>, E> for HttpClassifier {
    fn classify(&self, result: &Result<http::Response<B>, E>) -> Outcome {
        let Ok(r) = result else {
            return Outcome::Failure;
        };
        let status = r.status();
        match status.as_u16() {
            429 => match self.too_many_requests {
                RateLimited::Failure => Outcome::Failure,
                // A 429 with a time is recorded through `retry_hint`.
                RateLimited::Pause | RateLimited::Ignore => Outcome::Ignored,
            },
            408 => Outcome::Failure,
            _ if status.is_server_error() => Outcome::Failure,
            _ if status.is_client_error() => self.client_error,
            _ => Outcome::Success,
        }
    }

    fn retry_hint(&self, result: &Result<http::Response<B>, E>) -> Option<Duration> {
        let r = result.as_ref().ok()?;
        let pause = match r.status().as_u16() {
            429 => self.too_many_requests == RateLimited::Pause,
            503 => self.pause_when_unavailable,
            _ => false,
        };
        if !pause {
            return None;
        }
        retry_after(r.headers(), SystemTime::now())
    }
}

/// The pause that `headers` ask for, at wall-clock time `now` (for the
/// forms that name an instant), by the precedence of [`HttpClassifier`].
/// `None` when they name none, or only a time already past.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use fusebox_std::tower::retry_after;
///
/// let mut h = http::HeaderMap::new();
/// h.insert("x-ratelimit-reset-requests", "1s".parse().unwrap());
/// h.insert("x-ratelimit-reset-tokens", "6m0s".parse().unwrap());
/// assert_eq!(retry_after(&h, SystemTime::now()), Some(Duration::from_secs(360)));
/// h.insert("retry-after", "20".parse().unwrap());
/// assert_eq!(retry_after(&h, SystemTime::now()), Some(Duration::from_secs(20)));
/// ```
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let positive = |d: Duration| (!d.is_zero()).then_some(d);
    let until = |at: SystemTime| at.duration_since(now).ok().and_then(positive);

    if let Some(ms) = text("retry-after-ms") {
        return ms
            .parse::<u64>()
            .ok()
            .map(Duration::from_millis)
            .and_then(positive);
    }
    if let Some(v) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        return match v.parse::<u64>() {
            Ok(secs) => positive(Duration::from_secs(secs)),
            Err(_) => httpdate::parse_http_date(v).ok().and_then(until),
        };
    }
    if let Some(secs) = text("ratelimit-reset") {
        return secs
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
            .and_then(positive);
    }
    // The providers' own headers: the latest reset among those present.
    let durations = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .into_iter()
        .filter_map(text)
        .filter_map(|v| humantime::parse_duration(v).ok());
    let instants = headers
        .iter()
        .filter(|(name, _)| is_anthropic_reset(name))
        .filter_map(|(_, v)| v.to_str().ok())
        .filter_map(|v| humantime::parse_rfc3339_weak(v.trim()).ok())
        .filter_map(until);
    durations.chain(instants).max().and_then(positive)
}

fn is_anthropic_reset(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("anthropic-ratelimit-") && n.ends_with("-reset")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> Result<http::Response<()>, ()> {
        Ok(http::Response::builder().status(s).body(()).unwrap())
    }

    fn with(s: u16, headers: &[(&str, &str)]) -> Result<http::Response<()>, ()> {
        let mut b = http::Response::builder().status(s);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        Ok(b.body(()).unwrap())
    }

    #[test]
    fn server_errors_and_timeouts_fail_client_errors_count_nowhere_by_default() {
        let k = HttpClassifier::new();
        assert_eq!(k.classify(&status(200)), Outcome::Success);
        assert_eq!(k.classify(&status(304)), Outcome::Success);
        assert_eq!(k.classify(&status(400)), Outcome::Ignored);
        assert_eq!(k.classify(&status(404)), Outcome::Ignored);
        assert_eq!(k.classify(&status(408)), Outcome::Failure);
        assert_eq!(k.classify(&status(429)), Outcome::Ignored);
        assert_eq!(k.classify(&status(500)), Outcome::Failure);
        assert_eq!(k.classify(&status(503)), Outcome::Failure);
        assert_eq!(
            k.classify(&Err::<http::Response<()>, _>(())),
            Outcome::Failure
        );
    }

    #[test]
    fn each_knob_changes_only_its_own_responses() {
        let k = HttpClassifier::new().on_too_many_requests(RateLimited::Failure);
        assert_eq!(
            k.classify(&with(429, &[("retry-after", "7")])),
            Outcome::Failure
        );
        assert_eq!(k.retry_hint(&with(429, &[("retry-after", "7")])), None);
        assert_eq!(k.classify(&status(404)), Outcome::Ignored);

        let k = HttpClassifier::new().on_too_many_requests(RateLimited::Ignore);
        assert_eq!(
            k.classify(&with(429, &[("retry-after", "7")])),
            Outcome::Ignored
        );
        assert_eq!(k.retry_hint(&with(429, &[("retry-after", "7")])), None);
        // 503 still pauses.
        assert_eq!(
            k.retry_hint(&with(503, &[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );

        let k = HttpClassifier::new().on_client_error(Outcome::Failure);
        assert_eq!(k.classify(&status(404)), Outcome::Failure);
        assert_eq!(k.classify(&status(429)), Outcome::Ignored);

        let k = HttpClassifier::new().pause_when_unavailable(false);
        assert_eq!(k.retry_hint(&with(503, &[("retry-after", "7")])), None);
        assert_eq!(
            k.classify(&with(503, &[("retry-after", "7")])),
            Outcome::Failure
        );
        assert_eq!(
            k.retry_hint(&with(429, &[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        let k = HttpClassifier::new();
        assert_eq!(
            k.retry_hint(&with(429, &[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            k.retry_hint(&with(503, &[("retry-after", " 2 ")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(k.retry_hint(&with(500, &[("retry-after", "7")])), None);
        assert_eq!(k.retry_hint(&status(503)), None);

        let in_90s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        let hint = k
            .retry_hint(&with(429, &[("retry-after", &in_90s)]))
            .unwrap();
        // Whole seconds, measured from a later `now`.
        assert!(
            hint > Duration::from_secs(87) && hint <= Duration::from_secs(90),
            "{hint:?}"
        );
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(k.retry_hint(&with(429, &[("retry-after", past)])), None);
        assert_eq!(k.retry_hint(&with(429, &[("retry-after", "soon")])), None);
        assert_eq!(k.retry_hint(&with(429, &[("retry-after", "0")])), None);
    }

    #[test]
    fn provider_headers_by_precedence() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, v.parse().unwrap());
            }
            m
        };
        assert_eq!(
            retry_after(&h(&[("retry-after-ms", "1500"), ("retry-after", "9")]), at),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&h(&[("retry-after", "9"), ("ratelimit-reset", "4")]), at),
            Some(Duration::from_secs(9))
        );
        assert_eq!(
            retry_after(
                &h(&[
                    ("ratelimit-reset", "4"),
                    ("x-ratelimit-reset-requests", "1s")
                ]),
                at
            ),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            retry_after(
                &h(&[
                    ("x-ratelimit-reset-requests", "20ms"),
                    ("x-ratelimit-reset-tokens", "1m30.5s")
                ]),
                at
            ),
            Some(Duration::from_millis(90_500))
        );
        // 2023-11-14T22:13:20Z is `at`; the later of two resets wins.
        assert_eq!(
            retry_after(
                &h(&[
                    ("anthropic-ratelimit-requests-reset", "2023-11-14T22:13:50Z"),
                    ("anthropic-ratelimit-tokens-reset", "2023-11-14T22:14:20Z"),
                    ("anthropic-ratelimit-requests-remaining", "0"),
                ]),
                at
            ),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after(
                &h(&[("anthropic-ratelimit-tokens-reset", "2023-11-14T22:13:00Z")]),
                at
            ),
            None
        );
        assert_eq!(
            retry_after(&h(&[("x-ratelimit-reset-tokens", "soon")]), at),
            None
        );
        assert_eq!(retry_after(&HeaderMap::new(), at), None);
    }
}
