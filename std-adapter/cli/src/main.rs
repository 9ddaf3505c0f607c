//! `fusebox`: see what a breaker configuration would have done before
//! deploying it (DESIGN.md §12).
//!
//! - `fusebox check-config FILE` prints each breaker's effective settings
//!   (presets and `FUSEBOX_*` overrides applied); exit 1 on any error.
//! - `fusebox simulate --config FILE TRACE.csv` replays a trace through a
//!   breaker on a manual millisecond clock; exit 2 on bad input, with
//!   nothing written to stdout. `--state FILE` starts the breaker from a
//!   state file saved by fusebox-std's `persist` feature (a restart).
//! - `fusebox demo` runs a loopback HTTP service that fails on a schedule,
//!   with callers behind the tower layer, and shows the breakers live.

mod demo;
mod plot;
mod replay;
mod report;
mod trace;

use clap::{Parser, Subcommand};
use fusebox_std::config::{ConfigFileError, FileConfig};
use fusebox_std::persist::SavedState;
use replay::ReplayError;
use report::{OutputFormat, Report};
use std::io::{self, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fusebox",
    version,
    about = "Circuit breakers: watch them work, check configs, replay traces through them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch breakers guard a loopback HTTP service through an outage.
    Demo(demo::DemoArgs),
    /// Validate a config file and print each breaker's effective settings.
    CheckConfig {
        /// A `.toml`, `.yaml` or `.yml` config file.
        file: PathBuf,
    },
    /// Replay a trace (CSV `at_ms,latency_ms,outcome`) through a breaker.
    Simulate {
        /// The config file the breaker comes from.
        #[arg(long)]
        config: PathBuf,
        /// The trace; rows in time order.
        trace: PathBuf,
        /// Which breaker of the file (needed when it has more than one).
        #[arg(long)]
        breaker: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Also print each call: `at_ms,decision,state`.
        #[arg(long)]
        calls: bool,
        /// Also draw the timeline into this file (.svg or .png).
        #[arg(long, value_name = "OUT.svg|OUT.png")]
        plot: Option<PathBuf>,
        /// Start from a saved state (a state file written by fusebox-std's
        /// `persist` feature): the breaker's saved state is restored at
        /// 0 ms, as after a restart, and the trace replays from there.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Demo(args) => demo::run(args),
        Command::CheckConfig { file } => check_config(&file),
        Command::Simulate {
            config,
            trace,
            breaker,
            format,
            calls,
            plot,
            state,
        } => simulate(
            &config,
            &trace,
            breaker.as_deref(),
            format,
            calls,
            plot.as_deref(),
            state.as_deref(),
        ),
    }
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match FileConfig::load(file) {
        Ok(cfg) => {
            let mut out = io::stdout().lock();
            let _ = writeln!(
                out,
                "# {}: {} breaker(s), effective settings (presets and FUSEBOX_* overrides applied)",
                cfg.source(),
                cfg.breakers().len()
            );
            let _ = write!(out, "{}", cfg.effective_toml());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Bad input to `simulate`: a message and exit code 2.
fn bad_input(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The saved state of breaker `name` in the state file `path`.
fn saved_state(path: &std::path::Path, name: &str) -> Result<fusebox_core::Exported, String> {
    let saved = SavedState::load(path).map_err(|e| format!("--state {}: {e}", path.display()))?;
    match saved.breakers.get(name) {
        Some(e) => Ok(*e),
        None => Err(format!(
            "--state {}: no saved state for breaker `{name}` (it has: {})",
            path.display(),
            if saved.breakers.is_empty() {
                "none".to_string()
            } else {
                saved
                    .breakers
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )),
    }
}

/// One line on stderr saying what the restore installed and dropped.
fn describe_restore(path: &std::path::Path, name: &str, r: &fusebox_core::RestoreReport) -> String {
    let mut s = format!(
        "restored `{name}` from {}: {}",
        path.display(),
        r.state.as_str()
    );
    if let Some(d) = r.open_for {
        s += &format!(" for {} ms", d.as_millis());
    }
    if r.backoff_level > 0 {
        s += &format!(", backoff level {}", r.backoff_level);
    }
    if r.half_open_as_open {
        s += " (saved half-open: the first call probes)";
    }
    if r.clamped {
        s += " (cut to the longest open period)";
    }
    if r.consecutive_failures > 0 {
        s += &format!(", consecutive failures {}", r.consecutive_failures);
    }
    if !r.fingerprint_matched {
        s += "; the config differs from the one saved";
    }
    if r.dropped.consecutive_failures > 0 {
        s += &format!(
            "; dropped a run of {} consecutive failures",
            r.dropped.consecutive_failures
        );
    }
    if r.dropped.window.calls > 0 {
        s += &format!(
            "; window counts do not cross a restart ({} calls, {} failures not restored)",
            r.dropped.window.calls, r.dropped.window.failures
        );
    }
    s
}

fn simulate(
    config: &std::path::Path,
    trace: &std::path::Path,
    breaker: Option<&str>,
    format: OutputFormat,
    calls: bool,
    plot: Option<&std::path::Path>,
    state: Option<&std::path::Path>,
) -> ExitCode {
    let cfg = match FileConfig::load(config) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let names = || {
        cfg.breakers()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, spec) = match breaker {
        Some(n) => match cfg.get(n) {
            Some(s) => (n.to_string(), s),
            None => {
                return bad_input(format!(
                    "{}: no breaker `{n}` (it has: {})",
                    cfg.source(),
                    names()
                ))
            }
        },
        None if cfg.breakers().len() == 1 => {
            let (n, s) = cfg.breakers().iter().next().expect("one breaker");
            (n.clone(), s)
        }
        None => {
            return bad_input(format!(
                "{}: pick a breaker with --breaker (it has: {})",
                cfg.source(),
                if cfg.breakers().is_empty() {
                    "none".to_string()
                } else {
                    names()
                }
            ))
        }
    };
    let saved = match state.map(|p| saved_state(p, &name)).transpose() {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let input = match std::fs::File::open(trace) {
        Ok(f) => BufReader::with_capacity(1 << 16, f),
        Err(e) => return bad_input(format!("{}: {e}", trace.display())),
    };
    let mut report = match Report::new(format, calls) {
        Ok(r) => r,
        Err(e) => return bad_input(format!("cannot create a temporary file: {e}")),
    };
    if let Some(Err(e)) = plot.map(plot::Kind::of) {
        return bad_input(format!("--plot {e}"));
    }
    let mut timeline = plot.map(|_| plot::Plot::default());
    let mut restored = None;
    let replayed = match &mut timeline {
        Some(t) => replay::replay(
            spec,
            saved.as_ref(),
            &mut restored,
            input,
            &mut plot::Both(&mut report, t),
        ),
        None => replay::replay(spec, saved.as_ref(), &mut restored, input, &mut report),
    };
    let totals = match replayed {
        Ok(t) => t,
        Err(ReplayError::Trace(e)) => return bad_input(format!("{}: {e}", trace.display())),
        Err(ReplayError::Config(e)) => {
            let ticks_per_second = <replay::Millis as fusebox_core::Clock>::TICKS_PER_SECOND;
            return bad_input(ConfigFileError::from_core(
                cfg.source(),
                &name,
                e,
                ticks_per_second,
            ));
        }
        Err(ReplayError::Io(e)) => return bad_input(format!("writing the report: {e}")),
        Err(ReplayError::Restore(e)) => {
            return bad_input(format!(
                "--state {}: {e}",
                state.map_or(String::new(), |p| p.display().to_string())
            ))
        }
    };
    if let (Some(p), Some(r)) = (state, &restored) {
        eprintln!("{}", describe_restore(p, &name, r));
    }
    if let (Some(p), Some(t)) = (plot, &timeline) {
        let panel = plot::Panel {
            plot: t,
            config: &spec.config,
            title: format!("{name}: {}", trace.display()),
            marks: Vec::new(),
        };
        if let Err(e) = plot::write(p, &[panel]) {
            return bad_input(format!("--plot {e}"));
        }
    }
    match report.finish(&totals, &mut io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => bad_input(format!("writing the report: {e}")),
    }
}
