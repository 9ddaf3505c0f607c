//! Streamed HTTP bodies through a breaker, from a real axum server on
//! 127.0.0.1 to a real hyper client: complete streams succeed, a body cut
//! off half-way fails, a late first chunk times out, a stream dropped
//! half-way gives its half-open slot back and never counts as a success.
#![cfg(feature = "stream")]

use axum::body::Body;
use fusebox_core::{Config, Outcome, State};
use fusebox_std::stream::{guard_stream_owned, StreamPolicy};
use fusebox_std::{BreakerSpec, Error, StdBreaker, WindowSpec};
use futures::StreamExt;
use http_body_util::{BodyDataStream, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// `/tokens`: three chunks 10 ms apart, the last `[DONE]`. `/cut`: one
/// chunk, then the connection is aborted. `/late`: the first chunk after
/// 2 s. `/short`: one chunk and a clean end without `[DONE]`.
async fn server() -> SocketAddr {
    fn chunks(parts: Vec<Result<&'static str, std::io::Error>>, first_delay: Duration) -> Body {
        let s =
            futures::stream::iter(parts.into_iter().enumerate()).then(move |(i, p)| async move {
                let wait = if i == 0 {
                    first_delay
                } else {
                    Duration::from_millis(10)
                };
                tokio::time::sleep(wait).await;
                p.map(|s| Bytes::from_static(s.as_bytes()))
            });
        Body::from_stream(s)
    }
    let app = axum::Router::new()
        .route(
            "/tokens",
            axum::routing::get(|| async {
                chunks(vec![Ok("Hel"), Ok("lo"), Ok("[DONE]")], Duration::ZERO)
            }),
        )
        .route(
            "/cut",
            axum::routing::get(|| async {
                chunks(
                    vec![Ok("Hel"), Err(std::io::Error::other("upstream died"))],
                    Duration::ZERO,
                )
            }),
        )
        .route(
            "/late",
            axum::routing::get(|| async { chunks(vec![Ok("slow")], Duration::from_secs(2)) }),
        )
        .route(
            "/short",
            axum::routing::get(|| async { chunks(vec![Ok("Hel")], Duration::ZERO) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn breaker(config: Config) -> Arc<StdBreaker> {
    let spec = BreakerSpec {
        config,
        window: WindowSpec::None,
    };
    Arc::new(StdBreaker::new("llm", spec).unwrap())
}

/// The body of `GET path` as a stream of chunks.
async fn body(addr: SocketAddr, path: &str) -> BodyDataStream<hyper::body::Incoming> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: hyper::Uri = format!("http://{addr}{path}").parse().unwrap();
    let res = client
        .request(hyper::Request::get(uri).body(Empty::new()).unwrap())
        .await
        .unwrap();
    BodyDataStream::new(res.into_body())
}

fn done_policy() -> StreamPolicy<Bytes> {
    StreamPolicy::new()
        .complete_when(|b: &Bytes| b.as_ref() == b"[DONE]")
        .first_item_timeout(Duration::from_millis(300))
}

#[tokio::test]
async fn a_complete_stream_succeeds_and_a_cut_or_short_one_fails() {
    let addr = server().await;
    let b = breaker(Config::builder().consecutive_failures(3).build().unwrap());

    // A failure first, so that the complete stream's success shows as a
    // reset run.
    let _ = b.try_acquire().unwrap().failure();
    let s = guard_stream_owned(&b, body(addr, "/tokens").await, done_policy()).unwrap();
    let items: Vec<_> = s.collect().await;
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(Result::is_ok));
    assert_eq!(b.snapshot().consecutive_failures, 0);

    // Cut off: an error item, recorded as a failure at once.
    let mut s = guard_stream_owned(&b, body(addr, "/cut").await, done_policy()).unwrap();
    assert_eq!(s.next().await.unwrap().unwrap().as_ref(), b"Hel");
    let e = s.next().await.unwrap().unwrap_err();
    assert!(matches!(e, Error::Inner(_)), "{e:?}");
    assert_eq!(b.snapshot().consecutive_failures, 1);
    while s.next().await.is_some() {}
    assert_eq!(
        b.snapshot().consecutive_failures,
        1,
        "one outcome per stream"
    );

    // A clean end without its `[DONE]`: an early end, a failure.
    let items: Vec<_> = guard_stream_owned(&b, body(addr, "/short").await, done_policy())
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert_eq!(b.snapshot().consecutive_failures, 2);

    // The same end counts nowhere when the policy says so.
    let lenient = done_policy().early_end(Outcome::Ignored);
    let _: Vec<_> = guard_stream_owned(&b, body(addr, "/short").await, lenient)
        .unwrap()
        .collect()
        .await;
    assert_eq!(b.snapshot().consecutive_failures, 2);
}

#[tokio::test]
async fn a_late_first_chunk_is_a_timeout_and_a_failure() {
    let addr = server().await;
    let b = breaker(Config::builder().consecutive_failures(1).build().unwrap());
    let started = std::time::Instant::now();
    let items: Vec<_> = guard_stream_owned(&b, body(addr, "/late").await, done_policy())
        .unwrap()
        .collect()
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(items.len(), 1);
    assert!(matches!(items[0], Err(Error::Timeout)));
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn a_stream_dropped_half_way_gives_its_probe_back_and_never_succeeds() {
    let addr = server().await;
    let config = Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(50))
        .half_open_permits(1)
        .build()
        .unwrap();
    let b = breaker(config);
    let _ = b.try_acquire().unwrap().failure();
    tokio::time::sleep(Duration::from_millis(60)).await;
    // The one probe streams; a second call is turned away meanwhile.
    let mut s = guard_stream_owned(&b, body(addr, "/tokens").await, done_policy()).unwrap();
    assert_eq!(b.state(), State::HalfOpen);
    assert!(s.next().await.unwrap().is_ok());
    assert!(b.try_acquire().is_err());
    drop(s);
    // Abandoned: still half-open (no success closed it), and the slot is back.
    assert_eq!(b.state(), State::HalfOpen);
    let probe = b.try_acquire().expect("the probe slot came back");
    let _ = probe.success();
    assert_eq!(b.state(), State::Closed);
}
