//! Breaker state across restarts (feature `persist`), for real: files on
//! disk, and a child process killed with SIGKILL at random moments while
//! its breakers trip, restarted 200 times.
#![cfg(feature = "persist")]

use fusebox_std::core::{Config, Exported, State};
use fusebox_std::persist::{self, LoadError, Persistence, SavedState, FORMAT};
use fusebox_std::{BreakerSpec, Registry, WindowSpec};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The open period of every breaker here: longer than the whole test, so a
/// breaker opened in the first run is still open in the last.
const OPEN_FOR: Duration = Duration::from_secs(120);
/// The timer unit of a nanosecond clock on a 64-bit target (2^15 ns):
/// deadlines of trips are rounded up to it.
const UNIT: Duration = Duration::from_nanos(1 << 15);
/// Breaker names the child cycles through.
const NAMES: usize = 12;

fn spec() -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .consecutive_failures(1)
            .open_for(OPEN_FOR)
            .build()
            .unwrap(),
        window: WindowSpec::None,
    }
}

fn registry() -> Registry {
    let r = Registry::new();
    for i in 0..NAMES {
        r.insert(&format!("b{i}"), spec()).unwrap();
    }
    r
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fusebox-persist-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn trip(r: &Registry, name: &str) {
    let _ = r.get(name).unwrap().try_acquire().unwrap().failure();
}

#[test]
fn an_open_breaker_comes_back_open_for_what_was_left() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("state.json");
    let first = registry();
    let saver = first.persist_to(&path).unwrap();
    trip(&first, "b3");
    first.get("b5").unwrap().force_open();
    saver.shutdown().unwrap();
    let saved = SavedState::load(&path).unwrap();
    let recorded = saved.breakers["b3"].open_remaining.unwrap();
    assert!(recorded <= OPEN_FOR && recorded > OPEN_FOR - Duration::from_secs(5));

    let second = registry();
    let summary = second.restore_from(&path);
    assert!(summary.problem.is_none(), "{:?}", summary.problem);
    assert_eq!(second.get("b3").unwrap().state(), State::Open);
    assert_eq!(second.get("b5").unwrap().state(), State::ForcedOpen);
    assert_eq!(second.get("b0").unwrap().state(), State::Closed);
    let restored = summary.restored["b3"].open_for.unwrap();
    assert!(restored <= recorded, "{restored:?} > {recorded:?}");
    assert!(restored + summary.downtime + Duration::from_secs(1) >= recorded);
    assert!(second.get("b3").unwrap().try_acquire().is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_transition_reaches_the_file_without_a_flush() {
    let dir = temp_dir("latency");
    let path = dir.join("state.json");
    let r = registry();
    let _saver = Persistence::start(&r, &path).unwrap();
    trip(&r, "b1");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = SavedState::load(&path).unwrap();
        if s.breakers["b1"].state == State::Open {
            break;
        }
        assert!(Instant::now() < deadline, "the trip was never saved");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_truncated_or_foreign_file_is_a_clean_start() {
    let dir = temp_dir("bad");
    let path = dir.join("state.json");
    let r = registry();
    assert_eq!(r.restore_from(&path).problem, Some(LoadError::Missing));

    // A whole file, then every truncation of it.
    trip(&r, "b2");
    Persistence::start(&r, &path).unwrap().shutdown().unwrap();
    let whole = std::fs::read(&path).unwrap();
    for cut in [0, 1, whole.len() / 3, whole.len() / 2, whole.len() - 2] {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let fresh = registry();
        let summary = fresh.restore_from(&path);
        assert!(
            matches!(summary.problem, Some(LoadError::Invalid(_))),
            "cut at {cut}: {:?}",
            summary.problem
        );
        assert!(summary.restored.is_empty());
        assert_eq!(fresh.get("b2").unwrap().state(), State::Closed);
    }
    std::fs::write(&path, br#"{"name": "something else"}"#).unwrap();
    assert_eq!(
        registry().restore_from(&path).problem,
        Some(LoadError::Foreign)
    );
    std::fs::write(&path, b"[breakers.db]\nconsecutive_failures = 3\n").unwrap();
    assert!(matches!(
        registry().restore_from(&path).problem,
        Some(LoadError::Invalid(_))
    ));
    let newer = String::from_utf8(whole.clone()).unwrap().replace(
        "\"version\": 1,\n  \"saved_at",
        "\"version\": 9,\n  \"saved_at",
    );
    assert_ne!(
        newer.as_bytes(),
        &whole[..],
        "the file version was replaced"
    );
    std::fs::write(&path, newer).unwrap();
    assert_eq!(
        registry().restore_from(&path).problem,
        Some(LoadError::Version(Some(9)))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_changed_config_keeps_the_open_period_and_drops_the_run() {
    let dir = temp_dir("fingerprint");
    let path = dir.join("state.json");
    let three = |n| BreakerSpec {
        config: Config::builder()
            .consecutive_failures(n)
            .open_for(OPEN_FOR)
            .build()
            .unwrap(),
        window: WindowSpec::None,
    };
    let r = Registry::new();
    r.insert("open", three(1)).unwrap();
    r.insert("run", three(3)).unwrap();
    trip(&r, "open");
    trip(&r, "run");
    trip(&r, "run");
    Persistence::start(&r, &path).unwrap().shutdown().unwrap();

    let changed = Registry::new();
    changed.insert("open", three(2)).unwrap();
    changed.insert("run", three(4)).unwrap();
    changed.insert("new", three(4)).unwrap();
    let summary = changed.restore_from(&path);
    let open = &summary.restored["open"];
    assert!(!open.fingerprint_matched);
    assert_eq!(open.state, State::Open);
    let run = &summary.restored["run"];
    assert_eq!(
        (run.consecutive_failures, run.dropped.consecutive_failures),
        (0, 2)
    );
    assert_eq!(changed.get("new").unwrap().state(), State::Closed);

    let same = Registry::new();
    same.insert("run", three(3)).unwrap();
    let summary = same.restore_from(&path);
    assert_eq!(summary.unknown, vec!["open".to_string()]);
    assert_eq!(summary.restored["run"].consecutive_failures, 2);
    trip(&same, "run");
    assert_eq!(same.get("run").unwrap().state(), State::Open);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- the crash test -------------------------------------------------------

const CHILD_ENV: &str = "FUSEBOX_PERSIST_CHILD_FILE";

/// The child process: restores the registry from the file, reports what it
/// restored, then trips, resets and re-trips breakers as fast as it can,
/// saving each change (`flush`) before it reports it. Killed at random.
#[test]
#[ignore = "the child process of `sigkill_at_random_moments_never_loses_an_open_breaker`"]
fn persist_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let r = registry();
    let summary = r.restore_from(&path);
    let problem = summary.problem.as_ref().map(|p| p.to_string());
    println!(
        "PERSIST start {}",
        problem.unwrap_or_else(|| "ok".into()).replace(' ', "_")
    );
    for (name, report) in &summary.restored {
        let snapshot = r.get(name).unwrap().snapshot();
        println!(
            "PERSIST restored {name} {} {} {}",
            report.state.as_str(),
            report.open_for.map_or(-1, |d| d.as_micros() as i128),
            snapshot.state.as_str(),
        );
    }
    println!("PERSIST restored-all");
    let saver = Persistence::start(&r, &path).unwrap();
    let mut i = std::process::id() as usize;
    loop {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let name = format!("b{}", (i >> 8) % NAMES);
        let b = r.get(&name).unwrap();
        println!("PERSIST begin {name}");
        b.reset();
        let _ = b.try_acquire().unwrap().failure();
        saver.flush().unwrap();
        println!("PERSIST ack {name}");
    }
}

/// The recorded remaining time of each open breaker in a state file, and the
/// time of the save.
fn open_in(saved: &SavedState) -> BTreeMap<String, Duration> {
    saved
        .breakers
        .iter()
        .filter(|(_, e): &(&String, &Exported)| e.state == State::Open)
        .map(|(n, e)| (n.clone(), e.open_remaining.unwrap()))
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A small deterministic generator: the run can be replayed from its seed.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn spawn_child(exe: &Path, path: &Path) -> std::process::Child {
    Command::new(exe)
        .args(["--exact", "persist_child", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child test process")
}

/// Issue 16: 200 restarts of a child killed with SIGKILL at random moments
/// while it trips breakers and saves. After every kill the file is whole
/// and valid; every breaker whose trip the child acknowledged is open in
/// it; and the next run restores every open breaker as open, for no longer
/// than recorded and no shorter than recorded less the time since the save.
#[cfg(unix)]
#[test]
fn sigkill_at_random_moments_never_loses_an_open_breaker() {
    let exe = std::env::current_exe().unwrap();
    let dir = temp_dir("sigkill");
    let path = dir.join("state.json");
    let seed = now_ms() | 1;
    let mut rng = XorShift(seed);
    let runs = 200;
    let started = Instant::now();
    // What the previous run left: the file content after its kill.
    let mut before: Option<SavedState> = None;
    let mut acks_total = 0;
    for run in 0..runs {
        let mut child = spawn_child(&exe, &path);
        // Kill at a random moment in the first 150 ms: during start-up, the
        // restore, the first save, or the trip loop.
        let delay = Duration::from_micros(rng.next() % 150_000);
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        // libtest may print its own "test persist_child ... " before ours.
        let lines: Vec<&str> = out
            .lines()
            .filter_map(|l| l.find("PERSIST ").map(|i| &l[i + "PERSIST ".len()..]))
            .collect();
        let ctx = || {
            format!(
                "seed {seed}, run {run}, killed after {delay:?}:\n{}",
                lines.join("\n")
            )
        };

        // What this run restored, against what the previous run left.
        if let Some(prev) = &before {
            let wall = now_ms();
            let recorded = open_in(prev);
            let restored: BTreeMap<&str, (&str, i128, &str)> = lines
                .iter()
                .filter_map(|l| l.strip_prefix("restored "))
                .filter_map(|l| {
                    let f: Vec<&str> = l.split(' ').collect();
                    (f.len() == 4).then(|| (f[0], (f[1], f[2].parse().unwrap(), f[3])))
                })
                .collect();
            if lines.contains(&"restored-all") {
                assert!(lines.contains(&"start ok"), "{}", ctx());
                for (name, left) in &recorded {
                    let (state, open_for_us, now_state) = restored
                        .get(name.as_str())
                        .unwrap_or_else(|| panic!("{name} not restored\n{}", ctx()));
                    assert_eq!((*state, *now_state), ("open", "open"), "{name}\n{}", ctx());
                    let got = Duration::from_micros(*open_for_us as u64);
                    assert!(
                        got <= *left,
                        "{name}: restored {got:?} > recorded {left:?}\n{}",
                        ctx()
                    );
                    let since_save = Duration::from_millis(wall - prev.saved_at_unix_ms);
                    assert!(
                        got + since_save + Duration::from_millis(2) >= *left,
                        "{name}: restored {got:?}, recorded {left:?}, saved {since_save:?} ago\n{}",
                        ctx()
                    );
                }
            }
        }

        // The file after the kill: whole, valid, and holding every
        // acknowledged trip, and every open breaker nobody touched since.
        let saved = match SavedState::load(&path) {
            Ok(s) => s,
            Err(LoadError::Missing) if before.is_none() => {
                continue; // killed before its first save
            }
            Err(e) => panic!("invalid file after the kill: {e}\n{}", ctx()),
        };
        assert_eq!(saved.format, FORMAT);
        let mut last: BTreeMap<&str, &str> = BTreeMap::new();
        for l in &lines {
            if let Some(n) = l.strip_prefix("begin ") {
                last.insert(n, "begin");
            } else if let Some(n) = l.strip_prefix("ack ") {
                last.insert(n, "ack");
                acks_total += 1;
            }
        }
        let open_now = open_in(&saved);
        for (name, what) in &last {
            if *what == "ack" {
                assert!(
                    open_now.contains_key(*name),
                    "{name}: acknowledged open, not open in the file\n{}",
                    ctx()
                );
            }
        }
        if lines.contains(&"restored-all") {
            if let Some(prev) = &before {
                for name in open_in(prev).keys() {
                    if !last.contains_key(name.as_str()) {
                        assert!(
                            open_now.contains_key(name),
                            "{name}: restored open, untouched, lost\n{}",
                            ctx()
                        );
                    }
                }
            }
        }
        // Nothing is ever open longer than a fresh trip (whose deadline is
        // rounded up to the timer's unit, 32 768 ns with the std clock).
        for (name, left) in &open_now {
            assert!(*left <= OPEN_FOR + UNIT, "{name}: {left:?}\n{}", ctx());
        }
        before = Some(saved);
    }
    let leftovers = std::fs::read_dir(&dir).unwrap().count();
    println!(
        "{runs} runs in {:?} (seed {seed}), {acks_total} acknowledged trips, {leftovers} files in the directory",
        started.elapsed()
    );
    assert!(acks_total > 0, "the child never got to trip a breaker");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_registry_restores_every_breaker_it_holds_and_ignores_the_rest() {
    let dir = temp_dir("summary");
    let path = dir.join("state.json");
    let r = registry();
    trip(&r, "b0");
    Persistence::start(&r, &path).unwrap().shutdown().unwrap();
    let fewer = Registry::new();
    fewer.insert("b0", spec()).unwrap();
    let summary = persist::restore(&fewer, &path);
    assert_eq!(summary.restored.len(), 1);
    assert_eq!(summary.unknown.len(), NAMES - 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
