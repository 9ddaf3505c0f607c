//! `GrpcBreakerLayer` over a real tonic client (`Channel`) talking to a real
//! tonic server on 127.0.0.1. The service is written by hand over
//! `tonic::server::Grpc` with a codec over raw bytes: no protoc, no prost.
#![cfg(feature = "grpc")]

use bytes::{Buf, BufMut, Bytes};
use fusebox_core::{Config, State};
use fusebox_std::tower::grpc::{self, GrpcBreakerLayer};
use fusebox_std::{BreakerSpec, StdBreaker, WindowSpec};
use futures::stream::{self, StreamExt};
use http::uri::PathAndQuery;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tower::{service_fn, Layer, Service, ServiceExt};

/// Messages are their bytes.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

const UNARY: &str = "/test.Echo/Unary";
const STREAM: &str = "/test.Echo/Stream";

/// What a request asks the server to end with: `ok`, or `fail <code>
/// [<pushback ms>]`, or (streams only) `hang` for never ending.
fn ending(req: &Bytes) -> Result<(), Status> {
    let text = std::str::from_utf8(req).unwrap();
    let mut words = text.split(' ');
    match words.next() {
        Some("fail") => {
            let code = Code::from_i32(words.next().unwrap().parse().unwrap());
            let mut status = Status::new(code, "as asked");
            if let Some(ms) = words.next() {
                status
                    .metadata_mut()
                    .insert("grpc-retry-pushback-ms", ms.parse().unwrap());
            }
            Err(status)
        }
        _ => Ok(()),
    }
}

/// A unary call: `ok` answers, `fail ...` is a trailers-only status.
async fn unary(req: Request<Bytes>) -> Result<Response<Bytes>, Status> {
    ending(req.get_ref())?;
    Ok(Response::new(Bytes::from_static(b"pong")))
}

type Messages = Pin<Box<dyn futures::Stream<Item = Result<Bytes, Status>> + Send>>;

/// A server stream: one message, then the ending asked for, in the
/// trailers (or nothing, for `hang`).
async fn server_stream(req: Request<Bytes>) -> Result<Response<Messages>, Status> {
    let first = stream::iter([Ok(Bytes::from_static(b"first"))]);
    let messages: Messages = if req.get_ref().as_ref() == b"hang" {
        Box::pin(first.chain(stream::pending()))
    } else {
        let end = ending(req.get_ref()).err().map(Err);
        Box::pin(first.chain(stream::iter(end)))
    };
    Ok(Response::new(messages))
}

/// A tonic server on a free loopback port, counting the calls it gets.
async fn server(hits: Arc<AtomicU32>) -> SocketAddr {
    let svc = service_fn(move |req: http::Request<tonic::body::Body>| {
        hits.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut grpc = tonic::server::Grpc::new(Raw);
            let res = match req.uri().path() {
                UNARY => grpc.unary(service_fn(unary), req).await,
                STREAM => grpc.server_streaming(service_fn(server_stream), req).await,
                other => panic!("no method {other}"),
            };
            Ok::<_, Infallible>(res)
        }
    });
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = incoming.local_addr().unwrap();
    tokio::spawn(tonic::transport::Server::builder().serve_with_incoming(svc, incoming));
    addr
}

fn breaker(failures: u32, open_for: Duration) -> Arc<StdBreaker> {
    let config = Config::builder()
        .consecutive_failures(failures)
        .open_for(open_for)
        .half_open_permits(1)
        .build()
        .unwrap();
    let spec = BreakerSpec {
        config,
        window: WindowSpec::None,
    };
    Arc::new(StdBreaker::new("inventory", spec).unwrap())
}

async fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A unary call through `client`: the reply, or the status.
async fn call_unary<T>(
    client: &mut tonic::client::Grpc<T>,
    text: &'static str,
) -> Result<Bytes, Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    client
        .ready()
        .await
        .map_err(|e| Status::from_error(e.into()))?;
    let req = Request::new(Bytes::from_static(text.as_bytes()));
    let res = client
        .unary(req, PathAndQuery::from_static(UNARY), Raw)
        .await?;
    Ok(res.into_inner())
}

/// A server-streaming call through `client`, read to its end: the
/// messages, or the status that ended it.
async fn call_stream<T>(
    client: &mut tonic::client::Grpc<T>,
    text: &'static str,
) -> Result<Vec<Bytes>, Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    client
        .ready()
        .await
        .map_err(|e| Status::from_error(e.into()))?;
    let req = Request::new(Bytes::from_static(text.as_bytes()));
    let mut messages = client
        .server_streaming(req, PathAndQuery::from_static(STREAM), Raw)
        .await?
        .into_inner();
    let mut got = Vec::new();
    while let Some(m) = messages.message().await? {
        got.push(m);
    }
    Ok(got)
}

#[tokio::test]
async fn ok_in_the_trailers_is_a_success() {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&hits)).await;
    let b = breaker(1, Duration::from_secs(60));
    let mut client =
        tonic::client::Grpc::new(GrpcBreakerLayer::new(Arc::clone(&b)).layer(channel(addr).await));

    assert_eq!(call_unary(&mut client, "ok").await.unwrap(), "pong");
    assert_eq!(call_stream(&mut client, "ok").await.unwrap(), ["first"]);
    let totals = b.observer().totals().snapshot();
    assert_eq!(
        (totals.success, totals.failure, totals.abandoned),
        (2, 0, 0)
    );
    assert_eq!(b.observer().durations().buckets().1, 2, "both calls timed");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unavailable_in_the_trailers_trips_and_rejected_calls_never_reach_the_server() {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&hits)).await;
    let b = breaker(3, Duration::from_secs(60));
    let mut client =
        tonic::client::Grpc::new(GrpcBreakerLayer::new(Arc::clone(&b)).layer(channel(addr).await));

    for i in 0..3 {
        assert_eq!(b.state(), State::Closed, "call {i}");
        let status = call_stream(&mut client, "fail 14").await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            grpc::rejection(status.metadata().as_ref()),
            None,
            "from the server"
        );
    }
    assert_eq!(b.state(), State::Open);
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    for _ in 0..2 {
        let status = call_unary(&mut client, "ok").await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        let r = grpc::rejection(status.metadata().as_ref()).expect("rejected by the breaker");
        assert_eq!(r.state, State::Open);
        assert!(r.retry_after.unwrap() > Duration::from_secs(50), "{r:?}");
        assert!(status.message().contains("open"), "{}", status.message());
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "rejected calls never reach the server"
    );
    let totals = b.observer().totals().snapshot();
    assert_eq!((totals.failure, totals.rejected), (3, 2));
}

#[tokio::test]
async fn caller_mistakes_count_nowhere() {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&hits)).await;
    let b = breaker(1, Duration::from_secs(60));
    let mut client =
        tonic::client::Grpc::new(GrpcBreakerLayer::new(Arc::clone(&b)).layer(channel(addr).await));

    for (text, code) in [
        ("fail 5", Code::NotFound),
        ("fail 3", Code::InvalidArgument),
    ] {
        assert_eq!(
            call_unary(&mut client, text).await.unwrap_err().code(),
            code
        );
        assert_eq!(
            call_stream(&mut client, text).await.unwrap_err().code(),
            code
        );
    }
    assert_eq!(b.state(), State::Closed);
    let totals = b.observer().totals().snapshot();
    assert_eq!(
        (
            totals.success,
            totals.failure,
            totals.ignored,
            totals.abandoned
        ),
        (0, 0, 4, 0),
        "ignored by the classifier, not abandoned"
    );
}

#[tokio::test]
async fn a_trailers_only_status_is_read_from_the_headers() {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&hits)).await;
    let b = breaker(1, Duration::from_secs(60));
    let trailers_only = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&trailers_only);
    let transport =
        channel(addr)
            .await
            .map_response(move |res: http::Response<tonic::body::Body>| {
                seen.store(res.headers().contains_key("grpc-status"), Ordering::SeqCst);
                res
            });
    let mut client =
        tonic::client::Grpc::new(GrpcBreakerLayer::new(Arc::clone(&b)).layer(transport));

    let status = call_unary(&mut client, "fail 14").await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        trailers_only.load(Ordering::SeqCst),
        "the server sent a trailers-only response"
    );
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn pushback_opens_the_breaker_for_that_long() {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&hits)).await;
    // In the headers (trailers-only) and in the trailers.
    for (unary, text) in [(true, "fail 8 400"), (false, "fail 14 400")] {
        let b = breaker(5, Duration::from_millis(20));
        let mut guarded = tonic::client::Grpc::new(
            GrpcBreakerLayer::new(Arc::clone(&b)).layer(channel(addr).await),
        );
        let status = if unary {
            call_unary(&mut guarded, text).await.unwrap_err()
        } else {
            call_stream(&mut guarded, text).await.unwrap_err()
        };
        assert_ne!(status.code(), Code::Ok);
        assert_eq!(b.state(), State::Open, "{text}: one call is enough");
        let status = call_unary(&mut guarded, "ok").await.unwrap_err();
        let wait = grpc::rejection(status.metadata().as_ref())
            .unwrap()
            .retry_after
            .unwrap();
        assert!(
            wait > Duration::from_millis(300) && wait <= Duration::from_millis(401),
            "{text}: {wait:?}"
        );
        tokio::time::sleep(wait + Duration::from_millis(5)).await;
        assert_eq!(call_unary(&mut guarded, "ok").await.unwrap(), "pong");
        assert_eq!(b.state(), State::Closed);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_stream_dropped_before_its_trailers_abandons_its_probe() {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&hits)).await;
    let b = breaker(1, Duration::from_millis(30));
    let mut client =
        tonic::client::Grpc::new(GrpcBreakerLayer::new(Arc::clone(&b)).layer(channel(addr).await));
    let _ = call_unary(&mut client, "fail 14").await.unwrap_err();
    assert_eq!(b.state(), State::Open);
    tokio::time::sleep(Duration::from_millis(40)).await;

    // The only probe: a stream that never ends, dropped after its first message.
    client.ready().await.unwrap();
    let req = Request::new(Bytes::from_static(b"hang"));
    let mut messages = client
        .server_streaming(req, PathAndQuery::from_static(STREAM), Raw)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(messages.message().await.unwrap().unwrap(), "first");
    assert_eq!(b.state(), State::HalfOpen);
    drop(messages);

    let totals = b.observer().totals().snapshot();
    assert_eq!(
        (totals.success, totals.failure, totals.abandoned),
        (0, 1, 1)
    );
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "an abandoned probe decides nothing"
    );
    // Its slot came back: the next call is the probe, and closes the breaker.
    assert_eq!(call_unary(&mut client, "ok").await.unwrap(), "pong");
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test]
async fn a_transport_error_is_a_failure() {
    let dead = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let b = breaker(2, Duration::from_secs(60));
    let channel = Endpoint::from_shared(format!("http://{dead}"))
        .unwrap()
        .connect_lazy();
    let mut client = tonic::client::Grpc::new(GrpcBreakerLayer::new(Arc::clone(&b)).layer(channel));
    for _ in 0..2 {
        let status = call_unary(&mut client, "ok").await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(grpc::rejection(status.metadata().as_ref()), None);
    }
    assert_eq!(b.state(), State::Open);
}

/// Counts the readiness polls of the service it wraps.
#[derive(Clone)]
struct CountingPolls<S> {
    inner: S,
    polls: Arc<AtomicU32>,
}

impl<S: Service<R>, R> Service<R> for CountingPolls<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> S::Future {
        self.inner.call(req)
    }
}

#[tokio::test]
async fn poll_ready_holds_the_probe_until_call_and_a_rejection_never_polls_the_channel() {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&hits)).await;
    let b = breaker(1, Duration::from_secs(60));
    b.transition_to_half_open();
    let polls = Arc::new(AtomicU32::new(0));
    let counted = CountingPolls {
        inner: channel(addr).await,
        polls: Arc::clone(&polls),
    };
    let layer = GrpcBreakerLayer::new(Arc::clone(&b));
    let mut first = tonic::client::Grpc::new(layer.layer(counted.clone()));
    let mut second = tonic::client::Grpc::new(layer.layer(counted));

    first.ready().await.unwrap();
    assert_eq!(
        b.snapshot().half_open_admitted,
        1,
        "the permit is taken in poll_ready"
    );
    let polled = polls.load(Ordering::SeqCst);
    let status = call_unary(&mut second, "ok").await.unwrap_err();
    let r = grpc::rejection(status.metadata().as_ref()).expect("rejected by the breaker");
    assert_eq!((r.state, r.retry_after), (State::HalfOpen, None));
    assert_eq!(
        polls.load(Ordering::SeqCst),
        polled,
        "a rejected poll_ready does not poll the channel"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    assert_eq!(call_unary(&mut first, "ok").await.unwrap(), "pong");
    assert_eq!(b.state(), State::Closed, "the held probe succeeded");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}
