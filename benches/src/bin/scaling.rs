//! Contention: T threads share one breaker and call it flat out.
//!
//! ```text
//! cargo run --release -p fusebox-benches --bin scaling -- \
//!     --threads 1,2,4,8,16 --secs 2 [--reps 5] [--failures] [--only NAME,..] [--csv]
//! ```
//!
//! For each subject and thread count, `reps` fresh runs of `secs` seconds.
//! Prints total throughput (Mops/s) and the mean time per call seen by one
//! thread (ns/op = threads x elapsed / calls), as min / median / max over the
//! runs. `--failures` makes one call in 20 fail (never tripping anything);
//! `--csv` prints machine-readable rows for `report.sh`.

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use fusebox_benches::floor::AtomicFloor;
use fusebox_benches::fusebox as fb;
use fusebox_benches::peers;
use fusebox_benches::subject::{Subject, TowerResilienceShared};
use fusebox_benches::workload::fails;

/// Calls between two looks at the stop flag.
const BATCH: u64 = 256;

struct Args {
    threads: Vec<usize>,
    secs: f64,
    reps: usize,
    failures: bool,
    only: Option<Vec<String>>,
    csv: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        threads: vec![1, 2, 4, 8, 16],
        secs: 2.0,
        reps: 3,
        failures: false,
        only: None,
        csv: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--threads" => {
                args.threads = value("--threads")?
                    .split(',')
                    .map(|t| t.trim().parse().map_err(|e| format!("--threads {t}: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--secs" => {
                let v = value("--secs")?;
                args.secs = v.parse().map_err(|e| format!("--secs {v}: {e}"))?;
            }
            "--reps" => {
                let v = value("--reps")?;
                args.reps = v.parse().map_err(|e| format!("--reps {v}: {e}"))?;
            }
            "--only" => {
                args.only = Some(value("--only")?.split(',').map(str::to_owned).collect());
            }
            "--failures" => args.failures = true,
            "--csv" => args.csv = true,
            "--bench" => {} // passed by `cargo bench`; harmless here
            "-h" | "--help" => {
                return Err("usage: scaling [--threads 1,2,4] [--secs 2] [--reps 3] \
                            [--failures] [--only floor_atomic,..] [--csv]"
                    .into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.threads.is_empty() || args.threads.contains(&0) || args.reps == 0 || args.secs <= 0.0 {
        return Err("--threads must be positive, --reps >= 1, --secs > 0".into());
    }
    Ok(args)
}

/// One run: total calls and, per thread, (calls, elapsed).
fn run_once<S: Subject>(
    subject: &S,
    threads: usize,
    secs: f64,
    failures: bool,
) -> Vec<(u64, Duration)> {
    let start = Barrier::new(threads + 1);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (start, stop) = (&start, &stop);
                scope.spawn(move || {
                    // Each thread's own call numbers, so the failure pattern
                    // is 5 % per thread, not interleaved into runs.
                    let mut i = (t as u64) << 48;
                    let mut calls = 0u64;
                    start.wait();
                    let began = Instant::now();
                    // Relaxed: the flag only ends the loop; no data rides on it.
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..BATCH {
                            i += 1;
                            black_box(subject.call(i, failures && fails(i)));
                        }
                        calls += BATCH;
                    }
                    (calls, began.elapsed())
                })
            })
            .collect();
        start.wait();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .map(|w| w.join().expect("worker panicked"))
            .collect()
    })
}

/// (min, median, max) of `values`.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (values[0], median, values[n - 1])
}

fn measure<S: Subject>(args: &Args, name: &str, make: impl Fn() -> S) {
    if let Some(only) = &args.only {
        if !only.iter().any(|o| o == name) {
            return;
        }
    }
    for &threads in &args.threads {
        let (mut mops, mut ns_per_op) = (Vec::new(), Vec::new());
        for _ in 0..args.reps {
            let subject = make();
            let per_thread = run_once(&subject, threads, args.secs, args.failures);
            let calls: u64 = per_thread.iter().map(|(c, _)| c).sum();
            let longest = per_thread
                .iter()
                .map(|(_, e)| e.as_secs_f64())
                .fold(0.0, f64::max);
            let busy: f64 = per_thread.iter().map(|(_, e)| e.as_secs_f64()).sum();
            mops.push(calls as f64 / longest / 1e6);
            ns_per_op.push(busy * 1e9 / calls as f64);
        }
        let (m0, m1, m2) = spread(mops);
        let (n0, n1, n2) = spread(ns_per_op);
        if args.csv {
            println!(
                "{name},{threads},{},{m0:.3},{m1:.3},{m2:.3},{n0:.2},{n1:.2},{n2:.2}",
                args.reps
            );
        } else {
            println!(
                "{name:<30} {threads:>3}  {m0:>9.2} {m1:>9.2} {m2:>9.2}   {n0:>8.2} {n1:>8.2} {n2:>8.2}"
            );
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    if args.csv {
        println!(
            "subject,threads,reps,mops_min,mops_median,mops_max,ns_op_min,ns_op_median,ns_op_max"
        );
    } else {
        println!(
            "# {} reps x {} s, failures: {}, {} hardware threads",
            args.reps,
            args.secs,
            if args.failures { "1 in 20" } else { "none" },
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "{:<30} {:>3}  {:>9} {:>9} {:>9}   {:>8} {:>8} {:>8}",
            "subject", "T", "Mops min", "median", "max", "ns/op min", "median", "max"
        );
    }
    measure(&args, "floor_atomic", AtomicFloor::new);
    measure(&args, "fusebox_consecutive", fb::consecutive);
    measure(&args, "fusebox_count100", || fb::count100(false));
    measure(&args, "fusebox_time10x16", fb::time10x16);
    measure(&args, "failsafe_consecutive", || {
        peers::failsafe_consecutive(5, peers::OPEN_FOR)
    });
    measure(&args, "failsafe_rate_time10s", peers::failsafe_rate);
    measure(&args, "recloser_count100", || {
        peers::recloser_count(100, peers::OPEN_FOR)
    });
    measure(&args, "tower_resilience_consecutive", || {
        TowerResilienceShared::new(peers::tower_resilience_consecutive(5, peers::OPEN_FOR))
    });
    measure(&args, "tower_resilience_count100", || {
        TowerResilienceShared::new(peers::tower_resilience_count(100, peers::OPEN_FOR))
    });
    ExitCode::SUCCESS
}
