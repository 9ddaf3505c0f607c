//! `fusebox demo`: a loopback HTTP service that fails on a schedule
//! (healthy, outage, flapping, recovery), hyper clients calling it through
//! the tower layer, one breaker per dependency from a config file, each
//! breaker's state shown live; then a summary and a plotted timeline.

mod clients;
mod display;
mod fleet;
mod service;
mod summary;

use crate::plot::{self, Panel};
use clap::ValueEnum;
use clients::{Seen, TimedClient};
use display::{ms_since, Track, View};
use fusebox_std::config::{FileConfig, Format};
use fusebox_std::Registry;
use service::{Behaviour, Dependency, Schedule, Served};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use summary::Summary;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

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
    /// Where to draw the timeline (.svg or .png) [default:
    /// fusebox-demo-PID.svg in the temporary directory].
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
    /// Instead: N instances (2 to 16) calling the failing service, once
    /// sharing their opens through Redis and once each alone, side by side.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(2..=16))]
    pub fleet: Option<u16>,
    /// The Redis for `--fleet` [default: a redis-server from PATH on a
    /// free loopback port].
    #[arg(long, value_name = "URL", requires = "fleet")]
    pub redis: Option<String>,
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
/// (1 s at the default 20 s, backing off to 2 s, so that every breaker
/// closes within the recovery phase).
fn builtin_config(total: Duration) -> String {
    let open = (total / 20).max(Duration::from_millis(100));
    let fmt = |d: Duration| humantime::format_duration(d).to_string();
    let (open, max, wait) = (fmt(open), fmt(open * 2), fmt(open * 2 + TIMEOUT));
    let span = fmt((total / 20).max(Duration::from_secs(1)));
    // 2 s at the default 20 s: the ramp ends within the recovery phase.
    let ramp = fmt((total / 10).max(Duration::from_millis(200)));
    format!(
        r#"# fusebox demo's breakers, one per dependency.

# inventory answers 503 while down. The `database` preset: 3 failures in a
# row, or half of the last 50 calls, trip it.
[breakers.inventory]
preset = "database"
open_for = "{open}"
backoff = {{ kind = "exponential", multiplier = 2.0, max = "{max}", jitter = 0.1 }}
max_half_open_wait = "{wait}"
# After the probes close it, it recovers in stages: 10, 25, 50, then 100 %
# of the calls over {ramp}; the rest are turned away (`ramp` rejections).
ramp_up = "{ramp}"
ramp_stages = [10, 25, 50, 100]

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
backoff = {{ kind = "exponential", multiplier = 2.0, max = "{max}", jitter = 0.1 }}
max_half_open_wait = "{wait}"
"#
    )
}

/// Runs the demo; exit 0, or 2 on a bad config or a failed start.
pub fn run(args: DemoArgs) -> ExitCode {
    if let Some(n) = args.fleet {
        return fleet::run(&args, n);
    }
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
    let plot_path = match plot_target(args.plot.as_deref()) {
        Ok(p) => p,
        Err(e) => return fail(format!("--plot {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let live = !args.plain && std::io::stderr().is_terminal();
    let ran = match runtime.block_on(demo(&args, &registry, live)) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    // Where each phase after the first begins, within the run.
    let end_s = ran.end_ms as f64 / 1000.0;
    let marks: Vec<(f64, String)> = service::Phase::ALL[1..]
        .iter()
        .map(|p| {
            (
                p.starts_at() * args.duration.as_secs_f64(),
                p.name().to_string(),
            )
        })
        .filter(|(at, _)| *at < end_s)
        .collect();
    let panels: Vec<Panel<'_>> = ran
        .tracks
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
        ran: &ran,
        clients: args.clients,
        plot: plotted.as_ref().map(|()| plot_path.as_path()),
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

/// The plot's path: `--plot`, or a name of this process's own in the
/// temporary directory; its kind and its directory are checked before the
/// run, so a bad path costs no run.
fn plot_target(plot: Option<&Path>) -> Result<PathBuf, String> {
    let path = match plot {
        Some(p) => p.to_path_buf(),
        None => std::env::temp_dir().join(format!("fusebox-demo-{}.svg", std::process::id())),
    };
    plot::Kind::of(&path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("{}: no such directory", dir.display()));
    }
    Ok(path)
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// What a run leaves for the summary and the plot.
pub struct Ran {
    pub tracks: Vec<Track>,
    /// What the callers saw, by dependency, in [`Dependency::ALL`] order.
    pub seen: Vec<Seen>,
    pub served: Arc<Served>,
    pub addr: SocketAddr,
    /// When the last caller stopped, in ms since the start.
    pub end_ms: u64,
    /// Whether Ctrl-C cut the run short.
    pub interrupted: bool,
}

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
    let plan = clients::Plan {
        addr,
        tasks: usize::from(args.clients),
        think: THINK,
        deadline: start + args.duration,
        stop: Arc::clone(&stop),
    };
    let client = TimedClient::new(TIMEOUT);
    let drivers: Vec<_> = Dependency::ALL
        .into_iter()
        .zip(&tracks)
        .map(|(d, t)| {
            let (breaker, client, plan) = (t.breaker.clone(), client.clone(), plan.clone());
            tokio::spawn(clients::drive(d, breaker, client, plan))
        })
        .collect();
    let all_done = join_drivers(drivers);
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
                        let n = t.receive(ms_since(start, e.transition.at), e.transition);
                        view.transitions(t, n);
                    }
                }
                // A burst outran the channel: the lost epochs are skipped
                // once they are overdue, and the samples keep the state.
                Err(RecvError::Lagged(n)) => view.transition_gap(n),
                Err(RecvError::Closed) => {}
            },
            _ = tick.tick() => {
                let at = start.elapsed().as_millis() as u64;
                for t in &mut tracks {
                    let n = t.sample(at);
                    view.transitions(t, n);
                }
                view.update(&tracks, &schedule, start.elapsed());
            }
            // Ctrl-C: the callers stop after their current call, and the
            // summary and plot cover the run so far. Polled once only; if
            // no handler can be installed, the run goes on.
            signal = &mut ctrl_c, if !interrupted => {
                interrupted = true;
                if signal.is_ok() {
                    // Relaxed: the callers poll it between calls.
                    stop.store(true, Ordering::Relaxed);
                }
            }
        }
    };
    let interrupted = stop.load(Ordering::Relaxed);
    let end_ms = start.elapsed().as_millis() as u64;
    // Transitions the last calls caused.
    loop {
        match events.try_recv() {
            Ok(e) => {
                if let Some(t) = tracks.iter_mut().find(|t| *t.name == *e.breaker) {
                    let n = t.receive(ms_since(start, e.transition.at), e.transition);
                    view.transitions(t, n);
                }
            }
            Err(TryRecvError::Lagged(n)) => view.transition_gap(n),
            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
        }
    }
    for t in &mut tracks {
        let n = t.finish(end_ms);
        view.transitions(t, n);
    }
    view.finish();
    Ok(Ran {
        tracks,
        seen,
        served,
        addr,
        end_ms,
        interrupted,
    })
}

/// Waits for every driver; a driver that panicked saw nothing.
async fn join_drivers(drivers: Vec<tokio::task::JoinHandle<Seen>>) -> Vec<Seen> {
    let mut seen = Vec::with_capacity(drivers.len());
    for d in drivers {
        seen.push(d.await.unwrap_or_default());
    }
    seen
}
