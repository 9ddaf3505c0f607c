//! The `recovery` comparison end to end through the built binary: it prints
//! the table, writes the figure and the series it draws; the series add up
//! to the table, the figure's panels carry the table's numbers, and the
//! claims `docs/notes/issue-19-recovery.md` makes from the table hold.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// One table row: goodput, reached, failed, turned away, recovered_s.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    goodput: u64,
    reached: u64,
    failed: u64,
    turned_away: u64,
    recovered: String,
}

/// Key: (scenario, breaker).
type Table = BTreeMap<(String, String), Row>;

fn parse_table(stdout: &str) -> Table {
    let mut t = Table::new();
    for line in stdout.lines().filter(|l| l.starts_with("| ")).skip(1) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 7, "{line}");
        let n = |i: usize| cells[i].parse::<u64>().unwrap_or_else(|_| panic!("{line}"));
        let row = Row {
            goodput: n(2),
            reached: n(3),
            failed: n(4),
            turned_away: n(5),
            recovered: cells[6].to_string(),
        };
        let key = (cells[0].to_string(), cells[1].to_string());
        assert!(t.insert(key, row).is_none(), "row twice: {line}");
    }
    t
}

fn row<'a>(t: &'a Table, scenario: &str, breaker: &str) -> &'a Row {
    t.get(&(scenario.to_string(), breaker.to_string()))
        .unwrap_or_else(|| panic!("no row {scenario} / {breaker} in {t:?}"))
}

#[test]
fn the_figure_and_its_series_agree_with_the_table_and_the_claims_hold() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("recovery");
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_recovery"))
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = parse_table(&stdout);
    assert_eq!(table.len(), 12, "{stdout}");

    // The paths it prints are the files it wrote.
    let printed = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("no `{label}` line: {stdout}"))
    };
    let (svg_path, csv_path) = (printed("plot: "), printed("series: "));
    assert_eq!(
        svg_path,
        std::path::absolute(dir.join("recovery.svg")).unwrap()
    );
    assert_eq!(
        csv_path,
        std::path::absolute(dir.join("recovery.csv")).unwrap()
    );

    // The series add up to the table, and every offered call (one a ms) is
    // accounted for in each bucket.
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut sums: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("scenario,breaker,t_s,ok,failed,rejected_state,rejected_shaped,could_serve")
    );
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 8, "{line}");
        let n = |i: usize| f[i].parse::<u64>().unwrap_or_else(|_| panic!("{line}"));
        let width_ms = if f[0] == "slow_recovery" { 200 } else { 1_000 };
        assert_eq!(n(3) + n(4) + n(5) + n(6), width_ms, "a call lost: {line}");
        assert!(n(7) <= width_ms, "{line}");
        let s = sums
            .entry((f[0].to_string(), f[1].to_string()))
            .or_default();
        for (k, i) in [3, 4, 5, 6].into_iter().enumerate() {
            s[k] += n(i);
        }
    }
    assert_eq!(
        sums.keys().collect::<Vec<_>>(),
        table.keys().collect::<Vec<_>>()
    );
    for (key, [ok, failed, by_state, shaped]) in &sums {
        let r = &table[key];
        assert_eq!(
            (*ok, ok + failed, *failed, by_state + shaped),
            (r.goodput, r.reached, r.failed, r.turned_away),
            "{key:?}"
        );
    }

    // The figure: a panel per row, each captioned with the table's numbers.
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.len() > 10_000,
        "{svg_path:?}"
    );
    for ((scenario, breaker), r) in &table {
        let tuned = breaker.contains('(');
        let title = if tuned {
            format!("{scenario}, tuned: {breaker}")
        } else {
            format!("{scenario}: {breaker}")
        };
        assert!(svg.contains(&title), "no panel {title}");
        let numbers = format!(
            "ok {}, failed {}, turned away {}",
            r.goodput, r.failed, r.turned_away
        );
        assert!(
            svg.contains(&numbers),
            "{title}: no `{numbers}` in the figure"
        );
    }

    // The claims of the note.
    // Slow recovery: the ramp sends a tenth of the classic breaker's failed
    // calls (and fewer calls in all) to the recovering dependency, for at
    // most 2 % of the goodput, and recovers as soon.
    let (classic, ramp, throttle) = (
        row(&table, "slow_recovery", "classic"),
        row(&table, "slow_recovery", "ramp"),
        row(&table, "slow_recovery", "throttle"),
    );
    assert!(ramp.failed * 5 < classic.failed, "{ramp:?} {classic:?}");
    assert!(ramp.reached < classic.reached, "{ramp:?} {classic:?}");
    assert!(ramp.goodput * 100 >= classic.goodput * 98, "{ramp:?}");
    assert_eq!(ramp.recovered, classic.recovered);
    // The throttle (K 1.5) fails fewest calls but halves the goodput.
    assert!(throttle.failed < ramp.failed, "{throttle:?}");
    assert!(
        throttle.goodput * 2 < classic.goodput + 1_000,
        "{throttle:?}"
    );

    // 30 % failures with the default settings: nothing trips or throttles,
    // the three let every call through.
    let d30 = row(&table, "degraded_30", "classic");
    assert_eq!(d30.turned_away, 0, "{d30:?}");
    assert_eq!(row(&table, "degraded_30", "ramp"), d30);
    assert_eq!(row(&table, "degraded_30", "throttle"), d30);
    // Settings that act on 30 %: a tenth of the failed calls or fewer (the
    // throttle: under a third), and at most half the goodput.
    for breaker in ["classic (trip 25 %)", "ramp (trip 25 %)"] {
        let r = row(&table, "degraded_30", breaker);
        assert!(r.failed * 10 < d30.failed, "{breaker}: {r:?}");
        assert!(r.goodput * 2 < d30.goodput, "{breaker}: {r:?}");
    }
    let k11 = row(&table, "degraded_30", "throttle (K 1.1)");
    assert!(k11.failed * 3 < d30.failed, "{k11:?}");
    assert!(k11.goodput * 2 < d30.goodput, "{k11:?}");
    // ... and K 1.1 has not let full traffic back 25 s after the trouble.
    assert_eq!(k11.recovered, "-", "{k11:?}");
}
