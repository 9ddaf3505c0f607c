//! The output of `simulate` in its three formats. Transitions and calls are
//! spooled to unlinked temporary files as the replay streams, and copied to
//! stdout only once the whole trace has been read without error: bad input
//! leaves stdout empty, and memory stays flat however long the trace.

use crate::replay::{Decision, Events, Totals};
use clap::ValueEnum;
use fusebox_core::{State, Transition};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, Write};
use std::sync::atomic::{AtomicU32, Ordering};

/// How `simulate` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns, for people.
    Table,
    /// `at_ms,from,to,reason`, a blank line, then `name,value` totals.
    Csv,
    /// One JSON object.
    Json,
}

/// A temporary file, removed from the directory as soon as it is open.
struct Spool {
    out: BufWriter<File>,
    rows: u64,
}

impl Spool {
    fn new() -> io::Result<Spool> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "fusebox-simulate-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // The open handle keeps the contents; nothing is left behind.
        let _ = std::fs::remove_file(&path);
        Ok(Spool {
            out: BufWriter::with_capacity(1 << 16, file),
            rows: 0,
        })
    }

    /// Copies everything written so far into `to`.
    fn copy_into(self, to: &mut impl Write) -> io::Result<()> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        io::copy(&mut file, to)?;
        Ok(())
    }
}

/// Receives the replay's events and prints them when it has finished.
pub struct Report {
    format: OutputFormat,
    transitions: Spool,
    calls: Option<Spool>,
}

impl Report {
    pub fn new(format: OutputFormat, with_calls: bool) -> io::Result<Report> {
        Ok(Report {
            format,
            transitions: Spool::new()?,
            calls: if with_calls {
                Some(Spool::new()?)
            } else {
                None
            },
        })
    }

    /// Writes the whole report to `out`.
    pub fn finish(self, totals: &Totals, out: &mut impl Write) -> io::Result<()> {
        match self.format {
            OutputFormat::Csv => {
                writeln!(out, "at_ms,from,to,reason")?;
                self.transitions.copy_into(out)?;
                writeln!(out)?;
                writeln!(out, "total,value")?;
                for (k, v) in totals_list(totals) {
                    writeln!(out, "{k},{v}")?;
                }
                if let Some(calls) = self.calls {
                    writeln!(out)?;
                    writeln!(out, "at_ms,decision,state")?;
                    calls.copy_into(out)?;
                }
            }
            OutputFormat::Table => {
                writeln!(out, "{:>12}  {:<12}  {:<12}  reason", "at_ms", "from", "to")?;
                self.transitions.copy_into(out)?;
                writeln!(out)?;
                for (k, v) in totals_list(totals) {
                    writeln!(out, "{k:<18} {v:>12}")?;
                }
                if let Some(calls) = self.calls {
                    writeln!(out)?;
                    writeln!(out, "{:>12}  {:<10}  state", "at_ms", "decision")?;
                    calls.copy_into(out)?;
                }
            }
            OutputFormat::Json => {
                write!(out, "{{\"transitions\":[")?;
                self.transitions.copy_into(out)?;
                write!(
                    out,
                    "],\"totals\":{{\"permitted\":{},\"rejected\":{},\"trips\":{},\"ms_in_state\":{{",
                    totals.permitted, totals.rejected, totals.trips
                )?;
                for (i, (s, ms)) in State::ALL.iter().zip(totals.ms_in).enumerate() {
                    let comma = if i == 0 { "" } else { "," };
                    write!(out, "{comma}\"{}\":{ms}", s.as_str())?;
                }
                write!(out, "}}}}")?;
                if let Some(calls) = self.calls {
                    write!(out, ",\"calls\":[")?;
                    calls.copy_into(out)?;
                    write!(out, "]")?;
                }
                writeln!(out, "}}")?;
            }
        }
        out.flush()
    }
}

/// The totals as `name, value` pairs: counts, then `<state>_ms` for each state.
fn totals_list(t: &Totals) -> Vec<(String, u64)> {
    let mut v = vec![
        ("permitted".to_string(), t.permitted),
        ("rejected".to_string(), t.rejected),
        ("rejected_ramp".to_string(), t.rejected_ramp),
        ("rejected_throttled".to_string(), t.rejected_throttled),
        ("trips".to_string(), t.trips),
    ];
    v.extend(
        State::ALL
            .iter()
            .zip(t.ms_in)
            .map(|(s, ms)| (format!("{}_ms", s.as_str()), ms)),
    );
    v
}

impl Events for Report {
    fn transition(&mut self, at_ms: u64, t: &Transition) -> io::Result<()> {
        let s = &mut self.transitions;
        let (from, to, reason) = (t.from.as_str(), t.to.as_str(), t.reason.as_str());
        match self.format {
            OutputFormat::Csv => writeln!(s.out, "{at_ms},{from},{to},{reason}")?,
            OutputFormat::Table => writeln!(s.out, "{at_ms:>12}  {from:<12}  {to:<12}  {reason}")?,
            OutputFormat::Json => {
                let comma = if s.rows == 0 { "" } else { "," };
                write!(
                    s.out,
                    "{comma}{{\"at_ms\":{at_ms},\"from\":\"{from}\",\"to\":\"{to}\",\"reason\":\"{reason}\"}}"
                )?
            }
        }
        s.rows += 1;
        Ok(())
    }

    fn call(&mut self, at_ms: u64, decision: Decision, state: State) -> io::Result<()> {
        let Some(s) = &mut self.calls else {
            return Ok(());
        };
        let (decision, state) = (decision.as_str(), state.as_str());
        match self.format {
            OutputFormat::Csv => writeln!(s.out, "{at_ms},{decision},{state}")?,
            OutputFormat::Table => writeln!(s.out, "{at_ms:>12}  {decision:<10}  {state}")?,
            OutputFormat::Json => {
                let comma = if s.rows == 0 { "" } else { "," };
                write!(
                    s.out,
                    "{comma}{{\"at_ms\":{at_ms},\"decision\":\"{decision}\",\"state\":\"{state}\"}}"
                )?
            }
        }
        s.rows += 1;
        Ok(())
    }
}
