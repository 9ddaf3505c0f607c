//! The keyed tower layer against two real HTTP servers on 127.0.0.1: the
//! URI authority picks the breaker, a failing host is cut off while the
//! other is served, and the cap on open keys holds over HTTP.
#![cfg(all(feature = "tower", feature = "keyed"))]

mod support;

use fusebox_core::{Config, Ratio, RejectReason, State};
use fusebox_std::keyed::{KeyedBreakers, KeyedConfig};
use fusebox_std::tower::{by_authority, KeyedBreakerLayer};
use fusebox_std::{BreakerSpec, Error, WindowSpec};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::http::status_server;
use tower::{Layer, Service, ServiceExt};

fn get(addr: SocketAddr) -> http::Request<Empty<Bytes>> {
    http::Request::get(format!("http://{addr}/"))
        .body(Empty::new())
        .unwrap()
}

fn hosts(cfg: KeyedConfig) -> KeyedBreakers<String> {
    let spec = BreakerSpec {
        config: Config::builder()
            .consecutive_failures(3)
            .open_for(Duration::from_secs(60))
            .build()
            .unwrap(),
        window: WindowSpec::None,
    };
    KeyedBreakers::new("upstream", spec, cfg).unwrap()
}

struct Server {
    addr: SocketAddr,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicU32>,
}

async fn server(status: u16) -> Server {
    let (s, hits) = (
        Arc::new(AtomicU16::new(status)),
        Arc::new(AtomicU32::new(0)),
    );
    let addr = status_server(Arc::clone(&s), Arc::clone(&hits)).await;
    Server {
        addr,
        status: s,
        hits,
    }
}

#[tokio::test]
async fn a_failing_host_is_cut_off_while_another_is_served() {
    let (down, up) = (server(500).await, server(200).await);
    let breakers = hosts(KeyedConfig::default());
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut svc = KeyedBreakerLayer::new(breakers.clone(), by_authority).layer(client);

    for _ in 0..3 {
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(get(down.addr))
            .await
            .unwrap();
        assert_eq!(res.status(), 500);
    }
    for _ in 0..5 {
        match svc.ready().await.unwrap().call(get(down.addr)).await {
            Err(Error::Rejected {
                state: State::Open,
                retry_after: Some(_),
                reason: RejectReason::State,
            }) => {}
            other => panic!("expected a rejection, got {other:?}"),
        }
        let res = svc.ready().await.unwrap().call(get(up.addr)).await.unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        down.hits.load(Ordering::SeqCst),
        3,
        "rejected calls never reach the host"
    );
    assert_eq!(up.hits.load(Ordering::SeqCst), 5);

    let key = |s: &Server| s.addr.to_string();
    assert_eq!(breakers.get(&key(&down)).state(), State::Open);
    assert_eq!(breakers.get(&key(&up)).state(), State::Closed);
    assert_eq!(
        breakers.get(&key(&down)).name(),
        format!("upstream[{}]", down.addr)
    );
    let t = breakers.get(&key(&down)).observer().totals().snapshot();
    assert_eq!((t.failure, t.rejected), (3, 5));
    let s = breakers.stats();
    assert_eq!((s.keys, s.open), (2, 1));

    // The host recovers; an operator closes its breaker; it is served again.
    down.status.store(200, Ordering::SeqCst);
    breakers.get(&key(&down)).reset();
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(get(down.addr))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(down.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn the_cap_on_open_hosts_holds_when_every_host_fails() {
    let mut servers = Vec::new();
    for _ in 0..4 {
        servers.push(server(503).await);
    }
    let breakers = hosts(KeyedConfig {
        max_open: Some(Ratio::percent(50)),
        ..KeyedConfig::default()
    });
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut svc = KeyedBreakerLayer::new(breakers.clone(), by_authority).layer(client);
    // Every host answers 503 to 6 calls: each would trip, but only half of
    // the hosts may be out of service at once.
    for s in &servers {
        let _ = svc.ready().await.unwrap().call(get(s.addr)).await;
    }
    for _ in 0..6 {
        for s in &servers {
            let _ = svc.ready().await.unwrap().call(get(s.addr)).await;
        }
    }
    let open = servers
        .iter()
        .filter(|s| breakers.get(&s.addr.to_string()).state() == State::Open)
        .count();
    assert_eq!(open, 2);
    let stats = breakers.stats();
    assert_eq!(stats.open, 2);
    assert!(stats.opens_refused >= 2, "{stats:?}");
}
