//! Reading a trace: CSV `at_ms,latency_ms,outcome`, one call attempt a row,
//! streamed one line at a time so memory stays flat on any length.

use fusebox_core::Outcome;
use std::fmt;
use std::io::BufRead;

/// The only header a trace may have.
pub const HEADER: &str = "at_ms,latency_ms,outcome";

/// One call attempt.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// 1-based line in the file.
    pub line: u64,
    pub at_ms: u64,
    pub latency_ms: u64,
    pub outcome: Outcome,
}

/// Bad input, with the line and (where one is to blame) the column.
#[derive(Debug)]
pub struct TraceError {
    pub line: u64,
    /// 1-based column number and its name.
    pub column: Option<(usize, &'static str)>,
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some((n, name)) = self.column {
            write!(f, ", column {n} ({name})")?;
        }
        write!(f, ": {}", self.message)
    }
}

const COLUMNS: [&str; 3] = ["at_ms", "latency_ms", "outcome"];

/// Rows of a trace, checked as they are read.
pub struct TraceReader<R> {
    input: R,
    buf: String,
    line: u64,
    last_at: u64,
}

impl<R: BufRead> TraceReader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> Result<Self, TraceError> {
        let mut buf = String::new();
        let header_err = |message: String| TraceError {
            line: 1,
            column: None,
            message,
        };
        let n = input
            .read_line(&mut buf)
            .map_err(|e| header_err(format!("cannot read: {e}")))?;
        let header = buf
            .trim_end_matches(['\n', '\r'])
            .trim_start_matches('\u{feff}');
        if n == 0 || header.trim() != HEADER {
            return Err(header_err(format!(
                "missing header: expected `{HEADER}`, found `{}`",
                header.trim()
            )));
        }
        Ok(TraceReader {
            input,
            buf,
            line: 1,
            last_at: 0,
        })
    }

    fn err(&self, column: usize, message: String) -> TraceError {
        TraceError {
            line: self.line,
            column: Some((column + 1, COLUMNS[column])),
            message,
        }
    }

    /// The next row, or `None` at the end; blank lines are skipped.
    pub fn next_row(&mut self) -> Result<Option<Row>, TraceError> {
        loop {
            self.buf.clear();
            self.line += 1;
            let n = self
                .input
                .read_line(&mut self.buf)
                .map_err(|e| TraceError {
                    line: self.line,
                    column: None,
                    message: format!("cannot read: {e}"),
                })?;
            if n == 0 {
                return Ok(None);
            }
            let text = self.buf.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let mut fields = text.split(',');
            let mut cells = [""; 3];
            for (i, cell) in cells.iter_mut().enumerate() {
                *cell = match fields.next() {
                    Some(c) => c.trim(),
                    None => return Err(self.err(i, "missing value".to_string())),
                };
            }
            if fields.next().is_some() {
                return Err(TraceError {
                    line: self.line,
                    column: None,
                    message: format!("more than {} columns", COLUMNS.len()),
                });
            }
            let at_ms = self.number(cells[0], 0)?;
            let latency_ms = self.number(cells[1], 1)?;
            let outcome = match cells[2] {
                "ok" => Outcome::Success,
                "err" => Outcome::Failure,
                "ignore" => Outcome::Ignored,
                other => {
                    return Err(self.err(
                        2,
                        format!("unknown outcome `{other}` (expected ok, err or ignore)"),
                    ))
                }
            };
            if at_ms < self.last_at {
                return Err(self.err(
                    0,
                    format!(
                        "rows out of time order: {at_ms} comes after {}",
                        self.last_at
                    ),
                ));
            }
            self.last_at = at_ms;
            return Ok(Some(Row {
                line: self.line,
                at_ms,
                latency_ms,
                outcome,
            }));
        }
    }

    fn number(&self, cell: &str, column: usize) -> Result<u64, TraceError> {
        cell.parse::<u64>().map_err(|_| {
            let what = if cell.starts_with('-') && cell[1..].parse::<u64>().is_ok() {
                format!("negative value `{cell}`")
            } else {
                format!("`{cell}` is not a whole number of milliseconds")
            };
            self.err(column, what)
        })
    }
}
