//! Live reconfiguration: `Registry::reload` on real files, a config file
//! edited while real threads call through the registry, the file watcher
//! (feature `watch`) and the admin route over real HTTP (feature `admin`).

use fusebox_core::State;
use fusebox_std::config::{FileConfig, Format};
use fusebox_std::reload::{Change, Part, ReloadError};
use fusebox_std::{CallExt, Registry, StdBreaker};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// A fresh directory under the system's temporary directory.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fusebox-reload-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn parse(text: &str) -> FileConfig {
    FileConfig::parse(Format::Toml, "test.toml", text, []).unwrap()
}

const V1: &str = r#"
[breakers.db]
consecutive_failures = 2
open_for = "60s"

[breakers.cache]
consecutive_failures = 3
"#;

#[test]
fn an_invalid_file_changes_nothing_and_says_where_it_is_wrong() {
    let dir = scratch("invalid");
    let path = dir.join("fusebox.toml");
    std::fs::write(&path, V1).unwrap();
    let registry = Registry::from_config(&FileConfig::load_with_env(&path, []).unwrap()).unwrap();
    let db = registry.get("db").unwrap();
    let _ = db.call(|| Err::<(), _>("down"));

    // A later breaker of the file is bad: the earlier ones must not be
    // applied either.
    std::fs::write(
        &path,
        "[breakers.db]\nconsecutive_failures = 9\n[breakers.zz]\nopen_for = \"soon\"\n",
    )
    .unwrap();
    let e = registry.reload_file(&path).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ReloadError::File(_)), "{e:?}");
    assert!(
        text.contains("fusebox.toml: line 4: breaker `zz`: field `open_for`"),
        "{text}"
    );
    assert!(text.contains("nothing reloaded"), "{text}");
    assert_eq!(registry.names(), ["cache", "db"]);
    let now = registry.get("db").unwrap();
    assert_eq!(now.config().consecutive_failures(), Some(2));
    assert_eq!(
        now.snapshot().consecutive_failures,
        1,
        "the same breaker, its run kept"
    );

    // A missing file changes nothing either.
    std::fs::remove_file(&path).unwrap();
    assert!(registry.reload_file(&path).is_err());
    assert_eq!(registry.names(), ["cache", "db"]);
}

#[test]
fn the_same_settings_keep_the_breaker_untouched_new_names_come_and_old_ones_go() {
    let registry = Registry::from_config(&parse(V1)).unwrap();
    let db = registry.get("db").unwrap();
    let _ = db.call(|| Err::<(), _>("down"));
    // `cache` is held by a call in flight when the reload removes it.
    let cache = registry.get("cache").unwrap();
    let in_flight = cache.try_acquire_owned().unwrap();

    let report = registry
        .reload(&parse(
            r#"
[breakers.db]
consecutive_failures = 2
open_for = "60s"

[breakers.search]
consecutive_failures = 5
"#,
        ))
        .unwrap();
    assert_eq!(report.breakers["db"], Change::Unchanged);
    assert_eq!(report.breakers["search"], Change::Added);
    assert_eq!(report.breakers["cache"], Change::Removed);
    assert_eq!((report.count("added"), report.count("removed")), (1, 1));
    assert_eq!(registry.names(), ["db", "search"]);
    assert_eq!(
        registry.get("db").unwrap().snapshot().consecutive_failures,
        1,
        "an unchanged breaker keeps its run"
    );
    // The removed breaker's permit finishes on it and is counted there.
    let _ = in_flight.failure();
    assert_eq!(cache.observer().totals().snapshot().failure, 1);
    assert!(registry.get("cache").is_none());
}

#[test]
fn breakers_added_by_code_survive_a_reload_that_does_not_name_them() {
    let registry = Registry::from_config(&parse(V1)).unwrap();
    let spec = *parse(V1).get("cache").unwrap();
    registry.insert("from-code", spec).unwrap();
    let report = registry
        .reload(&parse(
            "[breakers.db]\nconsecutive_failures = 2\nopen_for = \"60s\"\n",
        ))
        .unwrap();
    assert_eq!(report.breakers.get("from-code"), None);
    assert_eq!(registry.names(), ["db", "from-code"]);
}

#[test]
fn a_look_up_never_waits_for_a_change_of_the_registry() {
    let registry = Registry::from_config(&parse(V1)).unwrap();
    let (entered, wait_entered) = mpsc::channel();
    let (release, wait_release) = mpsc::channel::<()>();
    // A writer holds the registry's writer lock (building a breaker) until
    // released.
    let writer = {
        let registry = registry.clone();
        std::thread::spawn(move || {
            registry
                .get_or_insert_with("slow", || {
                    entered.send(()).unwrap();
                    wait_release.recv().unwrap();
                    *parse(V1).get("db").unwrap()
                })
                .unwrap();
        })
    };
    wait_entered.recv().unwrap();
    // Calls through the registry go on meanwhile (under a lock the look-up
    // would wait for the writer, and this would time out).
    let (done, wait_done) = mpsc::channel();
    let caller = {
        let registry = registry.clone();
        std::thread::spawn(move || {
            for _ in 0..1_000 {
                let _ = registry.get("db").unwrap().call(|| Ok::<_, ()>(()));
            }
            done.send(()).unwrap();
        })
    };
    let finished = wait_done.recv_timeout(Duration::from_secs(30));
    release.send(()).unwrap();
    writer.join().unwrap();
    caller.join().unwrap();
    assert!(finished.is_ok(), "calls waited for the writer");
    assert_eq!(registry.names(), ["cache", "db", "slow"]);
}

/// Calls made, permitted and rejected by the load threads.
#[derive(Default)]
struct Load {
    permitted: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
}

fn version(open_for_ms: u64, failures: u32, extra: bool) -> String {
    let mut s = format!(
        "[breakers.api]\nconsecutive_failures = {failures}\nopen_for = \"{open_for_ms}ms\"\nwindow = {{ kind = \"count\", size = 50 }}\nfailure_rate = 0.5\nminimum_calls = 10\n"
    );
    if extra {
        s.push_str("[breakers.side]\nconsecutive_failures = 2\n");
    }
    s
}

/// Runs `edit(round)` `rounds` times while four threads call `api` through
/// the registry (one call in five fails), then checks that every permit
/// was counted by exactly one version of the breaker.
fn under_load(registry: &Registry, rounds: u32, mut edit: impl FnMut(u32)) {
    let load = Arc::new(Load::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut versions: Vec<StdBreaker> = vec![registry.get("api").unwrap()];
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (registry, load, stop) = (registry.clone(), Arc::clone(&load), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let b = registry.get("api").expect("api is in every version");
                    match b.try_acquire() {
                        Ok(p) => {
                            load.permitted.fetch_add(1, Ordering::Relaxed);
                            if i % 5 == 0 {
                                load.failed.fetch_add(1, Ordering::Relaxed);
                                let _ = p.failure();
                            } else {
                                let _ = p.success();
                            }
                        }
                        Err(_) => {
                            load.rejected.fetch_add(1, Ordering::Relaxed);
                        }
                    };
                }
            })
        })
        .collect();
    for round in 0..rounds {
        edit(round);
        versions.push(registry.get("api").unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    // Each version once (a reload that left `api` unchanged returns the
    // same breaker again).
    let mut seen: Vec<StdBreaker> = Vec::new();
    for v in versions {
        let identity = |b: &StdBreaker| b.observer() as *const _;
        if !seen.iter().any(|s| identity(s) == identity(&v)) {
            seen.push(v);
        }
    }
    assert!(
        seen.len() > rounds as usize / 2,
        "only {} versions",
        seen.len()
    );
    let (mut recorded, mut failed, mut rejected) = (0, 0, 0);
    for v in &seen {
        let t = v.observer().totals().snapshot();
        recorded += t.permitted;
        failed += t.failure;
        rejected += t.rejected;
    }
    let permitted = load.permitted.load(Ordering::Relaxed);
    assert!(
        permitted > 1_000,
        "the load ran: {permitted} permitted calls"
    );
    assert_eq!(recorded, permitted, "every permit counted once");
    assert_eq!(failed, load.failed.load(Ordering::Relaxed));
    assert_eq!(rejected, load.rejected.load(Ordering::Relaxed));
}

#[test]
fn a_config_file_edited_under_multithreaded_load_loses_no_permit() {
    let dir = scratch("load");
    let path = dir.join("fusebox.toml");
    std::fs::write(&path, version(40, 3, false)).unwrap();
    let registry = Registry::from_config(&FileConfig::load_with_env(&path, []).unwrap()).unwrap();
    under_load(&registry, 40, |round| {
        // Every round a new setting; every fourth an invalid file.
        let text = if round % 4 == 3 {
            "[breakers.api]\nconsecutive_failures = -1\n".to_string()
        } else {
            version(50 + u64::from(round), 3 + round % 3, round % 2 == 0)
        };
        std::fs::write(&path, text).unwrap();
        match registry.reload_file(&path) {
            Ok(report) => assert!(
                matches!(report.breakers["api"], Change::Reconfigured(_)),
                "{report}"
            ),
            Err(e) => assert!(round % 4 == 3, "round {round}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(5));
    });
}

#[cfg(feature = "watch")]
mod watch {
    use super::*;
    use fusebox_std::reload::{ConfigWatcher, ReloadOutcome};

    fn watcher(
        registry: &Registry,
        path: &std::path::Path,
        debounce: Duration,
    ) -> (ConfigWatcher, mpsc::Receiver<Result<String, String>>) {
        let (tx, rx) = mpsc::channel();
        let w = ConfigWatcher::builder(registry.clone(), path)
            .debounce(debounce)
            .on_reload(move |o: &ReloadOutcome| {
                let _ = tx.send(o.as_ref().map(|r| r.to_string()).map_err(|e| e.to_string()));
            })
            .start()
            .unwrap();
        (w, rx)
    }

    const WAIT: Duration = Duration::from_secs(20);

    #[test]
    fn the_watcher_reloads_a_saved_file_rejects_an_invalid_one_and_debounces_bursts() {
        let dir = scratch("watch");
        let path = dir.join("fusebox.toml");
        std::fs::write(&path, V1).unwrap();
        let registry =
            Registry::from_config(&FileConfig::load_with_env(&path, []).unwrap()).unwrap();
        let (w, rx) = watcher(&registry, &path, Duration::from_millis(300));

        // A valid save.
        std::fs::write(&path, "[breakers.db]\nconsecutive_failures = 7\n").unwrap();
        let report = rx.recv_timeout(WAIT).unwrap().unwrap();
        assert!(report.contains("db: reconfigured"), "{report}");
        assert!(report.contains("cache: removed"), "{report}");
        assert_eq!(
            registry.get("db").unwrap().config().consecutive_failures(),
            Some(7)
        );

        // An invalid save: refused, nothing changes.
        std::fs::write(&path, "[breakers.db]\nconsecutive_failures = \"many\"\n").unwrap();
        let err = rx.recv_timeout(WAIT).unwrap().unwrap_err();
        assert!(
            err.contains("breaker `db`: field `consecutive_failures`"),
            "{err}"
        );
        assert_eq!(
            registry.get("db").unwrap().config().consecutive_failures(),
            Some(7)
        );
        assert_eq!((w.reloads(), w.rejected()), (1, 1));

        // A burst of saves (and an editor's rename over the file) within
        // the debounce period: one reload, of the last content.
        for n in 1..=5 {
            let tmp = dir.join(".fusebox.toml.swp");
            std::fs::write(&tmp, format!("[breakers.db]\nconsecutive_failures = {n}\n")).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        let report = rx.recv_timeout(WAIT).unwrap().unwrap();
        assert!(report.contains("db: reconfigured"), "{report}");
        assert_eq!(
            registry.get("db").unwrap().config().consecutive_failures(),
            Some(5)
        );
        assert!(
            rx.recv_timeout(Duration::from_secs(1)).is_err(),
            "a burst is one reload"
        );
        assert_eq!((w.reloads(), w.rejected()), (2, 1));
        drop(w);
    }

    #[test]
    fn a_file_edited_under_load_is_reloaded_by_the_watcher_without_losing_a_permit() {
        let dir = scratch("watch-load");
        let path = dir.join("fusebox.toml");
        std::fs::write(&path, version(50, 3, false)).unwrap();
        let registry =
            Registry::from_config(&FileConfig::load_with_env(&path, []).unwrap()).unwrap();
        let (_w, rx) = watcher(&registry, &path, Duration::from_millis(50));
        under_load(&registry, 12, |round| {
            std::fs::write(
                &path,
                version(60 + u64::from(round), 3 + round % 3, round % 2 == 0),
            )
            .unwrap();
            let report = rx.recv_timeout(WAIT).unwrap().unwrap();
            assert!(report.contains("api: reconfigured"), "{report}");
        });
    }
}

#[cfg(feature = "admin")]
mod admin_route {
    use super::*;
    use fusebox_std::admin::AdminRouter;
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use std::net::SocketAddr;

    const TOKEN: &str = "reload secret";

    async fn post(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let mut req = http::Request::post(format!("http://{addr}{path}"));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let res = client
            .request(req.body(Empty::new()).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn serve(router: axum::Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn post_reload_needs_the_admin_token_and_reports_each_breaker() {
        let dir = scratch("admin");
        let path = dir.join("fusebox.toml");
        std::fs::write(&path, V1).unwrap();
        let registry =
            Registry::from_config(&FileConfig::load_with_env(&path, []).unwrap()).unwrap();
        let addr = serve(
            AdminRouter::new(registry.clone())
                .token(TOKEN)
                .read_token("reader")
                .reload_from(&path)
                .build(),
        )
        .await;
        std::fs::write(
            &path,
            "[breakers.db]\nconsecutive_failures = 4\n[breakers.new]\n",
        )
        .unwrap();

        // Without a token, with the read token, with a wrong one: refused,
        // nothing reloaded.
        for token in [None, Some("reader"), Some("guess")] {
            let (status, _) = post(addr, "/reload", token).await;
            assert_eq!(status, 401, "{token:?}");
        }
        assert_eq!(registry.names(), ["cache", "db"]);

        let (status, body) = post(addr, "/reload", Some(TOKEN)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["breakers"]["db"]["change"], "reconfigured");
        assert_eq!(body["breakers"]["new"]["change"], "added");
        assert_eq!(body["breakers"]["cache"]["change"], "removed");
        assert!(body["breakers"]["db"]["reset"].is_array(), "{body}");
        assert_eq!(registry.names(), ["db", "new"]);

        // A bad file: 422, the error, nothing changed.
        std::fs::write(&path, "[breakers.db]\nopen_for = \"soon\"\n").unwrap();
        let (status, body) = post(addr, "/reload", Some(TOKEN)).await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("field `open_for`"),
            "{body}"
        );
        assert_eq!(body["changed"], false);
        assert_eq!(registry.names(), ["db", "new"]);
        assert_eq!(
            registry.get("db").unwrap().config().consecutive_failures(),
            Some(4)
        );
    }

    #[tokio::test]
    async fn a_router_without_a_file_answers_404() {
        let registry = Registry::from_config(&parse(V1)).unwrap();
        let addr = serve(AdminRouter::new(registry).token(TOKEN).build()).await;
        let (status, body) = post(addr, "/reload", Some(TOKEN)).await;
        assert_eq!(status, 404, "{body}");
    }
}

#[test]
fn what_a_reconfigured_closed_breaker_keeps_and_resets() {
    let registry = Registry::from_config(&parse(V1)).unwrap();
    let _ = registry.get("db").unwrap().call(|| Err::<(), _>("down"));
    let report = registry
        .reload(&parse("[breakers.db]\nconsecutive_failures = 2\nopen_for = \"90s\"\n[breakers.cache]\nconsecutive_failures = 3\n"))
        .unwrap();
    let Change::Reconfigured(c) = &report.breakers["db"] else {
        panic!("{report}")
    };
    assert_eq!(
        (c.from, c.to, c.open_for),
        (State::Closed, State::Closed, None)
    );
    assert_eq!(c.kept, [Part::State, Part::BackoffLevel]);
    assert_eq!(
        c.reset,
        [Part::WindowCounts, Part::Totals, Part::ConsecutiveFailures]
    );
    assert_eq!(
        registry.get("db").unwrap().snapshot().consecutive_failures,
        0
    );
    assert_eq!(report.breakers["cache"], Change::Unchanged);
    assert!(report.to_string().contains("db: reconfigured (closed -> closed; kept state, backoff_level; reset window_counts, totals, consecutive_failures)"), "{report}");
}

#[test]
fn an_open_breaker_stays_open_for_what_was_left_under_its_new_settings() {
    let registry = Registry::from_config(&parse(V1)).unwrap();
    let db = registry.get("db").unwrap();
    for _ in 0..2 {
        let _ = db.call(|| Err::<(), _>("down"));
    }
    assert_eq!(db.state(), State::Open);
    let report = registry
        .reload(&parse(
            "[breakers.db]\nconsecutive_failures = 5\nopen_for = \"120s\"\n",
        ))
        .unwrap();
    let Change::Reconfigured(c) = &report.breakers["db"] else {
        panic!("{report}")
    };
    assert_eq!((c.from, c.to, c.clamped), (State::Open, State::Open, false));
    let left = c.open_for.unwrap();
    assert!(
        left <= Duration::from_secs(60) && left > Duration::from_secs(30),
        "{left:?}"
    );
    assert_eq!(
        c.kept,
        [Part::State, Part::BackoffLevel, Part::OpenRemaining]
    );
    let now = registry.get("db").unwrap();
    assert_eq!(now.config().consecutive_failures(), Some(5));
    assert_eq!(now.state(), State::Open);
    assert!(now.call(|| Ok::<_, ()>(())).unwrap_err().is_rejected());

    // New settings whose longest open period (the longest of the backoff's
    // maximum and `max_trip_hint`) is shorter: cut to it.
    let report = registry
        .reload(&parse(
            "[breakers.db]\nconsecutive_failures = 5\nopen_for = \"50ms\"\nmax_trip_hint = \"50ms\"\n",
        ))
        .unwrap();
    let Change::Reconfigured(c) = &report.breakers["db"] else {
        panic!("{report}")
    };
    assert!(c.clamped, "{report}");
    assert!(c.open_for.unwrap() <= Duration::from_millis(50), "{report}");
    assert!(
        report.to_string().contains("(cut to the new longest)"),
        "{report}"
    );
    std::thread::sleep(Duration::from_millis(60));
    // The next call probes, and a success closes it.
    let b = registry.get("db").unwrap();
    assert!(b.call(|| Ok::<_, ()>(())).is_ok());
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn an_operators_mode_survives_a_reload() {
    let registry = Registry::from_config(&parse(V1)).unwrap();
    registry.get("cache").unwrap().force_open();
    registry.get("db").unwrap().disable();
    let report = registry
        .reload(&parse(
            "[breakers.db]\nconsecutive_failures = 4\n[breakers.cache]\nconsecutive_failures = 4\n",
        ))
        .unwrap();
    assert_eq!(report.count("reconfigured"), 2, "{report}");
    assert_eq!(registry.get("cache").unwrap().state(), State::ForcedOpen);
    assert_eq!(registry.get("db").unwrap().state(), State::Disabled);
}
