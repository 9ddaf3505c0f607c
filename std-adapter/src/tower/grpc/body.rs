//! [`GrpcBody`]: a response body that records the status in its trailers.

use super::classify::{GrpcClassifier, GrpcCode};
use crate::breaker::CircuitBreaker;
use crate::tower::future::finish;
use fusebox_core::{Outcome, Verdict};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// A permit waiting for the call's status.
pub(crate) struct Pending<B: CircuitBreaker> {
    pub(crate) permit: B::OwnedPermit,
    pub(crate) classifier: GrpcClassifier,
    pub(crate) timing: Option<(Instant, Arc<B>)>,
}

impl<B: CircuitBreaker> Pending<B> {
    /// Records the call as ended with `code` and `metadata`.
    pub(crate) fn status(self, code: GrpcCode, metadata: &HeaderMap) {
        let verdict = match self.classifier.pause(code, metadata) {
            Some(hint) => Verdict::TripFor(hint),
            None => Verdict::Record(self.classifier.classify(code)),
        };
        finish(Some(self.permit), verdict, &self.timing);
    }

    /// Records the call as failed without a status (a transport or body
    /// error, a stream that ended without one).
    pub(crate) fn failure(self) {
        finish(
            Some(self.permit),
            Verdict::Record(Outcome::Failure),
            &self.timing,
        );
    }
}

pin_project! {
    /// The body of a response from a
    /// [`GrpcBreakerService`](super::GrpcBreakerService): the inner body,
    /// holding the call's permit until its trailers bring the status, or
    /// the empty body of a rejection. Dropped before the status, it
    /// abandons the permit (never a success; a half-open slot comes back).
    pub struct GrpcBody<Inner, B: CircuitBreaker> {
        #[pin]
        inner: Option<Inner>,
        pending: Option<Pending<B>>,
    }
}

impl<Inner, B: CircuitBreaker> GrpcBody<Inner, B> {
    /// `inner`, whose status is already recorded (or never will be).
    pub(crate) fn recorded(inner: Inner) -> Self {
        GrpcBody {
            inner: Some(inner),
            pending: None,
        }
    }

    /// `inner`, recording the status in its trailers.
    pub(crate) fn pending(inner: Inner, pending: Pending<B>) -> Self {
        GrpcBody {
            inner: Some(inner),
            pending: Some(pending),
        }
    }

    /// The empty body of a rejection (its status is in the headers).
    pub(crate) fn empty() -> Self {
        GrpcBody {
            inner: None,
            pending: None,
        }
    }
}

impl<Inner: Body, B: CircuitBreaker> Body for GrpcBody<Inner, B> {
    type Data = Inner::Data;
    type Error = Inner::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        // A panic in the inner body is a failure, as in the plain layer.
        let polled = match catch_unwind(AssertUnwindSafe(|| inner.poll_frame(cx))) {
            Ok(polled) => polled,
            Err(panic) => {
                this.inner.set(None);
                if let Some(pending) = this.pending.take() {
                    pending.failure();
                }
                resume_unwind(panic)
            }
        };
        if let Poll::Ready(end) = &polled {
            let trailers = match end {
                Some(Ok(frame)) => match frame.trailers_ref() {
                    Some(t) => Some(t),
                    None => return polled, // a message: the status is still to come
                },
                // A body error, or an end without trailers: no status.
                Some(Err(_)) | None => None,
            };
            if let Some(pending) = this.pending.take() {
                match trailers.and_then(|t| GrpcCode::from_headers(t).map(|c| (c, t))) {
                    Some((code, t)) => pending.status(code, t),
                    None => pending.failure(),
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            // While the status is pending, the reader must poll to the end,
            // so that an end without trailers is seen (and recorded).
            Some(inner) => self.pending.is_none() && inner.is_end_stream(),
            None => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(inner) => inner.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}

impl<Inner, B: CircuitBreaker> fmt::Debug for GrpcBody<Inner, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcBody")
            .field("rejection", &self.inner.is_none())
            .field("status_pending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BreakerSpec, StdBreaker, WindowSpec};
    use fusebox_core::Config;
    use http_body_util::{BodyExt, StreamBody};

    type Frames = StreamBody<
        futures::stream::Iter<std::vec::IntoIter<Result<Frame<&'static [u8]>, &'static str>>>,
    >;

    fn trailers(pairs: &[(&'static str, &'static str)]) -> Frame<&'static [u8]> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        Frame::trailers(h)
    }

    /// Reads a body of `frames` to its end; the breaker's (success, failure,
    /// abandoned) totals.
    fn read(frames: Vec<Result<Frame<&'static [u8]>, &'static str>>) -> (u64, u64, u64) {
        let config = Config::builder().consecutive_failures(5).build().unwrap();
        let spec = BreakerSpec {
            config,
            window: WindowSpec::None,
        };
        let b = Arc::new(StdBreaker::new("body", spec).unwrap());
        let pending = Pending {
            permit: StdBreaker::acquire_owned(&b).unwrap(),
            classifier: GrpcClassifier::new(),
            timing: None,
        };
        let body: GrpcBody<Frames, StdBreaker> =
            GrpcBody::pending(StreamBody::new(futures::stream::iter(frames)), pending);
        let _ = futures::executor::block_on(body.collect());
        let t = b.observer().totals().snapshot();
        (t.success, t.failure, t.abandoned)
    }

    #[test]
    fn the_status_in_the_trailers_decides() {
        let ok = trailers(&[("grpc-status", "0")]);
        assert_eq!(read(vec![Ok(Frame::data(&b"m"[..])), Ok(ok)]), (1, 0, 0));
        let unavailable = trailers(&[("grpc-status", "14")]);
        assert_eq!(read(vec![Ok(unavailable)]), (0, 1, 0));
    }

    #[test]
    fn no_status_at_the_end_or_a_body_error_is_a_failure() {
        assert_eq!(read(vec![Ok(Frame::data(&b"m"[..]))]), (0, 1, 0));
        assert_eq!(read(vec![Ok(trailers(&[("x-other", "1")]))]), (0, 1, 0));
        assert_eq!(read(vec![Err("reset")]), (0, 1, 0));
    }

    /// A body whose first poll panics.
    struct Panicking;

    impl Body for Panicking {
        type Data = &'static [u8];
        type Error = &'static str;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
            panic!("body broke")
        }
    }

    #[test]
    fn a_panicking_body_is_a_failure_and_the_panic_goes_on() {
        let config = Config::builder().consecutive_failures(5).build().unwrap();
        let spec = BreakerSpec {
            config,
            window: WindowSpec::None,
        };
        let b = Arc::new(StdBreaker::new("body", spec).unwrap());
        let pending = Pending {
            permit: StdBreaker::acquire_owned(&b).unwrap(),
            classifier: GrpcClassifier::new(),
            timing: None,
        };
        let body: GrpcBody<Panicking, StdBreaker> = GrpcBody::pending(Panicking, pending);
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(body.collect())
        }));
        assert!(panicked.is_err());
        let t = b.observer().totals().snapshot();
        assert_eq!((t.failure, t.abandoned), (1, 0));
    }

    #[test]
    fn a_rejection_body_is_empty_and_ended() {
        let body: GrpcBody<Frames, StdBreaker> = GrpcBody::empty();
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
    }
}
