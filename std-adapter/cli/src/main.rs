//! `fusebox`: see what a breaker configuration would have done before
//! deploying it (DESIGN.md §12).
//!
//! - `fusebox check-config FILE` prints each breaker's effective settings
//!   (presets and `FUSEBOX_*` overrides applied); exit 1 on any error.
//! - `fusebox simulate --config FILE TRACE.csv` replays a trace through a
//!   breaker on a manual millisecond clock; exit 2 on bad input, with
//!   nothing written to stdout.
//! - `fusebox demo` runs a loopback HTTP service that fails on a schedule,
//!   with callers behind the tower layer, and shows the breakers live.

mod demo;
mod plot;
mod replay;
mod report;
mod trace;

use clap::{Parser, Subcommand};
use fusebox_std::config::{ConfigFileError, FileConfig};
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
        } => simulate(
            &config,
            &trace,
            breaker.as_deref(),
            format,
            calls,
            plot.as_deref(),
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

fn simulate(
    config: &std::path::Path,
    trace: &std::path::Path,
    breaker: Option<&str>,
    format: OutputFormat,
    calls: bool,
    plot: Option<&std::path::Path>,
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
    let replayed = match &mut timeline {
        Some(t) => replay::replay(spec, input, &mut plot::Both(&mut report, t)),
        None => replay::replay(spec, input, &mut report),
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
    };
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
