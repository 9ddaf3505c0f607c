//! `fusebox demo`: a loopback HTTP service that fails on a schedule
//! (healthy, outage, flapping, recovery), hyper clients calling it through
//! the tower layer, one breaker per dependency from a config file, each
//! breaker's state shown live; then a summary and a plotted timeline.

mod clients;
mod display;
mod service;

use crate::plot::{self, Panel};
use clap::ValueEnum;
use clients::{Seen, TimedClient};
use display::{ms_since, Track, View};
use fusebox_std::config::{FileConfig, Format};
use fusebox_std::Registry;
use service::{Behaviour, Dependency, Schedule, Served};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

/// How the summary is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// A table for people.
    Table,
    /// One JSON object.
    Json,
}

/// `fusebox demo`'s options.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// How long to run (2s to 1h). The schedule (healthy 20 %, outage 30 %,
    /// flapping 25 %, recovery 25 %) and the built-in open periods scale
    /// with it.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Concurrent callers per dependency (1 to 64).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub clients: u16,
    /// Where to draw the timeline (.svg or .png) [default: fusebox-demo.svg
    /// in the temporary directory].
    #[arg(long, value_name = "OUT.svg|OUT.png")]
    pub plot: Option<PathBuf>,
    /// Take the breakers from this file instead of the built-in ones; it
    /// must define `inventory`, `payments` and `search`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print phases and transitions as lines instead of the live display
    /// (the default when stderr is not a terminal).
    #[arg(long)]
    pub plain: bool,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(2) || d > Duration::from_secs(3600) {
        return Err(format!("{s} is outside 2s..=1h"));
    }
    Ok(d)
}

/// The clients' per-request timeout; a hung payments answer outlasts it.
const TIMEOUT: Duration = Duration::from_millis(800);
/// Pause between one caller's calls.
const THINK: Duration = Duration::from_millis(10);

/// The built-in breakers: presets, with open periods scaled to the run
/// (1 s at the default 20 s).
fn builtin_config(total: Duration) -> String {
    let open = (total / 20).max(Duration::from_millis(100));
    let fmt = |d: Duration| humantime::format_duration(d).to_string();
    let (max, short_max) = (fmt(open * 4), fmt(open * 2));
    let (open, wait) = (fmt(open), fmt(open * 2 + TIMEOUT));
    let span = fmt((total / 20).max(Duration::from_secs(1)));
    format!(
        r#"# fusebox demo's breakers, one per dependency.

# inventory answers 503 while down. The `database` preset: 3 failures in a
# row, or half of the last 50 calls, trip it.
[breakers.inventory]
preset = "database"
open_for = "{open}"
backoff = {{ kind = "exponential", multiplier = 2.0, max = "{max}", jitter = 0.1 }}
max_half_open_wait = "{wait}"

# payments slows down (300 ms, sometimes no answer within the timeout).
# The `http_api` preset, with a 150 ms slow-call rule over a short window.
[breakers.payments]
preset = "http_api"
slow_call_duration = "150ms"
slow_call_rate = 0.5
minimum_calls = 10
window = {{ kind = "time", span = "{span}", buckets = 10 }}
open_for = "{open}"
backoff = {{ kind = "exponential", multiplier = 2.0, max = "{max}", jitter = 0.2 }}
max_half_open_wait = "{wait}"

# search answers 429 with Retry-After while overloaded: a 429 counts
# neither way, and Retry-After opens the breaker for that long.
[breakers.search]
preset = "default"
open_for = "{open}"
backoff = {{ kind = "exponential", multiplier = 2.0, max = "{short_max}", jitter = 0.1 }}
max_half_open_wait = "{wait}"
"#
    )
}

/// Runs the demo; exit 0, or 2 on a bad config or a failed start.
pub fn run(args: DemoArgs) -> ExitCode {
    let file = match &args.config {
        Some(path) => FileConfig::load(path),
        None => FileConfig::parse(
            Format::Toml,
            "built-in demo config",
            &builtin_config(args.duration),
            std::env::vars(),
        ),
    };
    let file = match file {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    if let Some(d) = Dependency::ALL
        .into_iter()
        .find(|d| file.get(d.name()).is_none())
    {
        return fail(format!(
            "{}: the demo needs a breaker `{}` (it needs inventory, payments and search)",
            file.source(),
            d.name()
        ));
    }
    let registry = match Registry::from_config(&file) {
        Ok(r) => r,
        Err(e) => return fail(format!("{}: {e}", file.source())),
    };
    let plot_path = args
        .plot
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("fusebox-demo.svg"));
    if let Err(e) = plot::Kind::of(&plot_path) {
        return fail(format!("--plot {e}"));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let live = !args.plain && std::io::stderr().is_terminal();
    let outcome = runtime.block_on(demo(&args, &registry, live));
    let Ok((tracks, seen, served, schedule, addr)) = outcome else {
        return fail(outcome.err().unwrap_or_default());
    };
    // Where each phase after the first begins.
    let marks: Vec<(f64, String)> = service::Phase::ALL[1..]
        .iter()
        .map(|p| {
            let at = p.starts_at() * args.duration.as_secs_f64();
            (at, p.name().to_string())
        })
        .collect();
    let panels: Vec<Panel<'_>> = tracks
        .iter()
        .map(|t| Panel {
            plot: &t.plot,
            config: t.breaker.config(),
            title: format!("{}: fusebox demo", t.name),
            marks: marks.clone(),
        })
        .collect();
    let plotted = plot::write(&plot_path, &panels);
    let summary = Summary {
        tracks: &tracks,
        seen: &seen,
        served: &served,
        elapsed: schedule.start.elapsed(),
        clients: args.clients,
        addr,
        plot: plotted.as_ref().map(|()| &plot_path),
    };
    match args.format {
        SummaryFormat::Table => summary.table(),
        SummaryFormat::Json => println!("{}", summary.json()),
    }
    match plotted {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("--plot {e}")),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

type Ran = (
    Vec<Track>,
    Vec<Seen>,
    Arc<Served>,
    Schedule,
    std::net::SocketAddr,
);

async fn demo(args: &DemoArgs, registry: &Registry, live: bool) -> Result<Ran, String> {
    let start = Instant::now();
    let schedule = Schedule {
        start,
        total: args.duration,
    };
    let retry_after_s = (args.duration.as_secs() / 20).max(1);
    let behaviour = Behaviour {
        slow: Duration::from_millis(300),
        hang: TIMEOUT * 2,
        retry_after_s,
    };
    let (addr, served) = service::start(schedule, behaviour)
        .await
        .map_err(|e| format!("cannot start the loopback service: {e}"))?;
    let mut events = registry.subscribe();
    let mut tracks: Vec<Track> = Dependency::ALL
        .into_iter()
        .map(|d| Track::new(d.name(), registry.get(d.name()).expect("checked above")))
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let deadline = start + args.duration;
    let client = TimedClient::new(TIMEOUT);
    let plan = clients::Plan {
        addr,
        tasks: usize::from(args.clients),
        think: THINK,
        deadline,
        stop: Arc::clone(&stop),
    };
    let drivers: Vec<_> = Dependency::ALL
        .into_iter()
        .zip(&tracks)
        .map(|(d, t)| {
            let (breaker, client, plan) = (t.breaker.clone(), client.clone(), plan.clone());
            tokio::spawn(clients::drive(d, breaker, client, plan))
        })
        .collect();
    let all_done = futures_join(drivers);
    tokio::pin!(all_done);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    let mut view = if live {
        View::live(&tracks, args.duration)
    } else {
        View::plain()
    };
    let mut interrupted = false;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let seen = loop {
        tokio::select! {
            seen = &mut all_done => break seen,
            event = events.recv() => match event {
                Ok(e) => {
                    if let Some(t) = tracks.iter_mut().find(|t| *t.name == *e.breaker) {
                        let at = ms_since(start, e.transition.at);
                        view.transition(t.name, at, &e.transition);
                        t.transition(at, &e.transition);
                    }
                }
                // A burst outran the channel: the samples still catch the
                // state; the lost transitions are missing from the log.
                Err(RecvError::Lagged(n)) => {
                    view.transition_gap(n);
                }
                Err(RecvError::Closed) => {}
            },
            _ = tick.tick() => {
                let at = start.elapsed().as_millis() as u64;
                for t in &mut tracks {
                    t.sample(at);
                }
                view.update(&tracks, &schedule, start.elapsed());
            }
            // Ctrl-C: the callers stop after their current call, and the
            // summary and plot cover the run so far. Polled once only.
            _ = &mut ctrl_c, if !interrupted => {
                interrupted = true;
                // Relaxed: the callers poll it between calls.
                stop.store(true, Ordering::Relaxed);
            }
        }
    };
    // Transitions the last calls caused.
    while let Ok(e) = events.try_recv() {
        if let Some(t) = tracks.iter_mut().find(|t| *t.name == *e.breaker) {
            let at = ms_since(start, e.transition.at);
            view.transition(t.name, at, &e.transition);
            t.transition(at, &e.transition);
        }
    }
    let end = start.elapsed().as_millis() as u64;
    for t in &mut tracks {
        t.finish(end);
    }
    view.finish();
    Ok((tracks, seen, served, schedule, addr))
}

/// Waits for every driver; a driver that panicked saw nothing.
async fn futures_join(drivers: Vec<tokio::task::JoinHandle<Seen>>) -> Vec<Seen> {
    let mut seen = Vec::with_capacity(drivers.len());
    for d in drivers {
        seen.push(d.await.unwrap_or_default());
    }
    seen
}

struct Summary<'a> {
    tracks: &'a [Track],
    seen: &'a [Seen],
    served: &'a Served,
    elapsed: Duration,
    clients: u16,
    addr: std::net::SocketAddr,
    plot: Result<&'a PathBuf, &'a String>,
}

/// The `q`-quantile of `v` (sorted here), in µs.
fn quantile(v: &[u32], q: f64) -> Option<u32> {
    let mut v = v.to_vec();
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v.get(i).copied()
}

fn us(v: Option<u32>) -> String {
    match v {
        None => "-".to_string(),
        Some(u) if u >= 10_000 => format!("{:.0} ms", f64::from(u) / 1000.0),
        Some(u) if u >= 1_000 => format!("{:.1} ms", f64::from(u) / 1000.0),
        Some(u) => format!("{u} µs"),
    }
}

impl Summary<'_> {
    fn rows(&self) -> impl Iterator<Item = (Dependency, &Track, &Seen)> {
        Dependency::ALL
            .into_iter()
            .zip(self.tracks)
            .zip(self.seen)
            .map(|((d, t), s)| (d, t, s))
    }

    fn table(&self) {
        println!(
            "\nfusebox demo: {:.1} s, {} callers per dependency, service on {}\n",
            self.elapsed.as_secs_f64(),
            self.clients,
            self.addr
        );
        println!(
            "{:<10} {:>7} {:>9} {:>8} {:>7} {:>7} {:>6} {:>8} {:>6} {:>8} {:>8} {:>10} {:>10} {:>10}",
            "breaker",
            "calls",
            "rejected",
            "reached",
            "ok",
            "failed",
            "429",
            "trips",
            "open",
            "half-open",
            "closed",
            "p50 call",
            "p99 call",
            "p50 reject"
        );
        let (mut calls, mut rejected) = (0, 0);
        for (d, t, s) in self.rows() {
            let secs = |i: usize| format!("{:.1}s", t.ms_in[i] as f64 / 1000.0);
            println!(
                "{:<10} {:>7} {:>9} {:>8} {:>7} {:>7} {:>6} {:>8} {:>6} {:>8} {:>8} {:>10} {:>10} {:>10}",
                t.name,
                s.permitted() + s.rejected,
                s.rejected,
                self.served.hits(d),
                s.ok,
                s.failed,
                s.limited,
                t.breaker.snapshot().trips,
                secs(1),
                secs(2),
                secs(0),
                us(quantile(&s.permitted_us, 0.5)),
                us(quantile(&s.permitted_us, 0.99)),
                us(quantile(&s.rejected_us, 0.5)),
            );
            calls += s.permitted() + s.rejected;
            rejected += s.rejected;
        }
        println!(
            "\nThe breakers turned away {rejected} of {calls} calls ({:.0} %) without touching the network.",
            100.0 * rejected as f64 / calls.max(1) as f64
        );
        match self.plot {
            Ok(p) => println!("timeline: {}", p.display()),
            Err(e) => println!("timeline: not written ({e})"),
        }
    }

    fn json(&self) -> serde_json::Value {
        let breakers: Vec<_> = self
            .rows()
            .map(|(d, t, s)| {
                let ms_in: serde_json::Map<_, _> = crate::replay::STATES
                    .iter()
                    .zip(t.ms_in)
                    .map(|(st, ms)| (st.as_str().to_string(), ms.into()))
                    .collect();
                let transitions: Vec<_> = t
                    .transitions
                    .iter()
                    .map(|(at, tr)| {
                        serde_json::json!({
                            "at_ms": at,
                            "from": tr.from.as_str(),
                            "to": tr.to.as_str(),
                            "reason": tr.reason.as_str(),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "name": t.name,
                    "calls": s.permitted() + s.rejected,
                    "permitted": s.permitted(),
                    "rejected": s.rejected,
                    "reached": self.served.hits(d),
                    "ok": s.ok,
                    "failed": s.failed,
                    "limited": s.limited,
                    "trips": t.breaker.snapshot().trips,
                    "state": t.breaker.state().as_str(),
                    "ms_in": ms_in,
                    "transitions": transitions,
                    "latency_us": {
                        "permitted_p50": quantile(&s.permitted_us, 0.5),
                        "permitted_p99": quantile(&s.permitted_us, 0.99),
                        "rejected_p50": quantile(&s.rejected_us, 0.5),
                        "rejected_p99": quantile(&s.rejected_us, 0.99),
                    },
                })
            })
            .collect();
        serde_json::json!({
            "duration_ms": self.elapsed.as_millis() as u64,
            "clients_per_dependency": self.clients,
            "breakers": breakers,
            "plot": self.plot.ok().map(|p| p.display().to_string()),
        })
    }
}
