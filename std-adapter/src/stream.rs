//! Streams through a breaker (feature `stream`): token streams from an LLM,
//! server-sent events, a chunked download.
//!
//! A [`GuardedStream`] holds one permit for the stream's whole life:
//!
//! - a stream that ends after at least one item (or, with
//!   [`StreamPolicy::complete_when`], after its completion marker) is a
//!   success;
//! - an error item is a failure by default ([`StreamPolicy::error_item`]),
//!   recorded when it arrives; the stream goes on if the inner one does;
//! - a stream that ends early (no item, or no completion marker) counts as
//!   [`StreamPolicy::early_end`] (a failure by default);
//! - a stream dropped half-way abandons its permit: never a success, and a
//!   half-open probe slot comes back;
//! - with [`StreamPolicy::first_item_timeout`], a stream whose first item is
//!   late yields [`Error::Timeout`], is recorded as a failure and ends.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use fusebox_core::{Breaker, Config};
//! use fusebox_std::stream::{guard_stream, StreamPolicy};
//! use fusebox_std::StdClock;
//! use futures::StreamExt;
//!
//! let b: Breaker<StdClock> = Breaker::new(StdClock, Config::builder().consecutive_failures(1).build().unwrap());
//! let tokens = futures::stream::iter(["Hel", "lo", "[DONE]"].map(Ok::<_, std::io::Error>));
//! let policy = StreamPolicy::new()
//!     .complete_when(|t: &&str| *t == "[DONE]")
//!     .first_item_timeout(Duration::from_secs(5));
//! let text: Vec<_> = guard_stream(&b, tokens, policy).unwrap().collect().await;
//! assert_eq!(text.len(), 3);
//! assert_eq!(b.snapshot().consecutive_failures, 0);
//! # }
//! ```

use crate::breaker::{CircuitBreaker, RecordPermit};
use crate::Error;
use fusebox_core::{Outcome, Rejected};
use futures_core::Stream;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// A completion marker test.
type Marker<T> = Arc<dyn Fn(&T) -> bool + Send + Sync>;

/// How a [`GuardedStream`] turns into an outcome. See the
/// [module docs](self).
pub struct StreamPolicy<T> {
    error_item: Outcome,
    early_end: Outcome,
    first_item_timeout: Option<Duration>,
    complete_when: Option<Marker<T>>,
}

impl<T> Default for StreamPolicy<T> {
    fn default() -> Self {
        StreamPolicy::new()
    }
}

impl<T> Clone for StreamPolicy<T> {
    fn clone(&self) -> Self {
        StreamPolicy {
            error_item: self.error_item,
            early_end: self.early_end,
            first_item_timeout: self.first_item_timeout,
            complete_when: self.complete_when.clone(),
        }
    }
}

impl<T> fmt::Debug for StreamPolicy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamPolicy")
            .field("error_item", &self.error_item)
            .field("early_end", &self.early_end)
            .field("first_item_timeout", &self.first_item_timeout)
            .field("complete_when", &self.complete_when.is_some())
            .finish()
    }
}

impl<T> StreamPolicy<T> {
    /// Error items and early ends fail; no first-item timeout; any item
    /// makes the stream complete.
    pub fn new() -> Self {
        StreamPolicy {
            error_item: Outcome::Failure,
            early_end: Outcome::Failure,
            first_item_timeout: None,
            complete_when: None,
        }
    }

    /// The outcome of an error item (default failure). Only the first
    /// outcome of a stream is recorded.
    pub fn error_item(mut self, outcome: Outcome) -> Self {
        self.error_item = outcome;
        self
    }

    /// The outcome of a stream that ends without an item, or without its
    /// completion marker (default failure).
    pub fn early_end(mut self, outcome: Outcome) -> Self {
        self.early_end = outcome;
        self
    }

    /// The longest wait for the first item (needs a tokio runtime with
    /// its time driver).
    pub fn first_item_timeout(mut self, timeout: Duration) -> Self {
        self.first_item_timeout = Some(timeout);
        self
    }

    /// The stream is complete once an item for which `marker` holds has
    /// passed (an SSE `[DONE]`, a final chunk); ending before is an early
    /// end.
    pub fn complete_when(mut self, marker: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self {
        self.complete_when = Some(Arc::new(marker));
        self
    }
}

/// `stream` through `breaker`, with a permit that borrows the breaker.
pub fn guard_stream<B, S, T, E>(
    breaker: &B,
    stream: S,
    policy: StreamPolicy<T>,
) -> Result<GuardedStream<B::Permit<'_>, S, T>, Rejected>
where
    B: CircuitBreaker + ?Sized,
    S: Stream<Item = Result<T, E>>,
{
    Ok(GuardedStream::new(breaker.acquire()?, stream, policy))
}

/// `stream` through `breaker`, with an owned permit (`'static` when the
/// stream is), for spawned tasks and response bodies.
pub fn guard_stream_owned<B, S, T, E>(
    breaker: &Arc<B>,
    stream: S,
    policy: StreamPolicy<T>,
) -> Result<GuardedStream<B::OwnedPermit, S, T>, Rejected>
where
    B: CircuitBreaker,
    S: Stream<Item = Result<T, E>>,
{
    Ok(GuardedStream::new(
        B::acquire_owned(breaker)?,
        stream,
        policy,
    ))
}

pin_project! {
    /// A stream that holds a breaker's permit for its whole life. See the
    /// [module docs](self).
    pub struct GuardedStream<P, S, T> {
        #[pin]
        inner: S,
        permit: Option<P>,
        policy: StreamPolicy<T>,
        seen_item: bool,
        complete: bool,
        ended: bool,
        armed: bool,
        // Boxed, so that the guarded stream is `Unpin` when its inner one is.
        first_deadline: Option<Pin<Box<Sleep>>>,
    }
}

impl<P: RecordPermit, S, T> GuardedStream<P, S, T> {
    fn new(permit: P, inner: S, policy: StreamPolicy<T>) -> Self {
        GuardedStream {
            inner,
            permit: Some(permit),
            policy,
            seen_item: false,
            complete: false,
            ended: false,
            armed: false,
            first_deadline: None,
        }
    }
}

impl<P, S, T, E> Stream for GuardedStream<P, S, T>
where
    P: RecordPermit,
    S: Stream<Item = Result<T, E>>,
{
    type Item = Result<T, Error<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        if !*this.armed {
            // The timer starts at the first poll, inside the runtime.
            *this.armed = true;
            if let Some(t) = this.policy.first_item_timeout {
                *this.first_deadline = Some(Box::pin(tokio::time::sleep(t)));
            }
        }
        let item = match this.inner.poll_next(cx) {
            Poll::Ready(item) => item,
            Poll::Pending => {
                let late = match this.first_deadline.as_mut() {
                    Some(d) => d.as_mut().poll(cx).is_ready(),
                    None => false,
                };
                if !late {
                    return Poll::Pending;
                }
                *this.ended = true;
                *this.first_deadline = None;
                if let Some(p) = this.permit.take() {
                    let _ = p.record(Outcome::Failure);
                }
                return Poll::Ready(Some(Err(Error::Timeout)));
            }
        };
        Poll::Ready(match item {
            Some(Ok(t)) => {
                if !*this.seen_item {
                    *this.seen_item = true;
                    *this.first_deadline = None;
                }
                if let Some(marker) = &this.policy.complete_when {
                    *this.complete |= marker(&t);
                }
                Some(Ok(t))
            }
            Some(Err(e)) => {
                if let Some(p) = this.permit.take() {
                    let _ = p.record(this.policy.error_item);
                }
                Some(Err(Error::Inner(e)))
            }
            None => {
                *this.ended = true;
                if let Some(p) = this.permit.take() {
                    let complete = match this.policy.complete_when {
                        Some(_) => *this.complete,
                        None => *this.seen_item,
                    };
                    let _ = p.record(if complete {
                        Outcome::Success
                    } else {
                        this.policy.early_end
                    });
                }
                None
            }
        })
    }
}

impl<P, S: fmt::Debug, T> fmt::Debug for GuardedStream<P, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedStream")
            .field("inner", &self.inner)
            .field("holds_permit", &self.permit.is_some())
            .field("seen_item", &self.seen_item)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
