//! [`GrpcResponseFuture`] and the response that answers a rejection.

use super::body::{GrpcBody, Pending};
use super::classify::GrpcCode;
use crate::breaker::CircuitBreaker;
use fusebox_core::Rejected;
use pin_project_lite::pin_project;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The metadata key that marks a rejection; its value is the breaker's
/// state (`open`, `half_open`, `forced_open`), or `ramp` / `throttled` for the
/// closed state's traffic shaping.
pub(crate) const REJECTED_KEY: &str = "fusebox-rejected";

pin_project! {
    /// The response of a [`GrpcBreakerService`](super::GrpcBreakerService):
    /// the inner future, handing its permit to the response body (or
    /// recording at once when the status is already known), or a
    /// rejection answered as a trailers-only `UNAVAILABLE` response.
    /// Dropped before it completes, it abandons its permit.
    pub struct GrpcResponseFuture<F, B: CircuitBreaker> {
        #[pin]
        fut: Option<F>,
        pending: Option<Pending<B>>,
        rejected: Option<Rejected>,
    }
}

impl<F, B: CircuitBreaker> GrpcResponseFuture<F, B> {
    pub(crate) fn called(fut: F, pending: Pending<B>) -> Self {
        GrpcResponseFuture {
            fut: Some(fut),
            pending: Some(pending),
            rejected: None,
        }
    }

    pub(crate) fn rejected(r: Rejected) -> Self {
        GrpcResponseFuture {
            fut: None,
            pending: None,
            rejected: Some(r),
        }
    }
}

impl<F, B, Inner, E> Future for GrpcResponseFuture<F, B>
where
    F: Future<Output = Result<http::Response<Inner>, E>>,
    B: CircuitBreaker,
{
    type Output = Result<http::Response<GrpcBody<Inner, B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(r) = this.rejected.take() {
            return Poll::Ready(Ok(rejection(r)));
        }
        let fut = this
            .fut
            .as_mut()
            .as_pin_mut()
            .expect("GrpcResponseFuture polled after completion");
        let result = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => result,
            Err(panic) => {
                this.fut.set(None);
                if let Some(p) = this.pending.take() {
                    p.failure();
                }
                resume_unwind(panic)
            }
        };
        this.fut.set(None);
        let pending = this
            .pending
            .take()
            .expect("GrpcResponseFuture polled after completion");
        Poll::Ready(match result {
            Err(e) => {
                pending.failure();
                Err(e)
            }
            Ok(res) => Ok(judge_headers(res, pending)),
        })
    }
}

/// Records what the headers already say; otherwise hands the permit to the
/// body, to wait for the trailers.
fn judge_headers<Inner, B: CircuitBreaker>(
    res: http::Response<Inner>,
    pending: Pending<B>,
) -> http::Response<GrpcBody<Inner, B>> {
    // A trailers-only response: the status is in the headers.
    let known = GrpcCode::from_headers(res.headers())
        // No status and not 200: what a gRPC client makes of the HTTP status.
        .or_else(|| GrpcCode::from_http_status(res.status()));
    match known {
        Some(code) => {
            pending.status(code, res.headers());
            res.map(GrpcBody::recorded)
        }
        None => res.map(|body| GrpcBody::pending(body, pending)),
    }
}

/// A trailers-only `UNAVAILABLE` response saying why, with the time to wait
/// as gRPC's server pushback when the breaker knows it.
fn rejection<Inner, B: CircuitBreaker>(r: Rejected) -> http::Response<GrpcBody<Inner, B>> {
    let mut res = http::Response::new(GrpcBody::empty());
    let h = res.headers_mut();
    let header = |s: &str| http::HeaderValue::from_str(s).expect("ASCII without controls");
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    h.insert(
        "grpc-status",
        header(&(GrpcCode::Unavailable as i32).to_string()),
    );
    h.insert("grpc-message", header(&percent_encode(&r.to_string())));
    h.insert(
        REJECTED_KEY,
        http::HeaderValue::from_static(match r.reason {
            fusebox_core::RejectReason::State => r.state.as_str(),
            other => other.as_str(),
        }),
    );
    if let Some(d) = r.retry_after {
        // Whole milliseconds, rounded up: never a retry before the deadline.
        let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 > 0);
        h.insert("grpc-retry-pushback-ms", header(&ms.to_string()));
    }
    res
}

/// `grpc-message`'s encoding: bytes outside printable ASCII, and `%`, as
/// `%XX` (a duration may print as `µs`).
fn percent_encode(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fusebox_core::State;
    use std::time::Duration;

    #[test]
    fn a_rejection_is_a_trailers_only_unavailable_with_its_pushback() {
        let r = Rejected {
            state: State::Open,
            retry_after: Some(Duration::from_micros(1_500_001)),
            reason: fusebox_core::RejectReason::State,
        };
        let res: http::Response<GrpcBody<(), fusebox_core::Breaker<crate::StdClock>>> =
            rejection(r);
        let h = res.headers();
        assert_eq!(h["grpc-status"], "14");
        assert_eq!(h[REJECTED_KEY], "open");
        assert_eq!(h["grpc-retry-pushback-ms"], "1501");
        assert!(h["grpc-message"].to_str().unwrap().contains("open"));
        assert_eq!(percent_encode("1µs 5%"), "1%C2%B5s 5%25");
    }
}
