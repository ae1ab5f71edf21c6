//! Counting, percentiles and the summary of a known mix.

use super::*;
use chrono::TimeZone;

fn counters(total: u64, success: u64, ms: u64) -> Counters {
    let mut latency = vec![0; LATENCY_BUCKETS];
    latency[latency_bucket(ms)] = total;
    Counters { total, success, failed: total - success, execution_ms: ms * total, latency, ..Counters::default() }
}

#[test]
fn percentiles_come_from_the_histogram() {
    let mut c = counters(90, 90, 40);
    c.add(&counters(10, 10, 900));
    assert!((25..=50).contains(&c.percentile(0.5)), "{}", c.percentile(0.5));
    assert!((500..=1_000).contains(&c.percentile(0.95)), "{}", c.percentile(0.95));
    assert_eq!(Counters::default().percentile(0.99), 0);
}

#[test]
fn the_summary_rates_and_timeline_of_a_known_mix() {
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 30, 20).single().expect("time");
    let m = |ago: i64| Grain::Minute.floor(now) - ChronoDuration::minutes(ago);
    let all = vec![(m(0), counters(4, 3, 100)), (m(10), counters(6, 6, 20)), (m(120), counters(50, 0, 5))];
    let answer = summarize(TimeWindow::H1, now, &all[..2], &[("slack".into(), all[..1].to_vec())]);
    assert_eq!(answer.metrics.total_actions, 10);
    assert!((answer.metrics.success_rate - 0.9).abs() < 1e-9);
    assert_eq!(answer.metrics.avg_execution_time, (400 + 120) / 10);
    assert_eq!(answer.timeline.len(), 60, "one point a minute");
    assert_eq!(answer.timeline.last().expect("point").actions_per_minute, 4.0);
    assert_eq!(answer.by_platform["slack"].total, 4);
    let day = summarize(TimeWindow::H24, now, &all, &[]);
    assert_eq!(day.timeline.len(), 96, "15-minute steps");
    assert_eq!(day.metrics.total_actions, 60);
    assert!(TimeWindow::parse("2h").is_none());
}
