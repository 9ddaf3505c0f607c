use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn rules(quorum: Quorum) -> Rules {
    Rules {
        quorum,
        interval: ms(1000),
        peer_ttl: ms(300),
        refresh_slack: ms(50),
    }
}

fn open<'a>(instance: &'a str, epoch: u64, remaining_ms: u64, at_ms: u64) -> Report<'a> {
    Report {
        breaker: "llm",
        instance,
        epoch,
        news: News::Open {
            remaining: ms(remaining_ms),
        },
        received: ms(at_ms),
    }
}

fn close(instance: &str, epoch: u64, at_ms: u64) -> Report<'_> {
    Report {
        breaker: "llm",
        instance,
        epoch,
        news: News::Close,
        received: ms(at_ms),
    }
}

#[test]
fn quorum_one_adopts_the_first_peers_open_for_its_remaining_time() {
    let mut l = Ledger::new(rules(Quorum::ANY));
    assert_eq!(
        l.report(open("a", 3, 5000, 10)),
        Verdict::Adopt {
            open_for: ms(5000),
            reporters: 1
        }
    );
}

#[test]
fn quorum_two_waits_for_a_second_distinct_peer() {
    let mut l = Ledger::new(rules(Quorum::at_least(2)));
    assert_eq!(
        l.report(open("a", 1, 5000, 0)),
        Verdict::Waiting {
            reporters: 1,
            needed: 2
        }
    );
    // The same peer again (a later trip) is still one peer.
    assert_eq!(
        l.report(open("a", 3, 5000, 10)),
        Verdict::Waiting {
            reporters: 1,
            needed: 2
        }
    );
    assert!(matches!(
        l.report(open("b", 1, 4000, 20)),
        Verdict::Adopt { reporters: 2, .. }
    ));
}

#[test]
fn one_bad_node_cannot_decide_how_long_the_fleet_stays_open() {
    let mut l = Ledger::new(rules(Quorum::at_least(2)));
    l.report(open("bad", 1, 3_600_000, 0));
    // The second-longest report decides: 2 s (measured from now), not an hour.
    assert_eq!(
        l.report(open("good", 1, 2000, 100)),
        Verdict::Adopt {
            open_for: ms(2000),
            reporters: 2
        }
    );
}

#[test]
fn reports_older_than_the_interval_or_whose_open_ended_do_not_count() {
    let mut l = Ledger::new(rules(Quorum::at_least(2)));
    l.report(open("a", 1, 10_000, 0));
    // 1.2 s later: a's report is past the 1 s interval.
    assert_eq!(
        l.report(open("b", 1, 10_000, 1200)),
        Verdict::Waiting {
            reporters: 1,
            needed: 2
        }
    );
    // c reports an open with 100 ms left; 200 ms later it has ended.
    l.report(open("c", 1, 100, 1300));
    assert_eq!(
        l.report(open("d", 1, 10_000, 1500)),
        Verdict::Adopt {
            open_for: ms(9700),
            reporters: 2
        }
    );
}

#[test]
fn duplicates_of_one_instance_and_epoch_are_ignored() {
    let mut l = Ledger::new(rules(Quorum::ANY));
    assert!(matches!(
        l.report(open("a", 7, 1000, 0)),
        Verdict::Adopt { .. }
    ));
    assert_eq!(l.report(open("a", 7, 900, 100)), Verdict::Duplicate);
    assert_eq!(l.report(close("a", 8, 200)), Verdict::ProbeEarly);
    assert_eq!(l.report(close("a", 8, 210)), Verdict::Duplicate);
}

#[test]
fn a_later_report_ending_no_later_than_the_adopted_open_changes_nothing() {
    let mut l = Ledger::new(rules(Quorum::ANY));
    assert!(matches!(
        l.report(open("a", 1, 1000, 0)),
        Verdict::Adopt { .. }
    ));
    // b's open ends at 1030 ms: within the slack of the adopted 1000 ms.
    assert_eq!(
        l.report(open("b", 1, 1000, 30)),
        Verdict::AlreadyAdopted { open_for: ms(1000) }
    );
    // c's ends at 2000 ms: an extension.
    assert_eq!(
        l.report(open("c", 1, 1800, 200)),
        Verdict::Adopt {
            open_for: ms(1800),
            reporters: 3
        }
    );
}

#[test]
fn a_close_probes_early_only_while_an_adopted_open_is_in_force() {
    let mut l = Ledger::new(rules(Quorum::ANY));
    assert_eq!(l.report(close("a", 1, 0)), Verdict::Noted);
    l.report(open("a", 2, 500, 10));
    assert_eq!(l.report(close("b", 4, 100)), Verdict::ProbeEarly);
    // The adoption is gone: a second close is only noted.
    assert_eq!(l.report(close("c", 4, 110)), Verdict::Noted);
    // An adopted open that ended by itself is not probed early.
    l.report(open("a", 4, 100, 200));
    assert_eq!(l.report(close("a", 5, 400)), Verdict::Noted);
}

#[test]
fn a_close_withdraws_that_peers_vote() {
    let mut l = Ledger::new(rules(Quorum::at_least(2)));
    l.report(open("a", 1, 5000, 0));
    l.report(close("a", 2, 10));
    assert_eq!(
        l.report(open("b", 1, 5000, 20)),
        Verdict::Waiting {
            reporters: 1,
            needed: 2
        }
    );
}

#[test]
fn a_fraction_of_live_instances_raises_the_quorum() {
    let q = Quorum {
        at_least: 1,
        fraction: Some(0.5),
    };
    assert_eq!(q.needed(1), 1);
    assert_eq!(q.needed(3), 2);
    assert_eq!(q.needed(8), 4);
    let mut l = Ledger::new(rules(q));
    for (i, p) in ["a", "b", "c"].iter().enumerate() {
        l.heard(p, ms(i as u64));
    }
    // Four live instances (this one and a, b, c): two peers needed.
    assert_eq!(l.live(ms(10)), 4);
    assert_eq!(
        l.report(open("a", 1, 5000, 10)),
        Verdict::Waiting {
            reporters: 1,
            needed: 2
        }
    );
    // Once b and c fall silent (past the 300 ms ttl), a alone is half of two.
    l.heard("a", ms(500));
    assert_eq!(l.live(ms(500)), 2);
    assert!(matches!(
        l.report(open("a", 3, 5000, 500)),
        Verdict::Adopt { reporters: 1, .. }
    ));
}

#[test]
fn forgetting_an_adoption_lets_the_next_report_adopt_again() {
    let mut l = Ledger::new(rules(Quorum::ANY));
    l.report(open("a", 1, 1000, 0));
    assert!(matches!(
        l.report(open("b", 1, 1000, 10)),
        Verdict::AlreadyAdopted { .. }
    ));
    l.forget_adoption("llm");
    assert!(matches!(
        l.report(open("c", 1, 1000, 20)),
        Verdict::Adopt { .. }
    ));
}

#[test]
fn peers_and_reports_from_many_ids_stay_bounded() {
    let mut l = Ledger::new(rules(Quorum::at_least(2)));
    for i in 0..10_000u64 {
        let id = format!("noise-{i}");
        // One new id a millisecond: at most 300 are live at once.
        l.heard(&id, ms(i));
        l.report(close(&id, 1, i));
    }
    assert!(l.peers.len() <= PRUNE_AT + 1, "{}", l.peers.len());
    assert!(l.books["llm"].last.len() <= PRUNE_AT + 1);
    assert_eq!(l.live(ms(10_000)), 301);
}
