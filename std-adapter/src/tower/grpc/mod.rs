//! gRPC clients behind a breaker: [`GrpcBreakerLayer`] (feature `grpc`).
//!
//! A gRPC status usually arrives in the *trailers*, after the messages, so
//! a layer that records when the response headers arrive cannot judge it.
//! [`GrpcBreakerService`] takes its permit in `poll_ready` like the plain
//! [`CircuitBreakerService`](super::CircuitBreakerService) (DESIGN.md §13:
//! a rejection is ready at once and never reaches the inner service), and
//! records the call when its status is known:
//!
//! | the call ends with | recorded |
//! |---|---|
//! | `grpc-status` in the response headers (a trailers-only response) | at once, by [`GrpcClassifier`] |
//! | an HTTP status other than 200 and no `grpc-status` | at once, as the code a gRPC client reports for it ([`GrpcCode::from_http_status`]) |
//! | a transport error (the inner service's `Err`) | a failure, at once |
//! | trailers with `grpc-status` | when the body yields them, by [`GrpcClassifier`] |
//! | a body error, or the end of the body without a status | a failure |
//! | the body dropped before its end (the caller lost interest) | nothing: the permit is abandoned (never a success; a half-open slot comes back) |
//!
//! The response body, [`GrpcBody`], holds the owned permit until then, so
//! a streaming call counts once, when the stream ends; its duration (for
//! the histogram and the slow-call rule) runs from `call` to the status,
//! a stream's whole life. A panic in the inner future or body is recorded
//! as a failure and resumed, as in the plain layer.
//!
//! ## What a rejection looks like
//!
//! A rejected call is answered by the layer itself with a trailers-only
//! response, as a gRPC server that sheds load would answer: `grpc-status`
//! 14 `UNAVAILABLE`, a `grpc-message` naming the breaker's state, gRPC's
//! server pushback `grpc-retry-pushback-ms` (the time to the open deadline,
//! rounded up; absent in half-open and forced-open rejections) and
//! `fusebox-rejected: <state>`. A tonic caller gets a `tonic::Status` with
//! code `Unavailable`, the code every gRPC client already treats as "try
//! again later", and tells a rejection from a server's `UNAVAILABLE` with
//! [`rejection`]`(status.metadata().as_ref())`. The service's error type
//! is the inner service's own, unchanged, so tonic maps transport errors
//! as it does without the layer.
//!
//! ```
//! # use bytes::{Buf, BufMut, Bytes};
//! # use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
//! # #[derive(Clone, Copy, Default)]
//! # struct Raw;
//! # impl Codec for Raw {
//! #     type Encode = Bytes; type Decode = Bytes; type Encoder = Raw; type Decoder = Raw;
//! #     fn encoder(&mut self) -> Raw { Raw }
//! #     fn decoder(&mut self) -> Raw { Raw }
//! # }
//! # impl Encoder for Raw {
//! #     type Item = Bytes; type Error = tonic::Status;
//! #     fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> { dst.put(item); Ok(()) }
//! # }
//! # impl Decoder for Raw {
//! #     type Item = Bytes; type Error = tonic::Status;
//! #     fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> { Ok(Some(src.copy_to_bytes(src.remaining()))) }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use fusebox_core::{Config, State};
//! use fusebox_std::tower::grpc::{self, GrpcBreakerLayer};
//! use fusebox_std::{BreakerSpec, StdBreaker, WindowSpec};
//! use tower::{service_fn, Layer};
//!
//! let config = Config::builder().consecutive_failures(1).build().unwrap();
//! let breaker = Arc::new(StdBreaker::new("inventory", BreakerSpec { config, window: WindowSpec::None }).unwrap());
//! // Any gRPC transport: here a server that sheds load with a
//! // trailers-only UNAVAILABLE (a `tonic::transport::Channel` in real use).
//! let transport = service_fn(|_req: http::Request<tonic::body::Body>| async {
//!     let res = http::Response::builder()
//!         .header("content-type", "application/grpc")
//!         .header("grpc-status", "14")
//!         .body(tonic::body::Body::empty())
//!         .unwrap();
//!     Ok::<_, std::convert::Infallible>(res)
//! });
//! let mut client = tonic::client::Grpc::new(GrpcBreakerLayer::new(Arc::clone(&breaker)).layer(transport));
//! let path = http::uri::PathAndQuery::from_static("/inventory.Stock/Get");
//!
//! client.ready().await.unwrap();
//! let status = client.unary(tonic::Request::new(Bytes::from("sku-1")), path.clone(), Raw).await.unwrap_err();
//! assert_eq!(status.code(), tonic::Code::Unavailable);
//! assert!(grpc::rejection(status.metadata().as_ref()).is_none(), "the server said so");
//! assert_eq!(breaker.state(), State::Open);
//!
//! client.ready().await.unwrap();
//! let status = client.unary(tonic::Request::new(Bytes::from("sku-1")), path, Raw).await.unwrap_err();
//! assert_eq!(status.code(), tonic::Code::Unavailable);
//! let rejected = grpc::rejection(status.metadata().as_ref()).expect("the breaker said so");
//! assert_eq!(rejected.state, State::Open);
//! assert!(rejected.retry_after.is_some());
//! # }
//! ```

mod body;
mod classify;
mod future;
mod service;

pub use body::GrpcBody;
pub use classify::{GrpcClassifier, GrpcCode};
pub use future::GrpcResponseFuture;
pub use service::{GrpcBreakerLayer, GrpcBreakerService};

use fusebox_core::{RejectReason, Rejected, State};
use http::HeaderMap;
use std::time::Duration;

/// The rejection that a status's metadata (`tonic::Status::metadata`,
/// `.as_ref()` for its `HeaderMap`) reports, if a [`GrpcBreakerService`]
/// answered the call itself; `None` for a status from the server.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::State;
/// use fusebox_std::tower::grpc::rejection;
///
/// let mut metadata = http::HeaderMap::new();
/// assert_eq!(rejection(&metadata), None);
/// metadata.insert("fusebox-rejected", "open".parse().unwrap());
/// metadata.insert("grpc-retry-pushback-ms", "1500".parse().unwrap());
/// let r = rejection(&metadata).unwrap();
/// assert_eq!((r.state, r.retry_after), (State::Open, Some(Duration::from_millis(1500))));
/// ```
pub fn rejection(metadata: &HeaderMap) -> Option<Rejected> {
    let (state, reason) = match metadata.get(future::REJECTED_KEY)?.as_bytes() {
        b"open" => (State::Open, RejectReason::State),
        b"half_open" => (State::HalfOpen, RejectReason::State),
        b"forced_open" => (State::ForcedOpen, RejectReason::State),
        b"ramp" => (State::Closed, RejectReason::Ramp),
        b"throttled" => (State::Closed, RejectReason::Throttled),
        _ => return None,
    };
    let retry_after = metadata
        .get("grpc-retry-pushback-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis);
    Some(Rejected {
        state,
        retry_after,
        reason,
    })
}
